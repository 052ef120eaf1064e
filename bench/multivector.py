"""Multivectors: zoro.multi.MultiIndex, exact MaxSim against its HNSW candidate path, same run.

    .venv/bin/python -m bench.multivector [--quick] [--docs N] [--rows R] [--dim D]
                                          [--queries Q] [--json PATH]

Data (synthetic, seeded): N documents of R rows of D dimensions (default 20,000 x 32 x 128,
Cosine). Token embeddings cluster by meaning, so a document's rows gather around 4 of 1,024
random topic vectors (noise 0.7 per coordinate); a query is 16 rows of one random document,
perturbed the same way. A second, smaller set of pure Gaussian noise (no neighbours worth
finding) shows the worst case of the candidate path.

1. Build: MultiIndex.add in batches of 1,000 documents; memory as the index accounts it
   (statistics()) and as the process sees it (RSS growth), per document and against the raw
   float32 size of the rows. Then build_graph() (HNSW over 8-bit codes, FAISS on 2 threads):
   time, and the graph's bytes.
2. Queries, single-threaded (OpenMP and BLAS at 1 thread: a query runs on the event loop or
   one worker thread): the graph path at several `candidates_per_row` over all queries, with
   exact MaxSim timed on every 8th query in the same pass (medians per call), and recall@10
   against exact answers computed once.
3. A flat FAISS reference: IndexFlatIP over every sub-vector (a second float32 copy), the top
   `candidates_per_row` per query row, the same exact re-scoring. It shows why MultiIndex has
   no flat candidate stage: its product is the one exact MaxSim computes anyway.
4. A filter keeping 10% of the documents: graph path and exact, recall and QPS.

Goal (issue 12): MaxSim scores as Qdrant's; memory <= 1.3x raw float32 plus the graph; the
candidate path several times faster than exact at recall@10 >= 0.95 on clustered data.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy and faiss load their thread pools

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

import faiss  # noqa: E402
import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402

from bench.scratch import write_json  # noqa: E402
from zoro.multi import MultiIndex, MultiSettings  # noqa: E402
from zoro.types import Distance  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
K = 10
QUERY_ROWS = 16
TOPICS = 1024
NOISE = 0.7
CANDIDATES = (16, 32, 64, 128)


def clustered(rng: np.random.Generator, n: int, rows: int, dim: int) -> F32:
    topics = rng.normal(size=(TOPICS, dim)).astype(np.float32)
    chosen = rng.integers(0, TOPICS, size=(n, 4))
    topic = chosen[np.repeat(np.arange(n), rows), rng.integers(0, 4, size=n * rows)]
    out = topics[topic]
    for lo in range(0, len(out), 1 << 18):  # noise in slices: no second full-size temporary
        part = out[lo : lo + (1 << 18)]
        part += NOISE * rng.standard_normal(size=part.shape, dtype=np.float32)
    return out


def queries_near(rng: np.random.Generator, data: F32, rows: int, count: int) -> list[F32]:
    out = []
    for _ in range(count):
        doc = int(rng.integers(len(data) // rows))
        own = data[doc * rows : (doc + 1) * rows]
        picked = own[rng.choice(rows, size=min(QUERY_ROWS, rows), replace=False)]
        noise = NOISE * rng.standard_normal(size=picked.shape, dtype=np.float32)
        out.append((picked + noise).astype(np.float32))
    return out


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def build(data: F32, n: int, rows: int, dim: int) -> tuple[MultiIndex, dict[str, Any]]:
    index = MultiIndex(dim, Distance.COSINE)
    counts = np.full(1000, rows, dtype=np.int64)
    before = rss_bytes()
    start = time.perf_counter()
    for lo in range(0, n, 1000):
        hi = min(n, lo + 1000)
        index.add(np.arange(lo, hi), counts[: hi - lo], data[lo * rows : hi * rows])
    add_s = time.perf_counter() - start
    after_add = rss_bytes()
    faiss.omp_set_num_threads(2)
    graph_s, _ = timed(index.build_graph)
    faiss.omp_set_num_threads(1)
    after_graph = rss_bytes()
    stats = index.statistics()
    raw = stats.raw_bytes
    return index, {
        "add_seconds": round(add_s, 2),
        "add_docs_per_s": round(n / add_s),
        "graph_seconds": round(graph_s, 1),
        "graph_rows_per_s": round(stats.graph_rows / graph_s),
        "raw_bytes_per_doc": raw // n,
        "index_bytes_per_doc": stats.memory_bytes // n,
        "index_over_raw": round(stats.memory_bytes / raw, 3),
        "rss_add_bytes_per_doc": (after_add - before) // n,
        "rss_add_over_raw": round((after_add - before) / raw, 3),
        "graph_bytes_per_doc": stats.graph_bytes // n,
        "graph_over_raw": round(stats.graph_bytes / raw, 3),
        "rss_graph_bytes_per_doc": (after_graph - after_add) // n,
        "blocks": stats.blocks,
    }


def truth(queries: list[F32], exact: Callable[[F32], I64]) -> list[set[int]]:
    return [set(exact(q).tolist()) for q in queries]


def compare(
    queries: list[F32],
    expected: list[set[int]],
    exact: Callable[[F32], I64],
    other: Callable[[F32], I64],
    exact_every: int,
) -> dict[str, float]:
    """Recall of `other` against the exact answers, and medians per call of both, timed in
    the same pass (exact on every `exact_every`-th query: it is the slow one)."""
    hits = 0
    times: dict[str, list[float]] = {"exact": [], "other": []}
    for i, (q, want) in enumerate(zip(queries, expected, strict=True)):
        took, found = timed(lambda q=q: other(q))
        times["other"].append(took)
        hits += len(want & set(found.tolist()))
        if i % exact_every == 0:
            times["exact"].append(timed(lambda q=q: exact(q))[0])
    exact_ms = statistics.median(times["exact"]) * 1e3
    other_ms = statistics.median(times["other"]) * 1e3
    return {
        "recall_at_10": round(hits / (K * len(queries)), 4),
        "exact_ms": round(exact_ms, 3),
        "ms": round(other_ms, 3),
        "exact_qps": round(1e3 / exact_ms, 1),
        "qps": round(1e3 / other_ms, 1),
        "speedup": round(exact_ms / other_ms, 2),
    }


def flat_reference(index: MultiIndex, data: F32, rows: int) -> Callable[[F32, int], I64]:
    """IndexFlatIP over every sub-vector + exact re-scoring of the candidates' documents."""
    flat = faiss.IndexFlatIP(data.shape[1])
    normalised = data.copy()
    faiss.normalize_L2(normalised)
    flat.add(normalised)
    del normalised

    def search(q: F32, per_row: int) -> I64:
        q = index.check_query(q)
        _, labels = flat.search(q, per_row)
        docs = np.unique(labels[labels >= 0] // rows)  # slot = document number here
        return index.rescore(q, docs, K)[1]  # the index's own exact re-scoring

    return search


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = np.random.default_rng(12)
    n, rows, dim = args.docs, args.rows, args.dim
    result: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "faiss": faiss.__version__,
        "load_1min": os.getloadavg()[0],
        "data": {"docs": n, "rows_per_doc": rows, "dim": dim, "distance": "Cosine"},
        "settings": {k: getattr(MultiSettings(), k) for k in MultiSettings.__slots__},
    }
    clustered_figures(args, rng, result)
    noise_figures(args, rng, result)
    return result


def clustered_figures(
    args: argparse.Namespace, rng: np.random.Generator, result: dict[str, Any]
) -> None:
    n, rows, dim = args.docs, args.rows, args.dim
    data = clustered(rng, n, rows, dim)
    index, result["build"] = build(data, n, rows, dim)
    print("build", result["build"], file=sys.stderr)
    queries = queries_near(rng, data, rows, args.queries)

    def exact(q: F32) -> I64:
        return index.search(q, K, exact=True)[1]

    expected = truth(queries, exact)
    every = args.exact_every
    result["graph"] = {}
    for per_row in CANDIDATES:
        index.settings = MultiSettings(candidates_per_row=per_row)
        figures = compare(queries, expected, exact, lambda q: index.search(q, K)[1], every)
        result["graph"][str(per_row)] = figures
        print("graph", per_row, figures, file=sys.stderr)
    index.settings = MultiSettings()

    flat = flat_reference(index, data, rows)
    figures = compare(queries, expected, exact, lambda q: flat(q, 32), every)
    result["flat_faiss_candidates_32"] = figures
    print("flat", figures, file=sys.stderr)

    allowed = rng.random(n) < 0.1

    def filtered_exact(q: F32) -> I64:
        return index.search(q, K, allowed=allowed, exact=True)[1]

    figures = compare(
        queries,
        truth(queries, filtered_exact),
        filtered_exact,
        lambda q: index.search(q, K, allowed=allowed)[1],
        1,
    )
    result["filter_10_percent"] = figures
    print("filter", figures, file=sys.stderr)
    result["churn"] = churn(index, data, rng, rows)
    print("churn", result["churn"], file=sys.stderr)


def churn(index: MultiIndex, data: F32, rng: np.random.Generator, rows: int) -> dict[str, Any]:
    """Three rounds of replacing a random quarter of the documents (remove, then add the same
    matrices under new slots, as a collection's updates do): memory against the raw size."""
    n = len(index)
    slots = np.arange(n)
    next_slot = n
    start = time.perf_counter()
    for _ in range(3):
        picked = rng.choice(n, size=n // 4, replace=False)
        index.remove(slots[picked])
        fresh = np.arange(next_slot, next_slot + len(picked))
        matrices = (data[d * rows : (d + 1) * rows] for d in picked.tolist())
        index.add(fresh, np.full(len(picked), rows), np.concatenate(list(matrices)))
        slots[picked] = fresh
        next_slot += len(picked)
    seconds = time.perf_counter() - start
    stats = index.statistics()
    return {
        "replaced_docs": 3 * (n // 4),
        "seconds": round(seconds, 2),
        "index_over_raw": round(stats.memory_bytes / stats.raw_bytes, 3),
        "blocks": stats.blocks,
        "graph_dead_fraction": round(stats.graph_dead_rows / max(1, stats.graph_rows), 3),
    }


def noise_figures(
    args: argparse.Namespace, rng: np.random.Generator, result: dict[str, Any]
) -> None:
    rows, dim = args.rows, args.dim
    noise_docs = max(1000, args.docs // 4)
    noise = rng.standard_normal(size=(noise_docs * rows, dim), dtype=np.float32)
    plain = MultiIndex(dim, Distance.COSINE)
    plain.add(np.arange(noise_docs), np.full(noise_docs, rows), noise)
    faiss.omp_set_num_threads(2)
    plain.build_graph()
    faiss.omp_set_num_threads(1)
    noise_queries = [
        rng.standard_normal(size=(QUERY_ROWS, dim), dtype=np.float32)
        for _ in range(min(50, args.queries))
    ]
    result["gaussian_noise"] = {"docs": noise_docs}

    def noise_exact(q: F32) -> I64:
        return plain.search(q, K, exact=True)[1]

    for per_row in (32, 128):
        plain.settings = MultiSettings(candidates_per_row=per_row)
        figures = compare(
            noise_queries,
            truth(noise_queries, noise_exact),
            noise_exact,
            lambda q: plain.search(q, K)[1],
            1,
        )
        result["gaussian_noise"][str(per_row)] = figures
        print("noise", per_row, figures, file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 documents, fewer queries")
    parser.add_argument("--docs", type=int, default=None)
    parser.add_argument("--rows", type=int, default=32)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--queries", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    args.docs = args.docs or (2_000 if args.quick else 20_000)
    args.queries = args.queries or (50 if args.quick else 200)
    args.exact_every = 1 if args.quick else 8
    if args.json is None:
        name = "multivector-quick.json" if args.quick else "multivector.json"
        args.json = Path(__file__).parent / "results" / name
    result = run(args)
    result["args"] = {k: str(v) for k, v in vars(args).items() if k != "json"}
    write_json(args.json, result)


if __name__ == "__main__":
    main()
