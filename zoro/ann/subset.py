"""Exact search among a chosen set of slots, reading their vectors where they lie.

A selective filter leaves few points; searching them exactly is both faster than walking a
graph that mostly holds points the filter rejects, and exact. The vectors stay in the store's
memory-mapped vector file (row i is slot i): FAISS's `*_by_idx` kernels compute distances for
the listed rows only, so nothing is gathered or copied for inner product and L2. Manhattan has
no such kernel; its rows are gathered first.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from zoro.ann import _faiss
from zoro.ann.scores import F32, I64, check_k, check_queries, empty_result, from_faiss
from zoro.types import Distance


def search_subset(
    queries: npt.ArrayLike,
    k: int,
    rows: F32,
    slots: I64,
    distance: Distance,
) -> tuple[F32, I64]:
    """Best k of `slots` (rows of `rows`) per query as (scores, slots), best first.

    `rows`: C-contiguous float32 (n, dimension) holding every slot in `slots` (vectors stored
    normalised for Cosine); `slots`: ascending, no repeats. Missing results are slot -1.
    """
    dimension = rows.shape[1]
    q = check_queries(queries, dimension, normalise=distance is Distance.COSINE)
    k = check_k(k)
    m = len(q)
    if k == 0 or len(slots) == 0:
        return empty_result(m, k, distance)
    subset = np.ascontiguousarray(slots, dtype=np.int64)
    distances = np.empty((m, k), dtype=np.float32)
    labels = np.empty((m, k), dtype=np.int64)
    if distance is Distance.MANHATTAN:
        gathered = np.ascontiguousarray(rows[subset])
        _faiss.knn_rows_into(_faiss.metric_of(distance), q, gathered, k, distances, labels, None)
        found = labels >= 0
        labels[found] = subset[labels[found]]
    else:
        _faiss.knn_by_rows_into(distance.higher_is_better, q, rows, subset, k, distances, labels)
    return from_faiss(distance, distances, labels), labels
