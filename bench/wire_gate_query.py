"""The read routes' wire gate (docs/wire-schema.md, step 5): the query and search routes' QPS
with the request checked by its schema (zoro.wire.query, zoro.wire.search) must stay >= 0.95x
the pre-conversion code's.

    PYTHONPATH=. .venv/bin/python -m bench.wire_gate_query [--base REV] [--rounds R] [--json PATH]

What is timed, for a Cosine collection of one unnamed 128-d vector, is what the route does
before the actor is asked anything: the body's bytes -> orjson.loads (zoro.http.codec.parse) ->
the route's checks and conversion into a search.Plan (search.query_plan, and for the converted
tree zoro.wire.check first). Bodies:

- query: one 128-d `query` with a one-condition `filter` and `with_payload` (POST /points/query);
- batch: 100 such queries (POST /points/query/batch; before conversion search.batch_searches
  checked the list, after it the batch's schema does);
- search and search_batch: the same as the older search route's bodies (`vector` for `query`;
  search.search_plan, and the search batch's plans).

Both trees run side by side in the same run: this checkout, and REV (the code before the
conversion) extracted with `git archive REV | tar -x` into a
scratch directory (default REV: main just before the first hot route's conversion); each in
its own worker process (PYTHONPATH at its tree) that times the same
bodies. Within a round the two workers take turns in short blocks (the order flipping block by
block), so both meet the same load on a shared machine; a round's figure is each worker's
median call over its `reps` calls (a twentieth as many batches), its ratio the base's time
over this tree's (this tree's QPS relative to the base's), and the result the median ratio
over the rounds, with the lowest and highest. Before timing, both workers' plans are checked
equal.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson

DIM = 128
BATCH = 100
GATE = 0.95
_HERE = Path(__file__).resolve()
_ROOT = _HERE.parent.parent


def bodies(seed: int = 7) -> dict[str, bytes]:
    rng = np.random.default_rng(seed)

    def one_query() -> dict[str, Any]:
        return {
            "query": rng.standard_normal(DIM, dtype=np.float32).tolist(),
            "filter": {"must": [{"key": "color", "match": {"value": "red"}}]},
            "with_payload": True,
            "limit": 10,
        }

    def one_search() -> dict[str, Any]:
        body = one_query()
        body["vector"] = body.pop("query")
        return body

    return {
        "query": orjson.dumps(one_query()),
        "batch": orjson.dumps({"searches": [one_query() for _ in range(BATCH)]}),
        "search": orjson.dumps(one_search()),
        "search_batch": orjson.dumps({"searches": [one_search() for _ in range(BATCH)]}),
    }


# ---------------------------------------------------------------- the worker (either tree)


def _worker() -> None:
    """Runs with PYTHONPATH at one tree: plans the bodies as that tree's route does, answers
    the parent's commands on stdin ("digest"; "block NAME N": N timed calls) with one JSON line
    each."""
    from dataclasses import dataclass

    from zoro.http import codec
    from zoro.services import prefetch, search
    from zoro.settings import LimitSettings
    from zoro.types import Distance, VectorConfig
    from zoro.wire import requests

    limits = LimitSettings()

    class Actor:  # what the services read of an actor before its message
        vectors = VectorConfig.single(DIM, Distance.COSINE)

    @dataclass(frozen=True)
    class Ctx:
        limits: LimitSettings

    actor: Any = Actor()
    ctx: Any = Ctx(limits)
    converted = "query_points" in requests.REQUESTS

    if converted:
        from zoro.wire.check import check

        def plan_query(raw: bytes) -> Any:
            body = check("query_points", codec.parse(raw), limits)
            assert not prefetch.wanted(body)
            return search.query_plan(actor, body, ctx)

        def plan_batch(raw: bytes) -> Any:
            searches = check("query_batch_points", codec.parse(raw), limits)["searches"]
            return [
                search.query_plan(actor, s, ctx, f"searches[{i}]") for i, s in enumerate(searches)
            ]

    else:

        def plan_query(raw: bytes) -> Any:
            body = codec.parse(raw)
            assert not prefetch.wanted(body)
            return search.query_plan(actor, body, ctx)

        def plan_batch(raw: bytes) -> Any:
            searches = search.batch_searches(codec.parse(raw), ctx)
            return [
                search.query_plan(actor, s, ctx, f"searches[{i}]") for i, s in enumerate(searches)
            ]

    def plan_search(raw: bytes) -> Any:
        return search.search_plan(actor, codec.parse(raw), ctx)

    def plan_search_batch(raw: bytes) -> Any:
        if converted:
            return search.search_batch_plans(actor, codec.parse(raw), ctx)
        searches = search.batch_searches(codec.parse(raw), ctx)
        plan: Any = search.search_plan  # (the base tree's takes the error root fourth)
        return [plan(actor, s, ctx, f"searches[{i}]") for i, s in enumerate(searches)]

    paths = {
        "query": plan_query,
        "batch": plan_batch,
        "search": plan_search,
        "search_batch": plan_search_batch,
    }
    data = {k: Path(v).read_bytes() for k, v in json.loads(sys.argv[2]).items()}

    def digest(plan: Any) -> list[Any]:
        return [
            float(np.asarray(plan.query, dtype=np.float64).sum()),
            plan.limit,
            plan.offset,
            plan.score_threshold,
            repr(plan.selector),
            plan.with_vector,
            plan.ef,
            plan.exact,
            repr(plan.filter),
            plan.mmr,
        ]

    for line in sys.stdin:
        command = line.split()
        if command[0] == "digest":
            out: Any = {
                "converted": converted,
                "query": digest(plan_query(data["query"])),
                "batch": [digest(p) for p in plan_batch(data["batch"])],
                "search": digest(plan_search(data["search"])),
                "search_batch": [digest(p) for p in plan_search_batch(data["search_batch"])],
            }
        else:
            fn, body = paths[command[1]], data[command[1]]
            out = []
            for _ in range(int(command[2])):
                start = time.perf_counter()
                fn(body)
                out.append(time.perf_counter() - start)
        print(json.dumps(out, default=str), flush=True)


# ---------------------------------------------------------------- the parent


class _Worker:
    def __init__(self, tree: Path, data: dict[str, str]) -> None:
        env = {**os.environ, "PYTHONPATH": str(tree)}
        self.proc = subprocess.Popen(
            [sys.executable, str(_HERE), "--worker", json.dumps(data)],
            cwd=tree,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, command: str) -> Any:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


_BLOCKS = 20  # turns each worker takes per round and body


def _round(base: _Worker, head: _Worker, reps: int) -> dict[str, dict[str, float]]:
    out = {}
    few = max(_BLOCKS, reps // 20)
    for name, calls in (("query", reps), ("batch", few), ("search", reps), ("search_batch", few)):
        times: dict[int, list[float]] = {id(base): [], id(head): []}
        for block in range(_BLOCKS):
            pair = (base, head) if block % 2 == 0 else (head, base)
            for worker in pair:
                times[id(worker)] += worker.ask(f"block {name} {calls // _BLOCKS}")
        b = statistics.median(times[id(base)]) * 1e3
        h = statistics.median(times[id(head)]) * 1e3
        out[name] = {"base_ms": b, "head_ms": h, "ratio": b / h}
    return out


def run(rev: str, rounds: int, reps: int) -> dict[str, Any]:
    from bench.wire_gate import extracted  # (the parent's: workers run in either tree)

    with tempfile.TemporaryDirectory(prefix="wire_gate_query_") as scratch:
        root = Path(scratch)
        base_tree = extracted(rev, root / "base")
        data = {}
        for name, body in bodies().items():
            (root / name).write_bytes(body)
            data[name] = str(root / name)
        base, head = _Worker(base_tree, data), _Worker(_ROOT, data)
        try:
            before, after = base.ask("digest"), head.ask("digest")
            assert not before.pop("converted"), "the base has the converted route"
            assert after.pop("converted"), "this tree lacks the converted route"
            assert before == after, "the two trees plan the bodies differently"
            per_round = [_round(base, head, reps) for _ in range(rounds + 1)][1:]  # 1: warm-up
        finally:
            base.close()
            head.close()
    summary = {}
    for name in ("query", "batch", "search", "search_batch"):
        ratios = [r[name]["ratio"] for r in per_round]
        summary[name] = {
            "base_ms": statistics.median(r[name]["base_ms"] for r in per_round),
            "head_ms": statistics.median(r[name]["head_ms"] for r in per_round),
            "ratio": statistics.median(ratios),
            "low": min(ratios),
            "high": max(ratios),
            "gate_met": statistics.median(ratios) >= GATE,
        }
    return {
        "base": rev,
        "rounds": rounds,
        "reps": reps,
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load": os.getloadavg(),
        "python": platform.python_version(),
        "summary": summary,
        "per_round": per_round,
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker()
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    from bench.wire_gate import BASELINE

    parser.add_argument("--base", default=BASELINE, help="the revision to compare with")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--reps", type=int, default=2_000, help="query calls per round")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = run(args.base, args.rounds, args.reps)
    for name, s in result["summary"].items():
        verdict = "MET" if s["gate_met"] else "NOT MET"
        print(
            f"{name:12} base {s['base_ms']:.4f} ms  head {s['head_ms']:.4f} ms  "
            f"ratio {s['ratio']:.3f}x ({s['low']:.3f}-{s['high']:.3f})  "
            f"goal >= {GATE}x {verdict}"
        )
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
