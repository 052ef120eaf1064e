"""The value objects the store hands out: point records, apply results, statistics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True, eq=False)
class PointRecord:
    """One point as read back. `vector` / `payload` are None when not asked for."""

    key: bytes  # 17 bytes, padded (numpy strips trailing NULs from scalars)
    vector: npt.NDArray[np.float32] | None
    payload: bytes | None  # the payload's JSON bytes


@dataclass(frozen=True, slots=True, eq=False)
class ApplyResult:
    """What one `apply_many` call changed, for the ANN index (FAISS ids are slots).

    `added_slots` are the new slots still live at the end of the call, ascending, with their
    vectors in `added_vectors`. `removed_slots` are slots that were live before the call and are
    not after it (replaced or deleted), ascending; a slot added and removed within the same call
    appears in neither.
    """

    added_slots: npt.NDArray[np.int64]
    added_vectors: npt.NDArray[np.float32]
    removed_slots: npt.NDArray[np.int64]

    @classmethod
    def empty(cls, dimension: int) -> ApplyResult:
        none = np.empty(0, dtype=np.int64)
        return cls(none, np.empty((0, dimension), dtype=np.float32), none)


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
