"""recover(): torn tails are cut (and kept aside), everything else bad is refused by name."""

from __future__ import annotations

import logging
import zlib
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zoro.errors import CorruptionError
from zoro.settings import WalSettings
from zoro.types import WriteOp
from zoro.wal import WalRecovery, WalWriter, recover
from zoro.wal._codec import encode_body
from zoro.wal._format import (
    FORMAT_V1,
    RECORD,
    SEGMENT,
    pack_segment_header,
    record_layout,
    segment_name,
)

from .conftest import (
    assert_same_op,
    delete,
    flip_bit,
    record_spans,
    replayed,
    segments,
    upsert,
    write,
)

if TYPE_CHECKING:
    from pathlib import Path

OPS: list[WriteOp] = [upsert(2), delete(1), upsert(1, start=7), delete(3, 4), upsert(1, start=9)]


def raw_record(
    lsn: int, rtype: int, body: bytes, version: int = 1, *, index: int = 0, fmt: int = 2
) -> bytes:
    """A record with a good CRC, whatever is in it; `index`: its place in its batch (format 2
    and later)."""
    extra = () if fmt == FORMAT_V1 else (index,)
    tail = record_layout(fmt).pack(0, len(body), lsn, rtype, version, 0, *extra)[4:] + body
    return zlib.crc32(tail).to_bytes(4, "little") + tail


def raw_segment(directory: Path, first_lsn: int, *records: bytes, fmt: int = 2) -> Path:
    directory.mkdir(exist_ok=True)
    path = directory / segment_name(first_lsn)
    path.write_bytes(pack_segment_header(first_lsn, fmt) + b"".join(records))
    return path


def record(lsn: int, op: WriteOp, *, index: int = 0, fmt: int = 2) -> bytes:
    return raw_record(lsn, *encode_body(op), index=index, fmt=fmt)


FIRST = len(record(1, delete(1)))  # the size of the first record in the raw segments below


def test_a_missing_or_empty_directory_is_an_empty_wal(tmp_path: Path) -> None:
    assert recover(tmp_path / "none") == WalRecovery(0, 0, 0, 0, 0)
    assert recover(tmp_path) == WalRecovery(0, 0, 0, 0, 0)


def test_a_clean_wal_is_left_alone(tmp_path: Path) -> None:
    write(tmp_path, [[op] for op in OPS], segment_max_bytes=100)
    sizes = [p.stat().st_size for p in segments(tmp_path)]
    got = recover(tmp_path)
    assert got == WalRecovery(len(OPS), len(OPS), sum(sizes), 0, len(sizes))
    assert [p.stat().st_size for p in segments(tmp_path)] == sizes


@pytest.mark.parametrize("last", [upsert(1, start=5), delete(5)], ids=["upsert", "delete"])
def test_a_cut_anywhere_in_the_last_record_is_a_torn_tail(tmp_path: Path, last: WriteOp) -> None:
    source = tmp_path / "source"
    write(source, [[op] for op in [*OPS, last]])
    (segment,) = segments(source)
    whole = segment.read_bytes()
    start, end = record_spans(segment, 1)[-1]
    assert end == len(whole)
    for cut in range(start, end):
        wal = tmp_path / f"cut{cut}"
        wal.mkdir()
        (wal / segment.name).write_bytes(whole[:cut])
        got = recover(wal)
        assert (got.last_lsn, got.records, got.truncated_bytes) == (len(OPS), len(OPS), cut - start)
        assert (wal / segment.name).stat().st_size == start
        aside = list(wal.glob("*.tr*"))
        assert [p.read_bytes() for p in aside] == ([whole[start:cut]] if cut > start else [])
        with WalWriter(wal, next_lsn=got.last_lsn + 1, settings=WalSettings()) as writer:
            assert writer.append([delete(8), delete(9)]) == len(OPS) + 1
        assert [lsn for lsn, _op in replayed(wal)] == list(range(1, len(OPS) + 3))


def test_the_cut_is_logged_and_a_second_cut_gets_its_own_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(tmp_path, [[delete(1)], [delete(2)]])
    (segment,) = segments(tmp_path)
    for _ in range(2):
        with segment.open("ab") as f:
            f.write(b"\x01\x02\x03")
        with caplog.at_level(logging.WARNING, logger="zoro.wal"):
            assert recover(tmp_path).truncated_bytes == 3
    assert sorted(p.name for p in tmp_path.glob("*.tr*")) == [
        segment.name + ".tr0",
        segment.name + ".tr1",
    ]
    assert "torn WAL tail of 3 bytes" in caplog.text


@pytest.mark.parametrize("offset", [*range(RECORD.size), 21, 30, 50])
def test_a_flip_in_a_middle_record_of_the_newest_segment_is_corruption(
    tmp_path: Path, offset: int
) -> None:
    write(tmp_path, [[op] for op in OPS])
    (segment,) = segments(tmp_path)
    start, _end = record_spans(segment, 1)[2]
    flip_bit(segment, start + offset, bit=offset % 8)
    with pytest.raises(CorruptionError) as info:
        recover(tmp_path)
    assert (info.value.path, info.value.offset) == (str(segment), start)


@pytest.mark.parametrize("offset", [0, 4, 8, 15, 16, 19, 20, 40, 60])
def test_a_flip_in_an_older_segment_is_corruption(tmp_path: Path, offset: int) -> None:
    write(tmp_path, [[op] for op in OPS], segment_max_bytes=100)
    older = segments(tmp_path)[1]
    start, end = record_spans(older, 2)[-1]  # the last record of an older segment
    flip_bit(older, start + offset % (end - start))
    with pytest.raises(CorruptionError) as info:
        recover(tmp_path)
    assert (info.value.path, info.value.offset) == (str(older), start)


def test_any_flip_in_the_last_record_is_cut_as_torn(tmp_path: Path) -> None:
    source = tmp_path / "source"
    write(source, [[op] for op in OPS])
    (segment,) = segments(source)
    start, end = record_spans(segment, 1)[-1]
    for offset in range(start, end):
        wal = tmp_path / f"flip{offset}"
        wal.mkdir()
        copy = wal / segment.name
        copy.write_bytes(segment.read_bytes())
        flip_bit(copy, offset, bit=offset % 8)
        assert recover(wal).last_lsn == len(OPS) - 1
        assert copy.stat().st_size == start


@pytest.mark.parametrize("newest", [False, True])
def test_a_bad_segment_header_is_corruption(tmp_path: Path, newest: bool) -> None:
    write(tmp_path, [[op] for op in OPS], segment_max_bytes=100)
    target = segments(tmp_path)[-1 if newest else 0]
    flip_bit(target, 10)
    with pytest.raises(CorruptionError, match="header") as info:
        recover(tmp_path)
    assert (info.value.path, info.value.offset) == (str(target), 0)


@pytest.mark.parametrize("header", [b"", b"ZWAL\x01", b"\0" * SEGMENT.size])
def test_a_torn_segment_creation_is_removed(tmp_path: Path, header: bytes) -> None:
    write(tmp_path, [[delete(1)], [delete(2)]])
    torn = tmp_path / segment_name(3)
    torn.write_bytes(header)
    got = recover(tmp_path)
    assert (got.last_lsn, got.segments, got.truncated_bytes) == (2, 1, len(header))
    assert not torn.exists()
    with WalWriter(tmp_path, next_lsn=3, settings=WalSettings()) as wal:
        assert wal.append([delete(3)]) == 3
    assert [lsn for lsn, _op in replayed(tmp_path)] == [1, 2, 3]


def test_an_lsn_gap_inside_a_segment_is_corruption(tmp_path: Path) -> None:
    gap = record(3, delete(3))
    path = raw_segment(tmp_path, 1, record(1, delete(1)), gap, record(4, delete(4)))
    with pytest.raises(CorruptionError, match="LSN 3 where 2 was expected") as info:
        recover(tmp_path)
    assert (info.value.path, info.value.offset) == (str(path), SEGMENT.size + len(gap))


def test_a_repeated_lsn_is_corruption_even_at_the_tail(tmp_path: Path) -> None:
    raw_segment(tmp_path, 1, record(1, delete(1)), record(1, delete(1)))
    with pytest.raises(CorruptionError, match="LSN 1 where 2 was expected"):
        recover(tmp_path)


def test_an_lsn_gap_between_segments_is_corruption(tmp_path: Path) -> None:
    raw_segment(tmp_path, 1, record(1, delete(1)))
    later = raw_segment(tmp_path, 3, record(3, delete(3)))
    with pytest.raises(CorruptionError, match="ends at 1") as info:
        recover(tmp_path)
    assert (info.value.path, info.value.offset) == (str(later), 0)


def test_a_header_that_disagrees_with_its_file_name_is_corruption(tmp_path: Path) -> None:
    path = raw_segment(tmp_path, 1, record(1, delete(1)))
    path.rename(tmp_path / segment_name(2))
    raw_segment(tmp_path, 1, record(1, delete(1)))
    with pytest.raises(CorruptionError, match="file name says 2"):
        recover(tmp_path)


@pytest.mark.parametrize(("rtype", "version", "match"), [(9, 1, "type 9"), (1, 2, "version 2")])
def test_a_whole_record_of_unknown_kind_is_corruption_not_a_tear(
    tmp_path: Path, rtype: int, version: int, match: str
) -> None:
    path = raw_segment(tmp_path, 1, record(1, delete(1)), raw_record(2, rtype, b"x", version))
    with pytest.raises(CorruptionError, match=match) as info:
        recover(tmp_path)
    assert (info.value.path, info.value.offset) == (str(path), SEGMENT.size + FIRST)


def test_a_whole_record_whose_body_does_not_decode_is_refused_by_replay(tmp_path: Path) -> None:
    path = raw_segment(tmp_path, 1, record(1, delete(1)), raw_record(2, 2, b"\x05\0\0\0"))
    assert recover(tmp_path).last_lsn == 2  # framing and CRC are fine
    with pytest.raises(CorruptionError, match="LSN 2: delete body") as info:
        replayed(tmp_path)
    assert (info.value.path, info.value.offset) == (str(path), SEGMENT.size + FIRST)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_a_flip_anywhere_gives_corruption_or_a_clean_prefix(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    wal = tmp_path_factory.mktemp("wal")
    write(wal, [[op] for op in OPS], segment_max_bytes=150)
    paths = segments(wal)
    path = data.draw(st.sampled_from(paths))
    offset = data.draw(st.integers(0, path.stat().st_size - 1))
    flip_bit(path, offset, data.draw(st.integers(0, 7)))
    refused: str | None = None
    try:
        got = recover(wal)
    except CorruptionError as exc:
        refused = exc.path
    if refused is not None:
        assert refused == str(path)
        return
    assert path == paths[-1]  # only the newest segment may lose its tail
    kept = replayed(wal)
    assert [lsn for lsn, _op in kept] == list(range(1, got.last_lsn + 1))
    for (_lsn, op), want in zip(kept, OPS, strict=False):
        assert_same_op(op, want)
