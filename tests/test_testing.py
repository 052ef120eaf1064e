"""zoro.testing's disk measure, which the soak test and bench/churn.py share."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from zoro.testing import disk_usage

if TYPE_CHECKING:
    from pathlib import Path


def _write(path: Path, size: int, *, preallocate: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    if preallocate:
        fd = os.open(path, os.O_RDWR)
        try:
            os.posix_fallocate(fd, size, preallocate)
        finally:
            os.close(fd)


@pytest.mark.skipif(not hasattr(os, "posix_fallocate"), reason="no posix_fallocate")
def test_disk_usage_counts_allocated_blocks_by_part(tmp_path: Path) -> None:
    coll = tmp_path / "collections" / "abc"
    _write(coll / "files.3" / "source" / "vectors", 100, preallocate=1 << 20)
    _write(coll / "source" / "vectors", 8192)  # generation 0
    _write(coll / "wal" / "00000001.log", 5000)
    _write(coll / "ann" / "seg-1.zann", 4096)
    _write(coll / "payload" / "f0.npz", 10)
    _write(tmp_path / "catalog", 10)
    usage = disk_usage(tmp_path)
    # a preallocated tail is counted: its blocks are taken from the disk
    assert usage["files"] >= (1 << 20) + 8192
    assert usage["wal"] >= 5000
    assert usage["ann"] >= 4096
    assert usage["other"] >= 2 * 10
    assert usage["total"] == sum(v for k, v in usage.items() if k != "total")
