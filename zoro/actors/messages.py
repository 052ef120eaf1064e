"""What travels through a collection actor's mailbox: writes and control requests with replies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from zoro.actors.point_changes import PointChanges, Upsert
from zoro.actors.vector_changes import DeleteVectors, UpdateVectors
from zoro.types import DeleteBatch, UpsertBatch, WriteGroup

if TYPE_CHECKING:
    from pathlib import Path

    from zoro.actors.point_changes import Operation
    from zoro.actors.reply import Reply
    from zoro.payload import Condition, TextParams
    from zoro.storage.compaction import Compaction
    from zoro.types import WriteOp


@dataclass(frozen=True, slots=True)
class DeleteWhere:
    """Delete the points matching a filter. The commit loop turns it into a DeleteBatch of the
    matching ids at the moment it is logged (nothing applies between the match and the log),
    so the WAL holds plain ids and replay needs no filter."""

    condition: Condition

    def __len__(self) -> int:
        return 1


@dataclass(frozen=True, slots=True, eq=False)
class Write:
    """One client write. The reply carries the LSN the write was logged under."""

    op: WriteOp | DeleteWhere | UpdateVectors | DeleteVectors | PointChanges
    nbytes: int
    reply: Reply[int]


@dataclass(frozen=True, slots=True, eq=False)
class IndexChange:
    """Create (schema given) or drop (schema None) a payload index; replies with the LSN
    applied so far once the change is durable."""

    key: str
    schema: str | None
    reply: Reply[int]
    params: TextParams | None = None  # a text index's settings


@dataclass(frozen=True, slots=True, eq=False)
class Checkpoint:
    """Make storage durable now and trim the WAL (qdrant's "plunger"); replies with the LSN."""

    reply: Reply[int]


@dataclass(frozen=True, slots=True, eq=False)
class LinkSnapshot:
    """Checkpoint, then hard-link the files that checkpoint names into `staging`
    (zoro.storage.snapshots.link); replies with the linked paths (each with the bytes of it
    a snapshot takes) and the checkpoint's LSN."""

    staging: Path
    reply: Reply[tuple[dict[str, int], int]]


@dataclass(frozen=True, slots=True, eq=False)
class SwitchFiles:
    """A compaction's switch (zoro.actors.compactor): commit its file generation as a checkpoint,
    then renumber everything in memory while no read holds a slot; replies with the number of
    slots the switch reclaimed."""

    compaction: Compaction
    reply: Reply[int]


Message = Write | IndexChange | Checkpoint | LinkSnapshot | SwitchFiles


def op_nbytes(op: WriteOp | DeleteWhere | UpdateVectors | DeleteVectors | PointChanges) -> int:
    """About how much memory a queued op holds; bounds the mailbox in bytes as well as count."""
    if isinstance(op, DeleteWhere):
        return 1024
    if isinstance(op, PointChanges):
        return sum(_operation_nbytes(o) for o in op.operations)
    if isinstance(op, WriteGroup):
        return sum(op_nbytes(o) for o in op.ops)
    if isinstance(op, UpdateVectors):
        return op_nbytes(op.changes)
    if isinstance(op, DeleteVectors):
        return 1024 + (0 if op.keys is None else op.keys.nbytes)
    if isinstance(op, UpsertBatch):
        vectors = 0 if op.vectors is None else op.vectors.nbytes
        for column in op.columns.values():
            rows = column.rows
            vectors += rows.nbytes if isinstance(rows, np.ndarray) else rows.values.nbytes * 2
        return op.keys.nbytes + vectors + sum(len(p) for p in op.payloads)
    assert isinstance(op, DeleteBatch)
    return op.keys.nbytes


def _operation_nbytes(op: Operation) -> int:
    if isinstance(op, Upsert):
        return op_nbytes(op.batch)
    if isinstance(op, UpdateVectors | DeleteVectors):
        return op_nbytes(op)
    keys = op.selector.keys
    return 1024 + (0 if keys is None else keys.nbytes)
