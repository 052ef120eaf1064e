"""Run every benchmark script in turn, one at a time (they share 2 cores), and record the run.

    .venv/bin/python -m bench.run_all [--quick] [--only durable_core,engine,...]

Each script writes its own JSON to bench/results/<name>.json and prints its table; this runner
adds bench/results/run_all.json: the machine, versions, date, load average before and after
each script, its wall time and exit code. `make bench` runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
# In the order of the layers they measure; each takes --quick and --json.
SCRIPTS = ("durable_core", "ann_engines", "engine", "http", "client")


def machine() -> dict[str, Any]:
    with open("/proc/meminfo") as f:
        mem_kb = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
    versions = {}
    for package in ("numpy", "faiss-cpu", "trio", "hypercorn", "quart-trio", "orjson", "httpx"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def run(name: str, quick: bool) -> dict[str, Any]:
    command = [sys.executable, "-m", f"bench.{name}", "--json", str(RESULTS / f"{name}.json")]
    if quick:
        command.append("--quick")
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    print(f"== {name}: {' '.join(command[1:])}", flush=True)
    code = subprocess.call(command)
    return {
        "script": name,
        "exit_code": code,
        "seconds": round(time.monotonic() - started, 1),
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "result_file": f"bench/results/{name}.json",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller data, shorter runs")
    parser.add_argument("--only", default=",".join(SCRIPTS), help="comma-separated script names")
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n]
    unknown = sorted(set(names) - set(SCRIPTS))
    if unknown:
        parser.error(f"unknown scripts: {', '.join(unknown)}; choose from {', '.join(SCRIPTS)}")
    RESULTS.mkdir(exist_ok=True)
    runs = [run(n, args.quick) for n in names]
    record = {"machine": machine(), "quick": args.quick, "runs": runs}
    (RESULTS / "run_all.json").write_text(json.dumps(record, indent=2) + "\n")
    failed = [r["script"] for r in runs if r["exit_code"] != 0]
    for r in runs:
        print(
            f"{r['script']:>14}: exit {r['exit_code']} in {r['seconds']} s "
            f"(load {r['load_before']} -> {r['load_after']})"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
