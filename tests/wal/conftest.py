"""Helpers shared by the WAL tests: ops, comparison, writing and reading a WAL on disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from zoro.settings import WalSettings
from zoro.types import DeleteBatch, UpsertBatch, WriteOp, int_keys, keys_of
from zoro.wal import WalWriter, replay
from zoro.wal._format import list_segments
from zoro.wal._reader import SegmentReader


def upsert(n: int = 1, *, start: int = 0, dim: int = 4) -> UpsertBatch:
    ids = np.arange(start, start + n, dtype=np.uint64)
    vectors = (np.arange(n * dim, dtype=np.float32) + start).reshape(n, dim)
    return UpsertBatch(int_keys(ids), vectors, [b'{"i":%d}' % i for i in range(start, start + n)])


def delete(*ids: int) -> DeleteBatch:
    return DeleteBatch(keys_of(ids))


def assert_same_op(got: WriteOp, want: WriteOp) -> None:
    assert type(got) is type(want)
    assert got.keys.dtype == want.keys.dtype
    assert got.keys.tobytes() == want.keys.tobytes()
    if isinstance(got, UpsertBatch) and isinstance(want, UpsertBatch):
        assert got.vectors.dtype == np.float32
        assert got.vectors.shape == want.vectors.shape
        assert got.vectors.tobytes() == want.vectors.tobytes()  # bit-exact, NaNs included
        assert list(got.payloads) == list(want.payloads)


def write(
    directory: Path, batches: list[list[WriteOp]], *, segment_max_bytes: int = 1 << 20
) -> list[int]:
    """Append each batch with a fresh writer at LSN 1; return the first LSN of each batch."""
    settings = WalSettings(segment_max_bytes=segment_max_bytes)
    with WalWriter(directory, next_lsn=1, settings=settings) as wal:
        return [wal.append(ops) for ops in batches]


def replayed(directory: Path, after: int = 0) -> list[tuple[int, WriteOp]]:
    return list(replay(directory, after))


def segments(directory: Path) -> list[Path]:
    return [path for _first, path in list_segments(directory)]


def record_spans(path: Path, first_lsn: int) -> list[tuple[int, int]]:
    """(start, end) byte offsets of every record in a good segment."""
    with SegmentReader(path) as reader:
        return [(r.offset, r.end) for r in reader.records(first_lsn)]


def flip_bit(path: Path, offset: int, bit: int = 0) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 1 << bit
    path.write_bytes(bytes(data))
