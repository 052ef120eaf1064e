"""WalTail: a follower reading the WAL its owner goes on appending to, up to published LSNs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from zoro.errors import CorruptionError, FollowerBehind
from zoro.settings import WalSettings
from zoro.wal import WalTail, WalWriter

from .conftest import assert_same_op, delete, flip_bit, record_spans, segments, upsert

if TYPE_CHECKING:
    from pathlib import Path

    from zoro.types import WriteOp

SMALL_SEGMENTS = WalSettings(segment_max_bytes=2_000)


def _batches(count: int) -> list[list[WriteOp]]:
    return [
        [upsert(3, start=10 * i), delete(10 * i)] if i % 3 else [upsert(1, start=i)]
        for i in range(count)
    ]


def test_the_tail_follows_the_writer_batch_by_batch_across_segments(tmp_path: Path) -> None:
    written: list[WriteOp] = []
    tail = WalTail(tmp_path, 0)
    with WalWriter(tmp_path, next_lsn=1, settings=SMALL_SEGMENTS) as wal:
        for ops in _batches(40):
            first = wal.append(ops)
            written.extend(ops)
            got = tail.read_through(first + len(ops) - 1)
            assert [lsn for lsn, _ in got] == list(range(first, first + len(ops)))
            for (_, op), want in zip(got, ops, strict=True):
                assert_same_op(op, want)
            assert tail.read_through(first + len(ops) - 1) == []  # nothing twice
    assert len(segments(tmp_path)) > 3  # the tail moved from segment to segment
    tail.close()


@pytest.mark.parametrize("after", [0, 5, 17, 30])
def test_a_tail_starts_after_any_lsn_and_stops_at_the_one_asked(tmp_path: Path, after: int) -> None:
    with WalWriter(tmp_path, next_lsn=1, settings=SMALL_SEGMENTS) as wal:
        for ops in _batches(25):
            wal.append(ops)
        last = wal.next_lsn - 1
    tail = WalTail(tmp_path, after)
    middle = (after + last) // 2
    first_part = tail.read_through(middle)
    rest = tail.read_through(last)
    lsns = [lsn for lsn, _ in first_part + rest]
    assert lsns == list(range(after + 1, last + 1))
    assert tail.last_lsn == last
    tail.close()


def test_a_record_being_written_past_the_published_lsn_is_not_read(tmp_path: Path) -> None:
    with WalWriter(tmp_path, next_lsn=1, settings=WalSettings()) as wal:
        wal.append([upsert(2)])
        wal.append([upsert(2, start=5)])
    (segment,) = segments(tmp_path)
    with segment.open("ab") as torn:  # half a record, as the owner's next write may look
        torn.write(b"\x01\x02\x03")
    tail = WalTail(tmp_path, 0)
    assert [lsn for lsn, _ in tail.read_through(2)] == [1, 2]
    with pytest.raises(CorruptionError):  # past what was published, it is damage
        tail.read_through(3)
    tail.close()


def test_damage_in_a_published_record_is_corruption(tmp_path: Path) -> None:
    with WalWriter(tmp_path, next_lsn=1, settings=WalSettings()) as wal:
        for ops in _batches(4):
            wal.append(ops)
    (segment,) = segments(tmp_path)
    start, _ = record_spans(segment, 1)[2]
    flip_bit(segment, start + 30)
    tail = WalTail(tmp_path, 0)
    with pytest.raises(CorruptionError) as caught:
        tail.read_through(5)
    assert caught.value.path == str(segment)
    tail.close()


def test_a_tail_behind_a_removed_segment_must_reopen(tmp_path: Path) -> None:
    with WalWriter(tmp_path, next_lsn=1, settings=SMALL_SEGMENTS) as wal:
        for ops in _batches(30):
            wal.append(ops)
        last = wal.next_lsn - 1
        tail = WalTail(tmp_path, 0)
        tail.read_through(2)  # holds the first segment open: it stays readable
        wal.remove_segments_through(last - 3)  # a checkpoint near the end
        with pytest.raises(FollowerBehind):
            tail.read_through(last)
    again = WalTail(tmp_path, 0)
    with pytest.raises(FollowerBehind):
        again.read_through(last)
    tail.close()
