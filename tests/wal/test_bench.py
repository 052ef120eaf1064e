"""Opt-in speed checks (`pytest -m bench tests/wal`): encoding, and append latency at batch 1."""

from __future__ import annotations

import os
import statistics
import time
from typing import TYPE_CHECKING

import numpy as np
import pytest

from zoro.settings import WalSettings
from zoro.types import UpsertBatch, int_keys
from zoro.wal import WalWriter
from zoro.wal._codec import encode_records

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

pytestmark = pytest.mark.bench


def batch(n: int, dim: int) -> UpsertBatch:
    vectors = np.random.default_rng(0).random((n, dim), dtype=np.float32)
    keys = int_keys(np.arange(n, dtype=np.uint64))
    return UpsertBatch(keys, vectors, [b'{"i":%d,"tag":"abc"}' % i for i in range(n)])


def median_s(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def test_encoding_512_points_of_128_dims_takes_well_under_a_millisecond() -> None:
    op = batch(512, 128)
    took = median_s(lambda: encode_records([op], 1), 200)
    print(f"encode 512x128: {took * 1e6:.0f} µs")
    assert took < 0.5e-3


def test_append_at_batch_1_is_close_to_a_raw_4k_write_and_fdatasync(tmp_path: Path) -> None:
    op = batch(1, 128)
    fd = os.open(tmp_path / "raw", os.O_WRONLY | os.O_CREAT, 0o644)
    page, offset = b"x" * 4096, 0

    def raw() -> None:
        nonlocal offset
        os.pwrite(fd, page, offset)
        os.fdatasync(fd)
        offset += len(page)

    with WalWriter(tmp_path / "wal", next_lsn=1, settings=WalSettings()) as wal:
        ratios = []
        for _ in range(3):  # alternate, so both see the same disk weather
            raw_s = median_s(raw, 300)
            wal_s = median_s(lambda: wal.append([op]), 300)
            ratios.append(wal_s / raw_s)
            print(f"raw 4 KiB: {raw_s * 1e6:.0f} µs, WAL append: {wal_s * 1e6:.0f} µs")
    os.close(fd)
    assert min(ratios) < 1.5
