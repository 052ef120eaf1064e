"""Run every benchmark script in turn, one at a time (they share 2 cores), and record the run.

    .venv/bin/python -m bench.run_all [--quick] [--only durable_core,engine,...]
                                      [--results DIR] [--readme | --no-readme] [--summary-only]

Each script writes its own JSON to <results>/<name>.json and prints its table; this runner
adds <results>/run_all.json (the machine, versions, date, load average before and after each
script, its wall time and exit code), then <results>/summary.json and summary.md (the headline
figures beside their same-run references: bench/summary.py), the Markdown table between the
`<!-- suite:begin -->` / `<!-- suite:end -->` markers of bench/README.md, and the plots
(bench/plots.py, from <results>/curve.json). `make bench` runs it.

<results> is bench/results, or bench/results/quick with --quick, so that a quick run never
overwrites the recorded full figures. The README table is rewritten by full runs only, unless
--readme / --no-readme says otherwise. --summary-only runs no script: it rebuilds the summary,
the table and the plots from the JSON already in <results>.
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

from bench import summary

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
README = HERE / "README.md"
# In the order of the layers they measure; each takes --quick and --json.
SCRIPTS = (
    "durable_core",
    "ann_engines",
    "engine",
    "http",
    "client",
    "curve",
    "restart",
    "filtering",
    "stall",
    "pgvector",
)


def machine() -> dict[str, Any]:
    with open("/proc/meminfo") as f:
        mem_kb = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
    versions: dict[str, str | None] = {}
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


def run(name: str, quick: bool, results: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", f"bench.{name}", "--json", str(results / f"{name}.json")]
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
        "result_file": os.path.relpath(results / f"{name}.json", HERE.parent),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller data, shorter runs")
    parser.add_argument("--only", default=",".join(SCRIPTS), help="comma-separated script names")
    parser.add_argument(
        "--results", type=Path, help="JSON directory (default bench/results, quick: .../quick)"
    )
    parser.add_argument(
        "--readme",
        action=argparse.BooleanOptionalAction,
        help="rewrite the summary table in bench/README.md (default: full runs only)",
    )
    parser.add_argument(
        "--summary-only", action="store_true", help="run no script; summarise the JSON there"
    )
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n]
    unknown = sorted(set(names) - set(SCRIPTS))
    if unknown:
        parser.error(f"unknown scripts: {', '.join(unknown)}; choose from {', '.join(SCRIPTS)}")
    results: Path = args.results or (RESULTS / "quick" if args.quick else RESULTS)
    results.mkdir(parents=True, exist_ok=True)
    runs = [] if args.summary_only else [run(n, args.quick, results) for n in names]
    record = {"machine": machine(), "quick": args.quick, "runs": runs}
    if runs:
        (results / "run_all.json").write_text(json.dumps(record, indent=2) + "\n")
    failed = [r["script"] for r in runs if r["exit_code"] != 0]
    for r in runs:
        print(
            f"{r['script']:>14}: exit {r['exit_code']} in {r['seconds']} s "
            f"(load {r['load_before']} -> {r['load_after']})"
        )
    readme = not args.quick if args.readme is None else args.readme
    summary.write(results, record["machine"], quick=args.quick, readme=README if readme else None)
    plotted = subprocess.call([sys.executable, "-m", "bench.plots", "--results", str(results)])
    return 1 if failed or plotted != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
