"""Two series over HTTP, each point beside its reference from the same run: the recall/QPS curve
over hnsw_ef, and single-point write throughput against the number of connections.

    .venv/bin/python -m bench.curve [--quick] [--json bench/results/curve.json] [--dir DIR]
                                    [--points N] [--sections writes,search] [--server-tree DIR]

One server (zoro.testing.ServerProcess) on a fresh data directory under --dir (default: the
current directory; /tmp may be a tmpfs). Load comes from wrk -t1 with bench/wrk/bodies.lua.

1. Writes: for 1, 4, 16, 64 and 256 connections, each keep-alive connection sends
   `PUT /collections/wN/points?wait=true` of one new 128-dim point (distinct ids) for 10 s (3 s
   with --quick), into a fresh HNSW collection per level, dropped afterwards. Figures: writes/s,
   p50/p99, and writes per WAL sync (zoro_wal_records_total / zoro_wal_syncs_total from
   /metrics). References: the serial raw fsync rate (4 KiB append + fdatasync) of the same disk,
   measured right before each level, and the ping ceiling of bench/http_refs.py (hypercorn, no
   framework, the body read and dropped) under the same wrk load right after it: whatever the
   disk allows, no HTTP route here answers faster than that.
2. Recall/QPS: the data of bench/http.py (200,000 x 128 clustered, Euclid; 50,000 with --quick)
   into an HNSW collection (M=16, efC=100), sent as 1,000-point writes and indexed. For hnsw_ef
   16, 32, 64, 128 and 256: Zoro's QPS over HTTP (POST /points/query, one vector, limit 10,
   {"params": {"hnsw_ef": E}}, 16 connections), and its recall@10 against exact search (the
   first 200 queries, untimed). References at each ef, on the same data: raw FAISS
   IndexHNSWFlat (M=16, efC=100) in this process, single queries on one OpenMP thread (QPS and
   recall), and the bare query reference of bench/http_refs.py (hypercorn + orjson + the same
   raw FAISS index, inline, at the same ef) over HTTP with the same wrk load.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import faiss
import httpx
import numpy as np
import orjson

from bench.durable_core import raw_fsync_rate
from bench.http import (
    F32,
    I64,
    NUMPY,
    SEARCH_CONNS,
    clustered,
    create_collection,
    exact_top10,
    ingest_http,
    omp_threads,
    recall_of,
    ref_server,
    upsert_bodies,
    wait_indexed,
    write_lines,
    wrk,
)
from bench.http_refs import build_hnsw, hnsw_params
from bench.restart import server_process, tree_label
from bench.scratch import write_json
from zoro.settings import AnnSettings

if TYPE_CHECKING:
    from zoro.testing import ServerProcess

EFS = (16, 32, 64, 128, 256)
WRITE_CONNS = (1, 4, 16, 64, 256)
QUERY_CONNS = SEARCH_CONNS[0]  # 16
INGEST_CONNS = 8
RECALL_QUERIES = 200
ANN = AnnSettings()


def load() -> float:
    return round(os.getloadavg()[0], 2)


def metric(url: str, name: str, collection: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=30).text
    found = re.search(rf'^{name}{{collection="{collection}"}} (\S+)$', text, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"{name} for {collection} missing from /metrics")
    return float(found.group(1))


# ----------------------------------------------------------------------------- writes


def writes(root: Path, server: ServerProcess, seconds: float, fsync_s: float) -> list[Any]:
    rng = np.random.default_rng(8)
    vectors = rng.standard_normal((1_000, 128), dtype=np.float32)
    lines = [
        b'{"points":[{"id":__ID__,"vector":%s}]}' % orjson.dumps(v, option=NUMPY) for v in vectors
    ]
    bodies = write_lines(root / "write.txt", lines)
    scratch = root / "fsync"
    scratch.mkdir()
    levels = []
    print("single-point writes (wait=true) against connections ...", flush=True)
    with (
        httpx.Client(base_url=server.url, timeout=60) as client,
        ref_server(root, "ping") as ping_url,
    ):
        for i, conns in enumerate(WRITE_CONNS):
            raw = raw_fsync_rate(scratch, fsync_s)
            name = f"w{conns}"
            create_collection(client, name)
            args = [str(bodies), f"/collections/{name}/points?wait=true", "PUT"]
            id_base = str(10**7 * (i + 1))
            run = wrk(f"zoro write {name}", server.url, [*args, id_base], conns, seconds)
            time.sleep(0.3)
            records = metric(server.url, "zoro_wal_records_total", name)
            syncs = metric(server.url, "zoro_wal_syncs_total", name)
            points = client.get(f"/collections/{name}").json()["result"]["points_count"]
            client.delete(f"/collections/{name}").raise_for_status()
            ping = wrk("ping (PUT body)", ping_url, [*args, "0"], conns, seconds)
            level = {
                "conns": conns,
                "writes_per_s": run.rps,
                "p50_ms": run.p50_ms,
                "p99_ms": run.p99_ms,
                "errors": run.errors,
                "acked": run.ok,
                "points_count": points,
                "wal_records": records,
                "wal_syncs": syncs,
                "writes_per_sync": records / max(syncs, 1.0),
                "raw_fsync_per_s": raw["syncs_per_s"],
                "raw_fsync_us": raw["latency_us"],
                "x_raw_fsync": run.rps / raw["syncs_per_s"],
                "ping_per_s": ping.rps,
                "x_ping": run.rps / ping.rps,
                "load_1m": run.load_1m,
            }
            print(
                f"    raw fsync {raw['syncs_per_s']:,.0f}/s; {level['writes_per_sync']:.1f} "
                f"writes per sync; {level['x_raw_fsync']:.2f}x raw fsync, "
                f"{level['x_ping']:.2f}x the ping ceiling",
                flush=True,
            )
            levels.append(level)
    return levels


# ----------------------------------------------------------------------------- search


def raw_single(index: faiss.Index, queries: F32, ef: int, seconds: float) -> tuple[float, I64]:
    """Single queries in a loop on one OpenMP thread: QPS (for up to `seconds`) and answers."""
    params = hnsw_params(ef)
    with omp_threads(1):
        _, labels = index.search(queries[:RECALL_QUERIES], 10, params=params)
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            index.search(queries[done % len(queries)].reshape(1, -1), 10, params=params)
            done += 1
        qps = done / (time.perf_counter() - started)
    return qps, np.asarray(labels, dtype=np.int64)


def zoro_recall(client: httpx.Client, queries: F32, ef: int, truth: I64) -> float:
    found = []
    for q in queries[:RECALL_QUERIES]:
        body = {"query": q, "limit": 10, "params": {"hnsw_ef": ef}}
        response = client.post(
            "/collections/c/points/query",
            content=orjson.dumps(body, option=NUMPY),
            headers={"content-type": "application/json"},
        )
        response.raise_for_status()
        found.append([p["id"] for p in response.json()["result"]["points"]])
    return recall_of(found, truth)


def search(
    root: Path, server: ServerProcess, points: int, seconds: float, quick: bool
) -> dict[str, Any]:
    data, queries = clustered(points, 1_000)
    data_path = root / "vectors.npy"
    np.save(data_path, data)
    started = time.perf_counter()
    index = build_hnsw(data, m=ANN.hnsw_m, ef_construct=ANN.hnsw_ef_construct)
    build_s = time.perf_counter() - started
    index_path = root / "ref.faiss"
    faiss.write_index(index, str(index_path))
    truth = exact_top10(data, queries[:RECALL_QUERIES])
    print(f"reference HNSW of {points:,} x 128 built in {build_s:.1f} s; loading Zoro ...")
    with httpx.Client(base_url=server.url, timeout=60) as client:
        create_collection(client, "c")
        ingest = ingest_http(
            server.port, "/collections/c/points?wait=true", upsert_bodies(data), INGEST_CONNS
        )
        started = time.perf_counter()
        state = wait_indexed(client, "c", 600.0 if quick else 1800.0)
        waited = time.perf_counter() - started
        print(
            f"  {ingest['points_per_s']:,.0f} points/s; indexed {waited:.0f} s later: "
            f"{[s['kind'] + ':' + str(s['points']) for s in state['zoro']['index']['sealed']]} "
            f"+ fresh {state['zoro']['index']['fresh_points']}",
            flush=True,
        )
        curve = []
        for ef in EFS:
            qps, labels = raw_single(index, queries, ef, seconds / 2)
            raw_recall = recall_of([[int(x) for x in row if x >= 0] for row in labels], truth)
            recall = zoro_recall(client, queries, ef, truth)
            lines = [
                orjson.dumps({"query": q, "limit": 10, "params": {"hnsw_ef": ef}}, option=NUMPY)
                for q in queries
            ]
            bodies = write_lines(root / f"query-ef{ef}.txt", lines)
            args = [str(bodies), "/collections/c/points/query", "POST"]
            with ref_server(
                root,
                "query",
                "--data",
                str(data_path),
                "--index",
                str(index_path),
                "--ef",
                str(ef),
            ) as ref_url:
                bare = wrk(f"bare query ef={ef}", ref_url, args, QUERY_CONNS, seconds)
            zoro = wrk(f"zoro query ef={ef}", server.url, args, QUERY_CONNS, seconds)
            point = {
                "ef": ef,
                "zoro_qps": zoro.rps,
                "zoro_recall": recall,
                "zoro_p50_ms": zoro.p50_ms,
                "zoro_p99_ms": zoro.p99_ms,
                "bare_qps": bare.rps,
                "raw_qps": qps,
                "raw_recall": raw_recall,
                "x_bare": zoro.rps / bare.rps,
                "x_raw": zoro.rps / qps,
                "zoro": asdict(zoro),
                "bare": asdict(bare),
                "load_1m": zoro.load_1m,
            }
            print(
                f"    ef={ef}: recall zoro {recall:.3f} raw {raw_recall:.3f}; raw FAISS 1 thread "
                f"{qps:,.0f} QPS; zoro / bare {point['x_bare']:.2f}, zoro / raw "
                f"{point['x_raw']:.2f}",
                flush=True,
            )
            curve.append(point)
    return {
        "points": points,
        "queries_for_recall": RECALL_QUERIES,
        "conns": QUERY_CONNS,
        "ref_build_s": build_s,
        "ingest": ingest,
        "index_wait_s": waited,
        "index": state["zoro"]["index"],
        "curve": curve,
    }


# ----------------------------------------------------------------------------- main


def report(r: dict[str, Any]) -> None:
    print(f"\n{r['machine']}")
    if "writes" in r:
        print(
            f"{'conns':>5} {'writes/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'per sync':>8} "
            f"{'raw fsync/s':>11} {'x fsync':>7} {'ping/s':>7} {'x ping':>6}  load"
        )
        for w in r["writes"]:
            print(
                f"{w['conns']:>5} {w['writes_per_s']:>9,.0f} {w['p50_ms']:>7.2f} "
                f"{w['p99_ms']:>7.2f} {w['writes_per_sync']:>8.1f} {w['raw_fsync_per_s']:>11,.0f} "
                f"{w['x_raw_fsync']:>7.2f} {w['ping_per_s']:>7,.0f} {w['x_ping']:>6.2f}  "
                f"{w['load_1m']:.2f}  {w['errors'] or ''}"
            )
    if "search" in r:
        s = r["search"]
        print(
            f"\n{s['points']:,} x 128 clustered, Euclid, HNSW M={ANN.hnsw_m} "
            f"efC={ANN.hnsw_ef_construct}; {s['conns']} connections; recall@10 over "
            f"{s['queries_for_recall']} queries"
        )
        print(
            f"{'ef':>4} {'zoro QPS':>9} {'recall':>7} {'p99 ms':>7} {'bare QPS':>9} "
            f"{'raw QPS':>8} {'raw rec':>8} {'x bare':>6} {'x raw':>6}  load"
        )
        for p in s["curve"]:
            print(
                f"{p['ef']:>4} {p['zoro_qps']:>9,.0f} {p['zoro_recall']:>7.3f} "
                f"{p['zoro_p99_ms']:>7.1f} {p['bare_qps']:>9,.0f} {p['raw_qps']:>8,.0f} "
                f"{p['raw_recall']:>8.3f} {p['x_bare']:>6.2f} {p['x_raw']:>6.2f}  "
                f"{p['load_1m']:.2f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s runs, 50,000 points")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--dir", type=Path, default=Path.cwd(), help="scratch dir parent (disk)")
    parser.add_argument("--points", type=int, help="search collection size (default 200,000)")
    parser.add_argument("--sections", default="writes,search", help="writes, search")
    parser.add_argument("--server-tree", type=Path, help="run the server from this source copy")
    args = parser.parse_args()
    sections = set(args.sections.split(","))
    seconds = 3.0 if args.quick else 10.0
    fsync_s = 1.0 if args.quick else 2.0
    points = args.points or (50_000 if args.quick else 200_000)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up the server on SIGTERM
    root = Path(tempfile.mkdtemp(prefix="bench-curve-", dir=args.dir))
    result: dict[str, Any] = {
        "machine": {
            "cores": os.cpu_count(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "load_at_start": os.getloadavg(),
        },
        "seconds": seconds,
        "quick": args.quick,
    }
    tree = args.server_tree.resolve() if args.server_tree else None
    result["server_tree"] = tree_label(tree)
    server = server_process(root / "data", root / "server.log", tree)
    try:
        server.start(timeout_s=60)
        if "writes" in sections:
            result["writes"] = writes(root, server, seconds, fsync_s)
        if "search" in sections:
            result["search"] = search(root, server, points, seconds, args.quick)
    finally:
        result["server_exit"] = server.stop(timeout_s=120)
        shutil.rmtree(root, ignore_errors=True)
    result["load_at_end"] = os.getloadavg()
    report(result)
    write_json(args.json, result)


if __name__ == "__main__":
    main()
