"""The in-process ingest reference of bench/http.py and bench/client.py: the same batches written
through CollectionManager by concurrent trio tasks, timed in a child process (so its index build
threads end with it), which prints one JSON line.

    python bench/engine_ingest.py DATA.npy DIRECTORY TASKS KIND BATCH
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def measure(
    data_path: Path,
    directory: Path,
    *,
    tasks: int,
    kind: str,
    batch: int,
    source_tree: Path | None = None,
    timeout_s: float = 1800,
) -> dict[str, Any]:
    """points, seconds and points_per_s of writing the .npy in `batch`-point upserts.

    `source_tree` runs the engine from another copy of the sources (as PYTHONPATH); the file runs
    by path, so it needs nothing from that copy but `zoro`.
    """
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        str(data_path),
        str(directory),
        str(tasks),
        kind,
        str(batch),
    ]
    env = dict(os.environ)
    if source_tree is not None:
        env["PYTHONPATH"] = str(source_tree)
    load = os.getloadavg()[0]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=True,
        env=env,
        cwd=source_tree,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return {**result, "load_1m": load}


def _child(data_path: Path, directory: Path, tasks: int, kind: str, batch: int) -> None:
    import numpy as np
    import trio

    from zoro.actors import CollectionManager
    from zoro.settings import Settings
    from zoro.types import Distance, UpsertBatch, VectorConfig, int_keys

    data = np.load(data_path)
    batches = [
        UpsertBatch(
            int_keys(np.arange(s, s + len(rows), dtype=np.uint64)), rows, [b"{}"] * len(rows)
        )
        for s in range(0, len(data), batch)
        for rows in [np.ascontiguousarray(data[s : s + batch])]
    ]

    async def writer(manager: CollectionManager, mine: list[UpsertBatch]) -> None:
        actor = manager.serving("c")
        for upsert in mine:
            await actor.write(upsert)

    async def run() -> float:
        manager = CollectionManager(directory, Settings())
        async with trio.open_nursery() as nursery:
            await nursery.start(manager.run)
            await manager.create(
                "c", VectorConfig.single(data.shape[1], Distance.EUCLID), {"kind": kind}
            )
            started = time.perf_counter()
            async with trio.open_nursery() as writers:
                for w in range(tasks):
                    writers.start_soon(writer, manager, batches[w::tasks])
            elapsed = time.perf_counter() - started
            nursery.cancel_scope.cancel()
        return elapsed

    elapsed = trio.run(run)
    points = len(data)
    print(json.dumps({"points": points, "seconds": elapsed, "points_per_s": points / elapsed}))


if __name__ == "__main__":
    data, where, tasks, kind, batch = sys.argv[1:6]
    _child(Path(data), Path(where), int(tasks), kind, int(batch))
