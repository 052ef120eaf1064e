"""Hybrid search (dense + sparse prefetch, RRF fusion) latency against its two single queries.

    .venv/bin/python -m bench.hybrid [--quick] [--docs N] [--seconds S] [--rounds R]
                                     [--json PATH] [--corpus-cache PATH] [--profile] [--dir DIR]
                                     [--set LAYER.FIELD=VALUE ...]

Data: bench/sparse_http.py's collection, loaded the same way (N points, 1,000,000 by default, each
with a 128-d clustered dense vector `d` and a real-text BM25 sparse vector `s` with `modifier:
idf`). Three kinds of POST /points/query, query i of each built from the same dense query i and
sparse query i:

- dense: `{"query": [...], "using": "d", "limit": 20}`
- sparse: `{"query": {"indices", "values"}, "using": "s", "limit": 20}`
- hybrid: `{"prefetch": [the dense query, the sparse query], "query": {"fusion": "rrf"},
  "limit": 10}`: exactly the two single queries as prefetches, fused.

Latency on one connection (wrk -c1, bench/wrk/bodies.lua, each kind walking its 1,000 bodies in
the same order), rounds of dense, sparse, hybrid in turn; a few thousand queries of each in all.
Figure: hybrid p50 over (dense p50 + sparse p50) of the same round, median over rounds.
Goal: <= 1.1x. Beside it, the server's own handler time (its "time" field) per kind, median over
300 queries sent one at a time, untimed by the client.

--profile: py-spy raw stacks of the server under the hybrid load; top shares in the JSON.
"""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING, Any

from bench.http import machine_info, write_lines
from bench.multi_http import load, profile_under_load, runs_json, serve, wrk_rounds
from bench.sparse_http import (
    COLLECTION,
    command_line,
    dense_body,
    load_collection,
    make_corpus,
    post,
    sparse_body,
)

if TYPE_CHECKING:
    import argparse
    from pathlib import Path

    import httpx

    from bench.sparse_http import Corpus

PREFETCH_LIMIT = 20
HANDLER_QUERIES = 300
KINDS = ("dense", "sparse", "hybrid")


def bodies(c: Corpus) -> dict[str, list[bytes]]:
    dense = [dense_body(q, PREFETCH_LIMIT) for q in c.dense_queries]
    sparse = [sparse_body(w, PREFETCH_LIMIT) for w in c.words]
    hybrid = [
        b'{"prefetch":[%s,%s],"query":{"fusion":"rrf"},"limit":10}' % (d, s)
        for d, s in zip(dense, sparse, strict=True)
    ]
    return {"dense": dense, "sparse": sparse, "hybrid": hybrid}


def handler_times(client: httpx.Client, kinds: dict[str, list[bytes]]) -> dict[str, float]:
    """Median of the server's "time" field (µs) per kind, the kinds interleaved query by query."""
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    for i in range(HANDLER_QUERIES):
        for kind, body_list in kinds.items():
            times[kind].append(float(post(client, body_list[i])["time"]) * 1e6)
    return {kind: round(statistics.median(t)) for kind, t in times.items()}


def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    result: dict[str, Any] = {"machine": machine_info(), "prefetch_limit": PREFETCH_LIMIT}
    corpus = make_corpus(args.docs, args.corpus_cache)
    result["corpus"] = corpus.info
    kinds = bodies(corpus)
    path = f"/collections/{COLLECTION}/points/query"
    targets = {
        kind: [str(write_lines(root / f"{kind}.txt", body_list)), path, "POST"]
        for kind, body_list in kinds.items()
    }
    with serve(root, args.set) as (server, client):
        result["ingest"] = load_collection(client, server.port, corpus)
        result["handler_us"] = handler_times(client, kinds)
        print(f"server handler time, median µs: {result['handler_us']}", flush=True)
        print(f"latency, wrk c=1, {args.seconds:g} s per run, load {load()} ...", flush=True)
        runs = wrk_rounds(server.url, targets, 1, args.seconds, args.rounds)
        if args.profile:
            assert server.process is not None
            result["profile"] = profile_under_load(
                server.process.pid, server.url, targets["hybrid"], 1, 15, root / "hybrid.raw.txt"
            )
    per_round = []
    for d, s, h in zip(runs["dense"], runs["sparse"], runs["hybrid"], strict=True):
        per_round.append(
            {
                "dense_p50_ms": d.p50_ms,
                "sparse_p50_ms": s.p50_ms,
                "hybrid_p50_ms": h.p50_ms,
                "ratio": h.p50_ms / (d.p50_ms + s.p50_ms),
                "load_1m": h.load_1m,
            }
        )
    result["latency"] = {
        "runs": runs_json(runs),
        "rounds": per_round,
        "requests": {kind: sum(r.requests for r in runs[kind]) for kind in KINDS},
        "ratio": statistics.median(r["ratio"] for r in per_round),
    }
    print(f"\n{'round':<6} {'dense p50':>10} {'sparse p50':>11} {'hybrid p50':>11} {'ratio':>6}")
    for i, r in enumerate(per_round):
        print(
            f"{i + 1:<6} {r['dense_p50_ms']:8.2f}ms {r['sparse_p50_ms']:9.2f}ms "
            f"{r['hybrid_p50_ms']:9.2f}ms {r['ratio']:6.2f}"
        )
    print(
        f"hybrid / (dense + sparse) p50: {result['latency']['ratio']:.2f}x (goal <= 1.1x); "
        f"requests {result['latency']['requests']}"
    )
    return result


def main() -> None:
    command_line(__doc__.splitlines()[0], "hybrid", run)


if __name__ == "__main__":
    main()
