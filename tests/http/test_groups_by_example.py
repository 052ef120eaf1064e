"""Groups over every query kind against a real server, answer for answer with qdrant-client's
local mode on the same points: `query/groups` with recommend, discover, context, order_by,
sample, no query, and lookup_from; and the older `points/recommend/groups` route, whose request
is answered as the same Query API groups request.

Group keys: `s` (a keyword index on the server: groups are filled by a filtered ranking), `g`
(no index: the ranking widens), `multi` (arrays: a point joins several groups).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from tests.http.test_groups_facets import _same_groups
from zoro.testing import ServerProcess

DIM = 8
N = 600
KEYS = ("s", "g", "multi")
_names = itertools.count()
Clients = tuple[QdrantClient, QdrantClient]


@pytest.fixture(scope="module")
def clients(server: ServerProcess) -> Iterator[Clients]:
    local = QdrantClient(":memory:")
    remote = QdrantClient(url=server.url, timeout=30)
    yield local, remote
    remote.close()
    local.close()


def _payload(i: int) -> dict[str, Any]:
    return {
        "s": f"s{i % 23}",
        "g": i % 41,
        "multi": [f"m{i % 5}", f"m{5 + (i * 7) % 9}"],
        "rank": (i * 37) % N,  # distinct, for order_by
    }


def _load(clients: Clients, vectors_config: Any, vector: Any) -> str:
    name = f"ge{next(_names)}"
    for client in clients:
        client.create_collection(name, vectors_config=vectors_config)
        client.upsert(
            name,
            [models.PointStruct(id=i, vector=vector(i), payload=_payload(i)) for i in range(N)],
        )
    # indexes on the server only (local mode needs none, and warns about them)
    for key, schema in (
        ("s", models.PayloadSchemaType.KEYWORD),
        ("multi", models.PayloadSchemaType.KEYWORD),
        ("rank", models.PayloadSchemaType.INTEGER),
    ):
        clients[1].create_payload_index(name, key, schema, wait=True)
    return name


@pytest.fixture(scope="module")
def loaded(clients: Clients) -> dict[models.Distance, str]:
    rows = np.random.default_rng(11).normal(size=(N, DIM)).astype(np.float32)
    return {
        d: _load(clients, models.VectorParams(size=DIM, distance=d), lambda i: rows[i].tolist())
        for d in models.Distance
    }


@pytest.fixture(scope="module")
def named(clients: Clients) -> str:
    """Another collection with a named vector `a`: where lookup_from reads examples."""
    rows = np.random.default_rng(12).normal(size=(N, DIM)).astype(np.float32)
    config = {"a": models.VectorParams(size=DIM, distance=models.Distance.COSINE)}
    return _load(clients, config, lambda i: {"a": rows[i].tolist()})


def _vec(seed: int) -> list[float]:
    return np.random.default_rng(seed).normal(size=DIM).astype(np.float32).tolist()


def _both(clients: Clients, name: str, **query: Any) -> models.GroupsResult:
    local, remote = (c.query_points_groups(name, **query) for c in clients)
    assert local.groups, query  # a case that answers nothing proves little
    _same_groups(local, remote)
    return remote


def _recommend(strategy: models.RecommendStrategy, **examples: Any) -> models.RecommendQuery:
    return models.RecommendQuery(recommend=models.RecommendInput(strategy=strategy, **examples))


# --- query/groups with every query kind --------------------------------------------------------


@pytest.mark.parametrize("distance", list(models.Distance))
@pytest.mark.parametrize("strategy", list(models.RecommendStrategy))
def test_recommend_groups_match_local_mode(
    clients: Clients, loaded: dict[models.Distance, str], distance: Any, strategy: Any
) -> None:
    name = loaded[distance]
    examples: list[dict[str, Any]] = [
        {"positive": [3, _vec(1)], "negative": [9]},
        {"positive": [17]},
    ]
    if strategy != models.RecommendStrategy.AVERAGE_VECTOR:
        examples.append({"negative": [4, 5]})  # best_score and sum_scores need no positive
    for (seed, shape), key in itertools.product(enumerate(examples), KEYS):
        limit, size = [(10, 3), (4, 7), (25, 1)][seed]
        query = _recommend(strategy, **shape)
        _both(clients, name, query=query, group_by=key, limit=limit, group_size=size)


@pytest.mark.parametrize("distance", list(models.Distance))
def test_discover_groups_match_local_mode(
    clients: Clients, loaded: dict[models.Distance, str], distance: Any
) -> None:
    name = loaded[distance]
    pairs = [
        models.ContextPair(positive=1, negative=2),
        models.ContextPair(positive=_vec(3), negative=8),
    ]
    for target, key in itertools.product((7, _vec(4)), KEYS):
        query = models.DiscoverQuery(discover=models.DiscoverInput(target=target, context=pairs))
        _both(clients, name, query=query, group_by=key, limit=6, group_size=4)


def test_context_groups_match_local_mode(
    clients: Clients, loaded: dict[models.Distance, str]
) -> None:
    """A context query scores 0 every point on the right side of all its pairs; those points
    tie, and either answer may group any of them first. Left out by a filter, the rest of the
    scores are distinct and the answers must agree."""
    name = loaded[models.Distance.EUCLID]
    pairs = [models.ContextPair(positive=i, negative=i + 50) for i in range(1, 6)]
    query = models.ContextQuery(context=pairs)
    every = clients[0].query_points(name, query=query, limit=N).points
    tied = [p.id for p in every if p.score == 0.0]
    assert len(tied) < N // 4
    no_ties = models.Filter(must_not=[models.HasIdCondition(has_id=tied)])
    for key in KEYS:
        _both(clients, name, query=query, query_filter=no_ties, group_by=key, group_size=3)


def test_order_by_and_filter_only_groups(
    clients: Clients, loaded: dict[models.Distance, str]
) -> None:
    name = loaded[models.Distance.DOT]
    for key, direction in itertools.product(KEYS, models.Direction):
        order = models.OrderByQuery(order_by=models.OrderBy(key="rank", direction=direction))
        _both(clients, name, query=order, group_by=key, limit=7, group_size=3)
    in_order = _both(clients, name, group_by="s", limit=5, group_size=2)  # no query: by id
    assert [h.id for h in in_order.groups[0].hits] == [0, 23]


def test_sample_groups_are_groups(clients: Clients, loaded: dict[models.Distance, str]) -> None:
    """Random picks cannot be compared with local mode's: each group holds points of its value,
    distinct groups, as many as asked."""
    name = loaded[models.Distance.COSINE]
    sample = models.SampleQuery(sample=models.Sample.RANDOM)
    for key in KEYS:
        found = clients[1].query_points_groups(name, query=sample, group_by=key, limit=4)
        assert len(found.groups) == 4
        assert len({g.id for g in found.groups}) == 4
        for g in found.groups:
            assert 1 <= len(g.hits) <= 3
            for hit in g.hits:
                value = (hit.payload or {})[key]
                assert g.id in (value if isinstance(value, list) else [value])


def test_lookup_from_in_groups(
    clients: Clients, loaded: dict[models.Distance, str], named: str
) -> None:
    """Example ids read in another collection (its vector `a`), so they are not left out."""
    name = loaded[models.Distance.COSINE]
    lookup = models.LookupLocation(collection=named, vector="a")
    queries: list[Any] = [
        _recommend(models.RecommendStrategy.AVERAGE_VECTOR, positive=[1, 2], negative=[3]),
        _recommend(models.RecommendStrategy.BEST_SCORE, positive=[4], negative=[5, 6]),
        models.DiscoverQuery(
            discover=models.DiscoverInput(
                target=6, context=[models.ContextPair(positive=7, negative=8)]
            )
        ),
        models.NearestQuery(nearest=9),
    ]
    for query, key in itertools.product(queries, KEYS):
        _both(clients, name, query=query, lookup_from=lookup, group_by=key, group_size=2)
    # with_lookup too, and a recommend query in a prefetch that keeps every point
    prefetch = models.Prefetch(
        query=_recommend(models.RecommendStrategy.SUM_SCORES, positive=[10]), limit=N
    )
    found = _both(
        clients,
        name,
        prefetch=prefetch,
        query=_recommend(models.RecommendStrategy.AVERAGE_VECTOR, positive=[11]),
        lookup_from=lookup,
        group_by="g",
        with_lookup=models.WithLookup(collection=named, with_payload=["rank"]),
    )
    assert all(
        g.lookup is not None and g.lookup.payload == {"rank": _payload(int(g.id))["rank"]}
        for g in found.groups
    )
    # lookup_from in a prefetch only: its examples are read there, the top query's here
    inner = models.Prefetch(
        query=_recommend(models.RecommendStrategy.BEST_SCORE, positive=[12], negative=[13]),
        lookup_from=lookup,
        limit=N,
    )
    _both(clients, name, prefetch=inner, query=models.NearestQuery(nearest=14), group_by="s")


# --- the older route -----------------------------------------------------------------------------


def _groups(body: Any) -> models.GroupsResult:
    return models.GroupsResult(groups=[models.PointGroup(**g) for g in body["result"]["groups"]])


def test_older_recommend_groups_route(
    server: ServerProcess, clients: Clients, loaded: dict[models.Distance, str], named: str
) -> None:
    """`points/recommend/groups` answers as `query/groups` with a recommend query does."""
    local = clients[0]
    name = loaded[models.Distance.DOT]
    only = models.Filter(must=[models.FieldCondition(key="g", range=models.Range(gte=10))])
    cases: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        (name, {"positive": [3, _vec(12)], "negative": [9]}, {}),
        (name, {"positive": [3], "strategy": "best_score"}, {"score_threshold": -1.0}),
        (name, {"negative": [1, 2], "strategy": "sum_scores"}, {"filter": only.model_dump()}),
        (named, {"positive": [5], "using": "a"}, {"with_payload": ["s"]}),
        (name, {"positive": [5, 6], "lookup_from": {"collection": named, "vector": "a"}}, {}),
    ]
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for (where, examples, options), key in itertools.product(cases, KEYS):
            body = {**examples, **options, "group_by": key, "group_size": 2, "limit": 5}
            r = http.post(f"/collections/{where}/points/recommend/groups", json=body)
            assert r.status_code == 200, r.text
            strategy = models.RecommendStrategy(examples.get("strategy", "average_vector"))
            lookup_from = examples.get("lookup_from")
            want = local.query_points_groups(
                where,
                query=_recommend(
                    strategy,
                    positive=examples.get("positive"),
                    negative=examples.get("negative"),
                ),
                using=examples.get("using"),
                lookup_from=None if lookup_from is None else models.LookupLocation(**lookup_from),
                query_filter=only if "filter" in options else None,
                score_threshold=options.get("score_threshold"),
                with_payload=options.get("with_payload", False),  # Qdrant: none unless asked
                group_by=key,
                group_size=2,
                limit=5,
            )
            assert want.groups, body
            _same_groups(want, _groups(r.json()))
        # with_lookup: each group's id looked up in another collection
        body = {"positive": [3], "group_by": "g", "group_size": 1, "limit": 3, "with_lookup": named}
        r = http.post(f"/collections/{name}/points/recommend/groups", json=body)
        assert r.status_code == 200, r.text
        for group in r.json()["result"]["groups"]:
            assert group["lookup"]["id"] == group["id"]
            assert group["lookup"]["payload"] == _payload(group["id"])


# --- bad input -----------------------------------------------------------------------------------


def test_bad_input_is_a_clear_4xx_and_changes_nothing(
    server: ServerProcess, loaded: dict[models.Distance, str], named: str
) -> None:
    name = loaded[models.Distance.COSINE]
    q = f"/collections/{name}/points/query/groups"
    rec = f"/collections/{name}/points/recommend/groups"
    sizes = {"group_by": "s", "group_size": 2, "limit": 3}
    cases: list[tuple[str, dict[str, Any], int, str]] = [
        (q, {"query": {"recommend": {"negative": [1]}}, "group_by": "s"}, 400, "positive"),
        (q, {"query": {"discover": {"context": []}}, "group_by": "s"}, 400, "target"),
        (q, {"query": {"context": [{"positive": 1}]}, "group_by": "s"}, 400, "negative"),
        (q, {"query": {"order_by": "s"}, "group_by": "s"}, 400, "keyword index"),
        (q, {"query": {"sample": "first"}, "group_by": "s"}, 400, "random"),
        (q, {"query": {"recommend": {"positive": [99999]}}, "group_by": "s"}, 404, "99999"),
        (
            q,
            {"query": {"nearest": 1}, "lookup_from": {"collection": "no"}, "group_by": "s"},
            404,
            "no",
        ),
        (
            q,
            {
                "query": {"recommend": {"positive": [1]}},
                "lookup_from": {"collection": named, "vector": "x"},
                "group_by": "s",
            },
            400,
            "no vector named",
        ),
        (rec, {"positive": [1], "group_by": "s", "limit": 3}, 400, "group_size"),
        (rec, {"positive": [1], "group_by": "s", "group_size": 3}, 400, "limit"),
        (rec, {"positive": [1], "group_size": 3, "limit": 3}, 400, "group_by"),
        (rec, {"positive": [1], "offset": 1, **sizes}, 400, "offset"),
        (rec, {"positive": [1], "query": [1.0] * DIM, **sizes}, 400, "query"),
        (rec, {"positive": [1], "strategy": "median", **sizes}, 400, "strategy"),
        (rec, {"negative": [1], **sizes}, 400, "positive"),
        (rec, {"positive": [1], **sizes, "group_size": 0}, 400, "group_size"),
        (rec, {"positive": [1], **sizes, "with_lookup": {"with_payload": True}}, 400, "collection"),
        (rec, {"positive": [99999], **sizes}, 404, "99999"),
        (rec, [], 400, "body"),
        # Qdrant has no discover groups route
        (f"/collections/{name}/points/discover/groups", {"target": 1, **sizes}, 404, "no route"),
    ]
    with httpx.Client(base_url=server.url, timeout=30) as http:
        before = http.post(f"/collections/{name}/points/scroll", json={"limit": N}).json()
        for path, body, status, words in cases:
            r = http.post(path, json=body)
            assert r.status_code == status, (body, r.text)
            assert words in r.json()["status"]["error"], (body, r.text)
        after = http.post(f"/collections/{name}/points/scroll", json={"limit": N}).json()
        assert after["result"] == before["result"]
