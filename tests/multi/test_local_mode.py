"""MultiIndex against qdrant-client's local mode (`QdrantClient(":memory:")`) on the same data:
the same ids in the same order and the same scores, for the four distances, after deletes,
with a payload filter on their side and the same slots as `allowed` on ours, on the exact path
and on the graph path (asked for more candidates than there are rows, so that it must agree
too: this checks its plumbing, test_recall.py its approximation).

Local mode is Qdrant's Python model of MaxSim (qdrant_client/local/multi_distances.py): the
sum over query rows of the best similarity, squared L2 for Euclid reported as sqrt(|sum|), L1
for Manhattan reported as |sum|; Cosine in float64 over normalised rows. Its order among equal
scores comes from an unstable argsort, so ids are compared where the score is not tied.
"""

from __future__ import annotations

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from tests.multi.reference import random_docs, split
from zoro.multi import MultiIndex, MultiSettings
from zoro.types import Distance

DIM = 16
POINTS = 300


def _both(distance: Distance, seed: int) -> tuple[QdrantClient, MultiIndex, np.ndarray]:
    rng = np.random.default_rng(seed)
    counts, rows = random_docs(rng, POINTS, DIM, max_rows=8)
    client = QdrantClient(":memory:")
    client.create_collection(
        "c",
        vectors_config={
            "colbert": models.VectorParams(
                size=DIM,
                distance=models.Distance(distance.value),
                multivector_config=models.MultiVectorConfig(
                    comparator=models.MultiVectorComparator.MAX_SIM
                ),
            )
        },
    )
    client.upsert(
        "c",
        [
            models.PointStruct(id=i, vector={"colbert": m.tolist()}, payload={"g": i % 3})
            for i, m in enumerate(split(counts, rows))
        ],
    )
    settings = MultiSettings(candidates_per_row=4096, exact_filtered_rows=0)
    index = MultiIndex(DIM, distance, settings)
    index.add(np.arange(POINTS), counts, rows)
    deleted = rng.choice(POINTS, size=40, replace=False)
    client.delete("c", points_selector=models.PointIdsList(points=deleted.tolist()))
    index.remove(deleted)
    allowed = np.arange(POINTS) % 3 == 0
    return client, index, allowed


def _compare(theirs: list[models.ScoredPoint], scores: np.ndarray, slots: np.ndarray) -> None:
    want = np.array([p.score for p in theirs])
    assert len(scores) == len(want)
    np.testing.assert_allclose(scores, want, rtol=1e-4, atol=1e-4)
    for i, point in enumerate(theirs):
        tied = np.abs(want - want[i]) <= 1e-4
        if tied.sum() == 1:
            assert slots[i] == point.id


@pytest.mark.parametrize("distance", list(Distance))
def test_scores_and_order_agree_with_local_mode(distance: Distance) -> None:
    client, index, allowed = _both(distance, seed=list(Distance).index(distance))
    rng = np.random.default_rng(1)
    graph = index.graph_supported
    for round_ in range(2 if graph else 1):
        if round_ == 1:
            index.build_graph()
        for _ in range(8):
            query = rng.normal(size=(int(rng.integers(1, 6)), DIM)).astype(np.float32)
            limit = int(rng.integers(1, 30))
            theirs = client.query_points("c", query=query.tolist(), using="colbert", limit=limit)
            _compare(theirs.points, *index.search(query, limit, exact=round_ == 0))
            only = models.Filter(
                must=[models.FieldCondition(key="g", match=models.MatchValue(value=0))]
            )
            theirs = client.query_points(
                "c", query=query.tolist(), using="colbert", limit=limit, query_filter=only
            )
            _compare(theirs.points, *index.search(query, limit, allowed=allowed))
