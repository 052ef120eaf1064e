"""The Query API's other queries (by example, by payload order, at random, by filter only) against
a plain nearest query on the same collection, in the same run.

    .venv/bin/python -m bench.query_variants [--quick] [--points N] [--queries Q] [--json PATH]

Data: N points (100,000 by default; 20,000 with --quick), 64-d Gaussian, Cosine (HNSW), payload
`{"price": float, "group": 0..9}` with a float index on `price` and an integer one on `group`,
loaded over HTTP and indexed
before timing. Each kind is sent Q times (150; 60 with --quick) one at a time on one keep-alive
connection, the kinds interleaved query by query so load drifts hit them alike; query i of
every kind is built from the same random point ids and vectors:

- nearest: `{"query": v}` (the reference)
- recommend_average: `{"recommend": {"positive": [a, b]}}`: one nearest search for the average
- recommend_best_score / recommend_sum_scores: positives [a, b], negative [c]
- discover: target a, context pairs (b, c), (d, e); context: pairs (b, c), (d, e)
- order_by: `{"order_by": "price"}` from a random `start_from`; sample: `{"sample": "random"}`
- filter_only: no query, `{"filter": {group = g}}`
- recommend_best_score_filtered: best_score with the filter `group = g` (a tenth of the points)

limit 10 each. Figures per kind: the server's own handler time (its "time" field) and the
client's wall time, p50 and p99, and the ratio of each p50 to nearest's p50 in the same run.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from bench.http import machine_info, wait_indexed
from bench.multi_http import serve

if TYPE_CHECKING:
    import httpx

NAME = "variants"
DIM = 64
BATCH = 1_000
RESULTS = Path(__file__).parent / "results"


def load(client: httpx.Client, n: int) -> dict[str, Any]:
    client.put(f"/collections/{NAME}", json={"vectors": {"size": DIM, "distance": "Cosine"}})
    for field, schema in (("price", "float"), ("group", "integer")):
        client.put(
            f"/collections/{NAME}/index", json={"field_name": field, "field_schema": schema}
        ).raise_for_status()
    rng = np.random.default_rng(1)
    started = time.perf_counter()
    for start in range(0, n, BATCH):
        ids = list(range(start, min(n, start + BATCH)))
        body = {
            "batch": {
                "ids": ids,
                "vectors": rng.normal(size=(len(ids), DIM)).astype(np.float32),
                "payloads": [{"price": float(rng.random() * 1000), "group": i % 10} for i in ids],
            }
        }
        client.put(
            f"/collections/{NAME}/points?wait=true",
            content=orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY),
            headers={"content-type": "application/json"},
        ).raise_for_status()
    loaded_s = time.perf_counter() - started
    index = wait_indexed(client, NAME, 1800.0)
    return {"points": n, "load_s": round(loaded_s, 1), "index": index}


def bodies(n: int, queries: int) -> dict[str, list[bytes]]:
    rng = np.random.default_rng(2)
    kinds: dict[str, list[Any]] = {}
    for _ in range(queries):
        a, b, c, d, e = (int(x) for x in rng.choice(n, 5, replace=False))
        v = rng.normal(size=DIM).astype(np.float32).tolist()
        group = {"must": [{"key": "group", "match": {"value": int(rng.integers(10))}}]}
        pairs = [{"positive": b, "negative": c}, {"positive": d, "negative": e}]
        queries_of = {
            "nearest": {"query": v},
            "recommend_average": {"query": {"recommend": {"positive": [a, b]}}},
            "recommend_best_score": {
                "query": {
                    "recommend": {"positive": [a, b], "negative": [c], "strategy": "best_score"}
                }
            },
            "recommend_sum_scores": {
                "query": {
                    "recommend": {"positive": [a, b], "negative": [c], "strategy": "sum_scores"}
                }
            },
            "recommend_best_score_filtered": {
                "query": {
                    "recommend": {"positive": [a, b], "negative": [c], "strategy": "best_score"}
                },
                "filter": group,
            },
            "discover": {"query": {"discover": {"target": a, "context": pairs}}},
            "context": {"query": {"context": pairs}},
            "order_by": {
                "query": {"order_by": {"key": "price", "start_from": float(rng.random() * 1000)}}
            },
            "sample": {"query": {"sample": "random"}},
            "filter_only": {"filter": group},
        }
        for kind, body in queries_of.items():
            kinds.setdefault(kind, []).append(orjson.dumps({**body, "limit": 10}))
    return kinds


def measure(client: httpx.Client, kinds: dict[str, list[bytes]]) -> dict[str, dict[str, float]]:
    handler: dict[str, list[float]] = {k: [] for k in kinds}
    wall: dict[str, list[float]] = {k: [] for k in kinds}
    path = f"/collections/{NAME}/points/query"
    headers = {"content-type": "application/json"}
    for i in range(len(kinds["nearest"])):
        for kind, body_list in kinds.items():
            started = time.perf_counter()
            response = client.post(path, content=body_list[i], headers=headers)
            wall[kind].append((time.perf_counter() - started) * 1e3)
            response.raise_for_status()
            handler[kind].append(float(response.json()["time"]) * 1e3)
    out = {}
    for kind in kinds:
        out[kind] = {
            "handler_p50_ms": _pct(handler[kind], 50),
            "handler_p99_ms": _pct(handler[kind], 99),
            "wall_p50_ms": _pct(wall[kind], 50),
            "wall_p99_ms": _pct(wall[kind], 99),
        }
    reference = out["nearest"]
    for kind in kinds:
        row = out[kind]
        row["handler_p50_x_nearest"] = round(row["handler_p50_ms"] / reference["handler_p50_ms"], 2)
        row["wall_p50_x_nearest"] = round(row["wall_p50_ms"] / reference["wall_p50_ms"], 2)
    return out


def _pct(values: list[float], q: int) -> float:
    return round(float(np.percentile(values, q)), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 points, 60 queries a kind")
    parser.add_argument("--points", type=int, default=None)
    parser.add_argument("--queries", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    n = args.points or (20_000 if args.quick else 100_000)
    queries = args.queries or (60 if args.quick else 150)
    out = args.json or RESULTS / f"query_variants{'-quick' if args.quick else ''}.json"
    result: dict[str, Any] = {"machine": machine_info(), "queries_per_kind": queries}
    with tempfile.TemporaryDirectory() as scratch, serve(Path(scratch)) as (_, client):
        result["collection"] = load(client, n)
        print(f"loaded {result['collection']}", flush=True)
        kinds = bodies(n, queries)
        measure(client, {k: v[:10] for k, v in kinds.items()})  # warm up
        result["started"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        result["kinds"] = measure(client, kinds)
        result["load_1m_after"] = round(os.getloadavg()[0], 2)
    print(f"\n{'kind':<32}{'handler p50':>12}{'p99':>9}{'wall p50':>10}{'p99':>9}{'x nearest':>10}")
    for kind, row in result["kinds"].items():
        print(
            f"{kind:<32}{row['handler_p50_ms']:10.2f}ms{row['handler_p99_ms']:7.2f}ms"
            f"{row['wall_p50_ms']:8.2f}ms{row['wall_p99_ms']:7.2f}ms"
            f"{row['wall_p50_x_nearest']:9.2f}x"
        )
    out.write_text(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
