"""The value objects the store hands out: point records, apply results, statistics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import numpy as np
    import numpy.typing as npt

    from zoro.sparse.vectors import SparseBatch


@dataclass(frozen=True, slots=True, eq=False)
class PointRecord:
    """One point as read back. `vector` / `payload` are None when not asked for."""

    key: bytes  # 17 bytes, padded (numpy strips trailing NULs from scalars)
    vector: npt.NDArray[np.float32] | None
    payload: bytes | None  # the payload's JSON bytes


@dataclass(frozen=True, slots=True, eq=False)
class VectorChange:
    """What one `apply_many` call changed for one vector: the new live slots that carry it with
    their rows (dense: `added_vectors`, sparse: `added_sparse`, multivector: `added_counts` and
    `added_multi`), and the slots carrying it that
    stopped being live. Ascending, as in ApplyResult."""

    added_slots: npt.NDArray[np.int64]
    added_vectors: npt.NDArray[np.float32] | None
    added_sparse: SparseBatch | None
    removed_slots: npt.NDArray[np.int64]
    added_counts: npt.NDArray[np.int64] | None = None  # multivector: rows per added slot
    added_multi: npt.NDArray[np.float32] | None = None  # multivector: their rows, stacked


@dataclass(frozen=True, slots=True, eq=False)
class ApplyResult:
    """What one `apply_many` call changed, for the indexes (FAISS ids are slots).

    `added_slots` are the new slots still live at the end of the call, ascending.
    `removed_slots` are slots that were live before the call and are not after it (replaced or
    deleted), ascending; a slot added and removed within the same call appears in neither.
    `vectors[n]`: the same for vector n, restricted to the slots that carry it.
    """

    added_slots: npt.NDArray[np.int64]
    removed_slots: npt.NDArray[np.int64]
    vectors: Mapping[int, VectorChange]
    added_payloads: Sequence[bytes] = ()  # the payload of each added slot, from memory

    @property
    def added_vectors(self) -> npt.NDArray[np.float32]:
        """Dense vector 0 of the added slots (the version-1 collection's one vector)."""
        rows = self.vectors[0].added_vectors
        assert rows is not None
        return rows


@dataclass(frozen=True, slots=True)
class StoreStats:
    live: int  # live points
    slots: int  # rows in the vector file
    garbage_slots: int  # slots no longer live (replaced or deleted), for a later compaction
    payload_bytes: int  # length of source/payloads
    checkpoint_lsn: int
    applied_lsn: int
    index_delta: int  # keys in the in-memory delta run, not yet merged into the sorted main run
    index_tombstones: int  # deleted keys still in the index until the next merge
    memory_bytes: int  # in-memory index structures (point index, slot table, live flags)
    upserts_total: int  # points written over the collection's life (after in-batch dedupe)
    deletes_total: int  # live points deleted over the collection's life
