"""The index against qdrant-client's local mode (`QdrantClient(":memory:")`) on the same data.

Local mode is Qdrant's own Python model of its semantics: plain dot product over shared indices,
`modifier: idf` with ln(1 + (N - n + 0.5) / (n + 0.5)) over the live points that hold the vector
(empty ones included). Its order among equal scores comes from an unstable `np.argsort`, so ids
are compared only where the score is not tied.
"""

from __future__ import annotations

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from tests.sparse.reference import random_batch
from zoro.sparse import SparseIndex

DIMS = 30
POINTS = 150


@pytest.fixture(scope="module")
def both() -> tuple[QdrantClient, SparseIndex, np.random.Generator]:
    rng = np.random.default_rng(5)
    batch = random_batch(rng, POINTS, DIMS, max_nnz=6)
    client = QdrantClient(":memory:")
    client.create_collection(
        "c",
        vectors_config={},
        sparse_vectors_config={
            "plain": models.SparseVectorParams(),
            "idf": models.SparseVectorParams(modifier=models.Modifier.IDF),
        },
    )
    points = []
    for i in range(POINTS):
        idx, val = batch.row(i)
        vector = models.SparseVector(indices=idx.tolist(), values=val.tolist())
        points.append(models.PointStruct(id=i, vector={"plain": vector, "idf": vector}))
    points.append(models.PointStruct(id=POINTS, vector={}))  # no sparse vector: not in N
    client.upsert("c", points)
    index = SparseIndex()
    index.add(np.arange(POINTS), batch)
    deleted = rng.choice(POINTS, size=20, replace=False).tolist()
    client.delete("c", points_selector=models.PointIdsList(points=deleted))
    index.remove(deleted)
    return client, index, rng


@pytest.mark.parametrize("mode", ["plain", "idf"])
def test_scores_and_untied_ids_agree(
    both: tuple[QdrantClient, SparseIndex, np.random.Generator], mode: str
) -> None:
    client, index, rng = both
    for _ in range(25):
        q_idx, q_val = random_batch(rng, 1, DIMS, max_nnz=6).row(0)
        limit = int(rng.integers(1, 40))
        query = models.SparseVector(indices=q_idx.tolist(), values=q_val.tolist())
        theirs = client.query_points("c", query=query, using=mode, limit=limit).points
        scores, slots = index.search(q_idx, q_val, limit, idf=mode == "idf")
        want = np.array([p.score for p in theirs])
        assert len(scores) == len(want)
        np.testing.assert_allclose(scores, want, rtol=1e-4, atol=1e-4)
        for i, point in enumerate(theirs):
            tied = np.abs(want - want[i]) <= 1e-4
            at_edge = tied[-1] and len(theirs) == limit  # the tie may go on past the limit
            if tied.sum() == 1 and not at_edge:
                assert slots[i] == point.id
        if not any(np.abs(want[-1:] - want[:-1]) <= 1e-4) and len(theirs) < limit:
            assert sorted(slots.tolist()) == sorted(p.id for p in theirs)


def test_local_mode_behaviours_we_copy() -> None:
    """Zero and negative scores match, no shared index never does, the empty query matches
    nothing, and N counts an empty vector: the facts the index's docstring relies on."""
    client = QdrantClient(":memory:")
    client.create_collection(
        "c",
        vectors_config={},
        sparse_vectors_config={"s": models.SparseVectorParams(modifier=models.Modifier.IDF)},
    )
    rows = [([1, 5], [2.0, 1.0]), ([1, 7], [-1.0, 3.0]), ([2], [1.0]), ([1], [0.0]), ([], [])]
    client.upsert(
        "c",
        [
            models.PointStruct(id=i, vector={"s": models.SparseVector(indices=a, values=b)})
            for i, (a, b) in enumerate(rows)
        ],
    )
    hits = client.query_points(
        "c", query=models.SparseVector(indices=[1], values=[1.0]), using="s", limit=10
    ).points
    n, df = 5, 3  # the empty vector (id 4) is a document; id 2 shares no index
    idf = float(np.log1p((n - df + 0.5) / (df + 0.5)))
    assert [(p.id, round(p.score, 5)) for p in hits] == [
        (0, round(2 * idf, 5)),
        (3, 0.0),
        (1, round(-idf, 5)),
    ]
    empty = client.query_points(
        "c", query=models.SparseVector(indices=[], values=[]), using="s", limit=10
    ).points
    assert empty == []
