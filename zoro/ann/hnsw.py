"""HnswEngine: approximate search over an IndexIDMap of IndexHNSWFlat.

HNSW cannot remove points. Deleted slots stay in the graph (they still help navigation) and are
excluded at search time by a selector over the collection's deleted bitmap. The walk only
*returns* selected points, so with many deletions a fixed beam finds too few live ones: the beam
is widened by 1 / live share (past 10% deleted), and a segment that is mostly deleted (or a
query that still comes back short) is answered by an exact scan of the segment's own vectors
with the same selector. Segments past `rebuild_deleted_ratio` are rebuilt by the segment layer.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from zoro.ann import _faiss
from zoro.ann.engine import EXPORT_CHUNK_ROWS, F32, I64, SearchesInto
from zoro.ann.files import FileMeta, write_index_file
from zoro.ann.scores import any_short, check_batch, fill_missing, new_result

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from zoro.ann.bitmap import Bitmap
    from zoro.types import Distance

# Below this live share a graph walk wades mostly through dead nodes: scan exactly instead.
MIN_LIVE_SHARE_FOR_GRAPH: Final = 0.1
# Dead nodes take places in the beam, so the beam is widened by 1 / live share, but only below
# this share: a few percent deleted cost a few percent of recall-equivalent beam, while widening
# costs whole steps of 16 (64 -> 80 for 10% deleted: a quarter more work on every query).
WIDEN_BELOW_LIVE_SHARE: Final = 0.9
# Widened beams are rounded up to a multiple of this, so the cached search params stay few.
_EF_STEP: Final = 16


def draw_levels(slots: I64, m: int) -> npt.NDArray[np.int32]:
    """Each slot's HNSW layer, drawn as FAISS draws them (P(level >= l) = m**-l) but from a hash
    of the slot, so that two passes over the same points agree (see zoro.ann.jobs)."""
    z = np.asarray(slots, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):  # splitmix64: wrapping arithmetic on purpose
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    u = ((z >> np.uint64(11)).astype(np.float64) + 1.0) * 2.0**-53  # in (0, 1]
    return np.floor(-np.log(u) / math.log(m)).astype(np.int32)


class HnswEngine(SearchesInto):
    """Approximate k-NN (FAISS HNSW, flat storage). Immutable once built, in practice: the
    segment layer adds points only while building, in a worker thread, before anyone searches
    it; a sealed segment grows by a `clone()` that is added to and then swapped in."""

    kind: Final = "hnsw"

    def __init__(
        self,
        dimension: int,
        distance: Distance,
        *,
        m: int = 16,
        ef_construct: int = 100,
        ef_search: int = 64,
        index: _faiss.IndexIDMap | None = None,
    ) -> None:
        self.dimension = dimension
        self.distance = distance
        self.ef_search = ef_search
        if index is None:
            index = _faiss.new_hnsw(
                dimension, distance, m=m, ef_construct=ef_construct, ef_search=ef_search
            )
        self._index = index
        self._ids = _faiss.id_map_array(index)
        # params without a selector, by beam width; read-only once built, so shared by threads
        self._plain: dict[int, _faiss.Params] = {}

    def clone(self) -> HnswEngine:
        """A deep copy (vectors and graph: about a memcpy of memory_bytes()), to be grown in
        another thread while this one, unchanged, keeps being searched. Reads only."""
        return HnswEngine(
            self.dimension,
            self.distance,
            ef_search=self.ef_search,
            index=_faiss.clone_id_map(self._index),
        )

    def add(self, ids: I64, vectors: F32, levels: npt.NDArray[np.int32] | None = None) -> None:
        """Insert points; `levels` (one per point, see draw_levels) instead of FAISS's draw."""
        slots, vecs = check_batch(ids, vectors, self.dimension)
        if len(slots):
            if levels is not None:
                _faiss.preset_levels(self._index, np.asarray(levels, dtype=np.int32))
            _faiss.add_with_ids(self._index, slots, vecs)
            self._ids = np.concatenate([self._ids, slots])

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
        n = len(self._ids)
        if deleted is None:
            live = n
        elif deleted_count is None:
            live = n - int(np.count_nonzero(deleted.test(self._ids)))  # O(n): standalone use
        else:
            live = n - deleted_count
        if live <= 0:
            fill_missing(self.distance, distances, labels)
            return
        share = live / n
        if exact or share < MIN_LIVE_SHARE_FOR_GRAPH:
            self._scan_into(queries, k, distances, labels, deleted)
            return
        beam = max(ef if ef is not None else self.ef_search, k)
        if share < WIDEN_BELOW_LIVE_SHARE:
            beam = _EF_STEP * math.ceil(beam / share / _EF_STEP)
        _faiss.search_into(self._index, queries, k, distances, labels, self._params(deleted, beam))
        # Rows are best first, so a short row has -1 at position min(k, live) - 1.
        if any_short(labels, min(k, live) - 1):
            short = np.flatnonzero(labels[:, min(k, live) - 1] < 0)
            fixed_d, fixed_l = new_result(len(short), k)
            self._scan_into(np.ascontiguousarray(queries[short]), k, fixed_d, fixed_l, deleted)
            distances[short], labels[short] = fixed_d, fixed_l

    def _params(self, deleted: Bitmap | None, beam: int) -> _faiss.Params:
        if deleted is None:
            params = self._plain.get(beam)
            if params is None:
                params = self._plain[beam] = _faiss.search_params(None, ef=beam)
            return params
        index, sel = self._index, deleted.selector()
        return deleted.derived(
            self,
            ("hnsw", beam),
            lambda: _faiss.search_params(_faiss.translated_by_index(index, sel), ef=beam),
        )

    def _scan_into(
        self, q: F32, k: int, distances: F32, labels: I64, deleted: Bitmap | None
    ) -> None:
        """A flat scan of the HNSW storage; storage rows are id-map rows, so translate back."""
        params = None
        if deleted is not None:
            index, sel = self._index, deleted.selector()
            params = deleted.derived(
                self,
                "exact",
                lambda: _faiss.search_params(_faiss.translated_by_index(index, sel), ef=None),
            )
        storage = _faiss.hnsw_storage(self._index)
        _faiss.search_into(storage, q, k, distances, labels, params)
        missing = labels < 0
        labels[...] = self._ids[labels]
        labels[missing] = -1

    def __len__(self) -> int:
        return len(self._ids)

    def memory_bytes(self) -> int:
        n = len(self)
        # vectors + graph + FAISS's id map + our copy of it
        return n * (self.dimension * 4 + 16) + _faiss.hnsw_graph_bytes(self._index)

    def ids(self) -> I64:
        return self._ids.copy()

    def renumbered(self, ids: I64) -> HnswEngine:
        """The same graph under new ids, in row order (storage renumbered its slots): a new
        engine sharing this one's FAISS index, which stays as it is (a seal job may be
        cloning it in another thread)."""
        return HnswEngine(
            self.dimension,
            self.distance,
            ef_search=self.ef_search,
            index=_faiss.renumbered_id_map(self._index, ids),
        )

    def export(self, chunk_rows: int = EXPORT_CHUNK_ROWS) -> Iterator[tuple[I64, F32]]:
        storage = _faiss.hnsw_storage(self._index)
        for start in range(0, len(self._ids), chunk_rows):
            stop = min(start + chunk_rows, len(self._ids))
            yield self._ids[start:stop], _faiss.reconstruct_rows(storage, start, stop - start)

    def save(self, path: Path) -> None:
        meta = FileMeta.of(self.kind, self.distance, self.dimension, self._ids)
        write_index_file(path, meta, self._index)
