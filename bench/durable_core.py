"""Figures for the durable core (WAL + storage), each beside its reference from the same run.

    .venv/bin/python -m bench.durable_core [--quick] [--json bench/results/durable_core.json]

1. Raw fsync rate: append 4 KiB + fdatasync, serially. Then the WAL writer at batch sizes
   1, 8, 64 and 512 of 128-dim points: records/s and syncs/s.
   Goals: batch 512 >= 50x the serial raw fsync rate in records/s; batch 1 within 1.5x of the raw
   fsync latency.
2. Recovery: open a 1,000,000 x 128 collection after a clean checkpoint (goal < 5 s), and replay a
   WAL of 100,000 points (goal >= 100 MB/s), against the disk's sequential read rate of a cold file
   of the same size. Files are dropped from the page cache (posix_fadvise DONTNEED) before each
   cold read, so both sides read from the disk.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from zoro.settings import StorageSettings, WalSettings
from zoro.storage import CollectionStore
from zoro.types import UpsertBatch, int_keys
from zoro.wal import WalWriter, recover, replay

DIM = 128


def _batch(start: int, n: int, rng: np.random.Generator) -> UpsertBatch:
    keys = int_keys(np.arange(start, start + n, dtype=np.uint64))
    vectors = rng.standard_normal((n, DIM), dtype=np.float32)
    payloads = [b'{"n":%d}' % i for i in range(start, start + n)]
    return UpsertBatch(keys, vectors, payloads)


def raw_fsync_rate(directory: Path, seconds: float) -> dict[str, float]:
    path = directory / "raw.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    block = os.urandom(4096)
    n, started = 0, time.perf_counter()
    try:
        while time.perf_counter() - started < seconds:
            os.write(fd, block)
            os.fdatasync(fd)
            n += 1
    finally:
        os.close(fd)
        path.unlink()
    elapsed = time.perf_counter() - started
    return {"syncs_per_s": n / elapsed, "latency_us": elapsed / n * 1e6}


def wal_rate(directory: Path, batch: int, seconds: float) -> dict[str, float]:
    wal_dir = directory / f"wal-{batch}"
    writer = WalWriter(wal_dir, next_lsn=1, settings=WalSettings())
    rng = np.random.default_rng(batch)
    ops = [
        _batch(i, 1, rng) for i in range(batch)
    ]  # `batch` single-point writes, as the actor logs them
    started = time.perf_counter()
    rounds = 0
    while time.perf_counter() - started < seconds:
        writer.append(ops)
        rounds += 1
    elapsed = time.perf_counter() - started
    stats = writer.stats()
    writer.close()
    return {
        "batch": batch,
        "records_per_s": stats.records / elapsed,
        "syncs_per_s": stats.syncs / elapsed,
        "latency_us": elapsed / rounds * 1e6,
    }


def _drop_cache(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _cold_read_rate(path: Path) -> float:
    _drop_cache(path)
    size = path.stat().st_size
    started = time.perf_counter()
    with path.open("rb", buffering=0) as f:
        while f.read(8 * 1024 * 1024):
            pass
    return size / (time.perf_counter() - started) / 1e6


def recovery(directory: Path, points: int, replay_points: int) -> dict[str, float]:
    rng = np.random.default_rng(7)
    coll = directory / "coll"
    store = CollectionStore.create(coll, DIM, StorageSettings())
    chunk = 10_000
    for lsn, start in enumerate(range(0, points, chunk), start=1):
        store.apply_many([(lsn, _batch(start, min(chunk, points - start), rng))])
    store.checkpoint()
    store.close()
    for path in coll.rglob("*"):
        if path.is_file():
            _drop_cache(path)
    started = time.perf_counter()
    store = CollectionStore.open(coll, DIM, StorageSettings())
    open_s = time.perf_counter() - started
    assert store.live_count() == points
    store.close()

    wal_dir = directory / "replay-wal"
    writer = WalWriter(wal_dir, next_lsn=1, settings=WalSettings())
    for start in range(0, replay_points, 1_000):
        writer.append([_batch(start, 1_000, rng)])
    wal_bytes = writer.stats().wal_bytes
    writer.close()
    for path in wal_dir.iterdir():
        _drop_cache(path)
    started = time.perf_counter()
    recover(wal_dir)
    replayed = sum(len(op) for _, op in replay(wal_dir, 0))
    replay_s = time.perf_counter() - started
    assert replayed == replay_points
    reference = directory / "seq.bin"
    with reference.open("wb") as f:
        for _ in range(max(1, wal_bytes // (8 << 20))):
            f.write(os.urandom(8 << 20))
    disk_mb_s = _cold_read_rate(reference)
    return {
        "points": points,
        "clean_open_s": open_s,
        "replay_points": replay_points,
        "replay_mb": wal_bytes / 1e6,
        "replay_s": replay_s,
        "replay_mb_per_s": wal_bytes / 1e6 / replay_s,
        "disk_seq_read_mb_per_s": disk_mb_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--dir", type=Path, default=None, help="scratch directory (on the disk under test)"
    )
    args = parser.parse_args()
    seconds = 1.0 if args.quick else 3.0
    points = 100_000 if args.quick else 1_000_000
    with tempfile.TemporaryDirectory(dir=args.dir or Path.cwd()) as tmp:
        root = Path(tmp)
        # The disk is shared and its fsync rate drifts: measure it right before each WAL level.
        wal = []
        for batch in (1, 8, 64, 512):
            raw = raw_fsync_rate(root, seconds)
            wal.append(
                {
                    **wal_rate(root, batch, seconds),
                    "raw_syncs_per_s": raw["syncs_per_s"],
                    "raw_latency_us": raw["latency_us"],
                }
            )
        rec = recovery(root, points, 100_000)
    result: dict[str, Any] = {
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d"),
        },
        "wal": wal,
        "recovery": rec,
    }
    print("WAL batch | records/s | syncs/s | latency us | raw fsync/s | raw us | x raw rate")
    for row in wal:
        ratio = row["records_per_s"] / row["raw_syncs_per_s"]
        print(
            f"{row['batch']:>9} | {row['records_per_s']:>9.0f} | {row['syncs_per_s']:>7.0f} | "
            f"{row['latency_us']:>10.0f} | {row['raw_syncs_per_s']:>11.0f} | "
            f"{row['raw_latency_us']:>6.0f} | {ratio:.1f}x"
        )
    print(f"clean open of {rec['points']:,} x {DIM}: {rec['clean_open_s']:.2f} s")
    print(
        f"replay of {rec['replay_points']:,} points ({rec['replay_mb']:.0f} MB): "
        f"{rec['replay_s']:.2f} s = {rec['replay_mb_per_s']:.0f} MB/s "
        f"(disk sequential read {rec['disk_seq_read_mb_per_s']:.0f} MB/s)"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
