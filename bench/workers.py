"""Search QPS with `zoro serve --workers 1` against `--workers 2`, and the replica lag.

    .venv/bin/python -m bench.workers [--quick] [--json bench/results/workers.json] [--dir DIR]

The data of bench/http.py (200,000 x 128 clustered, Euclid; 20,000 with --quick) is loaded once
into an HNSW collection with one worker, indexed, and the server stopped. Then, on the same data
directory, for 1, 2, 1 and 2 workers (interleaved: the machine is shared): the server started,
a 2 s warm-up, and POST /points/query (one vector, limit 10) from wrk with 16 connections for
10 s (5 s with --quick): QPS, p50, p99; the ratio is of the best round of each.

Forwarding (2 workers, one connection to each, in turn): a single-point write (wait=true)
through the owner and through the follower, which forwards it over the owner's local socket;
and a point read at each (the follower's behind its read barrier). p50 and p99.

Lag (2 workers): 16 writer threads, each with a connection pinned to the owner (worker 0) and
one to the follower (worker 1, the x-zoro-worker header). Each writes one new point
(wait=true) and at once reads it back through the follower: that read waits at the read barrier
until the follower's replica has applied the write, so its latency minus a plain read's (an
old point, measured the same way without a write before it) is the time from acknowledgement
to visible on the follower.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson

from bench.http import (
    NUMPY,
    body_files,
    clustered,
    create_collection,
    ingest_http,
    upsert_bodies,
    wait_indexed,
    wrk,
)
from zoro.testing import ServerProcess

CONNS = 16


def _pinned(url: str, worker: str) -> httpx.Client:
    for _ in range(500):
        client = httpx.Client(base_url=url, timeout=30.0, limits=httpx.Limits(max_connections=1))
        if client.get("/healthz").headers.get("x-zoro-worker") == worker:
            return client
        client.close()
    raise RuntimeError(f"no connection reached worker {worker}")


def _lag(url: str, dim: int, seconds: float) -> dict[str, Any]:
    after_write: list[float] = []
    plain: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def writer(w: int) -> None:
        owner, follower = _pinned(url, "0"), _pinned(url, "1")
        rng = np.random.default_rng(w)
        i = 0
        try:
            while time.monotonic() < stop:
                key = 10_000_000 + w * 1_000_000 + i
                body = orjson.dumps(
                    {"points": [{"id": key, "vector": rng.normal(size=dim)}]}, option=NUMPY
                )
                owner.put(
                    "/collections/bench/points?wait=true",
                    content=body,
                    headers={"content-type": "application/json"},
                ).raise_for_status()
                started = time.perf_counter()
                follower.get(f"/collections/bench/points/{key}").raise_for_status()
                seen = time.perf_counter() - started
                started = time.perf_counter()
                follower.get(f"/collections/bench/points/{i}").raise_for_status()
                base = time.perf_counter() - started
                with lock:
                    after_write.append(seen)
                    plain.append(base)
                i += 1
        finally:
            owner.close()
            follower.close()

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(CONNS)]
    load = os.getloadavg()[0]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    def ms(values: list[float], q: float) -> float:
        return round(float(np.percentile(values, q)) * 1e3, 3)

    out = {
        "writers": CONNS,
        "writes": len(after_write),
        "read_after_ack_p50_ms": ms(after_write, 50),
        "read_after_ack_p99_ms": ms(after_write, 99),
        "plain_read_p50_ms": ms(plain, 50),
        "plain_read_p99_ms": ms(plain, 99),
        "load_1m": load,
    }
    out["lag_p50_ms"] = round(out["read_after_ack_p50_ms"] - out["plain_read_p50_ms"], 3)
    print(f"  lag: {out}", flush=True)
    return out


def _forwarding(url: str, dim: int, n: int) -> dict[str, Any]:
    """One connection to each worker, used in turn: a single-point write (wait=true) through
    the owner and through the follower (forwarded), and a point read from each (the follower's
    behind its read barrier). p50/p99 in ms."""
    owner, follower = _pinned(url, "0"), _pinned(url, "1")
    rng = np.random.default_rng(7)
    times: dict[str, list[float]] = {k: [] for k in ("write_owner", "write_follower",
                                                     "read_owner", "read_follower")}  # fmt: skip
    try:
        for i in range(n):
            for where, client in (("owner", owner), ("follower", follower)):
                body = orjson.dumps(
                    {"points": [{"id": 20_000_000 + i, "vector": rng.normal(size=dim)}]},
                    option=NUMPY,
                )
                started = time.perf_counter()
                client.put(
                    "/collections/bench/points?wait=true",
                    content=body,
                    headers={"content-type": "application/json"},
                ).raise_for_status()
                times[f"write_{where}"].append(time.perf_counter() - started)
                started = time.perf_counter()
                client.get(f"/collections/bench/points/{i}").raise_for_status()
                times[f"read_{where}"].append(time.perf_counter() - started)
    finally:
        owner.close()
        follower.close()
    out: dict[str, Any] = {"requests_each": n, "load_1m": os.getloadavg()[0]}
    for key, values in times.items():
        out[f"{key}_p50_ms"] = round(float(np.percentile(values, 50)) * 1e3, 3)
        out[f"{key}_p99_ms"] = round(float(np.percentile(values, 99)) * 1e3, 3)
    print(f"  forwarding: {out}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--dir", type=Path, default=Path.cwd())
    args = parser.parse_args()
    points = 20_000 if args.quick else 200_000
    seconds = 5.0 if args.quick else 10.0
    data, queries = clustered(points, 1000)
    out: dict[str, Any] = {"points": points, "dim": int(data.shape[1]), "conns": CONNS}
    out["cpus"] = os.cpu_count()
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="bench-workers-") as tmp:
        root = Path(tmp)
        files = body_files(root, queries)
        loader = ServerProcess(root / "data", extra_args=("--workers", "1"))
        with loader as server, httpx.Client(base_url=server.url, timeout=600) as client:
            create_collection(client, "bench")
            out["ingest"] = ingest_http(
                server.port, "/collections/bench/points?wait=true", upsert_bodies(data), 4
            )
            wait_indexed(client, "bench", 1800)
        path = "/collections/bench/points/query"
        runs: dict[str, list[Any]] = {"1": [], "2": []}
        for workers in (1, 2, 1, 2):  # interleaved: the machine is shared, its load moves
            extra = ("--workers", str(workers))
            with ServerProcess(root / "data", extra_args=extra) as server:
                server.wait_ready()
                if workers == 2:
                    _pinned(server.url, "1").close()  # the follower serves
                wrk("warm-up", server.url, [str(files["query"]), path, "POST"], CONNS, 2)
                run = wrk(f"workers={workers}", server.url, [str(files["query"]), path, "POST"],
                          CONNS, seconds)  # fmt: skip
                runs[str(workers)].append(run.__dict__)
                if workers == 2 and "lag" not in out:
                    out["forwarding"] = _forwarding(server.url, int(data.shape[1]), 300)
                    out["lag"] = _lag(server.url, int(data.shape[1]), seconds)
        out["search"] = runs
        best = {w: max(r["rps"] for r in rs) for w, rs in runs.items()}
        out["qps_ratio"] = round(best["2"] / best["1"], 3)  # best round of each
        print(f"QPS ratio 2 workers / 1: {out['qps_ratio']}", flush=True)
    if args.json:
        option = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS
        args.json.write_bytes(orjson.dumps(out, option=option) + b"\n")


if __name__ == "__main__":
    main()
