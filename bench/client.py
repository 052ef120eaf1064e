"""Figures for the Python client (zoro.client), each beside its reference from the same run.

    .venv/bin/python -m bench.client [--points 1000000] [--json bench/results/client.json]
                                     [--dir DIR] [--sections ingest,search] [--http2]
                                     [--engine hnsw|flat] [--server-tree DIR]

1. Upload: `AsyncZoroClient.upload` of N x 128 float32 points (batches of 1,000, 8 in flight)
   into a fresh HNSW collection on a fresh server, end to end (first request to last ack),
   against the server's own in-process ingest rate: 8 trio tasks writing the same 1,000-point
   batches through CollectionManager in a child process. Goal >= 0.7x. Also measured: a bare
   httpx loop sending the same batches as JSON (the HTTP path's own ceiling).
2. Client overhead: single-vector searches (limit 10, with payload) from 64 concurrent tasks
   through the client, against bare httpx loops (same request bodies, answers parsed with
   orjson) in the same run, on a 42,000-point collection, once indexed: one AsyncClient with a
   pool of 64, as one would write it, and 8 AsyncClients of 8 connections, the client's own
   layout. Goal >= 0.9x. `--http2` adds the bare loop over h2c. Also reported: the caller's
   CPU per request, which the machine's load disturbs much less than QPS.

Each measurement gets its own server process, so that background index builds left over from
one cannot slow the next. `--server-tree DIR` runs the server and the in-process engine from
another copy of the source (for example `git archive HEAD | tar -x -C DIR`), so that the client
is measured against a stable server while the working tree is being edited. The machine has
2 cores shared with other work: read the ratios, and the load printed beside each figure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
import orjson
import trio

from bench import engine_ingest as engine_ingest_reference
from zoro.client import AsyncZoroClient
from zoro.testing import ServerProcess

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import numpy.typing as npt

DIM = 128
BATCH = 1_000
PARALLEL = 8
# Two full fresh segments (sealed once they pass 20,000 points, in 1,000-point batches): every
# point ends up in an HNSW graph, none in an exactly searched remainder.
SEARCH_POINTS = 42_000
CONCURRENCY = 64
NUMPY = orjson.OPT_SERIALIZE_NUMPY


def load() -> float:
    return round(os.getloadavg()[0], 2)


def data(n: int, seed: int = 0) -> npt.NDArray[np.float32]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(64, DIM)).astype(np.float32) * 4
    noise = rng.normal(size=(n, DIM)).astype(np.float32)
    return np.ascontiguousarray(centres[rng.integers(0, 64, size=n)] + noise)


# ------------------------------------------------------------------------------ 1. upload


SERVER_TREE: Path | None = None  # --server-tree
ENGINE = "hnsw"  # --engine


def server_process(data_dir: Path) -> ServerProcess:
    """A server from the working tree, or from SERVER_TREE (found first: it is the cwd of the
    `python -m zoro.cli` child and heads its PYTHONPATH)."""
    if SERVER_TREE is None:
        return ServerProcess(data_dir).start()
    with contextlib.chdir(SERVER_TREE):
        return ServerProcess(data_dir, env={"PYTHONPATH": str(SERVER_TREE)}).start()


def engine_ingest(data_path: Path, directory: Path) -> dict[str, Any]:
    """The in-process figure: the same batches through CollectionManager, in a child."""
    return engine_ingest_reference.measure(
        data_path, directory, tasks=PARALLEL, kind=ENGINE, batch=BATCH, source_tree=SERVER_TREE
    )


async def client_upload(url: str, vectors: npt.NDArray[np.float32]) -> dict[str, Any]:
    async with AsyncZoroClient(url, timeout=300.0) as client:
        await client.create_collection("c", DIM, "Euclid", engine=ENGINE)  # type: ignore[arg-type]
        before = load()
        result = await client.upload(
            "c", range(len(vectors)), vectors, batch_size=BATCH, parallel=PARALLEL
        )
        assert await client.count("c") == len(vectors)
    return {
        "points": result.points,
        "seconds": result.seconds,
        "points_per_s": result.points_per_s,
        "retried_batches": result.retried_batches,
        "load_1m": before,
    }


async def bare_upload(url: str, vectors: npt.NDArray[np.float32]) -> dict[str, Any]:
    """The HTTP path alone: the same batches as columnar JSON, from PARALLEL connections."""
    limits = httpx.Limits(max_connections=PARALLEL, max_keepalive_connections=PARALLEL)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=300.0) as http:
        create = {"vectors": {"size": DIM, "distance": "Euclid"}, "zoro": {"engine": ENGINE}}
        r = await http.put("/collections/c", json=create)
        r.raise_for_status()
        starts = iter(range(0, len(vectors), BATCH))
        before = load()
        started = time.perf_counter()

        async def sender() -> None:
            for s in starts:
                rows = vectors[s : s + BATCH]
                body = orjson.dumps(
                    {"batch": {"ids": list(range(s, s + len(rows))), "vectors": rows}}, option=NUMPY
                )
                answer = await http.put(
                    "/collections/c/points",
                    content=body,
                    params={"wait": "true"},
                    headers={"content-type": "application/json"},
                )
                answer.raise_for_status()

        async with trio.open_nursery() as nursery:
            for _ in range(PARALLEL):
                nursery.start_soon(sender)
        elapsed = time.perf_counter() - started
    return {
        "points": len(vectors),
        "seconds": elapsed,
        "points_per_s": len(vectors) / elapsed,
        "load_1m": before,
    }


def ingest(root: Path, n: int, rounds: int) -> dict[str, Any]:
    vectors = data(n)
    path = root / "vectors.npy"
    np.save(path, vectors)
    print(
        f"upload: {n:,} x {DIM} float32 into {ENGINE}, batches of {BATCH:,}, {PARALLEL} in flight",
        flush=True,
    )
    engine = engine_ingest(path, root / "engine")
    print(
        f"  in-process engine  {engine['points_per_s']:>9,.0f} points/s  "
        f"(load {engine['load_1m']})",
        flush=True,
    )
    runs: dict[str, Any] = {"engine": engine, "client": [], "bare_httpx": []}
    variants: list[tuple[str, Callable[[str], Awaitable[dict[str, Any]]]]] = [
        ("client", lambda url: client_upload(url, vectors)),
        ("bare_httpx", lambda url: bare_upload(url, vectors)),
    ]
    # No HTTP/2 upload: over h2c, hypercorn's flow-control window lets a 1.3 MB body through
    # 64 KiB at a time; it ran at a third of HTTP/1.1 and then stalled for good (README).
    for turn in range(rounds):  # alternated, so that a change in load hits both alike
        for label, make in variants:
            server = server_process(root / f"server-{label}-{turn}")
            cpu = time.process_time()
            try:
                run = trio.run(make, server.url)
            finally:
                server.kill()  # no graceful drain of the index builds: they are not measured
            # this process's CPU per point: what the sender itself costs, whatever the load
            run["client_cpu_us_per_point"] = (time.process_time() - cpu) / n * 1e6
            runs[label].append(run)
            print(
                f"  {label:18} {run['points_per_s']:>9,.0f} points/s  "
                f"x engine {run['points_per_s'] / engine['points_per_s']:.2f}  "
                f"sender CPU {run['client_cpu_us_per_point']:.1f} us/point  "
                f"(load {run['load_1m']})",
                flush=True,
            )
    best = {
        label: max(r["points_per_s"] for r in runs[label]) for label in ("client", "bare_httpx")
    }
    runs["best"] = best
    runs["ratio_client_engine"] = best["client"] / engine["points_per_s"]
    runs["ratio_client_bare"] = best["client"] / best["bare_httpx"]
    print(
        f"  best: client x engine {runs['ratio_client_engine']:.2f}, "
        f"client / bare httpx {runs['ratio_client_bare']:.2f}",
        flush=True,
    )
    return runs


# ------------------------------------------------------------------------------ 2. search


async def closed_loop(do: Callable[[int], Awaitable[None]], requests: int) -> float:
    """QPS of `requests` calls from CONCURRENCY tasks, each taking the next query index."""
    counter = iter(range(requests))

    async def worker() -> None:
        for i in counter:
            await do(i)

    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(CONCURRENCY):
            nursery.start_soon(worker)
    return requests / (time.perf_counter() - started)


async def search_qps(
    url: str, queries: npt.NDArray[np.float32], requests: int, rounds: int, http2: bool
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    results: dict[str, list[float]] = {"client": [], "bare_httpx": [], "bare_httpx_8x8": []}
    if http2:
        results["bare_httpx_h2c"] = []
    cpu_us: dict[str, list[float]] = {name: [] for name in results}
    loads: list[float] = []
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(AsyncZoroClient(url, max_connections=CONCURRENCY))
        bare = await stack.enter_async_context(
            httpx.AsyncClient(base_url=url, limits=limits, timeout=30.0)
        )
        # HTTP/2 with prior knowledge, the question being whether the client should offer it
        bare_h2 = await stack.enter_async_context(
            httpx.AsyncClient(base_url=url, limits=limits, timeout=30.0, http1=False, http2=True)
        )
        # the client's own layout (8 pools of 8 connections), done by hand
        small = httpx.Limits(max_connections=8, max_keepalive_connections=8)
        pools = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=url, limits=small, timeout=30.0)
            )
            for _ in range(CONCURRENCY // 8)
        ]
        await client.get_collection("s")  # learn the dimension once, as any user would
        headers = {"content-type": "application/json"}

        async def via_client(i: int) -> None:
            await client.search("s", queries[i % len(queries)], limit=10)

        async def via_bare(i: int, http: httpx.AsyncClient = bare) -> None:
            body = orjson.dumps(
                {
                    "query": queries[i % len(queries)],
                    "limit": 10,
                    "with_payload": True,
                    "with_vector": False,
                },
                option=NUMPY,
            )
            r = await http.post("/collections/s/points/query", content=body, headers=headers)
            r.raise_for_status()
            orjson.loads(r.content)["result"]["points"]

        async def via_bare_h2(i: int) -> None:
            await via_bare(i, bare_h2)

        async def via_pools(i: int) -> None:
            await via_bare(i, pools[i % len(pools)])

        variants = {
            "client": via_client,
            "bare_httpx": via_bare,
            "bare_httpx_8x8": via_pools,
            "bare_httpx_h2c": via_bare_h2,
        }
        for name in results:  # warm every pool up
            await closed_loop(variants[name], 2 * CONCURRENCY)
        for _ in range(rounds):  # interleaved, so a change in load hits both alike
            for name in results:
                loads.append(load())
                cpu = time.process_time()
                results[name].append(await closed_loop(variants[name], requests))
                # the caller's own CPU per request: its overhead, whatever else the load does
                cpu_us[name].append((time.process_time() - cpu) / requests * 1e6)
    best = {name: max(qps) for name, qps in results.items()}
    return {
        "qps": results,
        "caller_cpu_us_per_request": cpu_us,
        "best": best,
        "ratio": best["client"] / best["bare_httpx"],
        "ratio_same_pools": best["client"] / best["bare_httpx_8x8"],
        "requests_per_round": requests,
        "load_1m": loads,
    }


def search(root: Path, requests: int, rounds: int, http2: bool) -> dict[str, Any]:
    vectors = data(SEARCH_POINTS, seed=1)
    queries = data(1_000, seed=2)
    print(
        f"search: {SEARCH_POINTS:,} points, {CONCURRENCY} tasks, {requests:,} queries x "
        f"{rounds} rounds",
        flush=True,
    )

    async def prepare(url: str) -> None:
        async with AsyncZoroClient(url) as client:
            await client.create_collection("s", DIM, "Euclid")
            await client.upload(
                "s",
                range(len(vectors)),
                vectors,
                ({"i": i} for i in range(len(vectors))),
                parallel=4,
            )
            deadline = time.monotonic() + 600
            while True:
                info = await client.get_collection("s")
                if info.points_count - info.indexed_vectors_count < 1_000:
                    break
                assert time.monotonic() < deadline, f"indexing did not finish: {info}"
                await trio.sleep(1.0)

    server = server_process(root / "server-search")
    try:
        trio.run(prepare, server.url)
        result = trio.run(search_qps, server.url, queries, requests, rounds, http2)
    finally:
        server.kill()
    for name, qps in result["best"].items():
        print(
            f"  {name:14} {qps:>8,.0f} QPS (best of {rounds}: "
            f"{', '.join(f'{q:,.0f}' for q in result['qps'][name])}); caller CPU "
            f"{min(result['caller_cpu_us_per_request'][name]):.0f} us/request",
            flush=True,
        )
    print(
        f"  client / bare httpx = {result['ratio']:.2f}; client / bare httpx on 8 pools of 8 = "
        f"{result['ratio_same_pools']:.2f}  (load {result['load_1m']})",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--searches", type=int, default=10_000, help="queries per round")
    parser.add_argument("--rounds", type=int, default=3, help="search rounds")
    parser.add_argument("--upload-rounds", type=int, default=2)
    parser.add_argument("--sections", default="ingest,search")
    parser.add_argument("--http2", action="store_true", help="also measure the bare loop over h2c")
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path.cwd(),
        help="where the temporary data directories go (not a tmpfs)",
    )
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--server-tree", type=Path, help="run the server from this source copy")
    parser.add_argument(
        "--engine", choices=("hnsw", "flat"), default="hnsw", help="the upload collection's engine"
    )
    parser.add_argument(
        "--quick", action="store_true", help="100,000 points, 2,000 queries, 1 round each"
    )
    args = parser.parse_args()
    if args.quick:
        args.points, args.searches, args.rounds, args.upload_rounds = 100_000, 2_000, 1, 1
    global SERVER_TREE, ENGINE
    SERVER_TREE = args.server_tree.resolve() if args.server_tree else None
    ENGINE = args.engine
    sections = set(args.sections.split(","))
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "cores": os.cpu_count(),
        "server_tree": "a source copy" if SERVER_TREE else "working tree",
        "engine": ENGINE,
        "load_start": load(),
    }
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="bench-client-") as tmp:
        root = Path(tmp)
        if "ingest" in sections:
            report["upload"] = ingest(root, args.points, args.upload_rounds)
        if "search" in sections:
            report["search"] = search(root, args.searches, args.rounds, args.http2)
    report["load_end"] = load()
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
