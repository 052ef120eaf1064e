"""Reading one segment file: its header, then its records in order, each one checked.

The reader only says what is wrong and where (BadRecord); recover() and replay() decide whether
that is a torn tail to cut or corruption to refuse. It reads both formats (_format.py): the
header says which record layout follows.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, Final

import numpy as np

from zoro.wal._format import (
    CRC,
    FORMAT_V1,
    FORMAT_VERSION,
    RECORD_V1,
    SEGMENT,
    check_record_kind,
    check_segment_header,
    record_layout,
    segment_header_whole,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path
    from types import TracebackType

# Records are read header, then body; a buffer turns small records into few system calls.
_READ_BUFFER: Final = 256 * 1024


class BadRecord(Exception):
    """What is wrong at `offset`. `tearable`: a crash in the middle of a write could explain it
    (short header, short body, bad CRC); a whole record that is wrong (CRC good) never is."""

    def __init__(self, offset: int, what: str, *, tearable: bool) -> None:
        super().__init__(what)
        self.offset = offset
        self.what = what
        self.tearable = tearable


@dataclass(frozen=True, slots=True)
class Record:
    offset: int
    lsn: int
    rtype: int
    body: bytes
    end: int  # offset just past it
    batch_index: int = -1  # its place in its batch (format 2; -1 in format 1)


class SegmentReader:
    """One segment opened for reading. Use as a context manager; OSError is left to the caller."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BinaryIO = open(path, "rb", buffering=_READ_BUFFER)  # noqa: SIM115
        self.size = os.fstat(self._file.fileno()).st_size
        self.version: int | None = None  # known once check_header has passed

    def __enter__(self) -> SegmentReader:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._file.close()

    def check_header(self, first_lsn: int) -> None:
        """Raise BadRecord(0, ...) unless the header is whole and names `first_lsn`."""
        self._file.seek(0)
        raw = self._file.read(SEGMENT.size)
        try:
            self.version = check_segment_header(raw, first_lsn)
        except ValueError as exc:
            # short or CRC-bad could be an interrupted creation; a whole header that says
            # something else could not
            raise BadRecord(0, str(exc), tearable=not segment_header_whole(raw)) from None

    def records(self, first_lsn: int) -> Iterator[Record]:
        """Every record in order, checked: framing, CRC, LSN continuity, known type/version,
        and (format 2) batch indexes that count up within a batch and start at 0 in a new one.

        Raises BadRecord at the first record that fails (at 0: the header, unless check_header
        has passed already); the ones before it were good.
        """
        if self.version is None:
            self.check_header(first_lsn)
        return self.records_from(SEGMENT.size, first_lsn, -1)

    def records_from(self, pos: int, lsn: int, index: int) -> Iterator[Record]:
        """As records(), from the record at byte `pos`, which should be LSN `lsn`; `index` is
        the batch index of the record before it (-1 at a segment's start). check_header must
        have passed. The file's size is read again first: a follower tailing a segment the
        owner appends to calls this again from where the last record ended."""
        assert self.version is not None, "check_header first"
        layout = record_layout(self.version)
        size, read = os.fstat(self._file.fileno()).st_size, self._file.read
        self.size = size
        self._file.seek(pos)
        while pos < size:
            if size - pos < layout.size:
                raise BadRecord(pos, f"short record header ({size - pos} bytes)", tearable=True)
            head = read(layout.size)
            if len(head) < layout.size:  # the file shrank under us
                raise BadRecord(pos, "short read", tearable=True)
            crc, length, got_lsn, rtype, version, reserved, *rest = layout.unpack(head)
            end = pos + layout.size + length
            if end > size:
                what = f"record of {length} bytes runs past the end of the file ({size} bytes)"
                raise BadRecord(pos, what, tearable=True)
            body = read(length)
            if len(body) < length:
                raise BadRecord(pos, "short read", tearable=True)
            if zlib.crc32(body, zlib.crc32(memoryview(head)[CRC.size :])) != crc:
                raise BadRecord(pos, "record CRC mismatch", tearable=True)
            if got_lsn != lsn:
                raise BadRecord(pos, f"LSN {got_lsn} where {lsn} was expected", tearable=False)
            try:
                check_record_kind(rtype, version, reserved, self.version)
            except ValueError as exc:
                raise BadRecord(pos, f"LSN {lsn}: {exc}", tearable=False) from None
            if rest and rest[0] not in (0, index + 1):
                what = f"LSN {lsn}: batch index {rest[0]} after {index}"
                raise BadRecord(pos, what, tearable=False)
            index = rest[0] if rest else -1
            yield Record(pos, lsn, rtype, body, end, index)
            pos, lsn = end, lsn + 1

    def later_batch_from(self, start: int, lsn: int) -> bool:
        """Whether a good record (CRC good) of a batch after the one LSN `lsn` belongs to
        starts at or after `start`. Used only when something is bad at `start` in the newest
        segment, where the next record should have been `lsn`.

        A batch is written only after the one before it was synced, so a good record of a later
        batch says the bad spot was synced once and has rotted since: corruption, not a torn
        tail. Good records of the bad spot's own batch say nothing: that batch may not have been
        synced, and a power cut can keep its pages in any order. Format 2 records carry their
        batch; format 1 ones do not, so there any good record beyond counts (refusing a torn
        batch is the safe mistake). With the header itself bad the format is unknown: both
        layouts are tried. The bad spot's length field may be the damaged part, so look at
        every byte offset, picking candidates by their LSN field with numpy, then checking
        their CRC.
        """
        self._file.seek(start)
        data = self._file.read()
        layouts = (self.version,) if self.version is not None else (FORMAT_V1, FORMAT_VERSION)
        max_lsn = lsn + len(data) // RECORD_V1.size
        for align in range(8):
            lsn_at = align + 8  # the LSN field is at byte 8 of a record header
            count = (len(data) - lsn_at) // 8
            if count <= 0:
                continue
            words = np.frombuffer(data, dtype="<u8", count=count, offset=lsn_at)
            for i in np.flatnonzero((words >= lsn) & (words <= max_lsn)).tolist():
                for version in layouts:
                    batch = _good_record_batch(data, lsn_at + 8 * i - 8, version)
                    if batch is not None and batch > lsn:
                        return True
        return False


def _good_record_batch(data: bytes, at: int, version: int) -> int | None:
    """For a good record of format `version` at `at`: the LSN its batch began at (format 1:
    the record's own LSN plus one, "later than anything"). None if no good record is there."""
    layout = record_layout(version)
    if len(data) - at < layout.size:
        return None
    crc, length, lsn, *_, last = layout.unpack_from(data, at)
    end = at + layout.size + length
    if end > len(data) or zlib.crc32(memoryview(data)[at + CRC.size : end]) != crc:
        return None
    if version != FORMAT_V1:
        return int(lsn - last) if last <= lsn else None
    return int(lsn) + 1
