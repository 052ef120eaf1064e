"""ANN figures: raw FAISS HNSW against SegmentedIndex on the same data, from the same run.

    .venv/bin/python -m bench.ann_engines [--points 200000] [--quick] [--json PATH]

Data: `--points` x 128 float32 "clustered" vectors shaped a little like embeddings (200 cluster
centres + a rank-32 spread + noise, the generator the tests use), unit length, Cosine (inner
product); 1,000 queries from the same distribution. Ground truth: exact top-10 (IndexFlatIP).

1. Raw FAISS: IndexHNSWFlat(M=16, efConstruction=100) build rate (2 OpenMP threads, and 1 thread
   on a 50,000-point prefix: the index's default `build_threads`), then at efSearch=64:
   single-query QPS (one search() call per query, 1 and 2 OpenMP threads), batch-100 QPS,
   recall@10.
2. SegmentedIndex over the same points: all but 5,000 sealed into one HNSW segment (the path
   open() takes: frozen buffers -> one seal job), the last 5,000 in the fresh segment. Single
   queries inline, batch-100 inline and through thread_view(), recall@10; the same with 10% of
   the points deleted.
3. The overhead the brief asks about: one sealed 50,000-point HNSW + a 5,000-point fresh segment.
   SegmentedIndex.search for one query against the two raw FAISS calls it makes.
4. Ingest: SegmentedIndex.add() of 1,000-point batches into the fresh segment.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import faiss
import numpy as np
import numpy.typing as npt

from zoro.ann import SegmentedIndex
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


def hnsw_index(n_threads: int, x: F32) -> tuple[faiss.IndexHNSWFlat, float]:
    index = faiss.IndexHNSWFlat(DIM, 16, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 100
    faiss.omp_set_num_threads(n_threads)
    start = time.perf_counter()
    index.add(x)
    rate = len(x) / (time.perf_counter() - start)
    faiss.omp_set_num_threads(2)
    return index, rate


def raw_faiss(x: F32, q: F32, truth: I64, out: dict[str, Any], quick: bool) -> None:
    index, out["raw_build_rate_2t"] = hnsw_index(2, x)
    prefix = x[: min(len(x), 10_000 if quick else 50_000)]
    _, out["raw_build_rate_1t"] = hnsw_index(1, prefix)
    index.hnsw.efSearch = EF
    singles = q[:, None, :]
    for threads in (1, 2):
        faiss.omp_set_num_threads(threads)
        out[f"raw_single_us_{threads}t"] = per_call_us(lambda i: index.search(singles[i], K), 1000)
        out[f"raw_batch100_us_{threads}t"] = per_call_us(
            lambda i: index.search(q[(i % 10) * 100 : (i % 10 + 1) * 100], K), 20
        )
    faiss.omp_set_num_threads(2)
    out["raw_recall"] = recall(index.search(q, K)[1], truth)


def segmented(directory: Path, x: F32, fresh_points: int) -> tuple[SegmentedIndex, float]:
    """An index with len(x) - fresh_points points in one sealed HNSW and the rest fresh.

    open() reads the points it must index in chunks of fresh_segment_max_points: full chunks
    are frozen for the background build, a partial last one stays fresh. One chunk of exactly
    the sealed size gives a single sealed segment. Built with 2 threads to save bench time.
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
    start = time.perf_counter()
    while (job := index.take_seal_job()) is not None:
        index.install(job.run())
    build_s = time.perf_counter() - start
    index.add(np.arange(sealed, len(x), dtype=np.int64), x[sealed:])
    return index, build_s


def segmented_figures(
    index: SegmentedIndex, q: F32, truth: I64, out: dict[str, Any], tag: str
) -> None:
    singles = q[:, None, :]
    out[f"{tag}_single_us"] = per_call_us(lambda i: index.search(singles[i], K, ef=EF), 1000)
    out[f"{tag}_batch100_us"] = per_call_us(
        lambda i: index.search(q[(i % 10) * 100 : (i % 10 + 1) * 100], K, ef=EF), 20
    )
    view = index.thread_view()

    def view_batch(threads: int) -> Callable[[int], object]:
        return lambda i: view.search(q[(i % 10) * 100 : (i % 10 + 1) * 100], K, threads=threads)

    for threads in (1, 2):
        out[f"{tag}_view_batch100_us_{threads}t"] = per_call_us(view_batch(threads), 20)
    out[f"{tag}_thread_view_us"] = per_call_us(lambda i: index.thread_view(), 100)
    out[f"{tag}_recall"] = recall(index.search(q, K, ef=EF)[1], truth)


def overhead(directory: Path, out: dict[str, Any]) -> None:
    """One query over a sealed 50k HNSW + 5k fresh: SegmentedIndex vs its two raw FAISS calls."""
    x = clustered(55_000, seed=3)
    q = clustered(1000, seed=4)[:, None, :]
    index, _ = segmented(directory, x, 5_000)
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
    # Interleaved, query by query: the raw pair and SegmentedIndex see the same cache state
    # and the same neighbours' load. Single-threaded, as SegmentedIndex.search runs.
    faiss.omp_set_num_threads(1)
    one = call_times_us(lambda i: hnsw.search(q[i], K, params=params), 1000)
    for tag in ("ovh", "ovh_10pct_deleted"):
        times = np.empty((1000, 3))
        for i in range(1000):
            t0 = time.perf_counter()
            hnsw.search(q[i], K, params=params)
            t1 = time.perf_counter()
            flat.search(q[i], K)
            t2 = time.perf_counter()
            index.search(q[i], K, ef=EF)
            times[i] = [t1 - t0, t2 - t1, time.perf_counter() - t2]
        medians = (np.median(times, axis=0) * 1e6).tolist()
        out[f"{tag}_raw_hnsw_us"], out[f"{tag}_raw_flat_us"] = medians[0], medians[1]
        out[f"{tag}_segmented_us"] = medians[2]
        out[f"{tag}_raw_pair_us"] = float(np.median(times[:, 0] + times[:, 1]) * 1e6)
        index.remove(np.arange(0, 55_000, 10, dtype=np.int64))  # then 10% deleted
    # The same HNSW query with 2 OpenMP threads (IndexIDMap maps labels in an omp loop).
    faiss.omp_set_num_threads(2)
    two = call_times_us(lambda i: hnsw.search(q[i], K, params=params), 1000)
    for threads, times_us in ((1, one), (2, two)):
        out[f"idmap_hnsw_p50_us_{threads}t"] = float(np.percentile(times_us, 50))
        out[f"idmap_hnsw_p99_us_{threads}t"] = float(np.percentile(times_us, 99))


def ingest(directory: Path, out: dict[str, Any]) -> None:
    x = clustered(20_000, seed=5)
    index = SegmentedIndex(directory, DIM, Distance.COSINE, AnnSettings())
    batches = [
        (np.arange(i, i + 1000, dtype=np.int64), x[i : i + 1000]) for i in range(0, 20_000, 1000)
    ]
    start = time.perf_counter()
    for slots, vectors in batches:
        index.add(slots, vectors)
    out["ingest_add_rate"] = 20_000 / (time.perf_counter() - start)


def report(out: dict[str, Any]) -> None:
    def qps(us: float, per: int = 1) -> str:
        return f"{per * 1e6 / us:>10,.0f}"

    n = out["points"]
    print(f"\n{n:,} x {DIM} clustered unit vectors, Cosine, k={K}, ef={EF}, {out['machine']}\n")
    print(f"{'':44}{'µs/call':>10}{'QPS':>11}{'recall@10':>11}")
    rows = [
        ("raw HNSW single query (1 OpenMP thread)", out["raw_single_us_1t"], 1, out["raw_recall"]),
        ("raw HNSW single query (2 OpenMP threads)", out["raw_single_us_2t"], 1, None),
        ("raw HNSW batch of 100 (2 threads)", out["raw_batch100_us_2t"], 100, None),
        ("raw HNSW batch of 100 (1 thread)", out["raw_batch100_us_1t"], 100, None),
        ("Segmented single, sealed + 5k fresh", out["seg_single_us"], 1, out["seg_recall"]),
        ("Segmented batch of 100 inline", out["seg_batch100_us"], 100, None),
        ("Segmented batch of 100, thread view (1t)", out["seg_view_batch100_us_1t"], 100, None),
        ("Segmented batch of 100, thread view (2t)", out["seg_view_batch100_us_2t"], 100, None),
        ("  same, 10% deleted: single", out["del_single_us"], 1, out["del_recall"]),
        ("  same, 10% deleted: batch of 100 inline", out["del_batch100_us"], 100, None),
    ]
    for name, us, per, rec in rows:
        rec_s = f"{rec:>11.4f}" if rec is not None else ""
        print(f"{name:44}{us:>10.1f}{qps(us, per)}{rec_s}")
    print(
        f"\nthread_view() on the event loop: {out['seg_thread_view_us']:.1f} µs "
        f"(10% deleted: {out['del_thread_view_us']:.1f} µs)"
    )
    print(
        f"raw HNSW build: {out['raw_build_rate_2t']:,.0f} vectors/s with 2 threads, "
        f"{out['raw_build_rate_1t']:,.0f} with 1 thread"
    )
    print(
        f"SegmentedIndex seal of {n - 5000:,} points (one job, 2 threads): "
        f"{out['seg_build_s']:.1f} s = {(n - 5000) / out['seg_build_s']:,.0f} vectors/s"
    )
    print(
        "\nIndexIDMap(HNSW 50k) single query, p50 / p99: "
        f"{out['idmap_hnsw_p50_us_1t']:.0f} / {out['idmap_hnsw_p99_us_1t']:.0f} µs with 1 "
        f"OpenMP thread, {out['idmap_hnsw_p50_us_2t']:.0f} / {out['idmap_hnsw_p99_us_2t']:.0f} "
        "µs with 2"
    )
    print("One query over a sealed 50k HNSW + a 5k fresh segment (medians, interleaved):")
    for tag, what in (("ovh", "no deletions"), ("ovh_10pct_deleted", "10% deleted")):
        raw, seg = out[f"{tag}_raw_pair_us"], out[f"{tag}_segmented_us"]
        print(
            f"  {what}: raw HNSW {out[f'{tag}_raw_hnsw_us']:.1f} + raw flat "
            f"{out[f'{tag}_raw_flat_us']:.1f} µs (pair {raw:.1f}); "
            f"SegmentedIndex.search {seg:.1f} µs ({seg - raw:+.1f})"
        )
    print(f"Ingest: add() of 1,000-point batches: {out['ingest_add_rate']:,.0f} vectors/s")
    load = " ".join(f"{x:.2f}" for x in out["load_average"])
    print(f"Load average at the end (other processes share these 2 cores): {load}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--quick", action="store_true", help="20,000 points, fewer repeats")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    n = 20_000 if args.quick else args.points
    out: dict[str, Any] = {"points": n, "machine": f"{platform.machine()}, 2 cores"}
    x, q = clustered(n, seed=1), clustered(1000, seed=2)
    flat = faiss.IndexFlatIP(DIM)
    flat.add(x)
    truth = np.asarray(flat.search(q, K)[1], dtype=np.int64)
    del flat
    raw_faiss(x, q, truth, out, args.quick)
    with tempfile.TemporaryDirectory() as tmp:
        index, out["seg_build_s"] = segmented(Path(tmp) / "a", x, 5_000)
        segmented_figures(index, q, truth, out, "seg")
        dead = np.arange(0, n, 10, dtype=np.int64)
        index.remove(dead)
        keep = ~np.isin(np.arange(n), dead)
        live_flat = faiss.IndexIDMap(faiss.IndexFlatIP(DIM))
        live_flat.add_with_ids(x[keep], np.flatnonzero(keep).astype(np.int64))
        truth_live = np.asarray(live_flat.search(q, K)[1], dtype=np.int64)
        segmented_figures(index, q, truth_live, out, "del")
        del index
        overhead(Path(tmp) / "b", out)
        ingest(Path(tmp) / "c", out)
    out["load_average"] = os.getloadavg()
    report(out)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
