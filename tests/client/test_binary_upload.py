"""upload() and upload_points() send the binary body (application/vnd.zoro.points) to a server
that offers it, JSON otherwise or when asked; `zoro import` too. Against the real test server
(through a transport that notes each request's Content-Type) and against fakes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
import orjson
import pytest

from tests.client.conftest import FAST_RETRY
from tests.client.test_cli import run
from zoro.client import AsyncZoroClient, InvalidInput, SparseVectorParams, VectorParams
from zoro.client import _binary as client_binary
from zoro.settings import LimitSettings
from zoro.wire import binary as server_binary

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from zoro.testing import ServerProcess

BINARY = "application/vnd.zoro.points"


class Noting(httpx.AsyncBaseTransport):
    """The network, noting the method, path and Content-Type of every request."""

    def __init__(self) -> None:
        self.network = httpx.AsyncHTTPTransport()
        self.seen: list[tuple[str, str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        kind = request.headers.get("content-type", "")
        self.seen.append((request.method, request.url.path, kind))
        return await self.network.handle_async_request(request)

    async def aclose(self) -> None:
        await self.network.aclose()

    def upserts(self) -> list[str]:
        return [kind for method, path, kind in self.seen if method == "PUT" and "/points" in path]


@pytest.fixture
async def noted(server: ServerProcess) -> AsyncIterator[tuple[AsyncZoroClient, Noting]]:
    noting = Noting()
    async with AsyncZoroClient(server.url, retry=FAST_RETRY, transport=noting) as client:
        yield client, noting


def vectors_of(records: list[Any], name: str | None = None) -> bytes:
    rows = [r.vector if name is None else r.vectors[name] for r in records]
    return np.asarray(rows, dtype=np.float32).tobytes()


async def test_upload_sends_binary_to_a_zoro_server_and_stores_what_json_stores(
    noted: tuple[AsyncZoroClient, Noting], name: str
) -> None:
    client, noting = noted
    rows = np.random.default_rng(5).normal(size=(2_500, 8)).astype(np.float32)
    payloads = [{"i": i} if i % 3 else None for i in range(2_500)]
    await client.create_collection(name, 8, "Euclid", engine="flat")
    await client.create_collection(name + "j", 8, "Euclid", engine="flat")
    done = await client.upload(name, range(2_500), rows, payloads, batch_size=1_000)
    assert (done.points, done.batches) == (2_500, 3)
    assert noting.upserts() == [BINARY] * 3
    assert [s[:2] for s in noting.seen].count(("GET", "/")) == 1  # asked once
    await client.upload(name + "j", range(2_500), rows, payloads, encoding="json")
    assert noting.upserts()[3:] == ["application/json"] * 3
    ids = list(range(0, 2_500, 7))
    binary_ones = await client.retrieve(name, ids, with_vector=True)
    json_ones = await client.retrieve(name + "j", ids, with_vector=True)
    assert [p.payload for p in binary_ones] == [p.payload for p in json_ones]
    assert vectors_of(binary_ones) == vectors_of(json_ones) == rows[ids].tobytes()
    # the same client again: no second question
    await client.upload(name, range(10), rows[:10])
    assert [s[:2] for s in noting.seen].count(("GET", "/")) == 1


async def test_upload_points_and_named_vectors_go_binary(
    noted: tuple[AsyncZoroClient, Noting], name: str
) -> None:
    client, noting = noted
    await client.create_collection(name, 3, "Dot")
    points = [(i, [float(i), 1.0, 2.0], {"n": i}) for i in range(5)]
    done = await client.upload_points(name, iter(points), batch_size=2)
    assert done.batches == 3
    assert noting.upserts() == [BINARY] * 3
    got = await client.retrieve(name, [4], with_vector=True)
    assert (got[0].payload, got[0].vector) == ({"n": 4}, (4.0, 1.0, 2.0))

    named = name + "n"
    await client.create_collection(
        named,
        vectors={"image": VectorParams(4, "Cosine"), "text": VectorParams(2, "Dot")},
        sparse_vectors={"words": SparseVectorParams()},
    )
    rng = np.random.default_rng(2)
    image = rng.normal(size=(6, 4)).astype(np.float32)
    text = rng.normal(size=(6, 2)).astype(np.float32)
    noting.seen.clear()
    await client.upload(named, range(6), {"text": text, "image": image}, batch_size=3)
    assert noting.upserts() == [BINARY] * 2
    stored = await client.retrieve(named, range(6), with_vector=True)
    assert vectors_of(stored, "text") == text.tobytes()
    norms = np.linalg.norm(image, axis=1, keepdims=True)  # Cosine: normalised on the server
    assert np.allclose(
        np.frombuffer(vectors_of(stored, "image"), np.float32), (image / norms).ravel()
    )
    # a sparse column cannot go binary: those batches go as JSON, and arrive all the same
    words = [{"indices": [i], "values": [1.0]} for i in range(6)]
    noting.seen.clear()
    await client.upload(named, range(10, 16), {"text": text, "words": words}, batch_size=3)
    assert noting.upserts() == ["application/json"] * 2
    assert await client.count(named) == 12


async def test_an_encoding_that_is_none_of_the_three(
    noted: tuple[AsyncZoroClient, Noting],
) -> None:
    client, noting = noted
    with pytest.raises(InvalidInput, match="encoding: one of 'auto', 'binary', 'json'"):
        await client.upload("c", range(2), np.ones((2, 4)), encoding="yaml")  # type: ignore[arg-type]
    assert noting.seen == []


# ------------------------------------------------------------------------------ with fakes


class Fake:
    """A server for collection "c" (4-d): GET / answers `root`, GET of the collection its info,
    a write a completed update; remembers the writes."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.roots = 0
        self.writes: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/":
            self.roots += 1
            return httpx.Response(200, content=orjson.dumps(self.root))
        if request.method == "GET":
            params = {"vectors": {"size": 4, "distance": "Euclid"}}
            hnsw = {"m": 16, "ef_construct": 100, "full_scan_threshold": 10_000}
            config = {"params": params, "hnsw_config": hnsw}
            info = {"status": "green", "segments_count": 1, "config": config}
            return httpx.Response(200, content=orjson.dumps({"result": info, "status": "ok"}))
        self.writes.append(request)
        update = {"status": "completed", "operation_id": 1}
        return httpx.Response(200, content=orjson.dumps({"result": update, "status": "ok"}))


QDRANT_ROOT = {"title": "qdrant - vector search engine", "version": "1.13.0"}


async def test_json_to_a_server_that_does_not_offer_the_body() -> None:
    fake = Fake(QDRANT_ROOT)
    async with AsyncZoroClient("http://fake", transport=httpx.MockTransport(fake)) as client:
        await client.upload("c", range(5), np.ones((5, 4)), batch_size=2)
        await client.upload("c", range(5), np.ones((5, 4)), batch_size=5)
    assert [r.headers["content-type"] for r in fake.writes] == ["application/json"] * 4
    assert fake.roots == 1
    assert orjson.loads(fake.writes[0].content)["batch"]["ids"] == [0, 1]


async def test_a_binary_body_reads_back_with_the_servers_decoder() -> None:
    """What the client writes is what zoro.wire.binary reads: ids, payloads, the matrices."""
    fake = Fake(QDRANT_ROOT)  # not offered: "binary" sends it all the same
    rows = np.random.default_rng(1).normal(size=(7, 4))  # float64: sent as float32
    ids: list[Any] = [1, "2b7f7bd0-4d61-4d7e-9f5c-2a6a2b5f44a1", 3, 4, 5, 6, 2**64 - 1]
    payloads = [{"k": i} if i % 2 else None for i in range(7)]
    async with AsyncZoroClient("http://fake", transport=httpx.MockTransport(fake)) as client:
        await client.upload("c", ids, rows, payloads, batch_size=4, encoding="binary")
    assert fake.roots == 0
    decoded = []
    for request in fake.writes:
        assert request.headers["content-type"] == BINARY
        assert request.url.params["wait"] == "true"
        decoded.append(server_binary.decode(request.content, LimitSettings()))
    header = [d.header for d in decoded]
    assert [i for h in header for i in h["ids"]] == ids
    assert [p for h in header for p in h["payloads"]] == [p or {} for p in payloads]
    assert all(h["vectors"] == [{"name": "", "dim": 4}] for h in header)
    matrices = np.vstack([d.matrices[0][1] for d in decoded])
    assert matrices.tobytes() == rows.astype(np.float32).tobytes()
    # the JSON header is padded so that the matrices start on an 8-byte boundary
    for request in fake.writes:
        json_length = int.from_bytes(request.content[8:12], "little")
        assert (20 + json_length) % 8 == 0


def test_the_client_encoder_refuses_what_the_body_cannot_carry() -> None:
    assert client_binary.encode({"ids": [1], "vectors": {}}) is None
    assert client_binary.encode({"ids": [1], "vectors": {"w": [{"indices": [1]}]}}) is None
    assert client_binary.encode({"ids": [1], "vectors": {"m": np.ones((1, 2, 3))}}) is None
    assert client_binary.offered({"zoro_points_body": {"media_type": BINARY, "versions": [1]}})
    for other in (None, [], {}, {"zoro_points_body": {"media_type": BINARY, "versions": [2]}}):
        assert not client_binary.offered(other)


# ------------------------------------------------------------------------------ zoro import


@pytest.mark.parametrize("json_body", [False, True])
def test_zoro_import_sends_binary_unless_told(
    server: ServerProcess,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    json_body: bool,
) -> None:
    encoded: list[int] = []
    real = client_binary.encode

    def counting(batch: Any) -> bytes | None:
        body = real(batch)
        encoded.append(body is not None)
        return body

    monkeypatch.setattr(client_binary, "encode", counting)
    rows = np.random.default_rng(9).normal(size=(3_000, 6)).astype(np.float32)
    np.save(tmp_path / "rows.npy", rows)
    name = f"cli_binary_{int(json_body)}"
    flags = ["--json-body"] if json_body else []
    args = ["import", name, str(tmp_path / "rows.npy"), "--create", "--distance", "Euclid"]
    code, out, err = run(server, monkeypatch, capsys, *args, "--no-progress", *flags)
    assert code == 0, err
    assert f"imported 3,000 points into {name}" in out
    assert encoded == ([] if json_body else [True] * 3)
    got = httpx.post(
        f"{server.url}/collections/{name}/points", json={"ids": [2_999], "with_vector": True}
    ).json()["result"]
    assert np.asarray(got[0]["vector"], dtype=np.float32).tobytes() == rows[2_999].tobytes()
