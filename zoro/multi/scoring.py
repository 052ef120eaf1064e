"""MaxSim, scored the way Qdrant (1.20) scores `comparator: max_sim`.

For a query matrix Q and a document matrix D:

    total(Q, D) = sum over query rows q of  max over document rows d of  sim(q, d)

where sim is "higher is better" for every distance:

    Cosine      q . d            (rows stored unit length; queries normalised too)
    Dot         q . d
    Euclid      -|q - d|^2       (squared: the kernel Qdrant's core compares with)
    Manhattan   -|q - d|_1

The score reported is the total for Cosine and Dot, sqrt(|total|) for Euclid and |total| for
Manhattan: so an Euclid score is the square root of the summed squared distances (not a sum of
distances), and for Euclid and Manhattan lower scores are better. This is what qdrant-client's
local mode computes (its `calculate_multi_distance`), checked by tests/multi/test_local_mode.py.
Ranking is done on the total (higher first for every distance), which is the same order.

The pairwise matrix is one BLAS product for Cosine, Dot and Euclid (|q|^2 + |d|^2 - 2 q.d,
clipped at 0) and FAISS's pairwise kernel for Manhattan; the per-document maximum is one
`np.maximum.reduceat` over the rows of documents laid out back to back.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from zoro.multi import _faiss
from zoro.types import Distance

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

_INNER: Final = frozenset({Distance.COSINE, Distance.DOT})


def similarity(distance: Distance, queries: F32, rows: F32) -> F32:
    """(len(queries), len(rows)) pairwise similarities, higher is better."""
    if distance in _INNER:
        sim: F32 = queries @ rows.T
        return sim
    if distance is Distance.EUCLID:
        sim = queries @ rows.T
        sim *= 2.0
        sim -= np.einsum("ij,ij->i", queries, queries)[:, None]
        sim -= np.einsum("ij,ij->i", rows, rows)[None, :]
        np.minimum(sim, 0.0, out=sim)  # rounding may leave a tiny positive "distance"
        return sim
    sim = _faiss.pairwise_l1(queries, rows)
    np.negative(sim, out=sim)
    return sim


def totals(distance: Distance, queries: F32, rows: F32, starts: I64) -> F64:
    """MaxSim totals of the documents whose rows lie back to back in `rows`, document i
    starting at row starts[i] (strictly increasing, starts[0] == 0, every document at least
    one row, the last one ending at len(rows))."""
    if len(starts) == 0:
        return np.empty(0, dtype=np.float64)
    sim = similarity(distance, queries, rows)
    best = np.maximum.reduceat(sim, starts, axis=1)
    out: F64 = best.sum(axis=0, dtype=np.float64)
    return out


def to_scores(distance: Distance, total: F64) -> F32:
    """Totals -> Qdrant's scores (see the module docstring)."""
    if distance is Distance.EUCLID:
        return np.sqrt(np.abs(total)).astype(np.float32)
    if distance is Distance.MANHATTAN:
        return np.abs(total).astype(np.float32)
    return total.astype(np.float32)


def top_k(total: F64, slots: I64, k: int) -> tuple[F64, I64]:
    """The k highest totals, best first (ties broken by the lower slot, so results are
    deterministic), with their slots."""
    if k < len(total):
        keep = np.argpartition(-total, k - 1)[:k]
        total, slots = total[keep], slots[keep]
    order = np.lexsort((slots, -total))
    return total[order], slots[order]
