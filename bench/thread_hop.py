"""What one trip to a worker thread and back costs from trio, by mechanism: wall time and CPU
(this process, all threads) per trip, for an empty job and for a 1-record fdatasync.

    .venv/bin/python -m bench.thread_hop [--seconds S] [--dir DIR]

Mechanisms: `inline` (no thread: the floor), `to_thread` (trio.to_thread.run_sync with a
CapacityLimiter, as the commit loop did), `sync_thread` (zoro.actors.sync_thread: one long-lived
thread fed by a queue, waking the task through the trio token), and `from_thread` (a long-lived
thread answering with trio.from_thread.run_sync(Event.set)).
"""

from __future__ import annotations

import argparse
import os
import queue
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import trio

from zoro.actors.sync_thread import SyncThread

Job = Callable[[], object]


async def _trips(
    call: Callable[[Job], Awaitable[object]], job: Job, seconds: float
) -> dict[str, float]:
    for _ in range(50):  # warm up: threads started, caches filled
        await call(job)
    n, wall0, cpu0 = 0, time.perf_counter(), time.process_time()
    deadline = wall0 + seconds
    while time.perf_counter() < deadline:
        await call(job)
        n += 1
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return {"trips": n, "wall_us": round(1e6 * wall / n, 1), "cpu_us": round(1e6 * cpu / n, 1)}


async def _main(seconds: float, directory: Path) -> dict[str, Any]:
    fd = os.open(directory / "hop.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def empty() -> None:
        return None

    def durable() -> None:
        os.write(fd, b"x" * 600)
        os.fdatasync(fd)

    limiter = trio.CapacityLimiter(4)

    async def inline(job: Job) -> object:
        return job()

    async def to_thread(job: Job) -> object:
        return await trio.to_thread.run_sync(job, limiter=limiter)

    jobs: queue.SimpleQueue[tuple[Job, trio.Event] | None] = queue.SimpleQueue()

    def serve_from_thread() -> None:
        while (item := jobs.get()) is not None:
            job, done = item
            job()
            trio.from_thread.run_sync(done.set, trio_token=token)

    async def from_thread(job: Job) -> object:
        done = trio.Event()
        jobs.put((job, done))
        await done.wait()
        return None

    token = trio.lowlevel.current_trio_token()
    helper = threading.Thread(target=serve_from_thread, daemon=True)
    helper.start()
    results: dict[str, Any] = {}
    with SyncThread("hop") as sync_thread:

        async def long_lived(job: Job) -> object:
            return await sync_thread.run(job)

        ways = {
            "inline": inline,
            "to_thread": to_thread,
            "sync_thread": long_lived,
            "from_thread": from_thread,
        }
        for job_name, job in (("empty", empty), ("fdatasync", durable)):
            for name, way in ways.items():
                found = await _trips(way, job, seconds)
                results[f"{job_name}/{name}"] = found
                print(f"{job_name:<10} {name:<12} {found}", flush=True)
    jobs.put(None)
    helper.join()
    os.close(fd)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="per mechanism and job")
    parser.add_argument("--dir", type=Path, default=Path.cwd(), help="the fdatasync file's disk")
    args = parser.parse_args()
    print(f"load {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-hop-", dir=args.dir) as root:
        trio.run(_main, args.seconds, Path(root))
    print(f"load {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
