"""zoro.services.fusion: hand-checked values, the tie order, and agreement with qdrant-client's
own fusion functions (the ones its local mode uses) on random rankings."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from qdrant_client import models
from qdrant_client.hybrid.fusion import distribution_based_score_fusion, reciprocal_rank_fusion

from zoro.services.fusion import DEFAULT_RRF_K, dbsf, rrf


def test_rrf_by_hand() -> None:
    assert DEFAULT_RRF_K == 2
    points, scores = rrf([[1, 2, 3], [3, 1]], limit=10)
    # default k = 2: rank r earns 1 / (r + 2)
    assert points == [1, 3, 2]
    assert scores == pytest.approx([1 / 2 + 1 / 3, 1 / 4 + 1 / 2, 1 / 3])
    points, scores = rrf([[1, 2], [2]], limit=1, k=60)
    assert (points, scores) == ([2], [pytest.approx(1 / 61 + 1 / 60)])


def test_rrf_weights() -> None:
    # weight w: 1 / ((r + 1) / w + k - 1); a weight <= 0 adds nothing but still lists the point
    points, scores = rrf([[1], [2]], limit=10, k=1, weights=[1.0, 2.0])
    assert points == [2, 1]
    assert scores == pytest.approx([2.0, 1.0])
    points, scores = rrf([[1], [2]], limit=10, weights=[0.0, -1.0])
    assert (points, scores) == ([1, 2], [0.0, 0.0])


def test_ties_keep_the_order_points_were_first_met() -> None:
    points, scores = rrf([[7, 8], [9, 6]], limit=10)
    assert points == [7, 9, 8, 6]
    assert scores[0] == scores[1]
    assert scores[2] == scores[3]
    points, _ = dbsf([([5], [0.1]), ([4], [9.0])], limit=10)
    assert points == [5, 4]  # both normalise to 0.5


def test_dbsf_by_hand() -> None:
    # mean 2, sample sd 1: (s - (2 - 3)) / 6
    points, scores = dbsf([([1, 2, 3], [3.0, 2.0, 1.0])], limit=10)
    assert points == [1, 2, 3]
    assert scores == pytest.approx([4 / 6, 3 / 6, 2 / 6])
    # equal scores and single points give 0.5; empty sources are skipped
    points, scores = dbsf([([1, 2], [1.0, 1.0]), ([], []), ([2], [-4.0])], limit=10)
    assert (points, scores) == ([2, 1], [1.0, 0.5])


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="2 weights for 1 sources"):
        rrf([[1]], limit=1, weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="k must be at least 1"):
        rrf([[1]], limit=1, k=0)
    with pytest.raises(ValueError, match="one score per point"):
        dbsf([([1, 2], [1.0])], limit=1)


def _ranking(draw: st.DrawFn) -> tuple[list[int], list[float]]:
    ids = draw(st.lists(st.integers(0, 30), max_size=12, unique=True))
    scores = sorted(
        draw(
            st.lists(
                st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.0])
                | st.floats(-5, 5, allow_nan=False, width=32),
                min_size=len(ids),
                max_size=len(ids),
            )
        ),
        reverse=True,
    )
    return ids, scores


rankings = st.lists(st.composite(_ranking)(), max_size=5)


def _scored(ranking: tuple[list[int], list[float]]) -> list[models.ScoredPoint]:
    return [models.ScoredPoint(id=i, version=0, score=s) for i, s in zip(*ranking, strict=True)]


@given(
    rankings,
    st.integers(0, 40),
    st.none() | st.integers(1, 100),
    st.booleans(),
    st.data(),
)
def test_rrf_agrees_with_qdrant_client(
    sources: list[tuple[list[int], list[float]]],
    limit: int,
    k: int | None,
    weighted: bool,
    data: st.DataObject,
) -> None:
    weights = None
    if weighted:
        weights = data.draw(
            st.lists(
                st.sampled_from([-1.0, 0.0, 0.5, 1.0, 3.0]),
                min_size=len(sources),
                max_size=len(sources),
            )
        )
    theirs = reciprocal_rank_fusion(
        [_scored(s) for s in sources], limit=limit, ranking_constant_k=k, weights=weights
    )
    ours = rrf(
        [ids for ids, _ in sources],
        limit=limit,
        k=DEFAULT_RRF_K if k is None else k,
        weights=weights,
    )
    assert ours == ([p.id for p in theirs], [p.score for p in theirs])


@given(rankings, st.integers(0, 40))
def test_dbsf_agrees_with_qdrant_client(
    sources: list[tuple[list[int], list[float]]], limit: int
) -> None:
    theirs = distribution_based_score_fusion([_scored(s) for s in sources], limit=limit)
    ours = dbsf(sources, limit=limit)
    assert ours == ([p.id for p in theirs], [p.score for p in theirs])
