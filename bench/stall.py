"""One heavy collection against the others: does an expensive search load on one collection
stall the server for everyone else? This tree beside a baseline tree, in the same run.

    .venv/bin/python -m bench.stall [--quick] [--json bench/results/stall.json] [--dir DIR]
                                    [--baseline REF] [--rounds R] [--sections calibrate,servers]

1. calibrate (in process, no server): what search placement is calibrated on. A trio thread
   round trip (latency, and the event loop's CPU per dispatch); exact scans and HNSW walks
   timed beside the planner's cost model (zoro/actors/planner.py); and the crossover: 4 trio
   tasks running exact scans of a given cost inline or in worker threads, the QPS and a probe
   task's scheduling delay (p99) for each.
2. servers: three collections, loaded through HTTP from the same seeds into one data directory
   per tree by that tree's own server (a baseline from before a format change cannot read this
   tree's files): `a`, 400,000 x 128 (100,000 with --quick) with the flat engine, for the heavy
   load; `b`, 1,000 x 128, small; `h`, 50,000 x 128 clustered (20,000 with --quick) with an
   HNSW graph, the hot path. Then, R rounds, each running the baseline's server and this
   tree's in turn (the baseline is REF, default `main`, checked out into a scratch git worktree
   and started with PYTHONPATH pointing at it). Against each server, with wrk -t1
   (bench/wrk/bodies.lua):
   - idle: GET /healthz from 1 connection; PUT /collections/b/points?wait=true of one new
     point from 1 connection; each for S s (10; 4 with --quick);
   - hot path: POST /collections/h/points/query, one vector, limit 10, default ef, from 16
     connections, S s: QPS;
   - under load: 4 connections sending exact queries to `a` ({"params": {"exact": true}}) for
     the whole phase; meanwhile the same /healthz and single-upsert probes as idle.
   Goals: /healthz p99 and upsert p99 under load within 2x idle (same server, same round);
   hot-path QPS at least 0.95x the baseline's (median round).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
import orjson
import trio

from bench.http import (
    LUA,
    NUMPY,
    clustered,
    ingest_http,
    upsert_bodies,
    wait_indexed,
    write_lines,
    wrk,
)
from bench.restart import server_process
from bench.scratch import write_json

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from bench.restart import TreeServer

HERE = Path(__file__).resolve().parent
TREE = HERE.parent
DIM = 128
LOAD_CONNS = 4
HOT_CONNS = 16


def load() -> float:
    return round(os.getloadavg()[0], 2)


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else 0.0


# ----------------------------------------------------------------------------- calibrate


def calibrate(quick: bool) -> dict[str, Any]:
    """In-process figures the placement threshold rests on (see zoro/actors/planner.py)."""
    from zoro.actors.planner import part_cost_us
    from zoro.ann import FlatBuffer, HnswEngine, PartShape, _faiss
    from zoro.types import Distance

    out: dict[str, Any] = {"load_1m": load()}
    out["thread_round_trip"] = trio.run(_thread_round_trip)
    print(f"  thread round trip: {out['thread_round_trip']}", flush=True)
    rng = np.random.default_rng(0)
    rows: list[dict[str, Any]] = []
    with _faiss.omp_threads(1):
        for n, d in ((50_000, 128), (200_000, 128), (20_000, 1536)):
            if quick and n * d > 10_000_000:
                continue
            buf = FlatBuffer(d, Distance.EUCLID, expected_rows=n)
            buf.add(np.arange(n), rng.standard_normal((n, d), dtype=np.float32))
            q = rng.standard_normal((1, d), dtype=np.float32)
            took = _median_time(lambda b=buf, q=q: b.search(q, 10), 5)  # type: ignore[misc]
            model = part_cost_us(
                PartShape("buffer", n, 0), dimension=d, queries=1, k=10, ef=0, exact=True, share=1
            )
            rows.append({"what": f"exact {n:,} x {d}", "us": took * 1e6, "model_us": model})
        n, d = 20_000, 128
        centres = rng.standard_normal((64, d)).astype(np.float32) * 4
        data = centres[rng.integers(0, 64, n)] + rng.standard_normal((n, d), dtype=np.float32)
        graph = HnswEngine(d, Distance.EUCLID, m=16, ef_construct=100)
        graph.add(np.arange(n), np.ascontiguousarray(data, dtype=np.float32))
        qs = np.ascontiguousarray(data[:200] + 0.1, dtype=np.float32)
        for ef in (16, 128, 1024):
            i = iter(range(10**9))
            took = _median_time(
                lambda ef=ef, i=i: graph.search(qs[next(i) % 200][None], 10, ef=ef),  # type: ignore[misc]
                100,
            )
            model = part_cost_us(
                PartShape("hnsw", n, 0), dimension=d, queries=1, k=10, ef=ef, exact=False, share=1
            )
            rows.append({"what": f"HNSW {n:,} x {d}, ef {ef}", "us": took * 1e6, "model_us": model})
    for r in rows:
        print(
            f"  {r['what']:<28} {r['us']:>9,.0f} us   model {r['model_us']:>9,.0f} us", flush=True
        )
    out["costs"] = rows
    out["crossover"] = trio.run(_crossover, quick)
    return out


def _median_time(call: Callable[[], object], n: int) -> float:
    call()
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(n):
            call()
        runs.append((time.perf_counter() - started) / n)
    return sorted(runs)[1]


async def _thread_round_trip() -> dict[str, float]:
    limiter = trio.CapacityLimiter(2)
    for _ in range(200):
        await trio.to_thread.run_sync(lambda: None, limiter=limiter)
    took = []
    cpu = time.thread_time()
    for _ in range(2000):
        started = time.perf_counter()
        await trio.to_thread.run_sync(lambda: None, limiter=limiter)
        took.append((time.perf_counter() - started) * 1e6)
    loop_cpu = (time.thread_time() - cpu) / 2000 * 1e6
    cpu = time.thread_time()
    for _ in range(2000):
        await trio.lowlevel.checkpoint()
    checkpoint_cpu = (time.thread_time() - cpu) / 2000 * 1e6
    return {
        "p50_us": round(pct(took, 50), 1),
        "p99_us": round(pct(took, 99), 1),
        "loop_cpu_us": round(loop_cpu, 1),
        "checkpoint_cpu_us": round(checkpoint_cpu, 1),
    }


async def _crossover(quick: bool) -> list[dict[str, Any]]:
    """4 tasks searching exactly, inline or in threads (2), beside a probe that sleeps 1 ms at
    a time and records how late it wakes: QPS and the probe's p99 delay per scan cost."""
    from zoro.ann import FlatBuffer, _faiss
    from zoro.types import Distance

    rng = np.random.default_rng(1)
    seconds = 1.0 if quick else 2.0
    limiter = trio.CapacityLimiter(2)
    rows = []
    for points in (1_000, 2_000, 5_000, 10_000, 20_000, 50_000):
        buf = FlatBuffer(DIM, Distance.EUCLID, expected_rows=points)
        buf.add(np.arange(points), rng.standard_normal((points, DIM), dtype=np.float32))
        q = rng.standard_normal((1, DIM), dtype=np.float32)

        def one(buf: FlatBuffer = buf, q: Any = q) -> None:
            with _faiss.omp_threads(1):
                buf.search(q, 10)

        row: dict[str, Any] = {"points": points, "us": _median_time(one, 20) * 1e6}
        for where in ("inline", "thread"):
            done, delays = await _load_with_probe(one, where == "thread", limiter, seconds)
            row[f"{where}_qps"] = round(done / seconds)
            row[f"{where}_probe_p99_ms"] = round(pct(delays, 99), 2)
        rows.append(row)
        print(
            f"  exact {points:>6,} x {DIM} ({row['us']:,.0f} us): inline {row['inline_qps']:,} "
            f"QPS, probe p99 {row['inline_probe_p99_ms']} ms; thread {row['thread_qps']:,} QPS, "
            f"probe p99 {row['thread_probe_p99_ms']} ms  (load {load()})",
            flush=True,
        )
    return rows


async def _load_with_probe(
    search: Callable[[], None], threaded: bool, limiter: trio.CapacityLimiter, seconds: float
) -> tuple[int, list[float]]:
    done = 0
    delays: list[float] = []
    deadline = trio.current_time() + seconds

    async def worker() -> None:
        nonlocal done
        while trio.current_time() < deadline:
            if threaded:
                await trio.to_thread.run_sync(search, limiter=limiter)
            else:
                search()
                await trio.lowlevel.checkpoint()
            done += 1

    async def probe() -> None:
        while trio.current_time() < deadline:
            asked = trio.current_time()
            await trio.sleep(0.001)
            delays.append((trio.current_time() - asked - 0.001) * 1e3)

    async with trio.open_nursery() as nursery:
        for _ in range(4):
            nursery.start_soon(worker)
        nursery.start_soon(probe)
    return done, delays


# ----------------------------------------------------------------------------- servers


@contextlib.contextmanager
def baseline_tree(root: Path, ref: str) -> Iterator[tuple[Path, str]]:
    """REF checked out (detached) into a scratch git worktree; removed afterwards."""
    path = root / "baseline"
    commit = subprocess.run(
        ["git", "-C", str(TREE), "rev-parse", "--short=10", ref],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    subprocess.run(
        ["git", "-C", str(TREE), "worktree", "add", "--detach", str(path), commit],
        capture_output=True,
        check=True,
    )
    try:
        yield path, f"{ref} ({commit})"
    finally:
        subprocess.run(
            ["git", "-C", str(TREE), "worktree", "remove", "--force", str(path)],
            capture_output=True,
            check=False,
        )


def create(client: httpx.Client, name: str, engine: str) -> None:
    body = {"vectors": {"size": DIM, "distance": "Euclid"}, "zoro": {"engine": engine}}
    client.put(f"/collections/{name}", json=body).raise_for_status()


def load_data(
    root: Path, data_dir: Path, tree: Path, a_points: int, h_points: int
) -> dict[str, Any]:
    """The same data (same seeds) into `data_dir`, written by `tree`'s own server: each tree
    reads a directory in its own formats (a baseline from before a format change could not
    read one written by this tree)."""
    rng = np.random.default_rng(5)
    server = server_process(data_dir, root / f"load-{data_dir.name}.log", tree)
    server.start(timeout_s=60)
    out: dict[str, Any] = {}
    try:
        with httpx.Client(base_url=server.url, timeout=120) as client:
            for name, engine in (("a", "flat"), ("b", "hnsw"), ("h", "hnsw")):
                create(client, name, engine)
            a_data = rng.standard_normal((a_points, DIM), dtype=np.float32)
            out["a"] = ingest_http(
                server.port, "/collections/a/points?wait=true", upsert_bodies(a_data), 4
            )
            del a_data
            b_data = rng.standard_normal((1_000, DIM), dtype=np.float32)
            ingest_http(server.port, "/collections/b/points?wait=true", upsert_bodies(b_data), 1)
            h_data, _ = clustered(h_points, 0, seed=7)
            out["h"] = ingest_http(
                server.port, "/collections/h/points?wait=true", upsert_bodies(h_data), 4
            )
            started = time.perf_counter()
            wait_indexed(client, "h", 1800)
            out["h_index_s"] = round(time.perf_counter() - started, 1)
    finally:
        server.stop(timeout_s=300)
    print(f"  loaded: {out}", flush=True)
    return out


def bodies(root: Path) -> dict[str, Path]:
    rng = np.random.default_rng(11)
    queries = rng.standard_normal((200, DIM), dtype=np.float32)
    _, hot = clustered(0, 500, seed=7)
    exact = [
        orjson.dumps({"query": q, "limit": 10, "params": {"exact": True}}, option=NUMPY)
        for q in queries
    ]
    writes = [
        b'{"points":[{"id":__ID__,"vector":%s}]}' % orjson.dumps(q, option=NUMPY) for q in queries
    ]
    return {
        "empty": write_lines(root / "empty.txt", [b""]),
        "exact": write_lines(root / "exact.txt", exact),
        "write": write_lines(root / "write.txt", writes),
        "hot": write_lines(
            root / "hot.txt", [orjson.dumps({"query": q, "limit": 10}, option=NUMPY) for q in hot]
        ),
    }


def probes(url: str, files: dict[str, Path], seconds: float, id_base: int) -> dict[str, Any]:
    health = wrk("healthz", url, [str(files["empty"]), "/healthz", "GET"], 1, seconds)
    write_args = [str(files["write"]), "/collections/b/points?wait=true", "PUT", str(id_base)]
    upsert = wrk("upsert b", url, write_args, 1, seconds)
    return {
        "healthz": {
            "p50_ms": health.p50_ms,
            "p99_ms": health.p99_ms,
            "rps": health.rps,
            "errors": health.errors,
            "load_1m": health.load_1m,
        },
        "upsert": {
            "p50_ms": upsert.p50_ms,
            "p99_ms": upsert.p99_ms,
            "rps": upsert.rps,
            "errors": upsert.errors,
            "load_1m": upsert.load_1m,
        },
    }


def measure(
    server: TreeServer, files: dict[str, Path], seconds: float, id_base: int
) -> dict[str, Any]:
    url = server.url
    out: dict[str, Any] = {"idle": probes(url, files, seconds, id_base)}
    hot = wrk(
        "hot path h",
        url,
        [str(files["hot"]), "/collections/h/points/query", "POST"],
        HOT_CONNS,
        seconds,
    )
    out["hot"] = {
        "qps": hot.rps,
        "p50_ms": hot.p50_ms,
        "p99_ms": hot.p99_ms,
        "errors": hot.errors,
        "load_1m": hot.load_1m,
    }
    heavy_s = 2 * seconds + 3
    command = [
        "wrk",
        "-t1",
        f"-c{LOAD_CONNS}",
        f"-d{heavy_s:g}s",
        "--timeout",
        "30s",
        "--latency",
        "-s",
        str(LUA),
        url,
        "--",
        str(files["exact"]),
        "/collections/a/points/query",
        "POST",
    ]
    heavy = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)  # the load in full swing before the probes start
        out["loaded"] = probes(url, files, seconds, id_base + 10**8)
    finally:
        stdout, _ = heavy.communicate(timeout=heavy_s + 120)
    out["heavy"] = _wrk_json(stdout)
    print(f"  heavy load on a: {out['heavy']}", flush=True)
    return out


def _wrk_json(stdout: str) -> dict[str, Any]:
    line = next((x for x in stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if line is None:
        return {"error": stdout[-500:]}
    raw = orjson.loads(line.removeprefix("BENCH_JSON "))
    seconds = raw["duration_us"] / 1e6
    return {
        "qps": round((raw["requests"] - raw["status_errors"]) / seconds, 1),
        "p50_ms": raw["p50_us"] / 1e3,
        "p99_ms": raw["p99_us"] / 1e3,
        "status_errors": raw["status_errors"],
        "timeouts": raw["timeouts"],
    }


def servers(root: Path, args: argparse.Namespace, seconds: float) -> dict[str, Any]:
    a_points = args.points or (100_000 if args.quick else 400_000)
    h_points = 20_000 if args.quick else 50_000
    out: dict[str, Any] = {
        "a_points": a_points,
        "h_points": h_points,
        "dimension": DIM,
        "seconds": seconds,
        "load_conns": LOAD_CONNS,
        "hot_conns": HOT_CONNS,
    }
    print(
        f"loading a ({a_points:,} x {DIM}, flat), b (1,000), h ({h_points:,}, HNSW) ...", flush=True
    )
    files = bodies(root)
    rounds: dict[str, list[dict[str, Any]]] = {"baseline": [], "this": []}
    with baseline_tree(root, args.baseline) as (base_path, base_label):
        out["baseline"] = base_label
        out["this"] = "working tree" + (f" (--set {' '.join(args.set)})" if args.set else "")
        trees = {"baseline": base_path, "this": TREE}
        dirs = {label: root / f"data-{label}" for label in trees}
        out["loading"] = {
            label: load_data(root, dirs[label], trees[label], a_points, h_points) for label in trees
        }
        id_base = 10**7
        for r in range(args.rounds):
            for label in ("baseline", "this"):
                print(f"round {r + 1}: {label} server ...", flush=True)
                server = server_process(dirs[label], root / f"{label}.log", trees[label])
                if label == "this":
                    server.extra_args = tuple(x for a in args.set for x in ("--set", a))
                server.start(timeout_s=120)
                try:
                    server.wait_ready(timeout_s=600)
                    with httpx.Client(base_url=server.url, timeout=60) as client:
                        wait_indexed(client, "h", 600)
                    result = measure(server, files, seconds, id_base)
                finally:
                    server.stop(timeout_s=300)
                id_base += 10**9
                result["round"] = r + 1
                rounds[label].append(result)
    out["rounds"] = rounds
    out["summary"] = summarise(rounds)
    return out


def summarise(rounds: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Per tree, the median over rounds of each figure, and the ratios the goals are about."""
    out: dict[str, Any] = {}
    for label, runs in rounds.items():
        if not runs:
            continue

        def med(get: Callable[[dict[str, Any]], float], runs: list[dict[str, Any]] = runs) -> float:
            return float(statistics.median(get(x) for x in runs))

        s = {
            "idle_healthz_p99_ms": med(lambda x: x["idle"]["healthz"]["p99_ms"]),
            "loaded_healthz_p99_ms": med(lambda x: x["loaded"]["healthz"]["p99_ms"]),
            "idle_healthz_p50_ms": med(lambda x: x["idle"]["healthz"]["p50_ms"]),
            "loaded_healthz_p50_ms": med(lambda x: x["loaded"]["healthz"]["p50_ms"]),
            "idle_upsert_p99_ms": med(lambda x: x["idle"]["upsert"]["p99_ms"]),
            "loaded_upsert_p99_ms": med(lambda x: x["loaded"]["upsert"]["p99_ms"]),
            "idle_upsert_p50_ms": med(lambda x: x["idle"]["upsert"]["p50_ms"]),
            "loaded_upsert_p50_ms": med(lambda x: x["loaded"]["upsert"]["p50_ms"]),
            "hot_qps": med(lambda x: x["hot"]["qps"]),
            "heavy_qps": med(lambda x: x["heavy"].get("qps", 0.0)),
            "load_1m": med(lambda x: x["loaded"]["healthz"]["load_1m"]),
        }
        s["healthz_p99_x_idle"] = s["loaded_healthz_p99_ms"] / s["idle_healthz_p99_ms"]
        s["upsert_p99_x_idle"] = s["loaded_upsert_p99_ms"] / s["idle_upsert_p99_ms"]
        out[label] = s
    if "baseline" in out and "this" in out:
        out["hot_qps_x_baseline"] = out["this"]["hot_qps"] / out["baseline"]["hot_qps"]
    return out


def report(result: dict[str, Any]) -> None:
    s = result.get("servers", {}).get("summary")
    if not s:
        return
    print(
        f"\n{'':<10} {'healthz p99 idle/loaded ms':>27} {'x':>5} {'upsert p99 idle/loaded ms':>26}"
        f" {'x':>5} {'hot QPS':>8} {'heavy QPS':>9}  load"
    )
    for label in ("baseline", "this"):
        x = s.get(label)
        if x is None:
            continue
        print(
            f"{label:<10} {x['idle_healthz_p99_ms']:>12.2f} / {x['loaded_healthz_p99_ms']:>10.2f}"
            f" {x['healthz_p99_x_idle']:>5.1f} {x['idle_upsert_p99_ms']:>11.2f} / "
            f"{x['loaded_upsert_p99_ms']:>10.2f} {x['upsert_p99_x_idle']:>5.1f} "
            f"{x['hot_qps']:>8,.0f} {x['heavy_qps']:>9,.1f}  {x['load_1m']:.2f}"
        )
    if "hot_qps_x_baseline" in s:
        print(f"hot path QPS, this / baseline: {s['hot_qps_x_baseline']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 s probes, 100,000 points in a")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--dir", type=Path, default=Path.cwd(), help="scratch dir parent (disk)")
    parser.add_argument("--baseline", default="main", help="git ref of the baseline server")
    parser.add_argument("--rounds", type=int, help="server rounds (default 2; 1 with --quick)")
    parser.add_argument("--points", type=int, help="points in the heavy collection `a`")
    parser.add_argument("--sections", default="calibrate,servers", help="calibrate, servers")
    parser.add_argument(
        "--set", action="append", default=[], help="a setting for this tree's server (serve --set)"
    )
    args = parser.parse_args()
    args.rounds = args.rounds or (1 if args.quick else 2)
    sections = set(args.sections.split(","))
    seconds = 4.0 if args.quick else 10.0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up servers and worktree
    result: dict[str, Any] = {
        "machine": {
            "cores": os.cpu_count(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "load_at_start": os.getloadavg(),
        },
        "quick": args.quick,
    }
    if "calibrate" in sections:
        print("calibrate ...", flush=True)
        result["calibrate"] = calibrate(args.quick)
    if "servers" in sections:
        with tempfile.TemporaryDirectory(prefix="bench-stall-", dir=args.dir) as tmp:
            result["servers"] = servers(Path(tmp), args, seconds)
    result["load_at_end"] = os.getloadavg()
    report(result)
    write_json(args.json, result)


if __name__ == "__main__":
    main()
