"""Reference ASGI apps for bench/http.py, served by Zoro's own hypercorn trio configuration.

    python -m bench.http_refs ping --port N
    python -m bench.http_refs query --port N --data vectors.npy [--index ref.faiss] [--ef 64]
    python -m bench.http_refs ingest --port N
    python -m bench.http_refs durable --port N --file PATH

`ping` is the ceiling: no framework, a fixed small JSON answer to any request (the body, if any,
is read and dropped). `query` is the bare query reference: only the irreducible work of
POST /collections/{c}/points/query: read the body, orjson-parse it, one raw FAISS HNSW search
inline on the event loop (single OpenMP thread, like Zoro's inline search), Euclid scores
(the square root of FAISS's squared L2), and an orjson answer in Qdrant's shape. Any GET gets the
ping answer, so the bench can poll for readiness. `ingest` is the decode ceiling of
PUT /collections/{c}/points: orjson-parse the body and turn its points' vectors into one float32
matrix, then answer "completed" without storing anything. `durable` is the bare durable write:
orjson-parse the body, append it to one file, fdatasync that file and answer "completed", all
inline on the event loop (no thread, no batching): the least a durable write over this HTTP stack
can cost. With `--sync-in-thread` the fdatasync runs in a worker thread instead, so other
connections are served meanwhile (concurrent syncs share the disk's flushes as the kernel
allows, with no group commit of its own): the reference at many connections (bench/pgvector.py).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from functools import partial
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import orjson
import trio
from hypercorn.trio import serve

from zoro.http.server import hypercorn_config
from zoro.settings import ServerSettings, Settings

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Scope = MutableMapping[str, Any]

JSON_HEADERS = [(b"content-type", b"application/json")]
PING_BODY = orjson.dumps({"result": {"pong": True}, "status": "ok", "time": 0.0})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b""
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _answer(send: Send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": JSON_HEADERS})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def ping_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    await _read_body(receive)
    await _answer(send, 200, PING_BODY)


class QueryApp:
    """The search route's irreducible work over one FAISS HNSW index whose ids are point ids."""

    def __init__(self, index: faiss.Index, ef_search: int) -> None:
        self.index = index
        self.params = hnsw_params(ef_search)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        body = await _read_body(receive)
        if scope["method"] == "GET":
            await _answer(send, 200, PING_BODY)
            return
        await _answer(send, 200, self.answer(body))

    def answer(self, body: bytes) -> bytes:
        started = time.perf_counter()
        request = orjson.loads(body)
        query = np.asarray(request["query"], dtype=np.float32).reshape(1, -1)
        limit = int(request.get("limit", 10))
        distances, labels = self.index.search(query, limit, params=self.params)
        scores = np.sqrt(np.maximum(distances[0], 0.0)).tolist()
        points = [
            {"id": label, "version": 0, "score": score}
            for label, score in zip(labels[0].tolist(), scores, strict=True)
            if label >= 0
        ]
        result = {"result": {"points": points}, "status": "ok", "time": 0.0}
        result["time"] = time.perf_counter() - started
        return orjson.dumps(result)


async def ingest_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    body = await _read_body(receive)
    if scope["method"] == "GET":
        await _answer(send, 200, PING_BODY)
        return
    started = time.perf_counter()
    points = orjson.loads(body)["points"]
    ids = [p["id"] for p in points]
    vectors = np.asarray([p["vector"] for p in points], dtype=np.float32)
    assert vectors.shape[0] == len(ids)
    result = {"operation_id": 0, "status": "completed"}
    elapsed = time.perf_counter() - started
    await _answer(send, 200, orjson.dumps({"result": result, "status": "ok", "time": elapsed}))


class DurableApp:
    """The irreducible work of a durable PUT /points: parse, append, fdatasync, answer."""

    def __init__(self, path: Path, *, sync_in_thread: bool = False) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.sync_in_thread = sync_in_thread

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        body = await _read_body(receive)
        if scope["method"] == "GET":
            await _answer(send, 200, PING_BODY)
            return
        started = time.perf_counter()
        points = orjson.loads(body)["points"]
        os.write(self.fd, body)  # O_APPEND: one write per request, never interleaved
        if self.sync_in_thread:
            await trio.to_thread.run_sync(os.fdatasync, self.fd)
        else:
            os.fdatasync(self.fd)
        result = {"operation_id": len(points), "status": "completed"}
        elapsed = time.perf_counter() - started
        await _answer(send, 200, orjson.dumps({"result": result, "status": "ok", "time": elapsed}))


def hnsw_params(ef_search: int) -> Any:
    """FAISS's SearchParametersHNSW (missing from its type stubs, hence Any)."""
    raw: Any = faiss
    params = raw.SearchParametersHNSW()
    params.efSearch = ef_search
    return params


def build_hnsw(data: np.ndarray[Any, Any], *, m: int, ef_construct: int) -> faiss.IndexHNSWFlat:
    """The reference index: FAISS HNSW (flat storage, L2) with Zoro's build parameters."""
    index = faiss.IndexHNSWFlat(data.shape[1], m, faiss.METRIC_L2)
    index.hnsw.efConstruction = ef_construct
    index.add(np.ascontiguousarray(data, dtype=np.float32))
    return index


def load_query_app(data_path: Path, index_path: Path | None, ef_search: int) -> QueryApp:
    """Load the index the bench saved, or build one from the .npy (M=16, efC=100)."""
    if index_path is not None and index_path.exists():
        index = faiss.read_index(str(index_path))
    else:
        index = build_hnsw(np.load(data_path), m=16, ef_construct=100)
    return QueryApp(index, ef_search)


def _serve(app: Any, port: int) -> None:
    faiss.omp_set_num_threads(1)  # Zoro's inline search runs FAISS on one thread
    settings = Settings(server=ServerSettings(host="127.0.0.1", port=port))
    trio.run(partial(serve, app, hypercorn_config(settings)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("app", choices=["ping", "query", "ingest", "durable"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data", type=Path, help="the vectors (.npy); ids are row numbers")
    parser.add_argument("--index", type=Path, help="a saved FAISS index of --data (optional)")
    parser.add_argument("--ef", type=int, default=64, help="HNSW efSearch")
    parser.add_argument("--file", type=Path, help="durable: the file bodies are appended to")
    parser.add_argument(
        "--sync-in-thread", action="store_true", help="durable: fdatasync in a worker thread"
    )
    args = parser.parse_args(argv)
    if args.app == "ping":
        _serve(ping_app, args.port)
    elif args.app == "ingest":
        _serve(ingest_app, args.port)
    elif args.app == "durable":
        if args.file is None:
            parser.error("durable needs --file")
        _serve(DurableApp(args.file, sync_in_thread=args.sync_in_thread), args.port)
    else:
        if args.data is None:
            parser.error("query needs --data")
        _serve(load_query_app(args.data, args.index, args.ef), args.port)


if __name__ == "__main__":
    main()
