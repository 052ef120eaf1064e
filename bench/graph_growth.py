"""HNSW recall of a graph built at once against one grown in steps, and what the segment layer
builds while points arrive (issue 15: recall@10 >= 0.99).

    .venv/bin/python -m bench.graph_growth [--points 200000] [--step 20000] [--seeds 1,2]
                                           [--variants once,grown,policy] [--json PATH]

Data: bench/http.py's clustered 128-d points (64 centres, Euclid) and 1,000 queries; truth is
the exact top 10 (faiss flat). Each seed permutes the order the points arrive in. Every build is
HNSW M=16, efConstruction=100 (Zoro's defaults) on one OpenMP thread, through Zoro's own
SealJob:

- `once`: one job over every point (the upper-layer points first, then the rest);
- `grown`: a first job over `--step` points, then one job per `--step` points growing a clone
  of the graph so far (what every seal did before a job that would double its base rebuilt
  instead);
- `policy`: SegmentedIndex with `fresh_segment_max_points = --step`, fed in `--step` batches
  with every due job run at once (a collection whose writes come slower than its builds);
  and `bulk`: the same index fed everything first, then its jobs run (a bulk load, whose
  first job finds all the rest waiting).

Printed per build: the build seconds, recall@10 at ef 128, 256 and 1,024, and how many of the
1,000 queries found at most one of their ten (a query routed to the wrong part of the graph,
which no beam width repairs).
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from bench.http import DIM, F32, I64, clustered, exact_top10
from bench.scratch import write_json
from zoro.ann import Bitmap, SegmentedIndex
from zoro.ann.flat import FlatEngine
from zoro.ann.hnsw import HnswEngine
from zoro.ann.jobs import BuildSpec, SealJob
from zoro.settings import AnnSettings
from zoro.types import Distance

ANN = AnnSettings()
EFS = (128, 256, 1024)
SPEC = BuildSpec("hnsw", DIM, Distance.EUCLID, ANN.hnsw_m, ANN.hnsw_ef_construct, 128, 1)


Searcher = Callable[[F32, int], I64]


def scores(search: Searcher, queries: F32, truth: I64) -> dict[str, float]:
    out: dict[str, float] = {}
    for ef in EFS:
        labels = search(queries, ef)
        hits = np.array([len(set(a) & set(b)) for a, b in zip(labels, truth, strict=True)])
        out[f"recall_ef{ef}"] = float(hits.mean() / 10)
        out[f"lost_ef{ef}"] = int((hits <= 1).sum())
    return out


def flat_of(slots: I64, vectors: F32) -> FlatEngine:
    engine = FlatEngine(DIM, Distance.EUCLID)
    engine.add(slots, vectors)
    return engine


def build_jobs(data: F32, order: I64, step: int | None) -> HnswEngine:
    """SealJobs over the points in `order` (slot = position): one job, or steps that grow."""
    bounds = [0, len(order)] if step is None else [*range(0, len(order), step), len(order)]
    base: HnswEngine | None = None
    base_slots: I64 | None = None
    for lo, hi in itertools.pairwise(bounds):
        slots = np.arange(lo, hi, dtype=np.int64)
        job = SealJob((flat_of(slots, data[order[lo:hi]]),), SPEC, Bitmap(), base, base_slots)
        result = job.run()
        assert isinstance(result.engine, HnswEngine)
        base, base_slots = result.engine, result.slots
    assert base is not None
    return base


def build_index(root: Path, data: F32, order: I64, step: int, bulk: bool) -> SegmentedIndex:
    settings = AnnSettings(fresh_segment_max_points=step)
    index = SegmentedIndex(root, DIM, Distance.EUCLID, settings)
    for lo in range(0, len(order), step):
        index.add(np.arange(lo, min(lo + step, len(order))), data[order[lo : lo + step]])
        while not bulk and (job := index.take_seal_job()) is not None:
            index.install(job.run())
    while (job := index.take_seal_job()) is not None:
        index.install(job.run())
    return index


def built(variant: str, root: Path, data: F32, order: I64, step: int) -> Searcher:
    """Build one variant; its search: (queries, ef) -> the top 10 slots per query."""
    if variant in ("once", "grown"):
        engine = build_jobs(data, order, None if variant == "once" else step)

        def search_engine(q: F32, ef: int) -> I64:
            distances = np.empty((len(q), 10), np.float32)
            labels = np.empty((len(q), 10), np.int64)
            engine.search_into(q, 10, distances, labels, ef=ef)
            return labels

        return search_engine
    index = build_index(root, data, order, step, bulk=variant == "bulk")
    assert [s.kind for s in index.stats().sealed] == ["hnsw"], index.stats()
    return lambda q, ef: index.search(q, 10, ef=ef)[1]


def in_rows(search: Searcher, order: I64) -> Searcher:
    """Slot i holds the point order[i]; the truth is in row numbers."""
    return lambda q, ef: order[search(q, ef)]


def run(args: argparse.Namespace) -> dict[str, Any]:
    faiss.omp_set_num_threads(1)
    data, queries = clustered(args.points, 1_000)
    truth = exact_top10(data, queries)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="graph-growth-") as scratch:
        for seed in [int(s) for s in args.seeds.split(",")]:
            order = np.random.default_rng(seed).permutation(args.points).astype(np.int64)
            for variant in args.variants.split(","):
                started = time.perf_counter()
                root = Path(scratch) / f"{variant}-{seed}"
                search = built(variant, root, data, order, args.step)
                seconds = time.perf_counter() - started
                row = {"variant": variant, "seed": seed, "build_s": round(seconds, 1)}
                row.update(scores(in_rows(search, order), queries, truth))
                rows.append(row)
                cells = "  ".join(
                    f"ef {ef}: {row[f'recall_ef{ef}']:.4f} ({row[f'lost_ef{ef}']} lost)"
                    for ef in EFS
                )
                print(f"{variant:7} seed {seed}  {seconds:6.1f} s  {cells}", flush=True)
    return {"points": args.points, "step": args.step, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--step", type=int, default=20_000)
    parser.add_argument("--seeds", default="1,2")
    parser.add_argument("--variants", default="once,grown,policy,bulk")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    write_json(args.json, run(args))


if __name__ == "__main__":
    main()
