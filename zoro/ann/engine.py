"""What an ANN engine offers: one FAISS structure holding (slot, vector) pairs.

Ids are storage slot numbers. Scores follow Qdrant (see zoro.ann.scores); rows come back best
first with id -1 where fewer than k live points exist. Engines never normalise: for Cosine the
vectors and queries they receive are unit length already.

Engines are not thread-safe for mutation: add/remove and search must not overlap (faiss#367).
Read-only calls (search, ids, export) may run from several threads at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from zoro.ann.scores import check_k, check_queries, from_faiss, new_result

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from zoro.ann.bitmap import Bitmap
    from zoro.types import Distance

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

# Ids and vectors are copied out of an engine (for a merge) this many rows at a time, which
# bounds the extra memory a merge needs beyond the new segment it builds.
EXPORT_CHUNK_ROWS = 65_536


class Searchable(Protocol):
    """A segment's search side: what SegmentedIndex needs from every segment kind."""

    dimension: int
    distance: Distance

    def search(
        self,
        queries: F32,
        k: int,
        *,
        deleted: Bitmap | None = None,
        ef: int | None = None,
        exact: bool = False,
        deleted_count: int | None = None,
    ) -> tuple[F32, I64]:
        """Best k per query as (scores, slots), excluding the slots set in `deleted`.

        `ef` is the HNSW beam width (ignored by exact engines); `exact` asks an approximate
        engine for an exact scan. `deleted_count`, when the caller tracks it, is how many of this
        engine's slots are set in `deleted`; HNSW widens its beam by it (otherwise it counts).
        """
        ...

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
        """search() without the checks and conversions, for the segment layer's hot path.

        `queries`: checked (m, dimension) C-contiguous float32, k > 0. Writes into the (m, k)
        C-contiguous outputs FAISS's raw distances (inner product; *squared* L2; L1), sorted
        best first, and the slots (-1 where missing). Scores come later, once, after a merge.
        """
        ...

    def __len__(self) -> int: ...

    def memory_bytes(self) -> int: ...

    def ids(self) -> I64:
        """The slots held, in row order (a copy)."""
        ...

    def export(self, chunk_rows: int = EXPORT_CHUNK_ROWS) -> Iterator[tuple[I64, F32]]:
        """(slots, vectors) in chunks, copied out: the input of a merge."""
        ...


class SearchesInto:
    """The public search() of an engine, written once over its search_into(): check the input,
    search into fresh arrays, turn FAISS's raw distances into scores."""

    dimension: int
    distance: Distance

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
        raise NotImplementedError

    def search(
        self,
        queries: F32,
        k: int,
        *,
        deleted: Bitmap | None = None,
        ef: int | None = None,
        exact: bool = False,
        deleted_count: int | None = None,
    ) -> tuple[F32, I64]:
        q = check_queries(queries, self.dimension)
        distances, labels = new_result(len(q), check_k(k))
        if k:
            self.search_into(
                q,
                k,
                distances,
                labels,
                deleted=deleted,
                ef=ef,
                exact=exact,
                deleted_count=deleted_count,
            )
        return from_faiss(self.distance, distances, labels), labels


class AnnEngine(Searchable, Protocol):
    """A persistent engine: FlatEngine or HnswEngine."""

    @property
    def kind(self) -> str:
        """ "flat" or "hnsw": what the segment file records."""
        ...

    def add(self, ids: I64, vectors: F32) -> None: ...

    def save(self, path: Path) -> None:
        """Write to `path` crash-safely (temp file, fsync, rename, fsync the directory)."""
        ...
