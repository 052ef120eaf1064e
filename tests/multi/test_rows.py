"""The source file MultiRows: round trips, the checkpointed end, torn tails, rotten records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.multi.reference import random_docs, split
from zoro.errors import CorruptionError
from zoro.storage.multi_rows import HEADER, MultiRows, decode_record, encode_records

DIM = 5


def test_append_read_scan_and_reopen(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    path = tmp_path / "multi.0"
    rows = MultiRows.create_with(path, DIM)
    batches = [random_docs(rng, n, DIM) for n in (4, 1, 30)]
    slots = [np.arange(100 * i, 100 * i + len(c)) for i, (c, _) in enumerate(batches)]
    offsets = [rows.append(s, c, r) for s, (c, r) in zip(slots, batches, strict=True)]
    assert rows.append([], [], np.empty((0, DIM), np.float32)).tolist() == []
    for s, (c, r), o in zip(slots, batches, offsets, strict=True):
        for i, matrix in enumerate(split(c, r)):
            slot, got = rows.read(int(o[i]))
            assert slot == s[i]
            assert np.array_equal(got, matrix)
    chunks = list(rows.scan(rows_per_chunk=10))
    assert len(chunks) > 3
    assert np.concatenate([s for s, _, _ in chunks]).tolist() == np.concatenate(slots).tolist()
    assert np.array_equal(
        np.concatenate([r for _, _, r in chunks]), np.concatenate([r for _, r in batches])
    )
    assert np.concatenate([c for _, c, _ in chunks]).tolist() == (
        np.concatenate([c for c, _ in batches]).tolist()
    )
    end = rows.end
    rows.sync()
    rows.close()
    again = MultiRows.open_with(path, end, DIM)
    assert sum(len(s) for s, _, _ in again.scan()) == 35
    again.close()
    with pytest.raises(CorruptionError, match="dimension 5"):
        MultiRows.open_with(path, end, DIM + 1)


def test_append_refuses_inconsistent_arguments(tmp_path: Path) -> None:
    rows = MultiRows.create_with(tmp_path / "m", DIM)
    good = np.zeros((3, DIM), np.float32)
    with pytest.raises(ValueError, match="slots"):
        rows.append([1, 2], [3], good)
    with pytest.raises(ValueError, match="add up"):
        rows.append([1], [2], good)
    with pytest.raises(ValueError, match="at least one row"):
        rows.append([1, 2], [3, 0], good)
    with pytest.raises(ValueError, match=r"\(n, 5\)"):
        rows.append([1], [3], np.zeros((3, DIM + 1), np.float32))
    assert rows.end == HEADER.size
    rows.close()


def test_open_cuts_a_torn_tail_after_the_checkpoint(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    path = tmp_path / "m"
    rows = MultiRows.create_with(path, DIM)
    rows.append([1, 2], *random_docs(rng, 2, DIM))
    checkpoint = rows.end
    rows.append([3], *random_docs(rng, 1, DIM))
    rows.close()
    path.write_bytes(path.read_bytes()[:-7])  # the later record torn
    again = MultiRows.open_with(path, checkpoint, DIM)
    assert [s.tolist() for s, _, _ in again.scan()] == [[1, 2]]
    assert path.stat().st_size == checkpoint
    offsets = again.append([4], *random_docs(rng, 1, DIM))  # appends go on from the cut
    assert int(offsets[0]) == checkpoint
    again.close()
    with pytest.raises(CorruptionError, match="shorter than"):
        MultiRows.open_with(path, path.stat().st_size + 1, DIM)


def test_a_flipped_bit_is_corruption_naming_file_and_offset(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    path = tmp_path / "m"
    rows = MultiRows.create_with(path, DIM)
    offsets = rows.append(np.arange(10), *random_docs(rng, 10, DIM))
    end = rows.end
    rows.close()
    data = bytearray(path.read_bytes())
    data[int(offsets[4]) + 21] ^= 0x04
    path.write_bytes(bytes(data))
    again = MultiRows.open_with(path, end, DIM)
    with pytest.raises(CorruptionError, match=f"{path} at byte {offsets[4]}") as caught:
        list(again.scan())
    assert caught.value.offset == offsets[4]
    with pytest.raises(CorruptionError, match="checksum"):
        again.read(int(offsets[4]))
    assert again.read(int(offsets[5]))[0] == 5
    with pytest.raises(CorruptionError, match="no record"):
        again.read(HEADER.size - 1)
    again.close()


def test_a_damaged_header_refuses_to_open(tmp_path: Path) -> None:
    path = tmp_path / "m"
    MultiRows.create_with(path, DIM).close()
    data = bytearray(path.read_bytes())
    data[9] ^= 1  # the dimension field, under the header CRC
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptionError, match="header checksum"):
        MultiRows.open_with(path, HEADER.size, DIM)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 6),
    cut=st.floats(0, 1, exclude_max=True),
    flip=st.integers(0, 2**20),
)
def test_codec_truncation_and_bit_flips_never_decode_wrong(
    seed: int, n: int, cut: float, flip: int
) -> None:
    counts, rows = random_docs(np.random.default_rng(seed), n, DIM, max_rows=4)
    slots = np.arange(n, dtype=np.int64) * 1000 + seed % 1000
    raw, offsets = encode_records(slots, counts, rows)
    first = int(offsets[1]) if n > 1 else len(raw)
    slot, matrix, size = decode_record(raw, 0, DIM, Path("m"))
    assert (slot, size) == (slots[0], first)
    assert np.array_equal(matrix, rows[: counts[0]])
    with pytest.raises(CorruptionError):
        decode_record(raw[: int(cut * first)], 0, DIM, Path("m"))
    rotten = bytearray(raw[:first])
    rotten[(flip // 8) % first] ^= 1 << (flip % 8)
    try:
        got = decode_record(bytes(rotten), 0, DIM, Path("m"))[0]
    except CorruptionError:
        return
    raise AssertionError(f"a flipped bit decoded as slot {got}")
