"""Facets and group queries: their latency, and a group query's against a plain query's from the
same run.

    .venv/bin/python -m bench.groups_facets [--points N] [--facet-points N] [--queries Q]
                                            [--json PATH]

1. In process: a keyword index (zoro.payload) over --facet-points payloads (1,000,000 by
   default) holding one of 1,000 values each, 2% of its points deleted; the facet's work
   (zoro.payload.facets: the index's (value, point) pairs, counted over the live mask, the top
   10 sorted) timed Q times, without and with a filter's mask (half the points).
2. Over HTTP, one server, one keep-alive connection; payloads {"k": one of 1,000 keywords,
   "half": bool} with a keyword and a bool index:
   - facets: --facet-points points (1,000,000) of 2-d vectors in a flat engine (a facet reads
     only the payload index; tiny vectors load in seconds), 10,000 per body; POST /facet
     {"key": "k"} and the same with a filter (half = true), Q times each;
   - groups: --points points (100,000 by default; 1,000,000 is supported but its HNSW build
     takes long on 2 cores), 32-d, Cosine, the default HNSW engine, 1,000 per body, then waited
     for (bounded) until every vector is in the graph; a plain top-10 POST /points/query and a
     group query (group_by "k", group_size 3, limit 10) with the same vectors and ef 64,
     interleaved query by query, Q times each.
   p50 / p99 / min of the client-side latency.

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
        "min_ms": round(float(ms.min()), 3),
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


def _load(http: httpx.Client, name: str, points: int, dim: int, *, flat: bool) -> float:
    """Create collection `name` and load `points` random vectors with payload {"k": one of
    1,000 keywords, "half": bool}; index both keys. Returns the seconds it took."""
    rng = np.random.default_rng(2)
    body: dict[str, Any] = {"vectors": {"size": dim, "distance": "Cosine"}}
    if flat:
        body["zoro"] = {"engine": "flat"}
    http.put(f"/collections/{name}", json=body).raise_for_status()
    started = time.perf_counter()
    batch = BATCH if not flat else 10 * BATCH
    for start in range(0, points, batch):
        n = min(batch, points - start)
        keys = rng.integers(0, VALUES, n)
        halves = rng.random(n) < 0.5
        body = {
            "batch": {
                "ids": list(range(start, start + n)),
                "vectors": rng.normal(size=(n, dim)).astype(np.float32).tolist(),
                "payloads": [
                    {"k": f"v{int(c)}", "half": bool(h)} for c, h in zip(keys, halves, strict=True)
                ],
            }
        }
        r = http.put(f"/collections/{name}/points?wait=true", content=orjson.dumps(body))
        r.raise_for_status()
    for key, schema in (("k", "keyword"), ("half", "bool")):
        r = http.put(
            f"/collections/{name}/index?wait=true",
            json={"field_name": key, "field_schema": schema},
        )
        r.raise_for_status()
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:  # until every vector is in the graph
        info = http.get(f"/collections/{name}").json()["result"]
        if flat or info["indexed_vectors_count"] >= info["points_count"]:
            break
        time.sleep(1)
    return time.perf_counter() - started


def _timer(http: httpx.Client) -> Any:
    def timed(path: str, body: dict[str, Any]) -> float:
        content = orjson.dumps(body)
        t = time.perf_counter()
        r = http.post(path, content=content, headers={"content-type": "application/json"})
        elapsed = time.perf_counter() - t
        assert r.status_code == 200, r.text
        return elapsed

    return timed


_HALF = {"must": [{"key": "half", "match": {"value": True}}]}


def over_http(root: Path, points: int, facet_points: int, queries: int) -> dict[str, Any]:
    rng = np.random.default_rng(3)
    with (
        ServerProcess(root / "data") as server,
        httpx.Client(base_url=server.url, timeout=600) as http,
    ):
        timed = _timer(http)
        out: dict[str, Any] = {}
        # facets over a large collection: 2-d vectors in a flat engine load fast, and a facet
        # reads only the payload index
        loaded = _load(http, "f", facet_points, 2, flat=True)
        facets: dict[str, Any] = {"points": facet_points, "load_s": round(loaded, 1)}
        for case, body in (("all", {"key": "k"}), ("filtered_half", {"key": "k", "filter": _HALF})):
            timed("/collections/f/facet", body)  # warm
            facets[case] = _stats([timed("/collections/f/facet", body) for _ in range(queries)])
        out["facet"] = facets
        http.delete("/collections/f").raise_for_status()

        loaded = _load(http, "c", points, DIM, flat=False)
        groups: dict[str, Any] = {"points": points, "load_and_index_s": round(loaded, 1)}
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
        groups["plain_query"] = _stats(plain)
        groups["group_query"] = _stats(grouped)
        groups["group_over_plain_p99"] = round(
            groups["group_query"]["p99_ms"] / groups["plain_query"]["p99_ms"], 2
        )
        out["groups"] = groups
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
        "http": in_scratch(
            "zoro-groups-",
            lambda root: over_http(root, args.points, args.facet_points, args.queries),
        ),
    }
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    write_json(args.json, result)


if __name__ == "__main__":
    main()
