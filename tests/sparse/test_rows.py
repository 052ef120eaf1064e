"""The source row file: round trips, the checkpointed end, torn tails and rotten records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.sparse.reference import random_batch
from zoro.errors import CorruptionError
from zoro.sparse import SparseBatch
from zoro.storage.sparse_rows import HEADER, SparseRowFile, decode_record, encode_records


def test_append_read_and_scan(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    rows = SparseRowFile.create(tmp_path / "rows")
    batches = [random_batch(rng, n, 1000, max_nnz=20) for n in (5, 0, 37, 1)]
    slots = [np.arange(100 * i, 100 * i + len(b)) for i, b in enumerate(batches)]
    offsets = [rows.append(s, b) for s, b in zip(slots, batches, strict=True)]
    for s, b, o in zip(slots, batches, offsets, strict=True):
        for i in range(len(b)):
            slot, idx, val = rows.read(int(o[i]))
            assert slot == s[i]
            assert idx.tolist() == b.row(i)[0].tolist()
            assert val.tolist() == b.row(i)[1].tolist()
    scanned = list(rows.scan(rows_per_chunk=7))
    assert np.concatenate([s for s, _ in scanned]).tolist() == np.concatenate(slots).tolist()
    whole = SparseBatch.concat([b for _, b in scanned])
    assert whole.equals(SparseBatch.concat(batches))
    end = rows.end
    rows.sync()
    rows.close()
    again = SparseRowFile.open(tmp_path / "rows", end)
    assert sum(len(s) for s, _ in again.scan()) == 43
    again.close()


def test_open_cuts_what_came_after_the_checkpoint(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    rows = SparseRowFile.create(tmp_path / "rows")
    rows.append([1, 2], random_batch(rng, 2, 50))
    checkpoint = rows.end
    rows.append([3], random_batch(rng, 1, 50))
    rows.close()
    path = tmp_path / "rows"
    path.write_bytes(path.read_bytes()[:-3])  # the later record torn
    again = SparseRowFile.open(path, checkpoint)
    assert [s.tolist() for s, _ in again.scan()] == [[1, 2]]
    assert path.stat().st_size == checkpoint
    again.close()
    with pytest.raises(CorruptionError, match="shorter than"):
        SparseRowFile.open(path, checkpoint + 100)


def test_a_rotten_record_is_corruption_with_its_offset(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    rows = SparseRowFile.create(tmp_path / "rows")
    offsets = rows.append(np.arange(10), random_batch(rng, 10, 50))
    end = rows.end
    rows.close()
    path = tmp_path / "rows"
    data = bytearray(path.read_bytes())
    data[int(offsets[4]) + 17] ^= 0x10
    path.write_bytes(bytes(data))
    again = SparseRowFile.open(path, end)
    with pytest.raises(CorruptionError, match=f"at byte {offsets[4]}"):
        list(again.scan())
    with pytest.raises(CorruptionError, match="checksum"):
        again.read(int(offsets[4]))
    assert again.read(int(offsets[5]))[0] == 5
    with pytest.raises(CorruptionError):
        again.read(HEADER.size - 1)
    again.close()


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.integers(1, 8),
    cut=st.floats(0, 1, exclude_max=True),
    flip=st.integers(0, 2**20),
)
def test_codec_truncation_and_bit_flips_never_decode_wrong(
    seed: int, rows: int, cut: float, flip: int
) -> None:
    batch = random_batch(np.random.default_rng(seed), rows, 10**6, max_nnz=6)
    slots = np.arange(rows, dtype=np.int64) * 1000 + seed % 1000
    raw, offsets = encode_records(slots, batch)
    first_size = int(offsets[1]) if rows > 1 else len(raw)
    short = raw[: int(cut * first_size)]
    with pytest.raises(CorruptionError):
        decode_record(short, 0, _path())
    rotten = bytearray(raw[:first_size])
    rotten[(flip // 8) % first_size] ^= 1 << (flip % 8)
    try:
        slot = decode_record(bytes(rotten), 0, _path())[0]
    except CorruptionError:
        return
    raise AssertionError(f"a flipped bit decoded as slot {slot}")


def _path() -> Path:
    return Path("rows")
