"""zoro.services.examples' scoring without a server: every formula against qdrant-client local
mode's own (qdrant_client.local.distances) on random data, for every distance; and a query by
examples scored in worker threads, chunk by chunk, as inline."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pytest
from qdrant_client import models
from qdrant_client.local import distances as local

from zoro.services import examples, prefetch
from zoro.types import DenseSpec, Distance

if TYPE_CHECKING:
    from zoro.actors import CollectionActor

DIM = 6
_LOCAL = {
    Distance.COSINE: models.Distance.COSINE,
    Distance.DOT: models.Distance.DOT,
    Distance.EUCLID: models.Distance.EUCLID,
    Distance.MANHATTAN: models.Distance.MANHATTAN,
}


def _rows(seed: int, n: int) -> np.ndarray[Any, Any]:
    return np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)


@pytest.mark.parametrize("distance", list(Distance))
@pytest.mark.parametrize("counts", [(1, 0), (0, 2), (3, 2)])
def test_recommend_scores_match_local_mode(distance: Distance, counts: tuple[int, int]) -> None:
    stored = examples.unit(_rows(1, 200), distance)  # as the store keeps them
    positive, negative = _rows(2, counts[0]), _rows(3, counts[1])
    for kind, strategy, score in (
        ("best_score", models.RecommendStrategy.BEST_SCORE, local.calculate_recommend_best_scores),
        ("sum_scores", models.RecommendStrategy.SUM_SCORES, local.calculate_recommend_sum_scores),
    ):
        ours = examples.Examples(
            kind,  # type: ignore[arg-type]
            distance,
            examples.unit(positive, distance),
            examples.unit(negative, distance),
        ).scores(stored)
        query = local.RecoQuery(positive.tolist(), negative.tolist(), strategy)
        theirs = score(query, stored.copy(), _LOCAL[distance])
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("distance", list(Distance))
def test_discover_and_context_scores_match_local_mode(distance: Distance) -> None:
    stored = examples.unit(_rows(4, 200), distance)
    positive, negative, target = _rows(5, 3), _rows(6, 3), _rows(7, 1)[0]
    pairs = [
        local.ContextPair(p.tolist(), n.tolist()) for p, n in zip(positive, negative, strict=True)
    ]
    unit_pos, unit_neg = examples.unit(positive, distance), examples.unit(negative, distance)
    discover = examples.Examples(
        "discover", distance, unit_pos, unit_neg, examples.unit(target[None, :], distance)[0]
    )
    theirs = local.calculate_discovery_scores(
        local.DiscoveryQuery(target.tolist(), pairs), stored.copy(), _LOCAL[distance]
    )
    np.testing.assert_allclose(discover.scores(stored), theirs, rtol=1e-5, atol=1e-5)
    context = examples.Examples("context", distance, unit_pos, unit_neg)
    theirs = local.calculate_context_scores(
        local.ContextQuery(pairs), stored.copy(), _LOCAL[distance]
    )
    np.testing.assert_allclose(context.scores(stored), theirs, rtol=1e-5, atol=1e-5)


class _Vectors:
    def __init__(self, rows: np.ndarray[Any, Any]) -> None:
        self.rows = rows

    def vectors_of_slots(self, slots: np.ndarray[Any, Any], number: int) -> np.ndarray[Any, Any]:
        return self.rows[slots]


async def test_many_examples_are_scored_in_threads_as_inline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stored = _rows(8, 500)
    query = examples.Examples("sum_scores", Distance.DOT, _rows(9, 40), _rows(10, 30))
    run = prefetch._Run(cast("CollectionActor", _Vectors(stored)))
    slots = np.arange(500, dtype=np.int64)
    using = DenseSpec(0, DIM, Distance.DOT)
    inline = await run.scores(using, slots, query.scores, 71)
    threads: list[int] = []
    real = prefetch.trio.to_thread.run_sync

    async def counted(work: Any, *args: Any) -> Any:
        threads.append(len(args[0]))
        return await real(work, *args)

    monkeypatch.setattr(prefetch, "_RESCORE_CHUNK_FLOATS", 77 * 64)  # 64 rows a chunk
    monkeypatch.setattr(prefetch, "_INLINE_SCORE_WORK", 64 * 71 * DIM - 1)
    monkeypatch.setattr(prefetch.trio.to_thread, "run_sync", counted)
    threaded = await run.scores(using, slots, query.scores, 71)
    assert threads == [64] * 7 + [52]
    np.testing.assert_array_equal(threaded, inline)


@pytest.mark.parametrize("distance", [Distance.DOT, Distance.COSINE])
def test_sum_scores_for_dot_and_cosine_is_one_scaled_vector(distance: Distance) -> None:
    """The sum of dot products with the examples is the dot product with their sum: searched
    as one vector (unit for Cosine, as the index searches), times its length."""
    spec = DenseSpec(0, DIM, distance)
    source = examples.Lookup(cast("CollectionActor", None), spec, same=True)
    positive, negative = _rows(11, 3), _rows(12, 2)
    body = {"positive": positive.tolist(), "negative": negative.tolist(), "strategy": "sum_scores"}
    summed = examples.recommend(source, spec, body, "q", [])
    assert isinstance(summed, examples.Summed)
    stored = examples.unit(_rows(13, 100), distance)
    full = examples.Examples(
        "sum_scores", distance, examples.unit(positive, distance), examples.unit(negative, distance)
    )
    np.testing.assert_allclose(
        stored @ summed.vector[0] * summed.scale, full.scores(stored), rtol=1e-5, atol=1e-5
    )
    if distance is Distance.COSINE:
        assert np.linalg.norm(summed.vector) == pytest.approx(1.0)
