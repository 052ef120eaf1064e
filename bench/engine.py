"""Engine figures: the CollectionManager end to end, each figure beside its reference from this run.

    .venv/bin/python -m bench.engine [--quick] [--json bench/results/engine.json] [--dir DIR]
                                     [--sections gc,ingest,search]

Everything runs through `zoro.actors.CollectionManager` with default `Settings()`, in a temporary
data directory on the disk under test (default: under the current directory, since /tmp may be a
tmpfs). Vectors are 128-dim float32, Euclid, so the FAISS references are plain L2 indexes.

1. Group commit: 1, 16, 256 and 1,024 trio tasks, each upserting one point per `actor.write`,
   into a fresh *flat* collection per level (flat, so that background HNSW builds do not share the
   figure; part 2 measures those). Acknowledged writes/s, writes per WAL sync, p50/p99 latency,
   against the disk's serial fsync rate (4 KiB append + fdatasync) measured just before each level.
   Goals at 256 writers: >= 50 writes per sync and >= 10x the serial fsync rate.
2. Durable ingest: one client writing batches of 1,000 points (one `actor.write` each) into an
   HNSW collection, points/s until the last acknowledgement, against raw FAISS
   IndexHNSWFlat(M=16, efConstruction=100).add on the same vectors (2 OpenMP threads on all of
   them; 1 thread on a prefix, the engine's `build_threads`). Goals: >= 10x raw HNSW insertion and
   >= 50,000 points/s. Then how long the background indexer takes to seal everything (no frozen
   points, fresh below `fresh_segment_max_points`) and to go quiet (merges done), as points/s.
   The same ingest into a flat collection gives the write path without HNSW builds beside it.
3. Search, on those two collections once quiet (clustered data: 1,000 gaussian centres + noise):
   single queries from 16 concurrent trio tasks (`actor.search`, inline) and batches of 100
   (`actor.search`, which the planner sends to a worker thread), QPS and recall@10 against
   exact ground truth, beside raw FAISS
   IndexFlatL2 / IndexHNSWFlat on the same data with the same efSearch (single queries with one
   OpenMP thread, as the engine runs them; batches with the default threads). Goals: engine >=
   0.8x raw for batches, >= 0.6x for single queries, HNSW recall@10 >= 0.95 (if the default ef
   misses it, the smallest ef that reaches it is found and measured too).
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import faiss
import numpy as np
import numpy.typing as npt
import trio

from bench.durable_core import raw_fsync_rate
from bench.scratch import write_json
from zoro.actors import CollectionManager
from zoro.errors import Overloaded
from zoro.settings import Settings
from zoro.types import Distance, UpsertBatch, VectorConfig, ids_of, int_keys

if TYPE_CHECKING:
    from collections.abc import Iterator

    from zoro.actors.actor import CollectionActor

DIM: Final = 128
K: Final = 10
BATCH: Final = 1_000  # points per write in the ingest
SEARCH_BATCH: Final = 100
SEARCH_TASKS: Final = 16
HNSW_M: Final = 16
HNSW_EF_CONSTRUCT: Final = 100
EF_CANDIDATES: Final = (64, 96, 128, 192, 256, 384, 512)
RECALL_GOAL: Final = 0.95
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Plan:
    writers: tuple[int, ...]
    gc_seconds: float
    fsync_seconds: float
    points: int
    queries: int
    hnsw_single_queries: int
    flat_single_queries: int
    batch_rounds: int
    raw_1t_prefix: int
    index_timeout_s: float


FULL: Final = Plan((1, 16, 256, 1024), 5.0, 2.0, 200_000, 1_000, 3_000, 200, 3, 50_000, 900.0)
QUICK: Final = Plan((1, 16, 256, 1024), 1.5, 0.5, 50_000, 1_000, 1_000, 100, 1, 20_000, 300.0)


# ---------------------------------------------------------------------------------- data


def clustered(n: int, *, seed: int, centres: int = 1_000, noise: float = 0.3) -> F32:
    """Gaussian blobs: a fixed set of centres (same for points and queries) + isotropic noise."""
    space = np.random.default_rng(2024)
    middle = space.standard_normal((centres, DIM), dtype=np.float32)
    rng = np.random.default_rng(seed)
    x = middle[rng.integers(0, centres, n)]
    x += noise * rng.standard_normal((n, DIM), dtype=np.float32)
    return np.ascontiguousarray(x, dtype=np.float32)


def ingest_ops(x: F32) -> list[UpsertBatch]:
    """The ingest's writes, built before the clock starts: ids are row numbers."""
    keys = int_keys(np.arange(len(x), dtype=np.uint64))
    payloads = [b'{"i":%d}' % i for i in range(len(x))]
    return [
        UpsertBatch(keys[i : i + BATCH], x[i : i + BATCH], payloads[i : i + BATCH])
        for i in range(0, len(x), BATCH)
    ]


class PointPool:
    """One-point upserts with distinct ids, cut from preallocated arrays (no per-write numpy
    construction beyond two slices, so the writers measure the engine, not themselves)."""

    def __init__(self, size: int, seed: int) -> None:
        self.keys = int_keys(np.arange(size, dtype=np.uint64))
        self.vectors = np.random.default_rng(seed).standard_normal((4096, DIM), dtype=np.float32)

    def one(self, i: int) -> UpsertBatch:
        j, v = i % len(self.keys), i % len(self.vectors)
        return UpsertBatch(self.keys[j : j + 1], self.vectors[v : v + 1], [b'{"w":1}'])


def recall(found: I64, truth: I64) -> float:
    hits = sum(len(set(a.tolist()) & set(b.tolist())) for a, b in zip(found, truth, strict=True))
    return hits / truth.size


# ---------------------------------------------------------------------------------- machine


def filesystem_of(path: Path) -> str:
    """The mount (device, type) holding `path`: proves the data dir is not a tmpfs."""
    best, found = "", "unknown"
    resolved = str(path.resolve())
    for line in Path("/proc/mounts").read_text().splitlines():
        device, mount, kind = line.split()[:3]
        inside = resolved == mount or resolved.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best):
            best, found = mount, f"{device} {kind} on {mount}"
    return found


def machine(data_dir: Path) -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "faiss": faiss.__version__,
        "trio": trio.__version__,
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "filesystem": filesystem_of(data_dir),
    }


def load() -> tuple[float, float, float]:
    return os.getloadavg()


@contextmanager
def omp_threads(n: int) -> Iterator[None]:
    """FAISS with `n` OpenMP threads inside the block (this thread), all cores after it."""
    faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(os.cpu_count() or 1)


# ---------------------------------------------------------------------------------- 1. group commit


async def group_commit_level(
    manager: CollectionManager, writers: int, seconds: float, pool: PointPool
) -> dict[str, Any]:
    name = f"gc_{writers}"
    await manager.create(name, VectorConfig.single(DIM, Distance.EUCLID), {"kind": "flat"})
    actor = manager.serving(name)
    await actor.write(pool.one(0))  # the first append syncs the WAL directory too: keep it out
    before = actor.statistics()
    ids = itertools.count(1)
    latencies: list[float] = []
    rejected = 0
    started = time.perf_counter()
    deadline = started + seconds

    async def writer() -> None:
        nonlocal rejected
        while time.perf_counter() < deadline:
            op = pool.one(next(ids))
            sent = time.perf_counter()
            try:
                await actor.write(op)
            except Overloaded:
                rejected += 1
                await trio.sleep(0.001)
                continue
            latencies.append(time.perf_counter() - sent)

    async with trio.open_nursery() as nursery:
        for _ in range(writers):
            nursery.start_soon(writer)
    elapsed = time.perf_counter() - started
    after = actor.statistics()
    syncs = after.wal_syncs - before.wal_syncs
    records = after.wal_records - before.wal_records
    lat = np.asarray(latencies) * 1e3
    return {
        "writers": writers,
        "acked": len(latencies),
        "rejected_overloaded": rejected,
        "writes_per_s": len(latencies) / elapsed,
        "wal_syncs": syncs,
        "writes_per_sync": records / max(syncs, 1),
        "p50_ms": float(np.percentile(lat, 50)),
        "p99_ms": float(np.percentile(lat, 99)),
        "load": load(),
    }


async def group_commit(manager: CollectionManager, data_dir: Path, plan: Plan) -> list[Any]:
    """Each level right after its own serial fsync reference: this disk's fsync rate swings
    several-fold within minutes when other work shares it, so a single reference would not do."""
    pool = PointPool(2_000_000, seed=7)
    levels = []
    for writers in plan.writers:
        fsync = await trio.to_thread.run_sync(raw_fsync_rate, data_dir, plan.fsync_seconds)
        level = await group_commit_level(manager, writers, plan.gc_seconds, pool)
        level["serial_fsync_per_s"] = fsync["syncs_per_s"]
        level["x_serial_fsync"] = level["writes_per_s"] / fsync["syncs_per_s"]
        levels.append(level)
    return levels


# ---------------------------------------------------------------------------------- 2. ingest


def raw_hnsw_build(x: F32, threads: int) -> tuple[faiss.IndexHNSWFlat, float]:
    index = faiss.IndexHNSWFlat(DIM, HNSW_M)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCT
    with omp_threads(threads):
        started = time.perf_counter()
        index.add(x)
        return index, len(x) / (time.perf_counter() - started)


async def write_all(actor: CollectionActor, ops: list[UpsertBatch]) -> float:
    """One client, one write at a time; seconds until the last acknowledgement."""
    started = time.perf_counter()
    for op in ops:
        await actor.write(op)
    return time.perf_counter() - started


def indexed_state(actor: CollectionActor, threshold: int) -> tuple[bool, bool]:
    """(sealed, quiet): nothing frozen and the fresh segment below the seal threshold; and
    no build or merge running either (the builder takes the next job as it installs one)."""
    stats = actor.statistics().indexed
    sealed = stats["frozen_points"] == 0 and stats["fresh_points"] < threshold
    return sealed, sealed and not stats["job_running"]


async def wait_indexed(
    actor: CollectionActor, threshold: int, started: float, timeout_s: float
) -> dict[str, float | None]:
    """Seconds from `started` until sealed and until quiet (None if the timeout came first)."""
    sealed_at: float | None = None
    quiet_at: float | None = None
    while time.perf_counter() - started < timeout_s:
        sealed, quiet = indexed_state(actor, threshold)
        now = time.perf_counter() - started
        if sealed and sealed_at is None:
            sealed_at = now
        if quiet:
            quiet_at = now
            break
        await trio.sleep(0.05)
    return {"sealed_s": sealed_at, "quiet_s": quiet_at}


def layout(actor: CollectionActor) -> dict[str, Any]:
    stats = actor.statistics().indexed
    return {
        "fresh_points": stats["fresh_points"],
        "frozen_points": stats["frozen_points"],
        "sealed": [(s["kind"], s["points"]) for s in stats["sealed"]],
        "jobs_built": stats["jobs_built"],
    }


async def ingest_collection(
    manager: CollectionManager, name: str, kind: str, x: F32, plan: Plan, settings: Settings
) -> dict[str, Any]:
    await manager.create(name, VectorConfig.single(DIM, Distance.EUCLID), {"kind": kind})
    actor = manager.serving(name)
    ops = ingest_ops(x)
    before = actor.statistics()
    started = time.perf_counter()
    ack_s = await write_all(actor, ops)
    after = actor.statistics()
    waited = await wait_indexed(
        actor, settings.ann.fresh_segment_max_points, started, plan.index_timeout_s
    )
    shape = layout(actor)
    sealed_points = sum(points for _, points in shape["sealed"])
    result: dict[str, Any] = {
        "kind": kind,
        "points": len(x),
        "ack_s": ack_s,
        "points_per_s": len(x) / ack_s,
        "wal_syncs": after.wal_syncs - before.wal_syncs,
        **waited,
        "layout": shape,
        "load": load(),
    }
    if waited["sealed_s"]:
        result["sealed_points_per_s"] = sealed_points / waited["sealed_s"]
    return result


# ---------------------------------------------------------------------------------- 3. search


def raw_singles(index: faiss.Index, q: F32, n: int) -> tuple[float, I64]:
    """One search() call per query, one OpenMP thread (as the engine runs inline queries)."""
    labels = np.empty((n, K), dtype=np.int64)
    with omp_threads(1):
        started = time.perf_counter()
        for i in range(n):
            labels[i] = index.search(q[i % len(q)][None], K)[1][0]
        elapsed = time.perf_counter() - started
    return n / elapsed, labels[: len(q)]


def raw_batches(index: faiss.Index, q: F32, rounds: int, threads: int) -> tuple[float, I64]:
    labels = np.empty((len(q), K), dtype=np.int64)
    with omp_threads(threads):
        started = time.perf_counter()
        for _ in range(rounds):
            for b in range(0, len(q), SEARCH_BATCH):
                labels[b : b + SEARCH_BATCH] = index.search(q[b : b + SEARCH_BATCH], K)[1]
        elapsed = time.perf_counter() - started
    return rounds * len(q) / elapsed, labels


def ids_of_slots(actor: CollectionActor, slots: I64) -> I64:
    """Point ids (= row numbers of the data) for engine slots; -1 stays -1."""
    out = np.full(slots.shape, -1, dtype=np.int64)
    found = slots >= 0
    keys = actor.keys_of_slots(slots[found])
    out[found] = np.asarray(ids_of(keys), dtype=np.int64)
    return out


def padded(rows: list[I64]) -> I64:
    out = np.full((len(rows), K), -1, dtype=np.int64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


async def engine_singles(
    actor: CollectionActor, q: F32, n: int, ef: int | None
) -> tuple[float, I64]:
    """n single queries from SEARCH_TASKS concurrent tasks, each yielding between queries the
    way a request handler would; returns QPS and the ids found for the first len(q) queries."""
    rows: list[I64] = [np.empty(0, dtype=np.int64)] * n
    todo = iter(range(n))

    async def client() -> None:
        for i in todo:  # shared: each task takes the next query
            rows[i] = (await actor.search(q[i % len(q)][None], K, ef=ef)).slots[0]
            await trio.lowlevel.checkpoint()

    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(SEARCH_TASKS):
            nursery.start_soon(client)
    qps = n / (time.perf_counter() - started)
    return qps, ids_of_slots(actor, padded(rows[: len(q)]))


async def engine_batches(
    actor: CollectionActor, q: F32, rounds: int, ef: int | None
) -> tuple[float, I64]:
    rows: list[I64] = []
    started = time.perf_counter()
    for r in range(rounds):
        for b in range(0, len(q), SEARCH_BATCH):
            hits = await actor.search(q[b : b + SEARCH_BATCH], K, ef=ef)
            if r == 0:
                rows.extend(hits.slots)
    qps = rounds * len(q) / (time.perf_counter() - started)
    return qps, ids_of_slots(actor, padded(rows))


async def compare(
    actor: CollectionActor,
    raw: faiss.Index,
    q: F32,
    truth: I64,
    singles: int,
    rounds: int,
    ef: int | None,
) -> dict[str, Any]:
    """Engine and raw FAISS side by side: single-query and batch QPS, recall@10.

    Raw FAISS runs on this thread, blocking the event loop on purpose: the actors are idle, and
    that is where the engine runs its own inline searches."""
    out: dict[str, Any] = {"ef": ef, "load": load()}
    out["raw_single_qps"], raw_single = raw_singles(raw, q, singles)
    out["engine_single_qps"], engine_single = await engine_singles(actor, q, singles, ef)
    # Two OpenMP threads lose to one when another process holds a core (barrier waits), so the
    # reference is the better of the two, measured now.
    out["raw_batch_qps_1t"], raw_batch = raw_batches(raw, q, rounds, 1)
    out["raw_batch_qps_2t"], _ = raw_batches(raw, q, rounds, 2)
    out["raw_batch_qps"] = max(out["raw_batch_qps_1t"], out["raw_batch_qps_2t"])
    out["engine_batch_qps"], engine_batch = await engine_batches(actor, q, rounds, ef)
    out["single_ratio"] = out["engine_single_qps"] / out["raw_single_qps"]
    out["batch_ratio"] = out["engine_batch_qps"] / out["raw_batch_qps"]
    n = min(singles, len(q))
    out["raw_recall"] = recall(raw_batch, truth)
    out["engine_recall"] = recall(engine_batch, truth)
    out["raw_single_recall"] = recall(raw_single[:n], truth[:n])
    out["engine_single_recall"] = recall(engine_single[:n], truth[:n])
    return out


async def ef_for_recall(
    actor: CollectionActor, raw: faiss.IndexHNSWFlat, q: F32, truth: I64
) -> dict[str, Any]:
    """The smallest candidate ef whose engine recall@10 reaches the goal (batch searches)."""
    sweep: list[dict[str, float]] = []
    for ef in EF_CANDIDATES:
        _, found = await engine_batches(actor, q, 1, ef)
        raw.hnsw.efSearch = ef
        row = {"ef": ef, "engine_recall": recall(found, truth)}
        row["raw_recall"] = recall(raw.search(q, K)[1], truth)
        sweep.append(row)
        if row["engine_recall"] >= RECALL_GOAL:
            break
    reached = sweep[-1]["engine_recall"] >= RECALL_GOAL
    return {"sweep": sweep, "ef": int(sweep[-1]["ef"]), "reached": reached}


async def search(
    hnsw_actor: CollectionActor,
    flat_actor: CollectionActor,
    raw_hnsw: faiss.IndexHNSWFlat,
    x: F32,
    plan: Plan,
    settings: Settings,
) -> dict[str, Any]:
    q = clustered(plan.queries, seed=99)
    raw_flat = faiss.IndexFlatL2(DIM)
    raw_flat.add(x)
    truth = np.asarray(raw_flat.search(q, K)[1], dtype=np.int64)
    out: dict[str, Any] = {"queries": len(q)}
    out["flat"] = await compare(
        flat_actor, raw_flat, q, truth, plan.flat_single_queries, plan.batch_rounds, None
    )
    default_ef = settings.ann.hnsw_ef_search
    raw_hnsw.hnsw.efSearch = default_ef
    out["hnsw"] = await compare(
        hnsw_actor, raw_hnsw, q, truth, plan.hnsw_single_queries, plan.batch_rounds, default_ef
    )
    if out["hnsw"]["engine_recall"] < RECALL_GOAL:
        out["ef_search"] = await ef_for_recall(hnsw_actor, raw_hnsw, q, truth)
        ef = out["ef_search"]["ef"]
        raw_hnsw.hnsw.efSearch = ef
        out["hnsw_at_goal_ef"] = await compare(
            hnsw_actor, raw_hnsw, q, truth, plan.hnsw_single_queries, plan.batch_rounds, ef
        )
    return out


# ---------------------------------------------------------------------------------- the run


async def data_sections(
    manager: CollectionManager, plan: Plan, settings: Settings, run_search: bool
) -> dict[str, Any]:
    x = clustered(plan.points, seed=1)
    out: dict[str, Any] = {"load_start": load()}
    raw_hnsw, out["raw_hnsw_add_per_s_2t"] = raw_hnsw_build(x, 2)
    _, out["raw_hnsw_add_per_s_1t"] = raw_hnsw_build(x[: plan.raw_1t_prefix], 1)
    out["hnsw"] = await ingest_collection(manager, "ingest_hnsw", "hnsw", x, plan, settings)
    out["flat"] = await ingest_collection(manager, "ingest_flat", "flat", x, plan, settings)
    if run_search:
        out["search"] = await search(
            manager.serving("ingest_hnsw"),
            manager.serving("ingest_flat"),
            raw_hnsw,
            x,
            plan,
            settings,
        )
    return out


async def run(data_dir: Path, plan: Plan, sections: set[str]) -> dict[str, Any]:
    settings = Settings()
    result: dict[str, Any] = {"machine": machine(data_dir), "plan": asdict(plan)}
    result["load_start"] = load()
    async with trio.open_nursery() as nursery:
        manager = CollectionManager(data_dir / "data", settings)
        await nursery.start(manager.run)
        try:
            if "gc" in sections:
                result["group_commit"] = await group_commit(manager, data_dir, plan)
            if sections & {"ingest", "search"}:
                result["ingest"] = await data_sections(
                    manager, plan, settings, "search" in sections
                )
        finally:
            await manager.close()
    result["load_end"] = load()
    return result


# ---------------------------------------------------------------------------------- report


def goals(result: dict[str, Any]) -> list[tuple[str, float, float, bool]]:
    """(what, measured, target, met) for every goal the brief sets."""
    rows: list[tuple[str, float, float]] = []
    gc = result.get("group_commit")
    if gc:
        at256 = next((lv for lv in gc if lv["writers"] == 256), None)
        if at256:
            rows.append(("256 writers: writes per sync", at256["writes_per_sync"], 50.0))
            rows.append(("256 writers: x serial fsync rate", at256["x_serial_fsync"], 10.0))
    ingest = result.get("ingest")
    if ingest:
        hnsw = ingest["hnsw"]
        rows.append(("ingest into HNSW: points/s", hnsw["points_per_s"], 50_000.0))
        rows.append(
            (
                "ingest: x raw HNSW add (2 threads)",
                hnsw["points_per_s"] / ingest["raw_hnsw_add_per_s_2t"],
                10.0,
            )
        )
        search_out = ingest.get("search", {})
        for key in ("flat", "hnsw", "hnsw_at_goal_ef"):
            if key in search_out:
                s = search_out[key]
                tag = f"{key.split('_')[0]} ef={s['ef']}" if s["ef"] else key
                rows.append((f"{tag}: batch QPS x raw", s["batch_ratio"], 0.8))
                rows.append((f"{tag}: single QPS x raw", s["single_ratio"], 0.6))
                if key != "flat":
                    rows.append((f"{tag}: recall@10", s["engine_recall"], RECALL_GOAL))
    return [(what, value, target, value >= target) for what, value, target in rows]


def print_group_commit(levels: list[Any]) -> None:
    print("\n1. Group commit: one-point writes, flat collection; serial fsync measured before each")
    print(
        f"{'writers':>8}{'writes/s':>11}{'fsync/s':>9}{'x fsync':>9}{'per sync':>10}"
        f"{'p50 ms':>9}{'p99 ms':>9}{'429s':>6}  load"
    )
    for lv in levels:
        print(
            f"{lv['writers']:>8}{lv['writes_per_s']:>11,.0f}{lv['serial_fsync_per_s']:>9,.0f}"
            f"{lv['x_serial_fsync']:>9.1f}{lv['writes_per_sync']:>10.1f}{lv['p50_ms']:>9.2f}"
            f"{lv['p99_ms']:>9.2f}{lv['rejected_overloaded']:>6}  {lv['load'][0]:.2f}"
        )


def print_ingest(ingest: dict[str, Any]) -> None:
    raw2, raw1 = ingest["raw_hnsw_add_per_s_2t"], ingest["raw_hnsw_add_per_s_1t"]
    print(
        f"\n2. Durable ingest ({BATCH:,}-point writes, one client). Raw FAISS HNSW add: "
        f"{raw2:,.0f}/s (2 threads), {raw1:,.0f}/s (1 thread)"
    )
    print(
        f"{'collection':>11}{'points':>9}{'acked/s':>10}{'x raw2t':>9}{'syncs':>7}"
        f"{'sealed s':>10}{'sealed/s':>10}{'x raw1t':>9}{'quiet s':>9}  layout"
    )
    for kind in ("hnsw", "flat"):
        r = ingest[kind]
        rate = r.get("sealed_points_per_s")
        sealed = f"{r['sealed_s']:>10.1f}" if r["sealed_s"] else f"{'timeout':>10}"
        quiet = f"{r['quiet_s']:>9.1f}" if r["quiet_s"] else f"{'timeout':>9}"
        rate_s = f"{rate:>10,.0f}{rate / raw1:>9.2f}" if rate else f"{'':>19}"
        print(
            f"{kind:>11}{r['points']:>9,}{r['points_per_s']:>10,.0f}"
            f"{r['points_per_s'] / raw2:>9.1f}{r['wal_syncs']:>7}{sealed}{rate_s}{quiet}  "
            f"fresh {r['layout']['fresh_points']}, sealed {r['layout']['sealed']}"
        )


def print_search(s: dict[str, Any]) -> None:
    print(
        f"\n3. Search, k={K}, {s['queries']} queries; singles from {SEARCH_TASKS} tasks, "
        f"batches of {SEARCH_BATCH} (engine: search_in_thread)"
    )
    print(f"{'':>16}{'raw QPS':>10}{'engine':>10}{'ratio':>7}{'raw rec':>9}{'eng rec':>9}  load")
    for key in ("flat", "hnsw", "hnsw_at_goal_ef"):
        if key not in s:
            continue
        r = s[key]
        name = f"{key.split('_')[0]} ef={r['ef']}" if r["ef"] else key
        for mode in ("single", "batch"):
            rec = (
                ("raw_single_recall", "engine_single_recall")
                if mode == "single"
                else ("raw_recall", "engine_recall")
            )
            print(
                f"{name + ' ' + mode:>16}{r[f'raw_{mode}_qps']:>10,.0f}"
                f"{r[f'engine_{mode}_qps']:>10,.0f}{r[f'{mode}_ratio']:>7.2f}"
                f"{r[rec[0]]:>9.4f}{r[rec[1]]:>9.4f}  {r['load'][0]:.2f}"
            )
    batch_raw = ", ".join(
        f"{key.split('_')[0]} {s[key]['raw_batch_qps_1t']:,.0f} / {s[key]['raw_batch_qps_2t']:,.0f}"
        for key in ("flat", "hnsw")
        if key in s
    )
    print(f"raw batch QPS with 1 / 2 OpenMP threads (the better is the reference): {batch_raw}")
    if "ef_search" in s:
        sweep = ", ".join(
            f"ef {row['ef']}: {row['engine_recall']:.3f} (raw {row['raw_recall']:.3f})"
            for row in s["ef_search"]["sweep"]
        )
        reached = "" if s["ef_search"]["reached"] else f" (no candidate reached {RECALL_GOAL})"
        print(f"ef sweep (engine batch recall@10): {sweep}{reached}")


def report(result: dict[str, Any]) -> None:
    m = result["machine"]
    print(
        f"Zoro-DB engine bench, {m['date']}: {m['cores']} cores, {m['memory_gb']} GB, "
        f"Python {m['python']}, numpy {m['numpy']}, faiss {m['faiss']}; data on {m['filesystem']}"
    )
    if "group_commit" in result:
        print_group_commit(result["group_commit"])
    if "ingest" in result:
        print_ingest(result["ingest"])
        if "search" in result["ingest"]:
            print_search(result["ingest"]["search"])
    print("\nGoals:")
    for g in result["goals"]:
        verdict = "PASS" if g["met"] else "MISS"
        print(f"  {verdict}  {g['what']}: {g['value']:,.2f} (goal >= {g['goal']:,.2f})")
    start, end = result["load_start"], result["load_end"]
    print(f"\nLoad average: start {start[0]:.2f} {start[1]:.2f}, end {end[0]:.2f} {end[1]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs, 50,000 points")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--dir", type=Path, default=Path.cwd(), help="scratch dir parent (disk)")
    parser.add_argument("--sections", default="gc,ingest,search", help="gc, ingest, search")
    args = parser.parse_args()
    sections = set(args.sections.split(","))
    if unknown := sections - {"gc", "ingest", "search"}:
        sys.exit(f"unknown sections: {sorted(unknown)}")
    plan = QUICK if args.quick else FULL
    with tempfile.TemporaryDirectory(prefix="zoro-bench-", dir=args.dir) as tmp:
        result = trio.run(run, Path(tmp), plan, sections)
    result["goals"] = [
        {"what": w, "value": v, "goal": g, "met": ok} for w, v, g, ok in goals(result)
    ]
    report(result)
    write_json(args.json, result)


if __name__ == "__main__":
    main()
