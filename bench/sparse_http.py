"""Sparse search over HTTP against dense search on the same server, collection and points.

    .venv/bin/python -m bench.sparse_http [--quick] [--docs N] [--seconds S] [--rounds R]
                                          [--json PATH] [--corpus-cache PATH] [--profile]
                                          [--dir DIR] [--set LAYER.FIELD=VALUE ...]

Data: N (1,000,000) points in one collection, each with a dense vector `d` (128-d clustered
float32, bench/http.py's `clustered`, Euclid, HNSW at the server's defaults) and a sparse vector
`s` (`modifier: idf`) holding one real-text document: bench/sparse.py's corpus (every word of
/usr/share/doc and of the Python library, a document a window of 60-140 consecutive tokens,
BM25 term weights, about 50 non-zeros), imported from there. Sparse queries are bench/sparse.py's
too: 3-10 distinct words of another window, value 1.0 each (so scores are BM25 with Qdrant's IDF).
Points go in as 1,000-point `PUT ?wait=true` from 8 connections; the bench then waits until the
dense index is built.

1. Recall@10 of each kind on 100 queries (httpx, untimed): sparse against exact BM25 scores
   (float64 CSR product; scores as the identity, ties interchangeable), dense against FAISS
   IndexFlatL2. The server's own handler time per query (its "time" field) on the same requests.
2. QPS: POST /points/query, limit 10, wrk at 16 connections (bench/wrk/bodies.lua cycling
   through 1,000 bodies of each kind), rounds of dense then sparse; the figure is the median of
   the per-round sparse / dense ratios. Goal: >= 0.7x.

--profile: py-spy raw stacks of the server under the sparse load; top shares in the JSON.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import orjson

from bench.http import (
    DIM,
    F32,
    I64,
    NUMPY,
    clustered,
    exact_top10,
    ingest_http,
    machine_info,
    recall_of,
    write_lines,
)
from bench.multi_http import (
    load,
    median_run,
    paired_ratio,
    profile_under_load,
    runs_json,
    segments,
    serve,
    wait_indexed,
    wrk_rounds,
)
from bench.scratch import in_scratch, write_json
from bench.sparse import documents, queries, recall, token_stream
from zoro.settings import AnnSettings

if TYPE_CHECKING:
    from collections.abc import Callable

    import httpx
    import scipy.sparse as sp

BATCH = 1_000
CONNS = 8
QUERY_CONNS = 16
QUERY_COUNT = 1_000
RECALL_QUERIES = 100
COLLECTION = "h"
ANN = AnnSettings()


@dataclass
class Corpus:
    """One collection's points and the queries sent to it."""

    dense: F32
    dense_queries: F32
    matrix: sp.csr_matrix  # BM25 weights, one row per point
    words: list[I64]  # sparse queries: word ids, value 1.0 each
    info: dict[str, Any]


def make_corpus(docs: int, cache: Path | None) -> Corpus:
    started = time.perf_counter()
    tokens, vocabulary, _ = token_stream(cache)
    matrix = documents(tokens, docs, seed=1)
    words = queries(tokens, QUERY_COUNT, seed=2)
    dense, dense_queries = clustered(docs, QUERY_COUNT, seed=1)
    info = {
        "documents": docs,
        "tokens": len(tokens),
        "vocabulary": vocabulary,
        "nnz_per_doc": round(matrix.nnz / docs, 1),
        "terms_per_query": round(float(np.mean([len(w) for w in words])), 2),
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(f"corpus: {info}", flush=True)
    return Corpus(dense, dense_queries, matrix, words, info)


def _sparse_json(indices: npt.NDArray[Any], values: npt.NDArray[Any]) -> bytes:
    return b'{"indices":%s,"values":%s}' % (
        orjson.dumps(indices.astype(np.int64), option=NUMPY),
        orjson.dumps(values.astype(np.float32), option=NUMPY),
    )


def upsert_bodies(c: Corpus) -> list[bytes]:
    """1,000-point PUT bodies; point i carries dense row i as `d` and document i as `s`."""
    m, out = c.matrix, []
    for start in range(0, len(c.dense), BATCH):
        parts = []
        for i in range(start, min(start + BATCH, len(c.dense))):
            lo, hi = m.indptr[i], m.indptr[i + 1]
            sparse = _sparse_json(m.indices[lo:hi], m.data[lo:hi])
            dense = orjson.dumps(c.dense[i], option=NUMPY)
            parts.append(b'{"id":%d,"vector":{"d":%s,"s":%s}}' % (i, dense, sparse))
        out.append(b'{"points":[' + b",".join(parts) + b"]}")
    return out


def dense_body(q: F32, limit: int = 10) -> bytes:
    return b'{"query":%s,"using":"d","limit":%d}' % (orjson.dumps(q, option=NUMPY), limit)


def sparse_query(words: I64) -> bytes:
    return _sparse_json(words, np.ones(len(words), dtype=np.float32))


def sparse_body(words: I64, limit: int = 10) -> bytes:
    return b'{"query":%s,"using":"s","limit":%d}' % (sparse_query(words), limit)


def load_collection(client: httpx.Client, port: int, c: Corpus) -> dict[str, Any]:
    """Create the collection, PUT every point, wait for the dense index; the ingest's figures."""
    config = {
        "vectors": {"d": {"size": DIM, "distance": "Euclid"}},
        "sparse_vectors": {"s": {"modifier": "idf"}},
        "hnsw_config": {"m": ANN.hnsw_m, "ef_construct": ANN.hnsw_ef_construct},
    }
    client.put(f"/collections/{COLLECTION}", json=config).raise_for_status()
    started = time.perf_counter()
    bodies = upsert_bodies(c)
    built = time.perf_counter() - started
    size = sum(len(b) for b in bodies)
    print(f"{len(bodies)} bodies, {size / 1e6:.0f} MB, built in {built:.0f} s", flush=True)
    result = ingest_http(port, f"/collections/{COLLECTION}/points?wait=true", bodies, CONNS)
    del bodies
    result["body_bytes_per_point"] = size / len(c.dense)
    result["index_wait_s"] = wait_indexed(client, COLLECTION, 3600.0)
    result["segments"] = segments(client, COLLECTION)
    print(
        f"ingest {result['points_per_s']:,.0f} points/s {result['statuses']} (load "
        f"{result['load_1m']:.2f}); dense index built {result['index_wait_s']:.0f} s later: "
        f"{result['segments']}",
        flush=True,
    )
    return result


def post(client: httpx.Client, body: bytes) -> dict[str, Any]:
    response = client.post(
        f"/collections/{COLLECTION}/points/query",
        content=body,
        headers={"content-type": "application/json"},
    )
    response.raise_for_status()
    document: dict[str, Any] = response.json()
    return document


def bm25_truth(m64: sp.csr_matrix, df: I64, words: I64) -> F32:
    """The exact top-10 scores of a query under Qdrant's IDF (float64)."""
    n = m64.shape[0]
    q = np.zeros(m64.shape[1])
    q[words] = np.log1p((n - df[words] + 0.5) / (df[words] + 0.5))
    scores = m64 @ q
    return np.sort(scores[scores > 0])[::-1][:10].astype(np.float32)


def phase_recall(client: httpx.Client, c: Corpus) -> dict[str, Any]:
    m64 = c.matrix.astype(np.float64)
    df = np.bincount(c.matrix.indices, minlength=c.matrix.shape[1])
    sparse_recalls, sparse_us = [], []
    for words in c.words[:RECALL_QUERIES]:
        doc = post(client, sparse_body(words))
        found = np.array([p["score"] for p in doc["result"]["points"]], dtype=np.float32)
        sparse_recalls.append(recall(found, bm25_truth(m64, df, words)))
        sparse_us.append(float(doc["time"]) * 1e6)
    del m64
    sample = c.dense_queries[:RECALL_QUERIES]
    found_ids, dense_us = [], []
    for q in sample:
        doc = post(client, dense_body(q))
        found_ids.append([p["id"] for p in doc["result"]["points"]])
        dense_us.append(float(doc["time"]) * 1e6)
    out = {
        "queries": RECALL_QUERIES,
        "sparse_recall_at_10": round(float(np.mean(sparse_recalls)), 4),
        "dense_recall_at_10": round(recall_of(found_ids, exact_top10(c.dense, sample)), 4),
        "sparse_handler_us_median": round(statistics.median(sparse_us)),
        "dense_handler_us_median": round(statistics.median(dense_us)),
    }
    print(f"recall and handler time: {out}", flush=True)
    return out


def query_files(root: Path, c: Corpus) -> dict[str, list[str]]:
    path = f"/collections/{COLLECTION}/points/query"
    dense = write_lines(root / "dense.txt", [dense_body(q) for q in c.dense_queries])
    sparse = write_lines(root / "sparse.txt", [sparse_body(w) for w in c.words])
    return {"dense": [str(dense), path, "POST"], "sparse": [str(sparse), path, "POST"]}


def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    result: dict[str, Any] = {"machine": machine_info()}
    corpus = make_corpus(args.docs, args.corpus_cache)
    result["corpus"] = corpus.info
    with serve(root, args.set) as (server, client):
        result["ingest"] = load_collection(client, server.port, corpus)
        result["recall"] = phase_recall(client, corpus)
        targets = query_files(root, corpus)
        print(f"query, wrk c={QUERY_CONNS}, {args.seconds:g} s per run, load {load()} ...")
        runs = wrk_rounds(server.url, targets, QUERY_CONNS, args.seconds, args.rounds)
        result["query"] = {
            "conns": QUERY_CONNS,
            "ef": ANN.hnsw_ef_search,
            "runs": runs_json(runs),
            "ratio": paired_ratio(runs, "sparse", "dense"),
        }
        if args.profile:
            assert server.process is not None
            result["profile"] = profile_under_load(
                server.process.pid, server.url, targets["sparse"], QUERY_CONNS, 15,
                root / "sparse.raw.txt",
            )  # fmt: skip
        sparse, dense = median_run(runs["sparse"]), median_run(runs["dense"])
    print(
        f"\n{corpus.info['documents']:,} points: sparse {sparse.rps:,.0f} req/s (p50 "
        f"{sparse.p50_ms:.1f} ms), dense {dense.rps:,.0f} req/s (p50 {dense.p50_ms:.1f} ms): "
        f"{result['query']['ratio']:.2f}x (goal >= 0.7x); recall {result['recall']}"
    )
    return result


def command_line(
    description: str, name: str, run: Callable[[argparse.Namespace, Path], dict[str, Any]]
) -> None:
    """The command line this script and bench/hybrid.py share: parse it, run `run` in a scratch
    directory, write the JSON as bench/results/<name>[-quick].json unless --json says where."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="100,000 documents, 3 s, 1 round")
    parser.add_argument("--docs", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None, help="per wrk run")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--corpus-cache", type=Path, default=None,
                        help="keep the tokenised text here (npz) between runs")  # fmt: skip
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="LAYER.FIELD=VALUE",
        help="a `zoro serve --set` override for the server (repeatable)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument("--dir", type=Path, default=None, help="parent of the scratch directory")
    args = parser.parse_args()
    args.docs = args.docs or (100_000 if args.quick else 1_000_000)
    args.seconds = args.seconds or (3.0 if args.quick else 10.0)
    args.rounds = args.rounds or (1 if args.quick else 3)
    if args.json is None:
        args.json = (
            Path(__file__).parent / "results" / f"{name}{'-quick' if args.quick else ''}.json"
        )
    result = in_scratch(
        f"zoro-{name}-", lambda root: run(args, root), keep=args.keep, parent=args.dir
    )
    private = ("json", "dir", "corpus_cache")  # machine paths stay out of the recorded figures
    result["args"] = {k: str(v) for k, v in vars(args).items() if k not in private}
    write_json(args.json, result)


def main() -> None:
    command_line(__doc__.splitlines()[0], "sparse_http", run)


if __name__ == "__main__":
    main()
