"""The power-loss torture loop: the real server on powerfs, power cuts at random moments.

Each cycle runs the workload against the server for a random while, kills it (SIGKILL: nothing
more reaches the disk), cuts the power (powerfs keeps only what survives, in the cycle's mode),
mounts what survived, restarts the server on it and checks every acknowledged operation
(checks.py). Settings make checkpoints, WAL rotation, sealing into HNSW and index persistence
happen many times a second, so a cut lands in the middle of each of them now and then.

`run` returns a Report, or raises Violation (the server broke a promise) naming the cycle, its
cut and the time it took to find; HarnessDefect means the loop itself could not do its job.
"""

from __future__ import annotations

import os
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx
import trio

from tests.powerloss.checks import check
from tests.powerloss.mount import PowerMount
from tests.powerloss.workload import DIM, STABLE, Violation, Workload
from zoro.testing import ServerProcess

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

SETTINGS = (
    "wal.segment_max_bytes=32768",
    "actor.checkpoint_wal_bytes=65536",
    "actor.checkpoint_interval_s=0.5",
    "actor.idle_checkpoint_s=0.2",
    "ann.fresh_segment_max_points=64",
    "ann.full_scan_threshold=32",
    "storage.index_delta_max=64",
)
MIN_ACK_WAIT_S = 20.0  # a cycle that sees no ack in this long is a harness defect


class HarnessDefect(RuntimeError):
    """The loop could not exercise the server (no acknowledgement in a cycle, ...)."""


@dataclass
class Report:
    cycles: int = 0
    acked: int = 0
    checked_points: int = 0
    seconds: float = 0.0
    cuts: Counter[str] = field(default_factory=Counter)
    kills: Counter[str] = field(default_factory=Counter)
    disk_ops: Counter[str] = field(default_factory=Counter)
    # how many cuts left each kind of file on disk: shows the cuts landed after checkpoints,
    # rotations and index persistence, not only before them
    files_seen: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        return (
            f"{self.cycles} cycles in {self.seconds:.1f} s ({dict(self.cuts)} cuts, "
            f"{dict(self.kills)}), "
            f"{self.acked} acknowledged operations, {self.checked_points} point checks; "
            f"cuts that left: {dict(self.files_seen)}; disk: {dict(self.disk_ops)}"
        )


def run(
    root: Path,
    *,
    cycles: int,
    modes: Sequence[str] = ("clean", "random"),
    seed: int = 0,
    time_budget_s: float = 600.0,
    workload_s: tuple[float, float] = (0.2, 2.5),
    pythonpath: Path | None = None,
) -> Report:
    """Up to `cycles` power cuts (fewer if `time_budget_s` runs out); modes take turns.

    `pythonpath`: run the server from the `zoro` package found there (a broken copy).
    Raises Violation, HarnessDefect; powerfs and server processes are gone on return.
    """
    started = time.monotonic()
    rng = random.Random(seed)
    workload = Workload(seed)
    report = Report()
    env = {"PYTHONPATH": str(pythonpath)} if pythonpath is not None else {}
    flags = tuple(x for s in SETTINGS for x in ("--set", s))
    # One process even under ZORO_TEST_WORKERS: with a follower beside the owner, powerfs
    # raised internal errors on creating a collection's files (it answers them with EIO), a
    # limit of this model, not investigated. Followers write nothing; killing workers is
    # tests/http/test_workers.py's.
    flags += ("--workers", "1")
    with PowerMount(root / "disk") as disk:
        server = ServerProcess(
            disk.path / "data", extra_args=flags, env=env, log_path=root / "server.log", cwd=root
        )
        try:
            server.start(timeout_s=60)
            _create_stable(server.url)
            for cycle in range(1, cycles + 1):
                if time.monotonic() - started > time_budget_s:
                    break
                mode, cut_seed = modes[(cycle - 1) % len(modes)], rng.randrange(2**32)
                # every other round of modes, the fsyncs in progress at the kill fail
                drop = (cycle - 1) // len(modes) % 2 == 0
                acked = workload.acked()
                workload.cycle = cycle
                after_s = rng.uniform(*workload_s)
                trio.run(_work_then_kill, server, disk, workload, after_s, drop)
                if workload.acked() == acked:
                    raise HarnessDefect(f"cycle {cycle}: no operation was acknowledged")
                report.acked += workload.acked() - acked
                disk.check_no_errors()
                report.disk_ops.update(_counters(disk.stats()))
                disk.power_cut(mode, cut_seed)
                report.cuts[mode] += 1
                report.kills["syncs in progress failed" if drop else "syncs in progress done"] += 1
                report.files_seen.update(_files_left(disk.path / "data"))
                try:
                    server.start(timeout_s=60)
                    server.wait_ready(timeout_s=120)
                    report.checked_points += check(server.url, workload, rng)
                except (Violation, RuntimeError, httpx.HTTPError) as exc:
                    elapsed = time.monotonic() - started
                    raise Violation(
                        f"cycle {cycle} ({mode} cut, seed {cut_seed}, syncs in progress "
                        f"{'failed' if drop else 'done'}), {elapsed:.1f} s in: "
                        f"{type(exc).__name__}: {exc}\n--- server log ---\n{server.log()[-1500:]}"
                    ) from exc
                report.cycles = cycle
        finally:
            server.kill()
    report.seconds = time.monotonic() - started
    return report


def _create_stable(url: str) -> None:
    for name in STABLE:
        body = {"vectors": {"size": DIM, "distance": "Euclid"}}
        r = httpx.put(f"{url}/collections/{name}", json=body, timeout=60)
        if r.status_code != 200:
            raise HarnessDefect(f"creating `{name}`: {r.status_code} {r.text}")


async def _work_then_kill(
    server: ServerProcess, disk: PowerMount, workload: Workload, after_s: float, drop: bool
) -> None:
    stop = trio.Event()
    acked = workload.acked()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(workload.run, server.url, stop)
        await trio.sleep(after_s)
        with trio.move_on_after(MIN_ACK_WAIT_S):
            while workload.acked() == acked:
                await workload.next_ack()
        if drop:
            _kill_failing_syncs(server, disk)
        else:
            server.kill()
        stop.set()


def _kill_failing_syncs(server: ServerProcess, disk: PowerMount) -> None:
    """SIGKILL, with every fsync still in progress failed rather than done: the power went
    out in the middle of it. (Without the gate a killed process waits for its FUSE requests to
    be answered, so the syncs it had started all complete: the other way a cut can fall.)"""
    disk.close_gate()
    try:
        if server.process is not None:
            server.process.kill()
    finally:
        disk.drop_gate()
    server.kill()  # and wait for it


def _counters(stats: dict[str, object]) -> dict[str, int]:
    names = ("fsyncs", "dir_fsyncs", "renames", "creates", "unlinks", "writes")
    return {name: int(stats[name]) for name in names}  # type: ignore[call-overload]


_KINDS = (
    ("checkpointed meta", re.compile(r"points\.0*[1-9]\d*")),
    ("HNSW segment files", re.compile(r"seg-\d+\.zann")),
    ("payload index files", re.compile(r"f\d+\.npz")),
    ("WAL tails set aside", re.compile(r"\d{20}\.log\.tr\d+")),
)
_SEGMENT = re.compile(r"\d{20}\.log")


def _files_left(data: Path) -> set[str]:
    kinds = set()
    for _dirpath, dirs, files in os.walk(data):
        kinds |= {kind for kind, pattern in _KINDS for name in files if pattern.fullmatch(name)}
        if any(name.startswith("files.") for name in dirs):
            kinds.add("compacted file generations")
        if sum(1 for name in files if _SEGMENT.fullmatch(name)) > 1:
            kinds.add("several WAL segments")
    return kinds
