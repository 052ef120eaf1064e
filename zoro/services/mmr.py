"""Maximal marginal relevance: re-rank nearest-neighbour candidates for diversity, as Qdrant does.

Qdrant picks the most relevant candidate first, then repeatedly the one maximising

    (1 - diversity) * sim(query, c) - diversity * max(sim(c, s) for s already picked)

where `sim` is the engine's internal similarity (higher is better): the inner product for Cosine
(on unit vectors) and Dot, the negated *squared* L2 distance for Euclid and the negated L1 distance
for Manhattan. Exact ties go the way Qdrant's core goes: the candidates still pending sit in an
insertion-ordered set from which a pick is swap-removed (the last one takes its place), and the
pick is the *last* maximum in that order.

One matrix-vector product per pick keeps each candidate's best similarity to the picked set, so
the work is picks x candidates x dimension and no candidates x candidates matrix is made.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from zoro.types import Distance

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]


def similarity(distance: Distance, vectors: F32, to: F32) -> F32:
    """sim(vectors[i], to) for every row, in the engine's internal higher-is-better meaning."""
    if distance is Distance.EUCLID:
        diff = vectors - to
        out: F32 = -np.einsum("ij,ij->i", diff, diff, dtype=np.float32)
    elif distance is Distance.MANHATTAN:
        out = -np.abs(vectors - to).sum(axis=1, dtype=np.float32)
    else:
        out = vectors @ to
    return out


def mmr_order(distance: Distance, query: F32, candidates: F32, diversity: float, limit: int) -> I64:
    """Positions (into `candidates`) of up to `limit` picks, in pick order."""
    n = len(candidates)
    limit = min(limit, n)
    if limit <= 0:
        return np.empty(0, dtype=np.int64)
    relevance = (1.0 - diversity) * similarity(distance, candidates, query.reshape(-1))
    pending = np.arange(n, dtype=np.int64)  # Qdrant's insertion-ordered set, swap-removed
    closest = np.full(n, -np.inf, dtype=np.float32)  # best sim to any pick, by position
    picks = np.empty(limit, dtype=np.int64)
    scores = similarity(distance, candidates, query.reshape(-1))  # the first pick: relevance alone
    for step in range(limit):
        values = scores[pending]
        at = len(values) - 1 - int(np.argmax(values[::-1]))  # the last maximum
        pick = int(pending[at])
        picks[step] = pick
        pending[at] = pending[-1]
        pending = pending[:-1]
        if not len(pending):
            return picks[: step + 1]
        np.maximum(closest, similarity(distance, candidates, candidates[pick]), out=closest)
        scores = relevance - diversity * closest
    return picks
