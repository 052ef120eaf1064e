"""What travels through a collection actor's mailbox: writes and control requests with replies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from zoro.types import DeleteBatch, UpsertBatch

if TYPE_CHECKING:
    from zoro.actors.reply import Reply
    from zoro.types import WriteOp


@dataclass(frozen=True, slots=True, eq=False)
class Write:
    """One client write. The reply carries the LSN the write was logged under."""

    op: WriteOp
    nbytes: int
    reply: Reply[int]


@dataclass(frozen=True, slots=True, eq=False)
class Checkpoint:
    """Make storage durable now and trim the WAL (qdrant's "plunger"); replies with the LSN."""

    reply: Reply[int]


Message = Write | Checkpoint


def op_nbytes(op: WriteOp) -> int:
    """About how much memory a queued op holds; bounds the mailbox in bytes as well as count."""
    if isinstance(op, UpsertBatch):
        return op.keys.nbytes + op.vectors.nbytes + sum(len(p) for p in op.payloads)
    assert isinstance(op, DeleteBatch)
    return op.keys.nbytes
