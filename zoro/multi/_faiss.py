"""The typed edge over the few FAISS calls zoro/multi makes (zoro/ann has its own: the layer
rules keep the two packages apart, and this one needs only an HNSW graph over 8-bit scalar
quantised rows, its filtered search, and FAISS's pairwise L1 kernel).

Why SQ8 under the graph: the graph only proposes candidates, and every candidate is re-scored
on the float32 rows the index keeps anyway. Storing float32 a second time inside the graph
(IndexHNSWFlat) would double the memory; 8-bit codes add a quarter of the raw size instead.
FAISS's scalar quantiser supports inner product and L2 only (asking it for L1 aborts the
process), so Manhattan never gets a graph.
"""

from __future__ import annotations

from typing import Any, Final

import faiss
import numpy as np
import numpy.typing as npt

from zoro.types import Distance

_raw: Any = faiss  # SWIG calls the shipped stubs get wrong (selectors, HNSW params, pointers)

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

GRAPH_METRICS: Final = {
    Distance.COSINE: faiss.METRIC_INNER_PRODUCT,
    Distance.DOT: faiss.METRIC_INNER_PRODUCT,
    Distance.EUCLID: faiss.METRIC_L2,
}


def pairwise_l1(queries: F32, rows: F32) -> F32:
    out: F32 = np.asarray(
        faiss.pairwise_distances(queries, rows, metric=faiss.METRIC_L1), dtype=np.float32
    )
    return out


def new_graph(dimension: int, distance: Distance, *, m: int, ef_construct: int) -> Any:
    """An empty IndexHNSWSQ (8-bit codes) for `distance`. KeyError for Manhattan."""
    index = _raw.IndexHNSWSQ(dimension, _raw.ScalarQuantizer.QT_8bit, m, GRAPH_METRICS[distance])
    index.hnsw.efConstruction = ef_construct
    return index


def train(index: Any, sample: F32) -> None:
    index.train(np.ascontiguousarray(sample, dtype=np.float32))


def add(index: Any, rows: F32) -> None:
    index.add(np.ascontiguousarray(rows, dtype=np.float32))


def size(index: Any) -> int:
    return int(index.ntotal)


def search(
    index: Any, queries: F32, k: int, *, ef: int, allowed: npt.NDArray[np.bool_] | None
) -> I64:
    """Labels (insertion order) of the k nearest rows of each query row, best first, -1 where
    fewer exist. `allowed` (one bool per label) restricts the search to those labels."""
    params = _raw.SearchParametersHNSW()
    params.efSearch = max(ef, k)
    if allowed is not None:
        bits = np.packbits(allowed, bitorder="little")
        params.sel = _raw.IDSelectorBitmap(bits)  # the wrapper keeps `bits` alive
    _, labels = index.search(np.ascontiguousarray(queries, dtype=np.float32), k, params=params)
    out: I64 = np.asarray(labels, dtype=np.int64)
    return out


def graph_bytes(index: Any) -> int:
    """The graph (neighbour lists, offsets, levels) plus the SQ8 codes."""
    hnsw = index.hnsw
    storage: Any = faiss.downcast_index(index.storage)
    codes = int(storage.codes.size())
    return (
        4 * int(hnsw.neighbors.size())
        + 8 * int(hnsw.offsets.size())
        + 4 * int(hnsw.levels.size())
        + codes
    )
