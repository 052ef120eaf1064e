"""Snapshot figures of issue 14, each beside its reference from the same run:

    python -m bench.snapshot_figures [--points 1000000] [--writers 16] [--quick]

1. A real server loads N x 128-d points over HTTP and indexes them (HNSW).
2. A collection snapshot is taken while `--writers` connections write single points
   (wait=true) without pause: its creation time, and the write rate meanwhile against the
   rate in the two seconds before.
3. The archive's size against the data directory's (bytes on disk).
4. References: a clean restart of that server to /readyz, and reading the archive file
   sequentially with the page cache dropped (when this process may).
5. The restore: a fresh server with the archive in its snapshots directory recovers it;
   the time from the request to /readyz.

Goal: restore <= 2x (clean restart + archive read).
"""

from __future__ import annotations

import argparse
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.compaction_rate import _drop_caches
from bench.http import NUMPY, clustered, create_collection, ingest_http, upsert_bodies, wait_indexed
from bench.scratch import in_scratch, write_json
from zoro.testing import ServerProcess

RESULTS = Path(__file__).parent / "results"
CHUNK = 4 << 20


def _disk_bytes(path: Path) -> int:
    return sum(
        os.stat(os.path.join(d, f)).st_blocks * 512 for d, _, files in os.walk(path) for f in files
    )


def _read_rate(path: Path) -> float:
    """Seconds to read the file once, sequentially."""
    started = time.perf_counter()
    with open(path, "rb", buffering=0) as f:
        while f.read(CHUNK):
            pass
    return time.perf_counter() - started


def _until_ready(url: str, timeout_s: float) -> float:
    started = time.perf_counter()
    deadline = started + timeout_s
    while time.perf_counter() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=5).status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"not ready within {timeout_s} s")


def _writers(url: str, count: int, first_id: int, stop: threading.Event) -> list[int]:
    """Start `count` threads writing one point per request; returns their ack counters."""
    acks = [0] * count

    def write(k: int) -> None:
        vector = [0.5] * 128
        with httpx.Client(base_url=url, timeout=60) as http:
            i = first_id + k * 10_000_000
            while not stop.is_set():
                body = orjson.dumps({"points": [{"id": i, "vector": vector}]})
                r = http.put(
                    "/collections/c/points?wait=true",
                    content=body,
                    headers={"content-type": "application/json"},
                )
                if r.status_code == 200:
                    acks[k] += 1
                i += 1

    for k in range(count):
        threading.Thread(target=write, args=(k,), daemon=True).start()
    return acks


def run(root: Path, points: int, writers: int) -> dict[str, Any]:
    data = root / "source"
    out: dict[str, Any] = {"points": points, "writers": writers}
    with ServerProcess(data, log_path=root / "source.log") as proc:
        with httpx.Client(base_url=proc.url, timeout=600) as http:
            create_collection(http, "c")
            vectors, _ = clustered(points, 1)
            started = time.perf_counter()
            ingest = ingest_http(
                proc.port, "/collections/c/points?wait=true", upsert_bodies(vectors), 4
            )
            del vectors
            wait_indexed(http, "c", timeout_s=3600)
            out["load_and_index_s"] = round(time.perf_counter() - started, 1)
            out["ingest_points_per_s"] = round(ingest["points_per_s"])
            stop = threading.Event()
            acks = _writers(proc.url, writers, points + 1, stop)
            time.sleep(1.0)  # the writers are going
            before = sum(acks)
            time.sleep(2.0)
            out["writes_per_s_before"] = round((sum(acks) - before) / 2.0)
            before = sum(acks)
            started = time.perf_counter()
            taken = http.post("/collections/c/snapshots").json()["result"]
            out["creation_s"] = round(time.perf_counter() - started, 2)
            during = sum(acks) - before
            stop.set()
            out["writes_acked_during_creation"] = during
            out["writes_per_s_during_creation"] = round(during / out["creation_s"])
            time.sleep(1.0)
            archive = data / "snapshots" / "c" / taken["name"]
            out["archive_bytes"] = taken["size"]
            out["data_dir_bytes"] = _disk_bytes(data) - _disk_bytes(data / "snapshots")
            out["archive_vs_data_dir"] = round(out["archive_bytes"] / out["data_dir_bytes"], 3)
        proc.stop()
        proc.start()
        out["clean_restart_s"] = round(_until_ready(proc.url, 600), 2)
    target = root / "target"
    (target / "snapshots").mkdir(parents=True)
    copy = target / "snapshots" / archive.name
    shutil.copyfile(archive, copy)
    shutil.rmtree(data)  # room on the disk, and nothing of it in the page cache
    out["page_cache_dropped"] = _drop_caches()
    out["archive_read_s"] = round(_read_rate(copy), 2)
    _drop_caches()
    with ServerProcess(target, log_path=root / "target.log") as fresh:
        started = time.perf_counter()
        r = httpx.put(
            f"{fresh.url}/collections/c/snapshots/recover",
            json={"location": archive.name},
            timeout=3600,
        )
        r.raise_for_status()
        _until_ready(fresh.url, 600)
        out["restore_s"] = round(time.perf_counter() - started, 2)
        count = httpx.post(f"{fresh.url}/collections/c/points/count", json={"exact": True}).json()
        out["restored_points"] = count["result"]["count"]
    reference = out["clean_restart_s"] + out["archive_read_s"]
    out["restore_vs_reference"] = round(out["restore_s"] / reference, 2)
    out["goal"] = 2.0
    out["load_1m"] = os.getloadavg()[0]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--quick", action="store_true", help="100,000 points")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    points = 100_000 if args.quick else args.points
    result = in_scratch("zoro-snapshots-", lambda root: run(root, points, args.writers))
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2 | NUMPY).decode())
    name = f"snapshot_figures{'-quick' if args.quick else ''}.json"
    write_json(args.json or RESULTS / name, result)


if __name__ == "__main__":
    main()
