"""Changing some vectors of existing points: Qdrant's update_vectors and delete_vectors.

Neither reaches the WAL as it was sent. Like the payload updates, the commit loop resolves each
one (zoro.actors.point_changes) into a whole-point upsert at the moment it is logged, after
every write ahead of it has been applied: it reads each chosen point's current vectors (every
kind the store keeps, `WholePoints`) and payload, changes the named vectors, and logs an
UpsertBatch in the general form. Replay is then a pure re-application of plain upserts: it
needs neither the filter nor the state the change was made against.

Also here: removing the ANN directories of vectors dropped from the catalog, which recovery
calls on every open (the catalog is the truth; see CollectionManager.change_vectors).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

import numpy as np

from zoro.sparse.vectors import SparseBatch
from zoro.types import DenseColumn, MultiColumn, SparseColumn, UpsertBatch

if TYPE_CHECKING:
    from pathlib import Path

    import numpy.typing as npt

    from zoro.payload import Condition
    from zoro.storage import CollectionStore
    from zoro.types import Column, DenseSpec, Keys, SparseSpec, VectorConfig


@dataclass(frozen=True, slots=True, eq=False)
class UpdateVectors:
    """Replace the vectors each point of `changes` carries, keeping the point's other vectors
    and its payload. `changes`: keys in request order and the new vectors (an UpsertBatch
    as the services build one; its payloads are not used); a key may repeat, later ones win
    vector by vector. `condition`: Qdrant's update_filter (points it rejects are left alone)."""

    changes: UpsertBatch
    condition: Condition | None = None

    def __len__(self) -> int:
        return len(self.changes)


@dataclass(frozen=True, slots=True, eq=False)
class DeleteVectors:
    """Remove vectors `numbers` from the points `keys` (or those `condition` selects when keys
    is None), keeping the rest of each point."""

    numbers: tuple[int, ...]
    keys: Keys | None = None
    condition: Condition | None = None

    def __len__(self) -> int:
        return 1 if self.keys is None else len(self.keys)


VectorEdit = UpdateVectors | DeleteVectors


@dataclass(slots=True)
class WholePoints:
    """Some existing points as they are now, to be changed and logged whole (also used by
    zoro.actors.point_changes for payload changes)."""

    slots: npt.NDArray[np.int64]
    keys: Keys
    payloads: list[bytes]
    dense: dict[int, tuple[npt.NDArray[np.bool_], npt.NDArray[np.float32]]]
    sparse: dict[int, list[SparseBatch | None]]
    multi: dict[int, list[npt.NDArray[np.float32] | None]]
    layout_sizes: dict[int, int]  # multivector number -> row size

    @classmethod
    def read(
        cls, store: CollectionStore, slots: npt.NDArray[np.int64], *, with_payloads: bool = True
    ) -> WholePoints:
        """`with_payloads`: False when the caller replaces them all (payloads left empty)."""
        # Every vector the store keeps is carried over: a kind of vector this does not read
        # would be lost by the rewrite (tests/actors/test_vector_changes.py pins the layout).
        dense = {
            number: (
                np.array(store.present_mask(number)[slots], dtype=np.bool_),
                np.array(store.vectors_of_slots(slots, number), dtype=np.float32),
            )
            for number in store.layout.dense
        }
        sparse = {number: store.sparse_of_slots(slots, number) for number in store.layout.sparse}
        multi = {number: store.multi_of_slots(slots, number) for number in store.layout.multi}
        keys = store.keys_of_slots(slots)
        payloads = store.payloads_of_slots(slots) if with_payloads else []
        return cls(slots, keys, payloads, dense, sparse, multi, dict(store.layout.multi))

    def drop(self, numbers: tuple[int, ...]) -> None:
        """Remove vectors `numbers` from every point."""
        for number in numbers:
            if number in self.dense:
                self.dense[number][0][:] = False
            elif number in self.sparse:
                self.sparse[number] = [None] * len(self.slots)
            elif number in self.multi:
                self.multi[number] = [None] * len(self.slots)

    def batch(self) -> UpsertBatch | None:
        if not len(self.slots):
            return None
        columns: dict[int, Column] = {}
        for number, (present, rows) in self.dense.items():
            columns[number] = DenseColumn(present, np.ascontiguousarray(rows[present]))
        for number, values in self.sparse.items():
            carried = np.array([v is not None for v in values], dtype=np.bool_)
            rows_of = SparseBatch.concat([v for v in values if v is not None])
            columns[number] = SparseColumn(carried, rows_of)
        for number, matrices in self.multi.items():
            carried = np.array([m is not None for m in matrices], dtype=np.bool_)
            kept = [m for m in matrices if m is not None]
            counts = np.array([len(m) for m in kept], dtype=np.int64)
            size = self.layout_sizes[number]
            stacked = np.concatenate(kept) if kept else np.empty((0, size), dtype=np.float32)
            columns[number] = MultiColumn(carried, counts, stacked)
        return UpsertBatch(self.keys, None, self.payloads, MappingProxyType(columns))


# ---------------------------------------------------------------- dropped vectors' index files

_INDEX_DIR: Final = re.compile(r"ann(?:\.(\d+))?|sparse\.(\d+)")


def remove_dropped_indexes(directory: Path, config: VectorConfig) -> None:
    """Delete the index directories (ANN: `ann`, `ann.<n>`; saved sparse: `sparse.<n>`) of
    vector numbers the catalog no longer declares. Best effort and idempotent: what a crash
    leaves behind goes on the next open, and numbers are never reused, so no new vector ever
    meets an old one's files."""
    specs: list[DenseSpec | SparseSpec] = [*config.dense.values(), *config.sparse.values()]
    declared = {spec.number for spec in specs}
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(directory):
            found = _INDEX_DIR.fullmatch(entry.name)
            if found is None or not entry.is_dir(follow_symlinks=False):
                continue
            number = int(found.group(1) or found.group(2) or 0)
            if number not in declared:
                shutil.rmtree(entry.path, ignore_errors=True)
