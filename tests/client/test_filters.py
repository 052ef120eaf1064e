"""Filters, count, scroll, delete by filter and payload indexes, against a real server.

Each flow is checked three ways: the client's answer, the server's HTTP answer to the same
request sent by hand (no client code involved), and the points the filter should keep, worked
out here in Python from the payloads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import numpy as np
import pytest

from zoro.client import AsyncZoroClient, InvalidInput
from zoro.client._filters import SHAPES
from zoro.testing import ServerProcess

N = 40


def payload(i: int) -> dict[str, Any]:
    p: dict[str, Any] = {
        "n": i,
        "lang": ["en", "de", "fr"][i % 3],
        "meta": {"score": i / 10, "tier": "gold" if i % 5 == 0 else "basic"},
    }
    if i % 4 != 3:
        p["tags"] = [["a", "b"], ["b"], []][i % 4]
    if i % 7 == 0:
        p["note"] = None
    elif i % 7 == 1:
        p["note"] = "x"
    if i < 28:
        p["when"] = f"2026-01-{i + 1:02d}T00:00:00Z"
    p["at"] = {"lon": float(i), "lat": 0.0}  # one degree (about 111 km) apart on the equator
    p["offers"] = [{"kind": "a", "k": i % 3}, {"kind": "b", "k": i % 2}]
    return p


def geo(shape: str, **body: Any) -> dict[str, Any]:
    return {"key": "at", shape: body}


def point(lon: float, lat: float) -> dict[str, float]:
    return {"lon": lon, "lat": lat}


def box(west: float, east: float) -> dict[str, Any]:
    """A closed ring from `west` to `east`, 1 degree north and south of the equator."""
    corners = [point(west, -1), point(east, -1), point(east, 1), point(west, 1)]
    return {"points": [*corners, corners[0]]}


def nested(*must: dict[str, Any]) -> dict[str, Any]:
    return {"nested": {"key": "offers", "filter": {"must": list(must)}}}


P = [payload(i) for i in range(N)]
EN = {"key": "lang", "match": {"value": "en"}}
FEW = {"key": "n", "range": {"lt": 5}}
GOLD = {"key": "meta.tier", "match": {"value": "gold"}}
Pred = Callable[[dict[str, Any]], bool]


def has_tag(p: dict[str, Any], tag: str) -> bool:
    return tag in p.get("tags", [])


CASES: list[tuple[str, dict[str, Any], Pred]] = [
    ("match value", {"must": [EN]}, lambda p: p["lang"] == "en"),
    (
        "one condition, no list",
        {"must": {"key": "n", "match": {"value": 7}}},
        lambda p: p["n"] == 7,
    ),
    (
        "match any",
        {"must": [{"key": "lang", "match": {"any": ["en", "fr"]}}]},
        lambda p: p["lang"] != "de",
    ),
    (
        "match except",
        {"must": [{"key": "lang", "match": {"except": ["en"]}}]},
        lambda p: p["lang"] != "en",
    ),
    (
        "array element",
        {"must": [{"key": "tags", "match": {"value": "b"}}]},
        lambda p: has_tag(p, "b"),
    ),
    (
        "range",
        {"must": [{"key": "n", "range": {"gte": 10, "lt": 20}}]},
        lambda p: 10 <= p["n"] < 20,
    ),
    (
        "nested key range",
        {"must": [{"key": "meta.score", "range": {"gt": 2.5}}]},
        lambda p: p["n"] > 25,
    ),
    ("nested key match", {"must": [GOLD]}, lambda p: p["n"] % 5 == 0),
    ("should", {"should": [EN, FEW]}, lambda p: p["lang"] == "en" or p["n"] < 5),
    (
        "must_not",
        {"must_not": [{"key": "lang", "match": {"value": "de"}}]},
        lambda p: p["lang"] != "de",
    ),
    (
        "min_should",
        {"min_should": {"conditions": [EN, FEW, GOLD], "min_count": 2}},
        lambda p: (p["lang"] == "en") + (p["n"] < 5) + (p["n"] % 5 == 0) >= 2,
    ),
    ("is_empty", {"must": [{"is_empty": {"key": "tags"}}]}, lambda p: not p.get("tags")),
    (
        "is_null",
        {"must": [{"is_null": {"key": "note"}}]},
        lambda p: "note" in p and p["note"] is None,
    ),
    ("has_id", {"must": [{"has_id": [1, 5, 9, 100]}]}, lambda p: p["n"] in (1, 5, 9)),
    (
        "values_count",
        {"must": [{"key": "tags", "values_count": {"gte": 2}}]},
        lambda p: has_tag(p, "a"),
    ),
    (
        "datetime range",
        {"must": [{"key": "when", "range": {"gte": "2026-01-10T00:00:00Z"}}]},
        lambda p: 9 <= p["n"] < 28,
    ),
    (
        "filter inside a filter",
        {"must": [{"should": [EN, GOLD]}], "must_not": [FEW]},
        lambda p: (p["lang"] == "en" or p["n"] % 5 == 0) and p["n"] >= 5,
    ),
    ("empty filter", {}, lambda p: True),
    (
        "geo radius",
        {"must": [geo("geo_radius", center=point(0, 0), radius=350_000)]},
        lambda p: p["n"] <= 3,
    ),
    (
        "geo bounding box",
        {"must": [geo("geo_bounding_box", top_left=point(9.5, 1), bottom_right=point(20.5, -1))]},
        lambda p: 10 <= p["n"] <= 20,
    ),
    (
        "geo polygon",
        {"must": [geo("geo_polygon", exterior=box(4.5, 8.5), interiors=[box(5.5, 6.5)])]},
        lambda p: p["n"] in (5, 7, 8),
    ),
    (
        "nested: both on one object",
        {
            "must": [
                nested({"key": "kind", "match": {"value": "b"}}, {"key": "k", "range": {"gte": 1}})
            ]
        },
        lambda p: p["n"] % 2 == 1,
    ),
]


@pytest.fixture
async def raw(server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    """Plain HTTP to the same server: what it answers with no client code in between."""
    async with httpx.AsyncClient(base_url=server.url, timeout=30.0) as http:
        yield http


async def post(raw: httpx.AsyncClient, path: str, body: object) -> Any:
    response = await raw.post(path, json=body)
    assert response.status_code == 200, response.text
    return response.json()["result"]


@pytest.fixture
async def points(client: AsyncZoroClient, collection: str) -> str:
    """N points on a line (point i at (i, 0, 0, 0)) with the payloads above."""
    vectors = np.zeros((N, 4))
    vectors[:, 0] = np.arange(N)
    await client.upsert(collection, range(N), vectors, P)
    return collection


async def raw_scroll(raw: httpx.AsyncClient, path: str, body: dict[str, Any]) -> list[Any]:
    ids: list[Any] = []
    offset = None
    while True:
        page = await post(raw, path, {**body, "offset": offset, "limit": 7})
        ids += [p["id"] for p in page["points"]]
        offset = page["next_page_offset"]
        if offset is None:
            return ids


@pytest.mark.parametrize(("case", "query_filter", "keeps"), CASES, ids=[c[0] for c in CASES])
async def test_filters_count_scroll_and_search_as_the_server_does(
    client: AsyncZoroClient,
    raw: httpx.AsyncClient,
    points: str,
    case: str,
    query_filter: dict[str, Any],
    keeps: Pred,
) -> None:
    expected = [i for i in range(N) if keeps(P[i])]
    path = f"/collections/{points}/points"

    count = await client.count(points, query_filter)
    assert count == (await post(raw, path + "/count", {"filter": query_filter}))["count"]
    assert count == len(expected)
    assert await client.count(points, query_filter, exact=False) == count

    scrolled = [p.id async for p in client.scroll(points, filter=query_filter, page_size=7)]
    assert scrolled == await raw_scroll(raw, path + "/scroll", {"filter": query_filter})
    assert scrolled == expected

    hits = await client.search(points, [12.2, 0, 0, 0], filter=query_filter, limit=5)
    answer = await post(
        raw,
        path + "/query",
        {"query": [12.2, 0, 0, 0], "filter": query_filter, "limit": 5, "with_payload": True},
    )
    assert [(h.id, h.score, h.payload) for h in hits] == [
        (p["id"], p["score"], p["payload"]) for p in answer["points"]
    ]
    assert sorted(h.id for h in hits) == sorted(sorted(expected, key=lambda i: abs(i - 12.2))[:5])


async def test_scroll_pages_with_a_filter(
    client: AsyncZoroClient, raw: httpx.AsyncClient, points: str
) -> None:
    en = {"must": [EN]}
    page = await client.scroll_page(points, filter=en, limit=4, offset=5)
    answer = await post(
        raw, f"/collections/{points}/points/scroll", {"filter": en, "limit": 4, "offset": 5}
    )
    assert [p.id for p in page.points] == [p["id"] for p in answer["points"]] == [6, 9, 12, 15]
    assert page.next_offset == answer["next_page_offset"] == 18
    last = await client.scroll_page(points, filter=en, limit=10, offset=30)
    assert [p.id for p in last.points] == [30, 33, 36, 39]
    assert last.next_offset is None


async def test_search_options_with_a_filter(
    client: AsyncZoroClient, raw: httpx.AsyncClient, points: str
) -> None:
    """score_threshold, offset, payload selections and params, each as the server answers."""
    en = {"must": [EN]}
    path = f"/collections/{points}/points/query"
    q = [12.2, 0, 0, 0]
    for options, wire in [
        ({"score_threshold": 4.0}, {"score_threshold": 4.0}),
        ({"offset": 2, "limit": 3}, {"offset": 2, "limit": 3}),
        ({"with_payload": ["lang", "n"]}, {"with_payload": ["lang", "n"]}),
        ({"with_payload": {"exclude": ["meta"]}}, {"with_payload": {"exclude": ["meta"]}}),
        (
            {"with_payload": False, "with_vector": True},
            {"with_payload": False, "with_vector": True},
        ),
        ({"hnsw_ef": 64}, {"params": {"hnsw_ef": 64}}),
        ({"exact": True}, {"params": {"exact": True}}),
    ]:
        hits = await client.search(points, q, filter=en, **options)
        body = {"query": q, "filter": en, "limit": 10, "with_payload": True, **wire}
        answer = (await post(raw, path, body))["points"]
        assert [(h.id, h.score, h.payload, h.vector) for h in hits] == [
            (p["id"], p["score"], p.get("payload"), p.get("vector") and tuple(p["vector"]))
            for p in answer
        ], options
    kept = await client.search(points, q, filter=en, with_payload={"include": ["lang"]}, limit=2)
    assert [(h.id, h.payload) for h in kept] == [(12, {"lang": "en"}), (15, {"lang": "en"})]


async def test_search_by_id_and_batch_with_a_filter(
    client: AsyncZoroClient, raw: httpx.AsyncClient, points: str
) -> None:
    gold = {"must": [GOLD]}
    path = f"/collections/{points}/points/query"
    hits = await client.search_by_id(points, 12, filter=gold, limit=3)
    answer = await post(raw, path, {"query": 12, "filter": gold, "limit": 3, "with_payload": True})
    assert [h.id for h in hits] == [p["id"] for p in answer["points"]] == [10, 15, 5]
    batch = await client.search_batch(points, [[0, 0, 0, 0], [39, 0, 0, 0]], filter=gold, limit=2)
    answers = await post(
        raw,
        path + "/batch",
        {"searches": [{"query": [v, 0, 0, 0], "filter": gold, "limit": 2} for v in (0, 39)]},
    )
    assert [[h.id for h in a] for a in batch] == [[p["id"] for p in a["points"]] for a in answers]
    assert [[h.id for h in a] for a in batch] == [[0, 5], [35, 30]]


async def test_delete_by_filter(
    client: AsyncZoroClient, raw: httpx.AsyncClient, points: str
) -> None:
    de = {"must": [{"key": "lang", "match": {"value": "de"}}]}
    result = await client.delete(points, filter=de)
    assert result.status == "completed"
    assert await client.count(points, de) == 0
    assert (await post(raw, f"/collections/{points}/points/count", {"filter": de}))["count"] == 0
    assert await client.count(points) == N - len([p for p in P if p["lang"] == "de"])
    await client.delete(points, filter=de)  # again: nothing left to delete, no error
    await client.delete(points, [0, 3])  # by ids, positionally, as before
    assert await client.retrieve(points, [0, 1, 3, 6]) == await client.retrieve(points, [6])
    await client.delete(points, filter={})  # the empty filter keeps every point
    assert await client.count(points) == 0


async def test_delete_needs_ids_or_a_filter(client: AsyncZoroClient, points: str) -> None:
    with pytest.raises(InvalidInput, match="exactly one") as caught:
        await client.delete(points)
    assert caught.value.status is None
    with pytest.raises(InvalidInput, match="exactly one"):
        await client.delete(points, [1], filter={"must": [EN]})
    assert await client.count(points) == N


async def test_payload_indexes(
    client: AsyncZoroClient, raw: httpx.AsyncClient, points: str
) -> None:
    en = {"must": [EN]}
    before = await client.count(points, en)
    for field, schema in [
        ("lang", "keyword"),
        ("meta.score", "float"),
        ("tags[]", "keyword"),
        ("at", "geo"),
    ]:
        result = await client.create_payload_index(points, field, schema)
        assert result.status == "completed"
    await client.create_payload_index(points, "n", {"type": "integer"}, wait=False)
    await client.create_payload_index(points, "lang", "keyword")  # again: no change, no error
    info = await client.get_collection(points)
    assert info.payload_schema == {
        "lang": "keyword",
        "meta.score": "float",
        "tags[]": "keyword",
        "at": "geo",
        "n": "integer",
    }
    answer = await raw.get(f"/collections/{points}")
    assert set(answer.json()["result"]["payload_schema"]) == set(info.payload_schema)
    # the indexes answer as the scans did
    for _, query_filter, keeps in CASES:
        assert await client.count(points, query_filter) == sum(map(keeps, P))
    assert await client.count(points, en) == before
    # a key with brackets and a dot travels in the URL path intact
    await client.delete_payload_index(points, "tags[]")
    await client.delete_payload_index(points, "meta.score")
    await client.delete_payload_index(points, "at")
    await client.delete_payload_index(points, "never.indexed")  # nothing to drop: no error
    assert set((await client.get_collection(points)).payload_schema) == {"lang", "n"}


VECTOR, ID = {"has_vector": ""}, {"has_id": [1]}
BAD_FOR_THE_SERVER: list[tuple[str, dict[str, Any]]] = [
    ("a key alone", {"must": [{"key": "lang"}]}),
    ("two match modes", {"must": [{"key": "n", "match": {"value": 1, "any": [1]}}]}),
    ("has_vector in nested", {"must": [{"nested": {"key": "m", "filter": {"must": VECTOR}}}]}),
    ("has_id in nested", {"must": [{"nested": {"key": "meta", "filter": {"must": [ID]}}}]}),
    ("mixed range", {"must": [{"key": "n", "range": {"gt": 1, "lt": "2026-01-01T00:00:00Z"}}]}),
    ("bad datetime", {"must": [{"key": "when", "range": {"gt": "yesterday"}}]}),
    ("min_should without count", {"min_should": {"conditions": [EN]}}),
    ("mixed any", {"must": [{"key": "n", "match": {"any": [1, "a"]}}]}),
    ("bad key", {"must": [{"key": "a..b", "match": {"value": 1}}]}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "query_filter"), BAD_FOR_THE_SERVER, ids=[c[0] for c in BAD_FOR_THE_SERVER]
)
async def test_the_servers_refusal_reaches_the_user_verbatim(
    client: AsyncZoroClient,
    raw: httpx.AsyncClient,
    points: str,
    case: str,
    query_filter: dict[str, Any],
) -> None:
    """A filter of the right shape that the server refuses: the same message, whichever call."""
    answer = await raw.post(f"/collections/{points}/points/count", json={"filter": query_filter})
    assert answer.status_code == 400
    message = answer.json()["status"]["error"]
    assert message.startswith("filter")
    calls = [
        lambda: client.count(points, query_filter),
        lambda: client.scroll_page(points, filter=query_filter),
        lambda: client.delete(points, filter=query_filter),
    ]
    for call in calls:
        with pytest.raises(InvalidInput) as caught:
            await call()
        assert (caught.value.message, caught.value.status) == (message, 400)
    with pytest.raises(InvalidInput) as caught:
        await client.search(points, [1, 0, 0, 0], filter=query_filter)
    assert caught.value.message == message.replace("filter", "body.filter", 1)
    assert await client.count(points) == N  # the refused delete deleted nothing


async def test_the_servers_refusal_of_an_index(
    client: AsyncZoroClient, raw: httpx.AsyncClient, points: str
) -> None:
    schema = {"type": "text", "tokenizer": "klingon"}
    answer = await raw.put(
        f"/collections/{points}/index", json={"field_name": "lang", "field_schema": schema}
    )
    assert answer.status_code == 400
    with pytest.raises(InvalidInput) as caught:
        await client.create_payload_index(points, "lang", schema)
    assert (caught.value.message, caught.value.status) == (answer.json()["status"]["error"], 400)


async def test_the_clients_filter_shapes_cover_the_servers_openapi(
    raw: httpx.AsyncClient,
) -> None:
    """The client's one table of filter shapes names every field the server documents (the
    server may serve less than Qdrant's language, never more than the client lets through)."""
    schemas = (await raw.get("/openapi.json")).json()["components"]["schemas"]
    # the server's filter components, each with the client's shape for it
    client_shape = {
        "Filter": "Filter",
        "NestedFilter": "Filter",
        "MinShould": "MinShould",
        "NestedMinShould": "MinShould",
        "FieldCondition": "FieldCondition",
        "Match": "Match",
        "Range": "Range",
        "DatetimeRange": "Range",
        "ValuesCount": "Range",
        "GeoPoint": "GeoPoint",
        "GeoBoundingBox": "GeoBoundingBox",
        "GeoRadius": "GeoRadius",
        "GeoRing": "GeoLineString",
        "GeoPolygon": "GeoPolygon",
        "HasId": "HasIdCondition",
        "HasVector": "HasVectorCondition",
        "IsEmpty": "IsEmptyCondition",
        "IsNull": "IsNullCondition",
        "Nested": "NestedCondition",
    }
    inner = {"IsEmpty": "KeyOnly", "IsNull": "KeyOnly", "Nested": "Nested"}

    def objects(schema: dict[str, Any]) -> list[dict[str, Any]]:
        """The object shapes of a component (a range: numbers or datetimes; or null)."""
        if "anyOf" in schema:
            return [o for branch in schema["anyOf"] for o in objects(branch)]
        return [schema] if "properties" in schema else []

    for component, shape in client_shape.items():
        for variant in objects(schemas[component]):
            assert set(variant["properties"]) <= set(SHAPES[shape]), component
            if component in inner:
                (only,) = variant["properties"].values()
                assert set(only["properties"]) <= set(SHAPES[inner[component]]), component
    # a condition is told apart by the first of these fields it has, else it is a filter
    by_field = {"key", "has_id", "has_vector", "nested", "is_empty", "is_null"}
    for name in ("Condition", "NestedCondition"):
        node, fields = schemas[name], set()
        while "if" in node:
            (field,) = node["if"]["required"]
            fields.add(field)
            then = node["then"]
            if "$ref" in then:
                assert then["$ref"].rsplit("/", 1)[-1] in client_shape, field
            else:  # has_id / has_vector, refused inside nested
                assert set(then["properties"]) == {field} <= {"has_id", "has_vector"}
            node = node["else"]
        assert fields == by_field, name
        assert node["$ref"].endswith("Filter"), name
    assert schemas["FieldCondition"]["required"] == ["key"]
    for geo in ("geo_bounding_box", "geo_radius", "geo_polygon"):
        shape = SHAPES[SHAPES["FieldCondition"][geo]]
        ref = schemas["FieldCondition"]["properties"][geo]["$ref"]
        assert set(schemas[ref.rsplit("/", 1)[-1]]["properties"]) == set(shape)
