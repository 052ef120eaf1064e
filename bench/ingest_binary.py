"""Bulk ingest over HTTP with the binary upsert body (application/vnd.zoro.points, issue 15),
beside the same upload as JSON and the in-process engine, in the same run.

    PYTHONPATH=. .venv/bin/python -m bench.ingest_binary [--points N] [--quick] [--rounds R]
        [--engine hnsw|flat] [--dir DIR] [--json bench/results/ingest_binary.json]

N x 128 float32 points (1,000,000; 100,000 with --quick), clustered as bench/client.py's, ids
0..N-1 and empty payloads, go through `AsyncZoroClient.upload` (batches of 1,000, 8 in flight)
into a fresh collection on a fresh server: once with `encoding="binary"`, once with
`encoding="json"`, alternating over `--rounds` rounds so that a change in the machine's load
hits both alike. Each server is killed after its upload (the index builds it leaves behind
are not measured and must not slow the next). Timed from the first request to the last
acknowledgement (wait=true: durable in the WAL).

Reference: the server's own ingest of the same 1,000-point batches, 8 trio tasks writing
through CollectionManager in a child process (bench/engine_ingest.py), measured again in every
round; the ratios are per round, and their median is the figure.

Also reported: the sender's CPU per point (this process, `time.process_time`) and the
server's (user + system time of its processes from /proc, over the upload), which the load
disturbs much less than the rates; and the 1-minute load average before each figure (2
shared cores: read the ratios, not the absolute rates).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import trio

from bench import engine_ingest
from bench.client import data
from bench.procfs import cpu_by_process_s, cpu_split_since
from zoro.client import AsyncZoroClient
from zoro.testing import ServerProcess

if TYPE_CHECKING:
    import numpy.typing as npt

DIM = 128
BATCH = 1_000
PARALLEL = 8
ENCODINGS = ("binary", "json")


def load() -> float:
    return round(os.getloadavg()[0], 2)


async def upload(
    url: str, vectors: npt.NDArray[np.float32], encoding: str, engine: str
) -> dict[str, Any]:
    async with AsyncZoroClient(url, timeout=300.0) as client:
        await client.create_collection("c", DIM, "Euclid", engine=engine)  # type: ignore[arg-type]
        result = await client.upload(
            "c",
            range(len(vectors)),
            vectors,
            batch_size=BATCH,
            parallel=PARALLEL,
            encoding=encoding,  # type: ignore[arg-type]
        )
        assert await client.count("c") == len(vectors)
    return {"points": result.points, "seconds": result.seconds, "points_per_s": result.points_per_s}


def one_upload(root: Path, vectors: npt.NDArray[np.float32], encoding: str, engine: str) -> Any:
    server = ServerProcess(root).start()
    assert server.process is not None
    try:
        pid = server.process.pid
        before_load, sender, served = load(), time.process_time(), cpu_by_process_s(pid)
        run = trio.run(upload, server.url, vectors, encoding, engine)
        after = cpu_by_process_s(pid)
        server_cpu = sum(after.values()) - sum(served.values())  # as tree_cpu_s
        split = cpu_split_since(served, after)
    finally:
        server.kill()  # no graceful drain of the index builds: they are not measured
    n = len(vectors)
    return {
        **run,
        "sender_cpu_us_per_point": round((time.process_time() - sender) / n * 1e6, 2),
        "server_cpu_us_per_point": round(server_cpu / n * 1e6, 2),
        **(
            {
                "server_cpu_us_per_point_by_process": {
                    k: round(v / n * 1e6, 2) for k, v in split.items()
                }
            }
            if len(split) > 1
            else {}
        ),
        "load_1m": before_load,
    }


def measure(root: Path, n: int, rounds: int, engine: str) -> dict[str, Any]:
    vectors = data(n)
    path = root / "vectors.npy"
    np.save(path, vectors)
    print(f"ingest: {n:,} x {DIM} float32 into {engine}, batches of {BATCH:,}, {PARALLEL} at once")
    runs: dict[str, list[dict[str, Any]]] = {"engine": [], "binary": [], "json": []}
    ratios: dict[str, list[float]] = {
        "binary_x_engine": [],
        "json_x_engine": [],
        "binary_x_json": [],
    }
    for turn in range(rounds):
        # the reference in every round: the load drifts within minutes on this machine
        reference = engine_ingest.measure(
            path, root / f"engine-{turn}", tasks=PARALLEL, kind=engine, batch=BATCH
        )
        runs["engine"].append(
            {
                "points_per_s": round(reference["points_per_s"]),
                "seconds": round(reference["seconds"], 3),
                "load_1m": round(reference["load_1m"], 2),
            }
        )
        print(
            f"  round {turn + 1}: in-process engine {reference['points_per_s']:>9,.0f} "
            f"points/s  (load {runs['engine'][-1]['load_1m']})",
            flush=True,
        )
        rate = {"engine": reference["points_per_s"]}
        for encoding in ENCODINGS if turn % 2 == 0 else ENCODINGS[::-1]:
            run = one_upload(root / f"server-{encoding}-{turn}", vectors, encoding, engine)
            runs[encoding].append(run)
            rate[encoding] = run["points_per_s"]
            print(
                f"  client, {encoding:6}  {run['points_per_s']:>9,.0f} points/s  "
                f"x engine {run['points_per_s'] / reference['points_per_s']:.2f}  "
                f"CPU per point: sender {run['sender_cpu_us_per_point']:.1f} us, "
                f"server {run['server_cpu_us_per_point']:.1f} us  (load {run['load_1m']})"
                + "".join(
                    f"  {name} {us:.1f}"
                    for name, us in run.get("server_cpu_us_per_point_by_process", {}).items()
                ),
                flush=True,
            )
        ratios["binary_x_engine"].append(round(rate["binary"] / rate["engine"], 3))
        ratios["json_x_engine"].append(round(rate["json"] / rate["engine"], 3))
        ratios["binary_x_json"].append(round(rate["binary"] / rate["json"], 3))
    medians = {name: round(float(np.median(values)), 3) for name, values in ratios.items()}
    server_cpu = {
        e: round(float(np.median([r["server_cpu_us_per_point"] for r in runs[e]])), 2)
        for e in ENCODINGS
    }
    print(
        f"  median over rounds: binary x engine {medians['binary_x_engine']:.2f}, json x engine "
        f"{medians['json_x_engine']:.2f}, binary / json {medians['binary_x_json']:.2f}; server "
        f"CPU per point {server_cpu['binary']:.1f} us (binary), {server_cpu['json']:.1f} us (json)",
        flush=True,
    )
    return {
        "runs": runs,
        "ratios": ratios,
        "median": medians,
        "median_server_cpu_us_per_point": server_cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2, help="binary and JSON, alternated")
    parser.add_argument("--engine", choices=("hnsw", "flat"), default="hnsw")
    parser.add_argument("--quick", action="store_true", help="100,000 points")
    parser.add_argument(
        "--dir", type=Path, default=Path.cwd(), help="where the data directories go (a real disk)"
    )
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    if args.quick:
        args.points = 100_000
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "cores": os.cpu_count(),
        "points": args.points,
        "dim": DIM,
        "engine": args.engine,
        "load_start": load(),
    }
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="bench-ingest-binary-") as tmp:
        report["ingest"] = measure(Path(tmp), args.points, args.rounds, args.engine)
    report["load_end"] = load()
    for run in (r for e in ENCODINGS for r in report["ingest"]["runs"][e]):
        run["points_per_s"] = round(run["points_per_s"])
        run["seconds"] = round(run["seconds"], 3)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
