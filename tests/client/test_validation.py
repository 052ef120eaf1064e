"""Bad input raises before any request is sent: a MockTransport counts what reaches "the server".
The collection's dimension (4) is learned once, by one GET, and cached."""

from __future__ import annotations

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
    Limits,
    PayloadTooLarge,
    ZoroClientError,
)

INFO = {
    "status": "green",
    "optimizer_status": "ok",
    "segments_count": 1,
    "points_count": 0,
    "config": {
        "params": {"vectors": {"size": 4, "distance": "Dot"}},
        "hnsw_config": {"m": 16, "ef_construct": 100, "full_scan_threshold": 10000},
    },
}


class Counting:
    """A fake server: answers GET /collections/c with a 4-dimensional collection and every
    other request with a completed update; remembers every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        result: Any = INFO if request.method == "GET" else {"status": "completed"}
        return httpx.Response(200, content=orjson.dumps({"result": result, "status": "ok"}))


@pytest.fixture
async def fake() -> AsyncIterator[tuple[AsyncZoroClient, Counting]]:
    counting = Counting()
    limits = Limits(
        max_batch_points=1000, max_batch_searches=10, max_payload_bytes=1000, max_body_bytes=50_000
    )
    async with AsyncZoroClient(
        "http://fake", transport=httpx.MockTransport(counting), limits=limits
    ) as client:
        await client.get_collection("c")
        assert len(counting.requests) == 1
        yield client, counting


V = [[0.0, 1.0, 2.0, 3.0]]
BAD_UPSERTS: list[tuple[str, Any, Any, Any, type[ZoroClientError], str]] = [
    ("nan", [1], [[0, float("nan"), 0, 0]], None, InvalidInput, r"vectors\[0\]: holds NaN"),
    ("inf", [1], [[0, 0, float("inf"), 0]], None, InvalidInput, "NaN or infinity"),
    ("too big for f32", [1], [[1e300, 0, 0, 0]], None, InvalidInput, "beyond float32"),
    ("ragged", [1, 2], [[0, 0, 0, 0], [0, 0]], None, InvalidInput, "equal-length"),
    ("strings", [1], [["a", "b", "c", "d"]], None, InvalidInput, "lists of numbers"),
    ("wrong dimension", [1], [[0, 0, 0]], None, DimensionMismatch, "expected dimension 4, got 3"),
    ("negative id", [-1], V, None, InvalidInput, "outside the unsigned 64-bit range"),
    ("id past u64", [2**64], V, None, InvalidInput, "outside the unsigned 64-bit range"),
    ("bool id", [True], V, None, InvalidInput, "not a bool"),
    ("float id", [1.5], V, None, InvalidInput, "not float"),
    ("bad uuid", ["not-a-uuid"], V, None, InvalidInput, "not a valid UUID"),
    ("negative id array", np.array([-3]), V, None, InvalidInput, "must not be negative"),
    ("ids vs vectors", [1, 2], V, None, InvalidInput, "1 vectors for 2 ids"),
    ("payload list", [1], V, [[1, 2]], InvalidInput, "must be a JSON object"),
    ("payload set", [1], V, [{"s": {1, 2}}], InvalidInput, "cannot be encoded as JSON"),
    ("payload key", [1], V, [{1: "x"}], InvalidInput, "cannot be encoded as JSON"),
    ("payload count", [1], V, [{}, {}], InvalidInput, "2 payloads for 1 points"),
    ("payload size", [1], V, [{"x": "y" * 2000}], PayloadTooLarge, "over 1000"),
    ("batch size", range(1001), np.zeros((1001, 4)), None, InvalidInput, "at most 1000; use"),
]


@pytest.mark.parametrize(
    ("case", "ids", "vectors", "payloads", "error", "message"),
    BAD_UPSERTS,
    ids=[c[0] for c in BAD_UPSERTS],
)
async def test_bad_upserts_never_reach_the_server(
    fake: tuple[AsyncZoroClient, Counting],
    case: str,
    ids: Any,
    vectors: Any,
    payloads: Any,
    error: type[ZoroClientError],
    message: str,
) -> None:
    client, counting = fake
    with pytest.raises(error, match=message) as caught:
        await client.upsert("c", ids, vectors, payloads)
    assert caught.value.status is None  # the client's own verdict, not the server's
    # Nothing was written. A vector of another length costs one GET: the cached dimension may
    # be stale (the collection recreated), so the client asks again before refusing.
    expected = ["GET"] if case == "wrong dimension" else []
    assert [r.method for r in counting.requests[1:]] == expected


async def test_other_bad_calls_never_reach_the_server(
    fake: tuple[AsyncZoroClient, Counting],
) -> None:
    client, counting = fake
    bad: list[tuple[Any, str]] = [
        (lambda: client.search("c", [0, 0, float("nan"), 0]), "NaN"),
        (lambda: client.search("c", [0, 0, 0]), "expected dimension 4"),
        (lambda: client.search("c", [[0, 0, 0, 0]]), "is a dense vector, not a multivector"),
        (lambda: client.search("c", [[[0, 0, 0, 0]]]), "a list of rows of numbers"),
        (lambda: client.search("c", V[0], limit=10_001), "limit: must be between 0 and 10000"),
        (lambda: client.search("c", V[0], score_threshold=float("inf")), "score_threshold"),
        (lambda: client.search("c", V[0], hnsw_ef=0), "hnsw_ef"),
        (lambda: client.search_batch("c", np.zeros((11, 4))), "at most 10"),
        (lambda: client.search_by_id("c", -5), "unsigned 64-bit"),
        (lambda: client.retrieve("c", ["x"]), "not a valid UUID"),
        (lambda: client.retrieve("c", "abc"), "not a string"),
        (lambda: client.delete("c", [None]), "not NoneType"),
        (lambda: client.get_point("c", 3.0), "not float"),
        (lambda: client.count("../etc"), "collection name"),
        (lambda: client.get_collection("a/b"), "collection name"),
        (lambda: client.create_collection("n", 0), "dimension: must be between 1"),
        (lambda: client.create_collection("n", 4, "Hamming"), "distance 'Hamming'"),  # type: ignore[arg-type]
        (lambda: client.create_collection("n", 4, engine="ivf"), "engine 'ivf'"),  # type: ignore[arg-type]
        (lambda: client.create_collection("n", 4, hnsw_m=1), "hnsw m"),
        (lambda: client.scroll_page("c", limit=0), "limit"),
        (lambda: client.scroll_page("c", offset=-1), "unsigned"),
        (lambda: client.upload("c", range(3), np.zeros((3, 4)), batch_size=0), "batch_size"),
        (lambda: client.upload("c", range(3), np.zeros((3, 4)), parallel=1000), "parallel"),
        (lambda: client.add_texts("c", [1]), r"texts\[0\]: must be a string"),  # type: ignore[list-item]
    ]
    for call, message in bad:
        with pytest.raises(InvalidInput, match=message):
            await call()
    with pytest.raises(InvalidInput, match="page_size"):
        client.scroll("c", page_size=0)
    # only GETs of the collection (the dimension refetched after a mismatch), nothing else
    assert {(r.method, r.url.path) for r in counting.requests} == {("GET", "/collections/c")}


async def test_a_body_over_the_limit_is_refused_before_sending(
    fake: tuple[AsyncZoroClient, Counting],
) -> None:
    client, counting = fake
    with pytest.raises(PayloadTooLarge, match="upload"):
        await client.upsert("c", range(60), np.random.rand(60, 4), [{"x": "y" * 900}] * 60)
    assert len(counting.requests) == 1


async def test_upload_checks_each_batch_before_sending_it(
    fake: tuple[AsyncZoroClient, Counting],
) -> None:
    client, counting = fake
    vectors = np.ones((250, 4))
    vectors[120, 2] = np.nan
    with pytest.raises(InvalidInput, match=r"vectors\[20\]: holds NaN") as caught:
        await client.upload("c", range(250), vectors, batch_size=50, parallel=1)
    assert any("at or after point 100" in note for note in caught.value.__notes__)
    puts = [r for r in counting.requests if r.method == "PUT"]
    assert len(puts) <= 2  # the two good batches before it, at most


async def test_good_input_is_sent_in_canonical_form(
    fake: tuple[AsyncZoroClient, Counting],
) -> None:
    client, counting = fake
    u = uuid.uuid4()
    await client.upsert(
        "c",
        [np.uint64(7), u, str(u).upper()],
        np.eye(3, 4, dtype=np.float64),
        [{"n": np.int64(1)}, None, {"a": [1, 2]}],
    )
    body = orjson.loads(counting.requests[-1].content)
    assert body["batch"]["ids"] == [7, str(u), str(u)]
    assert body["batch"]["vectors"][0] == [1.0, 0.0, 0.0, 0.0]
    assert body["batch"]["payloads"] == [{"n": 1}, {}, {"a": [1, 2]}]
    assert counting.requests[-1].url.params["wait"] == "true"
