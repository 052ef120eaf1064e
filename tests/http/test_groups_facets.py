"""Groups, facets and the distance matrix against a real server, answer for answer with
qdrant-client's local mode (`QdrantClient(":memory:")`) on the same points.

The payload keys are chosen to drive every path of the grouping: `s` (a keyword index: groups
are filled by a filtered ranking), `g` (no index: the ranking widens), `rare` (few points hold
it, one each: only an exhausted ranking can finish its groups), `multi` (arrays: a point joins
several groups), `bad` (a float in some points: those join no group).
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

DIM = 8
N = 1500
_names = itertools.count()


def _payload(i: int) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "g": i % 97,
        "s": f"s{i % 50}",
        "multi": [f"m{i % 7}", f"m{(i * 3) % 11}"],
        "bad": 1.5 if i % 5 == 0 else i % 13,
        "flag": i % 3 == 0,
    }
    if i % 300 == 0:
        payload["rare"] = f"r{i}"
    return payload


@pytest.fixture(scope="module")
def clients(server: ServerProcess) -> Iterator[tuple[QdrantClient, QdrantClient]]:
    local = QdrantClient(":memory:")
    remote = QdrantClient(url=server.url, timeout=30)
    yield local, remote
    remote.close()
    local.close()


@pytest.fixture(scope="module")
def loaded(clients: tuple[QdrantClient, QdrantClient]) -> dict[models.Distance, str]:
    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(N, DIM)).astype(np.float32)
    names = {}
    for distance in models.Distance:
        name = f"gr{next(_names)}"
        for client in clients:
            client.create_collection(
                name, vectors_config=models.VectorParams(size=DIM, distance=distance)
            )
            client.upsert(
                name,
                [
                    models.PointStruct(id=i, vector=v.tolist(), payload=_payload(i))
                    for i, v in enumerate(vectors)
                ],
            )
        remote = clients[1]
        for key, schema in (
            ("s", models.PayloadSchemaType.KEYWORD),
            ("multi", models.PayloadSchemaType.KEYWORD),
            ("flag", models.PayloadSchemaType.BOOL),
            ("bad", models.PayloadSchemaType.INTEGER),
        ):
            remote.create_payload_index(name, key, schema, wait=True)
        names[distance] = name
    return names


def _q(seed: int) -> list[float]:
    return np.random.default_rng(seed).normal(size=DIM).astype(np.float32).tolist()


def _same_groups(local: models.GroupsResult, remote: models.GroupsResult) -> None:
    assert [g.id for g in remote.groups] == [g.id for g in local.groups]
    for lg, rg in zip(local.groups, remote.groups, strict=True):
        same_hits(lg.hits, rg.hits)
        assert [h.payload for h in rg.hits] == [h.payload for h in lg.hits]


def _both(clients: tuple[QdrantClient, QdrantClient], name: str, **query: Any) -> None:
    local, remote = (c.query_points_groups(name, **query) for c in clients)
    assert local.groups, query  # a case that answers nothing proves little
    _same_groups(local, remote)


@pytest.mark.parametrize("distance", list(models.Distance))
@pytest.mark.parametrize("key", ["s", "g", "rare", "multi", "bad"])
def test_groups_match_local_mode(
    clients: tuple[QdrantClient, QdrantClient], loaded: dict[Any, str], distance: Any, key: str
) -> None:
    name = loaded[distance]
    for seed, (limit, size) in enumerate([(10, 3), (3, 1), (5, 12), (40, 2)]):
        _both(clients, name, query=_q(seed), group_by=key, limit=limit, group_size=size)


def test_groups_with_filter_threshold_and_payload(
    clients: tuple[QdrantClient, QdrantClient], loaded: dict[Any, str]
) -> None:
    name = loaded[models.Distance.COSINE]
    flag = models.Filter(
        must=[models.FieldCondition(key="flag", match=models.MatchValue(value=True))]
    )
    for key in ("s", "g"):
        _both(clients, name, query=_q(7), group_by=key, query_filter=flag, group_size=4)
        _both(clients, name, query=_q(8), group_by=key, score_threshold=0.2, limit=30)
        _both(
            clients,
            name,
            query=_q(9),
            group_by=key,
            with_payload=models.PayloadSelectorInclude(include=["s"]),
        )
    # by point id: the point itself is left out
    _both(clients, name, query=17, group_by="s", group_size=2)


def test_groups_with_prefetch(
    clients: tuple[QdrantClient, QdrantClient], loaded: dict[Any, str]
) -> None:
    name = loaded[models.Distance.DOT]
    # each prefetch ranks `limit` times its own limit: large enough here to hold every point
    prefetch = [
        models.Prefetch(query=_q(1), limit=N // 5),
        models.Prefetch(query=_q(2), limit=N // 5),
    ]
    _both(clients, name, prefetch=prefetch, query=_q(3), group_by="s", limit=5, group_size=3)
    fused = models.FusionQuery(fusion=models.Fusion.RRF)
    _both(clients, name, prefetch=prefetch, query=fused, group_by="g", limit=5, group_size=2)


def test_groups_with_lookup(
    clients: tuple[QdrantClient, QdrantClient], loaded: dict[Any, str]
) -> None:
    name = loaded[models.Distance.EUCLID]
    lookup = f"lk{next(_names)}"
    for client in clients:
        client.create_collection(lookup, vectors_config=models.VectorParams(size=2, distance="Dot"))
        client.upsert(
            lookup,
            [
                models.PointStruct(id=i, vector=[1.0, float(i)], payload={"title": f"t{i}"})
                for i in range(0, 97, 2)
            ],
        )
    for with_lookup in (
        lookup,
        models.WithLookup(collection=lookup, with_payload=False, with_vectors=True),
    ):
        local, remote = (
            c.query_points_groups(name, query=_q(4), group_by="g", with_lookup=with_lookup)
            for c in clients
        )
        _same_groups(local, remote)
        assert any(g.lookup is None for g in remote.groups)  # odd group ids have no point
        for lg, rg in zip(local.groups, remote.groups, strict=True):
            assert (rg.lookup is None) == (lg.lookup is None)
            if rg.lookup is not None and lg.lookup is not None:
                assert rg.lookup.id == lg.lookup.id
                assert rg.lookup.payload == lg.lookup.payload
                assert rg.lookup.vector == lg.lookup.vector


def test_search_groups_route(
    clients: tuple[QdrantClient, QdrantClient], loaded: dict[Any, str], http: httpx.Client
) -> None:
    """The older route answers as the query API with the same vector."""
    name = loaded[models.Distance.COSINE]
    local = clients[0].query_points_groups(
        name, query=_q(5), group_by="s", limit=4, group_size=2, with_payload=False
    )
    r = http.post(
        f"/collections/{name}/points/search/groups",
        json={"vector": _q(5), "group_by": "s", "limit": 4, "group_size": 2},
    )
    assert r.status_code == 200, r.text
    _same_groups(local, models.GroupsResult(**r.json()["result"]))


def test_groups_see_writes(clients: tuple[QdrantClient, QdrantClient]) -> None:
    """Deleted and overwritten points leave their groups."""
    name = f"gw{next(_names)}"
    rng = np.random.default_rng(3)
    points = [
        models.PointStruct(id=i, vector=rng.normal(size=4).tolist(), payload={"k": f"v{i % 4}"})
        for i in range(40)
    ]
    for client in clients:
        client.create_collection(name, vectors_config=models.VectorParams(size=4, distance="Dot"))
        client.upsert(name, points)
    clients[1].create_payload_index(name, "k", models.PayloadSchemaType.KEYWORD, wait=True)
    for client in clients:
        client.delete(name, models.PointIdsList(points=list(range(0, 40, 3))))
        client.upsert(name, [models.PointStruct(id=1, vector=[1, 0, 0, 0], payload={"k": "moved"})])
    _both(clients, name, query=[1.0, 0.5, 0.0, 0.2], group_by="k", group_size=20)


# --- facets ---------------------------------------------------------------------------------


def _same_facet(
    clients: tuple[QdrantClient, QdrantClient], name: str, key: str, **kwargs: Any
) -> None:
    local, remote = (c.facet(name, key, **kwargs) for c in clients)
    assert local.hits, (key, kwargs)
    assert [(h.value, h.count) for h in remote.hits] == [(h.value, h.count) for h in local.hits]


@pytest.mark.parametrize("exact", [False, True])
def test_facets_match_local_mode(
    clients: tuple[QdrantClient, QdrantClient], loaded: dict[Any, str], exact: bool
) -> None:
    name = loaded[models.Distance.COSINE]
    flag = models.Filter(
        must=[models.FieldCondition(key="flag", match=models.MatchValue(value=True))]
    )
    for key in ("s", "multi", "flag", "bad"):
        for limit in (1, 3, 10, 100):
            _same_facet(clients, name, key, limit=limit, exact=exact)
        _same_facet(clients, name, key, facet_filter=flag, exact=exact)


def test_facets_count_only_live_points(clients: tuple[QdrantClient, QdrantClient]) -> None:
    name = f"fc{next(_names)}"
    for client in clients:
        client.create_collection(name, vectors_config=models.VectorParams(size=2, distance="Dot"))
        client.upsert(
            name,
            [
                models.PointStruct(id=i, vector=[1, 0], payload={"k": f"v{i % 3}", "n": i % 4})
                for i in range(30)
            ],
        )
    clients[1].create_payload_index(name, "k", models.PayloadSchemaType.KEYWORD, wait=True)
    clients[1].create_payload_index(name, "n", models.PayloadSchemaType.INTEGER, wait=True)
    for client in clients:
        client.delete(name, models.PointIdsList(points=[0, 3, 6, 9]))
        client.upsert(
            name,
            [models.PointStruct(id=i, vector=[0, 1], payload={"k": "new", "n": 9}) for i in (1, 2)],
        )
    _same_facet(clients, name, "k")
    _same_facet(clients, name, "n", limit=2)


# --- the distance matrix --------------------------------------------------------------------


@pytest.mark.parametrize("distance", list(models.Distance))
def test_matrix_matches_local_mode(
    clients: tuple[QdrantClient, QdrantClient], distance: Any
) -> None:
    name = f"mx{next(_names)}"
    rng = np.random.default_rng(9)
    points = [
        models.PointStruct(id=i * 7, vector=rng.normal(size=DIM).tolist(), payload={"odd": i % 2})
        for i in range(30)
    ]
    for client in clients:
        client.create_collection(
            name, vectors_config=models.VectorParams(size=DIM, distance=distance)
        )
        client.upsert(name, points)
    odd = models.Filter(must=[models.FieldCondition(key="odd", match=models.MatchValue(value=1))])
    for query_filter, limit in ((None, 3), (odd, 5), (None, 40)):
        # a sample as large as the points chosen: the same sample on both sides
        lp, rp = (
            c.search_matrix_pairs(name, query_filter=query_filter, limit=limit, sample=30)
            for c in clients
        )
        assert [(p.a, p.b) for p in rp.pairs] == [(p.a, p.b) for p in lp.pairs]
        np.testing.assert_allclose(
            [p.score for p in rp.pairs], [p.score for p in lp.pairs], rtol=1e-4, atol=1e-4
        )
        lo, ro = (
            c.search_matrix_offsets(name, query_filter=query_filter, limit=limit, sample=30)
            for c in clients
        )
        assert ro.ids == lo.ids
        assert ro.offsets_row == lo.offsets_row
        assert ro.offsets_col == lo.offsets_col
        np.testing.assert_allclose(ro.scores, lo.scores, rtol=1e-4, atol=1e-4)


def test_matrix_samples_at_random(http: httpx.Client, loaded: dict[Any, str]) -> None:
    name = loaded[models.Distance.COSINE]
    seen = set()
    for _ in range(3):
        r = http.post(f"/collections/{name}/points/search/matrix/offsets", json={"sample": 20})
        assert r.status_code == 200, r.text
        result = r.json()["result"]
        assert len(result["ids"]) == 20
        assert result["ids"] == sorted(result["ids"])
        assert len(result["scores"]) == 20 * 3
        seen.add(tuple(result["ids"]))
    assert len(seen) > 1


# --- bad input ------------------------------------------------------------------------------


def _refused(http: httpx.Client, path: str, body: Any, words: str, status: int = 400) -> None:
    r = http.post(path, json=body)
    assert r.status_code == status, r.text
    assert words in r.json()["status"]["error"], r.text


def test_bad_requests(http: httpx.Client, loaded: dict[Any, str]) -> None:
    name = loaded[models.Distance.COSINE]
    c = f"/collections/{name}"
    q = _q(1)
    _refused(http, c + "/points/query/groups", {"query": q}, "group_by: missing")
    _refused(
        http,
        c + "/points/query/groups",
        {"query": q, "group_by": "s", "group_size": 0},
        "group_size",
    )
    _refused(http, c + "/points/query/groups", {"query": q, "group_by": "s", "limit": -1}, "limit")
    _refused(http, c + "/points/query/groups", {"query": q, "group_by": "s", "offset": 1}, "offset")
    _refused(http, c + "/points/query/groups", {"query": q, "group_by": "a..b"}, "group_by")
    _refused(
        http,
        c + "/points/query/groups",
        {"query": q, "group_by": "s", "with_lookup": {"with_payload": True}},
        "body.with_lookup.collection: missing",
    )
    _refused(
        http,
        c + "/points/query/groups",
        {"query": q, "group_by": "s", "with_lookup": "nowhere"},
        "nowhere",
        404,
    )
    _refused(http, c + "/points/search/groups", {"vector": q, "group_by": "s"}, "group_size")
    _refused(http, c + "/facet", {}, "key: missing")
    _refused(http, c + "/facet", {"key": "g"}, "No appropriate index for faceting: `g`")
    _refused(http, c + "/facet", {"key": "s", "limit": 0}, "limit")
    _refused(http, c + "/facet", {"key": "s", "exact": "yes"}, "exact")
    _refused(http, c + "/points/search/matrix/pairs", {"sample": 1}, "sample")
    _refused(http, c + "/points/search/matrix/pairs", {"limit": 0}, "limit")
    _refused(http, c + "/points/search/matrix/offsets", {"using": "nope"}, "nope")
    _refused(http, "/collections/none/facet", {"key": "s"}, "none", 404)


def test_facet_needs_a_facetable_index(http: httpx.Client) -> None:
    name = f"fi{next(_names)}"
    http.put(f"/collections/{name}", json={"vectors": {"size": 2, "distance": "Dot"}})
    r = http.put(
        f"/collections/{name}/index?wait=true",
        json={"field_name": "x", "field_schema": "float"},
    )
    assert r.status_code == 200, r.text
    _refused(http, f"/collections/{name}/facet", {"key": "x"}, "No appropriate index")
