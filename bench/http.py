"""HTTP figures for Zoro-DB, each beside its reference from the same run.

    .venv/bin/python -m bench.http [--quick] [--json bench/results/http.json] [--profile DIR]
                                   [--points N] [--rounds R] [--keep]

References are served by hypercorn's trio worker with Zoro's own `hypercorn_config` (see
bench/http_refs.py): the ping ceiling (bare ASGI, fixed JSON), the bare query reference (orjson
parse + one raw FAISS HNSW search + orjson answer, on the same data) and the bare decode
reference (orjson parse + float32 matrix of a PUT /points body, nothing stored).

Data: 200,000 x 128 clustered float32 points (64 gaussian centres, unit noise), Euclid, HNSW
M=16 efC=100 and Zoro's default ef; 1,000 queries from the same distribution; ids = row numbers.

1. Durable ingest: PUT ?wait=true batches of 1,000 points from 8 connections (a Python loop: the
   load is a fixed count, wrk runs for a fixed time), against the in-process engine (8 trio tasks
   writing the same batches through CollectionManager, in a child process). Goal >= 0.6x. Also
   into a flat collection (no HNSW builds competing) and into the bare decode reference.
2. Search: POST /points/query, one vector, limit 10, wrk (bench/wrk/bodies.lua cycling through
   1,000 bodies) at 16 and 64 connections, rounds interleaved with the bare query reference and
   the ping ceiling; median round. Goal >= 0.85x the reference, p99 < 50 ms; recall@10 of Zoro's
   answers (200 queries over httpx, untimed) against exact search >= 0.95.
3. Batch query: 100 vectors per POST /points/query/batch (4 connections), against raw FAISS
   batch search in-process on the reference index (best of 1 and 2 OpenMP threads). Goal >= 0.5x.
4. Small writes: 256 connections, PUT ?wait=true of one new point each (distinct ids). Goal
   >= 0.6x the ping ceiling at 256 connections, >= 20 writes per WAL sync (from GET /collections/w
   result.zoro.wal_records / wal_syncs deltas).

Diagnostics: handler time per query without load (Zoro's "time" field; the reference's answer()
in process), FAISS per query for Zoro's segment layout against one graph. --profile DIR runs
py-spy on the server under the c=64 search load (raw stacks + SVG) and during a second ingest.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import faiss
import httpx
import numpy as np
import numpy.typing as npt
import orjson

from bench import engine_ingest as engine_ingest_reference
from bench.http_refs import QueryApp, build_hnsw, hnsw_params
from bench.scratch import in_scratch, write_json
from zoro.actors.builders import IDLE_SEAL_MIN_POINTS
from zoro.settings import AnnSettings
from zoro.testing import ServerProcess, free_port

if TYPE_CHECKING:
    from collections.abc import Iterator

DIM = 128
BATCH_POINTS = 1_000
INGEST_CONNS = 8
SEARCH_CONNS = (16, 64)
WRITE_CONNS = 256
BATCH_QUERIES = 100
BATCH_CONNS = 4
WRITE_ID_BASE = 10_000_000
NUMPY = orjson.OPT_SERIALIZE_NUMPY
LUA = Path(__file__).parent / "wrk" / "bodies.lua"
ANN = AnnSettings()
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

# ------------------------------------------------------------------------------ data


def clustered(n: int, queries: int, *, seed: int = 1, clusters: int = 64) -> tuple[F32, F32]:
    """n points and `queries` queries drawn around the same cluster centres."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, DIM)).astype(np.float32) * 4

    def draw(m: int) -> F32:
        labels = rng.integers(0, clusters, size=m)
        noise = rng.normal(size=(m, DIM)).astype(np.float32)
        return np.ascontiguousarray(centres[labels] + noise, dtype=np.float32)

    return draw(n), draw(queries)


def upsert_bodies(data: F32) -> list[bytes]:
    """PUT /points bodies of BATCH_POINTS points; ids are row numbers."""
    return [
        orjson.dumps(
            {"points": [{"id": start + i, "vector": row} for i, row in enumerate(rows)]},
            option=NUMPY,
        )
        for start in range(0, len(data), BATCH_POINTS)
        for rows in [data[start : start + BATCH_POINTS]]
    ]


def write_lines(path: Path, bodies: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(bodies) + b"\n")
    return path


def body_files(root: Path, queries: F32) -> dict[str, Path]:
    """The files bench/wrk/bodies.lua sends from, one body per line."""
    vecs = [orjson.dumps(q, option=NUMPY) for q in queries]
    rng = np.random.default_rng(3)
    batches = [
        orjson.dumps(
            {"searches": [{"query": queries[i], "limit": 10} for i in pick]},
            option=NUMPY,
        )
        for pick in (rng.choice(len(queries), BATCH_QUERIES, replace=False) for _ in range(100))
    ]
    return {
        "empty": write_lines(root / "empty.txt", [b""]),
        "query": write_lines(root / "query.txt", [b'{"query":%s,"limit":10}' % v for v in vecs]),
        "batch": write_lines(root / "batch.txt", batches),
        "write": write_lines(
            root / "write.txt", [b'{"points":[{"id":__ID__,"vector":%s}]}' % v for v in vecs]
        ),
    }


# ------------------------------------------------------------------------------ wrk


@dataclass
class WrkRun:
    target: str
    conns: int
    seconds: float
    load_1m: float
    requests: int = 0
    ok: int = 0
    rps: float = 0.0
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)


def wrk(target: str, url: str, args: list[str], conns: int, seconds: float) -> WrkRun:
    """One wrk run with bench/wrk/bodies.lua; args: FILE PATH METHOD [ID_BASE]."""
    run = WrkRun(target, conns, seconds, os.getloadavg()[0])
    command = [
        "wrk",
        "-t1",
        f"-c{conns}",
        f"-d{seconds:g}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(LUA),
        url,
        "--",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    found = re.search(r"^BENCH_JSON (.*)$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}\n{done.stderr}")
    raw = json.loads(found.group(1))
    errors = {
        k: raw[k]
        for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
    }
    run.requests = raw["requests"]
    run.ok = raw["requests"] - raw["status_errors"]
    run.rps = run.ok / (raw["duration_us"] / 1e6)
    run.p50_ms, run.p90_ms = raw["p50_us"] / 1e3, raw["p90_us"] / 1e3
    run.p99_ms, run.max_ms = raw["p99_us"] / 1e3, raw["max_us"] / 1e3
    run.errors = {k: v for k, v in errors.items() if v}
    print(
        f"  {target:<18} c={conns:<3} {run.rps:9.0f} req/s  p50 {run.p50_ms:6.2f} ms  "
        f"p99 {run.p99_ms:6.2f} ms  load {run.load_1m:.2f}  {run.errors or ''}",
        flush=True,
    )
    return run


# ------------------------------------------------------------------------------ servers


@contextlib.contextmanager
def ref_server(root: Path, app: str, *extra: str) -> Iterator[str]:
    """A bench.http_refs app in a child process; yields its URL once it answers."""
    with ref_process(root, app, *extra) as (url, _):
        yield url


@contextlib.contextmanager
def ref_process(root: Path, app: str, *extra: str) -> Iterator[tuple[str, int]]:
    """A bench.http_refs app in a child process; yields its URL and PID once it answers."""
    port = free_port()
    log = (root / f"ref-{app}.log").open("ab")
    command = [sys.executable, "-m", "bench.http_refs", app, "--port", str(port), *extra]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_answering(url, process, 120.0)
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_answering(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"reference server exited with {process.returncode}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url + "/", timeout=1.0).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"reference server at {url} did not answer in {timeout_s} s")


def collection_info(client: httpx.Client, name: str) -> dict[str, Any]:
    response = client.get(f"/collections/{name}")
    response.raise_for_status()
    result: dict[str, Any] = response.json()["result"]
    return result


def create_collection(
    client: httpx.Client,
    name: str,
    engine: str = "hnsw",
    ef_construct: int = ANN.hnsw_ef_construct,
) -> None:
    body = {
        "vectors": {"size": DIM, "distance": "Euclid"},
        "hnsw_config": {"m": ANN.hnsw_m, "ef_construct": ef_construct},
        "zoro": {"engine": engine},
    }
    response = client.put(f"/collections/{name}", json=body)
    response.raise_for_status()


def wait_indexed(client: httpx.Client, name: str, timeout_s: float) -> dict[str, Any]:
    """Wait until no build runs and the fresh segment is sealed too (the server indexes a fresh
    segment of 1,000 points or more once writes pause for a second), or is smaller than that.
    """
    deadline = time.monotonic() + timeout_s
    index: dict[str, Any] = {}
    while time.monotonic() < deadline:
        info = collection_info(client, name)
        index = info["zoro"]["index"]
        if (
            not index["job_running"]
            and not index["frozen_points"]
            and index["fresh_points"] < IDLE_SEAL_MIN_POINTS
        ):
            return info
        time.sleep(1.0)
    raise RuntimeError(f"collection {name} still indexing after {timeout_s} s: {index}")


# ------------------------------------------------------------------------------ ingest


def ingest_http(port: int, path: str, bodies: list[bytes], conns: int) -> dict[str, Any]:
    """PUT every body once from `conns` keep-alive connections; points/s over the whole load.

    A Python loop rather than wrk: wrk runs for a fixed time, and this load is a fixed count.
    """
    lock, todo, statuses = threading.Lock(), iter(range(len(bodies))), Counter[int]()

    def take() -> int | None:
        with lock:
            return next(todo, None)

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while (i := take()) is not None:
            conn.request("PUT", path, body=bodies[i], headers={"content-type": "application/json"})
            response = conn.getresponse()
            response.read()
            with lock:
                statuses[response.status] += 1
        conn.close()

    load = os.getloadavg()[0]
    cpu, started = time.process_time(), time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    points = statuses[200] * BATCH_POINTS
    return {
        "points": points,
        "seconds": elapsed,
        "points_per_s": points / elapsed,
        "statuses": dict(statuses),
        "client_cpu_s": time.process_time() - cpu,
        "load_1m": load,
    }


def engine_ingest(root: Path, data_path: Path, conns: int, kind: str) -> dict[str, Any]:
    """The in-process engine figure: the same batches through CollectionManager, in a child."""
    return engine_ingest_reference.measure(
        data_path,
        root / f"engine-{kind}",
        tasks=conns,
        kind=kind,
        batch=BATCH_POINTS,
        timeout_s=900,
    )


# ------------------------------------------------------------------------------ search checks


def exact_top10(data: F32, queries: F32) -> I64:
    flat = faiss.IndexFlatL2(DIM)
    flat.add(data)
    _, labels = flat.search(queries, 10)
    return np.asarray(labels, dtype=np.int64)


def recall_of(found: list[list[int]], truth: I64) -> float:
    hits = [len(set(f) & set(t.tolist())) for f, t in zip(found, truth, strict=True)]
    return float(np.mean(hits)) / 10


def zoro_answers(client: httpx.Client, queries: F32) -> tuple[list[list[int]], list[float]]:
    answers, times = [], []
    for q in queries:
        body = orjson.dumps({"query": q, "limit": 10}, option=NUMPY)
        response = client.post(
            "/collections/c/points/query",
            content=body,
            headers={"content-type": "application/json"},
        )
        response.raise_for_status()
        document = response.json()
        answers.append([p["id"] for p in document["result"]["points"]])
        times.append(float(document["time"]))
    return answers, times


def ref_answers(index: faiss.Index, queries: F32) -> list[list[int]]:
    params = hnsw_params(ANN.hnsw_ef_search)
    _, labels = index.search(queries, 10, params=params)
    return [[int(x) for x in row if x >= 0] for row in labels]


def faiss_batch_rate(index: faiss.Index, queries: F32, seconds: float) -> dict[str, Any]:
    """Raw FAISS batch search in this process: vectors/s, the better of 1 and 2 OpenMP threads
    (with another process on a core, 2 threads can lose to 1), half the time each."""
    load = os.getloadavg()[0]
    rng = np.random.default_rng(5)
    picks = [queries[rng.choice(len(queries), BATCH_QUERIES, replace=False)] for _ in range(100)]
    rates = {}
    for threads in (1, 2):
        with omp_threads(threads):
            rates[threads] = _batch_rate(index, picks, seconds / 2)
    best = max(rates, key=lambda t: rates[t])
    return {"vectors_per_s": rates[best], "omp_threads": best, "by_threads": rates, "load_1m": load}


def _batch_rate(index: faiss.Index, picks: list[F32], seconds: float) -> float:
    params = hnsw_params(ANN.hnsw_ef_search)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        index.search(picks[done % len(picks)], 10, params=params)
        done += 1
    return done * BATCH_QUERIES / (time.perf_counter() - started)


# ------------------------------------------------------------------------------ profile


def py_spy(pid: int, out: Path, seconds: float, fmt: str) -> subprocess.Popen[bytes]:
    """py-spy record in the background (blocking sampling at 100 Hz: whole stacks)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    command = [
        spy,
        "record",
        "--pid",
        str(pid),
        "-d",
        str(max(1, round(seconds))),
        "-r",
        "100",
        "--format",
        fmt,
        "-o",
        str(out),
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def profile_search(
    root: Path, pid: int, url: str, files: dict[str, Path], seconds: float
) -> dict[str, Any]:
    """Raw stacks, then an SVG, of the Zoro server under the 64-connection search load."""
    raw, svg = root / "search.raw.txt", root / "search.svg"
    args = [str(files["query"]), "/collections/c/points/query", "POST"]
    load = wrk_background(url, args, 64, 2 * seconds + 6)
    time.sleep(2)
    for out, fmt in ((raw, "raw"), (svg, "flamegraph")):
        py_spy(pid, out, seconds, fmt).wait(timeout=seconds + 60)
    load.wait(timeout=3 * seconds + 60)
    return {"raw": str(raw), "svg": str(svg), **summarise_stacks(raw)}


def profile_ingest(
    root: Path, server: ServerProcess, client: httpx.Client, bodies: list[bytes], seconds: float
) -> dict[str, Any]:
    """Raw stacks of the Zoro server during a second durable ingest (into collection p)."""
    assert server.process is not None
    raw = root / "ingest.raw.txt"
    create_collection(client, "p")
    spy = py_spy(server.process.pid, raw, seconds, "raw")
    time.sleep(1)
    ingest = ingest_http(server.port, "/collections/p/points?wait=true", bodies, INGEST_CONNS)
    spy.wait(timeout=seconds + 60)
    return {"raw": str(raw), "ingest": ingest, **summarise_stacks(raw)}


def wrk_background(url: str, args: list[str], conns: int, seconds: float) -> subprocess.Popen[str]:
    command = [
        "wrk",
        "-t1",
        f"-c{conns}",
        f"-d{seconds:g}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        url,
        "--",
        *args,
    ]
    return subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True
    )


def summarise_stacks(raw: Path, top: int = 30) -> dict[str, Any]:
    """Self and inclusive shares per function from py-spy's collapsed stacks."""
    own, inclusive, total = Counter[str](), Counter[str](), 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    share = 100.0 / max(total, 1)
    return {
        "samples": total,
        "self_pct": [(f, round(n * share, 1)) for f, n in own.most_common(top)],
        "inclusive_pct": [(f, round(n * share, 1)) for f, n in inclusive.most_common(top)],
    }


# ------------------------------------------------------------------------------ machine


def machine_info() -> dict[str, Any]:
    meminfo = Path("/proc/meminfo").read_text()
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))  # type: ignore[union-attr]
    model = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
    wrk_v = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    packages = [
        "faiss-cpu",
        "hypercorn",
        "quart",
        "quart-trio",
        "trio",
        "h11",
        "orjson",
        "numpy",
        "httpx",
    ]
    versions = {p: _version(p) for p in packages}
    return {
        "cores": os.cpu_count(),
        "cpu": model.group(1) if model else platform.processor(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {**versions, "wrk": wrk_v},
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "load_at_start": os.getloadavg(),
    }


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


# ------------------------------------------------------------------------------ phases


@dataclass
class Setup:
    root: Path
    quick: bool
    seconds: float
    points: int
    data: F32
    queries: F32
    data_path: Path
    index_path: Path
    files: dict[str, Path]
    index: faiss.IndexHNSWFlat


def prepare(root: Path, quick: bool, points: int, seconds: float) -> tuple[Setup, dict[str, Any]]:
    data, queries = clustered(points, 1_000)
    data_path = root / "vectors.npy"
    np.save(data_path, data)
    started = time.perf_counter()
    index = build_hnsw(data, m=ANN.hnsw_m, ef_construct=ANN.hnsw_ef_construct)
    build_s = time.perf_counter() - started
    index_path = root / "ref.faiss"
    faiss.write_index(index, str(index_path))
    print(f"reference HNSW of {points:,} x {DIM}: built in {build_s:.1f} s", flush=True)
    setup = Setup(
        root,
        quick,
        seconds,
        points,
        data,
        queries,
        data_path,
        index_path,
        body_files(root, queries),
        index,
    )
    return setup, {"ref_build_s": build_s, "ref_build_points_per_s": points / build_s}


def phase_ingest(s: Setup, server: ServerProcess, client: httpx.Client) -> dict[str, Any]:
    """The durable ingest (HNSW collection c), and the same into a flat collection beside the
    engine doing the same: the HTTP path's cost without background HNSW builds competing."""
    print("durable ingest ...", flush=True)
    bodies = upsert_bodies(s.data)
    with ref_server(s.root, "ingest") as url:
        port = int(url.rsplit(":", 1)[1])
        bare = ingest_http(port, "/collections/c/points?wait=true", bodies, INGEST_CONNS)
    print(
        f"  bare decode reference: {bare['points_per_s']:.0f} points/s "
        f"(client CPU {bare['client_cpu_s']:.1f} s in {bare['seconds']:.1f} s)",
        flush=True,
    )
    flat = ingest_pair(s, server, client, bodies, "flat")
    client.delete("/collections/f").raise_for_status()
    hnsw = ingest_pair(s, server, client, bodies, "hnsw")
    started = time.perf_counter()
    info = wait_indexed(client, "c", 900.0)
    waited = time.perf_counter() - started
    fresh = info["zoro"]["index"]["fresh_points"]
    print(f"  indexed {waited:.0f} s after the load: {_segments(info)} + fresh {fresh}", flush=True)
    return {
        **hnsw,
        "flat": flat,
        "bare_decode": bare,
        "index_wait_s": waited,
        "points_count": info["points_count"],
        "index": info["zoro"]["index"],
    }


def ingest_pair(
    s: Setup, server: ServerProcess, client: httpx.Client, bodies: list[bytes], kind: str
) -> dict[str, Any]:
    name = "c" if kind == "hnsw" else "f"
    engine = engine_ingest(s.root, s.data_path, INGEST_CONNS, kind)
    create_collection(client, name, kind)
    zoro = ingest_http(server.port, f"/collections/{name}/points?wait=true", bodies, INGEST_CONNS)
    print(
        f"  {kind}: engine in-process {engine['points_per_s']:.0f} points/s, "
        f"zoro HTTP {zoro['points_per_s']:.0f} points/s {zoro['statuses']}",
        flush=True,
    )
    return {"zoro": zoro, "engine": engine}


def _sizes(index: dict[str, Any]) -> tuple[list[int], int]:
    """Zoro's sealed segment sizes, and its fresh (flat, scanned exactly) segment's."""
    return [int(seg["points"]) for seg in index.get("sealed", [])], int(index["fresh_points"])


def _segments(info: dict[str, Any]) -> list[str]:
    sealed = info["zoro"]["index"].get("sealed", [])
    return [f"{seg['kind']}:{seg['points']}" for seg in sealed]


def phase_recall(s: Setup, client: httpx.Client) -> dict[str, Any]:
    """Recall@10 against exact search, and per-query handler times without load: the server's
    own "time" field for Zoro, the bare reference's answer() timed in this process."""
    sample = s.queries[: 50 if s.quick else 200]
    truth = exact_top10(s.data, sample)
    answers, times = zoro_answers(client, sample)
    zoro = recall_of(answers, truth)
    ref = recall_of(ref_answers(s.index, sample), truth)
    ref_us = ref_handler_us(s.index, sample)
    zoro_us = float(np.median(times)) * 1e6
    print(
        f"recall@10 over {len(sample)} queries: zoro {zoro:.3f}, bare FAISS {ref:.3f}; handler "
        f"median zoro {zoro_us:.0f} us, bare reference {ref_us:.0f} us",
        flush=True,
    )
    return {
        "queries": len(sample),
        "zoro": zoro,
        "reference": ref,
        "zoro_handler_us": zoro_us,
        "ref_handler_us": ref_us,
    }


def ref_handler_us(index: faiss.Index, queries: F32) -> float:
    app = QueryApp(index, ANN.hnsw_ef_search)
    bodies = [orjson.dumps({"query": q, "limit": 10}, option=NUMPY) for q in queries]
    with omp_threads(1):
        times = []
        for body in bodies:
            started = time.perf_counter()
            app.answer(body)
            times.append(time.perf_counter() - started)
    return float(np.median(times)) * 1e6


def segment_floor(s: Setup, sizes: list[int], fresh: int) -> dict[str, Any]:
    """FAISS alone, one thread, per query: Zoro's segments (an HNSW per sealed size, a flat scan
    for the fresh one, searched in turn) against one HNSW of everything. The search work
    Zoro's segmenting adds, before any HTTP or Python."""
    bounds = np.cumsum([0, *sizes, fresh]).tolist()
    parts: list[faiss.Index] = [
        build_hnsw(s.data[a:b], m=ANN.hnsw_m, ef_construct=ANN.hnsw_ef_construct)
        for a, b in itertools.pairwise(bounds[: len(sizes) + 1])
    ]
    if fresh:
        parts.append(faiss.IndexFlatL2(DIM))
        parts[-1].add(s.data[bounds[-2] : bounds[-1]])
    params = hnsw_params(ANN.hnsw_ef_search)
    with omp_threads(1):
        one = _per_query_us([s.index], s.queries, params)
        segmented = _per_query_us(parts, s.queries, params)
    print(
        f"FAISS per query, 1 thread: one HNSW {one:.0f} us; Zoro's segments {sizes} "
        f"+ fresh {fresh}: {segmented:.0f} us",
        flush=True,
    )
    return {"sizes": sizes, "fresh": fresh, "one_index_us": one, "segments_us": segmented}


def _per_query_us(indexes: list[faiss.Index], queries: F32, params: Any) -> float:
    started = time.perf_counter()
    for q in queries:
        for index in indexes:
            index.search(q.reshape(1, -1), 10, params=params if index.ntotal > 0 else None)
    return (time.perf_counter() - started) / len(queries) * 1e6


@contextlib.contextmanager
def omp_threads(n: int) -> Iterator[None]:
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def phase_search(s: Setup, zoro_url: str, rounds: int) -> dict[str, Any]:
    """Rounds of (ping, bare query, zoro) at each connection count, interleaved so that drift in
    the machine's load hits all three alike; each figure is its median round (by req/s)."""
    print("search ...", flush=True)
    runs: list[WrkRun] = []
    query = [str(s.files["query"]), "/collections/c/points/query", "POST"]
    ping = [str(s.files["empty"]), "/", "GET"]
    ef = str(ANN.hnsw_ef_search)
    with (
        ref_server(s.root, "ping") as ping_url,
        ref_server(
            s.root, "query", "--data", str(s.data_path), "--index", str(s.index_path), "--ef", ef
        ) as ref_url,
    ):
        for _ in range(rounds):
            for conns in SEARCH_CONNS:
                runs.append(wrk("ping", ping_url, ping, conns, s.seconds))
                runs.append(wrk("bare query", ref_url, query, conns, s.seconds))
                runs.append(wrk("zoro query", zoro_url, query, conns, s.seconds))
    return {
        "median": [asdict(x) for x in medians(runs)],
        "paired_ratio": {str(c): paired_ratio(runs, c) for c in SEARCH_CONNS},
        "rounds": [asdict(x) for x in runs],
    }


def paired_ratio(runs: list[WrkRun], conns: int) -> float:
    """Median over rounds of zoro / bare query req/s, each pair taken back to back."""
    zoro = [r.rps for r in runs if r.target == "zoro query" and r.conns == conns]
    bare = [r.rps for r in runs if r.target == "bare query" and r.conns == conns]
    return float(np.median([z / b for z, b in zip(zoro, bare, strict=True)]))


def medians(runs: list[WrkRun]) -> list[WrkRun]:
    """The median run (by req/s) of each (target, conns), in first-seen order."""
    groups: dict[tuple[str, int], list[WrkRun]] = {}
    for run in runs:
        groups.setdefault((run.target, run.conns), []).append(run)
    return [sorted(g, key=lambda r: r.rps)[len(g) // 2] for g in groups.values()]


def phase_batch(s: Setup, zoro_url: str) -> dict[str, Any]:
    print("batch query ...", flush=True)
    args = [str(s.files["batch"]), "/collections/c/points/query/batch", "POST"]
    zoro = wrk("zoro batch x100", zoro_url, args, BATCH_CONNS, s.seconds)
    ref = faiss_batch_rate(s.index, s.queries, s.seconds)
    print(
        f"  raw FAISS batch in-process: {ref['vectors_per_s']:.0f} vectors/s "
        f"(best of OpenMP threads {ref['by_threads']})",
        flush=True,
    )
    return {"zoro": asdict(zoro), "zoro_vectors_per_s": zoro.rps * BATCH_QUERIES, "reference": ref}


def phase_writes(s: Setup, client: httpx.Client, zoro_url: str) -> dict[str, Any]:
    print("small writes ...", flush=True)
    create_collection(client, "w")
    before = collection_info(client, "w")["zoro"]
    args = [str(s.files["write"]), "/collections/w/points?wait=true", "PUT", str(WRITE_ID_BASE)]
    zoro = wrk("zoro write x1", zoro_url, args, WRITE_CONNS, s.seconds)
    time.sleep(0.5)
    info = collection_info(client, "w")
    syncs = info["zoro"]["wal_syncs"] - before["wal_syncs"]
    records = info["zoro"]["wal_records"] - before["wal_records"]
    with ref_server(s.root, "ping") as ping_url:
        ping = wrk("ping", ping_url, [str(s.files["empty"]), "/", "GET"], WRITE_CONNS, s.seconds)
        ping_put = wrk("ping (PUT body)", ping_url, args, WRITE_CONNS, s.seconds)
    return {
        "zoro": asdict(zoro),
        "ping": asdict(ping),
        "ping_put": asdict(ping_put),
        "wal_syncs": syncs,
        "wal_records": records,
        "writes_per_sync": records / max(syncs, 1),
        "points_count": info["points_count"],
    }


# ------------------------------------------------------------------------------ report


@dataclass(frozen=True)
class Verdict:
    figure: str
    zoro: float
    reference: str
    ref: float | None
    goal: str
    met: bool
    ratio: float | None = None


def verdicts(r: dict[str, Any]) -> list[Verdict]:
    ing, rec, b, w = r["ingest"], r["recall"], r["batch"], r["writes"]
    rows = [
        _ratio_row(
            "ingest 1000x128 c=8 (points/s)",
            ing["zoro"]["points_per_s"],
            "engine in-process",
            ing["engine"]["points_per_s"],
            0.6,
        )
    ]
    runs = {(x["target"], x["conns"]): x for x in r["search"]["median"]}
    for conns in SEARCH_CONNS:
        z, ref = runs[("zoro query", conns)], runs[("bare query", conns)]
        ratio = r["search"]["paired_ratio"][str(conns)]
        figure = f"query c={conns} (req/s) [1]"
        rows.append(
            Verdict(figure, z["rps"], "bare query", ref["rps"], ">= 0.85x", ratio >= 0.85, ratio)
        )
        rows.append(
            Verdict(
                f"query c={conns} p99 (ms)",
                z["p99_ms"],
                "bare query",
                ref["p99_ms"],
                "< 50 ms",
                z["p99_ms"] < 50,
            )
        )
    rows.append(
        Verdict(
            "recall@10 vs exact",
            rec["zoro"],
            "bare FAISS HNSW",
            rec["reference"],
            ">= 0.95",
            rec["zoro"] >= 0.95,
        )
    )
    rows.append(
        _ratio_row(
            "batch x100 (vectors/s)",
            b["zoro_vectors_per_s"],
            "raw FAISS batch",
            b["reference"]["vectors_per_s"],
            0.5,
        )
    )
    rows.append(
        _ratio_row(
            f"1-point writes c={WRITE_CONNS} (w/s)",
            w["zoro"]["rps"],
            "ping ceiling",
            w["ping"]["rps"],
            0.6,
        )
    )
    rows.append(
        Verdict(
            "writes per WAL sync",
            w["writes_per_sync"],
            "-",
            None,
            ">= 20",
            w["writes_per_sync"] >= 20,
        )
    )
    return rows


def _ratio_row(figure: str, zoro: float, reference: str, ref: float, goal: float) -> Verdict:
    return Verdict(figure, zoro, reference, ref, f">= {goal}x", zoro >= goal * ref, zoro / ref)


def print_report(r: dict[str, Any]) -> None:
    m = r["machine"]
    print(
        f"\nZoro-DB HTTP bench, {r['points']:,} x {DIM} clustered, Euclid, HNSW M={ANN.hnsw_m} "
        f"efC={ANN.hnsw_ef_construct} ef={ANN.hnsw_ef_search}; {r['seconds']:g} s runs; "
        f"{m['cores']} cores, {m['memory_gb']} GB; load at start {m['load_at_start'][0]:.2f}\n"
    )
    print(
        f"{'target':<18} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} "
        f"{'p99 ms':>8} {'load':>5}  errors"
    )
    w = r["writes"]
    for x in [*r["search"]["median"], r["batch"]["zoro"], w["zoro"], w["ping"], w["ping_put"]]:
        print(
            f"{x['target']:<18} {x['conns']:>5} {x['rps']:>9.0f} {x['p50_ms']:>8.2f} "
            f"{x['p90_ms']:>8.2f} {x['p99_ms']:>8.2f} {x['load_1m']:>5.2f}  {x['errors'] or ''}"
        )
    print(
        f"\n{'figure':<34} {'zoro':>9}  {'reference':<17} {'ref':>9} {'ratio':>6}  "
        f"{'goal':<9} verdict"
    )
    for v in verdicts(r):
        ref = f"{v.ref:9.{_digits(v.ref)}f}" if v.ref is not None else f"{'-':>9}"
        ratio = f"{v.ratio:6.2f}" if v.ratio is not None else f"{'-':>6}"
        print(
            f"{v.figure:<34} {v.zoro:9.{_digits(v.zoro)}f}  {v.reference:<17} {ref} {ratio}  "
            f"{v.goal:<9} {'MET' if v.met else 'MISSED'}"
        )
    print("[1] req/s: median round; ratio: median over rounds of zoro / bare query, same round")
    print_diagnostics(r)


def _digits(value: float) -> int:
    return 0 if abs(value) >= 100 else (1 if abs(value) >= 10 else 3)


def print_diagnostics(r: dict[str, Any]) -> None:
    ing, flat, rec, floor, w = (
        r["ingest"],
        r["ingest"]["flat"],
        r["recall"],
        r["segment_floor"],
        r["writes"],
    )
    print("\ndiagnostics")
    print(
        f"  ingest into a flat collection (no HNSW builds): zoro "
        f"{flat['zoro']['points_per_s']:.0f} vs engine {flat['engine']['points_per_s']:.0f} "
        f"points/s ({flat['zoro']['points_per_s'] / flat['engine']['points_per_s']:.2f}x)"
    )
    bare = ing["bare_decode"]["points_per_s"]
    print(
        f"  bare decode reference (hypercorn + orjson + float32 matrix, nothing stored): "
        f"{bare:.0f} points/s; zoro HNSW ingest is {ing['zoro']['points_per_s'] / bare:.2f}x it"
    )
    print(
        f"  indexing finished {ing['index_wait_s']:.0f} s after the HNSW load; segments "
        f"{floor['sizes']} + fresh {floor['fresh']}"
    )
    print(
        f"  search handler, no load (median): zoro {rec['zoro_handler_us']:.0f} us, bare "
        f"reference {rec['ref_handler_us']:.0f} us"
    )
    print(
        f"  FAISS alone per query (1 thread): one HNSW {floor['one_index_us']:.0f} us, "
        f"Zoro's segments {floor['segments_us']:.0f} us"
    )
    print(
        f"  writes: {w['wal_records']} WAL records in {w['wal_syncs']} syncs; "
        f"points in w afterwards {w['points_count']}, acknowledged {w['zoro']['ok']}"
    )
    problems = r.get("server_log_problems") or []
    print(f"  zoro exit code {r.get('server_exit')}; {len(problems)} error lines in its log")


# ------------------------------------------------------------------------------ main


def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    seconds = 3.0 if args.quick else 10.0
    points = args.points or (50_000 if args.quick else 200_000)
    result: dict[str, Any] = {
        "machine": machine_info(),
        "points": points,
        "seconds": seconds,
        "distance": "Euclid",
        "ann": asdict(ANN),
    }
    setup, result["reference_build"] = prepare(root, args.quick, points, seconds)
    server = ServerProcess(root / "zoro-data", log_path=root / "zoro.log").start()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            result["ingest"] = phase_ingest(setup, server, client)
            result["recall"] = phase_recall(setup, client)
        result["segment_floor"] = segment_floor(setup, *_sizes(result["ingest"]["index"]))
        result["search"] = phase_search(setup, server.url, args.rounds or (1 if args.quick else 3))
        result["batch"] = phase_batch(setup, server.url)
        with httpx.Client(base_url=server.url, timeout=60) as client:
            result["writes"] = phase_writes(setup, client, server.url)
        if args.profile:
            result["profile"] = run_profiles(args.profile, setup, server, result)
    finally:
        result["server_exit"] = server.stop()
        result["server_log_problems"] = _log_problems(server.log_path)
    result["load_at_end"] = os.getloadavg()
    return result


def run_profiles(
    root: Path, s: Setup, server: ServerProcess, result: dict[str, Any]
) -> dict[str, Any]:
    assert server.process is not None
    root.mkdir(parents=True, exist_ok=True)
    print("profiling zoro under the c=64 search load ...", flush=True)
    search = profile_search(root, server.process.pid, server.url, s.files, 10.0)
    print("profiling zoro during a second durable ingest ...", flush=True)
    seconds = result["ingest"]["zoro"]["seconds"] * 0.8
    with httpx.Client(base_url=server.url, timeout=60) as client:
        ingest = profile_ingest(root, server, client, upsert_bodies(s.data), seconds)
    return {"search": search, "ingest": ingest}


def _log_problems(path: Path) -> list[str]:
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    return [x for x in lines if re.search(r"ERROR|CRITICAL|Traceback|Exception", x)][:50]


def main() -> None:
    parser = argparse.ArgumentParser(description="Zoro-DB HTTP figures beside their references")
    parser.add_argument("--quick", action="store_true", help="3 s runs, 50,000 points")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--points", type=int, help="collection size (default 200,000)")
    parser.add_argument("--rounds", type=int, help="search rounds (default 3, --quick 1)")
    parser.add_argument("--profile", type=Path, help="py-spy the search load into this directory")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()
    result = in_scratch("zoro-bench-http-", lambda root: run(args, root), keep=args.keep)
    print_report(result)
    write_json(args.json, result)


if __name__ == "__main__":
    main()
