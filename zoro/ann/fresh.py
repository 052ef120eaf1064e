"""FlatBuffer: the fresh segment (appendable) and the frozen segments waiting to be sealed.

Vectors live in a numpy buffer that only ever grows at the end: rows below the current count
are never written again, and growing allocates a *new* buffer (the old one stays alive for as
long as anyone refers to it). The segment layer's fresh segments are preallocated at their seal
threshold (`preallocate=True`; np.empty, so pages are committed only as rows are written) and
are frozen when full, so they never grow: no copy of the buffer ever runs on the event loop.
That gives two cheap operations the segment layer relies on:

- `snapshot()` shares the rows written so far without copying them, so a worker thread can scan
  them while the event loop keeps appending (it writes rows the snapshot cannot see, or a new
  buffer). The only copy is the row -> slot table FAISS needs for the selector (8 bytes a row).
- `freeze()` turns the fresh segment into a frozen one in O(1).

Removal is by the collection's deleted bitmap only: rows are not compacted. Compacting would cost
a memmove of the whole buffer on the event loop for every delete batch and would break
snapshots; the dead rows go when the segment is sealed (the fresh segment is bounded in size).

Search uses FAISS's brute-force kernels (the ones IndexFlat calls) straight over the buffer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np

from zoro.ann import _faiss
from zoro.ann.engine import EXPORT_CHUNK_ROWS, F32, I64, SearchesInto
from zoro.ann.scores import any_short, check_batch, fill_missing

if TYPE_CHECKING:
    from collections.abc import Iterator

    from zoro.ann.bitmap import Bitmap
    from zoro.types import Distance

# Preallocation stops at this many bytes of vectors (virtual memory: only rows written are
# committed); a buffer expected to be bigger (20,000 rows of more than ~13,000 dimensions)
# starts there and grows by doubling.
PREALLOCATE_MAX_BYTES: Final = 1 << 30


class FlatBuffer(SearchesInto):
    """Exact search over an append-only (slot, vector) buffer; slots strictly increase."""

    kind = "buffer"

    def __init__(
        self,
        dimension: int,
        distance: Distance,
        *,
        expected_rows: int = 1024,
        preallocate: bool = False,
    ) -> None:
        self.dimension = dimension
        self.distance = distance
        self._metric = _faiss.metric_of(distance)
        self._expected = max(1, expected_rows)
        rows = 0
        if preallocate:
            rows = min(self._expected, max(1, PREALLOCATE_MAX_BYTES // (4 * max(1, dimension))))
        self._vectors = np.empty((rows, dimension), dtype=np.float32)
        self._slots = np.empty(rows, dtype=np.int64)
        self._ids = _faiss.IdVector()
        self._n = 0
        self.frozen = False

    # --- writing (event loop only) -----------------------------------------------------------

    def add(self, ids: I64, vectors: F32) -> None:
        """Append rows. Raises ValueError when frozen or when slots do not strictly increase."""
        slots, vecs = check_batch(ids, vectors, self.dimension)
        if self.frozen:
            raise ValueError("cannot add to a frozen segment")
        if not len(slots):
            return
        if (self._n and slots[0] <= self._slots[self._n - 1]) or np.any(np.diff(slots) <= 0):
            raise ValueError("slots must strictly increase within a flat buffer")
        end = self._n + len(slots)
        if end > len(self._slots):
            self._grow(end)
        self._vectors[self._n : end] = vecs
        self._slots[self._n : end] = slots
        self._ids.extend(slots)
        self._n = end

    def can_append(self, slots: I64) -> bool:
        return not self._n or int(slots[0]) > int(self._slots[self._n - 1])

    def _grow(self, rows: int) -> None:
        # Doubling, but capped at the expected final size (the seal threshold), so a full
        # fresh segment carries no slack. Growing copies into a new buffer and leaves the old
        # one untouched for any snapshot still reading it.
        old = len(self._slots)
        if rows <= self._expected:
            cap = min(max(rows, 2 * old, 64), self._expected)
        else:
            cap = max(rows, 2 * old)
        vectors = np.empty((cap, self.dimension), dtype=np.float32)
        slots = np.empty(cap, dtype=np.int64)
        vectors[: self._n] = self._vectors[: self._n]
        slots[: self._n] = self._slots[: self._n]
        self._vectors, self._slots = vectors, slots

    def freeze(self) -> FlatBuffer:
        """No more adds; returns self (O(1), nothing copied)."""
        self.frozen = True
        return self

    def snapshot(self) -> FlatBuffer:
        """A frozen view of the rows written so far, safe to search from another thread."""
        other = FlatBuffer(self.dimension, self.distance)
        other._vectors = self._vectors[: self._n]
        other._slots = self._slots[: self._n]
        other._ids = self._ids.copy()
        other._n = self._n
        other.frozen = True
        return other

    # --- reading ---------------------------------------------------------------------------

    def search_into(
        self,
        queries: F32,
        k: int,
        distances: F32,
        labels: I64,
        *,
        deleted: Bitmap | None = None,
        ef: int | None = None,
        exact: bool = False,
        deleted_count: int | None = None,
    ) -> None:
        n = self._n
        if n == 0:
            fill_missing(self.distance, distances, labels)
            return
        sel = None
        if deleted is not None:
            ids, not_deleted = self._ids, deleted.selector()
            sel = deleted.derived(self, "rows", lambda: _faiss.translated_by_ids(ids, not_deleted))
        rows = self._vectors[:n]
        _faiss.knn_rows_into(self._metric, queries, rows, k, distances, labels, sel)
        # row numbers -> slots; missing rows (-1) sit at the end of a row, and only there
        missing = labels < 0 if any_short(labels) else None
        labels[...] = self._slots[labels]
        if missing is not None:
            labels[missing] = -1

    def __len__(self) -> int:
        return self._n

    @property
    def slots(self) -> I64:
        """The slots held, ascending (a view: do not modify)."""
        return self._slots[: self._n]

    def ids(self) -> I64:
        return self._slots[: self._n].copy()

    def memory_bytes(self) -> int:
        # rows written so far: the rest of a preallocated buffer is never touched, so never
        # committed
        return self._n * (4 * self.dimension + 8) + 8 * len(self._ids)

    def export(self, chunk_rows: int = EXPORT_CHUNK_ROWS) -> Iterator[tuple[I64, F32]]:
        n = self._n
        for start in range(0, n, chunk_rows):
            stop = min(start + chunk_rows, n)
            yield self._slots[start:stop], self._vectors[start:stop]
