"""The hot write's gate for a route converted to zoro.wire: the upsert service path of this tree
against another revision's (by default BASELINE: main just before the first hot route moved to
zoro.wire), in the same run, as relative QPS.

    PYTHONPATH=. .venv/bin/python -m bench.wire_gate [--baseline REV] [--rounds 15] [--json PATH]

Bodies (bytes, as the HTTP layer receives them), for a Cosine collection of one unnamed 128-d
vector: 1,000 points of 128-d vectors with small payloads (2.6 MB), and 1 such point (a small
write). Each side runs in its own worker process (`python -P this_file --worker` with PYTHONPATH
at its tree; the baseline's is `git archive REV` extracted to a temporary directory) and times
`zoro.http.codec.parse` + `zoro.services.points.upsert` up to what it hands the actor (a stand-in
actor whose `write` returns at once). The workers take turns round by round (the first one
alternating), so a change in the machine's load hits both alike; a round's figure is each
side's median call, its ratio the baseline's time over this tree's (QPS relative to the
baseline; the gate is >= 0.95x), and the result the median ratio over the rounds with the
lowest and highest. Both sides' outputs (keys, vectors, payloads) are checked equal first.

Only the standard library, numpy and orjson are imported at the top: the same file runs as the
worker against a tree that does not hold it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson

DIM = 128
CASES = {"upsert_1000": 1_000, "upsert_1": 1}
# calls per round: about the same wall time for each case
REPS = {"upsert_1000": 20, "upsert_1": 1_000}
ROOT = Path(__file__).resolve().parent.parent


def body(n: int, seed: int = 7) -> bytes:
    rng = np.random.default_rng(seed)
    points = [
        {
            "id": i,
            "vector": rng.standard_normal(DIM, dtype=np.float32).tolist(),
            "payload": {"color": ["red", "green", "blue"][i % 3], "n": i},
        }
        for i in range(n)
    ]
    return orjson.dumps({"points": points})


# ---------------------------------------------------------------- the worker (either tree)


def worker(stdin: IO[str], stdout: IO[str]) -> None:
    """Answers `digest CASE` and `round CASE REPS` lines, one JSON line each."""
    from dataclasses import dataclass

    from zoro.http import codec
    from zoro.services import points
    from zoro.settings import Settings
    from zoro.types import Distance, VectorConfig

    class Actor:
        vectors = VectorConfig.single(DIM, Distance.COSINE)
        last: Any = None

        async def write(self, op: Any) -> int:
            self.last = op
            return 1

    class Manager:
        def __init__(self, actor: Actor) -> None:
            self.actor = actor

        def serving(self, name: str) -> Actor:
            return self.actor

    @dataclass(frozen=True)
    class Ctx:
        manager: Manager
        limits: Any

    actor = Actor()
    ctx: Any = Ctx(Manager(actor), Settings().limits)
    bodies = {case: body(n) for case, n in CASES.items()}

    def call(data: bytes) -> Any:
        coro = points.upsert(ctx, "c", codec.parse(data), wait=True)
        try:
            coro.send(None)
        except StopIteration:
            return actor.last
        raise AssertionError("the service suspended")

    for line in stdin:
        command, case, *rest = line.split()
        data = bodies[case]
        if command == "digest":
            op = call(data)
            digest = hashlib.sha256(np.asarray(op.keys).tobytes())
            digest.update(np.ascontiguousarray(op.vectors).tobytes())
            for payload in op.payloads:
                digest.update(orjson.dumps(orjson.loads(payload), option=orjson.OPT_SORT_KEYS))
            answer: Any = digest.hexdigest()
        else:
            samples = []
            for _ in range(int(rest[0])):
                started = time.perf_counter()
                call(data)
                samples.append(time.perf_counter() - started)
            answer = statistics.median(samples)
        stdout.write(json.dumps(answer) + "\n")
        stdout.flush()


# ---------------------------------------------------------------- the driver


class Side:
    def __init__(self, name: str, tree: Path) -> None:
        self.name = name
        env = {**os.environ, "PYTHONPATH": str(tree)}
        # -P: the bench directory (it holds an http.py) stays off sys.path
        self.process = subprocess.Popen(
            [sys.executable, "-P", str(Path(__file__).resolve()), "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tempfile.gettempdir(),
        )

    def ask(self, line: str) -> Any:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        if not answer:
            raise RuntimeError(f"{self.name}'s worker ended")
        return json.loads(answer)

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


BASELINE = "692792c"  # main just before the first hot route moved to zoro.wire (issue 13)


def extracted(revision: str, into: Path) -> Path:
    """The tree of `revision` (git archive), extracted under `into`."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def measure(baseline: str, rounds: int, scale: float) -> dict[str, Any]:
    rev = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", baseline],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    scratch = Path(tempfile.mkdtemp(prefix="wire_gate_"))
    try:
        sides = [Side("this tree", ROOT), Side(f"baseline {rev}", extracted(rev, scratch))]
        try:
            out: dict[str, Any] = {"baseline": rev, "rounds": rounds}
            for case in CASES:
                digests = {side.ask(f"digest {case}") for side in sides}
                assert len(digests) == 1, f"{case}: the two trees hand the actor different data"
                reps = max(3, int(REPS[case] * scale))
                times: dict[str, list[float]] = {side.name: [] for side in sides}
                for r in range(rounds):
                    for side in sides if r % 2 == 0 else sides[::-1]:
                        times[side.name].append(side.ask(f"round {case} {reps}"))
                this, base = times[sides[0].name], times[sides[1].name]
                ratios = [b / t for b, t in zip(base, this, strict=True)]
                out[case] = {
                    "calls_per_round": reps,
                    "this_ms": round(statistics.median(this) * 1e3, 4),
                    "baseline_ms": round(statistics.median(base) * 1e3, 4),
                    "qps_ratio": round(statistics.median(ratios), 3),
                    "qps_ratio_range": [round(min(ratios), 3), round(max(ratios), 3)],
                    "rounds_ratio": [round(x, 3) for x in ratios],
                }
            return out
        finally:
            for side in sides:
                side.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> None:
    if "--worker" in sys.argv:
        worker(sys.stdin, sys.stdout)
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=BASELINE, help="git revision to compare with")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="fewer calls per round")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    baseline = args.baseline
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    result = measure(baseline, max(args.rounds, 1), 0.25 if args.quick else 1.0)
    result["started"] = started
    result["load"] = os.getloadavg()
    for case in CASES:
        r = result[case]
        low, high = r["qps_ratio_range"]
        print(
            f"{case:12} this {r['this_ms']:8.3f} ms  baseline {r['baseline_ms']:8.3f} ms  "
            f"QPS {r['qps_ratio']:.3f}x ({low:.3f}-{high:.3f})  "
            f"{'MET' if r['qps_ratio'] >= 0.95 else 'MISSED'} (>= 0.95x)"
        )
    print(f"baseline {result['baseline']}, {result['rounds']} rounds, load {result['load']}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
