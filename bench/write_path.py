"""The fixed cost of one durable write: Zoro's 1-point PUT ?wait=true beside a bare durable
reference and the ping ceiling, at 1 and 16 connections, with the server's CPU per request.

    .venv/bin/python -m bench.write_path [--quick] [--json bench/results/write_path.json]
                                         [--dir DIR] [--rounds R] [--seconds S]
                                         [--profile DIR] [--server-tree DIR]
                                         [--baseline-tree DIR] [--prefill N] [--workers N]

Three servers on 127.0.0.1, each on a free port, started here and stopped by PID:

* `durable` (bench/http_refs.py): the same hypercorn trio configuration, a bare ASGI app that
  orjson-parses the body, appends it to a file, fdatasyncs it and answers, inline.
* `ping` (bench/http_refs.py): the same hypercorn, an empty endpoint (body read and dropped).
* `zoro`: `zoro serve` with one flat 128-d Euclid collection, holding --prefill points (30,000
  by default, written as 1,000-point batches) before the runs: a collection in mid-life, whose
  point index has a delta of new keys to insert into (it merges every 65,536 new keys).

wrk -t1 (bench/wrk/bodies.lua) sends the same body to all three: one new 128-d point per request
(distinct ids), `PUT /collections/w/points?wait=true`, keep-alive, for a fixed time per run. The
runs are interleaved (for each round, for 1 and 16 connections: durable, ping, zoro) and each
figure is the median over rounds, because this machine's load drifts within minutes. CPU per
request is the server's utime + stime delta (/proc/<pid>/stat, all its threads, and its
worker processes with --workers N > 1) over the wrk run divided by the answered requests.
The data directory and the reference's file sit under --dir (default: the current directory;
/tmp may be a tmpfs).

Goals (issue 15): Zoro's writes/s at 1 connection >= 0.8x the bare durable reference's; at 16
connections, Zoro's CPU per write <= the ping ceiling's CPU per request + 0.1 ms.

--baseline-tree DIR: a fourth server, `base`, runs Zoro from another source copy (a directory
holding zoro/ and a COMMIT file, e.g. made with git archive) in the same rounds, so that a change
is measured against what it changes under the same load.

--profile DIR: afterwards, py-spy (non-blocking sampling, 200 Hz) records the Zoro server under
the 1- and then the 16-connection load; DIR gets the raw stacks, a flame graph and the top frames
by self and total time (profile.json).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
import orjson

from bench.curve import metric
from bench.http import (
    NUMPY,
    WrkRun,
    create_collection,
    machine_info,
    ref_process,
    summarise_stacks,
    write_lines,
    wrk,
    wrk_background,
)
from bench.procfs import cpu_by_process_s, cpu_split_since
from bench.restart import server_process, tree_label
from bench.scratch import write_json

if TYPE_CHECKING:
    from collections.abc import Iterator

CONNS = (1, 16)
TARGETS = ("durable", "ping", "zoro")
COLLECTION = "w"
PATH = f"/collections/{COLLECTION}/points?wait=true"
GOAL_X_DURABLE = 0.8
GOAL_CPU_OVER_PING_MS = 0.1


def measure(
    target: str, url: str, pid: int, bodies: Path, conns: int, seconds: float, base: int
) -> dict[str, Any]:
    """One wrk run against one server, with its CPU over the run (and per worker process,
    where there are several)."""
    before = cpu_by_process_s(pid)
    run: WrkRun = wrk(target, url, [str(bodies), PATH, "PUT", str(base)], conns, seconds)
    after = cpu_by_process_s(pid)
    cpu = sum(after.values()) - sum(before.values())  # as tree_cpu_s: exited workers counted
    if run.errors or run.ok == 0:
        raise RuntimeError(f"{target} at {conns} connections answered with errors: {run.errors}")
    return {
        "target": target,
        "conns": conns,
        "writes_per_s": round(run.rps, 1),
        "p50_ms": run.p50_ms,
        "p99_ms": run.p99_ms,
        "answered": run.ok,
        "cpu_s": round(cpu, 3),
        "cpu_ms_per_request": round(1e3 * cpu / run.ok, 4),
        "load_1m": round(run.load_1m, 2),
        **(
            {
                "cpu_ms_per_request_by_process": {
                    name: round(1e3 * cpu_s / run.ok, 4)
                    for name, cpu_s in cpu_split_since(before, after).items()
                }
            }
            if len(after) > 1
            else {}
        ),
    }


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per figure, the median over rounds (the load too)."""
    keys = ("writes_per_s", "p50_ms", "p99_ms", "cpu_ms_per_request", "load_1m")
    out = {k: runs[0][k] for k in ("target", "conns")}
    out.update({k: round(statistics.median(r[k] for r in runs), 4) for k in keys})
    split = [
        r["cpu_ms_per_request_by_process"] for r in runs if "cpu_ms_per_request_by_process" in r
    ]
    if split:
        names = sorted({name for s in split for name in s})
        out["cpu_ms_per_request_by_process"] = {
            name: round(statistics.median(s.get(name, 0.0) for s in split), 4) for name in names
        }
    out["rounds"] = len(runs)
    return out


def prefill(url: str, points: int) -> None:
    """`points` points in 1,000-point batches, ids below the runs' ids."""
    rng = np.random.default_rng(16)
    with httpx.Client(base_url=url, timeout=120) as client:
        for start in range(0, points, 1_000):
            rows = rng.standard_normal((min(1_000, points - start), 128), dtype=np.float32)
            batch = [{"id": start + i, "vector": row} for i, row in enumerate(rows)]
            body = orjson.dumps({"points": batch}, option=NUMPY)
            headers = {"content-type": "application/json"}
            client.put(PATH, content=body, headers=headers).raise_for_status()


@contextlib.contextmanager
def servers(
    root: Path, tree: Path | None, base_tree: Path | None, points: int, workers: int
) -> Iterator[dict[str, tuple[str, int]]]:
    """The servers, each as (URL, PID); stopped on the way out."""
    zoros = {"zoro": server_process(root / "data", root / "server.log", tree, workers)}
    if base_tree is not None:
        zoros["base"] = server_process(root / "base-data", root / "base.log", base_tree, workers)
    with (
        ref_process(root, "durable", "--file", str(root / "durable.log")) as durable,
        ref_process(root, "ping") as ping,
        contextlib.ExitStack() as stack,
    ):
        up = {"durable": durable, "ping": ping}
        for name, zoro in zoros.items():
            zoro.start(timeout_s=60)
            stack.callback(zoro.stop, timeout_s=120)
            assert zoro.process is not None
            with httpx.Client(base_url=zoro.url, timeout=60) as client:
                create_collection(client, COLLECTION, engine="flat")
            prefill(zoro.url, points)
            up[name] = (zoro.url, zoro.process.pid)
        yield up


def profile(out: Path, url: str, pid: int, bodies: Path, seconds: float) -> dict[str, Any]:
    """py-spy on the Zoro server under each load; raw stacks, flame graph, top frames."""
    out.mkdir(parents=True, exist_ok=True)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    found: dict[str, Any] = {}
    for i, conns in enumerate(CONNS):
        args = [str(bodies), PATH, "PUT", str(9 * 10**8 + i * 10**7)]
        load = wrk_background(url, args, conns, seconds + 4)
        time.sleep(1.5)
        raw = out / f"c{conns}.raw.txt"
        for path, fmt in ((raw, "raw"), (out / f"c{conns}.svg", "flamegraph")):
            command = [spy, "record", "--pid", str(pid), "--nonblocking", "-r", "200"]
            command += ["--subprocesses"]  # with workers, the server is their supervisor
            command += ["-d", str(max(1, round(seconds / 2))), "-f", fmt, "-o", str(path)]
            subprocess.run(command, check=True, capture_output=True, timeout=seconds + 60)
        load.wait(timeout=seconds + 60)
        found[f"c{conns}"] = summarise_stacks(raw, top=40)
    (out / "profile.json").write_text(orjson.dumps(found, option=orjson.OPT_INDENT_2).decode())
    return found


def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    rounds = args.rounds or (1 if args.quick else 3)
    seconds = args.seconds or (3.0 if args.quick else 6.0)
    rng = np.random.default_rng(15)
    vectors = rng.standard_normal((1_000, 128), dtype=np.float32)
    lines = [
        b'{"points":[{"id":__ID__,"vector":%s}]}' % orjson.dumps(v, option=NUMPY) for v in vectors
    ]
    bodies = write_lines(root / "write.txt", lines)
    tree = args.server_tree.resolve() if args.server_tree else None
    base_tree = args.baseline_tree.resolve() if args.baseline_tree else None
    targets = TARGETS + (("base",) if base_tree else ())
    result: dict[str, Any] = {
        "machine": machine_info(),
        "quick": args.quick,
        "seconds": seconds,
        "rounds": rounds,
        "prefill": args.prefill,
        "workers": args.workers,
        "server_tree": tree_label(tree),
        "baseline_tree": tree_label(base_tree) if base_tree else None,
    }
    runs: list[dict[str, Any]] = []
    with servers(root, tree, base_tree, args.prefill, args.workers) as up:
        zoro_url = up["zoro"][0]
        records0 = metric(zoro_url, "zoro_wal_records_total", COLLECTION)
        syncs0 = metric(zoro_url, "zoro_wal_syncs_total", COLLECTION)
        base = 10**7
        for r in range(rounds):
            print(f"round {r + 1}/{rounds}", flush=True)
            for conns in CONNS:
                for target in targets:
                    url, pid = up[target]
                    base += 10**7
                    runs.append(measure(target, url, pid, bodies, conns, seconds, base))
        records = metric(zoro_url, "zoro_wal_records_total", COLLECTION) - records0
        syncs = metric(zoro_url, "zoro_wal_syncs_total", COLLECTION) - syncs0
        # with workers, each /metrics read reaches whichever worker took the connection, and
        # only the owner writes the WAL
        one = args.workers == 1
        result["zoro_writes_per_sync"] = round(records / max(syncs, 1.0), 2) if one else None
        if args.profile is not None:
            url, pid = up["zoro"]
            profile(args.profile, url, pid, bodies, 2 * seconds if args.quick else 20.0)
    result["runs"] = runs
    figures = {
        f"{t}_c{c}": median_of([x for x in runs if x["target"] == t and x["conns"] == c])
        for c in CONNS
        for t in targets
    }
    result["figures"] = figures
    z1, d1 = figures["zoro_c1"], figures["durable_c1"]
    z16, p16 = figures["zoro_c16"], figures["ping_c16"]
    result["goals"] = {
        "x_durable_c1": round(z1["writes_per_s"] / d1["writes_per_s"], 3),
        "x_durable_c1_goal": GOAL_X_DURABLE,
        "cpu_over_ping_c16_ms": round(z16["cpu_ms_per_request"] - p16["cpu_ms_per_request"], 4),
        "cpu_over_ping_c16_goal_ms": GOAL_CPU_OVER_PING_MS,
    }
    if base_tree:
        result["vs_base"] = {
            f"c{c}": {
                "writes_per_s_x": round(
                    figures[f"zoro_c{c}"]["writes_per_s"] / figures[f"base_c{c}"]["writes_per_s"], 3
                ),
                "cpu_ms_delta": round(
                    figures[f"zoro_c{c}"]["cpu_ms_per_request"]
                    - figures[f"base_c{c}"]["cpu_ms_per_request"],
                    4,
                ),
            }
            for c in CONNS
        }
    result["load_at_end"] = os.getloadavg()
    return result


def report(result: dict[str, Any]) -> None:
    print(
        f"\n{'target':<8} {'conns':>5} {'writes/s':>9} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'CPU ms/req':>10} {'load':>5}"
    )
    for f in result["figures"].values():
        split = f.get("cpu_ms_per_request_by_process", {})
        print(
            f"{f['target']:<8} {f['conns']:>5} {f['writes_per_s']:>9,.0f} {f['p50_ms']:>7.2f} "
            f"{f['p99_ms']:>7.2f} {f['cpu_ms_per_request']:>10.3f} {f['load_1m']:>5.2f}"
            + "".join(f"  {name} {ms:.3f}" for name, ms in split.items())
        )
    g = result["goals"]
    per_sync = result["zoro_writes_per_sync"]
    print(
        f"zoro / durable at 1 conn: {g['x_durable_c1']:.2f}x (goal >= {GOAL_X_DURABLE}); "
        f"zoro CPU - ping CPU at 16 conns: {g['cpu_over_ping_c16_ms']:.3f} ms "
        f"(goal <= {GOAL_CPU_OVER_PING_MS}); "
        + (f"{per_sync} writes per WAL sync" if per_sync is not None else "workers: no sync count")
    )
    for conns, v in result.get("vs_base", {}).items():
        print(
            f"zoro vs base at {conns}: {v['writes_per_s_x']:.2f}x writes/s, "
            f"{v['cpu_ms_delta']:+.3f} ms CPU per write"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round of 3 s runs")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--dir", type=Path, default=Path.cwd(), help="scratch dir parent (disk)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 3; quick 1)")
    parser.add_argument("--seconds", type=float, help="per wrk run (default 6; quick 3)")
    parser.add_argument("--profile", type=Path, help="py-spy the Zoro server; output here")
    parser.add_argument("--server-tree", type=Path, help="run Zoro from this source copy")
    parser.add_argument("--baseline-tree", type=Path, help="also run Zoro from this copy")
    parser.add_argument("--prefill", type=int, default=30_000, help="points before the runs")
    parser.add_argument("--workers", type=int, default=1, help="Zoro's --workers (both trees)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up the servers on SIGTERM
    root = Path(tempfile.mkdtemp(prefix="bench-write-path-", dir=args.dir))
    try:
        result = run(args, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    report(result)
    write_json(args.json, result)


if __name__ == "__main__":
    main()
