"""Compaction throughput against the disk's sequential write rate, measured in the same run.

    python -m bench.compaction_rate [--points 1000000] [--dim 128] [--quick]

A collection of N live points with as many garbage slots (every point written twice: 50%
garbage), checkpointed, then compacted unpaced through the storage layer's steps (the cut, the
copy, the commit with its fsyncs, the switch), as the server's compactor runs them. The
reference writes the same number of bytes to one file in 4 MiB chunks and fsyncs it, on the
same file system. The page cache is dropped before each when this process may (root on Linux);
the JSON says whether it was.

Goal (issue 14): compaction MB/s >= 0.3x the sequential rate.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.scratch import in_scratch, write_json
from zoro.settings import StorageSettings
from zoro.storage import CollectionStore
from zoro.storage._plan import Layout
from zoro.types import UpsertBatch, int_keys

RESULTS = Path(__file__).parent / "results"
CHUNK = 4 << 20
BATCH = 50_000


def _drop_caches() -> bool:
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


def _sequential_write(path: Path, nbytes: int) -> float:
    """MB/s of writing `nbytes` in 4 MiB chunks and one fsync."""
    block = os.urandom(CHUNK)
    started = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        left = nbytes
        while left > 0:
            left -= os.write(fd, block[: min(CHUNK, left)])
        os.fsync(fd)
    finally:
        os.close(fd)
    took = time.perf_counter() - started
    path.unlink()
    return nbytes / took / 1e6


def _filled(root: Path, points: int, dim: int) -> CollectionStore:
    """N points written twice (the second round overwrites each): half the slots are garbage."""
    store = CollectionStore.create(root / "c", Layout({0: dim}, (), {}), StorageSettings())
    rng = np.random.default_rng(7)
    lsn = 0
    for round_ in range(2):
        for start in range(0, points, BATCH):
            ids = np.arange(start, min(points, start + BATCH), dtype=np.uint64)
            vectors = rng.standard_normal((len(ids), dim), dtype=np.float32)
            payloads = [b'{"round":%d,"i":%d}' % (round_, i) for i in ids.tolist()]
            lsn += 1
            store.apply_many([(lsn, UpsertBatch(int_keys(ids), vectors, payloads))])
    store.checkpoint()
    return store


def run(root: Path, points: int, dim: int) -> dict[str, Any]:
    started = time.perf_counter()
    store = _filled(root, points, dim)
    fill_s = time.perf_counter() - started
    slots_before = store.slot_count()
    dropped = _drop_caches()
    started = time.perf_counter()
    compaction = store.begin_compaction()
    compaction.copy()
    store.switch_to(compaction)
    took = time.perf_counter() - started
    copied = compaction.bytes_copied
    store.close()
    compaction_mbps = copied / took / 1e6
    dropped = _drop_caches() and dropped
    reference_mbps = _sequential_write(root / "sequential.bin", copied)
    result = {
        "points": points,
        "dim": dim,
        "slots_before": slots_before,
        "slots_after": points + 1,
        "fill_s": round(fill_s, 2),
        "bytes_copied": copied,
        "compaction_s": round(took, 3),
        "compaction_mb_per_s": round(compaction_mbps, 1),
        "sequential_write_mb_per_s": round(reference_mbps, 1),
        "ratio": round(compaction_mbps / reference_mbps, 3),
        "goal": 0.3,
        "page_cache_dropped": dropped,
        "load_1m": os.getloadavg()[0],
    }
    print(
        f"compaction of {points:,} live x {dim}-d with {slots_before - points:,} garbage slots: "
        f"{copied / 1e6:,.0f} MB in {took:.2f} s = {compaction_mbps:,.0f} MB/s; sequential "
        f"write {reference_mbps:,.0f} MB/s; ratio {result['ratio']:.2f} (goal >= 0.3); "
        f"caches dropped: {dropped}; load {result['load_1m']:.2f}"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--quick", action="store_true", help="100,000 points")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    points = 100_000 if args.quick else args.points
    result = in_scratch("zoro-compaction-", lambda root: run(root, points, args.dim))
    name = f"compaction_rate{'-quick' if args.quick else ''}.json"
    write_json(args.json or RESULTS / name, result)


if __name__ == "__main__":
    main()
