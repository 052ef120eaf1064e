"""WalWriter with replay(): LSNs, reopening, rotation, segment removal and statistics."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from zoro.errors import CorruptionError
from zoro.settings import WalSettings
from zoro.wal import WalWriter, recover, replay
from zoro.wal._format import SEGMENT, segment_name

from .conftest import assert_same_op, delete, record_spans, replayed, segments, upsert, write

if TYPE_CHECKING:
    from pathlib import Path

    from zoro.types import WriteOp


def test_append_returns_increasing_lsns_and_replay_gives_the_ops_back(tmp_path: Path) -> None:
    batches: list[list[WriteOp]] = [[upsert(2)], [delete(1), upsert(1, start=5)], [delete(0)]]
    assert write(tmp_path, batches) == [1, 2, 4]
    got = replayed(tmp_path)
    assert [lsn for lsn, _op in got] == [1, 2, 3, 4]
    for (_lsn, op), want in zip(got, [op for ops in batches for op in ops], strict=True):
        assert_same_op(op, want)


def test_replay_starts_after_the_given_lsn(tmp_path: Path) -> None:
    write(tmp_path, [[upsert(1, start=i)] for i in range(6)])
    assert [lsn for lsn, _op in replayed(tmp_path, after=4)] == [5, 6]
    assert replayed(tmp_path, after=6) == []


def test_new_wal_starts_a_segment_named_after_next_lsn(tmp_path: Path) -> None:
    with WalWriter(tmp_path / "a" / "wal", next_lsn=101, settings=WalSettings()) as wal:
        assert wal.next_lsn == 101
        assert wal.append([delete(1)]) == 101
        assert wal.next_lsn == 102
    assert [p.name for p in segments(tmp_path / "a" / "wal")] == [segment_name(101)]
    assert segment_name(101) == "00000000000000000101.log"


def test_reopening_appends_to_the_newest_segment(tmp_path: Path) -> None:
    write(tmp_path, [[upsert(1)], [upsert(1)]])
    last = recover(tmp_path).last_lsn
    with WalWriter(tmp_path, next_lsn=last + 1, settings=WalSettings()) as wal:
        assert wal.append([delete(0)]) == 3
    assert len(segments(tmp_path)) == 1
    assert [lsn for lsn, _op in replayed(tmp_path)] == [1, 2, 3]


def test_reopening_below_the_logged_lsns_is_refused(tmp_path: Path) -> None:
    write(tmp_path, [[upsert(1)], [upsert(1)]])
    with pytest.raises(ValueError, match="repeat"):
        WalWriter(tmp_path, next_lsn=1, settings=WalSettings())


def test_an_empty_newest_segment_is_replaced_to_start_at_next_lsn(tmp_path: Path) -> None:
    WalWriter(tmp_path, next_lsn=1, settings=WalSettings()).close()  # header only
    with WalWriter(tmp_path, next_lsn=50, settings=WalSettings()) as wal:
        assert wal.append([delete(1)]) == 50
    assert [p.name for p in segments(tmp_path)] == [segment_name(50)]
    assert [lsn for lsn, _op in replayed(tmp_path, after=49)] == [50]


def test_rotation_keeps_batches_whole_and_replay_crosses_segments(tmp_path: Path) -> None:
    batches: list[list[WriteOp]] = [[upsert(1, start=i), delete(i)] for i in range(5)]
    write(tmp_path, batches, segment_max_bytes=100)  # every batch fills a segment
    paths = segments(tmp_path)
    assert [p.name for p in paths] == [segment_name(lsn) for lsn in (1, 3, 5, 7, 9)]
    for first, path in zip((1, 3, 5, 7, 9), paths, strict=True):
        assert len(record_spans(path, first)) == 2
    assert [lsn for lsn, _op in replayed(tmp_path)] == list(range(1, 11))
    assert [lsn for lsn, _op in replayed(tmp_path, after=4)] == list(range(5, 11))
    assert recover(tmp_path).segments == 5


def test_a_segment_below_max_bytes_takes_the_next_batch_even_if_it_grows_past(
    tmp_path: Path,
) -> None:
    write(tmp_path, [[upsert(1)], [upsert(50)], [upsert(1)]], segment_max_bytes=200)
    assert [p.name for p in segments(tmp_path)] == [segment_name(1), segment_name(3)]


def test_remove_segments_through_keeps_the_active_one_and_those_above(tmp_path: Path) -> None:
    settings = WalSettings(segment_max_bytes=100)
    with WalWriter(tmp_path, next_lsn=1, settings=settings) as wal:
        for i in range(4):
            wal.append([delete(i), delete(i)])  # segments start at LSN 1, 3, 5, 7
        assert wal.remove_segments_through(3) == 1  # 1-2 only: 3-4 still holds LSN 4
        assert segments(tmp_path)[0].name == segment_name(3)
        assert wal.remove_segments_through(6) == 2
        assert wal.remove_segments_through(10**6) == 0  # never the active segment
        assert [p.name for p in segments(tmp_path)] == [segment_name(7)]
        assert wal.stats().segments == 1
        assert wal.append([delete(9)]) == 9
    assert [lsn for lsn, _op in replayed(tmp_path, after=6)] == [7, 8, 9]


def test_a_checkpoint_covering_the_active_segment_retires_it(tmp_path: Path) -> None:
    settings = WalSettings(retire_active_bytes=100)  # one record: 65 bytes with the header
    with WalWriter(tmp_path, next_lsn=1, settings=settings) as wal:
        wal.append([delete(1)])
        assert not wal.retire_active_through(1)  # too small to be worth a new segment
        wal.append([delete(2), delete(3)])
        assert not wal.retire_active_through(2)  # LSN 3 is not covered
        assert wal.retire_active_through(3)
        assert wal.remove_segments_through(3) == 1
        assert [p.name for p in segments(tmp_path)] == [segment_name(4)]
        assert not wal.retire_active_through(3)  # the new one holds no record
    # reopened after the checkpoint at 3 (a crash here): the empty segment takes LSN 4 on
    assert recover(tmp_path).last_lsn == 0
    with WalWriter(tmp_path, next_lsn=4, settings=settings) as wal:
        assert wal.append([delete(4)]) == 4
    assert [lsn for lsn, _op in replayed(tmp_path, after=3)] == [4]


def test_replay_refuses_when_the_wal_no_longer_holds_what_it_needs(tmp_path: Path) -> None:
    with WalWriter(tmp_path, next_lsn=1, settings=WalSettings(segment_max_bytes=50)) as wal:
        for i in range(3):
            wal.append([delete(i)])
        wal.remove_segments_through(2)
    with pytest.raises(CorruptionError, match="starts at LSN 3") as info:
        replayed(tmp_path, after=1)
    assert info.value.path == str(tmp_path / segment_name(3))


def test_replay_skips_older_segments_without_reading_them(tmp_path: Path) -> None:
    write(tmp_path, [[delete(1)], [delete(2)], [delete(3)]], segment_max_bytes=50)
    oldest = segments(tmp_path)[0]
    oldest.write_bytes(oldest.read_bytes()[:-3] + b"bad")  # rot in LSN 1, which is not needed
    assert [lsn for lsn, _op in replayed(tmp_path, after=1)] == [2, 3]
    with pytest.raises(CorruptionError):
        replayed(tmp_path, after=0)


def test_stats_count_one_sync_per_append(tmp_path: Path) -> None:
    with WalWriter(tmp_path, next_lsn=1, settings=WalSettings()) as wal:
        wal.append([upsert(1)])
        before = wal.stats()
        wal.append([delete(i) for i in range(64)])
        after = wal.stats()
        (path,) = segments(tmp_path)
    assert after.syncs == before.syncs + 1
    assert after.records == before.records + 64
    assert after.batches == before.batches + 1
    assert after.bytes_written == path.stat().st_size - SEGMENT.size
    assert after.active_segment_bytes == after.wal_bytes == path.stat().st_size
    assert after.segments == 1


def test_stats_add_up_all_segment_files(tmp_path: Path) -> None:
    with WalWriter(tmp_path, next_lsn=1, settings=WalSettings(segment_max_bytes=50)) as wal:
        for i in range(3):
            wal.append([delete(i)])
        stats = wal.stats()
    assert stats.segments == 3
    assert stats.wal_bytes == sum(p.stat().st_size for p in segments(tmp_path))


def test_fsync_can_stand_in_for_fdatasync(tmp_path: Path) -> None:
    with WalWriter(tmp_path, next_lsn=1, settings=WalSettings(use_fdatasync=False)) as wal:
        wal.append([delete(1)])
        assert wal.stats().syncs == 1
    assert len(replayed(tmp_path)) == 1


def test_append_refuses_nothing_and_a_closed_writer(tmp_path: Path) -> None:
    wal = WalWriter(tmp_path, next_lsn=1, settings=WalSettings())
    with pytest.raises(ValueError, match="at least one"):
        wal.append([])
    wal.close()
    wal.close()
    with pytest.raises(ValueError, match="closed"):
        wal.append([delete(1)])


def test_a_bad_op_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with WalWriter(tmp_path, next_lsn=1, settings=WalSettings()) as wal:
        bad = upsert(2)
        object.__setattr__(bad, "payloads", [b"{}"])
        with pytest.raises(ValueError, match="payloads"):
            wal.append([delete(1), bad])
        assert wal.next_lsn == 1
    (path,) = segments(tmp_path)
    assert os.path.getsize(path) == SEGMENT.size


def test_replay_of_a_missing_directory_is_empty(tmp_path: Path) -> None:
    assert list(replay(tmp_path / "nothing", 0)) == []
