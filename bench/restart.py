"""Restart time and memory per point of a loaded server, each beside a reference from the same run.

    .venv/bin/python -m bench.restart [--quick] [--points N] [--json bench/results/restart.json]
                                      [--dir DIR] [--keep] [--server-tree DIR]

One real server (zoro.testing.ServerProcess) on a fresh data directory under a temporary
directory in --dir (default: the current directory; /tmp may be a tmpfs). A 128-dim Cosine HNSW
collection gets N points (1,000,000; --quick 100,000) over HTTP: columnar `PUT
/collections/c/points?wait=true` bodies of 1,000 points with payloads {"i": n}, from 4 keep-alive
connections. Then:

1. Memory: the server's VmRSS (with its anonymous and file-backed parts) empty, after the load and
   once the background indexer has sealed everything; (RSS delta) / N is the memory per point.
   Disk: the data directory's allocated bytes / N. References: the raw vectors (N x 128 x 4
   bytes), the usual estimate of a FAISS IndexHNSWFlat with M=16 (N x (d x 4 + 2M x 4 x 1.1)),
   and the measured RSS growth of a bare Python process reading the server's own HNSW segment
   files with faiss.read_index.
2. Crash restart: a writer upserts 10,000 more points in batches of 100 (one connection); the
   server gets SIGKILL once half of them are acknowledged. A new server starts on the same
   directory: time from process start to /healthz, to /readyz 200 and to the first successful
   query; WAL records replayed (GET /collections/c: zoro.replayed_records, and the log line);
   every acknowledged point must be there. Then the time until the indexer is done again.
3. Clean restart: SIGTERM (drain + checkpoint; its time is reported too), then start again,
   cold (the data files dropped from the page cache first) and warm.
   References for restarts: the data directory read cold and warm (every file read to the end,
   like `cat` to /dev/null), faiss.read_index of the HNSW segment files in a fresh process (cold
   and warm), and the start of an empty server (Python imports + hypercorn: the floor).

Every wait has a deadline; only the server processes this script starts are stopped or killed.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import orjson

from bench.durable_core import _drop_cache
from bench.scratch import in_scratch, write_json
from zoro.testing import ServerProcess

DIM = 128
BATCH = 1_000
LOAD_CONNS = 4
HNSW_M = 16
EXTRA_POINTS = 10_000
EXTRA_BATCH = 100
NUMPY = orjson.OPT_SERIALIZE_NUMPY
F32 = npt.NDArray[np.float32]
JSON_HEADERS = {"content-type": "application/json"}
READY_LINE = re.compile(
    r"collection (\S+): ready in ([\d.]+) s \((\d+) points, (\d+) WAL records replayed\)"
)


def load() -> float:
    return round(os.getloadavg()[0], 2)


def data(n: int, seed: int = 11) -> F32:
    """Gaussian clusters (64 centres x4 + unit noise), float32."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(64, DIM)).astype(np.float32) * 4
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        out[start : start + m] = centres[rng.integers(0, 64, m)]
        out[start : start + m] += rng.standard_normal((m, DIM), dtype=np.float32)
    return out


def body(vectors: F32, first_id: int) -> bytes:
    ids = np.arange(first_id, first_id + len(vectors), dtype=np.int64)
    payloads = [{"i": int(i)} for i in ids]
    return orjson.dumps(
        {"batch": {"ids": ids, "vectors": vectors, "payloads": payloads}}, option=NUMPY
    )


# ----------------------------------------------------------------------------- process figures


def rss(pid: int) -> dict[str, int]:
    """VmRSS and its anonymous / file-backed parts, in bytes, from /proc/<pid>/status."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024
    return fields


def disk_usage(root: Path) -> dict[str, int]:
    """Allocated bytes (like du) per top-level part of each collection directory, and in all."""
    parts: Counter[str] = Counter()
    apparent = 0
    for path in root.rglob("*"):
        if path.is_file():
            st = path.stat()
            rel = path.relative_to(root).parts
            inside = rel[0] == "collections" and len(rel) >= 3
            part = (rel[2] if len(rel) > 3 else rel[-1]) if inside else rel[0]
            parts[part] += st.st_blocks * 512
            apparent += st.st_size
    return {"allocated": sum(parts.values()), "apparent": apparent, **dict(parts)}


def files_of(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def drop_cache(root: Path) -> None:
    for path in files_of(root):
        _drop_cache(path)


def read_all(paths: list[Path], *, cold: bool) -> dict[str, float]:
    """Read every file to the end, as `cat` to /dev/null would (cold: dropped from cache first)."""
    if cold:
        for path in paths:
            _drop_cache(path)
    size, started = 0, time.perf_counter()
    for path in paths:
        with path.open("rb", buffering=0) as f:
            while chunk := f.read(8 << 20):
                size += len(chunk)
    elapsed = time.perf_counter() - started
    return {"bytes": size, "seconds": elapsed, "mb_per_s": size / 1e6 / max(elapsed, 1e-9)}


def faiss_read(paths: list[Path], *, cold: bool, timeout_s: float) -> dict[str, Any]:
    """faiss.read_index of the server's HNSW segment files in a fresh process: time and RSS."""
    if cold:
        for path in paths:
            _drop_cache(path)
    command = [sys.executable, "-m", "bench.restart", "--faiss-read", *map(str, paths)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _faiss_read_child(paths: list[str]) -> None:
    import faiss

    from zoro.ann.files import HEADER_SIZE

    raw: Any = faiss  # PyCallbackIOReader is missing from faiss's type stubs
    before = rss(os.getpid())
    started = time.perf_counter()
    indexes = []
    for name in paths:
        with open(name, "rb") as f:
            f.seek(HEADER_SIZE)  # Zoro's checked header; the rest is faiss.write_index output
            indexes.append(raw.read_index(raw.PyCallbackIOReader(f.read)))
    elapsed = time.perf_counter() - started
    after = rss(os.getpid())
    points = sum(int(index.ntotal) for index in indexes)
    print(
        json.dumps(
            {
                "files": len(paths),
                "points": points,
                "seconds": elapsed,
                "rss_delta": after["VmRSS"] - before["VmRSS"],
                "bytes_per_point": (after["VmRSS"] - before["VmRSS"]) / max(points, 1),
            }
        )
    )


# ----------------------------------------------------------------------------- server driving


class TreeServer(ServerProcess):
    """A ServerProcess that runs from another copy of the sources (--server-tree), found first:
    the copy is the child's working directory and heads its PYTHONPATH."""

    tree: Path | None = None

    def start(self, *, timeout_s: float = 30.0) -> ServerProcess:
        if self.tree is None:
            return super().start(timeout_s=timeout_s)
        with contextlib.chdir(self.tree):
            return super().start(timeout_s=timeout_s)


def server_process(
    data_dir: Path, log_path: Path, tree: Path | None, workers: int | None = 1
) -> TreeServer:
    """`workers`: `--workers` (None: the server's default). One process by default: these
    benches read one server process's memory and CPU, and compare with figures from before
    the default became one worker per core. A copy from before workers existed gets no flag
    (it serves as one process anyway)."""
    env = {"PYTHONPATH": str(tree)} if tree is not None else None
    knows = tree is None or "--workers" in (tree / "zoro" / "cli.py").read_text()
    server = TreeServer(data_dir, log_path=log_path, env=env, workers=workers if knows else None)
    server.tree = tree
    return server


def tree_label(tree: Path | None) -> str:
    """What the server ran from, without machine paths: the working tree or a copy's commit."""
    if tree is None:
        return "working tree"
    commit = (tree / "COMMIT").read_text().strip() if (tree / "COMMIT").exists() else "?"
    return f"a source copy ({commit})"


def info(url: str) -> dict[str, Any]:
    response = httpx.get(f"{url}/collections/c", timeout=30)
    response.raise_for_status()
    result: dict[str, Any] = response.json()["result"]
    return result


def indexed(result: dict[str, Any]) -> bool:
    index = result["zoro"]["index"]
    return bool(
        result["indexed_vectors_count"] == result["points_count"]
        and not index["job_running"]
        and not index["frozen_points"]
    )


def wait_indexed(url: str, timeout_s: float) -> tuple[float, dict[str, Any]]:
    started = time.monotonic()
    deadline = started + timeout_s
    result: dict[str, Any] = {}
    while time.monotonic() < deadline:
        result = info(url)
        if indexed(result):
            return time.monotonic() - started, result
        time.sleep(0.5)
    raise RuntimeError(f"not indexed within {timeout_s} s: {result.get('zoro')}")


def load_points(port: int, vectors: F32, first_id: int, conns: int) -> dict[str, Any]:
    """PUT every 1,000-point batch once from `conns` connections; bodies are made in the workers."""
    lock = threading.Lock()
    todo = iter(range(0, len(vectors), BATCH))
    statuses: Counter[int] = Counter()
    failures: list[str] = []

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        try:
            while True:
                with lock:
                    start = next(todo, None)
                if start is None or failures:
                    return
                payload = body(vectors[start : start + BATCH], first_id + start)
                conn.request("PUT", "/collections/c/points?wait=true", payload, JSON_HEADERS)
                response = conn.getresponse()
                text = response.read()
                with lock:
                    statuses[response.status] += 1
                    if response.status != 200:
                        failures.append(text[:300].decode(errors="replace"))
        except Exception as exc:
            with lock:
                failures.append(repr(exc))
        finally:
            conn.close()

    load_before, started = load(), time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"load failed: {failures[:3]}")
    return {
        "points": len(vectors),
        "seconds": elapsed,
        "points_per_s": len(vectors) / elapsed,
        "statuses": dict(statuses),
        "load_1m": [load_before, load()],
    }


def query_body(vector: F32) -> bytes:
    return orjson.dumps({"query": vector, "limit": 10}, option=NUMPY)


@dataclass
class Restart:
    healthz_s: float
    readyz_s: float
    query_s: float


def start_timed(
    server: ServerProcess, query: bytes, timeout_s: float
) -> tuple[Restart, dict[str, Any]]:
    """Start the server; seconds from the start to /healthz, /readyz 200 and a working query."""
    started = time.monotonic()
    server.start(timeout_s=timeout_s)
    healthz = time.monotonic() - started
    deadline = started + timeout_s
    readyz = query_s = None
    with httpx.Client(base_url=server.url, timeout=30) as client:
        while time.monotonic() < deadline and query_s is None:
            if readyz is None:
                if client.get("/readyz").status_code == 200:
                    readyz = time.monotonic() - started
                    continue
            else:
                response = client.post(
                    "/collections/c/points/query", content=query, headers=JSON_HEADERS
                )
                if response.status_code == 200 and len(response.json()["result"]["points"]) == 10:
                    query_s = time.monotonic() - started
                    break
            time.sleep(0.01)
    if readyz is None or query_s is None:
        raise RuntimeError(f"server not serving within {timeout_s} s: {server.log()}")
    return Restart(healthz, readyz, query_s), ready_line(server)


def ready_line(server: ServerProcess) -> dict[str, Any]:
    """The newest 'collection c: ready in ...' line of the server's log."""
    found = READY_LINE.findall(server.log())
    if not found:
        return {}
    _name, seconds, points, replayed = found[-1]
    return {"recover_s": float(seconds), "points": int(points), "replayed": int(replayed)}


def metric(url: str, name: str) -> float | None:
    text = httpx.get(f"{url}/metrics", timeout=30).text
    found = re.search(rf'^{name}{{collection="c"}} (\S+)$', text, re.MULTILINE)
    return float(found.group(1)) if found else None


# ----------------------------------------------------------------------------- phases


def crash_while_writing(server: ServerProcess, extra: F32, first_id: int) -> dict[str, Any]:
    """One writer upserts `extra` in batches of 100; SIGKILL once half are acknowledged."""
    acked = 0
    error: list[str] = []
    half = threading.Event()

    def writer() -> None:
        nonlocal acked
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        try:
            for start in range(0, len(extra), EXTRA_BATCH):
                payload = body(extra[start : start + EXTRA_BATCH], first_id + start)
                conn.request("PUT", "/collections/c/points?wait=true", payload, JSON_HEADERS)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    error.append(f"status {response.status}")
                    return
                acked += EXTRA_BATCH
                if acked >= len(extra) // 2:
                    half.set()
        except (OSError, http.client.HTTPException) as exc:
            error.append(type(exc).__name__)
        finally:
            conn.close()
            half.set()

    thread = threading.Thread(target=writer)
    thread.start()
    half.wait(timeout=120)
    acked_at_kill = acked
    server.kill()
    thread.join(timeout=60)
    return {"acked_at_kill": acked_at_kill, "acked": acked, "writer_ended_by": error[:1]}


def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    n = args.points or (100_000 if args.quick else 1_000_000)
    index_timeout = 600.0 if args.quick else 3600.0
    data_dir = root / "data"
    vectors = data(n + EXTRA_POINTS)
    base, extra = vectors[:n], vectors[n:]
    probe = query_body(base[0])
    result: dict[str, Any] = {
        "machine": machine(),
        "points": n,
        "dim": DIM,
        "distance": "Cosine",
        "hnsw_m": HNSW_M,
        "load_at_start": os.getloadavg(),
    }
    log_path = root / "server.log"

    # Empty server: its start time (the floor of any restart) and RSS.
    tree = args.server_tree.resolve() if args.server_tree else None
    result["server_tree"] = tree_label(tree)
    empty = server_process(root / "empty", root / "empty.log", tree)
    started = time.monotonic()
    empty.start(timeout_s=60)
    result["empty_start_s"] = time.monotonic() - started
    assert empty.process is not None
    time.sleep(1.0)
    result["rss_empty_server"] = rss(empty.process.pid)
    empty.stop()

    server = server_process(data_dir, log_path, tree)
    server.start(timeout_s=60)
    assert server.process is not None
    try:
        create = {"vectors": {"size": DIM, "distance": "Cosine"}, "hnsw_config": {"m": HNSW_M}}
        httpx.put(f"{server.url}/collections/c", json=create, timeout=30).raise_for_status()
        time.sleep(0.5)
        result["rss_empty_collection"] = rss(server.process.pid)
        print(f"loading {n:,} x {DIM} over HTTP ({LOAD_CONNS} connections) ...", flush=True)
        result["load"] = load_points(server.port, base, 0, LOAD_CONNS)
        result["rss_loaded"] = rss(server.process.pid)
        print(
            f"  {result['load']['points_per_s']:,.0f} points/s; RSS "
            f"{result['rss_loaded']['VmRSS'] / 2**20:,.0f} MiB; waiting for the indexer ...",
            flush=True,
        )
        waited, state = wait_indexed(server.url, index_timeout)
        result["index_wait_s"] = waited
        result["index_after_load"] = state["zoro"]["index"]
        result["rss_indexed"] = rss(server.process.pid)
        result["disk_indexed"] = disk_usage(data_dir)
        result["load_at_indexed"] = load()
        print(
            f"  indexed {waited:.0f} s after the load; RSS "
            f"{result['rss_indexed']['VmRSS'] / 2**20:,.0f} MiB; disk "
            f"{result['disk_indexed']['allocated'] / 2**20:,.0f} MiB",
            flush=True,
        )

        # Crash restart: kill -9 under a writer, start again.
        wal = {m: metric(server.url, m) for m in ("zoro_last_lsn", "zoro_checkpoint_lsn")}
        print("kill -9 under a writer ...", flush=True)
        crash = crash_while_writing(server, extra, n)
        crash["lsn_before"] = wal
        crash["load_1m"] = load()
        timing, line = start_timed(server, probe, timeout_s=600)
        after = info(server.url)
        crash |= {
            "restart": timing.__dict__,
            "log": line,
            "replayed_records": after["zoro"]["replayed_records"],
            "points_after": after["points_count"],
            "acked_points_present": after["points_count"] >= n + crash["acked"],
            "rss_ready": rss(server.process.pid),
        }
        waited, state = wait_indexed(server.url, index_timeout)
        crash["reindex_s"] = waited
        crash["index"] = state["zoro"]["index"]
        result["crash"] = crash
        print(
            f"  acked {crash['acked']} extra points; restart: healthz {timing.healthz_s:.2f} s, "
            f"readyz {timing.readyz_s:.2f} s, query {timing.query_s:.2f} s; replayed "
            f"{crash['replayed_records']} WAL records; points {after['points_count']:,}; "
            f"indexed again {waited:.0f} s later",
            flush=True,
        )

        # Clean restarts: SIGTERM (checkpoint), then cold and warm starts.
        clean: dict[str, Any] = {}
        for mode in ("cold", "warm"):
            started = time.monotonic()
            code = server.stop(timeout_s=600)
            clean[f"{mode}_stop_s"] = time.monotonic() - started
            clean[f"{mode}_stop_exit"] = code
            if mode == "cold":
                drop_cache(data_dir)
            clean[f"{mode}_load_1m"] = load()
            timing, line = start_timed(server, probe, timeout_s=600)
            clean[mode] = {**timing.__dict__, "log": line, "rss_ready": rss(server.process.pid)}
            print(
                f"  clean restart ({mode}): stop {clean[f'{mode}_stop_s']:.2f} s; healthz "
                f"{timing.healthz_s:.2f} s, readyz {timing.readyz_s:.2f} s, query "
                f"{timing.query_s:.2f} s",
                flush=True,
            )
        clean["indexed_after"] = indexed(info(server.url))
        result["clean"] = clean
    finally:
        result["server_exit"] = server.stop(timeout_s=600)
        result["server_errors"] = [
            x for x in server.log().splitlines() if re.search(r"ERROR|Traceback", x)
        ][:20]

    # References, with no server running.
    segments = sorted((data_dir / "collections").glob("*/ann/*.zann"))
    hnsw = [p for p in segments if _kind_of(p) == "hnsw"]
    result["disk_final"] = disk_usage(data_dir)
    files = files_of(data_dir)
    result["ref_read_cold"] = read_all(files, cold=True)
    result["ref_read_warm"] = read_all(files, cold=False)
    result["ref_faiss_cold"] = faiss_read(hnsw, cold=True, timeout_s=600)
    result["ref_faiss_warm"] = faiss_read(hnsw, cold=False, timeout_s=600)
    result["load_at_end"] = os.getloadavg()
    result["derived"] = derive(result)
    return result


def _kind_of(path: Path) -> str:
    from zoro.ann.files import read_meta

    return read_meta(path).kind


def derive(r: dict[str, Any]) -> dict[str, Any]:
    n = r["points"]
    raw_vectors = n * DIM * 4
    hnsw_estimate = n * (DIM * 4 + 2 * HNSW_M * 4 * 1.1)
    base = r["rss_empty_collection"]["VmRSS"]
    return {
        "rss_per_point_loaded": (r["rss_loaded"]["VmRSS"] - base) / n,
        "rss_per_point_indexed": (r["rss_indexed"]["VmRSS"] - base) / n,
        "anon_per_point_indexed": (
            r["rss_indexed"]["RssAnon"] - r["rss_empty_collection"]["RssAnon"]
        )
        / n,
        "rss_per_point_after_restart": (r["clean"]["warm"]["rss_ready"]["VmRSS"] - base) / n,
        "disk_per_point": r["disk_indexed"]["allocated"] / n,
        "disk_per_point_final": r["disk_final"]["allocated"] / n,
        "raw_vector_bytes_per_point": raw_vectors / n,
        "faiss_hnsw_estimate_per_point": hnsw_estimate / n,
        "faiss_read_rss_per_point": r["ref_faiss_warm"]["bytes_per_point"],
    }


def machine() -> dict[str, Any]:
    meminfo = Path("/proc/meminfo").read_text()
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))  # type: ignore[union-attr]
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def report(r: dict[str, Any]) -> None:
    d, n = r["derived"], r["points"]
    mib = 2**20
    print(f"\nrestart and memory, {n:,} x {DIM} Cosine HNSW M={HNSW_M}; {r['machine']}")
    print(
        f"load over HTTP: {r['load']['points_per_s']:,.0f} points/s; indexer done "
        f"{r['index_wait_s']:.0f} s after the last ack"
    )
    print(
        f"memory per point: {d['rss_per_point_indexed']:.0f} B (RSS, indexed; anonymous "
        f"{d['anon_per_point_indexed']:.0f} B), {d['rss_per_point_loaded']:.0f} B before indexing, "
        f"{d['rss_per_point_after_restart']:.0f} B after a warm restart"
    )
    print(
        f"  references: raw vectors {d['raw_vector_bytes_per_point']:.0f} B, FAISS HNSWFlat "
        f"estimate {d['faiss_hnsw_estimate_per_point']:.0f} B, faiss.read_index of the segment "
        f"files {d['faiss_read_rss_per_point']:.0f} B"
    )
    print(
        f"disk per point: {d['disk_per_point']:.0f} B after indexing "
        f"({r['disk_indexed']['allocated'] / mib:,.0f} MiB; {_parts(r['disk_indexed'])}), "
        f"{d['disk_per_point_final']:.0f} B at the end ({_parts(r['disk_final'])})"
    )
    c, k = r["crash"], r["clean"]
    print(f"{'restart':<22} {'healthz s':>9} {'readyz s':>9} {'query s':>8} {'replayed':>9}  load")
    print(f"{'empty server':<22} {r['empty_start_s']:>9.2f}")
    for name, t, replayed, load_1m in (
        ("kill -9 (warm cache)", c["restart"], c["replayed_records"], c["load_1m"]),
        ("clean, cold cache", k["cold"], k["cold"]["log"].get("replayed", 0), k["cold_load_1m"]),
        ("clean, warm cache", k["warm"], k["warm"]["log"].get("replayed", 0), k["warm_load_1m"]),
    ):
        print(
            f"{name:<22} {t['healthz_s']:>9.2f} {t['readyz_s']:>9.2f} {t['query_s']:>8.2f} "
            f"{replayed:>9}  {load_1m}"
        )
    for name, ref in (("cold", r["ref_read_cold"]), ("warm", r["ref_read_warm"])):
        print(
            f"reference: read the data dir {name}: {ref['seconds']:.2f} s "
            f"({ref['bytes'] / mib:,.0f} MiB at {ref['mb_per_s']:,.0f} MB/s)"
        )
    for name, ref in (("cold", r["ref_faiss_cold"]), ("warm", r["ref_faiss_warm"])):
        print(
            f"reference: faiss.read_index of {ref['files']} HNSW file(s), {ref['points']:,} "
            f"points, {name}: {ref['seconds']:.2f} s"
        )
    print(
        f"crash: {c['acked']} extra points acknowledged, all present: "
        f"{c['acked_points_present']}; indexed again {c['reindex_s']:.0f} s after the restart"
    )
    print(f"clean stop (drain + checkpoint): {k['cold_stop_s']:.2f} s, {k['warm_stop_s']:.2f} s")
    print(f"server exit {r['server_exit']}; {len(r['server_errors'])} error lines in its log")


def _parts(usage: dict[str, int]) -> str:
    return ", ".join(
        f"{k} {v / 2**20:,.0f}"
        for k, v in usage.items()
        if k not in ("allocated", "apparent") and v > 2**20
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 points")
    parser.add_argument("--points", type=int, help="collection size (default 1,000,000)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--dir", type=Path, default=Path.cwd(), help="scratch dir parent (disk)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument(
        "--server-tree",
        type=Path,
        help="run the server from this copy of the sources (git archive HEAD | tar -x -C DIR; "
        "a COMMIT file in it names the commit)",
    )
    parser.add_argument("--faiss-read", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.faiss_read is not None:
        _faiss_read_child(args.faiss_read)
        return
    result = in_scratch(
        "bench-restart-", lambda root: run(args, root), keep=args.keep, parent=args.dir
    )
    report(result)
    write_json(args.json, result)


if __name__ == "__main__":
    main()
