"""Sparse vectors: zoro.sparse.SparseIndex against a brute-force scipy.sparse reference, same run.

    .venv/bin/python -m bench.sparse [--quick] [--docs N] [--queries Q] [--json PATH]
                                     [--corpus-cache PATH]

Data (real text, no synthetic vocabulary): every word ([a-z]{2,}, lower-cased) of the plain and
gzipped files under /usr/share/doc and of the Python installation's own library directory (source,
comments, docstrings), in a fixed file order: about 59 million tokens, 0.6 million distinct words
on the machine of record. A document is a window of 60-140 consecutive tokens starting at a random
offset of that stream (seeded), so 1,000,000 documents reuse the text about once or twice over;
its sparse vector holds one BM25 term weight per distinct word (k1 = 1.2, b = 0.75, dimension id
= the word's frequency rank), about 50 non-zeros. A query is 3-10 distinct words drawn from
another random window, value 1.0 each, scored two ways: `idf` (Qdrant's modifier: values times
ln(1 + (N - n + 0.5) / (n + 0.5)), so BM25 itself) and `plain` (dot product of the BM25 weights
with 1.0). Words are kept as they come (no stop-word list), so most queries hold some very common
words: the hard case for an inverted index, whose common lists are long.

1. Build: SparseIndex.add in batches of 10,000 documents (as a collection's writes would arrive),
   then compact(); time and the index's own memory per document (statistics().memory_bytes / N).
2. Reference: a scipy CSR matrix (N x vocabulary) of the same weights. Brute force per query:
   `matrix @ query` (the IDF weights applied to the query vector) + argpartition for the top 10.
3. For each mode: recall@10 of SparseIndex.search against the exact answer (scores compared
   with a tolerance: ties are interchangeable), then single-query QPS of both, in alternating
   blocks over the same queries (medians per call), and the ratio.
4. With 10% of the documents removed (SparseIndex.remove; the reference drops their rows) and a
   50% allowed mask: recall of the idf mode again.

Goal (the sparse-vector task): recall 1.0; in-process QPS >= 5x the brute-force reference.
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from bench.scratch import write_json
from zoro.sparse import SparseBatch, SparseIndex

if TYPE_CHECKING:
    from collections.abc import Callable

K = 10
K1, B = 1.2, 0.75
BATCH = 10_000
WINDOW = (60, 140)
I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]
_WORD = re.compile(rb"[a-z]{2,}")


def text_roots() -> list[Path]:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return [Path("/usr/share/doc"), Path(sys.base_prefix) / "lib" / version]


def read_words(path: Path) -> list[bytes]:
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path) as f:
                data = f.read()
        elif path.suffix in (".py", ".txt", ".rst", ".md", ""):
            data = path.read_bytes()
        else:
            return []
    except (OSError, EOFError, gzip.BadGzipFile):
        return []
    if b"\0" in data[:1000]:
        return []
    return _WORD.findall(data.lower())


def token_stream(cache: Path | None) -> tuple[I64, int, list[str]]:
    """Word ids (by frequency rank) of the whole text, the vocabulary size, the sources."""
    if cache is not None and cache.exists():
        with np.load(cache) as saved:
            return saved["tokens"], int(saved["vocabulary"]), [str(s) for s in saved["sources"]]
    ids: dict[bytes, int] = {}
    chunks: list[I64] = []
    sources = ["/usr/share/doc", "the Python library: sys.base_prefix/lib/pythonX.Y"]
    for root in text_roots():
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.is_symlink():
                words = read_words(path)
                if words:
                    chunk = [ids.setdefault(w, len(ids)) for w in words]
                    chunks.append(np.asarray(chunk, dtype=np.int64))
    tokens = np.concatenate(chunks)
    counts = np.bincount(tokens)
    rank = np.empty(len(counts), dtype=np.int64)
    rank[np.argsort(-counts, kind="stable")] = np.arange(len(counts))
    tokens = rank[tokens]
    if cache is not None:
        np.savez(cache, tokens=tokens, vocabulary=len(counts), sources=np.array(sources))
    return tokens, len(counts), sources


def documents(tokens: I64, n: int, seed: int) -> sp.csr_matrix:
    """n BM25-weighted windows of the stream as a CSR matrix (rows sorted by column)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(WINDOW[0], WINDOW[1] + 1, size=n)
    starts = rng.integers(0, len(tokens) - WINDOW[1], size=n)
    avgdl = float(lengths.mean())
    rows, cols, tfs = [], [], []
    step = 50_000
    for first in range(0, n, step):
        ln, st = lengths[first : first + step], starts[first : first + step]
        doc = np.repeat(np.arange(len(ln), dtype=np.int64), ln)
        offset = np.arange(int(ln.sum()), dtype=np.int64) - np.repeat(np.cumsum(ln) - ln, ln)
        words = tokens[np.repeat(st, ln) + offset]
        keys, tf = np.unique(doc << 32 | words, return_counts=True)
        rows.append((keys >> 32) + first)
        cols.append(keys & 0xFFFFFFFF)
        tfs.append(tf)
    row, col, tf = np.concatenate(rows), np.concatenate(cols), np.concatenate(tfs)
    dl = lengths[row]
    weight = tf * (K1 + 1) / (tf + K1 * (1 - B + B * dl / avgdl))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(row, minlength=n), out=indptr[1:])
    return sp.csr_matrix((weight.astype(np.float32), col, indptr), shape=(n, int(col.max()) + 1))


def queries(tokens: I64, count: int, seed: int) -> list[I64]:
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < count:
        start = int(rng.integers(0, len(tokens) - WINDOW[1]))
        words = np.unique(tokens[start : start + WINDOW[1]])
        size = int(rng.integers(3, 11))
        if len(words) >= size:
            out.append(np.sort(rng.choice(words, size=size, replace=False)))
    return out


class Reference:
    """Brute force: CSR matrix times the query vector, then argpartition."""

    def __init__(self, matrix: sp.csr_matrix) -> None:
        self.matrix = matrix
        self.df = np.bincount(matrix.indices, minlength=matrix.shape[1])
        self.n = matrix.shape[0]

    def weights(self, words: I64, idf: bool) -> F32:
        if not idf:
            return np.ones(len(words), dtype=np.float32)
        df = self.df[words].astype(np.float64)
        return np.log1p((self.n - df + 0.5) / (df + 0.5)).astype(np.float32)

    def search(self, words: I64, idf: bool) -> tuple[F32, I64]:
        q = np.zeros(self.matrix.shape[1], dtype=np.float32)
        q[words] = self.weights(words, idf)
        scores = self.matrix @ q
        top = np.argpartition(-scores, K)[:K]
        order = np.argsort(-scores[top], kind="stable")
        return scores[top[order]], top[order]


def exact(matrix: sp.csr_matrix, words: I64, weights: F32, allowed: npt.NDArray[np.bool_]) -> F32:
    """Ground truth in float64: the 10th best score among allowed rows sharing a word."""
    q = np.zeros(matrix.shape[1])
    q[words] = weights
    scores = matrix.astype(np.float64) @ q
    hit = (matrix[:, words].getnnz(axis=1) > 0) & allowed
    ranked = np.sort(scores[hit])[::-1]
    return ranked[:K].astype(np.float32)


def recall(found: F32, truth: F32) -> float:
    """Share of the true top-k found, with scores as the identity (ties are interchangeable)."""
    if not len(truth):
        return 1.0 if not len(found) else 0.0
    threshold = truth[-1] - 1e-4 * max(1.0, abs(float(truth[-1])))
    good = int(np.count_nonzero(found >= threshold))
    same_length = len(found) == len(truth)
    return min(good, len(truth)) / len(truth) if same_length else 0.0


def timed_blocks(calls: dict[str, Callable[[], object]], rounds: int) -> dict[str, list[float]]:
    """Each callable in turn, `rounds` times, alternating: per-round seconds."""
    out: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            out[name].append(time.perf_counter() - start)
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "load_1min": os.getloadavg()[0],
    }
    start = time.perf_counter()
    cached = args.corpus_cache is not None and args.corpus_cache.exists()
    tokens, vocabulary, sources = token_stream(args.corpus_cache)
    result["corpus"] = {
        "sources": sources,
        "tokens": len(tokens),
        "vocabulary": vocabulary,
        "seconds": round(time.perf_counter() - start, 1),
        "from_cache": cached,
    }
    print(f"corpus: {len(tokens):,} tokens, {vocabulary:,} words", flush=True)
    start = time.perf_counter()
    matrix = documents(tokens, args.docs, seed=1)
    nnz = matrix.nnz / args.docs
    print(f"{args.docs:,} documents, {nnz:.1f} non-zeros each "
          f"({time.perf_counter() - start:.1f} s)", flush=True)  # fmt: skip
    result["documents"] = {"count": args.docs, "nnz_per_doc": round(nnz, 1)}

    index = SparseIndex()
    start = time.perf_counter()
    for first in range(0, args.docs, BATCH):
        rows = matrix[first : first + BATCH]
        batch = SparseBatch.from_arrays(rows.indptr, rows.indices, rows.data)
        index.add(np.arange(first, first + len(batch)), batch)
    adds = time.perf_counter() - start
    index.compact()
    build = time.perf_counter() - start
    stats = index.statistics()
    result["build"] = {
        "seconds": round(build, 2),
        "adds_seconds": round(adds, 2),
        "docs_per_s": round(args.docs / build),
        "memory_bytes_per_doc": round(stats.memory_bytes / args.docs),
        "postings": stats.postings,
        "scipy_csr_bytes_per_doc": round(
            (matrix.data.nbytes + matrix.indices.nbytes + matrix.indptr.nbytes) / args.docs
        ),
    }
    print(f"build {build:.1f} s ({adds:.1f} s of adds), "
          f"{result['build']['memory_bytes_per_doc']} B/doc", flush=True)  # fmt: skip

    ref = Reference(matrix)
    qs = queries(tokens, args.queries, seed=2)
    everyone = np.ones(args.docs, dtype=bool)
    result["queries"] = {"count": len(qs), "terms_mean": float(np.mean([len(q) for q in qs]))}
    for mode in ("idf", "plain"):
        idf = mode == "idf"
        ones = np.ones(1, dtype=np.float32)
        answers = [index.search(q, np.repeat(ones, len(q)), K, idf=idf) for q in qs]
        truths = [exact(matrix, q, ref.weights(q, idf), everyone) for q in qs[: args.checked]]
        recalls = [recall(a[0], t) for a, t in zip(answers, truths, strict=False)]

        def ours(idf: bool = idf) -> None:
            for q in qs:
                index.search(q, np.ones(len(q), dtype=np.float32), K, idf=idf)

        def brute(idf: bool = idf) -> None:
            for q in qs:
                ref.search(q, idf)

        times = timed_blocks({"index": ours, "brute": brute}, args.rounds)
        index_s = statistics.median(times["index"]) / len(qs)
        brute_s = statistics.median(times["brute"]) / len(qs)
        result[mode] = {
            "recall_at_10": round(float(np.mean(recalls)), 4),
            "recall_checked_queries": len(truths),
            "index_qps": round(1 / index_s, 1),
            "brute_qps": round(1 / brute_s, 1),
            "ratio": round(brute_s / index_s, 2),
            "index_ms": round(index_s * 1e3, 3),
            "brute_ms": round(brute_s * 1e3, 3),
        }
        print(f"{mode}: recall@10 {result[mode]['recall_at_10']}, index "
              f"{1 / index_s:,.0f} QPS, brute force {1 / brute_s:,.0f} QPS, "
              f"{brute_s / index_s:.1f}x", flush=True)  # fmt: skip

    rng = np.random.default_rng(3)
    removed = rng.choice(args.docs, size=args.docs // 10, replace=False)
    index.remove(removed)
    alive = np.ones(args.docs, dtype=bool)
    alive[removed] = False
    allowed = rng.random(args.docs) < 0.5
    kept = matrix[np.flatnonzero(alive)]
    ref_alive = Reference(kept)
    recalls = []
    for q in qs[: args.checked]:
        scores, _ = index.search(q, np.ones(len(q), dtype=np.float32), K, idf=True,
                                 allowed=allowed)  # fmt: skip
        truth = exact(matrix, q, ref_alive.weights(q, True), alive & allowed)
        recalls.append(recall(scores, truth))
    result["removed_and_filtered"] = {
        "removed": len(removed),
        "allowed_share": 0.5,
        "recall_at_10": round(float(np.mean(recalls)), 4),
    }
    print(f"10% removed + 50% filter: recall@10 {np.mean(recalls):.4f}", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 documents, fewer queries")
    parser.add_argument("--docs", type=int, default=None)
    parser.add_argument("--queries", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--corpus-cache", type=Path, default=None,
                        help="keep the tokenised text here (npz) between runs")  # fmt: skip
    args = parser.parse_args()
    args.docs = args.docs or (100_000 if args.quick else 1_000_000)
    args.queries = args.queries or (100 if args.quick else 300)
    args.checked = min(args.queries, 50 if args.quick else 100)
    args.rounds = 3 if args.quick else 5
    if args.json is None:
        name = "sparse-quick.json" if args.quick else "sparse.json"
        args.json = Path(__file__).parent / "results" / name
    result = run(args)
    private = ("json", "corpus_cache")  # machine paths stay out of the recorded figures
    result["args"] = {k: str(v) for k, v in vars(args).items() if k not in private}
    write_json(args.json, result)


if __name__ == "__main__":
    main()
