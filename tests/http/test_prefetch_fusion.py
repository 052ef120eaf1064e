"""Qdrant's universal query with `prefetch` against a real server, answer for answer with
qdrant-client's local mode (`QdrantClient(":memory:")`, Qdrant's own in-process reference).

Ids must agree in order and scores to float32 precision. Fused scores tie often (two points at the
same rank of two sources earn the same RRF score); local mode orders such ties by the order in
which it first met the points (the prefetches in order, each best first), and so does Zoro, so
ties are compared in order too. The data is random, so plain similarity scores do not tie.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from zoro.testing import ServerProcess

DIM = 8
N = 200
_names = itertools.count()


@pytest.fixture(scope="module")
def clients(server: ServerProcess) -> Iterator[tuple[QdrantClient, QdrantClient]]:
    local = QdrantClient(":memory:")
    remote = QdrantClient(url=server.url, timeout=30)
    yield local, remote
    remote.close()
    local.close()


@pytest.fixture(scope="module")
def loaded(clients: tuple[QdrantClient, QdrantClient]) -> dict[models.Distance, str]:
    """One collection per distance, the same points in local mode and on the server."""
    rng = np.random.default_rng(11)
    vectors = rng.normal(size=(N, DIM)).astype(np.float32)
    names = {}
    for distance in models.Distance:
        name = f"pf{next(_names)}"
        for client in clients:
            client.create_collection(
                name, vectors_config=models.VectorParams(size=DIM, distance=distance)
            )
            client.upsert(
                name,
                [
                    models.PointStruct(
                        id=i,
                        vector=v.tolist(),
                        payload={"group": i % 3, "tag": ["a", "b", "c", "d"][i % 4]},
                    )
                    for i, v in enumerate(vectors)
                ],
            )
        names[distance] = name
    return names


def _q(seed: int) -> list[float]:
    return np.random.default_rng(seed).normal(size=DIM).astype(np.float32).tolist()


def _same(local: list[models.ScoredPoint], remote: list[models.ScoredPoint]) -> None:
    assert [p.id for p in remote] == [p.id for p in local]
    np.testing.assert_allclose(
        [p.score for p in remote], [p.score for p in local], rtol=1e-5, atol=1e-6
    )


def _both(clients: tuple[QdrantClient, QdrantClient], name: str, **query: Any) -> None:
    local, remote = (c.query_points(name, **query).points for c in clients)
    assert local, query  # a case that answers nothing proves little
    _same(local, remote)


def _group(value: int) -> models.Filter:
    return models.Filter(
        must=[models.FieldCondition(key="group", match=models.MatchValue(value=value))]
    )


def _two(limit: int = 20) -> list[models.Prefetch]:
    return [
        models.Prefetch(query=_q(1), limit=limit),
        models.Prefetch(query=_q(2), limit=limit),
    ]


ALL = list(models.Distance)


@pytest.mark.parametrize("distance", ALL)
def test_rrf(
    clients: tuple[QdrantClient, QdrantClient], loaded: dict[Any, str], distance: Any
) -> None:
    for limit in (1, 10, 35):
        _both(
            clients,
            loaded[distance],
            prefetch=_two(),
            query=models.FusionQuery(fusion=models.Fusion.RRF),
            limit=limit,
        )


@pytest.mark.parametrize("distance", ALL)
def test_rrf_with_k_and_weights(
    clients: tuple[QdrantClient, QdrantClient], loaded: dict[Any, str], distance: Any
) -> None:
    name = loaded[distance]
    for k, weights in itertools.product(
        (1, 5, 60, None), (None, [1.0, 3.0], [0.0, 1.0], [-2, 0.5])
    ):
        _both(
            clients,
            name,
            prefetch=_two(15),
            query=models.RrfQuery(rrf=models.Rrf(k=k, weights=weights)),
            limit=12,
        )


@pytest.mark.parametrize("distance", ALL)
def test_dbsf(
    clients: tuple[QdrantClient, QdrantClient], loaded: dict[Any, str], distance: Any
) -> None:
    name = loaded[distance]
    dbsf = models.FusionQuery(fusion=models.Fusion.DBSF)
    _both(clients, name, prefetch=_two(), query=dbsf, limit=10)
    # a source of one point (normalised to 0.5) and three sources
    _both(
        clients,
        name,
        prefetch=[*_two(7), models.Prefetch(query=_q(3), limit=1)],
        query=dbsf,
        limit=15,
    )


@pytest.mark.parametrize("distance", ALL)
def test_nested_prefetch(
    clients: tuple[QdrantClient, QdrantClient], loaded: dict[Any, str], distance: Any
) -> None:
    name = loaded[distance]
    inner = models.Prefetch(prefetch=_two(25), query=models.RrfQuery(rrf=models.Rrf(k=3)), limit=15)
    deeper = models.Prefetch(
        prefetch=models.Prefetch(
            prefetch=[models.Prefetch(query=_q(4), limit=30), models.Prefetch(query=_q(5))],
            query=models.FusionQuery(fusion=models.Fusion.DBSF),
            limit=20,
        ),
        query=_q(6),  # rescoring the fused candidates
        limit=12,
    )
    for top in (
        models.FusionQuery(fusion=models.Fusion.DBSF),
        models.FusionQuery(fusion=models.Fusion.RRF),
    ):
        _both(clients, name, prefetch=[inner, deeper], query=top, limit=10)
    # one prefetch object (not a list) as the only source
    _both(clients, name, prefetch=inner, query=models.FusionQuery(fusion=models.Fusion.RRF))


@pytest.mark.parametrize("distance", ALL)
def test_filters_and_thresholds(
    clients: tuple[QdrantClient, QdrantClient], loaded: dict[Any, str], distance: Any
) -> None:
    name = loaded[distance]
    local = clients[0]
    plain = local.query_points(name, _q(1), limit=40).points
    threshold = (plain[25].score + plain[26].score) / 2  # clear of float32 rounding
    prefetch = [
        models.Prefetch(query=_q(1), limit=30, filter=_group(1), score_threshold=threshold),
        models.Prefetch(
            query=_q(2),
            limit=30,
            filter=models.Filter(
                should=[models.FieldCondition(key="tag", match=models.MatchAny(any=["a", "b"]))]
            ),
        ),
    ]
    rrf = models.FusionQuery(fusion=models.Fusion.RRF)
    _both(clients, name, prefetch=prefetch, query=rrf, limit=20)
    # the top-level filter reaches every prefetch (before its limit); `should` clauses of two
    # levels become alternatives of one another, as Qdrant merges them
    top = models.Filter(
        must_not=[models.FieldCondition(key="group", match=models.MatchValue(value=2))],
        should=[models.FieldCondition(key="tag", match=models.MatchValue(value="c"))],
    )
    _both(clients, name, prefetch=prefetch, query=rrf, query_filter=top, limit=20)
    # a threshold on the fused score
    _both(clients, name, prefetch=prefetch, query=rrf, score_threshold=0.3, limit=20)
    dbsf = models.FusionQuery(fusion=models.Fusion.DBSF)
    _both(clients, name, prefetch=prefetch, query=dbsf, score_threshold=0.6, limit=20)


@pytest.mark.parametrize("distance", ALL)
def test_rescoring_with_a_nearest_query(
    clients: tuple[QdrantClient, QdrantClient], loaded: dict[Any, str], distance: Any
) -> None:
    name = loaded[distance]
    prefetch = [
        models.Prefetch(query=_q(1), limit=25, filter=_group(0)),
        models.Prefetch(query=_q(2), limit=25),
    ]
    _both(clients, name, prefetch=prefetch, query=_q(3), limit=10)
    _both(clients, name, prefetch=prefetch, query=_q(3), limit=10, offset=4)
    _both(clients, name, prefetch=prefetch, query=_q(3), limit=50, query_filter=_group(1))
    ranked = clients[0].query_points(name, prefetch=prefetch, query=_q(3), limit=30).points
    threshold = (ranked[12].score + ranked[13].score) / 2
    _both(clients, name, prefetch=prefetch, query=_q(3), limit=30, score_threshold=threshold)
    # by point id: that point is left out of the prefetches too
    _both(clients, name, prefetch=prefetch, query=7, limit=10)
    _both(clients, name, prefetch=models.Prefetch(query=7, limit=15), query=_q(1), limit=10)
    # MMR over the candidates
    mmr = models.NearestQuery(nearest=_q(3), mmr=models.Mmr(diversity=0.6, candidates_limit=30))
    _both(clients, name, prefetch=prefetch, query=mmr, limit=8, offset=1)
    # MMR in a prefetch, a query by id in a middle node (its point is left out below it too),
    # and a threshold on a nested rescoring
    diverse = models.NearestQuery(nearest=_q(4), mmr=models.Mmr(diversity=0.3))
    middle = models.Prefetch(
        prefetch=[models.Prefetch(query=diverse, limit=12), *prefetch], query=11, limit=20
    )
    _both(clients, name, prefetch=middle, query=models.FusionQuery(fusion=models.Fusion.RRF))
    scored = clients[0].query_points(name, prefetch=prefetch, query=_q(5), limit=30).points
    cut = (scored[9].score + scored[10].score) / 2
    rescored = models.Prefetch(prefetch=prefetch, query=_q(5), limit=30, score_threshold=cut)
    _both(clients, name, prefetch=[rescored, models.Prefetch(query=_q(6))], query=_q(7), limit=40)


def test_a_prefetch_without_a_query_lists_points_by_id(
    clients: tuple[QdrantClient, QdrantClient], loaded: dict[Any, str]
) -> None:
    """A query-less prefetch without prefetches of its own: the first points by id that pass
    its filter (and the top-level one), each scored 1.0."""
    name = loaded[models.Distance.COSINE]
    rrf = models.FusionQuery(fusion=models.Fusion.RRF)
    _both(
        clients,
        name,
        prefetch=[models.Prefetch(filter=_group(1), limit=6), models.Prefetch(query=_q(1))],
        query=rrf,
    )
    _both(
        clients,
        name,
        prefetch=[models.Prefetch(limit=6), models.Prefetch()],
        query=_q(2),
        query_filter=_group(2),
        limit=4,
    )


def test_offset_and_the_answer_shape(
    clients: tuple[QdrantClient, QdrantClient], loaded: dict[Any, str]
) -> None:
    name = loaded[models.Distance.DOT]
    rrf = models.FusionQuery(fusion=models.Fusion.RRF)
    for offset in (0, 3, 30, 100):
        local, remote = (
            c.query_points(
                name,
                prefetch=_two(),
                query=rrf,
                limit=8,
                offset=offset,
                with_payload=["group"],
                with_vectors=True,
            ).points
            for c in clients
        )
        _same(local, remote)
        for lp, rp in zip(local, remote, strict=True):
            assert rp.payload == lp.payload == {"group": lp.payload["group"]}  # type: ignore[index]
            np.testing.assert_allclose(rp.vector, lp.vector, rtol=1e-6)  # type: ignore[arg-type]
    remote = clients[1].query_points(name, prefetch=_two(), query=rrf, with_payload=False)
    assert all(p.payload is None and p.vector is None for p in remote.points)


def test_query_batch_with_prefetch(
    clients: tuple[QdrantClient, QdrantClient], loaded: dict[Any, str]
) -> None:
    name = loaded[models.Distance.EUCLID]
    requests = [
        models.QueryRequest(query=_q(1), limit=5),
        models.QueryRequest(
            prefetch=_two(), query=models.FusionQuery(fusion=models.Fusion.RRF), limit=7
        ),
        models.QueryRequest(query=_q(2), limit=4, filter=_group(0)),
        models.QueryRequest(
            prefetch=_two(), query=models.FusionQuery(fusion=models.Fusion.DBSF), offset=2
        ),
        models.QueryRequest(prefetch=_two(), query=_q(3), limit=6, with_payload=True),
    ]
    local, remote = (c.query_batch_points(name, requests) for c in clients)
    assert len(local) == len(remote) == len(requests)
    for lr, rr in zip(local, remote, strict=True):
        _same(lr.points, rr.points)
        assert [p.payload for p in rr.points] == [p.payload for p in lr.points]


def test_an_empty_prefetch_list_is_a_plain_query(
    http: httpx.Client, loaded: dict[Any, str]
) -> None:
    name = loaded[models.Distance.COSINE]
    plain = http.post(f"/collections/{name}/points/query", json={"query": _q(1), "limit": 5})
    empty = http.post(
        f"/collections/{name}/points/query", json={"query": _q(1), "limit": 5, "prefetch": []}
    )
    assert empty.status_code == plain.status_code == 200
    assert empty.json()["result"] == plain.json()["result"]


RRF = {"fusion": "rrf"}


@pytest.mark.filterwarnings("ignore:Local mode performs exact .brute-force. search")
def test_large_fusions_run_in_a_worker_thread(clients: tuple[QdrantClient, QdrantClient]) -> None:
    """Sources of more than 4096 points in all are fused off the event loop: same answer."""
    name = f"pf_big{next(_names)}"
    vectors = np.random.default_rng(5).normal(size=(2100, DIM)).astype(np.float32)
    for client in clients:
        client.create_collection(
            name, vectors_config=models.VectorParams(size=DIM, distance=models.Distance.DOT)
        )
        client.upload_collection(name, vectors, ids=range(len(vectors)), batch_size=1000)
    exact = models.SearchParams(exact=True)
    prefetch = [models.Prefetch(query=_q(s), limit=2100, params=exact) for s in (1, 2)]
    for fused in (models.Fusion.RRF, models.Fusion.DBSF):
        _both(clients, name, prefetch=prefetch, query=models.FusionQuery(fusion=fused), limit=50)


def test_search_params_in_prefetches(http: httpx.Client, loaded: dict[Any, str]) -> None:
    """`params` (hnsw_ef, exact) apply to the prefetch they are in; on this small collection
    every search is exact, so the answer is the same without them."""
    name = loaded[models.Distance.DOT]
    plain = [{"query": _q(1), "limit": 15}, {"query": _q(2), "limit": 15}]
    tuned = [
        {**plain[0], "params": {"hnsw_ef": 64}},
        {**plain[1], "params": {"exact": True}},
    ]
    answers = [
        http.post(
            f"/collections/{name}/points/query",
            json={"prefetch": p, "query": {"rrf": {"k": 4}}, "params": {"exact": True}},
        )
        for p in (plain, tuned)
    ]
    assert [r.status_code for r in answers] == [200, 200], answers[1].text
    assert answers[0].json()["result"] == answers[1].json()["result"]


def _deep(levels: int) -> dict[str, Any]:
    node: dict[str, Any] = {"query": [0.0] * DIM}
    for _ in range(levels):
        node = {"prefetch": node, "query": {"fusion": "rrf"}}
    return node


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"prefetch": {"query": [0.0] * DIM}, "query": {"fusion": "max"}}, "body.query.fusion"),
        ({"query": {"fusion": "rrf"}}, "body.query: fusion needs prefetches"),
        ({"prefetch": {"query": [0.0] * DIM}}, "body.query: missing; a query is needed"),
        (
            {"prefetch": {"prefetch": {"query": [0.0] * DIM}}, "query": [0.0] * DIM},
            "body.prefetch.query: missing",
        ),
        (
            {"prefetch": {"score_threshold": 0.5}, "query": [0.0] * DIM},
            "body.prefetch.score_threshold: needs a query",
        ),
        ({"prefetch": 3, "query": {"fusion": "rrf"}}, "body.prefetch: must be a prefetch"),
        (
            {"prefetch": [{"query": [0.0] * DIM}, 4], "query": RRF},
            "body.prefetch[1]: must be a JSON object",
        ),
        (
            {"prefetch": [{"query": [0.0] * DIM, "offset": 3}], "query": RRF},
            "body.prefetch[0]: unknown field(s) 'offset'",
        ),
        (
            {"prefetch": [{"query": [0.0] * 3}], "query": RRF},
            "body.prefetch[0].query: expected dimension",
        ),
        (
            {"prefetch": [{"query": [0.0] * DIM, "limit": 0}], "query": RRF},
            "body.prefetch[0].limit",
        ),
        (
            {"prefetch": [{"prefetch": {"query": RRF}, "query": RRF}], "query": RRF},
            "body.prefetch[0].prefetch.query: fusion needs prefetches",
        ),
        (
            {"prefetch": [{"query": [0.0] * DIM, "using": "dense"}], "query": RRF},
            "body.prefetch[0].using: no vector named 'dense'",
        ),
        (
            {"prefetch": [{"query": [0.0] * DIM, "filter": {"must": [{"key": 3}]}}], "query": RRF},
            "body.prefetch[0].filter.must[0].key",
        ),
        (
            {"prefetch": [{"query": [0.0] * DIM}], "query": {"rrf": {"k": 0}}},
            "body.query.rrf.k",
        ),
        (
            {"prefetch": [{"query": [0.0] * DIM}], "query": {"rrf": {"weights": [1, 2]}}},
            "2 weights for 1 prefetches",
        ),
        (
            {"prefetch": [{"query": [0.0] * DIM}], "query": {"rrf": {"kk": 1}}},
            "body.query.rrf: unknown field(s) 'kk'",
        ),
        (
            {"prefetch": [{"query": [0.0] * DIM}], "query": {"formula": {"sum": []}}},
            "body.query: must be a vector, a point id, or one of the query objects",
        ),
        ({"prefetch": [{"query": 10**9}], "query": {"fusion": "rrf"}}, "No point with id"),
        (_deep(10), "nest at most 8 levels"),
        (
            {"prefetch": [{"query": [0.0] * DIM, "limit": 10_000}] * 6, "query": RRF},
            "add up to more than 50000 candidates",
        ),
        ({"prefetch": [{"query": [0.0] * DIM}] * 70, "query": RRF}, "at most 64 prefetches"),
        (
            {
                "prefetch": [{"query": [0.0] * DIM, "lookup_from": {"collection": "x"}}],
                "query": RRF,
            },
            "lookup_from.collection: Collection `x` doesn't exist",
        ),
    ],
)
def test_bad_prefetches(
    http: httpx.Client, loaded: dict[Any, str], body: dict[str, Any], text: str
) -> None:
    name = loaded[models.Distance.COSINE]
    r = http.post(f"/collections/{name}/points/query", json=body)
    assert r.status_code in (400, 404), r.text
    assert text in r.json()["status"]["error"]
    batch = http.post(
        f"/collections/{name}/points/query/batch", json={"searches": [{"query": [0.0] * DIM}, body]}
    )
    assert batch.status_code in (400, 404), batch.text


def test_the_deepest_tree_allowed_runs(http: httpx.Client, loaded: dict[Any, str]) -> None:
    name = loaded[models.Distance.COSINE]
    r = http.post(f"/collections/{name}/points/query", json=_deep(9))
    assert r.status_code == 200, r.text
    assert len(r.json()["result"]["points"]) == 10


def test_a_bad_search_in_a_batch_is_named(http: httpx.Client, loaded: dict[Any, str]) -> None:
    name = loaded[models.Distance.COSINE]
    body = {
        "searches": [
            {"query": [0.0] * DIM},
            {"prefetch": [{"query": [0.0] * DIM}, {"query": "x"}], "query": {"fusion": "rrf"}},
        ]
    }
    r = http.post(f"/collections/{name}/points/query/batch", json=body)
    assert r.status_code == 400, r.text
    assert "searches[1].prefetch[1].query" in r.json()["status"]["error"]
