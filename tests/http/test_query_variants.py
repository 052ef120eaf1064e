"""The Query API's other queries against a real server, answer for answer with qdrant-client's
local mode on the same data: recommend (three strategies), discover and context, order_by (and
scroll by order_by), sample, a query with only a filter, and lookup_from; in prefetches too, and
through the older recommend / discover routes.

The data is random, so similarity scores do not tie; order values are distinct where answers
are compared in order.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from tests.http.compare import same_hits
from zoro.testing import ServerProcess

DIM = 8
N = 120
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
        "group": i % 3,
        "price": round(1000.0 - i * 7.25, 2),  # distinct
        "rank": (i * 37) % N,  # distinct integers
        "when": f"2026-01-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
        "multi": [i % 5, 10 + i % 7],
    }


def _load(clients: Clients, name: str, vectors_config: Any, vectors: Any) -> None:
    remote = clients[1]
    for client in clients:
        client.create_collection(name, vectors_config=vectors_config)
        client.upsert(
            name,
            [models.PointStruct(id=i, vector=vectors(i), payload=_payload(i)) for i in range(N)],
        )
    # indexes on the server only (local mode orders by any key, and warns about indexes)
    for key, schema in (
        ("price", models.PayloadSchemaType.FLOAT),
        ("rank", models.PayloadSchemaType.INTEGER),
        ("when", models.PayloadSchemaType.DATETIME),
        ("multi", models.PayloadSchemaType.INTEGER),
        ("group", models.PayloadSchemaType.KEYWORD),
    ):
        remote.create_payload_index(name, key, schema)


@pytest.fixture(scope="module")
def loaded(clients: Clients) -> dict[models.Distance, str]:
    """One collection per distance (one unnamed vector), the same in both."""
    rows = np.random.default_rng(5).normal(size=(N, DIM)).astype(np.float32)
    names = {}
    for distance in models.Distance:
        name = f"qv{next(_names)}"
        _load(
            clients,
            name,
            models.VectorParams(size=DIM, distance=distance),
            lambda i: rows[i].tolist(),
        )
        names[distance] = name
    return names


@pytest.fixture(scope="module")
def named(clients: Clients) -> str:
    """Two named vectors of different sizes and distances."""
    rng = np.random.default_rng(6)
    a = rng.normal(size=(N, DIM)).astype(np.float32)
    b = rng.normal(size=(N, 4)).astype(np.float32)
    name = f"qn{next(_names)}"
    _load(
        clients,
        name,
        {
            "a": models.VectorParams(size=DIM, distance=models.Distance.COSINE),
            "b": models.VectorParams(size=4, distance=models.Distance.EUCLID),
        },
        lambda i: {"a": a[i].tolist(), "b": b[i].tolist()},
    )
    return name


def _vec(seed: int, size: int = DIM) -> list[float]:
    return np.random.default_rng(seed).normal(size=size).astype(np.float32).tolist()


def _both(clients: Clients, name: str, **query: Any) -> list[models.ScoredPoint]:
    local, remote = (c.query_points(name, **query).points for c in clients)
    assert local, query  # a case that answers nothing proves little
    same_hits(local, remote)
    return remote


def _both_tied(clients: Clients, name: str, **query: Any) -> None:
    """For scores that tie (a context query scores 0 every point on the right side of all its
    pairs, and either answer may list any of them): the same scores, each hit scored as local
    mode scores that point."""
    local, remote = (c.query_points(name, **query).points for c in clients)
    assert local, query
    np.testing.assert_allclose([p.score for p in remote], [p.score for p in local], atol=1e-5)
    everything = {
        p.id: p.score
        for p in clients[0].query_points(name, **{**query, "limit": N, "offset": 0}).points
    }
    np.testing.assert_allclose(
        [p.score for p in remote], [everything[p.id] for p in remote], atol=1e-5
    )


STRATEGIES = list(models.RecommendStrategy)


@pytest.mark.parametrize("distance", list(models.Distance))
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_recommend_matches_local_mode(
    clients: Clients,
    loaded: dict[models.Distance, str],
    distance: models.Distance,
    strategy: models.RecommendStrategy,
) -> None:
    name = loaded[distance]
    cases = [
        models.RecommendInput(positive=[3, 17], negative=[40], strategy=strategy),
        models.RecommendInput(positive=[_vec(1), 5], strategy=strategy),
        models.RecommendInput(positive=[8], negative=[_vec(2), 9, 10], strategy=strategy),
    ]
    if strategy != models.RecommendStrategy.AVERAGE_VECTOR:
        cases.append(models.RecommendInput(negative=[4, _vec(3)], strategy=strategy))
    for case in cases:
        query = models.RecommendQuery(recommend=case)
        hits = _both(clients, name, query=query, limit=7)
        mentioned = {
            e for e in [*(case.positive or []), *(case.negative or [])] if isinstance(e, int)
        }
        assert not mentioned & {h.id for h in hits}  # examples by id are left out
        _both(clients, name, query=query, limit=5, offset=3)
        only = models.Filter(
            must=[models.FieldCondition(key="group", match=models.MatchValue(value=1))]
        )
        _both(clients, name, query=query, limit=6, query_filter=only)


@pytest.mark.parametrize("distance", [models.Distance.COSINE, models.Distance.DOT])
def test_recommend_score_threshold(
    clients: Clients, loaded: dict[models.Distance, str], distance: models.Distance
) -> None:
    for strategy in STRATEGIES:
        query = models.RecommendQuery(
            recommend=models.RecommendInput(positive=[3, 7], negative=[11], strategy=strategy)
        )
        scores = [
            p.score for p in clients[0].query_points(loaded[distance], query=query, limit=20).points
        ]
        threshold = (scores[5] + scores[6]) / 2
        hits = _both(clients, loaded[distance], query=query, limit=20, score_threshold=threshold)
        assert len(hits) == 6


@pytest.mark.parametrize("distance", list(models.Distance))
def test_discover_and_context_match_local_mode(
    clients: Clients, loaded: dict[models.Distance, str], distance: models.Distance
) -> None:
    name = loaded[distance]
    pairs = [
        models.ContextPair(positive=1, negative=2),
        models.ContextPair(positive=_vec(4), negative=30),
        models.ContextPair(positive=31, negative=_vec(5)),
    ]
    discover = models.DiscoverQuery(discover=models.DiscoverInput(target=12, context=pairs))
    hits = _both(clients, name, query=discover, limit=9)
    assert not {1, 2, 12, 30, 31} & {h.id for h in hits}
    _both(
        clients,
        name,
        query=models.DiscoverQuery(discover=models.DiscoverInput(target=_vec(6), context=pairs[0])),
        limit=5,
        offset=2,
    )
    _both_tied(clients, name, query=models.ContextQuery(context=pairs), limit=8)
    _both_tied(clients, name, query=models.ContextQuery(context=pairs[1]), limit=4, offset=3)


def test_named_vectors_use_their_own_vector(clients: Clients, named: str) -> None:
    for using, size in (("a", DIM), ("b", 4)):
        for strategy in STRATEGIES:
            query = models.RecommendQuery(
                recommend=models.RecommendInput(
                    positive=[1, _vec(7, size)], negative=[2], strategy=strategy
                )
            )
            _both(clients, named, query=query, using=using, limit=6)
        pairs = [models.ContextPair(positive=3, negative=_vec(8, size))]
        _both_tied(clients, named, query=models.ContextQuery(context=pairs), using=using, limit=6)
        discover = models.DiscoverQuery(discover=models.DiscoverInput(target=4, context=pairs))
        _both(clients, named, query=discover, using=using, limit=6)


def test_recommend_in_prefetch_and_batch(
    clients: Clients, loaded: dict[models.Distance, str]
) -> None:
    name = loaded[models.Distance.COSINE]
    reco = models.RecommendQuery(
        recommend=models.RecommendInput(
            positive=[5], negative=[6], strategy=models.RecommendStrategy.BEST_SCORE
        )
    )
    _both(
        clients,
        name,
        prefetch=models.Prefetch(query=reco, limit=30),
        query=models.DiscoverQuery(
            discover=models.DiscoverInput(
                target=_vec(13), context=[models.ContextPair(positive=7, negative=8)]
            )
        ),
        limit=5,
    )
    _both(clients, name, prefetch=models.Prefetch(query=_vec(9), limit=40), query=reco, limit=5)
    requests = [
        models.QueryRequest(query=reco, limit=4),
        models.QueryRequest(query=_vec(10), limit=3),
        models.QueryRequest(
            query=models.DiscoverQuery(
                discover=models.DiscoverInput(
                    target=1, context=[models.ContextPair(positive=2, negative=3)]
                )
            ),
            limit=4,
        ),
    ]
    local, remote = (c.query_batch_points(name, requests) for c in clients)
    for mine, theirs in zip(local, remote, strict=True):
        same_hits(mine.points, theirs.points)


# --- order_by, sample, filter only ------------------------------------------------------------


def _same_order(local: list[Any], remote: list[Any]) -> None:
    assert [p.id for p in remote] == [p.id for p in local]
    assert [float(p.order_value) for p in remote] == pytest.approx(
        [float(p.order_value) for p in local]
    )


@pytest.mark.parametrize(
    "order",
    [
        "price",
        models.OrderBy(key="price", direction=models.Direction.DESC),
        models.OrderBy(key="rank", start_from=50),
        models.OrderBy(key="rank", direction=models.Direction.DESC, start_from=50),
        models.OrderBy(key="price", start_from=600.5),
    ],
)
def test_order_by_query_and_scroll(
    clients: Clients, loaded: dict[models.Distance, str], order: Any
) -> None:
    name = loaded[models.Distance.DOT]
    only = models.Filter(
        must_not=[models.FieldCondition(key="group", match=models.MatchValue(value=2))]
    )
    for query_filter in (None, only):
        local, remote = (
            c.query_points(
                name, query=models.OrderByQuery(order_by=order), limit=9, query_filter=query_filter
            ).points
            for c in clients
        )
        assert local
        _same_order(local, remote)
        assert {p.score for p in remote} == {1.0}
        (local_page, _), (remote_page, remote_next) = (
            c.scroll(name, limit=11, order_by=order, scroll_filter=query_filter) for c in clients
        )
        _same_order(local_page, remote_page)
        assert remote_next is None


def test_order_by_datetime_and_many_values(
    clients: Clients, loaded: dict[models.Distance, str]
) -> None:
    """A datetime key orders by its moment (order_value: microseconds since the epoch); a key
    holding several values lists a point once per value."""
    name = loaded[models.Distance.EUCLID]
    for order in (
        models.OrderBy(key="when", start_from="2026-01-20T00:00:00Z"),
        # a number for a datetime key counts microseconds, as the order values shown do
        models.OrderBy(key="when", start_from=1_768_900_000_000_000),
        models.OrderBy(key="multi", direction=models.Direction.DESC),
    ):
        local, remote = (c.scroll(name, limit=N, order_by=order)[0] for c in clients)
        # equal values may come in another order: compare (value, id) pairs as sets
        assert sorted((float(p.order_value), p.id) for p in remote) == sorted(
            (float(p.order_value), p.id) for p in local
        )
        values = [float(p.order_value) for p in remote]
        assert values == sorted(values, reverse=order.direction == models.Direction.DESC)


def test_order_by_as_rescore_of_prefetch(
    clients: Clients, loaded: dict[models.Distance, str]
) -> None:
    name = loaded[models.Distance.COSINE]
    local, remote = (
        c.query_points(
            name,
            prefetch=models.Prefetch(query=_vec(11), limit=25),
            query=models.OrderByQuery(order_by="rank"),
            limit=8,
        ).points
        for c in clients
    )
    _same_order(local, remote)


def test_filter_only_query_and_sample(clients: Clients, loaded: dict[models.Distance, str]) -> None:
    name = loaded[models.Distance.MANHATTAN]
    only = models.Filter(
        must=[models.FieldCondition(key="group", match=models.MatchValue(value=0))]
    )
    _both(clients, name, query_filter=only, limit=7, offset=2)
    _both(clients, name, limit=5)
    remote = clients[1]
    members = {p.id for p in remote.scroll(name, scroll_filter=only, limit=N)[0]}
    seen: set[Any] = set()
    for _ in range(5):
        got = remote.query_points(
            name, query=models.SampleQuery(sample=models.Sample.RANDOM), query_filter=only, limit=6
        ).points
        ids = [p.id for p in got]
        assert len(ids) == len(set(ids)) == 6
        assert set(ids) <= members
        assert {p.score for p in got} == {1.0}
        seen |= set(ids)
    assert len(seen) > 6  # random: five draws of 6 from 40 are not all the same


def test_lookup_from_reads_another_collection(
    clients: Clients, loaded: dict[models.Distance, str], named: str
) -> None:
    """Example ids read from another collection's vector; they are not left out here."""
    name = loaded[models.Distance.COSINE]
    lookup = models.LookupLocation(collection=named, vector="a")
    for query in (
        models.RecommendQuery(recommend=models.RecommendInput(positive=[1, 2], negative=[3])),
        models.RecommendQuery(
            recommend=models.RecommendInput(
                positive=[1], strategy=models.RecommendStrategy.SUM_SCORES
            )
        ),
        models.NearestQuery(nearest=6),
    ):
        hits = _both(clients, name, query=query, lookup_from=lookup, limit=10)
        assert {1, 2, 3, 4, 5, 6} & {h.id for h in hits} or len(hits) == 10
    context = models.ContextQuery(context=[models.ContextPair(positive=4, negative=5)])
    _both_tied(clients, name, query=context, lookup_from=lookup, limit=10)
    # a lookup in the collection searched leaves the examples out, as without it
    same = models.LookupLocation(collection=name)
    query = models.RecommendQuery(recommend=models.RecommendInput(positive=[1, 2]))
    hits = _both(clients, name, query=query, lookup_from=same, limit=10)
    assert not {1, 2} & {h.id for h in hits}


# --- the older routes ---------------------------------------------------------------------------


def test_older_recommend_and_discover_routes(
    server: ServerProcess, clients: Clients, loaded: dict[models.Distance, str]
) -> None:
    name = loaded[models.Distance.DOT]
    local = clients[0]
    with httpx.Client(base_url=server.url, timeout=30) as http:
        body = {"positive": [3, _vec(12)], "negative": [9], "strategy": "best_score", "limit": 6}
        r = http.post(f"/collections/{name}/points/recommend", json=body)
        assert r.status_code == 200, r.text
        want = local.query_points(
            name,
            query=models.RecommendQuery(
                recommend=models.RecommendInput(
                    positive=[3, _vec(12)],
                    negative=[9],
                    strategy=models.RecommendStrategy.BEST_SCORE,
                )
            ),
            limit=6,
            with_payload=False,
        ).points
        same_hits(want, [models.ScoredPoint(**p) for p in r.json()["result"]])
        r = http.post(
            f"/collections/{name}/points/recommend/batch",
            json={"searches": [body, {"positive": [4], "limit": 3}]},
        )
        assert r.status_code == 200, r.text
        first, second = r.json()["result"]
        same_hits(want, [models.ScoredPoint(**p) for p in first])
        assert len(second) == 3

        pairs = [{"positive": 1, "negative": 2}]
        r = http.post(
            f"/collections/{name}/points/discover",
            json={"target": 7, "context": pairs, "limit": 5},
        )
        assert r.status_code == 200, r.text
        want = local.query_points(
            name,
            query=models.DiscoverQuery(
                discover=models.DiscoverInput(
                    target=7, context=[models.ContextPair(positive=1, negative=2)]
                )
            ),
            limit=5,
        ).points
        same_hits(want, [models.ScoredPoint(**p) for p in r.json()["result"]])
        r = http.post(
            f"/collections/{name}/points/discover/batch",
            json={"searches": [{"context": pairs, "limit": 4}]},
        )
        assert r.status_code == 200, r.text
        want = local.query_points(
            name,
            query=models.ContextQuery(context=[models.ContextPair(positive=1, negative=2)]),
            limit=4,
        ).points
        # a context query ties (see _both_tied): the same scores
        got = [p["score"] for p in r.json()["result"][0]]
        np.testing.assert_allclose(got, [p.score for p in want], atol=1e-5)


# --- bad input ----------------------------------------------------------------------------------


def test_bad_input_is_a_clear_400(
    server: ServerProcess, loaded: dict[models.Distance, str]
) -> None:
    name = loaded[models.Distance.COSINE]
    q = f"/collections/{name}/points/query"
    cases: list[tuple[str, dict[str, Any], int, str]] = [
        (q, {"query": {"recommend": {"negative": [1]}}}, 400, "positive"),
        (q, {"query": {"recommend": {"positive": [1], "strategy": "best"}}}, 400, "strategy"),
        (q, {"query": {"recommend": {}, "x": 1}}, 400, "query"),
        (q, {"query": {"recommend": {"positive": [[1.0] * 3]}}}, 400, "positive[0]"),
        (q, {"query": {"recommend": {"positive": [1.5]}}}, 400, "positive[0]"),
        (q, {"query": {"recommend": {"positive": [99999]}}}, 404, "99999"),
        (q, {"query": {"discover": {"context": []}}}, 400, "target"),
        (q, {"query": {"context": []}}, 400, "context: must hold at least 1"),
        (q, {"query": {"context": [{"positive": 1}]}}, 400, "negative"),
        (q, {"query": {"order_by": "group"}}, 400, "keyword index"),
        (q, {"query": {"order_by": "nothing"}}, 400, "no payload index"),
        (q, {"query": {"order_by": {"key": "rank", "direction": "up"}}}, 400, "direction"),
        (q, {"query": {"order_by": {"key": "rank", "start_from": [1]}}}, 400, "start_from"),
        (q, {"query": {"sample": "first"}}, 400, "random"),
        (q, {"query": {"formula": {}}}, 400, "one of the query objects"),
        (q, {"query": {"nearest": 1}, "lookup_from": {"collection": "missing"}}, 404, "missing"),
        (
            q,
            {
                "query": {"recommend": {"positive": [1]}},
                "lookup_from": {"collection": name, "vector": "x"},
            },
            400,
            "no vector named",
        ),
        (f"/collections/{name}/points/scroll", {"order_by": "rank", "offset": 3}, 400, "offset"),
        (f"/collections/{name}/points/scroll", {"order_by": "when_not"}, 400, "order"),
        (f"/collections/{name}/points/recommend", {"positive": [1]}, 400, "limit"),
        (f"/collections/{name}/points/discover", {"limit": 3}, 400, "target"),
    ]
    with httpx.Client(base_url=server.url, timeout=30) as http:
        before = http.post(f"/collections/{name}/points/count", json={}).json()["result"]
        for path, body, status, words in cases:
            r = http.post(path, json=body)
            assert r.status_code == status, (body, r.text)
            assert words in r.json()["status"]["error"], (body, r.text)
        assert http.post(f"/collections/{name}/points/count", json={}).json()["result"] == before


def test_paging_by_order_value(clients: Clients, loaded: dict[models.Distance, str]) -> None:
    """Paging an order: the next page starts from the last value seen (its points seen already
    skipped), and the pages together are the whole order, in both directions."""
    name = loaded[models.Distance.COSINE]
    remote = clients[1]
    for direction in models.Direction:
        whole = remote.scroll(
            name, limit=N, order_by=models.OrderBy(key="when", direction=direction)
        )[0]
        pages: list[Any] = []
        start = None
        while len(pages) < len(whole):
            order = models.OrderBy(key="when", direction=direction, start_from=start)
            page = remote.scroll(name, limit=25, order_by=order)[0]
            seen = {p.id for p in pages if p.order_value == start}
            fresh = [p for p in page if p.id not in seen]
            assert fresh
            pages += fresh
            start = pages[-1].order_value
        assert [(p.id, p.order_value) for p in pages] == [(p.id, p.order_value) for p in whole]


def test_uuid_examples(clients: Clients) -> None:
    name = f"qu{next(_names)}"
    rows = np.random.default_rng(14).normal(size=(30, DIM)).astype(np.float32)
    ids = [str(uuid.UUID(int=i + 1)) for i in range(30)]
    for client in clients:
        client.create_collection(
            name, vectors_config=models.VectorParams(size=DIM, distance=models.Distance.DOT)
        )
        client.upsert(
            name, [models.PointStruct(id=ids[i], vector=rows[i].tolist()) for i in range(30)]
        )
    for strategy in STRATEGIES:
        query = models.RecommendQuery(
            recommend=models.RecommendInput(
                positive=[ids[0], ids[1]], negative=[ids[2]], strategy=strategy
            )
        )
        hits = _both(clients, name, query=query, limit=5)
        assert not {ids[0], ids[1], ids[2]} & {str(h.id) for h in hits}
    pairs = [models.ContextPair(positive=ids[3], negative=ids[4])]
    _both(
        clients,
        name,
        query=models.DiscoverQuery(discover=models.DiscoverInput(target=ids[5], context=pairs)),
        limit=5,
    )


@pytest.mark.parametrize("modifier", [None, models.Modifier.IDF])
def test_sparse_average_vector(clients: Clients, modifier: models.Modifier | None) -> None:
    """A sparse vector is recommended by average_vector (a nearest search for avg(positive) +
    avg(positive) - avg(negative), index by index); other strategies are refused by name."""
    name = f"qs{next(_names)}"
    rng = np.random.default_rng(15)

    def sparse(i: int) -> models.SparseVector:
        indices = sorted(rng.choice(40, size=int(rng.integers(2, 8)), replace=False).tolist())
        return models.SparseVector(
            indices=indices, values=rng.random(len(indices)).round(3).tolist()
        )

    rows = [sparse(i) for i in range(60)]
    for client in clients:
        client.create_collection(
            name,
            vectors_config={},
            sparse_vectors_config={"s": models.SparseVectorParams(modifier=modifier)},
        )
        client.upsert(name, [models.PointStruct(id=i, vector={"s": rows[i]}) for i in range(60)])
    given = models.SparseVector(indices=[1, 5, 39], values=[0.5, 1.0, 0.25])
    for example in (
        models.RecommendInput(positive=[3, 4]),
        models.RecommendInput(positive=[3, given], negative=[7]),
        models.RecommendInput(positive=[given], negative=[8, 9]),
    ):
        hits = _both(
            clients, name, query=models.RecommendQuery(recommend=example), using="s", limit=8
        )
        named = [*(example.positive or []), *(example.negative or [])]
        assert not {e for e in named if isinstance(e, int)} & {h.id for h in hits}
    r = httpx.post(
        f"{clients[1].init_options['url']}/collections/{name}/points/query",
        json={"query": {"recommend": {"positive": [1], "strategy": "best_score"}}, "using": "s"},
    )
    assert r.status_code == 400, r.text
    assert "average_vector only" in r.json()["status"]["error"]
