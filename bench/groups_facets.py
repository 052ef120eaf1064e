"""Facets and group queries: their latency, and a group query's against a plain query's from the
same run.

    .venv/bin/python -m bench.groups_facets [--points N] [--facet-points N] [--queries Q]
                                            [--json PATH]

1. In process: a keyword index (zoro.payload) over --facet-points payloads (1,000,000 by
   default) holding one of 1,000 values each, 2% of its points deleted; the facet's work
   (zoro.payload.facets: the index's (value, point) pairs, counted over the live mask, the top
   10 sorted) timed Q times, without and with a filter's mask (half the points).
2. Over HTTP: a server with --points points (100,000 by default; 1,000,000 is supported but takes
   long to load on 2 cores), 32-d, Cosine, the default HNSW engine, payload {"k": one of 1,000
   keywords, "half": bool}, keyword indexes on both; loaded 1,000 points per body, then waited
   for (bounded) until every vector is in the graph. Then, from one keep-alive connection:
   - POST /facet {"key": "k"} and the same with a filter (half = true), Q times each;
   - a plain top-10 POST /points/query and a group query (group_by "k", group_size 3, limit 10)
     with the same vectors and ef, interleaved query by query, Q times each.
   p50 / p99 of the client-side latency.

Goals (issue 13): a facet over a 1,000,000-point keyword index at <= 50 ms p99 in process and over
HTTP; a group query's p99 <= 3x a plain query's p99, at the same ef, in the same run.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson

from bench.scratch import in_scratch, write_json
from zoro.payload.conditions import parse_key
from zoro.payload.facets import facet
from zoro.payload.field_index import KeywordIndex
from zoro.testing import ServerProcess

VALUES = 1_000
DIM = 32
BATCH = 1_000


def _stats(samples_s: list[float]) -> dict[str, float]:
    ms = np.array(samples_s) * 1000
    return {
        "n": len(ms),
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
    }


def in_process(points: int, queries: int) -> dict[str, Any]:
    rng = np.random.default_rng(1)
    codes = rng.integers(0, VALUES, size=points)
    index = KeywordIndex(parse_key("k"))
    started = time.perf_counter()
    chunk = 100_000
    for start in range(0, points, chunk):
        slots = range(start, min(points, start + chunk))
        index.add(slots, [{"k": f"v{codes[s]}"} for s in slots])
    built_s = time.perf_counter() - started
    live = rng.random(points) >= 0.02
    half = live & (rng.random(points) < 0.5)
    out: dict[str, Any] = {"points": points, "index_build_s": round(built_s, 2)}
    for case, mask in (("all", live), ("filtered_half", half)):
        samples = []
        for i in range(queries):
            if i == 0:
                index._facets = None  # the first call also makes the flat arrays
            t = time.perf_counter()
            entries = index.facet_entries()
            facet(entries, mask, 10)
            samples.append(time.perf_counter() - t)
        out[case] = {**_stats(samples), "first_ms": round(samples[0] * 1000, 3)}
    return out


def over_http(root: Path, points: int, queries: int) -> dict[str, Any]:
    rng = np.random.default_rng(2)
    with (
        ServerProcess(root / "data") as server,
        httpx.Client(base_url=server.url, timeout=600) as http,
    ):
        http.put("/collections/c", json={"vectors": {"size": DIM, "distance": "Cosine"}})
        started = time.perf_counter()
        for start in range(0, points, BATCH):
            n = min(BATCH, points - start)
            vectors = rng.normal(size=(n, DIM)).astype(np.float32)
            body = {
                "batch": {
                    "ids": list(range(start, start + n)),
                    "vectors": vectors.tolist(),
                    "payloads": [
                        {"k": f"v{int(c)}", "half": bool(h)}
                        for c, h in zip(
                            rng.integers(0, VALUES, n), rng.random(n) < 0.5, strict=True
                        )
                    ],
                }
            }
            r = http.put("/collections/c/points?wait=true", content=orjson.dumps(body))
            r.raise_for_status()
        for key, schema in (("k", "keyword"), ("half", "bool")):
            r = http.put(
                "/collections/c/index?wait=true", json={"field_name": key, "field_schema": schema}
            )
            r.raise_for_status()
        loaded_s = time.perf_counter() - started
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            info = http.get("/collections/c").json()["result"]
            if info["indexed_vectors_count"] >= info["points_count"]:
                break
            time.sleep(1)
        indexed_s = time.perf_counter() - started
        half = {"must": [{"key": "half", "match": {"value": True}}]}

        def timed(path: str, body: dict[str, Any]) -> float:
            content = orjson.dumps(body)
            t = time.perf_counter()
            r = http.post(path, content=content, headers={"content-type": "application/json"})
            elapsed = time.perf_counter() - t
            assert r.status_code == 200, r.text
            return elapsed

        out: dict[str, Any] = {
            "points": points,
            "load_s": round(loaded_s, 1),
            "indexed_s": round(indexed_s, 1),
        }
        for case, body in (
            ("facet", {"key": "k"}),
            ("facet_filtered", {"key": "k", "filter": half}),
        ):
            timed("/collections/c/facet", body)  # warm
            out[case] = _stats([timed("/collections/c/facet", body) for _ in range(queries)])
        plain, grouped = [], []
        ef = {"hnsw_ef": 64}
        for i in range(queries + 10):
            q = rng.normal(size=DIM).astype(np.float32).tolist()
            a = timed("/collections/c/points/query", {"query": q, "limit": 10, "params": ef})
            b = timed(
                "/collections/c/points/query/groups",
                {"query": q, "group_by": "k", "group_size": 3, "limit": 10, "params": ef},
            )
            if i >= 10:  # the first ones warm up
                plain.append(a)
                grouped.append(b)
        out["plain_query"] = _stats(plain)
        out["group_query"] = _stats(grouped)
        out["group_over_plain_p99"] = round(
            out["group_query"]["p99_ms"] / out["plain_query"]["p99_ms"], 2
        )
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--facet-points", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = {
        "machine": {"python": platform.python_version(), "cpus": 2},
        "in_process": in_process(args.facet_points, args.queries),
        "http": in_scratch("zoro-groups-", lambda root: over_http(root, args.points, args.queries)),
    }
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    write_json(args.json, result)


if __name__ == "__main__":
    main()
