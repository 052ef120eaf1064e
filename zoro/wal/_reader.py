"""Reading one segment file: its header, then its records in order, each one checked.

The reader only says what is wrong and where (BadRecord); recover() and replay() decide whether
that is a torn tail to cut or corruption to refuse.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, Final

import numpy as np

from zoro.wal._format import (
    CRC,
    RECORD,
    SEGMENT,
    check_record_kind,
    check_segment_header,
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


class SegmentReader:
    """One segment opened for reading. Use as a context manager; OSError is left to the caller."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BinaryIO = open(path, "rb", buffering=_READ_BUFFER)  # noqa: SIM115
        self.size = os.fstat(self._file.fileno()).st_size

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
            check_segment_header(raw, first_lsn)
        except ValueError as exc:
            # short or CRC-bad could be an interrupted creation; a whole header that says
            # something else could not
            raise BadRecord(0, str(exc), tearable=not segment_header_whole(raw)) from None

    def records(self, first_lsn: int) -> Iterator[Record]:
        """Every record in order, checked: framing, CRC, LSN continuity, known type/version.

        Raises BadRecord at the first record that fails; the ones before it were good.
        """
        pos, lsn, size, read = SEGMENT.size, first_lsn, self.size, self._file.read
        self._file.seek(pos)
        while pos < size:
            if size - pos < RECORD.size:
                raise BadRecord(pos, f"short record header ({size - pos} bytes)", tearable=True)
            head = read(RECORD.size)
            if len(head) < RECORD.size:  # the file shrank under us
                raise BadRecord(pos, "short read", tearable=True)
            crc, length, got_lsn, rtype, version, reserved = RECORD.unpack(head)
            end = pos + RECORD.size + length
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
                check_record_kind(rtype, version, reserved)
            except ValueError as exc:
                raise BadRecord(pos, f"LSN {lsn}: {exc}", tearable=False) from None
            yield Record(pos, lsn, rtype, body)
            pos, lsn = end, lsn + 1

    def has_record_from(self, start: int, min_lsn: int) -> bool:
        """Whether a record with a good CRC and an LSN >= min_lsn starts at or after `start`.

        Used only when something is bad in the newest segment. A batch is written only after
        the one before it was synced, so a good record beyond the bad spot says the bad spot
        was synced once and has rotted since: corruption, not a torn tail. (One exception: an
        unsynced batch whose pages reached the disk out of order. Refusing it is the safe
        mistake.) The bad spot's length field may be the damaged part, so look at every byte
        offset, picking candidates by their LSN field with numpy, then checking their CRC.
        """
        self._file.seek(start)
        data = self._file.read()
        max_lsn = min_lsn + len(data) // RECORD.size
        for align in range(8):
            lsn_at = align + 8  # the LSN field is at byte 8 of a record header
            count = (len(data) - lsn_at) // 8
            if count <= 0:
                continue
            words = np.frombuffer(data, dtype="<u8", count=count, offset=lsn_at)
            for i in np.flatnonzero((words >= min_lsn) & (words <= max_lsn)).tolist():
                if _is_good_record(data, lsn_at + 8 * i - 8):
                    return True
        return False


def _is_good_record(data: bytes, at: int) -> bool:
    if len(data) - at < RECORD.size:
        return False
    crc: int
    length: int
    crc, length = RECORD.unpack_from(data, at)[:2]
    end = at + RECORD.size + length
    return end <= len(data) and zlib.crc32(memoryview(data)[at + CRC.size : end]) == crc
