"""Full-text filters over HTTP: a text payload index against scanning the payloads, beside a
keyword index's exact match, all from the same run.

    .venv/bin/python -m bench.full_text [--quick] [--docs N] [--repeats R] [--json PATH]

Data: N documents (100,000; 20,000 with --quick), each a `title` of 6-20 words drawn from a
Zipf-like vocabulary of 20,000 words (seeded), and a `kind` keyword (one of 100); 4-dimension
vectors (the filters are what is measured). Queries, POST /points/count with exact=true:

    rare word        text, one word of rank ~5,000
    two common       text, two words of rank ~10 and ~30
    any of three     text_any, three words of rank ~200
    phrase           phrase, two words that follow each other in some documents
    keyword          match value on `kind` (keyword index): the same-run reference

1. Load the documents (1,000 per request), keyword index on `kind`; each text query R times
   (5; 3 with --quick; each time with other words of the same ranks, as the server keeps the
   answer of a filter until the next write) without a text index: the payload scan. Median
   latency per kind of query.
2. PUT a text index on `title` (phrase_matching) with wait=true, timed; the same queries again,
   and their answers must equal the scan's. The index's memory from the collection info.

Figures: each text query's latency with the index over its scan latency (lower is better), and
over the keyword match's latency (how far a text lookup is from an exact-value lookup).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.scratch import in_scratch, write_json
from zoro.testing import ServerProcess

VOCABULARY = 20_000
BATCH = 1_000


def _corpus(n: int, seed: int = 11) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, VOCABULARY + 1)
    weights /= weights.sum()
    lengths = rng.integers(6, 21, size=n)
    words = rng.choice(VOCABULARY, size=int(lengths.sum()), p=weights)
    titles, at = [], 0
    for length in lengths.tolist():
        titles.append(" ".join(f"w{w}" for w in words[at : at + length].tolist()))
        at += length
    kinds = [f"k{k}" for k in rng.integers(0, 100, size=n).tolist()]
    return titles, kinds


def _queries(titles: list[str], repeats: int) -> dict[str, list[dict[str, Any]]]:
    """Each kind of query, `repeats` times with other words: the server keeps the answer of a
    filter it has just run (until the next write), so a repeated filter would time that cache."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in range(repeats):
        words = titles[r].split()
        for name, condition in {
            "rare word": {"key": "title", "match": {"text": f"w{5000 + r}"}},
            "two common": {"key": "title", "match": {"text": f"w{9 + r} w{29 + r}"}},
            "any of three": {
                "key": "title",
                "match": {"text_any": f"w{200 + 3 * r} w{201 + 3 * r} w{202 + 3 * r}"},
            },
            "phrase": {"key": "title", "match": {"phrase": f"{words[0]} {words[1]}"}},
            "keyword": {"key": "kind", "match": {"value": f"k{7 + r}"}},
        }.items():
            out.setdefault(name, []).append(condition)
    return out


def _count(http: httpx.Client, condition: dict[str, Any]) -> tuple[int, float]:
    started = time.perf_counter()
    r = http.post(
        "/collections/t/points/count", json={"filter": {"must": [condition]}, "exact": True}
    )
    elapsed = time.perf_counter() - started
    r.raise_for_status()
    return int(r.json()["result"]["count"]), elapsed


def _phase(
    http: httpx.Client, queries: dict[str, list[dict[str, Any]]]
) -> dict[str, dict[str, Any]]:
    out = {}
    for name, conditions in queries.items():
        counts, times = [], []
        for condition in conditions:
            count, elapsed = _count(http, condition)
            counts.append(count)
            times.append(elapsed)
        out[name] = {"counts": counts, "median_ms": statistics.median(times) * 1000}
    return out


def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    titles, kinds = _corpus(args.docs)
    queries = _queries(titles, args.repeats)
    with ServerProcess(root / "data") as proc, httpx.Client(base_url=proc.url, timeout=600) as http:
        r = http.put("/collections/t", json={"vectors": {"size": 4, "distance": "Dot"}})
        r.raise_for_status()
        started = time.perf_counter()
        for start in range(0, args.docs, BATCH):
            points = [
                {"id": i, "vector": [1.0, i % 7, 0.5, 1.0], "payload": {"title": t, "kind": k}}
                for i, (t, k) in enumerate(
                    zip(titles[start : start + BATCH], kinds[start : start + BATCH], strict=True),
                    start=start,
                )
            ]
            http.put("/collections/t/points?wait=true", json={"points": points}).raise_for_status()
        load_s = time.perf_counter() - started
        body = {"field_name": "kind", "field_schema": "keyword"}
        http.put("/collections/t/index?wait=true", json=body).raise_for_status()
        scan = _phase(http, queries)
        started = time.perf_counter()
        body = {"field_name": "title", "field_schema": {"type": "text", "phrase_matching": True}}
        http.put("/collections/t/index?wait=true", json=body).raise_for_status()
        build_s = time.perf_counter() - started
        indexed = _phase(http, queries)
        info = http.get("/collections/t").json()["result"]["zoro"]["payload_indexes"]["title"]
    keyword_ms = indexed["keyword"]["median_ms"]
    figures = {}
    for name in queries:
        if name == "keyword":
            continue
        assert indexed[name]["counts"] == scan[name]["counts"], name
        figures[name] = {
            "median_count": statistics.median(indexed[name]["counts"]),
            "scan_ms": round(scan[name]["median_ms"], 2),
            "indexed_ms": round(indexed[name]["median_ms"], 2),
            "indexed_over_scan": round(indexed[name]["median_ms"] / scan[name]["median_ms"], 4),
            "indexed_over_keyword": round(indexed[name]["median_ms"] / keyword_ms, 2),
        }
    return {
        "docs": args.docs,
        "repeats": args.repeats,
        "load_s": round(load_s, 1),
        "text_index_build_s": round(build_s, 2),
        "text_index_memory_mb": round(info["memory_bytes"] / 2**20, 1),
        "text_index_entries": info["entries"],
        "keyword_ms": round(keyword_ms, 2),
        "queries": figures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20,000 documents, 3 repeats")
    parser.add_argument("--docs", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    args.docs = args.docs or (20_000 if args.quick else 100_000)
    args.repeats = args.repeats or (3 if args.quick else 5)
    name = f"full_text{'-quick' if args.quick else ''}.json"
    path = args.json or Path(__file__).parent / "results" / name
    result = in_scratch("zoro-full-text-", lambda root: run(args, root))
    write_json(path, result)
    print(f"wrote {path}")
    for query, figures in result["queries"].items():
        print(f"{query:14} {figures}")


if __name__ == "__main__":
    main()
