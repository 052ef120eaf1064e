"""The hot routes' QPS over HTTP against the same server before the wire-schema conversion,
same run (issue 13: query and upsert keep >= 0.95x).

    .venv/bin/python -m bench.wire_gate_http [--baseline REV] [--points N] [--rounds R]
                                             [--seconds S] [--json PATH]

Two servers run side by side on one data set: this tree's, and the baseline revision's (its
files extracted from git into a scratch directory and imported from there). Each round runs
wrk (bench/wrk/bodies.lua) against one, then the other, for each load:

- query: POST /points/query, one 128-d vector, limit 10, 16 connections;
- query with filter and payload: the same with a keyword `match` filter and with_payload;
- upsert x1000: PUT /points?wait=true of 1,000 points (overwrites), 4 connections;
- write x1: PUT /points?wait=true of one new point, 16 connections.

The figure is the median over rounds of current / baseline req/s, each pair back to back; the
order inside a pair alternates by round, so drift in the machine's load hits both alike. Beside
it, the server's CPU time per request (user + system, from /proc), which a busy machine disturbs
far less than req/s.
"""

from __future__ import annotations

import argparse
import contextlib
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
import orjson

from bench.http import (
    NUMPY,
    WrkRun,
    clustered,
    create_collection,
    ingest_http,
    upsert_bodies,
    wait_indexed,
    write_lines,
    wrk,
)
from bench.procfs import tree_cpu_s
from bench.scratch import in_scratch, write_json
from bench.wire_gate import BASELINE, extracted
from zoro.testing import ServerProcess

if TYPE_CHECKING:
    from collections.abc import Iterator

    import numpy.typing as npt

REPO = Path(__file__).resolve().parent.parent
COLORS = ("red", "green", "blue", "amber")


@contextlib.contextmanager
def server(root: Path, name: str, tree: Path | None) -> Iterator[ServerProcess]:
    """`zoro serve` from `tree` (None: this checkout) on its own data directory."""
    env = {"PYTHONPATH": str(tree)} if tree is not None else {}
    process = ServerProcess(
        root / f"data-{name}", env=env, cwd=tree or REPO, log_path=root / f"{name}.log"
    )
    process.start(timeout_s=60)
    try:
        yield process
    finally:
        process.stop()


def load(url: str, data: npt.NDArray[np.float32]) -> None:
    port = int(url.rsplit(":", 1)[1])
    with httpx.Client(base_url=url, timeout=120) as client:
        create_collection(client, "c")
        bodies = [_with_payloads(b) for b in upsert_bodies(data)]
        ingest_http(port, "/collections/c/points?wait=true", bodies, 4)
        r = client.put(
            "/collections/c/index?wait=true",
            json={"field_name": "color", "field_schema": "keyword"},
        )
        r.raise_for_status()
        create_collection(client, "w", engine="flat")
        wait_indexed(client, "c", 600)


def _with_payloads(body: bytes) -> bytes:
    parsed = orjson.loads(body)
    for point in parsed["points"]:
        point["payload"] = {"color": COLORS[point["id"] % len(COLORS)], "n": point["id"]}
    return orjson.dumps(parsed)


def loads(
    root: Path, data: npt.NDArray[np.float32], queries: npt.NDArray[np.float32]
) -> dict[str, tuple[list[str], int]]:
    """Each load's wrk arguments (FILE PATH METHOD [ID_BASE]) and connection count."""
    vectors = [orjson.dumps(q, option=NUMPY) for q in queries]
    plain = write_lines(root / "query.txt", [b'{"query":%s,"limit":10}' % v for v in vectors])
    filtered = write_lines(
        root / "query_filter.txt",
        [
            b'{"query":%s,"limit":10,"with_payload":true,'
            b'"filter":{"must":[{"key":"color","match":{"value":"%s"}}]}}'
            % (v, COLORS[i % len(COLORS)].encode())
            for i, v in enumerate(vectors)
        ],
    )
    upserts = write_lines(root / "upsert.txt", [_with_payloads(b) for b in upsert_bodies(data)])
    writes = write_lines(
        root / "write.txt", [b'{"points":[{"id":__ID__,"vector":%s}]}' % v for v in vectors]
    )
    query = "/collections/c/points/query"
    return {
        "query": ([str(plain), query, "POST"], 16),
        "query filter+payload": ([str(filtered), query, "POST"], 16),
        "upsert x1000": ([str(upserts), "/collections/c/points?wait=true", "PUT"], 4),
        "write x1": ([str(writes), "/collections/w/points?wait=true", "PUT", "10000000"], 16),
    }


def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    data, queries = clustered(args.points, 1_000)
    tree = extracted(args.baseline, root / "baseline-tree")
    plan = loads(root, data[: min(len(data), 20_000)], queries)
    runs: dict[str, list[tuple[tuple[WrkRun, float], tuple[WrkRun, float]]]] = {
        name: [] for name in plan
    }
    with server(root, "current", None) as current, server(root, "baseline", tree) as baseline:
        for process in (current, baseline):
            load(process.url, data)
        print(f"loaded {args.points:,} points into both servers", flush=True)
        for round_no in range(args.rounds):
            for name, (wrk_args, conns) in plan.items():
                order = [("current", current), ("baseline", baseline)]
                if round_no % 2:
                    order.reverse()
                got = {
                    label: _measured(label, name, p, wrk_args, conns, args) for label, p in order
                }
                runs[name].append((got["current"], got["baseline"]))
    figures = {}
    for name, measured in runs.items():
        pairs = [(c, b) for (c, _), (b, _) in measured]
        ratios = [c.rps / b.rps for c, b in pairs]
        # server CPU per request: far steadier than req/s on a shared machine
        cpu_ratios = [c_cpu / b_cpu for (_, c_cpu), (_, b_cpu) in measured]
        figures[name] = {
            "ratio_median": float(np.median(ratios)),
            "ratio_range": [min(ratios), max(ratios)],
            "cpu_per_request_us_current": float(np.median([c for (_, c), _ in measured])),
            "cpu_per_request_us_baseline": float(np.median([b for _, (_, b) in measured])),
            "cpu_ratio_median": float(np.median(cpu_ratios)),
            "current_rps_median": float(np.median([c.rps for c, _ in pairs])),
            "baseline_rps_median": float(np.median([b.rps for _, b in pairs])),
            "rounds": [[asdict(c), asdict(b)] for c, b in pairs],
        }
        print(
            f"{name:<22} current / baseline: {figures[name]['ratio_median']:.3f}x "
            f"(rounds {min(ratios):.3f}-{max(ratios):.3f}); server CPU per request "
            f"{figures[name]['cpu_per_request_us_current']:.0f} / "
            f"{figures[name]['cpu_per_request_us_baseline']:.0f} us = "
            f"{figures[name]['cpu_ratio_median']:.3f}x",
            flush=True,
        )
    return {"baseline": args.baseline, "points": args.points, "figures": figures}


def _measured(
    label: str,
    name: str,
    process: ServerProcess,
    wrk_args: list[str],
    conns: int,
    args: argparse.Namespace,
) -> tuple[WrkRun, float]:
    """One wrk run and the server's CPU time per request in it (µs, user + system)."""
    assert process.process is not None
    before = tree_cpu_s(process.process.pid)
    run = wrk(f"{label} {name}", process.url, wrk_args, conns, args.seconds)
    used = tree_cpu_s(process.process.pid) - before
    return run, used * 1e6 / max(1, run.requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument("--points", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    write_json(args.json, in_scratch("wire_gate_http", lambda root: run(args, root)))


if __name__ == "__main__":
    main()
