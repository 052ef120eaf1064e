"""Qdrant's vector model against a real server, answer for answer with qdrant-client's local mode.

Local mode (`QdrantClient(":memory:")`) is Qdrant's own in-process reference: every request here
goes to both, and the answers must agree (ids in order, scores to float32 precision).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from tests.http.compare import same_hits
from zoro.testing import ServerProcess

DIM = 6
N = 120
_names = itertools.count()


@pytest.fixture(scope="module")
def clients(server: ServerProcess) -> Iterator[tuple[QdrantClient, QdrantClient]]:
    local = QdrantClient(":memory:")
    remote = QdrantClient(url=server.url, timeout=30)
    yield local, remote
    remote.close()
    local.close()


def _load(
    clients: tuple[QdrantClient, QdrantClient], distance: models.Distance, *, named: bool
) -> tuple[str, np.ndarray]:
    """The same points in both, the unnamed vector given as `{"": ...}` when `named`."""
    name = f"vm{next(_names)}"
    vectors = np.random.default_rng(7).normal(size=(N, DIM)).astype(np.float32)
    params = models.VectorParams(size=DIM, distance=distance)
    for client in clients:
        client.create_collection(
            name,
            vectors_config={"": params} if named else params,
            sparse_vectors_config={} if named else None,
        )
        client.upsert(
            name,
            [
                models.PointStruct(
                    id=i,
                    vector={"": v.tolist()} if named else v.tolist(),
                    payload={"group": i % 3},
                )
                for i, v in enumerate(vectors)
            ],
        )
    return name, vectors


def test_the_empty_name_is_the_unnamed_vector(
    clients: tuple[QdrantClient, QdrantClient], http: httpx.Client
) -> None:
    """What LangChain and LlamaIndex send: `vectors: {"": ...}`, `sparse_vectors: {}`,
    `vector: {"": [...]}`, `using: ""` and `with_vectors: [""]`."""
    name, vectors = _load(clients, models.Distance.COSINE, named=True)
    local, remote = clients
    q = (vectors[3] + 0.05).tolist()
    for using in (None, ""):
        answers = [
            c.query_points(name, q, using=using, limit=7, with_vectors=[""]).points for c in clients
        ]
        same_hits(*answers)
        for lp, rp in zip(*answers, strict=True):
            np.testing.assert_allclose(rp.vector, lp.vector, rtol=1e-5, atol=1e-6)
    got = [c.retrieve(name, [5, 9], with_vectors=[""]) for c in clients]
    for lp, rp in zip(*got, strict=True):
        assert rp.id == lp.id
        assert rp.payload == lp.payload
        np.testing.assert_allclose(rp.vector, lp.vector, rtol=1e-5, atol=1e-6)
    # the batch form, named; and the older search API's NamedVector
    for c in clients:
        c.upsert(name, models.Batch(ids=[1000], vectors={"": [vectors[0].tolist()]}))
    body = {"vector": {"name": "", "vector": q}, "limit": 4}
    r = http.post(f"/collections/{name}/points/search", json=body)
    assert r.status_code == 200, r.text
    assert [p["id"] for p in r.json()["result"]] == [
        p.id for p in local.query_points(name, q, limit=4).points
    ]
    assert remote.count(name).count == local.count(name).count == N + 1


@pytest.mark.parametrize(
    ("request_body", "text"),
    [
        ({"query": [0.0] * DIM, "using": "dense"}, "no vector named 'dense'"),
        ({"query": [0.0] * DIM, "with_vector": ["dense"]}, "no vector named 'dense'"),
        ({"query": {"nearest": [0.0] * DIM, "mmr": {"diversity": 1.5}}}, "mmr.diversity"),
        (
            {"query": {"nearest": [0.0] * DIM, "mmr": {"candidates_limit": 20_000}}},
            "candidates_limit",
        ),
    ],
)
def test_bad_vector_model_queries(
    http: httpx.Client, collection6: str, request_body: dict[str, Any], text: str
) -> None:
    r = http.post(f"/collections/{collection6}/points/query", json=request_body)
    assert r.status_code == 400, r.text
    assert text in r.json()["status"]["error"]


@pytest.mark.parametrize(
    ("point", "text"),
    [
        ({"id": 1, "vector": {"dense": [0.0] * DIM}}, "no vector named 'dense'"),
    ],
)
def test_bad_named_points(
    http: httpx.Client, collection6: str, point: dict[str, Any], text: str
) -> None:
    r = http.put(f"/collections/{collection6}/points", json={"points": [point]})
    assert r.status_code == 400, r.text
    assert text in r.json()["status"]["error"]
    assert http.post(f"/collections/{collection6}/points/count", json={}).json()["result"] == {
        "count": 0
    }


@pytest.fixture
def collection6(http: httpx.Client) -> str:
    name = f"c6_{next(_names)}"
    r = http.put(f"/collections/{name}", json={"vectors": {"": {"size": DIM, "distance": "Dot"}}})
    assert r.status_code == 200, r.text
    return name


@pytest.mark.parametrize("distance", list(models.Distance))
def test_mmr_matches_local_mode(
    clients: tuple[QdrantClient, QdrantClient], distance: models.Distance
) -> None:
    """Qdrant's MMR: the order it picks and the scores it keeps, for every distance, with
    filters, offsets, score thresholds and candidate limits below and above the limit."""
    name, _vectors = _load(clients, distance, named=False)
    rng = np.random.default_rng(3)
    cases: list[dict[str, Any]] = [
        {"diversity": d, "candidates_limit": c, "limit": lim, "offset": off}
        for d, c, lim, off in itertools.product(
            (None, 0.0, 0.3, 1.0), (None, 5, 40), (6, 10), (None, 2)
        )
    ]
    cases.append({"diversity": 0.5, "candidates_limit": 40, "limit": 5, "filter": True})
    cases.append({"diversity": 0.7, "candidates_limit": 30, "limit": 8, "threshold": True})
    for case in cases:
        q = rng.normal(size=DIM).astype(np.float32).tolist()
        query = models.NearestQuery(
            nearest=q,
            mmr=models.Mmr(diversity=case["diversity"], candidates_limit=case["candidates_limit"]),
        )
        flt = (
            models.Filter(
                must=[models.FieldCondition(key="group", match=models.MatchValue(value=1))]
            )
            if case.get("filter")
            else None
        )
        threshold = None
        if case.get("threshold"):
            plain = clients[0].query_points(name, q, limit=20).points
            threshold = (plain[12].score + plain[13].score) / 2  # clear of float32 rounding
        answers = [
            c.query_points(
                name,
                query,
                limit=case["limit"],
                offset=case.get("offset"),
                query_filter=flt,
                score_threshold=threshold,
            ).points
            for c in clients
        ]
        assert answers[0], case
        same_hits(*answers)


def test_mmr_breaks_ties_as_qdrant_does(clients: tuple[QdrantClient, QdrantClient]) -> None:
    """Equal relevance and equal MMR scores (duplicated vectors): the pick order follows
    Qdrant's core (the last maximum over candidates kept in swap-remove order)."""
    name = f"ties{next(_names)}"
    base = np.eye(DIM, dtype=np.float32)[:3]
    vectors = np.repeat(base, 4, axis=0)  # 12 points, 3 distinct vectors, 4 copies each
    for client in clients:
        client.create_collection(
            name, vectors_config=models.VectorParams(size=DIM, distance=models.Distance.DOT)
        )
        client.upsert(
            name,
            [models.PointStruct(id=i, vector=v.tolist()) for i, v in enumerate(vectors)],
        )
    q = np.full(DIM, 1.0, dtype=np.float32).tolist()  # every point equally relevant
    for diversity in (0.0, 0.5, 1.0):
        query = models.NearestQuery(
            nearest=q, mmr=models.Mmr(diversity=diversity, candidates_limit=12)
        )
        same_hits(*(c.query_points(name, query, limit=9).points for c in clients))
