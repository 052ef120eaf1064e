"""The vector model's request bodies and answers, without a server: create bodies (named, sparse,
multivector, none), collection info and records parsed into typed values, upsert and upload
bodies with optional, sparse and multivectors, matrix queries. A MockTransport records what
would have been sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import numpy as np
import orjson
import pytest

from zoro.client import (
    AsyncZoroClient,
    CollectionInfo,
    HnswParams,
    InvalidInput,
    Prefetch,
    Record,
    ScoredPoint,
    SparseVector,
    SparseVectorParams,
    VectorParams,
)

HNSW = {"m": 16, "ef_construct": 100, "full_scan_threshold": 10000}


def info_of(params: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": "green",
        "segments_count": 1,
        "config": {"params": params, "hnsw_config": HNSW},
    }


INFO = info_of(
    {
        "vectors": {
            "dense": {"size": 3, "distance": "Cosine", "hnsw_config": {"m": 8}, "on_disk": True},
            "colbert": {
                "size": 2,
                "distance": "Dot",
                "multivector_config": {"comparator": "max_sim"},
            },
        },
        "sparse_vectors": {"words": {"modifier": "idf"}, "tags": {}},
    }
)


class Recorder:
    """A fake server for collection "c" (INFO): remembers every request; answers writes with a
    completed update and queries with no hits."""

    def __init__(self, info: Any = INFO) -> None:
        self.requests: list[httpx.Request] = []
        self.info = info

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        result: Any = {"status": "completed", "operation_id": 1}
        if request.method == "GET":
            result = self.info
        elif request.url.path.endswith("/query"):
            result = {"points": []}
        elif request.url.path.endswith("/query/batch"):
            result = [{"points": []}]
        elif request.method == "PUT" and request.url.path.count("/") == 2:
            result = True
        return httpx.Response(200, content=orjson.dumps({"result": result, "status": "ok"}))

    def bodies(self, method: str = "PUT") -> list[Any]:
        return [orjson.loads(r.content) for r in self.requests if r.method == method]

    def body(self) -> Any:
        return orjson.loads(self.requests[-1].content)


@pytest.fixture
async def fake() -> AsyncIterator[tuple[AsyncZoroClient, Recorder]]:
    recorder = Recorder()
    async with AsyncZoroClient("http://fake", transport=httpx.MockTransport(recorder)) as client:
        yield client, recorder


async def test_create_bodies(fake: tuple[AsyncZoroClient, Recorder]) -> None:
    client, recorder = fake
    await client.create_collection("p", 4, "Dot")
    assert recorder.body()["vectors"] == {"size": 4, "distance": "Dot"}
    await client.create_collection(
        "n",
        vectors={
            "": VectorParams(2, "Euclid"),
            "dense": VectorParams(3, hnsw_config=HnswParams(m=8, full_scan_threshold=0)),
            "colbert": VectorParams(128, "Dot", on_disk=False, multivector=True),
        },
        sparse_vectors={"words": SparseVectorParams("idf"), "tags": SparseVectorParams()},
        hnsw_m=12,
        engine="flat",
    )
    assert recorder.body() == {
        "vectors": {
            "": {"size": 2, "distance": "Euclid"},
            "dense": {
                "size": 3,
                "distance": "Cosine",
                "hnsw_config": {"m": 8, "full_scan_threshold": 0},
            },
            "colbert": {
                "size": 128,
                "distance": "Dot",
                "on_disk": False,
                "multivector_config": {"comparator": "max_sim"},
            },
        },
        "sparse_vectors": {"words": {"modifier": "idf"}, "tags": {}},
        "hnsw_config": {"m": 12},
        "zoro": {"engine": "flat"},
    }
    await client.create_collection("s", sparse_vectors={"bm25": SparseVectorParams("idf")})
    assert recorder.body()["vectors"] == {}
    await client.create_collection("none")
    assert recorder.body() == {"vectors": {}, "zoro": {"engine": "hnsw"}}


BAD_CREATES: list[tuple[dict[str, Any], str]] = [
    ({"dimension": 3, "vectors": {"a": VectorParams(3)}}, "dimension or vectors=, not both"),
    ({"vectors": {"a": VectorParams(0)}}, r"vectors\['a'\].size: must be between 1 and 65536"),
    ({"vectors": {"a": VectorParams(3, "Hamming")}}, "distance 'Hamming'"),
    ({"vectors": {"a": (3, "Dot")}}, r"vectors\['a'\]: must be a VectorParams, not tuple"),
    ({"vectors": {1: VectorParams(3)}}, "a vector name must be a string"),
    ({"vectors": {"a": VectorParams(3, hnsw_config=HnswParams(m=1))}}, "hnsw_config m"),
    ({"vectors": {"a": VectorParams(3, hnsw_config={"m": 4})}}, "must be an HnswParams"),
    ({"vectors": {"a": VectorParams(3, on_disk="yes")}}, "on_disk: must be True"),
    ({"vectors": {"a": VectorParams(3, multivector="max_sim")}}, "multivector: must be True"),
    ({"vectors": [VectorParams(3)]}, "a mapping of name -> VectorParams"),
    (
        {"vectors": {"a": VectorParams(3)}, "sparse_vectors": {"a": SparseVectorParams()}},
        "a dense vector has that name already",
    ),
    ({"sparse_vectors": {"w": SparseVectorParams("bm25")}}, 'modifier None or "idf"'),
    ({"sparse_vectors": {"w": {"modifier": "idf"}}}, "a SparseVectorParams"),
]


@pytest.mark.parametrize(("kwargs", "message"), BAD_CREATES, ids=[m for _, m in BAD_CREATES])
async def test_bad_declarations_never_reach_the_server(
    fake: tuple[AsyncZoroClient, Recorder], kwargs: dict[str, Any], message: str
) -> None:
    client, recorder = fake
    with pytest.raises(InvalidInput, match=message):
        await client.create_collection("x", **kwargs)
    assert recorder.requests == []


def test_collection_info_is_typed() -> None:
    info = CollectionInfo.from_json("c", INFO)
    assert info.vectors == {
        "dense": VectorParams(3, "Cosine", HnswParams(m=8), on_disk=True),
        "colbert": VectorParams(2, "Dot", multivector=True),
    }
    assert info.sparse_vectors == {"words": SparseVectorParams("idf"), "tags": SparseVectorParams()}
    assert (info.vector, info.params(""), info.params("colbert")) == (
        None,
        None,
        info.vectors["colbert"],
    )
    bare = {"size": 4, "distance": "Dot", "multivector_config": {"comparator": "max_sim"}}
    plain = CollectionInfo.from_json("p", info_of({"vectors": bare}))
    assert plain.vector == VectorParams(4, "Dot", multivector=True)
    assert (plain.dimension, plain.distance, plain.vectors) == (4, "Dot", {})


def test_records_parse_dense_sparse_and_matrices() -> None:
    matrix = [[1.0, 2.0], [3.0, 4.0]]
    named = {
        "dense": [1.0, 0.0],
        "colbert": matrix,
        "words": {"indices": [1, 4], "values": [0.5, 2.0]},
        "gone": None,
    }
    assert Record.from_json({"id": 1, "vector": named}) == Record(
        1,
        None,
        None,
        {
            "dense": (1.0, 0.0),
            "colbert": ((1.0, 2.0), (3.0, 4.0)),
            "words": SparseVector((1, 4), (0.5, 2.0)),
        },
    )
    # a bare matrix is the unnamed vector, a multivector: under "" only, never in `vector`
    assert Record.from_json({"id": 2, "vector": matrix}) == Record(
        2, None, None, {"": ((1.0, 2.0), (3.0, 4.0))}
    )
    assert Record.from_json({"id": 3, "vector": {}}) == Record(3, None, None, {})
    assert Record.from_json({"id": 4, "vector": [0.5]}) == Record(4, None, (0.5,), None)
    hit = ScoredPoint.from_json({"id": 5, "score": 1.5, "vector": {"": matrix}})
    assert (hit.vector, hit.vectors) == (None, {"": ((1.0, 2.0), (3.0, 4.0))})


async def test_upsert_bodies_with_optional_sparse_and_multivectors(
    fake: tuple[AsyncZoroClient, Recorder],
) -> None:
    client, recorder = fake
    await client.upsert(
        "c",
        [1, 2, 3],
        {
            "dense": [[1, 0, 0], None, np.array([0, 1, 0])],
            "colbert": np.arange(12).reshape(3, 2, 2),
            "words": [None, SparseVector((2,), (1.0,)), None],
        },
    )
    assert recorder.body()["batch"]["vectors"] == {
        "dense": [[1.0, 0.0, 0.0], None, [0.0, 1.0, 0.0]],
        "colbert": [[[0.0, 1.0], [2.0, 3.0]], [[4.0, 5.0], [6.0, 7.0]], [[8.0, 9.0], [10.0, 11.0]]],
        "words": [None, {"indices": [2], "values": [1.0]}, None],
    }
    # point by point: bare (the unnamed vector), by name, none
    await client.upsert("c", [1, 2, 3], [[1, 2, 3], {"colbert": [[1, 2]], "tags": None}, None])
    assert recorder.body()["batch"]["vectors"] == {
        "": [[1.0, 2.0, 3.0], None, None],
        "colbert": [None, [[1.0, 2.0]], None],
    }
    await client.upsert("c", [7], [[[1, 2], [3, 4]]])  # an unnamed multivector
    assert recorder.body()["batch"]["vectors"] == {"": [[[1.0, 2.0], [3.0, 4.0]]]}
    await client.upsert("c", [8, 9], {})  # no vectors at all
    assert recorder.body()["batch"]["vectors"] == {}
    await client.upsert_point(
        "c", 5, {"colbert": [[0, 1], [1, 0]], "words": {"indices": [3], "values": [2]}}
    )
    assert recorder.body()["batch"]["vectors"] == {
        "colbert": [[[0.0, 1.0], [1.0, 0.0]]],
        "words": [{"indices": [3], "values": [2.0]}],
    }
    assert [r.method for r in recorder.requests].count("GET") == 1  # the info, learned once


BAD_UPSERTS: list[tuple[Any, str]] = [
    ({"dense": [[1, 0, 0], None, [1, 0]]}, r"vectors\['dense'\]\[2\]: 2 numbers where the others"),
    (
        {"dense": [[1, 0, 0], None, [1, 0, float("nan")]]},
        r"vectors\['dense'\]\[2\]\[0\]: holds NaN",
    ),
    ({"dense": [[1, 0, 0], {"indices": [1], "values": [1]}, None]}, "mixes dense and sparse"),
    ({"dense": [[1, 2, 3]] * 2}, r"vectors\['dense'\]: 2 vectors for 3 ids"),
    ({"dense": "abc"}, "one vector per point"),
    ({"dense": [None, {"dense": [1, 2, 3]}, None]}, r"\[1\]: a column holds one vector per point"),
    ({"dense": [[], [], []]}, "empty vectors"),
    ({"colbert": [[[1, 2], [3]], None, None]}, r"vectors\['colbert'\]\[0\]: row 1 has 1 numbers"),
    ({"colbert": [[[1, 2, 3]], None, None]}, r"colbert'\]: expected dimension 2, got 3"),
    ({"colbert": [[1, 2], None, None]}, "'colbert' is a multivector: give a matrix"),
    ({"dense": [[[1, 2, 3]], None, None]}, "'dense' is a dense vector, not a multivector"),
    ({"words": [{"indices": [1], "values": [1e39]}, None, None]}, "beyond float32"),
    ({"words": [{"indices": [True], "values": [1]}, None, None]}, "indices must be a list of int"),
    ([[1, 2, 3], {"indices": [1], "values": [1]}, None], r"vectors\[1\]: a sparse vector needs"),
]


@pytest.mark.parametrize(("vectors", "message"), BAD_UPSERTS, ids=[m for _, m in BAD_UPSERTS])
async def test_bad_vectors_never_reach_the_server(
    fake: tuple[AsyncZoroClient, Recorder], vectors: Any, message: str
) -> None:
    client, recorder = fake
    with pytest.raises(InvalidInput, match=message) as caught:
        await client.upsert("c", [1, 2, 3], vectors)
    assert caught.value.status is None
    assert all(r.method == "GET" for r in recorder.requests)


async def test_matrix_queries(fake: tuple[AsyncZoroClient, Recorder]) -> None:
    client, recorder = fake
    await client.search("c", [[1, 0], [0, 1]], using="colbert", limit=3)
    assert recorder.body()["query"] == [[1.0, 0.0], [0.0, 1.0]]
    await client.search_batch("c", np.ones((2, 3, 2)), using="colbert")
    assert [s["query"] for s in recorder.body()["searches"]] == [[[1.0, 1.0]] * 3] * 2
    await client.search_fused(
        "c", [Prefetch([[0.5, 0.5]], using="colbert"), Prefetch([1, 0, 0], using="dense")]
    )
    assert [p["query"] for p in recorder.body()["prefetch"]] == [[[0.5, 0.5]], [1.0, 0.0, 0.0]]
    with pytest.raises(InvalidInput, match=r"prefetch\[0\].query: row 0 holds NaN"):
        await client.search_fused("c", [Prefetch([[np.nan, 1]], using="colbert")])


async def test_upload_cuts_named_columns_in_step(fake: tuple[AsyncZoroClient, Recorder]) -> None:
    client, recorder = fake
    words = [{"indices": [i], "values": [1.0]} if i % 2 else None for i in range(5)]
    result = await client.upload(
        "c",
        range(5),
        {"dense": np.eye(5, 3), "words": words, "colbert": np.zeros((5, 1, 2))},
        batch_size=2,
        parallel=1,
    )
    assert (result.points, result.batches) == (5, 3)
    batches = [b["batch"] for b in recorder.bodies("PUT")]
    assert [b["ids"] for b in batches] == [[0, 1], [2, 3], [4]]
    assert [b["vectors"]["words"] for b in batches][1] == [None, {"indices": [3], "values": [1.0]}]
    assert batches[2]["vectors"]["colbert"] == [[[0.0, 0.0]]]
    with pytest.raises(InvalidInput, match=r"columns out of step from point 2 \('a': 1, 'b': 2\)"):
        await client.upload(
            "c", range(4), {"a": np.ones((3, 3)), "b": np.ones((4, 3))}, batch_size=2
        )
    with pytest.raises(InvalidInput, match="at least one column"):
        await client.upload("c", range(4), {})
