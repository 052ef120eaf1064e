"""Request bodies, built and checked without a server: the filter shapes the client refuses
itself, and the vector model's shapes (named and sparse vectors, `using`, MMR, prefetch + fusion)
that the server does not serve yet. A MockTransport records what would have been sent."""

from __future__ import annotations

import copy
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import numpy as np
import orjson
import pytest

from zoro.client import (
    AsyncZoroClient,
    DimensionMismatch,
    InvalidInput,
    Mmr,
    Prefetch,
    Record,
    ScoredPoint,
    SparseVector,
    SparseVectorParams,
    TextIndexParams,
    VectorParams,
)

NAMED_INFO = {
    "status": "green",
    "optimizer_status": "ok",
    "segments_count": 1,
    "config": {
        "params": {
            "vectors": {"dense": {"size": 3, "distance": "Cosine"}},
            "sparse_vectors": {"words": {}},
        },
        "hnsw_config": {"m": 16, "ef_construct": 100, "full_scan_threshold": 10000},
    },
    "payload_schema": {"lang": {"data_type": "keyword", "points": 3}},
}
HIT = {
    "id": 1,
    "version": 0,
    "score": 0.5,
    "vector": {"dense": [1.0, 0.0, 0.0], "words": {"indices": [4], "values": [0.5]}},
}


class Recorder:
    """A fake server for a collection "c" of named vectors: remembers every request."""

    def __init__(self, info: Any = NAMED_INFO) -> None:
        self.requests: list[httpx.Request] = []
        self.info = info

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        result: Any = {"status": "completed", "operation_id": 3}
        if request.method == "GET":
            result = self.info
        elif path.endswith("/query"):
            result = {"points": [HIT]}
        elif path.endswith("/query/batch"):
            result = [{"points": [HIT]}]
        elif path.endswith("/scroll"):
            result = {"points": [{"id": 1, "vector": HIT["vector"]}], "next_page_offset": None}
        elif path.endswith("/count"):
            result = {"count": 7}
        return httpx.Response(200, content=orjson.dumps({"result": result, "status": "ok"}))

    def body(self) -> Any:
        return orjson.loads(self.requests[-1].content)


@pytest.fixture
async def fake() -> AsyncIterator[tuple[AsyncZoroClient, Recorder]]:
    recorder = Recorder()
    transport = httpx.MockTransport(recorder)
    async with AsyncZoroClient("http://fake", transport=transport) as client:
        yield client, recorder


EN = {"key": "lang", "match": {"value": "en"}}


def _radius(center: dict[str, Any], radius: float) -> dict[str, Any]:
    return {"key": "at", "geo_radius": {"center": center, "radius": radius}}


def _polygon(points: list[tuple[float, float]]) -> dict[str, Any]:
    ring = {"points": [{"lon": lon, "lat": lat} for lon, lat in points]}
    return {"key": "at", "geo_polygon": {"exterior": ring}}


BAD_SHAPES: list[tuple[object, str]] = [
    ("must", "filter: must be a JSON object"),
    ({"must": "lang"}, "filter.must: must be a list, not str"),
    ({"mus": [EN]}, "filter: unknown field 'mus' .a Filter has must, should"),
    ({"must": [EN, "x"]}, r"filter.must\[1\]: a condition must be a JSON object"),
    ({"must": [{"key": "lang", "mach": {}}]}, r"unknown field 'mach' \(a FieldCondition"),
    ({"must": [{"key": 3, "match": {"value": 1}}]}, "filter.must.0..key: must be a payload key"),
    ({"must": [{"key": "n", "match": {"value": 1.5}}]}, r"match.value: must be a string, an int"),
    ({"must": [{"key": "n", "match": {"any": {1, 2}}}]}, r"match.any: must be a list, not set"),
    ({"must": [{"key": "n", "range": {"gt": float("nan")}}]}, r"range.gt: must be a finite"),
    ({"must": [{"key": "n", "range": {"above": 1}}]}, "unknown field 'above'"),
    ({"must": [{"has_id": [1, -1]}]}, r"has_id\[1\]: point id -1 is outside"),
    ({"must": [{"has_id": 1}]}, "has_id: must be a list"),
    ({"must": [{"is_empty": {"key": "a", "x": 1}}]}, "unknown field 'x' .a KeyOnly"),
    ({"must": [{"key": "a", "is_null": "yes"}]}, "is_null: must be true or false"),
    ({"min_should": {"conditions": [EN], "min_count": 0}}, "min_count: must be between 1 and"),
    (
        {"must": [_radius({"lat": 91, "lon": 0}, 1)]},
        r"center.lat: must be a number within \[-90, 90\]",
    ),
    ({"must": [_radius({"lat": 0, "lon": -180.5}, 1)]}, r"center.lon: must be a number within"),
    ({"must": [_radius({"lat": 0, "lon": "1"}, 1)]}, "center.lon: must be a number, not str"),
    ({"must": [_radius({"lat": 0}, 1)]}, "center: a GeoPoint needs 'lon'"),
    ({"must": [_radius({"lat": 0, "lon": 0}, -1)]}, "radius: must be a number within"),
    ({"must": [_radius({"lat": 0, "lon": 0}, float("inf"))]}, "radius: must be a number within"),
    ({"must": [{"key": "at", "geo_radius": {"radius": 1}}]}, "a GeoRadius needs 'center'"),
    ({"must": [_polygon([(0, 0), (1, 0), (0, 0)])]}, "exterior.points: a ring needs at least 4"),
    (
        {"must": [_polygon([(0, 0), (1, 0), (1, 1), (0, 1)])]},
        "exterior.points: a ring must be closed",
    ),
    ({"must": [{"nested": {"key": "offers"}}]}, "a Nested needs 'filter'"),
    (
        {"must": [{"nested": {"key": "o", "filter": {"must": [{"key": "a"}], "x": 1}}}]},
        "unknown field 'x'",
    ),
    ({"should": [{"must": [{"must_nto": []}]}]}, r"filter.should\[0\].must\[0\]: unknown field"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_SHAPES, ids=[m for _, m in BAD_SHAPES])
async def test_malformed_filters_never_reach_the_server(
    fake: tuple[AsyncZoroClient, Recorder], bad: Any, message: str
) -> None:
    client, recorder = fake
    for call in (
        lambda: client.count("c", bad),
        lambda: client.scroll_page("c", filter=bad),
        lambda: client.delete("c", filter=bad),
        lambda: client.search("c", [1, 0, 0], using="dense", filter=bad),
        lambda: client.search_by_id("c", 1, filter=bad),
    ):
        with pytest.raises(InvalidInput, match=message) as caught:
            await call()
        assert caught.value.status is None
    with pytest.raises(InvalidInput, match=message):
        client.scroll("c", filter=bad)
    assert [r.method for r in recorder.requests] in ([], ["GET"])  # at most the dimension


async def test_a_cyclic_filter_is_refused_not_a_crash(
    fake: tuple[AsyncZoroClient, Recorder],
) -> None:
    client, _ = fake
    loop: dict[str, Any] = {"must": []}
    loop["must"].append(loop)
    with pytest.raises(InvalidInput, match="nested more than"):
        await client.count("c", loop)


async def test_good_filters_are_sent_as_given_with_ids_canonical(
    fake: tuple[AsyncZoroClient, Recorder],
) -> None:
    client, recorder = fake
    u = uuid.uuid4()
    query_filter = {
        "must": [EN, {"has_id": [np.uint64(3), u, str(u).upper()]}],
        "should": {"key": "meta.n", "range": {"gte": np.int64(2), "lt": 2.5}},
        "must_not": [{"is_null": {"key": "note"}}, {"key": "tags[]", "values_count": {"gt": 1}}],
        "min_should": {"conditions": [{"must": [EN]}], "min_count": 1},
    }
    assert await client.count("c", query_filter, exact=False) == 7
    assert recorder.body() == {
        "exact": False,
        "filter": {
            "must": [EN, {"has_id": [3, str(u), str(u)]}],
            "should": {"key": "meta.n", "range": {"gte": 2, "lt": 2.5}},
            "must_not": [
                {"is_null": {"key": "note"}},
                {"key": "tags[]", "values_count": {"gt": 1}},
            ],
            "min_should": {"conditions": [{"must": [EN]}], "min_count": 1},
        },
    }
    # nulls are Qdrant's "unset"; the server's own conditions (geo, text) pass through to it
    geo = {"key": "at", "geo_radius": {"center": {"lat": 1, "lon": 2}, "radius": 3}}
    await client.delete("c", filter={"must": [geo], "should": None})
    assert recorder.body() == {"filter": {"must": [geo]}}
    assert recorder.requests[-1].url.params["wait"] == "true"


async def test_payload_index_requests(fake: tuple[AsyncZoroClient, Recorder]) -> None:
    client, recorder = fake
    await client.create_payload_index("c", "meta.lang", "keyword", wait=False)
    request = recorder.requests[-1]
    assert (request.method, request.url.path, request.url.params["wait"]) == (
        "PUT",
        "/collections/c/index",
        "false",
    )
    assert recorder.body() == {"field_name": "meta.lang", "field_schema": "keyword"}
    await client.create_payload_index("c", "n", {"type": "integer", "range": True})
    assert recorder.body()["field_schema"] == {"type": "integer", "range": True}
    await client.delete_payload_index("c", "tags[]/x")
    assert recorder.requests[-1].method == "DELETE"
    assert recorder.requests[-1].url.raw_path == b"/collections/c/index/tags%5B%5D%2Fx?wait=true"
    for call, message in [
        (lambda: client.create_payload_index("c", "", "keyword"), "field: a payload key"),
        (lambda: client.create_payload_index("c", "a", 3), "schema: a type name"),  # type: ignore[arg-type]
        (lambda: client.create_payload_index("c", "a", {"kind": "x"}), "schema: a type name"),
        (lambda: client.delete_payload_index("c", ""), "field: a payload key"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            await call()


async def test_named_and_sparse_upserts(fake: tuple[AsyncZoroClient, Recorder]) -> None:
    client, recorder = fake
    await client.upsert(
        "c",
        [1, 2],
        {
            "dense": np.eye(2, 3),
            "words": [SparseVector((4, 9), (0.5, 1.0)), {"indices": [], "values": []}],
        },
        [{"a": 1}, None],
    )
    assert recorder.body() == {
        "batch": {
            "ids": [1, 2],
            "vectors": {
                "dense": [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
                "words": [{"indices": [4, 9], "values": [0.5, 1.0]}, {"indices": [], "values": []}],
            },
            "payloads": [{"a": 1}, {}],
        }
    }
    await client.upsert_point(
        "c", 5, {"dense": [0, 0, 1], "words": {"indices": [1], "values": [2]}}
    )
    assert recorder.body()["batch"]["vectors"] == {
        "dense": [[0.0, 0.0, 1.0]],
        "words": [{"indices": [1], "values": [2.0]}],
    }
    # the dense one is checked against the dimension the collection info gives for its name
    with pytest.raises(DimensionMismatch, match=r"vectors\['dense'\]: expected dimension 3"):
        await client.upsert("c", [1], {"dense": [[1, 2]]})
    # a name the collection info does not list: the server judges
    await client.upsert("c", [1], {"other": [[1, 2]]})
    assert recorder.body()["batch"]["vectors"] == {"other": [[1.0, 2.0]]}


BAD_VECTORS: list[tuple[Any, str]] = [
    ({3: [[1, 2, 3]]}, "a vector name must be a string"),
    ({"dense": [[1, 2, 3], [1, 2, 3]]}, r"vectors\['dense'\]: 2 vectors for 1 ids"),
    ({"words": [{"indices": [1, 1], "values": [1, 2]}]}, "indices must be unique"),
    ({"words": [{"indices": [1], "values": [1, 2]}]}, "1 indices for 2 values"),
    ({"words": [{"indices": [-1], "values": [1]}]}, r"within 0..2\^32-1"),
    ({"words": [{"indices": [1], "values": [float("nan")]}]}, "NaN"),
    ({"words": [{"indices": [1.5], "values": [1]}]}, "indices must be a list of integers"),
    ({"words": [{"indices": [1], "values": [1], "x": 1}]}, "a sparse vector is"),
]


@pytest.mark.parametrize(("vectors", "message"), BAD_VECTORS, ids=[m for _, m in BAD_VECTORS])
async def test_bad_named_vectors_never_reach_the_server(
    fake: tuple[AsyncZoroClient, Recorder], vectors: Any, message: str
) -> None:
    client, recorder = fake
    with pytest.raises(InvalidInput, match=message):
        await client.upsert("c", [1], vectors)
    assert all(r.method == "GET" for r in recorder.requests)


async def test_query_bodies(fake: tuple[AsyncZoroClient, Recorder]) -> None:
    client, recorder = fake
    hits = await client.search("c", [1, 0, 0], using="dense", with_vector=["dense", "words"])
    assert recorder.body() == {
        "query": [1.0, 0.0, 0.0],
        "using": "dense",
        "limit": 10,
        "with_payload": True,
        "with_vector": ["dense", "words"],
    }
    assert hits == [
        ScoredPoint(
            1,
            0.5,
            vectors={"dense": (1.0, 0.0, 0.0), "words": SparseVector((4,), (0.5,))},
        )
    ]
    await client.search("c", {"indices": [4, 2], "values": [1, 0.5]}, using="words", limit=3)
    assert recorder.body()["query"] == {"indices": [4, 2], "values": [1.0, 0.5]}
    await client.search(
        "c", [0, 1, 0], using="dense", mmr=Mmr(diversity=0.3, candidates_limit=50), exact=True
    )
    body = recorder.body()
    assert body["query"] == {
        "nearest": [0.0, 1.0, 0.0],
        "mmr": {"diversity": 0.3, "candidates_limit": 50},
    }
    assert body["params"] == {"exact": True}
    await client.search("c", [0, 1, 0], using="dense", mmr=Mmr())
    assert recorder.body()["query"] == {"nearest": [0.0, 1.0, 0.0], "mmr": {}}
    await client.search_by_id("c", 7, using="dense", filter={"must": [EN]}, limit=2)
    assert recorder.body() == {
        "query": 7,
        "using": "dense",
        "filter": {"must": [EN]},
        "limit": 2,
        "with_payload": True,
        "with_vector": False,
    }
    sparse = [SparseVector((1,), (1.0,)), {"indices": [2], "values": [3]}]
    await client.search_batch("c", sparse, using="words", limit=1, with_payload=False)
    assert recorder.body() == {
        "searches": [
            {
                "query": q,
                "using": "words",
                "limit": 1,
                "with_payload": False,
                "with_vector": False,
            }
            for q in ({"indices": [1], "values": [1.0]}, {"indices": [2], "values": [3.0]})
        ]
    }
    with pytest.raises(DimensionMismatch, match="expected dimension 3"):
        await client.search("c", [1, 0], using="dense")


async def test_fused_search_body(fake: tuple[AsyncZoroClient, Recorder]) -> None:
    client, recorder = fake
    en = {"must": [EN]}
    await client.search_fused(
        "c",
        [
            Prefetch([1, 0, 0], using="dense", limit=20, hnsw_ef=64),
            Prefetch(SparseVector((4,), (1.0,)), using="words", limit=20, filter=en),
            Prefetch(
                [0, 0, 1],
                using="dense",
                score_threshold=0.2,
                prefetch=[Prefetch(str(uuid.UUID(int=5)), using="dense", exact=True)],
            ),
        ],
        fusion="dbsf",
        filter=en,
        limit=5,
        with_payload={"include": ["lang"]},
    )
    dense = {"query": [1.0, 0.0, 0.0], "using": "dense", "limit": 20}
    words = {"query": {"indices": [4], "values": [1.0]}, "using": "words", "limit": 20}
    by_id = {"query": str(uuid.UUID(int=5)), "using": "dense", "params": {"exact": True}}
    assert recorder.body() == {
        "query": {"fusion": "dbsf"},
        "prefetch": [
            {**dense, "params": {"exact": False, "hnsw_ef": 64}},
            {**words, "filter": en},
            {
                "query": [0.0, 0.0, 1.0],
                "using": "dense",
                "score_threshold": 0.2,
                "prefetch": [by_id],
            },
        ],
        "filter": en,
        "limit": 5,
        "with_payload": {"include": ["lang"]},
        "with_vector": False,
    }


async def test_bad_queries_never_reach_the_server(
    fake: tuple[AsyncZoroClient, Recorder],
) -> None:
    client, recorder = fake
    sparse = {"indices": [1], "values": [1.0]}
    bad: list[tuple[Any, str]] = [
        (lambda: client.search("c", sparse), "sparse vector is searched by name; pass using="),
        (lambda: client.search("c", [1, 0, 0], using=b"x"), "using: a vector name"),  # type: ignore[arg-type]
        (lambda: client.search("c", [1, 0, 0], mmr=Mmr(diversity=2)), "diversity: must be a"),
        (lambda: client.search("c", [1, 0, 0], mmr=Mmr(candidates_limit=-1)), "candidates_limit"),
        (lambda: client.search("c", [1, 0, 0], with_payload={"only": []}), "with_payload"),
        (lambda: client.search("c", [1, 0, 0], with_vector=[]), "with_vector"),
        (lambda: client.search_fused("c", []), "give a list of Prefetch"),
        (lambda: client.search_fused("c", [Prefetch([1, 0, 0])], fusion="max"), "fusion 'max'"),  # type: ignore[arg-type]
        (lambda: client.search_fused("c", [{"query": [1]}]), r"prefetch\[0\]: must be a Prefetch"),  # type: ignore[list-item]
        (lambda: client.search_fused("c", [Prefetch(sparse)]), r"prefetch\[0\].query: a sparse"),
        (lambda: client.search_fused("c", [Prefetch([np.nan])]), "NaN"),
        (lambda: client.search_fused("c", [Prefetch(-1)]), "outside the unsigned"),
        (lambda: client.search_fused("c", [Prefetch([1], limit=0)]), r"prefetch\[0\].limit"),
        (lambda: client.scroll_page("c", with_payload=3), "with_payload"),
    ]
    for call, message in bad:
        with pytest.raises(InvalidInput, match=message):
            await call()
    deep = Prefetch([1.0])
    for _ in range(10):
        deep = Prefetch([1.0], prefetch=[deep])
    with pytest.raises(InvalidInput, match="nest at most"):
        await client.search_fused("c", [deep])
    assert recorder.requests == []


async def test_named_vectors_come_back_by_name(fake: tuple[AsyncZoroClient, Recorder]) -> None:
    client, _ = fake
    info = await client.get_collection("c")
    assert (info.dimension, info.distance) == (0, "")
    assert info.vectors == {"dense": VectorParams(3, "Cosine")}
    assert info.sparse_vectors == {"words": SparseVectorParams()}
    assert info.payload_schema == {"lang": "keyword"}
    page = await client.scroll_page("c", with_vector=True)
    assert page.points == [
        Record(1, None, None, {"dense": (1.0, 0.0, 0.0), "words": SparseVector((4,), (0.5,))})
    ]
    # without `using`, a collection without an unnamed vector is searched (as Zoro-DB does) by
    # its first dense vector
    with pytest.raises(DimensionMismatch, match="expected dimension 3"):
        await client.search("c", [1, 2, 3, 4, 5])


async def test_the_unnamed_vector_is_named_empty() -> None:
    """Qdrant's name for the unnamed vector is "": usable wherever a name is."""
    info = copy.deepcopy(NAMED_INFO)
    info["config"]["params"]["vectors"][""] = {"size": 2, "distance": "Dot"}
    recorder = Recorder(info)
    async with AsyncZoroClient("http://fake", transport=httpx.MockTransport(recorder)) as client:
        await unnamed_is_named_empty(client, recorder)
        described = await client.get_collection("c")
    assert (described.dimension, described.distance) == (2, "Dot")
    assert described.vectors == {"dense": VectorParams(3, "Cosine")}


async def unnamed_is_named_empty(client: AsyncZoroClient, recorder: Recorder) -> None:
    await client.search("c", [1, 0], using="", with_vector=[""])
    assert recorder.body()["using"] == ""
    assert recorder.body()["with_vector"] == [""]
    with pytest.raises(DimensionMismatch, match="expected dimension 2"):
        await client.search("c", [1, 0, 0], using="")
    await client.upsert("c", [1], {"": [[1, 2]], "words": [SparseVector((1,), (1.0,))]})
    assert recorder.body()["batch"]["vectors"][""] == [[1.0, 2.0]]
    with pytest.raises(DimensionMismatch, match=r"vectors\[''\]: expected dimension 2"):
        await client.upsert("c", [1], {"": [[1, 2, 3]]})
    assert Record.from_json({"id": 1, "vector": {"": [1.0, 2.0]}}) == Record(
        1, None, (1.0, 2.0), {"": (1.0, 2.0)}
    )


async def test_text_index_params(fake: tuple[AsyncZoroClient, Recorder]) -> None:
    client, recorder = fake
    await client.create_payload_index("c", "title", "text")
    assert recorder.body() == {"field_name": "title", "field_schema": "text"}
    params = TextIndexParams(
        tokenizer="prefix", min_token_len=2, phrase_matching=True, stemmer="english"
    )
    await client.create_payload_index("c", "title", params)
    assert recorder.body()["field_schema"] == {
        "type": "text",
        "tokenizer": "prefix",
        "min_token_len": 2,
        "phrase_matching": True,
        "stemmer": {"type": "snowball", "language": "english"},
    }
    await client.create_payload_index("c", "title", TextIndexParams(stopwords="english"))
    assert recorder.body()["field_schema"] == {"type": "text", "stopwords": "english"}
    mixed = TextIndexParams(stopwords=["english", "german"], custom_stopwords=["qdrant"])
    await client.create_payload_index("c", "title", mixed)
    assert recorder.body()["field_schema"]["stopwords"] == {
        "languages": ["english", "german"],
        "custom": ["qdrant"],
    }
    sent = len(recorder.requests)
    for bad, message in [
        (TextIndexParams(tokenizer="klingon"), "schema.tokenizer"),  # type: ignore[arg-type]
        (TextIndexParams(min_token_len=-1), "schema.min_token_len"),
        (TextIndexParams(max_token_len=True), "schema.max_token_len"),
        (TextIndexParams(stemmer=""), "stemmer and stopwords"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            await client.create_payload_index("c", "title", bad)
    assert len(recorder.requests) == sent  # refused before sending
