"""Score fusion for Qdrant's universal query: `{"fusion": "rrf"|"dbsf"}` and `{"rrf": {...}}`.

Pure functions over ranked lists of point handles (any hashable: the server passes slots). Each
source is one prefetch's answer, best first. The semantics are Qdrant 1.x's, as its client's local
mode computes them:

RRF (reciprocal rank fusion). A point at 0-based rank `r` of a source with weight `w` earns
`1 / ((r + 1) / w + k - 1)`, or nothing when `w <= 0`; its fused score is the sum over the sources
it appears in. `k` defaults to 2, and every weight to 1 (so the default term is `1 / (r + k)`).

DBSF (distribution-based score fusion). Each non-empty source's scores are normalised on its own,
against mean +/- 3 standard deviations (the sample deviation, n - 1):
`(s - (mean - 3 sd)) / (6 sd)`. A source of one point, or whose scores are all equal, gives each
of its points 0.5. A point's fused score is the sum of its normalised scores. The raw scores are
used as they are reported, so for a distance (Euclid, Manhattan) a larger distance normalises
higher; that is what Qdrant's local mode does too.

Both sort by fused score, highest first, and a tie keeps the order in which the points were first
met (the sources in order, each best first): the sort is stable, as local mode's is. Sums run in
that same order, in double precision, so equal contributions give exactly equal scores.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

H = TypeVar("H", bound=Hashable)

DEFAULT_RRF_K = 2


def rrf(
    sources: Sequence[Sequence[H]],
    *,
    limit: int,
    k: int = DEFAULT_RRF_K,
    weights: Sequence[float] | None = None,
) -> tuple[list[H], list[float]]:
    """The best `limit` points by reciprocal rank fusion, with their fused scores.

    Raises ValueError when `weights` is given and its length is not the number of sources, or
    when `k` is below 1 (the term for rank 0 would divide by zero at k = 0).
    """
    if weights is not None and len(weights) != len(sources):
        raise ValueError(f"{len(weights)} weights for {len(sources)} sources")
    if k < 1:
        raise ValueError("k must be at least 1")
    fused: dict[H, float] = {}
    for index, source in enumerate(sources):
        weight = 1.0 if weights is None else float(weights[index])
        for rank, point in enumerate(source):
            term = 0.0 if weight <= 0 else 1.0 / ((rank + 1.0) / weight + k - 1.0)
            fused[point] = fused.get(point, 0.0) + term
    return _best(fused, limit)


def dbsf(
    sources: Sequence[tuple[Sequence[H], Sequence[float]]], *, limit: int
) -> tuple[list[H], list[float]]:
    """The best `limit` points by distribution-based score fusion, with their fused scores.

    Each source is (points, scores), both best first and of equal length.
    """
    fused: dict[H, float] = {}
    for points, scores in sources:
        if len(points) != len(scores):
            raise ValueError("each source needs one score per point")
        for point, value in zip(points, _normalised(scores), strict=True):
            fused[point] = fused.get(point, 0.0) + value
    return _best(fused, limit)


def _normalised(scores: Sequence[float]) -> list[float]:
    n = len(scores)
    if n == 1:
        return [0.5]
    values = [float(s) for s in scores]
    mean = sum(values) / n if n else 0.0
    variance = sum((s - mean) ** 2 for s in values) / (n - 1) if n else 0.0
    if variance == 0:
        return [0.5] * n
    sd = variance**0.5
    low, high = mean - 3 * sd, mean + 3 * sd
    return [(s - low) / (high - low) for s in values]


def _best(fused: dict[H, float], limit: int) -> tuple[list[H], list[float]]:
    # sorted() is stable, and reverse=True keeps equal keys in their first-met order
    ranked = sorted(fused.items(), key=lambda item: item[1], reverse=True)[: max(limit, 0)]
    return [p for p, _ in ranked], [s for _, s in ranked]
