"""Format 2 records know their batch: a torn unsynced batch is cut, rot of a synced one refused.

A power cut during a batch's sync can keep the batch's pages in any order, so a bad record can be
followed by good records of the same batch (tests/powerloss/test_torn_batch.py makes it happen
on the power-loss file system). Format 1 segments, written before, are still read the old way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from zoro.errors import CorruptionError
from zoro.settings import WalSettings
from zoro.wal import WalWriter, recover
from zoro.wal._format import SEGMENT, list_segments, segment_name

from .conftest import delete, flip_bit, record_spans, replayed, segments, upsert, write
from .test_recover import raw_segment, record

if TYPE_CHECKING:
    from pathlib import Path


def batch(first_lsn: int, count: int, *, fmt: int = 2) -> list[bytes]:
    """The records of one batch, as the writer lays them out."""
    return [record(first_lsn + i, delete(first_lsn + i), index=i, fmt=fmt) for i in range(count)]


def test_a_bad_record_followed_by_its_own_batch_is_a_torn_tail(tmp_path: Path) -> None:
    records = [*batch(1, 2), *batch(3, 4)]  # a synced batch, then one torn by a power cut
    path = raw_segment(tmp_path, 1, *records)
    bad_at = SEGMENT.size + sum(map(len, records[:3]))  # LSN 4, the second of the torn batch
    flip_bit(path, bad_at + 30)
    got = recover(tmp_path)
    assert (got.last_lsn, got.records) == (3, 3)  # the torn batch's good prefix stays
    assert path.stat().st_size == bad_at
    assert [lsn for lsn, _op in replayed(tmp_path)] == [1, 2, 3]


def test_a_bad_record_followed_by_a_later_batch_is_corruption(tmp_path: Path) -> None:
    records = [*batch(1, 3), *batch(4, 2)]
    path = raw_segment(tmp_path, 1, *records)
    bad_at = SEGMENT.size + len(records[0])  # LSN 2, inside a batch that a later one follows
    flip_bit(path, bad_at + 30)
    with pytest.raises(CorruptionError, match="CRC") as info:
        recover(tmp_path)
    assert (info.value.path, info.value.offset) == (str(path), bad_at)


def test_a_damaged_length_inside_a_torn_batch_is_still_a_torn_tail(tmp_path: Path) -> None:
    records = batch(1, 5)
    path = raw_segment(tmp_path, 1, *records)
    bad_at = SEGMENT.size + len(records[0])
    flip_bit(path, bad_at + 6, bit=3)  # the length field: the reader loses the framing
    assert recover(tmp_path).last_lsn == 1


def test_a_torn_creation_with_part_of_its_first_batch_is_removed(tmp_path: Path) -> None:
    write(tmp_path, [[delete(1)], [delete(2)]])
    torn = raw_segment(tmp_path, 3, *batch(3, 3))
    data = bytearray(torn.read_bytes())
    data[: SEGMENT.size] = bytes(SEGMENT.size)  # the header's page never reached the disk
    torn.write_bytes(bytes(data))
    got = recover(tmp_path)
    assert (got.last_lsn, got.segments) == (2, 1)
    assert not torn.exists()


def test_a_bad_header_before_a_later_batch_is_corruption(tmp_path: Path) -> None:
    write(tmp_path, [[delete(1)], [delete(2)]])
    path = raw_segment(tmp_path, 3, *batch(3, 1), *batch(4, 1))
    flip_bit(path, 10)
    with pytest.raises(CorruptionError, match="header"):
        recover(tmp_path)


def test_batch_indexes_that_do_not_count_up_are_corruption(tmp_path: Path) -> None:
    raw_segment(tmp_path, 1, record(1, delete(1)), record(2, delete(2), index=5))
    with pytest.raises(CorruptionError, match="batch index 5 after 0") as info:
        recover(tmp_path)
    assert info.value.offset == SEGMENT.size + len(record(1, delete(1)))
    raw_segment(tmp_path, 1, record(1, delete(1), index=1))  # a segment's first record: 0
    with pytest.raises(CorruptionError, match="batch index 1 after -1"):
        recover(tmp_path)


# ---------------------------------------------------------------------- format 1


def test_format_1_segments_are_still_read_and_replayed(tmp_path: Path) -> None:
    raw_segment(tmp_path, 1, *batch(1, 2, fmt=1), fmt=1)
    raw_segment(tmp_path, 3, *batch(3, 2, fmt=1), fmt=1)
    got = recover(tmp_path)
    assert (got.last_lsn, got.segments, got.truncated_bytes) == (4, 2, 0)
    assert [lsn for lsn, _op in replayed(tmp_path)] == [1, 2, 3, 4]


def test_format_1_keeps_the_old_rule_any_good_record_after_a_bad_one_is_corruption(
    tmp_path: Path,
) -> None:
    records = batch(1, 4, fmt=1)  # it cannot say whether they were one batch
    path = raw_segment(tmp_path, 1, *records, fmt=1)
    flip_bit(path, SEGMENT.size + len(records[0]) + 25)
    with pytest.raises(CorruptionError, match="CRC"):
        recover(tmp_path)
    path = raw_segment(tmp_path, 1, *records, fmt=1)
    path.write_bytes(path.read_bytes()[: SEGMENT.size + sum(map(len, records[:3])) + 10])
    assert recover(tmp_path).last_lsn == 3  # its torn last record is cut as before


def test_the_writer_never_appends_to_a_format_1_segment(tmp_path: Path) -> None:
    old = raw_segment(tmp_path, 1, *batch(1, 2, fmt=1), fmt=1)
    size = old.stat().st_size
    assert recover(tmp_path).last_lsn == 2
    with WalWriter(tmp_path, next_lsn=3, settings=WalSettings()) as wal:
        assert wal.append([upsert(2, start=5), delete(1)]) == 3
        assert wal.stats().segments == 2
        assert wal.remove_segments_through(2) == 1  # the old one is sealed like any other
    assert [p.name for p in segments(tmp_path)] == [segment_name(3)]
    assert size > SEGMENT.size
    assert [lsn for lsn, _op in replayed(tmp_path, 2)] == [3, 4]


def test_a_format_1_segment_with_only_its_header_is_replaced(tmp_path: Path) -> None:
    raw_segment(tmp_path, 1, *batch(1, 1, fmt=1), fmt=1)
    raw_segment(tmp_path, 2, fmt=1)  # rotated into, then the server stopped
    with WalWriter(tmp_path, next_lsn=2, settings=WalSettings()) as wal:
        assert wal.append([delete(7)]) == 2
    assert [first for first, _p in list_segments(tmp_path)] == [1, 2]
    assert [lsn for lsn, _op in replayed(tmp_path)] == [1, 2]
    start, _end = record_spans(segments(tmp_path)[1], 2)[0]
    assert start == SEGMENT.size
