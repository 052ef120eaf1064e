"""ANN figures: raw FAISS HNSW against SegmentedIndex on the same data, from the same run.

    .venv/bin/python -m bench.ann_engines [--points 200000] [--quick] [--build-threads 1]
                                          [--json PATH]

Data: `--points` x 128 float32 "clustered" vectors shaped a little like embeddings (200 cluster
centres + a rank-32 spread + noise, the generator the tests use), unit length, Cosine (inner
product); 1,000 queries from the same distribution. Ground truth: exact top-10 (IndexFlatIP).

1. Raw FAISS: IndexHNSWFlat(M=16, efConstruction=100) built in one add() (2 OpenMP threads,
   and 1 thread on a 50,000-point prefix), then at efSearch=64: single-query and batch-100 QPS,
   recall@10.
2. SegmentedIndex the way a collection gets it: the points arrive as 1,000-point add() calls
   (default AnnSettings but `--build-threads`), and every seal job that becomes due runs
   inline, then jobs run until none is due. Reports the seal jobs' cost and the final layout
   (the goal: ONE sealed HNSW segment), then single queries (SegmentedIndex.search) and
   batches of 100 (thread_view().search) against raw FAISS on ONE graph, same ef, same OpenMP
   threads, and the engine/raw QPS ratio. Then the same with 10% of the points deleted.
   Timing: blocks of calls over the same queries, raw and engine alternating block by block,
   medians per call (other processes share these 2 cores).
3. Ingest while a build is outstanding: the same 1,000-point adds into a new index whose first
   seal job is taken and never finished (a long build): add() latency, and how far the fresh
   segment grows (the bound is fresh_segment_max_points).
4. One query over a sealed 50,000-point HNSW + a 5,000-point fresh segment: SegmentedIndex.search
   against the two raw FAISS calls it makes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import faiss
import numpy as np
import numpy.typing as npt

from zoro.ann import SealJob, SegmentedIndex
from zoro.settings import AnnSettings
from zoro.types import Distance

if TYPE_CHECKING:
    from collections.abc import Callable

DIM = 128
K = 10
EF = 64
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]


def clustered(n: int, *, seed: int, clusters: int = 200, latent: int = 32) -> F32:
    space = np.random.default_rng(12345 + DIM)
    centres = space.standard_normal((clusters, DIM)).astype(np.float32)
    spread = space.standard_normal((latent, DIM)).astype(np.float32) / np.sqrt(latent)
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, latent)).astype(np.float32)
    x = centres[rng.integers(0, clusters, n)] + z @ spread
    x += 0.2 * rng.standard_normal((n, DIM)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x, dtype=np.float32)


def recall(found: I64, truth: I64) -> float:
    hits = sum(len(set(a.tolist()) & set(b.tolist())) for a, b in zip(found, truth, strict=True))
    return hits / truth.size


def call_times_us(fn: Callable[[int], object], calls: int) -> npt.NDArray[np.float64]:
    """µs taken by each of `calls` calls (fn gets the call number), after one warm-up call."""
    fn(0)  # warm up caches and lazily built FAISS objects
    times = np.empty(calls)
    for i in range(calls):
        start = time.perf_counter()
        fn(i)
        times[i] = time.perf_counter() - start
    return times * 1e6


def per_call_us(fn: Callable[[int], object], calls: int) -> float:
    """Median µs per call. Medians, because other processes share these 2 cores: a mean would
    mostly measure who else was running."""
    return float(np.median(call_times_us(fn, calls)))


def alternating_us(
    fns: dict[str, Callable[[int], object]], calls: int, rounds: int
) -> dict[str, float]:
    """Median µs per call of each fn, run in blocks of `calls` calls, the fns taking turns
    block by block (order reversed every round), so that each sees the same load and the
    same (cold) cache state: every call asks a different query, as real traffic does."""
    times: dict[str, list[npt.NDArray[np.float64]]] = {name: [] for name in fns}
    names = list(fns)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            times[name].append(call_times_us(fns[name], calls))
    return {name: float(np.median(np.concatenate(t))) for name, t in times.items()}


def hnsw_index(n_threads: int, x: F32) -> tuple[faiss.IndexHNSWFlat, float]:
    index = faiss.IndexHNSWFlat(DIM, 16, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 100
    faiss.omp_set_num_threads(n_threads)
    start = time.perf_counter()
    index.add(x)
    rate = len(x) / (time.perf_counter() - start)
    faiss.omp_set_num_threads(2)
    return index, rate


def raw_faiss(x: F32, q: F32, truth: I64, out: dict[str, Any], quick: bool) -> faiss.IndexHNSWFlat:
    index, out["raw_build_rate_2t"] = hnsw_index(2, x)
    prefix = x[: min(len(x), 10_000 if quick else 50_000)]
    _, out["raw_build_rate_1t"] = hnsw_index(1, prefix)
    index.hnsw.efSearch = EF
    out["raw_recall"] = recall(index.search(q, K)[1], truth)
    return index


def ingest_with_inline_seals(
    directory: Path, x: F32, build_threads: int, out: dict[str, Any]
) -> SegmentedIndex:
    """1,000-point adds; every seal job that is due runs inline, then until none is due."""
    index = SegmentedIndex(
        directory, DIM, Distance.COSINE, AnnSettings(build_threads=build_threads)
    )
    jobs: list[tuple[int, float]] = []  # (input points, seconds)

    def run_due() -> None:
        while (job := index.take_seal_job()) is not None:
            start = time.perf_counter()
            result = job.run()
            index.install(result)
            jobs.append((job.input_points, time.perf_counter() - start))

    add_us = []
    for start in range(0, len(x), 1000):
        slots = np.arange(start, min(start + 1000, len(x)), dtype=np.int64)
        t0 = time.perf_counter()
        index.add(slots, x[slots])
        add_us.append((time.perf_counter() - t0) * 1e6)
        run_due()
    stats = index.stats()
    out["seg_layout"] = {
        "sealed": [(s.kind, s.points) for s in stats.sealed],
        "frozen": stats.frozen_points,
        "fresh": stats.fresh_points,
    }
    out["seg_jobs"] = len(jobs)
    out["seg_seal_s"] = sum(t for _, t in jobs)
    out["seg_seal_max_s"] = max((t for _, t in jobs), default=0.0)
    out["seg_seal_inputs"] = [n for n, _ in jobs]
    out["seg_add_p50_us"] = float(np.median(add_us))
    out["seg_add_max_us"] = float(np.max(add_us))
    return index


def cancel_latency(index: SegmentedIndex, x: F32, out: dict[str, Any]) -> None:
    """A seal job (the grown segment + 20,000 new points) cancelled 0.5 s into its run: how
    long until run() returns? (Needs SealJob.cancel; older code has none.)"""
    if not hasattr(SealJob, "cancel"):
        return
    n = len(index)
    more = clustered(20_000, seed=7)
    index.add(np.arange(n, n + len(more), dtype=np.int64), more)
    job = index.take_seal_job()
    if job is None:
        return
    done = threading.Event()
    failure: list[BaseException] = []

    def work() -> None:
        try:
            job.run()
        except BaseException as exc:  # reported below
            failure.append(exc)
        done.set()

    thread = threading.Thread(target=work)
    thread.start()
    time.sleep(0.5)
    asked = time.perf_counter()
    job.cancel()
    done.wait()
    out["cancel_latency_ms"] = (time.perf_counter() - asked) * 1e3
    out["cancel_outcome"] = type(failure[0]).__name__ if failure else "finished"
    thread.join()
    index.abandon(job)
    index.remove(np.arange(n, n + len(more), dtype=np.int64))


def compare(
    raw: faiss.IndexHNSWFlat,
    index: SegmentedIndex,
    q: F32,
    truth: I64,
    out: dict[str, Any],
    tag: str,
    rounds: int,
) -> None:
    """Engine vs raw FAISS on one graph: single queries (1 OpenMP thread both) and batches of
    100 through thread_view (1 and 2 OpenMP threads both)."""
    singles = q[:, None, :]

    def batch(i: int) -> F32:
        return q[(i % 10) * 100 : (i % 10 + 1) * 100]

    faiss.omp_set_num_threads(1)  # raw FAISS uses the calling thread's setting
    single = alternating_us(
        {
            "raw": lambda i: raw.search(singles[i], K),
            "engine": lambda i: index.search(singles[i], K, ef=EF),
        },
        len(q),
        rounds,
    )
    out[f"{tag}_raw_single_us"], out[f"{tag}_single_us"] = single["raw"], single["engine"]
    view = index.thread_view()
    for threads in (1, 2):
        faiss.omp_set_num_threads(threads)
        batches = alternating_us(
            {
                "raw": lambda i: raw.search(batch(i), K),
                "engine": lambda i, t=threads: view.search(batch(i), K, ef=EF, threads=t),
            },
            10,
            2 * rounds,
        )
        out[f"{tag}_raw_batch100_us_{threads}t"] = batches["raw"]
        out[f"{tag}_view_batch100_us_{threads}t"] = batches["engine"]
    faiss.omp_set_num_threads(2)
    out[f"{tag}_thread_view_us"] = per_call_us(lambda i: index.thread_view(), 100)
    out[f"{tag}_recall"] = recall(index.search(q, K, ef=EF)[1], truth)


def ingest_beside_a_long_build(directory: Path, x: F32, out: dict[str, Any]) -> None:
    """The first seal job is taken and never finished: how do adds fare meanwhile?"""
    settings = AnnSettings()
    index = SegmentedIndex(directory, DIM, Distance.COSINE, settings)
    add_us = []
    taken = False
    most_fresh = 0
    for start in range(0, len(x), 1000):
        slots = np.arange(start, min(start + 1000, len(x)), dtype=np.int64)
        t0 = time.perf_counter()
        index.add(slots, x[slots])
        add_us.append((time.perf_counter() - t0) * 1e6)
        if not taken:
            taken = index.take_seal_job() is not None
        most_fresh = max(most_fresh, index.stats().fresh_points)
    stats = index.stats()
    out["stall_add_p50_us"] = float(np.median(add_us))
    out["stall_add_p99_us"] = float(np.percentile(add_us, 99))
    out["stall_add_max_us"] = float(np.max(add_us))
    out["stall_fresh_max"] = most_fresh
    out["stall_frozen_segments"] = stats.frozen_segments
    out["stall_add_rate"] = len(x) / (sum(add_us) / 1e6)


def segmented(directory: Path, x: F32, fresh_points: int) -> SegmentedIndex:
    """An index with len(x) - fresh_points points in one sealed HNSW and the rest fresh.

    open() reads the points it must index in chunks of fresh_segment_max_points: full chunks
    are frozen for the background build. One chunk of exactly the sealed size gives a single
    sealed segment. Built with 2 threads to save bench time.
    """
    sealed = len(x) - fresh_points
    settings = AnnSettings(build_threads=2, fresh_segment_max_points=sealed)
    index = SegmentedIndex.open(
        directory,
        DIM,
        Distance.COSINE,
        settings,
        live_slots=np.arange(sealed, dtype=np.int64),
        valid_slot_limit=sealed,
        vectors_of=lambda slots: x[slots],
    )
    while (job := index.take_seal_job()) is not None:
        index.install(job.run())
    index.add(np.arange(sealed, len(x), dtype=np.int64), x[sealed:])
    return index


def overhead(directory: Path, out: dict[str, Any]) -> None:
    """One query over a sealed 50k HNSW + 5k fresh: SegmentedIndex vs its two raw FAISS calls."""
    x = clustered(55_000, seed=3)
    q = clustered(1000, seed=4)[:, None, :]
    index = segmented(directory, x, 5_000)
    stats = index.stats()
    assert [s.points for s in stats.sealed] == [50_000]
    assert stats.fresh_points == 5_000
    inner = faiss.IndexHNSWFlat(DIM, 16, faiss.METRIC_INNER_PRODUCT)
    inner.hnsw.efConstruction = 100
    hnsw = faiss.IndexIDMap(inner)  # as the sealed segment holds it: ids are slots
    hnsw.add_with_ids(x[:50_000], np.arange(50_000, dtype=np.int64))
    faiss_untyped: Any = faiss  # its stubs lack SearchParametersHNSW
    params = faiss_untyped.SearchParametersHNSW(efSearch=EF)
    flat = faiss.IndexFlatIP(DIM)
    flat.add(x[50_000:])

    def pair(i: int) -> None:
        # Both in one call, as the engine makes them: each evicts the other's data from the
        # caches, which timing them apart would hide.
        hnsw.search(q[i], K, params=params)
        flat.search(q[i], K)

    faiss.omp_set_num_threads(1)
    for tag in ("ovh", "ovh_10pct_deleted"):
        got = alternating_us(
            {
                "hnsw": lambda i: hnsw.search(q[i], K, params=params),
                "flat": lambda i: flat.search(q[i], K),
                "pair": pair,
                "engine": lambda i: index.search(q[i], K, ef=EF),
            },
            1000,
            3,
        )
        out[f"{tag}_raw_hnsw_us"], out[f"{tag}_raw_flat_us"] = got["hnsw"], got["flat"]
        out[f"{tag}_raw_pair_us"], out[f"{tag}_segmented_us"] = got["pair"], got["engine"]
        index.remove(np.arange(0, 55_000, 10, dtype=np.int64))  # then 10% deleted
    faiss.omp_set_num_threads(2)


def report(out: dict[str, Any]) -> None:
    def qps(us: float, per: int = 1) -> str:
        return f"{per * 1e6 / us:>10,.0f}"

    n = out["points"]
    print(f"\n{n:,} x {DIM} clustered unit vectors, Cosine, k={K}, ef={EF}, {out['machine']}")
    print(f"code: {out['code']}\n")
    print(
        f"raw HNSW build: {out['raw_build_rate_2t']:,.0f} vectors/s with 2 threads, "
        f"{out['raw_build_rate_1t']:,.0f} with 1 thread"
    )
    layout = out["seg_layout"]
    print(
        f"SegmentedIndex, 1,000-point adds + {out['seg_jobs']} inline seal jobs "
        f"({out['build_threads']} build thread): seals took {out['seg_seal_s']:.1f} s in all "
        f"({n / out['seg_seal_s']:,.0f} points/s), the longest {out['seg_seal_max_s']:.1f} s"
    )
    print(
        f"  layout: sealed {layout['sealed']}, frozen {layout['frozen']}, "
        f"fresh {layout['fresh']}; add() p50 {out['seg_add_p50_us']:.0f} µs, "
        f"max {out['seg_add_max_us']:.0f} µs"
    )
    if "cancel_latency_ms" in out:
        print(
            f"  a seal job cancelled 0.5 s into its run returned after "
            f"{out['cancel_latency_ms']:.0f} ms ({out['cancel_outcome']})"
        )
    print(f"\n{'':46}{'raw µs':>9}{'engine µs':>11}{'raw QPS':>10}{'eng QPS':>10}{'ratio':>7}")
    for tag, what in (("seg", ""), ("del", "10% deleted, ")):
        rows = [
            (f"{what}single query (1 thread)", "single_us", "raw_single_us", 1),
            (
                f"{what}batch of 100, thread view (1 thread)",
                "view_batch100_us_1t",
                "raw_batch100_us_1t",
                100,
            ),
            (
                f"{what}batch of 100, thread view (2 threads)",
                "view_batch100_us_2t",
                "raw_batch100_us_2t",
                100,
            ),
        ]
        for name, eng_key, raw_key, per in rows:
            raw, eng = out[f"{tag}_{raw_key}"], out[f"{tag}_{eng_key}"]
            print(
                f"{name:46}{raw:>9.1f}{eng:>11.1f}{qps(raw, per)}{qps(eng, per)}{raw / eng:>7.2f}"
            )
    print(
        f"\nrecall@10: raw {out['raw_recall']:.4f}, engine {out['seg_recall']:.4f}, "
        f"engine with 10% deleted {out['del_recall']:.4f}"
    )
    print(
        f"thread_view() on the event loop: {out['seg_thread_view_us']:.1f} µs "
        f"(10% deleted: {out['del_thread_view_us']:.1f} µs)"
    )
    print(
        f"\nIngest beside an unfinished build: add() of 1,000 points p50 "
        f"{out['stall_add_p50_us']:.0f} µs, p99 {out['stall_add_p99_us']:.0f} µs, max "
        f"{out['stall_add_max_us']:.0f} µs ({out['stall_add_rate']:,.0f} points/s); fresh "
        f"segment at most {out['stall_fresh_max']:,} points, {out['stall_frozen_segments']} "
        "frozen segments waiting"
    )
    print("One query over a sealed 50k HNSW + a 5k fresh segment (medians):")
    for tag, what in (("ovh", "no deletions"), ("ovh_10pct_deleted", "10% deleted")):
        hnsw, flat = out[f"{tag}_raw_hnsw_us"], out[f"{tag}_raw_flat_us"]
        pair, seg = out[f"{tag}_raw_pair_us"], out[f"{tag}_segmented_us"]
        print(
            f"  {what}: raw HNSW {hnsw:.1f}, raw flat {flat:.1f}, both in one call {pair:.1f} "
            f"µs; SegmentedIndex.search {seg:.1f} µs ({seg - pair:+.1f})"
        )
    load = " ".join(f"{x:.2f}" for x in out["load_average"])
    print(f"Load average at the end (other processes share these 2 cores): {load}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--quick", action="store_true", help="20,000 points, fewer repeats")
    parser.add_argument("--build-threads", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    n = 20_000 if args.quick else args.points
    rounds = 2 if args.quick else 4
    out: dict[str, Any] = {
        "points": n,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "code": "zoro, this checkout",
        "build_threads": args.build_threads,
    }
    x, q = clustered(n, seed=1), clustered(1000, seed=2)
    flat = faiss.IndexFlatIP(DIM)
    flat.add(x)
    truth = np.asarray(flat.search(q, K)[1], dtype=np.int64)
    del flat
    raw = raw_faiss(x, q, truth, out, args.quick)
    with tempfile.TemporaryDirectory() as tmp:
        index = ingest_with_inline_seals(Path(tmp) / "a", x, args.build_threads, out)
        cancel_latency(index, x, out)
        compare(raw, index, q, truth, out, "seg", rounds)
        dead = np.arange(0, n, 10, dtype=np.int64)
        index.remove(dead)
        keep = ~np.isin(np.arange(n), dead)
        live_flat = faiss.IndexIDMap(faiss.IndexFlatIP(DIM))
        live_flat.add_with_ids(x[keep], np.flatnonzero(keep).astype(np.int64))
        truth_live = np.asarray(live_flat.search(q, K)[1], dtype=np.int64)
        raw.search(q[:1], K)
        compare(raw, index, q, truth_live, out, "del", rounds)
        del index, raw
        ingest_beside_a_long_build(Path(tmp) / "b", x, out)
        overhead(Path(tmp) / "c", out)
    out["load_average"] = os.getloadavg()
    report(out)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
