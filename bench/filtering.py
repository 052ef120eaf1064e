"""Filtered search over HTTP, without and with payload indexes, beside unfiltered search and raw
FAISS from the same run.

    .venv/bin/python -m bench.filtering [--quick] [--points N] [--json PATH] [--profile DIR]
                                        [--ref-points N] [--seconds S]

Data: N x 128 float32 (1,000,000; 100,000 with --quick), clustered (256 gaussian centres x4 +
unit noise, seeded), Cosine, the default HNSW engine; ids are row numbers. Payloads:
{"category": one of 1,000 keyword strings, "price": uniform float in [0, 1000), "tags": 1-3 of 20
words}, drawn independently of the vectors (the hard case for a filtered graph walk: the kept
points are scattered over the whole graph). 500 queries from the same distribution.

1. Load: PUT /collections/c/points?wait=true, 1,000 points per body, 4 connections; then wait
   (bounded) until GET /collections/c says indexed_vectors_count == points_count and "green".
   Meanwhile this process builds the raw FAISS reference (IndexHNSWFlat with the server's M and
   efConstruction, inner product on normalised rows) on one OpenMP thread: the server's builder
   also takes one thread, so the two share the 2 cores.
2. Without payload indexes: unfiltered top-10 POST /points/query, then four filters:
     50%    500-wide price window (drawn per query)          (range)
     5%     category any-of 50 categories (drawn per query)  (match any)
     0.5%   category any-of 5 categories (drawn per query)   (match any)
     0.01%  category == one value (per query) AND price < 100
   Each case sends single queries from 4 keep-alive connections (Python http.client threads),
   cycling through the 500 queries, for S seconds (10; 5 with --quick) or 5,000 queries, and at
   least 30 queries (hard cap 6 x S). QPS, p50/p99 of the client-side latency, and recall@10 of
   the answers against exact filtered ground truth (numpy over the normalised vectors, restricted
   to the points the filter keeps, computed from the generated payloads).
3. PUT /collections/c/index?wait=true: keyword on "category", float on "price" (each timed), then
   the unfiltered run and the four cases again, then the unfiltered run once more (the ratio to
   unfiltered uses the mean of the phase's two unfiltered runs).
4. Raw FAISS: single queries on one OpenMP thread in this process over the same vectors (or the
   first --ref-points of them), same ef as the server, QPS, p50/p99 and recall@10.

Goals (the filtering issue): with payload indexes, every selectivity at >= 0.3x the unfiltered
QPS and recall@10 >= 0.95; no filtered query slower than 50 ms p99.

--profile DIR re-runs the slowest indexed case (or --profile-case PREFIX) under py-spy (raw stacks
+ the top self/inclusive functions in the JSON). --skip-no-index runs only the indexed phase.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import faiss
import httpx
import numpy as np
import numpy.typing as npt
import orjson

from bench.scratch import in_scratch, write_json
from zoro.settings import AnnSettings
from zoro.testing import ServerProcess

DIM = 128
CATEGORIES = 1_000
TAGS = (
    "red", "green", "blue", "black", "white", "small", "large", "new", "used", "cheap",
    "premium", "sale", "eco", "local", "import", "fast", "slow", "light", "heavy", "rare",
)  # fmt: skip
BATCH_POINTS = 1_000
LOAD_CONNS = 4
QUERY_CONNS = 4
QUERIES = 500
K = 10
CLUSTERS = 256
NUMPY = orjson.OPT_SERIALIZE_NUMPY
ANN = AnnSettings()
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
JSON_HEADERS = {"content-type": "application/json"}


# ------------------------------------------------------------------------------ data


@dataclass
class Data:
    vectors: F32  # as sent (not normalised)
    unit: F32  # normalised rows, for ground truth and the raw reference
    queries: F32
    unit_queries: F32
    category: I64  # 0..CATEGORIES-1
    price: npt.NDArray[np.float64]
    tags: list[list[str]]


def make_data(n: int, seed: int = 7) -> Data:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(CLUSTERS, DIM)).astype(np.float32) * 4

    def draw(m: int) -> F32:
        labels = rng.integers(0, CLUSTERS, size=m)
        out = rng.normal(size=(m, DIM)).astype(np.float32)
        out += centres[labels]
        return out

    vectors, queries = draw(n), draw(QUERIES)
    category = rng.integers(0, CATEGORIES, size=n).astype(np.int64)
    price = rng.uniform(0.0, 1000.0, size=n)
    counts = rng.integers(1, 4, size=n)
    picks = rng.integers(0, len(TAGS), size=(n, 3))
    tags = [
        list(dict.fromkeys(TAGS[t] for t in row[:c])) for row, c in zip(picks, counts, strict=True)
    ]
    return Data(vectors, normalised(vectors), queries, normalised(queries), category, price, tags)


def normalised(x: F32) -> F32:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / np.maximum(norms, 1e-12), dtype=np.float32)


def cat_name(c: int) -> str:
    return f"cat-{c:04d}"


def upsert_body(d: Data, start: int, end: int) -> bytes:
    return orjson.dumps(
        {
            "points": [
                {
                    "id": i,
                    "vector": d.vectors[i],
                    "payload": {
                        "category": cat_name(int(d.category[i])),
                        "price": float(d.price[i]),
                        "tags": d.tags[i],
                    },
                }
                for i in range(start, end)
            ]
        },
        option=NUMPY,
    )


# ------------------------------------------------------------------------------ filter cases


@dataclass
class Case:
    name: str
    nominal: float  # the share of points the filter is meant to keep
    filters: list[dict[str, Any]]  # one per query
    kept: list[I64]  # the rows each query's filter keeps (from the generated payloads)


def make_cases(d: Data, seed: int = 11) -> list[Case]:
    rng = np.random.default_rng(seed)
    order = np.argsort(d.category, kind="stable")
    bounds = np.searchsorted(d.category[order], np.arange(CATEGORIES + 1))
    rows_of = [np.sort(order[bounds[c] : bounds[c + 1]]) for c in range(CATEGORIES)]
    # A different 500-wide price window per query: every filter is new to the server, so no
    # query reuses the selection of the one before (the server keeps those of repeated filters).
    # 50 windows in turn (the kept sets of 500 would take GBs); the server keeps only 8.
    lows = rng.uniform(0.0, 500.0, size=50)
    window_rows = [np.flatnonzero((d.price >= lo) & (d.price < lo + 500.0)) for lo in lows]
    windows = [int(i) % len(lows) for i in range(QUERIES)]
    cases = [
        Case(
            "50% price window of 500",
            0.5,
            [
                {"must": [{"key": "price", "range": {"gte": lows[w], "lt": lows[w] + 500.0}}]}
                for w in windows
            ],
            [window_rows[w] for w in windows],
        )
    ]
    for share, many in ((0.05, 50), (0.005, 5)):
        filters, kept = [], []
        for _ in range(QUERIES):
            chosen = rng.choice(CATEGORIES, size=many, replace=False)
            filters.append(
                {"must": [{"key": "category", "match": {"any": [cat_name(c) for c in chosen]}}]}
            )
            kept.append(np.sort(np.concatenate([rows_of[c] for c in chosen])))
        cases.append(Case(f"{share:.1%} category any-of {many}", share, filters, kept))
    filters, kept = [], []
    for c in rng.integers(0, CATEGORIES, size=QUERIES):
        filters.append(
            {
                "must": [
                    {"key": "category", "match": {"value": cat_name(int(c))}},
                    {"key": "price", "range": {"lt": 100.0}},
                ]
            }
        )
        rows = rows_of[int(c)]
        kept.append(rows[d.price[rows] < 100.0])
    cases.append(Case("0.01% category==1 AND price<100", 0.0001, filters, kept))
    return cases


def ground_truth(d: Data, cases: list[Case], chunk: int = 50) -> tuple[I64, dict[str, I64]]:
    """Exact top-10 (inner product of unit rows = Cosine) for every query, unfiltered and for
    each case over the rows its filter keeps; -1 pads rows with fewer than 10 kept points."""
    unfiltered = np.full((QUERIES, K), -1, dtype=np.int64)
    per_case = {c.name: np.full((QUERIES, K), -1, dtype=np.int64) for c in cases}
    for start in range(0, QUERIES, chunk):
        scores = d.unit_queries[start : start + chunk] @ d.unit.T
        for j, row in enumerate(scores):
            q = start + j
            unfiltered[q] = _top(row, None)
            for c in cases:
                found = _top(row, c.kept[q])
                per_case[c.name][q, : len(found)] = found
    return unfiltered, per_case


def _top(row: F32, rows: I64 | None) -> I64:
    values = row if rows is None else row[rows]
    if len(values) <= K:
        best = np.argsort(-values, kind="stable")
    else:
        part = np.argpartition(-values, K)[:K]
        best = part[np.argsort(-values[part], kind="stable")]
    return best if rows is None else rows[best]


def recall(found: dict[int, list[int]], truth: I64) -> float | None:
    """Mean over answered queries of |found ∩ truth| / min(10, |truth|)."""
    scores = []
    for q, ids in found.items():
        expected = {int(x) for x in truth[q] if x >= 0}
        if expected:
            scores.append(len(expected & set(ids)) / len(expected))
    return float(np.mean(scores)) if scores else None


# ------------------------------------------------------------------------------ HTTP load


@dataclass
class Run:
    case: str
    phase: str
    queries: int = 0
    seconds: float = 0.0
    qps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    recall: float | None = None
    recall_queries: int = 0
    server_ms_p50: float = 0.0  # the server's own "time" field
    client_cpu_ms: float = 0.0  # this process's CPU per query (it shares the 2 cores)
    load_1m: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)
    ratio_to_unfiltered: float | None = None
    mean_kept: float | None = None


@dataclass(frozen=True)
class Bounds:
    seconds: float
    max_queries: int
    min_queries: int
    hard_seconds: float


def query_run(
    port: int,
    case: str,
    phase: str,
    bodies: list[bytes],
    truth: I64 | None,
    bounds: Bounds,
    conns: int = QUERY_CONNS,
) -> Run:
    """Single queries from `conns` keep-alive connections, cycling through `bodies`, until
    max_queries are answered, or `seconds` passed with at least min_queries answered, or
    hard_seconds passed (queries in flight then finish)."""
    lock = threading.Lock()
    counter = iter(range(10**9))
    latencies: list[float] = []
    server_times: list[float] = []
    answers: dict[int, list[int]] = {}
    errors: Counter[str] = Counter()
    started = time.perf_counter()

    def take() -> int | None:
        with lock:
            elapsed = time.perf_counter() - started
            done = len(latencies)
            if done >= bounds.max_queries or elapsed >= bounds.hard_seconds:
                return None
            if elapsed >= bounds.seconds and done >= bounds.min_queries:
                return None
            return next(counter)

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        path = "/collections/c/points/query"
        while (i := take()) is not None:
            q = i % len(bodies)
            t0 = time.perf_counter()
            try:
                conn.request("POST", path, body=bodies[q], headers=JSON_HEADERS)
                response = conn.getresponse()
                raw = response.read()
            except (http.client.HTTPException, OSError) as exc:  # server closed keep-alive
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
                with lock:
                    errors[type(exc).__name__] += 1
                continue
            took = time.perf_counter() - t0
            if response.status != 200:
                with lock:
                    errors[f"status {response.status}"] += 1
                continue
            document = orjson.loads(raw)
            ids = [int(p["id"]) for p in document["result"]["points"]]
            with lock:
                latencies.append(took)
                server_times.append(float(document["time"]))
                answers.setdefault(q, ids)
        conn.close()

    load, cpu = os.getloadavg()[0], time.process_time()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=bounds.hard_seconds + 600)
    elapsed = time.perf_counter() - started
    ms = np.asarray(latencies) * 1e3 if latencies else np.zeros(1)
    run = Run(
        case,
        phase,
        queries=len(latencies),
        seconds=elapsed,
        qps=len(latencies) / elapsed,
        p50_ms=float(np.percentile(ms, 50)),
        p99_ms=float(np.percentile(ms, 99)),
        max_ms=float(ms.max()),
        recall=recall(answers, truth) if truth is not None else None,
        recall_queries=len(answers),
        server_ms_p50=float(np.median(server_times)) * 1e3 if server_times else 0.0,
        client_cpu_ms=(time.process_time() - cpu) / max(1, len(latencies)) * 1e3,
        load_1m=load,
        errors=dict(errors),
    )
    rec = f"{run.recall:.4f}" if run.recall is not None else "-"
    print(
        f"  {phase:<8} {case:<34} {run.qps:8.1f} q/s  p50 {run.p50_ms:8.2f} ms  "
        f"p99 {run.p99_ms:8.2f} ms  server p50 {run.server_ms_p50:7.2f} ms  recall {rec} "
        f"({run.recall_queries} q)  n={run.queries}  "
        f"load {load:.2f} {run.errors or ''}",
        flush=True,
    )
    return run


def load_points(port: int, d: Data) -> dict[str, Any]:
    """PUT ?wait=true bodies of 1,000 points from LOAD_CONNS connections; bodies are built by
    the sending thread (bounded memory at 1M points)."""
    n = len(d.vectors)
    starts = iter(range(0, n, BATCH_POINTS))
    lock, statuses = threading.Lock(), Counter[int]()

    def take() -> int | None:
        with lock:
            return next(starts, None)

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        while (start := take()) is not None:
            body = upsert_body(d, start, min(start + BATCH_POINTS, n))
            conn.request("PUT", "/collections/c/points?wait=true", body=body, headers=JSON_HEADERS)
            response = conn.getresponse()
            response.read()
            with lock:
                statuses[response.status] += 1
        conn.close()

    load = os.getloadavg()[0]
    cpu, started = time.process_time(), time.perf_counter()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(LOAD_CONNS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=3600)
    elapsed = time.perf_counter() - started
    if set(statuses) != {200}:
        raise RuntimeError(f"load failed: statuses {dict(statuses)}")
    out = {
        "points": n,
        "seconds": elapsed,
        "points_per_s": n / elapsed,
        "client_cpu_s": time.process_time() - cpu,
        "conns": LOAD_CONNS,
        "load_1m": load,
    }
    print(f"loaded {n:,} points in {elapsed:.1f} s = {n / elapsed:,.0f} points/s", flush=True)
    return out


def collection_info(client: httpx.Client) -> dict[str, Any]:
    response = client.get("/collections/c")
    response.raise_for_status()
    result: dict[str, Any] = response.json()["result"]
    return result


def wait_green(client: httpx.Client, timeout_s: float, what: str) -> dict[str, Any]:
    """Until indexed_vectors_count == points_count and status green (bounded)."""
    started = time.monotonic()
    last_print = started
    while True:
        info = collection_info(client)
        if info["indexed_vectors_count"] == info["points_count"] and info["status"] == "green":
            waited = time.monotonic() - started
            print(f"{what}: green after {waited:.1f} s", flush=True)
            return {"seconds": waited, "index": info["zoro"]["index"]}
        now = time.monotonic()
        if now - started > timeout_s:
            raise RuntimeError(f"{what}: not green after {timeout_s} s: {info['zoro']['index']}")
        if now - last_print > 60:
            print(
                f"  ... {what}: {info['indexed_vectors_count']:,}/{info['points_count']:,} "
                f"indexed, {info['status']}, {now - started:.0f} s",
                flush=True,
            )
            last_print = now
        time.sleep(1.0)


def create_index(client: httpx.Client, key: str, schema: str) -> dict[str, Any]:
    started = time.perf_counter()
    response = client.put(
        "/collections/c/index",
        params={"wait": "true"},
        json={"field_name": key, "field_schema": schema},
        timeout=1800,
    )
    response.raise_for_status()
    took = time.perf_counter() - started
    print(f"payload index {key} ({schema}) built in {took:.2f} s", flush=True)
    return {"field": key, "schema": schema, "seconds": took, "answer": response.json()["result"]}


def query_bodies(d: Data, filters: list[dict[str, Any]] | None) -> list[bytes]:
    return [
        orjson.dumps(
            {"query": d.queries[q], "limit": K, **({"filter": filters[q]} if filters else {})},
            option=NUMPY,
        )
        for q in range(QUERIES)
    ]


def phase(
    port: int,
    name: str,
    d: Data,
    cases: list[Case],
    truth: tuple[I64, dict[str, I64]],
    bounds: Bounds,
    case_bounds: Bounds,
    rounds: int,
) -> tuple[list[Run], list[Run]]:
    """`rounds` rounds of (unfiltered, case) pairs, back to back, so that the machine's drift
    hits both alike. Returns the summary (the median unfiltered run, then each case's median
    round with the median of its per-round ratios to the unfiltered run just before it) and
    every run."""
    plain = query_bodies(d, None)
    bodies = {c.name: query_bodies(d, c.filters) for c in cases}
    every: list[Run] = []
    pairs: dict[str, list[tuple[Run, Run]]] = {c.name: [] for c in cases}
    for _ in range(rounds):
        for c in cases:
            base = query_run(port, "unfiltered", name, plain, truth[0], bounds)
            run = query_run(port, c.name, name, bodies[c.name], truth[1][c.name], case_bounds)
            run.mean_kept = float(np.mean([len(k) for k in c.kept])) / len(d.vectors)
            run.ratio_to_unfiltered = run.qps / base.qps
            base.ratio_to_unfiltered = 1.0
            pairs[c.name].append((base, run))
            every += [base, run]
    unfiltered = _median_run([x for x in every if x.case == "unfiltered"])
    summary = [replace(unfiltered, ratio_to_unfiltered=1.0)]
    for c in cases:
        ratios = [f.qps / u.qps for u, f in pairs[c.name]]
        chosen = _median_run([f for _, f in pairs[c.name]])
        summary.append(replace(chosen, ratio_to_unfiltered=float(np.median(ratios))))
    return summary, every


def _median_run(runs: list[Run]) -> Run:
    return sorted(runs, key=lambda r: r.qps)[len(runs) // 2]


# ------------------------------------------------------------------------------ raw FAISS


def build_reference(unit: F32) -> tuple[faiss.Index, float]:
    index = faiss.IndexHNSWFlat(DIM, ANN.hnsw_m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = ANN.hnsw_ef_construct
    started = time.perf_counter()
    index.add(unit)
    return index, time.perf_counter() - started


def reference_run(index: faiss.Index, d: Data, truth: I64, bounds: Bounds) -> Run:
    """Single queries, one OpenMP thread, in this process: the raw FAISS ceiling."""
    raw: Any = faiss  # SearchParametersHNSW is missing from FAISS's type stubs
    params = raw.SearchParametersHNSW()
    params.efSearch = ANN.hnsw_ef_search
    load = os.getloadavg()[0]
    times: list[float] = []
    answers: dict[int, list[int]] = {}
    started = time.perf_counter()
    while len(times) < bounds.max_queries * 4 and time.perf_counter() - started < bounds.seconds:
        q = len(times) % QUERIES
        t0 = time.perf_counter()
        _, labels = index.search(d.unit_queries[q : q + 1], K, params=params)
        times.append(time.perf_counter() - t0)
        answers.setdefault(q, [int(x) for x in labels[0] if x >= 0])
    elapsed = time.perf_counter() - started
    ms = np.asarray(times) * 1e3
    run = Run(
        "raw FAISS HNSW (1 thread)",
        "reference",
        queries=len(times),
        seconds=elapsed,
        qps=len(times) / elapsed,
        p50_ms=float(np.percentile(ms, 50)),
        p99_ms=float(np.percentile(ms, 99)),
        max_ms=float(ms.max()),
        recall=recall(answers, truth),
        recall_queries=len(answers),
        load_1m=load,
    )
    print(
        f"  raw FAISS {run.qps:8.1f} q/s  p50 {run.p50_ms:.3f} ms  p99 {run.p99_ms:.3f} ms  "
        f"recall {run.recall:.4f}  load {load:.2f}",
        flush=True,
    )
    return run


class Background(threading.Thread):
    """Builds the raw reference beside the server's own indexer (FAISS releases the GIL)."""

    def __init__(self, unit: F32) -> None:
        super().__init__(daemon=True)
        self.unit = unit
        self.index: faiss.Index | None = None
        self.seconds = 0.0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            faiss.omp_set_num_threads(1)  # per thread: the main thread's setting is not inherited
            self.index, self.seconds = build_reference(self.unit)
        except BaseException as exc:  # reported by the main thread
            self.error = exc


# ------------------------------------------------------------------------------ profile


def profile_case(
    root: Path, pid: int, port: int, case: Case, bodies: list[bytes], truth: I64, bounds: Bounds
) -> dict[str, Any]:
    """py-spy (raw stacks, 100 Hz, idle frames dropped) while the case runs again."""
    root.mkdir(parents=True, exist_ok=True)
    out = root / "filtered.raw.txt"
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    command = [
        spy, "record", "--pid", str(pid), "-d", str(max(1, round(bounds.seconds))), "-r", "100",
        "--format", "raw", "--threads", "-o", str(out),
    ]  # fmt: skip
    spy_process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.0)
    run = query_run(port, "profiled " + case.name, "indexed", bodies, truth, bounds)
    try:
        _, err = spy_process.communicate(timeout=bounds.seconds + 60)
    except subprocess.TimeoutExpired:
        spy_process.kill()
        _, err = spy_process.communicate()
    if not out.exists():
        return {"error": err.decode(errors="replace")[-2000:], "run": asdict(run)}
    self_counts: Counter[str] = Counter()
    incl_counts: Counter[str] = Counter()
    total = 0
    for line in out.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame(f) for f in stack.split(";")]
        total += count
        self_counts[frames[-1]] += count
        for frame in set(frames[1:]):
            incl_counts[frame] += count
    return {
        "raw": out.name,  # the profile stays in its temp dir; no machine paths in results
        "samples": total,
        "top_self": [(f, c / total) for f, c in self_counts.most_common(25)],
        "top_inclusive": [(f, c / total) for f, c in incl_counts.most_common(40)],
        "run": asdict(run),
    }


def _frame(text: str) -> str:
    # "function (path/to/file.py:123)" -> "function (file.py)"
    found = re.match(r"(.*) \((.*?):\d+\)$", text.strip())
    if not found:
        return text.strip()
    return f"{found.group(1)} ({Path(found.group(2)).name})"


# ------------------------------------------------------------------------------ report


def machine_info() -> dict[str, Any]:
    meminfo = Path("/proc/meminfo").read_text()
    mem = re.search(r"MemTotal:\s+(\d+)", meminfo)
    model = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
    versions: dict[str, str | None] = {}
    for package in ("faiss-cpu", "numpy", "orjson", "httpx", "trio", "hypercorn", "quart-trio"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent,
        check=False,
    ).stdout.strip()
    return {
        "cores": os.cpu_count(),
        "cpu": model.group(1) if model else platform.processor(),
        "memory_gb": round(int(mem.group(1)) / 1024 / 1024, 1) if mem else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        "commit": commit,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def goals(r: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for run in r["runs"]["indexed"]:
        if run["case"].startswith("unfiltered"):
            continue
        rows.append(
            {
                "figure": f"{run['case']}: QPS / unfiltered",
                "value": run["ratio_to_unfiltered"],
                "goal": ">= 0.3x",
                "met": run["ratio_to_unfiltered"] >= 0.3,
            }
        )
        rows.append(
            {
                "figure": f"{run['case']}: recall@10",
                "value": run["recall"],
                "goal": ">= 0.95",
                "met": run["recall"] is not None and run["recall"] >= 0.95,
            }
        )
        rows.append(
            {
                "figure": f"{run['case']}: p99 ms",
                "value": run["p99_ms"],
                "goal": "< 50 ms",
                "met": run["p99_ms"] < 50,
            }
        )
    return rows


def print_report(r: dict[str, Any]) -> None:
    m = r["machine"]
    print(
        f"\nZoro-DB filtered search, {r['points']:,} x {DIM} clustered, Cosine, HNSW "
        f"M={ANN.hnsw_m} efC={ANN.hnsw_ef_construct} ef={ANN.hnsw_ef_search}; "
        f"{QUERY_CONNS} connections, {r['bounds']['seconds']:g} s per run, {r['rounds']} "
        f"indexed rounds; "
        f"{m['cores']} cores, {m['memory_gb']} GB; {m['date']}; commit {m['commit']}"
    )
    print(f"load average at start {_load(r['load_at_start'])}, at end {_load(r['load_at_end'])}")
    ld = r["load"]
    print(
        f"load over HTTP: {ld['points_per_s']:,.0f} points/s ({ld['seconds']:.0f} s); indexer "
        f"green {r['index_wait']['seconds']:.0f} s later; payload indexes: "
        + ", ".join(
            f"{x['field']} {x['schema']} {x['seconds']:.2f} s" for x in r["payload_indexes"]
        )
    )
    print(
        f"\n{'phase':<9} {'case':<34} {'kept':>7} {'QPS':>8} {'x unf':>6} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'srv ms':>7} {'recall':>7} {'n':>6} {'load':>5}"
    )
    for key in ("no_index", "indexed"):
        for run in r["runs"][key]:
            kept = f"{run['mean_kept']:.3%}" if run["mean_kept"] is not None else "-"
            rec = f"{run['recall']:.4f}" if run["recall"] is not None else "-"
            print(
                f"{run['phase']:<9} {run['case']:<34} {kept:>7} {run['qps']:8.1f} "
                f"{run['ratio_to_unfiltered']:6.2f} {run['p50_ms']:8.2f} {run['p99_ms']:8.2f} "
                f"{run['server_ms_p50']:7.2f} {rec:>7} {run['queries']:>6} {run['load_1m']:5.2f}"
            )
    ref = r.get("reference")
    if ref:
        run = ref["run"]
        unf = r["runs"]["indexed"][0]["qps"]
        print(
            f"{'reference':<9} {run['case']:<34} {'-':>7} {run['qps']:8.1f} {'':>6} "
            f"{run['p50_ms']:8.3f} {run['p99_ms']:8.3f} {'-':>7} {run['recall']:7.4f} "
            f"{run['queries']:>6} {run['load_1m']:5.2f}"
        )
        print(
            f"raw FAISS over {ref['points']:,} points, built in {ref['build_seconds']:.0f} s on "
            f"one thread; Zoro unfiltered over HTTP ({QUERY_CONNS} conns) / raw FAISS "
            f"(1 thread) = {unf / run['qps']:.2f}"
        )
    print(
        "QPS / p50 / p99: client side, 4 connections; x unf: QPS over the unfiltered run just "
        "before (median of rounds); srv ms: the server's own time field, p50; n: queries"
    )
    print(f"\n{'goal (with payload indexes)':<52} {'value':>8}  {'goal':<8} verdict")
    for g in r["goals"]:
        value = f"{g['value']:.3f}" if g["value"] is not None else "-"
        print(f"{g['figure']:<52} {value:>8}  {g['goal']:<8} {'MET' if g['met'] else 'MISSED'}")
    prof = r.get("profile")
    if prof and "top_self" in prof:
        print(f"\nprofile of '{prof['case']}' ({prof['samples']} samples), top self:")
        for name, share in prof["top_self"][:12]:
            print(f"  {share:6.1%}  {name}")
    print(f"server exit {r.get('server_exit')}; {len(r.get('server_log_problems', []))} errors")


def _load(values: list[float] | tuple[float, ...]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


# ------------------------------------------------------------------------------ main


def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    points = args.points or (100_000 if args.quick else 1_000_000)
    seconds = args.seconds or (4.0 if args.quick else 8.0)
    rounds = args.rounds or (2 if args.quick else 3)
    bounds = Bounds(seconds, 5_000, 30, seconds * 6)
    # Without payload indexes a filtered query scans every payload: at 1M points each takes
    # seconds, so that phase is one round with a floor of 4 queries and a 45 s cap.
    slow_bounds = Bounds(seconds, 5_000, 4, 45.0)
    result: dict[str, Any] = {
        "machine": machine_info(),
        "load_at_start": os.getloadavg(),
        "points": points,
        "dim": DIM,
        "distance": "Cosine",
        "queries": QUERIES,
        "query_conns": QUERY_CONNS,
        "bounds": asdict(bounds),
        "no_index_bounds": asdict(slow_bounds),
        "rounds": rounds,
        "ann": asdict(ANN),
    }
    faiss.omp_set_num_threads(1)
    t0 = time.perf_counter()
    d = make_data(points)
    cases = make_cases(d)
    print(f"data: {points:,} x {DIM} in {time.perf_counter() - t0:.1f} s", flush=True)
    t0 = time.perf_counter()
    truth = ground_truth(d, cases)
    result["ground_truth_seconds"] = time.perf_counter() - t0
    print(f"ground truth in {result['ground_truth_seconds']:.1f} s", flush=True)

    ref_points = min(points, args.ref_points or points)
    builder = Background(d.unit[:ref_points]) if not args.no_reference else None
    server = ServerProcess(root / "zoro-data", log_path=root / "zoro.log").start()
    try:
        with httpx.Client(base_url=server.url, timeout=120) as client:
            client.put(
                "/collections/c", json={"vectors": {"size": DIM, "distance": "Cosine"}}
            ).raise_for_status()
            result["load"] = load_points(server.port, d)
            if builder is not None:
                builder.start()
            index_timeout = 600.0 if args.quick else 2400.0
            result["index_wait"] = wait_green(client, index_timeout, "background indexer")
            info = collection_info(client)
            result["collection_after_load"] = {
                k: info[k] for k in ("points_count", "indexed_vectors_count", "segments_count")
            }
            print("without payload indexes:", flush=True)
            no_index, no_index_all = (
                ([], [])
                if args.skip_no_index
                else phase(server.port, "no index", d, cases, truth, bounds, slow_bounds, 1)
            )
            result["payload_indexes"] = [
                create_index(client, "category", "keyword"),
                create_index(client, "price", "float"),
            ]
            result["payload_wait"] = wait_green(client, 600.0, "payload indexes")
            info = collection_info(client)
            result["payload_schema"] = info["payload_schema"]
            result["payload_index_info"] = info["zoro"]["payload_indexes"]
            print("with payload indexes:", flush=True)
            indexed, indexed_all = phase(
                server.port, "indexed", d, cases, truth, bounds, bounds, rounds
            )
            result["runs"] = {
                "no_index": [asdict(x) for x in no_index],
                "indexed": [asdict(x) for x in indexed],
            }
            result["all_runs"] = {
                "no_index": [asdict(x) for x in no_index_all],
                "indexed": [asdict(x) for x in indexed_all],
            }
            if args.profile:
                slowest = min((x for x in indexed[1:]), key=lambda x: x.qps)
                wanted = args.profile_case or slowest.case
                c = next(c for c in cases if c.name.startswith(wanted))
                print(f"profiling the server under '{c.name}' ...", flush=True)
                assert server.process is not None
                bodies = query_bodies(d, c.filters)
                pid, port = server.process.pid, server.port
                result["profile"] = {
                    "case": c.name,
                    **profile_case(args.profile, pid, port, c, bodies, truth[1][c.name], bounds),
                }
    finally:
        result["server_exit"] = server.stop()
        result["server_log_problems"] = _log_problems(server.log_path)
    if builder is not None:
        builder.join(timeout=3600)
        if builder.error is not None or builder.index is None:
            raise RuntimeError(f"reference build failed: {builder.error}")
        print(f"raw FAISS reference over {ref_points:,} points:", flush=True)
        ref_truth = truth[0]
        if ref_points < points:  # exact top-10 over the subset instead
            ref_truth = ground_truth(
                Data(d.vectors[:ref_points], d.unit[:ref_points], d.queries, d.unit_queries,
                     d.category[:ref_points], d.price[:ref_points], d.tags[:ref_points]),
                [],
            )[0]  # fmt: skip
        result["reference"] = {
            "points": ref_points,
            "build_seconds": builder.seconds,
            "build_threads": 1,
            "run": asdict(reference_run(builder.index, d, ref_truth, bounds)),
        }
    result["load_at_end"] = os.getloadavg()
    result["goals"] = goals(result)
    result["all_goals_met"] = all(g["met"] for g in result["goals"])
    return result


def _log_problems(path: Path) -> list[str]:
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    return [x for x in lines if re.search(r"ERROR|CRITICAL|Traceback|Exception", x)][:50]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 points, 4 s per run")
    parser.add_argument("--points", type=int, help="collection size (default 1,000,000)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--seconds", type=float, help="time per run (default 8, --quick 4)")
    parser.add_argument("--rounds", type=int, help="indexed rounds (default 3, --quick 2)")
    parser.add_argument("--ref-points", type=int, help="raw FAISS reference over the first N")
    parser.add_argument("--no-reference", action="store_true", help="skip the raw FAISS build")
    parser.add_argument("--profile", type=Path, help="py-spy the slowest indexed case here")
    parser.add_argument("--profile-case", help="profile this case (name prefix, e.g. 50%%)")
    parser.add_argument("--skip-no-index", action="store_true", help="only the indexed phase")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()
    result = in_scratch("zoro-bench-filtering-", lambda root: run(args, root), keep=args.keep)
    print_report(result)
    write_json(args.json, result)
    if args.json:
        print(f"wrote {args.json}")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
