"""The hot-read gate for converting the search routes to zoro.wire: bytes -> orjson.loads ->
search plans, this tree against an older revision, in turns.

    .venv/bin/python -m bench.wire_gate_search [--base REV] [--rounds R]

REV (default: `git merge-base HEAD main`) is extracted with `git archive` into a temporary folder;
each round runs one worker process per tree (PYTHONPATH there), alternating, and the figure is
the median over the rounds of the base's time over this tree's (>= 0.95x is the goal); a
worker's time for a body is the least of ten chunks' median call. Bodies:
one search of a 128-d vector with a one-condition filter and with_payload, and a batch of 100
such searches, for a Cosine collection of one unnamed 128-d vector. No HTTP, no actor: the
services read only the vector config and the limits before the actor's turn.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WORKER = r"""
import json, statistics, sys, time
from dataclasses import dataclass
import numpy as np, orjson
from zoro.services import search
from zoro.settings import Settings
from zoro.types import Distance, VectorConfig

class Actor:
    vectors = VectorConfig.single(128, Distance.COSINE)

@dataclass(frozen=True)
class Ctx:
    limits: object

ACTOR, CTX = Actor(), Ctx(Settings().limits)
rng = np.random.default_rng(7)

def one():
    return {
        "vector": rng.standard_normal(128).round(6).tolist(),
        "filter": {"must": [{"key": "color", "match": {"value": "red"}}]},
        "with_payload": True,
        "limit": 10,
    }

SINGLE = orjson.dumps(one())
BATCH = orjson.dumps({"searches": [one() for _ in range(100)]})

def single():
    return search.search_plan(ACTOR, orjson.loads(SINGLE), CTX)

if hasattr(search, "search_batch_plans"):
    def batch():
        return search.search_batch_plans(ACTOR, orjson.loads(BATCH), CTX)
else:
    def batch():
        body = orjson.loads(BATCH)
        return [search.search_plan(ACTOR, s, CTX, f"searches[{i}]")
                for i, s in enumerate(search.batch_searches(body, CTX))]

def median_call(fn, calls):
    # the least of ten chunks' medians: a chunk the shared machine's load hit does not count
    for _ in range(max(3, calls // 10)):
        fn()
    chunks = []
    for _ in range(10):
        times = []
        for _ in range(calls // 10):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        chunks.append(statistics.median(times))
    return min(chunks)

print(json.dumps({"single": median_call(single, 2000), "batch": median_call(batch, 60)}))
"""


def _run(tree: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, "-c", WORKER], env=env, cwd=tree, capture_output=True, text=True
    )
    if out.returncode:
        raise SystemExit(out.stderr)
    result: dict[str, float] = json.loads(out.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default=None)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    base = (
        args.base
        or subprocess.check_output(
            ["git", "merge-base", "HEAD", "main"], cwd=ROOT, text=True
        ).strip()
    )
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(
            ["git", "archive", base], cwd=ROOT, capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        ratios: dict[str, list[float]] = {"single": [], "batch": []}
        times: dict[str, dict[str, list[float]]] = {
            "base": {"single": [], "batch": []},
            "head": {"single": [], "batch": []},
        }
        for _ in range(args.rounds):
            old, new = _run(Path(tmp)), _run(ROOT)
            for key in ratios:
                ratios[key].append(old[key] / new[key])
                times["base"][key].append(old[key])
                times["head"][key].append(new[key])
    print(f"base {base[:12]} vs this tree, {args.rounds} rounds (ratio: base time / this tree's)")
    for key, values in ratios.items():
        old_ms = statistics.median(times["base"][key]) * 1e3
        new_ms = statistics.median(times["head"][key]) * 1e3
        print(
            f"{key:>6}: base {old_ms:.4f} ms, this tree {new_ms:.4f} ms, "
            f"ratio {statistics.median(values):.3f}x ({min(values):.3f}-{max(values):.3f})"
        )


if __name__ == "__main__":
    main()
