"""pgvector as a same-run reference: search at equal recall, durable 1-point writes, bulk load and
memory, Zoro beside PostgreSQL 16 + pgvector started by this script.

    .venv/bin/python -m bench.pgvector [--quick] [--json bench/results/pgvector.json] [--dir DIR]
                                       [--points N] [--bulk-points N] [--rounds R] [--keep]
                                       [--target-recall 0.99] [--sections bulk,search,writes]
                                       [--ef-construction 100] [--workers 1]

PostgreSQL comes from the `pgserver` wheel (the bench extra), which bundles PostgreSQL 16, pgvector
0.6 and pgbench; Debian does not package pgvector. The script runs the bundled binaries itself
(not pgserver's Python wrapper, which listens on a Unix socket only and keeps its own state in a
runtime directory): initdb into a scratch directory under --dir (default: the current directory,
the disk Zoro's data directory is on as well), then `postgres` on 127.0.0.1 and a free port, as an
unprivileged user when run as root (postgres refuses root), with fsync and synchronous_commit on.
Both servers are stopped by their pid at the end, also on an error or SIGTERM.

Data: bench/http.py's clustered 128-d float32 points (64 centres), Euclid, ids = row numbers;
HNSW m=16, ef_construction=100 on both sides (Zoro's defaults; --ef-construction changes it for
both, in the bulk and search sections); 1,000 queries from the same distribution, recall@10
against exact search (faiss flat). The search section's Zoro runs with --workers processes.

1. Bulk load of --bulk-points (1,000,000; with --quick the search load below, 20,000): Zoro through
   the Python client (`AsyncZoroClient.upload`, 1,000-point batches, 8 in flight, wait=true) and
   the time until the collection is fully indexed (green, indexed_vectors_count = points_count);
   pgvector through psycopg's binary COPY (the stream built with numpy) and then CREATE INDEX ...
   USING hnsw, timed apart. Memory after load + index: Zoro's server VmRSS; PostgreSQL's resident
   memory (the private PSS of its live processes + its shared memory, as the growth of the
   machine's Shmem since just before it started: see pg_memory), and the relation + index sizes.
2. Search at 16 connections over --points (200,000): Zoro's hnsw_ef is raised from its default
   (128) until recall@10 >= 0.99; at the default and at that ef, pgvector's hnsw.ef_search is the
   smallest of a ladder reaching the same recall or more. Then QPS and p99: Zoro with wrk
   (bench/wrk/bodies.lua), pgvector with pgbench -M prepared, 16 clients, one thread, a script
   that fetches a query's text (\\gset) and runs `ORDER BY embedding <-> $1::vector LIMIT 10`;
   also a one-statement variant, the vector taken by a subquery from a table of the queries.
   Server CPU per query from /proc (utime + stime of the server and its children). If no ef
   tried gives Zoro the target recall (--target-recall), pgvector's QPS at the target is
   measured too, alone.
3. Durable 1-point writes at 1 and 16 connections: Zoro (wrk, PUT ?wait=true of one new point,
   a fresh HNSW collection per level); pgvector INSERTs by pgbench (one statement, the vector
   taken from a table of the same 1,000 vectors Zoro is sent) into a table with an HNSW index,
   and into one without; the bare durable reference of bench/http_refs.py (hypercorn + orjson
   parse + append + fdatasync) and the ping ceiling. Server CPU per write for each. Beside them,
   the disk's serial fdatasync rate when appending (as Zoro's WAL does) and when overwriting a
   file written beforehand (as PostgreSQL's WAL segments are).

Every timed figure is the median of --rounds interleaved rounds (2; 1 with --quick), the order of
the targets reversed every other round; each ratio is the median of the per-round ratios.

The machine is 2 shared cores: the load generator (wrk, pgbench) runs on them too, and every
figure records the 1-minute load average when it was taken.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
import orjson
import psycopg
import trio

from bench.churn import memory_kb
from bench.durable_core import raw_fsync_rate
from bench.http import (
    DIM,
    F32,
    I64,
    NUMPY,
    clustered,
    collection_info,
    create_collection,
    exact_top10,
    recall_of,
    ref_process,
    write_lines,
    wrk,
)
from bench.procfs import process_tree, tree_cpu_s
from bench.scratch import write_json
from zoro.actors.builders import IDLE_SEAL_MIN_POINTS
from zoro.client import AsyncZoroClient
from zoro.settings import AnnSettings
from zoro.testing import ServerProcess, disk_usage, free_port

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

ANN = AnnSettings()
QUERIES = 1_000
TARGET_RECALL = 0.99
SEARCH_CONNS = 16
WRITE_CONNS = (1, 16)
UPLOAD_BATCH, UPLOAD_PARALLEL = 1_000, 8  # as bench/client.py
# Zoro's ef from its default up, until recall@10 reaches TARGET_RECALL; pgvector's ef_search
# ladder (its maximum is 1,000) for matching each recall.
ZORO_EFS = (ANN.hnsw_ef_search, 192, 256, 384, 512, 768, 1024)
PG_EFS = (40, 64, 100, 150, 200, 300, 400, 500, 600, 800, 1000)
PG_USER = "nobody"  # postgres will not run as root
PG_SETTINGS = {
    # the durability the comparison is about (PostgreSQL's defaults, stated so that they show)
    "fsync": "on",
    "synchronous_commit": "on",
    "wal_sync_method": "fdatasync",  # what Zoro's WAL does; Linux's default
    # the 1M table + HNSW index (about 1.3 GB) stay in PostgreSQL's own cache, as Zoro keeps its
    # vectors and graph in memory; the default 128 MB would measure the OS page cache instead
    "shared_buffers": "2GB",
    # pgvector builds the graph in memory when it fits, much faster than otherwise
    "maintenance_work_mem": "2GB",
    # no LLVM compile of a plan that looks expensive in the middle of a timed run
    "jit": "off",
}


def load() -> float:
    return round(os.getloadavg()[0], 2)


# ----------------------------------------------------------------------------- /proc


def shmem_bytes() -> int:
    """The machine's resident shared memory (/proc/meminfo Shmem)."""
    found = re.search(r"^Shmem:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.MULTILINE)
    return int(found.group(1)) * 1024 if found else 0


def pg_memory(pg: Postgres) -> dict[str, int]:
    """PostgreSQL's resident memory: the private memory (PSS of anonymous and file pages) of its
    live processes, plus its shared memory as the growth of the machine's Shmem since just before
    it started. Summed PSS alone misses shared-buffer pages that only an exited backend touched
    (they stay resident, mapped by no live process); the Shmem growth counts them, and would also
    count another program's new shared memory (none is expected here)."""
    private = pss = 0
    for p in process_tree(pg.pid):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            text = Path(f"/proc/{p}/smaps_rollup").read_text()
            fields = dict(re.findall(r"^(\w+):\s+(\d+) kB", text, re.MULTILINE))
            private += (int(fields.get("Pss_Anon", 0)) + int(fields.get("Pss_File", 0))) * 1024
            pss += int(fields.get("Pss", 0)) * 1024
    shared = shmem_bytes() - pg.shmem_before
    return {"resident": private + shared, "private": private, "shared": shared, "pss": pss}


# ----------------------------------------------------------------------------- PostgreSQL


def pg_bin() -> Path:
    """The binaries inside the pgserver wheel, found without importing it (its import sets up
    locks in a runtime directory this script does not use)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("pgserver is not installed: pip install -e '.[bench]'")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


class Postgres:
    """PostgreSQL in <root>/pgdata, listening on 127.0.0.1 only; stopped by its pid."""

    def __init__(self, root: Path, settings: dict[str, str]) -> None:
        self.bin = pg_bin()
        self.root = root
        self.data = root / "pgdata"
        self.port = free_port()
        self.settings = settings
        self.process: subprocess.Popen[bytes] | None = None
        self.shmem_before = 0
        self.user = PG_USER if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def _as_user(self) -> dict[str, Any]:
        if os.geteuid() != 0:
            return {}
        entry = pwd.getpwnam(PG_USER)
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def start(self, timeout_s: float = 60.0) -> None:
        self.data.mkdir()
        if os.geteuid() == 0:
            entry = pwd.getpwnam(PG_USER)
            os.chown(self.data, entry.pw_uid, entry.pw_gid)
            self.root.chmod(0o711)  # the server's user passes through, lists nothing
        env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C"}
        # -N: initdb's own sync is no part of any figure
        initdb = [str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust"]
        subprocess.run(
            [*initdb, "-E", "UTF8", "--locale=C", "-N"],
            check=True,
            capture_output=True,
            cwd=self.data,
            env=env,
            **self._as_user(),
        )
        options = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": "",
            **self.settings,
        }
        command = [str(self.bin / "postgres"), "-D", str(self.data)]
        self.shmem_before = shmem_bytes()
        for key, value in options.items():
            command += ["-c", f"{key}={value}"]
        with (self.root / "postgres.log").open("ab") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data,
                env=env,
                start_new_session=True,  # a ^C reaches this script, which stops the server
                **self._as_user(),
            )
        deadline = time.monotonic() + timeout_s
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.process.returncode}: {self.log()}")
            try:
                with psycopg.connect(self.dsn, connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def log(self) -> str:
        return (self.root / "postgres.log").read_text(errors="replace")[-2000:]

    def connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.dsn, autocommit=True)

    def stop(self, timeout_s: float = 120.0) -> int | None:
        """Fast shutdown (SIGINT: a checkpoint, then exit); SIGQUIT, then SIGKILL if it hangs."""
        if self.process is None:
            return None
        for sig, wait_s in ((signal.SIGINT, timeout_s), (signal.SIGQUIT, 10.0)):
            if self.process.poll() is not None:
                break
            self.process.send_signal(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=wait_s)
        if self.process.poll() is None:
            self.process.kill()
        return self.process.wait()


@dataclass
class PgbenchRun:
    target: str
    conns: int
    seconds: float
    load_1m: float
    transactions: int = 0
    failed: int = 0
    per_s: float = 0.0  # transactions/s (pgbench's tps)
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    server_cpu_us: float = 0.0  # per transaction
    settings: dict[str, str] = field(default_factory=dict)


def pgbench(
    pg: Postgres,
    root: Path,
    target: str,
    script: str,
    conns: int,
    seconds: float,
    options: dict[str, str] | None = None,
) -> dict[str, Any]:
    """pgbench -M prepared, one thread (as wrk -t1), `conns` clients, for `seconds`; latencies
    from its per-transaction log. `options` are server settings for its sessions (PGOPTIONS)."""
    run = PgbenchRun(target, conns, seconds, os.getloadavg()[0], settings=options or {})
    slug = re.sub(r"[^a-z0-9]+", "-", f"{target}-c{conns}".lower())
    script_path = root / f"{slug}.sql"
    script_path.write_text(script)
    logs = Path(tempfile.mkdtemp(prefix=f"{slug}-", dir=root))
    env = dict(os.environ)
    env["PGOPTIONS"] = " ".join(f"-c {k}={v}" for k, v in (options or {}).items())
    command = [
        str(pg.bin / "pgbench"),
        "-h",
        "127.0.0.1",
        "-p",
        str(pg.port),
        "-U",
        "postgres",
        "-n",  # no vacuum of pgbench's own tables (there are none)
        "-M",
        "prepared",
        "-c",
        str(conns),
        "-j",
        "1",
        "-T",
        str(max(1, round(seconds))),
        "-f",
        str(script_path),
        "-l",
        "--log-prefix",
        str(logs / "tx"),
        "postgres",
    ]
    cpu = tree_cpu_s(pg.pid)
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=seconds + 120)
    time.sleep(0.3)  # the postmaster reaps the exited backends: their CPU joins its cutime
    cpu = tree_cpu_s(pg.pid) - cpu
    tps = re.search(r"^tps = ([\d.]+)", done.stdout, re.MULTILINE)
    count = re.search(r"actually processed: (\d+)", done.stdout)
    if done.returncode != 0 or tps is None or count is None:
        raise RuntimeError(f"pgbench failed ({done.returncode}): {done.stdout}\n{done.stderr}")
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    latencies = np.array(
        [int(line.split()[2]) for path in logs.iterdir() for line in path.read_text().splitlines()],
        dtype=np.float64,
    )
    shutil.rmtree(logs, ignore_errors=True)
    run.transactions = int(count.group(1))
    run.failed = int(failed.group(1)) if failed else 0
    run.per_s = float(tps.group(1))
    p50, p90, p99 = np.percentile(latencies, [50, 90, 99]) / 1e3
    run.p50_ms, run.p90_ms, run.p99_ms = float(p50), float(p90), float(p99)
    run.server_cpu_us = cpu / max(run.transactions, 1) * 1e6
    print(
        f"  {target:<24} c={conns:<3} {run.per_s:9.0f} tx/s   p50 {run.p50_ms:6.2f} ms  "
        f"p99 {run.p99_ms:6.2f} ms  cpu {run.server_cpu_us:6.0f} us/tx  load {run.load_1m:.2f}"
        f"{'  failed ' + str(run.failed) if run.failed else ''}",
        flush=True,
    )
    return asdict(run)


# Binary COPY rows (id bigint, embedding vector): a field count, then each field's length and
# bytes, big-endian; pgvector's binary form is int16 dim, int16 unused, dim float4.
COPY_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("id_size", ">i4"),
        ("id", ">i8"),
        ("vector_size", ">i4"),
        ("dim", ">i2"),
        ("unused", ">i2"),
        ("vector", ">f4", (DIM,)),
    ]
)
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, header extension length
COPY_TRAILER = b"\xff\xff"


def copy_chunks(vectors: F32, rows: int = 20_000) -> Iterator[bytes]:
    """The COPY ... (FORMAT BINARY) stream of (row number, vector), built with numpy: dumping
    1M rows one by one in Python would take a core of the two from the server being measured."""
    yield COPY_HEADER
    for start in range(0, len(vectors), rows):
        part = vectors[start : start + rows]
        block = np.empty(len(part), dtype=COPY_ROW)
        block["fields"] = 2
        block["id_size"] = 8
        block["id"] = np.arange(start, start + len(part))
        block["vector_size"] = 4 + 4 * DIM
        block["dim"] = DIM
        block["unused"] = 0
        block["vector"] = part
        yield block.tobytes()
    yield COPY_TRAILER


def one(conn: psycopg.Connection[Any], sql: str) -> tuple[Any, ...]:
    row = conn.execute(sql).fetchone()
    if row is None:
        raise RuntimeError(f"no row from {sql}")
    return tuple(row)


def vector_text(v: F32) -> str:
    return orjson.dumps(v, option=NUMPY).decode()  # "[x,y,...]" is pgvector's text form too


def pg_load(pg: Postgres, table: str, data: F32, efc: int) -> dict[str, Any]:
    """COPY the points in (one transaction, durable at commit), then build the HNSW index; each
    timed on its own. ANALYZE afterwards, untimed (plans, and no autovacuum later)."""
    notices: list[str] = []
    with pg.connect() as conn:
        conn.add_notice_handler(lambda d: notices.append(str(d.message_primary)))
        conn.execute(f"CREATE TABLE {table} (id bigint PRIMARY KEY, embedding vector({DIM}))")
        before = load()
        started = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY {table} (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy,
        ):
            for chunk in copy_chunks(data):
                copy.write(chunk)
        copied = time.perf_counter() - started
        index_load = load()
        started = time.perf_counter()
        conn.execute(
            f"CREATE INDEX {table}_hnsw ON {table} USING hnsw (embedding vector_l2_ops) "
            f"WITH (m = {ANN.hnsw_m}, ef_construction = {efc})"
        )
        indexed = time.perf_counter() - started
        conn.execute(f"VACUUM ANALYZE {table}")
        sizes = one(
            conn,
            f"SELECT pg_table_size('{table}'), pg_relation_size('{table}_hnsw'), "
            f"pg_indexes_size('{table}'), pg_total_relation_size('{table}')",
        )
        count = one(conn, f"SELECT count(*) FROM {table}")[0]
    n = len(data)
    assert count == n, count
    print(
        f"  pgvector: COPY {copied:.1f} s ({n / copied:,.0f} points/s), CREATE INDEX hnsw "
        f"{indexed:.1f} s; {notices or ''}",
        flush=True,
    )
    return {
        "copy_s": copied,
        "copy_points_per_s": n / copied,
        "index_s": indexed,
        "total_s": copied + indexed,
        "points_per_s": n / (copied + indexed),
        "load_1m": before,
        "index_load_1m": index_load,
        "table_bytes": sizes[0],
        "hnsw_index_bytes": sizes[1],
        "indexes_bytes": sizes[2],
        "total_relation_bytes": sizes[3],
        "notices": notices,
    }


# ----------------------------------------------------------------------------- Zoro


def zoro_server(root: Path, name: str, workers: int = 1) -> ServerProcess:
    return ServerProcess(
        root / f"zoro-{name}",
        log_path=root / f"zoro-{name}.log",
        extra_args=("--workers", str(workers)),
    ).start(timeout_s=60)


def wait_fully_indexed(client: httpx.Client, name: str, timeout_s: float) -> dict[str, Any]:
    """Until green with no build running and nothing left outside the graph (a fresh segment
    too small for the idle seal stays searched exactly, as bench/http.py's wait_indexed)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        info = collection_info(client, name)
        index = info["zoro"]["index"]
        if (
            info["status"] == "green"
            and not index["job_running"]
            and not index["frozen_points"]
            and (
                info["indexed_vectors_count"] == info["points_count"]
                or index["fresh_points"] < IDLE_SEAL_MIN_POINTS
            )
        ):
            return info
        time.sleep(0.2)
    raise RuntimeError(f"collection {name} still indexing after {timeout_s} s")


async def _upload(url: str, name: str, data: F32) -> None:
    async with AsyncZoroClient(url, timeout=300.0) as client:
        await client.upload(
            name, range(len(data)), data, batch_size=UPLOAD_BATCH, parallel=UPLOAD_PARALLEL
        )


def zoro_load(server: ServerProcess, name: str, data: F32, efc: int) -> dict[str, Any]:
    """The client's upload (durable: wait=true), then the wait until the collection is indexed."""
    n = len(data)
    with httpx.Client(base_url=server.url, timeout=60) as client:
        create_collection(client, name, ef_construct=efc)
        before = load()
        started = time.perf_counter()
        trio.run(_upload, server.url, name, data)
        uploaded = time.perf_counter() - started
        info = wait_fully_indexed(client, name, 7200.0)
        indexed = time.perf_counter() - started
    assert info["points_count"] == n, info["points_count"]
    print(
        f"  zoro: upload {uploaded:.1f} s ({n / uploaded:,.0f} points/s), fully indexed "
        f"{indexed:.1f} s after the start ({info['indexed_vectors_count']:,} indexed)",
        flush=True,
    )
    return {
        "upload_s": uploaded,
        "upload_points_per_s": n / uploaded,
        "total_s": indexed,
        "points_per_s": n / indexed,
        "indexed_vectors_count": info["indexed_vectors_count"],
        "load_1m": before,
    }


def zoro_recall(client: httpx.Client, queries: F32, truth: I64, ef: int) -> float:
    found = []
    for q in queries:
        body = orjson.dumps({"query": q, "limit": 10, "params": {"hnsw_ef": ef}}, option=NUMPY)
        response = client.post(
            "/collections/c/points/query",
            content=body,
            headers={"content-type": "application/json"},
        )
        response.raise_for_status()
        found.append([p["id"] for p in response.json()["result"]["points"]])
    return recall_of(found, truth)


# ----------------------------------------------------------------------------- 1. bulk


def load_both(
    pg: Postgres, server: ServerProcess, name: str, data: F32, memory: bool, efc: int
) -> dict[str, Any]:
    """The same points into both, one after the other; memory and disk after load + index."""
    assert server.process is not None
    n = len(data)
    rss_empty, pg_empty = memory_kb(server.process.pid)["VmRSS"] * 1024, pg_memory(pg)
    print(f"loading {n:,} x {DIM} into Zoro, then into pgvector ...", flush=True)
    result: dict[str, Any] = {"points": n, "zoro": zoro_load(server, name, data, efc)}
    result["pgvector"] = pg_load(pg, name, data, efc)
    result["ratio"] = result["zoro"]["points_per_s"] / result["pgvector"]["points_per_s"]
    if memory:
        time.sleep(1.0)
        rss = memory_kb(server.process.pid)
        pgm = pg_memory(pg)
        z, p = result["zoro"], result["pgvector"]
        z["rss_bytes"], z["rss_empty_bytes"] = rss["VmRSS"] * 1024, rss_empty
        z["rss_anon_bytes"], z["rss_file_bytes"] = rss["RssAnon"] * 1024, rss["RssFile"] * 1024
        z["disk_bytes"] = disk_usage(server.data_dir)["total"]
        p["memory"], p["memory_empty"] = pgm, pg_empty
        result["memory"] = {
            "zoro_rss_per_point": z["rss_bytes"] / n,
            "pg_resident_per_point": pgm["resident"] / n,
            "zoro_rss_growth_per_point": (z["rss_bytes"] - rss_empty) / n,
            "pg_resident_growth_per_point": (pgm["resident"] - pg_empty["resident"]) / n,
            "pg_relation_per_point": p["total_relation_bytes"] / n,
            "ratio": z["rss_bytes"] / pgm["resident"],
            "ratio_relation": z["rss_bytes"] / p["total_relation_bytes"],
            "load_1m": load(),
        }
        m = result["memory"]
        print(
            f"  memory: zoro RSS {z['rss_bytes'] / 2**20:,.0f} MiB; postgres resident "
            f"{pgm['resident'] / 2**20:,.0f} MiB (private {pgm['private'] / 2**20:,.0f} + shared "
            f"{pgm['shared'] / 2**20:,.0f}; summed PSS {pgm['pss'] / 2**20:,.0f}), relation + "
            f"indexes {p['total_relation_bytes'] / 2**20:,.0f} MiB; ratio {m['ratio']:.2f}",
            flush=True,
        )
    return result


def bulk(root: Path, pg: Postgres, points: int, efc: int) -> dict[str, Any]:
    data, _ = clustered(points, 0, seed=4)
    server = zoro_server(root, "bulk")
    try:
        result = load_both(pg, server, "bulk", data, memory=True, efc=efc)
    finally:
        server.stop(timeout_s=300)
    with pg.connect() as conn:
        conn.execute("DROP TABLE bulk")
        conn.execute("CHECKPOINT")
    return result


# ----------------------------------------------------------------------------- 2. search


SEARCH_PARAM = """\\set qid random(0, {last})
SELECT qtext AS qv FROM queries WHERE qid = :qid \\gset
SELECT id FROM c ORDER BY embedding <-> :qv::vector LIMIT 10;
"""
SEARCH_SUBQUERY = """\\set qid random(0, {last})
SELECT id FROM c ORDER BY embedding <-> (SELECT q FROM queries WHERE qid = :qid) LIMIT 10;
"""
SEARCH_SQL = "SELECT id FROM c ORDER BY embedding <-> %s::vector LIMIT 10"


def vector_table(pg: Postgres, table: str, vectors: F32) -> None:
    with pg.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {table} (qid int PRIMARY KEY, q vector({DIM}), qtext text)")
        cur.executemany(
            f"INSERT INTO {table} VALUES (%s, %s::vector, %s)",
            [(i, vector_text(v), vector_text(v)) for i, v in enumerate(vectors)],
        )
        cur.execute(f"ANALYZE {table}")


def pg_recall(conn: psycopg.Connection[Any], queries: F32, truth: I64, ef: int) -> float:
    conn.execute(f"SET hnsw.ef_search = {int(ef)}")
    found = []
    with conn.cursor() as cur:
        for q in queries:
            cur.execute(SEARCH_SQL, (vector_text(q),), prepare=True)
            found.append([int(row[0]) for row in cur.fetchall()])
    return recall_of(found, truth)


def check_plans(conn: psycopg.Connection[Any]) -> dict[str, bool]:
    """Both pgbench statements walk the HNSW index (else their figures mean nothing)."""
    used = {}
    for label, sql in (
        ("param", "SELECT id FROM c ORDER BY embedding <-> $1::vector LIMIT 10"),
        ("subquery", SEARCH_SUBQUERY.splitlines()[1].replace(":qid", "$1").rstrip(";")),
    ):
        rows = conn.execute(f"EXPLAIN (GENERIC_PLAN) {sql}").fetchall()
        used[label] = any("c_hnsw" in str(r[0]) for r in rows)
    if not all(used.values()):
        raise RuntimeError(f"a search statement does not use the HNSW index: {used}")
    return used


def search(
    root: Path,
    pg: Postgres,
    points: int,
    seconds: float,
    rounds: int,
    recall_queries: int,
    memory: bool,
    target: float,
    efc: int,
    workers: int,
) -> dict[str, Any]:
    data, queries = clustered(points, QUERIES)
    probe = queries[:recall_queries]
    truth = exact_top10(data, probe)
    vector_table(pg, "queries", queries)
    server = zoro_server(root, "search", workers)
    result: dict[str, Any] = {
        "points": points,
        "workers": workers,
        "conns": SEARCH_CONNS,
        "recall_queries": recall_queries,
        "target_recall": target,
        "rounds": rounds,
    }
    try:
        result["load"] = load_both(pg, server, "c", data, memory, efc)
        with httpx.Client(base_url=server.url, timeout=60) as client, pg.connect() as conn:
            result["plans_use_hnsw"] = check_plans(conn)
            zoro_by_ef: dict[int, float] = {}
            for ef in ZORO_EFS:
                zoro_by_ef[ef] = zoro_recall(client, probe, truth, ef)
                print(f"  zoro recall@10 at ef {ef}: {zoro_by_ef[ef]:.4f}", flush=True)
                if zoro_by_ef[ef] >= target:
                    break
            # Zoro's default ef, and the first that reaches the target (or the last tried)
            efs = sorted({ANN.hnsw_ef_search, max(zoro_by_ef)})
            pg_by_ef: dict[int, float] = {}
            matched = [
                (ef, match_recall(conn, probe, truth, zoro_by_ef[ef], pg_by_ef)) for ef in efs
            ]
            # where Zoro falls short of the target at every ef tried, pgvector's figure at the
            # target is still measured, alone: what Zoro would have to reach
            short = max(zoro_by_ef.values()) < target
            pg_target = match_recall(conn, probe, truth, target, pg_by_ef) if short else 0
        result["zoro_recall_by_ef"] = zoro_by_ef
        result["pg_recall_by_ef"] = pg_by_ef
        result["runs"] = [
            {
                **search_runs(root, pg, server, queries, seconds, rounds, ef, pg_ef),
                "zoro_recall": zoro_by_ef[ef],
                "pg_recall": pg_by_ef[pg_ef],
            }
            for ef, pg_ef in matched
        ]
        if pg_target:
            options = {"hnsw.ef_search": str(pg_target)}
            script = SEARCH_PARAM.format(last=len(queries) - 1)
            label = f"pgvector ef_search={pg_target}"
            medians, _ = interleaved(
                {
                    "pgvector": lambda _: pgbench(
                        pg, root, label, script, SEARCH_CONNS, seconds, options
                    )
                },
                rounds,
            )
            result["pg_at_target"] = {
                "pg_ef_search": pg_target,
                "pg_recall": pg_by_ef[pg_target],
                **medians["pgvector"],
            }
    finally:
        server.stop(timeout_s=300)
    return result


def match_recall(
    conn: psycopg.Connection[Any], probe: F32, truth: I64, wanted: float, seen: dict[int, float]
) -> int:
    """The smallest ef_search of the ladder whose recall reaches `wanted` (or the largest)."""
    for ef in PG_EFS:
        if ef not in seen:
            seen[ef] = pg_recall(conn, probe, truth, ef)
            print(f"  pgvector recall@10 at ef_search {ef}: {seen[ef]:.4f}", flush=True)
        if seen[ef] >= wanted:
            return ef
    return PG_EFS[-1]


def median_fields(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """The median over rounds of every number (other values from the first round)."""
    out = dict(samples[0])
    for key, value in out.items():
        values = [x[key] for x in samples]
        numbers = isinstance(value, int | float) and not isinstance(value, bool)
        if numbers and any(v != value for v in values):
            out[key] = float(np.median(values))
    return out


def interleaved(
    targets: dict[str, Callable[[int], dict[str, Any]]], rounds: int
) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """Each target once a round (it is given the round), the order reversed every other round so
    that a drifting load hits them alike; the median over rounds of each, and the rounds."""
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
    names = list(targets)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            samples[name].append(targets[name](r))
    return {name: median_fields(runs) for name, runs in samples.items()}, samples


def round_ratios(samples: dict[str, list[dict[str, Any]]], a: str, b: str) -> list[float]:
    return [x["per_s"] / y["per_s"] for x, y in zip(samples[a], samples[b], strict=True)]


def search_runs(
    root: Path,
    pg: Postgres,
    server: ServerProcess,
    queries: F32,
    seconds: float,
    rounds: int,
    ef: int,
    pg_ef: int,
) -> dict[str, Any]:
    assert server.process is not None
    lines = [
        orjson.dumps({"query": q, "limit": 10, "params": {"hnsw_ef": ef}}, option=NUMPY)
        for q in queries
    ]
    bodies = str(write_lines(root / f"query-ef{ef}.txt", lines))
    args = [bodies, "/collections/c/points/query", "POST"]
    pid, options, last = server.process.pid, {"hnsw.ef_search": str(pg_ef)}, len(queries) - 1
    param, subquery = SEARCH_PARAM.format(last=last), SEARCH_SUBQUERY.format(last=last)
    label = f"pgvector ef_search={pg_ef}"
    medians, samples = interleaved(
        {
            "zoro": lambda _: wrk_cpu(
                f"zoro ef={ef}", server.url, pid, args, SEARCH_CONNS, seconds
            ),
            "pgvector": lambda _: pgbench(pg, root, label, param, SEARCH_CONNS, seconds, options),
            "pgvector_subquery": lambda _: pgbench(
                pg, root, f"{label} subquery", subquery, SEARCH_CONNS, seconds, options
            ),
        },
        rounds,
    )
    ratios = round_ratios(samples, "zoro", "pgvector")
    return {
        "zoro_ef": ef,
        "pg_ef_search": pg_ef,
        **medians,
        "ratio": float(np.median(ratios)),
        "round_ratios": ratios,
        "ratio_subquery": float(np.median(round_ratios(samples, "zoro", "pgvector_subquery"))),
    }


# ----------------------------------------------------------------------------- 3. writes


INSERT = """\\set qid random(0, 999)
INSERT INTO {table} (embedding) SELECT q FROM write_vectors WHERE qid = :qid;
"""


def pg_writes(
    pg: Postgres, root: Path, conns: int, seconds: float, hnsw: bool, turn: int
) -> dict[str, Any]:
    table = f"w{conns}{'h' if hnsw else 'p'}{turn}"
    with pg.connect() as conn:
        conn.execute(
            f"CREATE TABLE {table} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
            f"embedding vector({DIM}) NOT NULL)"
        )
        if hnsw:
            conn.execute(
                f"CREATE INDEX ON {table} USING hnsw (embedding vector_l2_ops) "
                f"WITH (m = {ANN.hnsw_m}, ef_construction = {ANN.hnsw_ef_construct})"
            )
        conn.execute("CHECKPOINT")  # every run starts from the same state
        wal = one(conn, "SELECT wal_sync FROM pg_stat_wal")[0]
    label = "pgvector INSERT" + (" hnsw" if hnsw else " no index")
    run = pgbench(pg, root, label, INSERT.format(table=table), conns, seconds)
    with pg.connect() as conn:
        syncs = one(conn, "SELECT wal_sync FROM pg_stat_wal")[0] - wal
        rows = one(conn, f"SELECT count(*) FROM {table}")[0]
        conn.execute(f"DROP TABLE {table}")
    return {**run, "rows": rows, "writes_per_sync": run["transactions"] / max(syncs, 1)}


def wrk_cpu(
    label: str, url: str, pid: int, args: list[str], conns: int, seconds: float
) -> dict[str, Any]:
    """A wrk run and the server's CPU per answered request over it."""
    cpu = tree_cpu_s(pid)
    run = wrk(label, url, args, conns, seconds)
    used = tree_cpu_s(pid) - cpu
    return {
        "per_s": run.rps,
        "p50_ms": run.p50_ms,
        "p99_ms": run.p99_ms,
        "ok": run.ok,
        "errors": run.errors,
        "server_cpu_us": used / max(run.ok, 1) * 1e6,
        "load_1m": run.load_1m,
    }


def zoro_writes(
    client: httpx.Client, server: ServerProcess, bodies: str, conns: int, seconds: float, turn: int
) -> dict[str, Any]:
    assert server.process is not None
    name = f"w{conns}_{turn}"
    create_collection(client, name)
    args = [bodies, f"/collections/{name}/points?wait=true", "PUT", str(10**7 * (turn + 1))]
    run = wrk_cpu("zoro PUT wait=true", server.url, server.process.pid, args, conns, seconds)
    time.sleep(0.3)
    info = collection_info(client, name)
    client.delete(f"/collections/{name}").raise_for_status()
    stats = info["zoro"]
    return {
        **run,
        "points_count": info["points_count"],
        "writes_per_sync": stats["wal_records"] / max(stats["wal_syncs"], 1),
    }


def overwrite_fsync_rate(directory: Path, seconds: float) -> dict[str, float]:
    """Serial 4 KiB writes + fdatasync into a file written full of zeros beforehand, as
    PostgreSQL's WAL segments are: no size or extent change to commit, unlike an append
    (bench/durable_core.py's raw_fsync_rate, the way Zoro's WAL and the bare reference write)."""
    path, size = directory / "overwrite.bin", 64 * 2**20
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, bytes(size))
        os.fsync(fd)
        block, n, started = os.urandom(4096), 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            os.pwrite(fd, block, n * 4096 % size)
            os.fdatasync(fd)
            n += 1
        elapsed = time.perf_counter() - started
    finally:
        os.close(fd)
        path.unlink()
    return {"syncs_per_s": n / elapsed, "latency_us": elapsed / n * 1e6}


def write_targets(
    client: httpx.Client,
    server: ServerProcess,
    pg: Postgres,
    root: Path,
    bodies: str,
    refs: dict[str, tuple[str, int]],
    conns: int,
    seconds: float,
) -> dict[str, Callable[[int], dict[str, Any]]]:
    """One level's runs, each given the round: Zoro, pgvector with and without an HNSW index,
    and the reference apps (bare durable, ping; their request path does not matter)."""
    put = [bodies, "/points?wait=true", "PUT", "1"]
    (bare_url, bare_pid), (ping_url, ping_pid) = refs["bare_durable"], refs["ping"]
    return {
        "zoro": lambda turn: zoro_writes(client, server, bodies, conns, seconds, turn),
        "pgvector_hnsw": lambda turn: pg_writes(pg, root, conns, seconds, True, turn),
        "pgvector_plain": lambda turn: pg_writes(pg, root, conns, seconds, False, turn),
        "bare_durable": lambda _: wrk_cpu("bare durable", bare_url, bare_pid, put, conns, seconds),
        "ping": lambda _: wrk_cpu("ping (PUT body)", ping_url, ping_pid, put, conns, seconds),
    }


def writes(
    root: Path, pg: Postgres, seconds: float, rounds: int, fsync_s: float
) -> list[dict[str, Any]]:
    rng = np.random.default_rng(8)  # bench/curve.py's write vectors
    vectors = rng.standard_normal((1_000, DIM), dtype=np.float32)
    lines = [
        b'{"points":[{"id":__ID__,"vector":%s}]}' % orjson.dumps(v, option=NUMPY) for v in vectors
    ]
    bodies = str(write_lines(root / "write.txt", lines))
    vector_table(pg, "write_vectors", vectors)
    scratch = root / "fsync"
    scratch.mkdir()
    print("durable 1-point writes ...", flush=True)
    levels = []
    server = zoro_server(root, "writes")
    try:
        with (
            httpx.Client(base_url=server.url, timeout=60) as client,
            ref_process(
                root, "durable", "--file", str(root / "durable.log"), "--sync-in-thread"
            ) as (bare_url, bare_pid),
            ref_process(root, "ping") as (ping_url, ping_pid),
        ):
            for conns in WRITE_CONNS:
                raw = raw_fsync_rate(scratch, fsync_s)
                overwrite = overwrite_fsync_rate(scratch, fsync_s)
                refs = {"bare_durable": (bare_url, bare_pid), "ping": (ping_url, ping_pid)}
                targets = write_targets(client, server, pg, root, bodies, refs, conns, seconds)
                medians, samples = interleaved(targets, rounds)
                level: dict[str, Any] = {
                    "conns": conns,
                    "raw_fsync_per_s": raw["syncs_per_s"],
                    "raw_overwrite_fsync_per_s": overwrite["syncs_per_s"],
                }
                level.update(medians)
                ratios = round_ratios(samples, "zoro", "pgvector_hnsw")
                level["ratio"], level["round_ratios"] = float(np.median(ratios)), ratios
                for key, other in (
                    ("ratio_plain", "pgvector_plain"),
                    ("ratio_bare", "bare_durable"),
                ):
                    level[key] = float(np.median(round_ratios(samples, "zoro", other)))
                print(
                    f"    raw fsync {raw['syncs_per_s']:,.0f}/s appending, "
                    f"{overwrite['syncs_per_s']:,.0f}/s overwriting; zoro / pgvector (hnsw) "
                    f"{level['ratio']:.2f}, / pgvector (no index) {level['ratio_plain']:.2f}, "
                    f"/ bare durable {level['ratio_bare']:.2f}",
                    flush=True,
                )
                levels.append(level)
    finally:
        server.stop(timeout_s=120)
    return levels


# ----------------------------------------------------------------------------- main


def versions(pg: Postgres) -> dict[str, Any]:
    with pg.connect() as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        server = one(conn, "SHOW server_version")
        row = one(conn, "SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        workers = one(conn, "SHOW max_parallel_maintenance_workers")
    return {
        "postgresql": server[0],
        "pgvector": row[0],
        "pgserver": metadata.version("pgserver"),
        "psycopg": metadata.version("psycopg"),
        "settings": PG_SETTINGS,
        "max_parallel_maintenance_workers": workers[0],
        "run_as": pg.user,
    }


def report(r: dict[str, Any]) -> None:
    print(f"\n{r['machine']}\n{r['postgres']}")
    b = r.get("bulk")
    if b:
        z, p = b["zoro"], b["pgvector"]
        print(
            f"\nbulk {b['points']:,} x {DIM}: zoro upload {z['upload_s']:.1f} s, indexed at "
            f"{z['total_s']:.1f} s = {z['points_per_s']:,.0f} points/s | pgvector COPY "
            f"{p['copy_s']:.1f} s + CREATE INDEX {p['index_s']:.1f} s = {p['points_per_s']:,.0f}"
            f" points/s | ratio {b['ratio']:.2f}  load {z['load_1m']:.2f}/{p['load_1m']:.2f}"
        )
        if "memory" in b:
            m = b["memory"]
            print(
                f"memory: zoro RSS {z['rss_bytes'] / 2**20:,.0f} MiB, postgres resident "
                f"{p['memory']['resident'] / 2**20:,.0f} MiB (ratio {m['ratio']:.2f}); relation "
                f"+ indexes {p['total_relation_bytes'] / 2**20:,.0f} MiB (ratio "
                f"{m['ratio_relation']:.2f}); growth per point: zoro "
                f"{m['zoro_rss_growth_per_point']:,.0f} B, postgres "
                f"{m['pg_resident_growth_per_point']:,.0f} B"
            )
    s = r.get("search")
    if s:
        print(f"\nsearch, {s['points']:,} points, {s['conns']} connections, median of rounds")
        print(
            f"{'zoro ef':>7} {'recall':>7} {'QPS':>7} {'p99':>6} {'cpu us':>6} | {'pg ef':>5} "
            f"{'recall':>7} {'QPS':>7} {'p99':>6} {'cpu us':>6} {'subq QPS':>8} | ratio  load"
        )
        for x in s["runs"]:
            z, p, q = x["zoro"], x["pgvector"], x["pgvector_subquery"]
            print(
                f"{x['zoro_ef']:>7} {x['zoro_recall']:>7.4f} {z['per_s']:>7,.0f} "
                f"{z['p99_ms']:>6.1f} {z['server_cpu_us']:>6,.0f} | {x['pg_ef_search']:>5} "
                f"{x['pg_recall']:>7.4f} {p['per_s']:>7,.0f} {p['p99_ms']:>6.1f} "
                f"{p['server_cpu_us']:>6,.0f} {q['per_s']:>8,.0f} | {x['ratio']:5.2f}  "
                f"{z['load_1m']:.2f}"
            )
    if s and "pg_at_target" in s:
        t = s["pg_at_target"]
        print(
            f"Zoro short of recall {s['target_recall']} at every ef tried; pgvector at ef_search "
            f"{t['pg_ef_search']}: recall {t['pg_recall']:.4f}, {t['per_s']:,.0f} QPS, p99 "
            f"{t['p99_ms']:.1f} ms"
        )
    if r.get("writes"):
        print(
            f"\n{'conns':>5} {'zoro w/s':>8} {'p99':>6} {'cpu us':>6} | {'pg hnsw':>7} {'p99':>6} "
            f"{'cpu us':>6} {'pg plain':>8} | {'bare':>6} {'cpu us':>6} | {'ping cpu us':>11} | "
            f"{'raw fsync':>9} | ratio  load"
        )
        for w in r["writes"]:
            z, p, q = w["zoro"], w["pgvector_hnsw"], w["pgvector_plain"]
            bare, ping = w["bare_durable"], w["ping"]
            print(
                f"{w['conns']:>5} {z['per_s']:>8,.0f} {z['p99_ms']:>6.1f} "
                f"{z['server_cpu_us']:>6,.0f} | {p['per_s']:>7,.0f} {p['p99_ms']:>6.1f} "
                f"{p['server_cpu_us']:>6,.0f} {q['per_s']:>8,.0f} | {bare['per_s']:>6,.0f} "
                f"{bare['server_cpu_us']:>6,.0f} | {ping['server_cpu_us']:>11,.0f} | "
                f"{w['raw_fsync_per_s']:>9,.0f} | {w['ratio']:5.2f}  {z['load_1m']:.2f}"
            )


def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    sections = set(args.sections.split(","))
    seconds = 3.0 if args.quick else 10.0
    rounds = args.rounds or (1 if args.quick else 2)
    points = args.points or (20_000 if args.quick else 200_000)
    bulk_points = args.bulk_points or (points if args.quick else 1_000_000)
    result: dict[str, Any] = {
        "machine": {
            "cores": os.cpu_count(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "load_at_start": os.getloadavg(),
        },
        "quick": args.quick,
        "seconds": seconds,
        "rounds": rounds,
        "hnsw": {"m": ANN.hnsw_m, "ef_construction": args.ef_construction},
    }
    pg = Postgres(root, PG_SETTINGS)
    try:
        pg.start()
        result["postgres"] = versions(pg)
        # the bulk figures come from the search section's load when both are the same size and
        # Zoro is one process there (the memory figure is one process's RSS)
        shared = bulk_points == points and "search" in sections and args.workers == 1
        separate_bulk = "bulk" in sections and not shared
        if separate_bulk:
            result["bulk"] = bulk(root, pg, bulk_points, args.ef_construction)
        if "search" in sections:
            recall_queries = 200 if args.quick else QUERIES
            memory = "bulk" in sections and not separate_bulk
            result["search"] = search(
                root,
                pg,
                points,
                seconds,
                rounds,
                recall_queries,
                memory,
                args.target_recall,
                args.ef_construction,
                args.workers,
            )
            if memory:
                result["bulk"] = {**result["search"]["load"], "from": "the search section's load"}
        if "writes" in sections:
            result["writes"] = writes(root, pg, seconds, rounds, 1.0 if args.quick else 2.0)
    finally:
        result["postgres_exit"] = pg.stop()
    result["load_at_end"] = os.getloadavg()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 points, 3 s runs")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--dir", type=Path, default=Path.cwd(), help="scratch dir parent (disk)")
    parser.add_argument("--points", type=int, help="search collection size (default 200,000)")
    parser.add_argument("--bulk-points", type=int, help="bulk load size (default 1,000,000)")
    parser.add_argument("--sections", default="bulk,search,writes", help="bulk, search, writes")
    parser.add_argument("--target-recall", type=float, default=TARGET_RECALL, help="0.99")
    parser.add_argument("--rounds", type=int, help="interleaved rounds per figure (default 2)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument(
        "--ef-construction",
        type=int,
        default=ANN.hnsw_ef_construct,
        help="HNSW ef_construction of both sides' bulk and search graphs (Zoro's default)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="Zoro's --workers in the search section"
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop both servers on SIGTERM
    root = Path(tempfile.mkdtemp(prefix="bench-pgvector-", dir=args.dir))
    try:
        result = run(args, root)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    report(result)
    write_json(args.json, result)


if __name__ == "__main__":
    main()
