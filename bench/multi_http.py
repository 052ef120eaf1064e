"""What the issue-12 HTTP benches share: a real `zoro serve` on 127.0.0.1 and a free port, waiting
until every named vector's index is built, and wrk rounds interleaved between targets so that the
machine's drift hits a figure and its reference alike.

Used by bench/named_vectors.py, bench/sparse_http.py and bench/hybrid.py; the wrk runner, the
ingest loop and the machine record come from bench/http.py.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from bench.http import WrkRun, collection_info, py_spy, summarise_stacks, wrk, wrk_background
from zoro.actors.builders import IDLE_SEAL_MIN_POINTS
from zoro.testing import ServerProcess

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence


@contextlib.contextmanager
def serve(
    root: Path, overrides: Sequence[str] = ()
) -> Iterator[tuple[ServerProcess, httpx.Client]]:
    """A Zoro server on a data directory under `root` (with `zoro serve --set` overrides), and
    a client bound to it; stopped with SIGTERM afterwards (its log stays in `root`)."""
    data = root / "data"
    data.mkdir()
    extra = tuple(arg for setting in overrides for arg in ("--set", setting))
    server = ServerProcess(data, log_path=root / "server.log", extra_args=extra)
    server.start(timeout_s=60)
    try:
        with httpx.Client(base_url=server.url, timeout=120) as client:
            yield server, client
    finally:
        server.stop(timeout_s=120)


def index_states(info: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each dense vector's index state by number ("0" alone for a one-vector collection)."""
    index: dict[str, Any] = info["zoro"]["index"]
    by_number: dict[str, dict[str, Any]] = index.get("vectors") or {"0": index}
    return by_number


def _settled(state: dict[str, Any]) -> bool:
    return (
        not state["job_running"]
        and not state["frozen_points"]
        and state["fresh_points"] < IDLE_SEAL_MIN_POINTS
    )


def wait_indexed(client: httpx.Client, name: str, timeout_s: float) -> float:
    """Wait until no dense vector of `name` has a build running or a fresh segment worth
    sealing; returns the seconds waited."""
    started = time.monotonic()
    deadline = started + timeout_s
    states: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        states = index_states(collection_info(client, name))
        if all(_settled(s) for s in states.values()):
            return time.monotonic() - started
        time.sleep(1.0)
    raise RuntimeError(f"collection {name} still indexing after {timeout_s} s: {states}")


def segments(client: httpx.Client, name: str) -> dict[str, str]:
    """A short picture of each vector's index: sealed segments (kind:points) + fresh points."""
    out = {}
    for number, state in index_states(collection_info(client, name)).items():
        sealed = [f"{s['kind']}:{s['points']}" for s in state.get("sealed", [])]
        out[number] = " ".join([*sealed, f"fresh:{state['fresh_points']}"])
    return out


def wrk_rounds(
    url: str, targets: dict[str, list[str]], conns: int, seconds: float, rounds: int
) -> dict[str, list[WrkRun]]:
    """`rounds` rounds of every target in turn (bodies.lua args per target), same connections."""
    runs: dict[str, list[WrkRun]] = {name: [] for name in targets}
    for _ in range(rounds):
        for name, args in targets.items():
            runs[name].append(wrk(name, url, args, conns, seconds))
    return runs


def median_run(runs: list[WrkRun]) -> WrkRun:
    """The run with the median req/s (the lower middle one for an even count)."""
    ordered = sorted(runs, key=lambda r: r.rps)
    return ordered[(len(ordered) - 1) // 2]


def paired_ratio(runs: dict[str, list[WrkRun]], name: str, reference: str) -> float:
    """Median over rounds of name's req/s over the reference's req/s in the same round."""
    pairs = zip(runs[name], runs[reference], strict=True)
    return statistics.median(a.rps / b.rps for a, b in pairs if b.rps > 0)


def runs_json(runs: dict[str, list[WrkRun]]) -> dict[str, Any]:
    return {
        name: {"median": asdict(median_run(rs)), "rounds": [asdict(r) for r in rs]}
        for name, rs in runs.items()
    }


def load() -> float:
    return round(os.getloadavg()[0], 2)


@contextlib.contextmanager
def profiling(pid: int, out: Path) -> Iterator[dict[str, Any]]:
    """py-spy raw stacks of `pid` for as long as the block runs (stopped by SIGINT, which makes
    py-spy write what it has); the yielded dict gets the top shares afterwards."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    command = [spy, "record", "--pid", str(pid), "-r", "100", "--format", "raw", "-o", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    summary: dict[str, Any] = {"raw_file": out.name}
    try:
        time.sleep(1)
        yield summary
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=120)
    summary.update(summarise_stacks(out, top=25))


def profile_under_load(
    pid: int, url: str, args: list[str], conns: int, seconds: float, out: Path
) -> dict[str, Any]:
    """py-spy's raw stacks of the server while wrk sends `args`' bodies, and the top shares."""
    load_run = wrk_background(url, args, conns, seconds + 6)
    time.sleep(2)
    py_spy(pid, out, seconds, "raw").wait(timeout=seconds + 60)
    load_run.wait(timeout=seconds + 60)
    summary = summarise_stacks(out, top=25)
    return {"raw_file": out.name, **summary}
