"""FlatEngine: exact search over an IndexIDMap2 of IndexFlatIP / IndexFlatL2 / IndexFlat(L1)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np

from zoro.ann import _faiss
from zoro.ann.engine import EXPORT_CHUNK_ROWS, F32, I64, SearchesInto
from zoro.ann.files import FileMeta, write_index_file
from zoro.ann.scores import check_batch, fill_missing

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from zoro.ann.bitmap import Bitmap
    from zoro.types import Distance

# IndexIDMap2 keeps an id -> row hash map beside the id array; about this much per entry.
_REV_MAP_BYTES: Final = 40


class FlatEngine(SearchesInto):
    """Exact k-NN. Supports remove(); used for sealed segments of flat collections and of
    collections still below the full-scan threshold."""

    kind: Final = "flat"

    def __init__(
        self, dimension: int, distance: Distance, *, index: _faiss.IndexIDMap | None = None
    ) -> None:
        self.dimension = dimension
        self.distance = distance
        self._index = index if index is not None else _faiss.new_flat(dimension, distance)

    def add(self, ids: I64, vectors: F32) -> None:
        slots, vecs = check_batch(ids, vectors, self.dimension)
        if len(slots):
            _faiss.add_with_ids(self._index, slots, vecs)

    def remove(self, ids: I64) -> int:
        """Drop these slots (O(n): rows are compacted). Returns how many were held."""
        slots = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
        return _faiss.remove_ids(self._index, slots) if len(slots) else 0

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
        if len(self) == 0:
            fill_missing(self.distance, distances, labels)
            return
        params = None
        if deleted is not None:
            index, sel = self._index, deleted.selector()
            params = deleted.derived(
                self,
                "flat",
                lambda: _faiss.search_params(_faiss.translated_by_index(index, sel), ef=None),
            )
        _faiss.search_into(self._index, queries, k, distances, labels, params)

    def __len__(self) -> int:
        return _faiss.index_len(self._index)

    def memory_bytes(self) -> int:
        n = len(self)
        return n * (self.dimension * 4 + 8 + _REV_MAP_BYTES)

    def ids(self) -> I64:
        return _faiss.id_map_array(self._index)

    def renumbered(self, ids: I64) -> FlatEngine:
        """The same rows under new ids, in row order: a new engine sharing this one's vectors,
        which stays as it is (see HnswEngine.renumbered)."""
        return FlatEngine(
            self.dimension, self.distance, index=_faiss.renumbered_id_map(self._index, ids)
        )

    def export(self, chunk_rows: int = EXPORT_CHUNK_ROWS) -> Iterator[tuple[I64, F32]]:
        ids, flat = self.ids(), _faiss.flat_of(self._index)
        for start in range(0, len(ids), chunk_rows):
            stop = min(start + chunk_rows, len(ids))
            yield ids[start:stop], _faiss.reconstruct_rows(flat, start, stop - start)

    def save(self, path: Path) -> None:
        ids = self.ids()
        write_index_file(
            path, FileMeta.of(self.kind, self.distance, self.dimension, ids), self._index
        )
