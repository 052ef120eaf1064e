"""Overwrite churn: disk and memory stay flat while compaction reclaims replaced slots.

    .venv/bin/python -m bench.churn [--quick] [--points N] [--rounds R] [--conns C]
                                    [--cycles K] [--budget-min M] [--json PATH] [--keep]

A real server (`zoro serve`, default settings: automatic compaction on), one HNSW collection of
N live 128-d points (bench/http.py's clustered data, Euclid), N = 100,000 (20,000 with --quick).

Churn (phase 1). Round 1 loads N points. Every later round overwrites all N points with new
vectors and payloads, in 1,000-point PUT ?wait=true bodies from C keep-alive connections (2),
then deletes a tenth of them (POST /points/delete ?wait=true, 1,000 ids a body) and inserts
them again. 50 rounds (8 with --quick), stopped early when the next round would pass the time
budget. After each round: the data directory's allocated bytes (st_blocks * 512 summed over
files, not their apparent size) per live point, the server's VmRSS (RssAnon, RssFile, VmHWM),
slots, garbage_slots, file_generation and compactions from collection info, the index's state,
the round's duration.
Round 1 is measured again once indexed and checkpointed: that settled figure is the disk
reference. A poller reads collection info every 0.2 s through the whole run; when a compaction
finishes it waits until the old generation's files are gone and measures the data directory at
once (writes going on), which gives "disk per live point after a compaction".

Compaction under load (phase 2). The churn server is stopped and the same data directory served
again with the copy paced (`--set storage.compaction_bytes_per_s=B`, B = the bytes of phase 1's
compactions / the wanted duration) and the automatic trigger off
(`--set storage.compaction_garbage_ratio=0`), so that compactions run when asked and long
enough. K cycles (3; 2 with --quick), each once indexed (idle):
  - search: wrk, POST /points/query (one vector, limit 10) at 16 connections for S s;
  - writes: one client thread on one keep-alive connection, single-point PUT ?wait=true
    (overwriting an existing point) at a fixed rate (50/s) for W s; latency is taken from each
    request's scheduled send time, so a stall also counts against the requests queued behind it.
    Beside it two probes: a raw 4 KiB append + fdatasync on the data's file system (10/s) and
    GET /healthz (20/s);
  - POST /compact in a thread; once collection info says it runs: the same wrk for S s
    (collection info read before and after: compacting, and the compactions count unchanged, so
    it ran for the whole window), then the same write client and probes until the compaction
    has answered (the switch included).
Then the idle loads once more. The server's and the whole machine's CPU are read around each
search window (the machine is shared).

Goals (issue 14): disk per live point after the last compaction <= 1.5x round 1's (settled);
RSS at the last round <= 1.2x round 5's; search QPS while compacting >= 0.7x idle (per
compaction over the mean of the idle runs before and after it, the median over compactions);
write p99 while compacting <= 2x idle (all samples of each kind pooled).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import re
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
import orjson

from bench.http import (
    BATCH_POINTS,
    DIM,
    F32,
    NUMPY,
    WrkRun,
    collection_info,
    create_collection,
    ingest_http,
    machine_info,
    wait_indexed,
    write_lines,
    wrk,
)
from bench.procfs import CLK_TCK, tree_cpu_s
from bench.scratch import in_scratch, write_json
from zoro.testing import ServerProcess, disk_usage

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

NAME = "c"
SEARCH_CONNS = 16
WRITE_RATE = 50.0  # single-point writes per second in the timed write client
CLUSTERS = 64
POLL_S = 0.2
GENERATION_GONE_S = 10.0  # how long to wait for a compaction's old generation to be deleted
REQUEST_TIMEOUT_S = 300.0
FSYNC_PROBE_RATE = 10.0  # raw 4 KiB fdatasyncs per second beside the timed writes
HEALTHZ_PROBE_RATE = 20.0  # GET /healthz per second beside the timed writes
SWITCH_S = 2.0  # the timed writes of the last this many seconds of a compaction: its switch


@dataclass(frozen=True)
class Config:
    points: int
    rounds: int
    conns: int
    budget_s: float  # churn rounds stop when the next one would pass this
    search_s: float
    write_s: float
    cycles: int  # compactions under load
    index_timeout_s: float
    quick: bool


# ------------------------------------------------------------------------------ data


class Data:
    """Vectors around fixed cluster centres (a new draw per round), and the query bodies."""

    def __init__(self, points: int) -> None:
        self.points = points
        rng = np.random.default_rng(11)
        self.centres = (rng.normal(size=(CLUSTERS, DIM)) * 4).astype(np.float32)

    def vectors(self, n: int, seed: int) -> F32:
        rng = np.random.default_rng(1_000 + seed)
        labels = rng.integers(0, CLUSTERS, size=n)
        noise = rng.normal(size=(n, DIM)).astype(np.float32)
        return np.ascontiguousarray(self.centres[labels] + noise, dtype=np.float32)

    def upsert_bodies(self, ids: list[int], vectors: F32, round_no: int) -> list[bytes]:
        """1,000-point PUT bodies with a payload that changes every round."""
        bodies = []
        for start in range(0, len(ids), BATCH_POINTS):
            chunk = ids[start : start + BATCH_POINTS]
            points = [
                {
                    "id": i,
                    "vector": vectors[start + j],
                    "payload": {"round": round_no, "group": i % 10, "tag": f"r{round_no}-{i}"},
                }
                for j, i in enumerate(chunk)
            ]
            bodies.append(orjson.dumps({"points": points}, option=NUMPY))
        return bodies

    def query_file(self, path: Path, n: int = 1_000) -> Path:
        return write_lines(
            path,
            [
                b'{"query":%s,"limit":10}' % orjson.dumps(q, option=NUMPY)
                for q in self.vectors(n, seed=-1)
            ],
        )


# ------------------------------------------------------------------------------ disk, memory


def generation_dirs(data_dir: Path) -> list[str]:
    """The file generations present in the collection directory ('source' is generation 0)."""
    found = []
    for coll in (data_dir / "collections").iterdir():
        found += [p.name for p in coll.iterdir() if p.name == "source" or p.name[:6] == "files."]
    return sorted(found)


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS (anonymous + file-backed, mapped vector files included), its parts, and VmHWM of
    the process, in KiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    out = {}
    for key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
        found = re.search(rf"^{key}:\s+(\d+) kB", status, re.MULTILINE)
        out[key] = int(found.group(1)) if found else 0
    return out


# ------------------------------------------------------------------------------ poller


@dataclass
class Poller:
    """Reads collection info every POLL_S in a thread; after each finished compaction, measures
    the data directory once the old generation is gone."""

    url: str
    data_dir: Path
    round_no: Callable[[], int]
    samples: list[dict[str, Any]] = field(default_factory=list)
    after_compaction: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Poller:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def window(self, t0: float, t1: float) -> dict[str, Any]:
        """What the polls between t0 and t1 saw: index jobs, checkpoints, compaction."""
        inside = [s for s in self.samples if t0 <= s["t"] <= t1]
        return {
            "polls": len(inside),
            "job_running_polls": sum(1 for s in inside if s["job_running"]),
            "compacting_polls": sum(1 for s in inside if s["compacting"]),
            "checkpoints": len({s["checkpoint_lsn"] for s in inside}) - 1 if inside else 0,
        }

    def _run(self) -> None:
        started = time.monotonic()
        last_compactions: int | None = None
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while not self._stop.wait(POLL_S):
                try:
                    info = collection_info(client, NAME)
                except (httpx.HTTPError, KeyError) as exc:
                    self.errors.append(f"{time.monotonic() - started:.1f}s {exc!r}")
                    continue
                storage = info["zoro"]["storage"]
                index = info["zoro"]["index"]
                self.samples.append(
                    {
                        "t": time.monotonic(),
                        "status": info["status"],
                        "points": info["points_count"],
                        "job_running": index["job_running"],
                        "fresh_points": index["fresh_points"],
                        "checkpoint_lsn": info["zoro"]["checkpoint_lsn"],
                        **storage,
                    }
                )
                count = storage["compactions"]
                if last_compactions is not None and count > last_compactions:
                    self._after_compaction(client, storage["file_generation"])
                last_compactions = count

    def _after_compaction(self, client: httpx.Client, generation: int) -> None:
        current = f"files.{generation}"
        began = time.monotonic()
        while time.monotonic() - began < GENERATION_GONE_S:
            if generation_dirs(self.data_dir) == [current]:
                break
            time.sleep(0.05)
        waited = time.monotonic() - began
        disk = disk_usage(self.data_dir)
        info = collection_info(client, NAME)
        points = info["points_count"]
        self.after_compaction.append(
            {
                "round": self.round_no(),
                "generation": generation,
                "old_generation_gone": generation_dirs(self.data_dir) == [current],
                "waited_s": round(waited, 2),
                "points": points,
                "disk": disk,
                "disk_per_point": disk["total"] / max(points, 1),
                "storage": info["zoro"]["storage"],
            }
        )
        print(
            f"    compaction {generation} done (round {self.round_no()}): "
            f"{disk['total'] / max(points, 1):,.0f} B/point on disk, "
            f"{info['zoro']['storage']['slots']:,} slots",
            flush=True,
        )


# ------------------------------------------------------------------------------ HTTP helpers


def put_all(port: int, bodies: list[bytes], conns: int) -> dict[str, Any]:
    done = ingest_http(port, f"/collections/{NAME}/points?wait=true", bodies, conns)
    if set(done["statuses"]) != {200}:
        raise RuntimeError(f"upserts answered {done['statuses']}")
    return done


def delete_ids(client: httpx.Client, ids: list[int]) -> None:
    for start in range(0, len(ids), BATCH_POINTS):
        body = {"points": ids[start : start + BATCH_POINTS]}
        response = client.post(f"/collections/{NAME}/points/delete?wait=true", json=body)
        response.raise_for_status()


def wait_checkpointed(client: httpx.Client, timeout_s: float) -> bool:
    """Wait until the applied writes are checkpointed (the idle checkpoint comes after 10 s)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        zoro = collection_info(client, NAME)["zoro"]
        if zoro["checkpoint_lsn"] >= zoro["last_lsn"]:
            return True
        time.sleep(0.5)
    return False


def metric_values(client: httpx.Client, name: str) -> float:
    text = client.get("/metrics").text
    found = re.search(rf'^{name}\{{collection="{NAME}"\}} (\S+)$', text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


# ------------------------------------------------------------------------------ phase 1: churn


def churn(
    cfg: Config, data: Data, server: ServerProcess, client: httpx.Client, data_dir: Path
) -> dict[str, Any]:
    assert server.process is not None
    pid = server.process.pid
    state = {"round": 0}
    poller = Poller(server.url, data_dir, lambda: state["round"]).start()
    rounds: list[dict[str, Any]] = []
    ids = list(range(cfg.points))
    began = time.monotonic()
    stopped_early = None
    settled: dict[str, Any] = {}
    try:
        for round_no in range(1, cfg.rounds + 1):
            elapsed = time.monotonic() - began
            if rounds and elapsed + rounds[-1]["seconds"] > cfg.budget_s:
                stopped_early = f"time budget {cfg.budget_s:.0f} s: {elapsed:.0f} s elapsed"
                break
            state["round"] = round_no
            vectors = data.vectors(cfg.points, seed=round_no)
            bodies = data.upsert_bodies(ids, vectors, round_no)
            load = os.getloadavg()[0]
            started = time.monotonic()
            upsert = put_all(server.port, bodies, cfg.conns)
            deleted: list[int] = []
            if round_no > 1:
                rng = np.random.default_rng(round_no)
                picked = np.sort(rng.choice(cfg.points, cfg.points // 10, replace=False))
                deleted = [int(i) for i in picked]
                delete_ids(client, deleted)
                put_all(
                    server.port,
                    data.upsert_bodies(deleted, vectors[picked], round_no),
                    cfg.conns,
                )
            seconds = time.monotonic() - started
            record = measure_round(client, data_dir, pid, round_no, seconds, load)
            record["upsert_points_per_s"] = upsert["points_per_s"]
            rounds.append(record)
            print_round(record)
            if round_no == 1:
                settled = settle_round_one(cfg, client, data_dir, pid)
        idle_end = settle_end(client, data_dir, pid, len(rounds), 120.0)
    finally:
        poller.stop()
    return {
        "rounds": rounds,
        "round1_settled": settled,
        "idle_end": idle_end,
        "after_compaction": poller.after_compaction,
        "stopped_early": stopped_early,
        "poll_errors": poller.errors[:20],
        "compacting_polls": sum(1 for s in poller.samples if s["compacting"]),
        "polls": len(poller.samples),
        "compaction_bytes_total": metric_values(client, "zoro_compaction_bytes_total"),
        "compactions_total": metric_values(client, "zoro_compactions_total"),
        "compaction_last_seconds": metric_values(client, "zoro_compaction_last_seconds"),
        "seconds": time.monotonic() - began,
    }


def measure_round(
    client: httpx.Client, data_dir: Path, pid: int, round_no: int, seconds: float, load: float
) -> dict[str, Any]:
    info = collection_info(client, NAME)
    disk = disk_usage(data_dir)
    points = info["points_count"]
    index = info["zoro"]["index"]
    return {
        "round": round_no,
        "seconds": seconds,
        "load_1m": load,
        "points": points,
        "disk": disk,
        "disk_per_point": disk["total"] / max(points, 1),
        "memory_kb": memory_kb(pid),
        "status": info["status"],
        "storage": info["zoro"]["storage"],
        "index": {
            k: index.get(k)
            for k in (
                "fresh_points",
                "frozen_points",
                "deleted_points",
                "memory_bytes",
                "job_running",
            )
        }
        | {"sealed": [s.get("points") if isinstance(s, dict) else s for s in index["sealed"]]},
        "checkpoint_lsn": info["zoro"]["checkpoint_lsn"],
        "last_lsn": info["zoro"]["last_lsn"],
    }


def settle_round_one(cfg: Config, client: httpx.Client, data_dir: Path, pid: int) -> dict[str, Any]:
    """Round 1 once indexed and checkpointed: the disk reference (graph files included)."""
    started = time.monotonic()
    wait_indexed(client, NAME, cfg.index_timeout_s)
    checkpointed = wait_checkpointed(client, 60.0)
    record = measure_round(client, data_dir, pid, 1, 0.0, os.getloadavg()[0])
    record["settle_s"] = time.monotonic() - started
    record["checkpointed"] = checkpointed
    print(
        f"  round 1 settled after {record['settle_s']:.0f} s: "
        f"{record['disk_per_point']:,.0f} B/point on disk "
        f"(wal {record['disk']['wal'] / record['points']:,.0f}, "
        f"files {record['disk']['files'] / record['points']:,.0f}, "
        f"ann {record['disk']['ann'] / record['points']:,.0f})",
        flush=True,
    )
    return record


def settle_end(
    client: httpx.Client, data_dir: Path, pid: int, last_round: int, timeout_s: float
) -> dict[str, Any]:
    """After the last round, no writes: wait for the idle checkpoint (10 s) and the automatic
    compaction it may start, then measure once more."""
    started = time.monotonic()
    before = collection_info(client, NAME)["zoro"]["storage"]
    quiet_since: float | None = None
    while time.monotonic() - started < timeout_s:
        zoro = collection_info(client, NAME)["zoro"]
        settled = zoro["checkpoint_lsn"] >= zoro["last_lsn"] and not zoro["storage"]["compacting"]
        if not settled:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= 3.0:  # the trigger runs right after a checkpoint
            break
        time.sleep(0.25)
    time.sleep(1.0)  # the poller's measurement of a compaction that just ended
    record = measure_round(client, data_dir, pid, last_round, 0.0, os.getloadavg()[0])
    record["settle_s"] = time.monotonic() - started
    record["compactions_while_idle"] = record["storage"]["compactions"] - before["compactions"]
    print(
        f"  idle after round {last_round} ({record['settle_s']:.0f} s): "
        f"{record['disk_per_point']:,.0f} B/point on disk, "
        f"{record['compactions_while_idle']} compaction(s) meanwhile",
        flush=True,
    )
    print_round(record)
    return record


def print_round(r: dict[str, Any]) -> None:
    s = r["storage"]
    print(
        f"  round {r['round']:>3} {r['seconds']:6.1f} s  load {r['load_1m']:4.1f}  "
        f"disk {r['disk_per_point']:7,.0f} B/pt (wal {r['disk']['wal'] / 2**20:5.0f} MiB)  "
        f"rss {r['memory_kb']['VmRSS'] / 1024:5.0f} MiB "
        f"(anon {r['memory_kb']['RssAnon'] / 1024:4.0f})  slots {s['slots']:>9,}  "
        f"garbage {s['garbage_slots']:>9,}  gen {s['file_generation']:>3}  "
        f"compactions {s['compactions']:>3}  {r['status']}",
        flush=True,
    )


# ------------------------------------------------------------------------------ phase 2


@dataclass
class WriteRun:
    """The timed write client: single-point PUT ?wait=true at a fixed rate, one connection."""

    label: str
    rate: float
    seconds: float = 0.0
    sent: int = 0
    errors: int = 0
    late: int = 0  # sent after the next one was due (the one before took longer than 1/rate)
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    service_p99_ms: float = 0.0  # from the actual send, not the scheduled one
    service_max_ms: float = 0.0
    load_1m: float = 0.0
    started: float = 0.0  # monotonic
    samples: list[tuple[float, float, float]] = field(default_factory=list)  # (at, sched, serv)

    def finish(self) -> WriteRun:
        from_schedule = sorted(s[1] for s in self.samples)
        service = sorted(s[2] for s in self.samples)
        if from_schedule:
            self.p50_ms = _percentile(from_schedule, 50)
            self.p99_ms = _percentile(from_schedule, 99)
            self.max_ms = from_schedule[-1]
            self.service_p99_ms = _percentile(service, 99)
            self.service_max_ms = service[-1]
        print(
            f"  writes {self.label:<22} {self.sent:5d} at {self.rate:.0f}/s over "
            f"{self.seconds:5.1f} s  p50 {self.p50_ms:6.2f} ms  p99 {self.p99_ms:7.2f} ms  "
            f"max {self.max_ms:7.1f} ms  late {self.late}  errors {self.errors}  "
            f"load {self.load_1m:.2f}",
            flush=True,
        )
        return self


def _percentile(ordered: list[float], q: float) -> float:
    k = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def write_client(
    port: int,
    bodies: list[bytes],
    label: str,
    until: Callable[[float], bool],
    max_s: float,
) -> WriteRun:
    """Send bodies in turn at WRITE_RATE until `until(elapsed)` or max_s; latency of each from
    its scheduled send time."""
    run = WriteRun(label, WRITE_RATE, load_1m=os.getloadavg()[0])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
    path = f"/collections/{NAME}/points?wait=true"
    headers = {"content-type": "application/json"}
    interval = 1.0 / WRITE_RATE
    start = time.monotonic()
    run.started = start
    due = start
    try:
        while True:
            elapsed = time.monotonic() - start
            if elapsed >= max_s or until(elapsed):
                break
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            else:
                run.late += pause < -interval
            sent_at = time.monotonic()
            conn.request("PUT", path, body=bodies[run.sent % len(bodies)], headers=headers)
            response = conn.getresponse()
            response.read()
            answered = time.monotonic()
            run.sent += 1
            if response.status != 200:
                run.errors += 1
            run.samples.append(
                (sent_at - start, (answered - due) * 1e3, (answered - sent_at) * 1e3)
            )
            due += interval
    finally:
        conn.close()
    run.seconds = time.monotonic() - start
    return run.finish()


def single_write_bodies(data: Data, points: int, n: int = 2_000) -> list[bytes]:
    rng = np.random.default_rng(99)
    ids = rng.integers(0, points, size=n)
    vectors = data.vectors(n, seed=-2)
    return [
        orjson.dumps({"points": [{"id": int(i), "vector": v, "payload": {"w": k}}]}, option=NUMPY)
        for k, (i, v) in enumerate(zip(ids, vectors, strict=True))
    ]


@contextlib.contextmanager
def compaction_thread(url: str) -> Iterator[dict[str, Any]]:
    """POST /compact in a thread; the dict gets its answer (or error) and end time."""
    out: dict[str, Any] = {}

    def run() -> None:
        out["started"] = time.monotonic()
        try:
            with httpx.Client(base_url=url, timeout=900) as client:
                response = client.post(f"/collections/{NAME}/compact")
                out["status_code"] = response.status_code
                out["answer"] = response.json()
        except httpx.HTTPError as exc:
            out["error"] = repr(exc)
        out["ended"] = time.monotonic()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield out
    finally:
        thread.join(timeout=900)


def storage_now(client: httpx.Client) -> dict[str, Any]:
    info = collection_info(client, NAME)
    return {"t": time.monotonic(), "status": info["status"], **info["zoro"]["storage"]}


def idle_loads(
    cfg: Config,
    server: ServerProcess,
    poller: Poller,
    root: Path,
    bodies: list[bytes],
    label: str,
    pid: int,
) -> dict[str, Any]:
    t0, cpu0 = time.monotonic(), cpu_ticks(pid)
    search = search_run(server, root, label, cfg.search_s)
    t1, cpu1 = time.monotonic(), cpu_ticks(pid)
    with probes(root, server.port) as probe:
        writes = write_client(server.port, bodies, label, lambda _e: False, cfg.write_s)
    t2 = time.monotonic()
    return {
        "search": asdict(search),
        "search_cpu": cpu_use(cpu0, cpu1, search.ok),
        "search_polls": poller.window(t0, t1),
        "writes": _write_dict(writes, probe),
        "write_polls": poller.window(t1, t2),
    }


def search_run(server: ServerProcess, root: Path, label: str, seconds: float) -> WrkRun:
    return wrk(
        f"search {label}",
        server.url,
        [str(root / "query.txt"), f"/collections/{NAME}/points/query", "POST"],
        SEARCH_CONNS,
        seconds,
    )


def cpu_ticks(pid: int) -> tuple[int, int, int]:
    """(the server's user + system ticks, the machine's busy ticks, all ticks) now."""
    server = round(tree_cpu_s(pid) * CLK_TCK)  # with its worker processes
    cpu = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = cpu[3] + cpu[4]  # idle, iowait
    return server, sum(cpu) - idle, sum(cpu)


def cpu_use(a: tuple[int, int, int], b: tuple[int, int, int], requests: int) -> dict[str, float]:
    """CPU over a window, in cores: the server, everything else on the machine (this script
    and wrk included); and the server's CPU ms per request."""
    ticks = os.sysconf("SC_CLK_TCK")
    cores = os.cpu_count() or 1
    wall = max(b[2] - a[2], 1) / cores  # ticks of one core
    server = (b[0] - a[0]) / wall
    out = {
        "server_cores": server,
        "others_cores": (b[1] - a[1]) / wall - server,
        "server_ms_per_request": (b[0] - a[0]) / ticks * 1e3 / max(requests, 1),
    }
    print(
        f"    cpu: server {out['server_cores']:.2f} cores, the rest of the machine "
        f"{out['others_cores']:.2f} cores, server {out['server_ms_per_request']:.2f} ms/request",
        flush=True,
    )
    return out


def _write_dict(run: WriteRun, probes: dict[str, list[tuple[float, float]]]) -> dict[str, Any]:
    """The write run, its samples (sent at s after its start, ms from the schedule, ms of
    service) and the probes beside it (sent at s after the write run's start, ms)."""
    d = asdict(run)
    d["samples"] = [[round(a, 3), round(b, 2), round(c, 2)] for a, b, c in run.samples]
    for name, samples in probes.items():
        ordered = sorted(ms for _at, ms in samples)
        d[f"{name}_probe"] = {
            "n": len(ordered),
            "p50_ms": _percentile(ordered, 50) if ordered else None,
            "p99_ms": _percentile(ordered, 99) if ordered else None,
            "max_ms": ordered[-1] if ordered else None,
            "samples": [[round(at - run.started, 3), round(ms, 2)] for at, ms in samples],
        }
        if ordered:
            print(
                f"    {name} probe beside it: n {len(ordered)}  p50 "
                f"{_percentile(ordered, 50):.2f} ms  p99 {_percentile(ordered, 99):.2f} ms  "
                f"max {ordered[-1]:.2f} ms",
                flush=True,
            )
    return d


@contextlib.contextmanager
def probes(root: Path, port: int) -> Iterator[dict[str, list[tuple[float, float]]]]:
    """Two probes in threads beside a write window, each sample (monotonic send time, ms):
    fsync, a 4 KiB append + fdatasync every 1/FSYNC_PROBE_RATE s on the data's file system
    (the disk's own sync latency), and healthz, GET /healthz every 1/HEALTHZ_PROBE_RATE s on its
    own connection (the server's event loop, no disk)."""
    out: dict[str, list[tuple[float, float]]] = {"fsync": [], "healthz": []}
    stop = threading.Event()

    def fsync() -> None:
        fd = os.open(root / "fsync-probe", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        block = b"\0" * 4096
        try:
            while not stop.wait(1.0 / FSYNC_PROBE_RATE):
                began = time.monotonic()
                os.write(fd, block)
                os.fdatasync(fd)
                out["fsync"].append((began, (time.monotonic() - began) * 1e3))
        finally:
            os.close(fd)

    def healthz() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
        try:
            while not stop.wait(1.0 / HEALTHZ_PROBE_RATE):
                began = time.monotonic()
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                out["healthz"].append((began, (time.monotonic() - began) * 1e3))
        finally:
            conn.close()

    threads = [threading.Thread(target=f, daemon=True) for f in (fsync, healthz)]
    for thread in threads:
        thread.start()
    try:
        yield out
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)


def under_compaction(
    cfg: Config, data: Data, root: Path, data_dir: Path, churned: dict[str, Any]
) -> dict[str, Any]:
    # pace the copy so that it lasts the search window, the write window and some margin
    per_compaction = churned["compaction_bytes_total"] / max(churned["compactions_total"], 1)
    wanted_bytes = per_compaction or 600.0 * cfg.points  # ~600 B/point when none ran
    target_s = cfg.search_s + cfg.write_s + 10.0
    pace = max(wanted_bytes / target_s, 64 * 1024)
    extra = (
        "--set",
        f"storage.compaction_bytes_per_s={pace:.0f}",
        "--set",
        "storage.compaction_garbage_ratio=0",
    )
    data.query_file(root / "query.txt")
    bodies = single_write_bodies(data, cfg.points)
    result: dict[str, Any] = {
        "pace_bytes_per_s": pace,
        "expected_copy_bytes": wanted_bytes,
        "target_s": target_s,
        "server_args": list(extra),
    }
    log = root / "server-paced.log"
    with ServerProcess(data_dir, extra_args=extra, log_path=log) as server:
        server.wait_ready(timeout_s=300)
        client = httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT_S)
        started = time.monotonic()
        wait_indexed(client, NAME, cfg.index_timeout_s)
        result["index_wait_s"] = time.monotonic() - started
        result["storage_before"] = storage_now(client)
        print(f"  paced server indexed after {result['index_wait_s']:.0f} s", flush=True)
        assert server.process is not None
        pid = server.process.pid
        poller = Poller(server.url, data_dir, lambda: 0).start()
        cycles: list[dict[str, Any]] = []
        try:
            for cycle in range(1, cfg.cycles + 2):
                if cycle > 1:
                    started = time.monotonic()
                    wait_indexed(client, NAME, min(cfg.index_timeout_s, 600.0))
                    print(f"  indexed again after {time.monotonic() - started:.0f} s", flush=True)
                idle = idle_loads(cfg, server, poller, root, bodies, f"idle {cycle}", pid)
                if cycle > cfg.cycles:  # the idle loads after the last compaction
                    cycles.append({"idle": idle})
                    break
                busy = compacting_loads(cfg, server, client, poller, root, bodies, pid)
                cycles.append({"idle": idle, "compacting": busy})
        except RuntimeError as exc:
            result["error"] = str(exc)
            print(f"  stopped: {exc}", flush=True)
        finally:
            poller.stop()
        result["cycles"] = cycles
        result["after_compaction"] = poller.after_compaction
        result["storage_after"] = storage_now(client)
        client.close()
    result["server_log_problems"] = log_problems(log)
    return result


def compacting_loads(
    cfg: Config,
    server: ServerProcess,
    client: httpx.Client,
    poller: Poller,
    root: Path,
    bodies: list[bytes],
    pid: int,
) -> dict[str, Any]:
    """POST /compact in a thread; wrk while it copies, then the timed writes until it answers."""
    with compaction_thread(server.url) as compaction:
        deadline = time.monotonic() + 30
        before = storage_now(client)
        while not before["compacting"] and time.monotonic() < deadline:
            if "ended" in compaction:
                break
            time.sleep(0.05)
            before = storage_now(client)
        t0, cpu0 = time.monotonic(), cpu_ticks(pid)
        search = search_run(server, root, "compacting", cfg.search_s)
        t1, cpu1 = time.monotonic(), cpu_ticks(pid)
        after = storage_now(client)
        covered = bool(
            before["compacting"]
            and after["compacting"]
            and before["compactions"] == after["compactions"]
        )
        with probes(root, server.port) as probe:
            writes = write_client(
                server.port,
                bodies,
                "compacting",
                lambda _e: "ended" in compaction,
                cfg.search_s + cfg.write_s + 600.0,
            )
        t2 = time.monotonic()
    write_end = storage_now(client)
    out: dict[str, Any] = {
        "search": asdict(search),
        "search_cpu": cpu_use(cpu0, cpu1, search.ok),
        "search_window": {"before": before, "after": after, "covered": covered},
        "search_polls": poller.window(t0, t1),
        "writes": _write_dict(writes, probe),
        "write_polls": poller.window(t1, t2),
        "write_window": {
            "start": after,
            "end": write_end,
            "started_while_compacting": bool(after["compacting"]),
            "switch_included": write_end["compactions"] > after["compactions"],
        },
        "compaction": {k: v for k, v in compaction.items() if k not in ("started", "ended")}
        | {"wall_s": compaction.get("ended", 0) - compaction.get("started", 0)},
    }
    # the writes of the copy alone: those sent before the last 2 s, where the switch falls
    copy_only = sorted(s[1] for s in writes.samples if s[0] < writes.seconds - SWITCH_S)
    switch = sorted(s[1] for s in writes.samples if s[0] >= writes.seconds - SWITCH_S)
    if copy_only:
        out["writes_copy_only_p99_ms"] = _percentile(copy_only, 99)
        out["writes_copy_only_n"] = len(copy_only)
    if switch:
        out["writes_last_2s_p99_ms"] = _percentile(switch, 99)
        out["writes_last_2s_max_ms"] = switch[-1]
        out["writes_last_2s_over_20ms"] = sum(1 for x in switch if x > 20)
    print(
        f"  compaction answered: {out['compaction']}, search window covered: {covered}",
        flush=True,
    )
    return out


def log_problems(path: Path) -> list[str]:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return []
    return [line[:300] for line in lines if re.search(r"ERROR|Traceback|WARNING|Exception", line)][
        :40
    ]


# ------------------------------------------------------------------------------ verdicts


@dataclass
class Verdict:
    figure: str
    value: str
    reference: str
    ratio: float
    goal: str
    met: bool
    note: str = ""


def verdicts(r: dict[str, Any]) -> list[Verdict]:
    out: list[Verdict] = []
    ch = r["churn"]
    rounds = ch["rounds"]
    settled = ch["round1_settled"] or rounds[0]
    ref_disk = settled["disk_per_point"]
    after = ch["after_compaction"]
    if after:
        last = after[-1]
        ratio = last["disk_per_point"] / ref_disk
        out.append(
            Verdict(
                "disk per live point after the last compaction",
                f"{last['disk_per_point']:,.0f} B (round {last['round']}, gen "
                f"{last['generation']})",
                f"round 1 settled {ref_disk:,.0f} B",
                ratio,
                "<= 1.5x",
                ratio <= 1.5,
                f"round 1 right after its load {rounds[0]['disk_per_point']:,.0f} B; "
                f"last round's end {rounds[-1]['disk_per_point']:,.0f} B; {len(after)} "
                f"compaction(s) measured, the largest after one "
                f"{max(a['disk_per_point'] for a in after):,.0f} B; per point, last: "
                f"{_parts(last)}; round 1 settled: {_parts(settled)}",
            )
        )
    else:
        out.append(
            Verdict(
                "disk per live point after the last compaction",
                "no compaction ran",
                f"round 1 settled {ref_disk:,.0f} B",
                float("nan"),
                "<= 1.5x",
                False,
            )
        )
    ref_round = min(5, len(rounds))
    rss_ref = rounds[ref_round - 1]["memory_kb"]["VmRSS"]
    rss_last = rounds[-1]["memory_kb"]["VmRSS"]
    ratio = rss_last / rss_ref
    band = [x["memory_kb"]["VmRSS"] for x in rounds[ref_round - 1 :]]
    slope = 0.0
    if len(band) > 1:
        slope = float(np.polyfit(np.arange(len(band)), np.array(band) / 1024, 1)[0])
    out.append(
        Verdict(
            f"server RSS at the last round ({rounds[-1]['round']})",
            f"{rss_last / 1024:,.0f} MiB",
            f"round {ref_round} {rss_ref / 1024:,.0f} MiB",
            ratio,
            "<= 1.2x",
            ratio <= 1.2,
            f"from round {ref_round} on: min {min(band) / 1024:,.0f} MiB, max "
            f"{max(band) / 1024:,.0f} MiB ({max(band) / rss_ref:.2f}x), least-squares slope "
            f"{slope:+.1f} MiB/round; anonymous at the last round "
            f"{rounds[-1]['memory_kb']['RssAnon'] / 1024:,.0f} MiB (round {ref_round} "
            f"{rounds[ref_round - 1]['memory_kb']['RssAnon'] / 1024:,.0f}); VmHWM "
            f"{rounds[-1]['memory_kb']['VmHWM'] / 1024:,.0f} MiB",
        )
    )
    out += load_verdicts(r["compaction_load"]["cycles"])
    return out


def load_verdicts(cycles: list[dict[str, Any]]) -> list[Verdict]:
    """Search QPS: per compaction, its QPS over the mean of the idle runs before and after it,
    the median over compactions. Write p99: all timed writes during compactions pooled, over
    all idle ones pooled."""
    busy = [c for c in cycles if "compacting" in c]
    if not busy:
        return [Verdict("compaction under load", "not measured", "-", float("nan"), "-", False)]
    bracketed, plain = [], []
    for i, c in enumerate(busy):
        before = c["idle"]["search"]["rps"]
        after = cycles[i + 1]["idle"]["search"]["rps"] if i + 1 < len(cycles) else before
        qps = c["compacting"]["search"]["rps"]
        bracketed.append(qps / ((before + after) / 2))
        plain.append(qps / before)
    covered = all(c["compacting"]["search_window"]["covered"] for c in busy)
    ratio = float(np.median(bracketed))
    busy_qps = [c["compacting"]["search"]["rps"] for c in busy]
    idle_qps = [c["idle"]["search"]["rps"] for c in cycles]
    cpu = [c["compacting"]["search_cpu"]["server_ms_per_request"] for c in busy]
    idle_cpu = [c["idle"]["search_cpu"]["server_ms_per_request"] for c in cycles]
    others = [c["compacting"]["search_cpu"]["others_cores"] for c in busy]
    idle_others = [c["idle"]["search_cpu"]["others_cores"] for c in cycles]
    out = [
        Verdict(
            f"search QPS while compacting, wrk {SEARCH_CONNS} conns ({len(busy)} compactions)",
            "QPS " + " / ".join(f"{x:,.0f}" for x in busy_qps),
            "idle " + " / ".join(f"{x:,.0f}" for x in idle_qps),
            ratio,
            ">= 0.7x",
            ratio >= 0.7 and covered,
            "median of QPS / mean(idle before, idle after): "
            + ", ".join(f"{x:.2f}" for x in bracketed)
            + f" (over idle before alone: {', '.join(f'{x:.2f}' for x in plain)}); compaction"
            f" ran each whole window: {covered}; server CPU ms/query compacting "
            f"{', '.join(f'{x:.2f}' for x in cpu)}, idle {', '.join(f'{x:.2f}' for x in idle_cpu)}"
            f"; other processes' cores compacting {', '.join(f'{x:.2f}' for x in others)}, idle "
            f"{', '.join(f'{x:.2f}' for x in idle_others)}",
        )
    ]
    busy_w = sorted(x[1] for c in busy for x in c["compacting"]["writes"]["samples"])
    idle_w = sorted(x[1] for c in cycles for x in c["idle"]["writes"]["samples"])
    copy_w = sorted(
        x[1]
        for c in busy
        for x in c["compacting"]["writes"]["samples"]
        if x[0] < c["compacting"]["writes"]["seconds"] - SWITCH_S
    )
    probe = {
        (name, kind): sorted(
            x[1]
            for c in (busy if kind == "compacting" else cycles)
            for x in (c["compacting"] if kind == "compacting" else c["idle"])["writes"][
                f"{name}_probe"
            ]["samples"]
        )
        for name in ("fsync", "healthz")
        for kind in ("idle", "compacting")
    }

    def p99(values: list[float]) -> float:
        return _percentile(values, 99) if values else float("nan")

    ratio = p99(busy_w) / p99(idle_w)
    started = all(c["compacting"]["write_window"]["started_while_compacting"] for c in busy)
    switch = all(c["compacting"]["write_window"]["switch_included"] for c in busy)
    out.append(
        Verdict(
            f"write p99 while compacting, 1-point PUT wait=true at {WRITE_RATE:.0f}/s",
            f"{p99(busy_w):.1f} ms (max {busy_w[-1]:.0f} ms, n {len(busy_w)})",
            f"idle {p99(idle_w):.1f} ms (max {idle_w[-1]:.0f} ms, n {len(idle_w)})",
            ratio,
            "<= 2x",
            ratio <= 2.0 and started,
            f"latency from each write's scheduled send; switches included: {switch}; the copy "
            f"alone (before each compaction's last {SWITCH_S:.0f} s) p99 {p99(copy_w):.1f} ms "
            f"({p99(copy_w) / p99(idle_w):.2f}x); last {SWITCH_S:.0f} s max "
            + ", ".join(f"{c['compacting'].get('writes_last_2s_max_ms', 0):.0f}" for c in busy)
            + f" ms; raw fsync probe p99 idle {p99(probe['fsync', 'idle']):.1f} ms, compacting "
            f"{p99(probe['fsync', 'compacting']):.1f} ms; /healthz probe p99 idle "
            f"{p99(probe['healthz', 'idle']):.1f} ms, compacting "
            f"{p99(probe['healthz', 'compacting']):.1f} ms",
        )
    )
    return out


def _parts(record: dict[str, Any]) -> str:
    points = max(record["points"], 1)
    return ", ".join(
        f"{k} {v / points:,.0f}" for k, v in record["disk"].items() if k != "total" and v
    )


def _share(window: dict[str, Any]) -> str:
    return f"{window['job_running_polls']}/{window['polls']}"


def print_report(r: dict[str, Any], table: list[Verdict]) -> None:
    ch = r["churn"]
    rounds = ch["rounds"]
    print()
    print(
        f"churn: {len(rounds)} rounds of {r['config']['points']:,} points in "
        f"{ch['seconds']:.0f} s; compactions {ch['compactions_total']:.0f}, "
        f"generation {ch['idle_end']['storage']['file_generation']}; "
        f"stopped early: {ch['stopped_early']}"
    )
    print()
    print(f"{'figure':<58} {'value':<34} {'reference':<30} {'ratio':>6}  goal     verdict")
    for v in table:
        print(
            f"{v.figure:<58} {v.value:<34} {v.reference:<30} {v.ratio:6.2f}  {v.goal:<8} "
            f"{'MET' if v.met else 'MISSED'}"
        )
        if v.note:
            print(f"{'':<58} {v.note}")
    print(f"load average at the end: {os.getloadavg()}")


# ------------------------------------------------------------------------------ main


def run(cfg: Config, root: Path) -> dict[str, Any]:
    result: dict[str, Any] = {"machine": machine_info(), "config": asdict(cfg)}
    data = Data(cfg.points)
    data_dir = root / "data"
    log = root / "server-churn.log"
    with ServerProcess(data_dir, log_path=log) as server:
        client = httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT_S)
        create_collection(client, NAME)
        result["churn"] = churn(cfg, data, server, client, data_dir)
        client.close()
        assert server.process is not None
        result["churn"]["server_children"] = _children(server.process.pid)
    result["churn"]["server_log_problems"] = log_problems(log)
    result["compaction_load"] = under_compaction(cfg, data, root, data_dir, result["churn"])
    result["load_at_end"] = os.getloadavg()
    return result


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    with contextlib.suppress(OSError):
        return [int(x) for x in path.read_text().split()]
    return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20,000 points, 8 rounds")
    parser.add_argument("--points", type=int)
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--conns", type=int, default=2)
    parser.add_argument("--cycles", type=int, help="compactions under load (3; 2 with --quick)")
    parser.add_argument("--budget-min", type=float, help="time for the churn rounds")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument("--dir", type=Path, help="parent of the scratch directory")
    args = parser.parse_args()
    quick = bool(args.quick)
    cfg = Config(
        points=args.points or (20_000 if quick else 100_000),
        rounds=args.rounds or (8 if quick else 50),
        conns=args.conns,
        budget_s=60 * (args.budget_min or (10.0 if quick else 28.0)),
        search_s=5.0 if quick else 8.0,
        cycles=args.cycles or (2 if quick else 3),
        write_s=8.0 if quick else 12.0,
        index_timeout_s=300.0 if quick else 900.0,
        quick=quick,
    )
    started = time.monotonic()
    result = in_scratch("zoro-churn-", lambda root: run(cfg, root), keep=args.keep, parent=args.dir)
    table = verdicts(result)
    result["verdicts"] = [asdict(v) for v in table]
    result["wall_s"] = time.monotonic() - started
    print_report(result, table)
    path = args.json or Path(__file__).parent / "results" / (
        "churn-quick.json" if quick else "churn.json"
    )
    write_json(path, without_samples(result))
    print(f"results: {path}; wall {result['wall_s']:.0f} s")


def without_samples(value: Any) -> Any:
    """The results without the per-write samples (thousands of them: the verdicts and the
    percentiles beside them are what the JSON keeps)."""
    if isinstance(value, dict):
        return {k: without_samples(v) for k, v in value.items() if k != "samples"}
    if isinstance(value, list):
        return [without_samples(v) for v in value]
    return value


if __name__ == "__main__":
    main()
