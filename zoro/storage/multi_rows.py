"""source/multi.<n>: append-only multivector records, the truth the index is rebuilt from.

    offset    size      field
    0         4         magic b"ZMUL"
    4         2         format version (1), little-endian
    6         2         reserved, 0
    8         4         dimension (u32): the width of every row in the file
    12        4         CRC32 of bytes 0..12
    16        ...       records, back to back

    record (16 + 4 * count * dimension bytes, little-endian):
    +0        4         CRC32 of bytes +4 .. end of the record
    +4        4         count (u32): rows in this matrix, at least 1
    +8        8         slot (i64)
    +16       4 * count * dimension    the rows (f32), row after row

One record per slot that has this multivector. The CRC covers the count and the slot as well as
the rows. A record carries its slot, so a rebuild reads the file front to back and keeps the
slots the collection says are live; `append` returns each record's offset for point reads.
As with source/sparse.<n>, open cuts the file back to the length recorded at the last checkpoint
(bytes past it were written after the checkpoint, maybe torn, and the WAL writes them again); a
bad record before it is corruption: `CorruptionError` naming the file and the record's offset.
"""

from __future__ import annotations

import os
import struct
import zlib
from typing import TYPE_CHECKING, Final, Self

import numpy as np
import numpy.typing as npt

from zoro.errors import CorruptionError
from zoro.fsutil import pwrite_all

from ._fileio import RecordFile, decode_header, encode_header, open_file, pread_exact
from ._fileio import sync as sync_fd

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

MAGIC: Final = b"ZMUL"
VERSION: Final = 1
HEADER: Final = struct.Struct("<4sHHII")  # magic, version, reserved, dimension, crc
RECORD: Final = struct.Struct("<IIq")  # crc32 of the rest, row count, slot
assert (HEADER.size, RECORD.size) == (16, 16)

I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]

_SCAN_CHUNK: Final = 16 << 20


def encode_records(slots: I64, counts: I64, rows: F32) -> tuple[bytes, I64]:
    """Records for matrix i (counts[i] rows of `rows`, in order) under slots[i], back to back,
    and each record's offset in them. One pass per record: a head, the rows copied in one
    slice, a CRC over a memoryview slice (no intermediate copies)."""
    dimension = rows.shape[1]
    sizes = RECORD.size + 4 * dimension * counts
    starts = np.zeros(len(slots) + 1, dtype=np.int64)
    np.cumsum(sizes, out=starts[1:])
    out = bytearray(int(starts[-1]))
    view = memoryview(out)
    body = memoryview(np.ascontiguousarray(rows, dtype="<f4").data).cast("B")
    taken = 0
    for at, count, slot in zip(starts[:-1].tolist(), counts.tolist(), slots.tolist(), strict=True):
        n = 4 * dimension * count
        view[at + RECORD.size : at + RECORD.size + n] = body[taken : taken + n]
        taken += n
        RECORD.pack_into(out, at, 0, count, slot)
        RECORD.pack_into(out, at, zlib.crc32(view[at + 4 : at + RECORD.size + n]), count, slot)
    offsets: I64 = starts[:-1]
    return bytes(out), offsets


def decode_record(
    raw: bytes | memoryview, offset: int, dimension: int, path: Path
) -> tuple[int, F32, int]:
    """(slot, rows, record size) of the record at the start of `raw`, which was read at
    `offset`. Raises CorruptionError when it is cut short, empty or its CRC does not match."""
    if len(raw) < RECORD.size:
        raise CorruptionError(str(path), offset, "record header cut short")
    crc, count, slot = RECORD.unpack_from(raw)
    size = RECORD.size + 4 * count * dimension
    if len(raw) < size:
        raise CorruptionError(str(path), offset, f"record of {count} rows cut short")
    if zlib.crc32(memoryview(raw)[4:size]) != crc:
        raise CorruptionError(str(path), offset, "multivector record checksum mismatch")
    if count == 0:
        raise CorruptionError(str(path), offset, "multivector record with no rows")
    rows = np.frombuffer(raw, dtype="<f4", count=count * dimension, offset=RECORD.size)
    return slot, rows.astype(np.float32).reshape(count, dimension), size


class MultiRows(RecordFile):
    """The record file of one multivector name: batch appends at `end`, reads by offset, and a
    front-to-back scan. Blocking; one owner (the collection actor) at a time. Make one with
    `create_with` / `open_with`: the inherited `create` / `open` know no dimension (0), so
    their files take no rows."""

    HEADER = HEADER
    MAGIC = MAGIC
    VERSION = VERSION

    dimension: int = 0

    @classmethod
    def create_with(cls, path: Path, dimension: int) -> Self:
        """A new empty file for rows of `dimension` (the caller fsyncs the directory)."""
        if dimension <= 0:
            raise ValueError(f"dimension must be positive, got {dimension}")
        fd = open_file(path, create=True)
        try:
            pwrite_all(fd, encode_header(HEADER, MAGIC, VERSION, 0, dimension), 0)
            sync_fd(fd)
        except BaseException:
            os.close(fd)
            raise
        rows = cls(path, fd, HEADER.size)
        rows.dimension = dimension
        return rows

    @classmethod
    def open_with(cls, path: Path, end: int, dimension: int, *, follow: bool = False) -> Self:
        """Open with records up to byte `end` (from the checkpoint), cutting off the rest.
        Raises CorruptionError when the header is damaged or names another dimension."""
        rows = cls.open(path, end, follow=follow)
        try:
            found = int(decode_header(rows._fd, HEADER, MAGIC, VERSION, path)[3])
            if found != dimension:
                raise CorruptionError(
                    str(path), 8, f"rows of dimension {found}, the collection says {dimension}"
                )
        except BaseException:
            rows.close()
            raise
        rows.dimension = dimension
        return rows

    def append(self, slots: npt.ArrayLike, counts: npt.ArrayLike, rows: npt.ArrayLike) -> I64:
        """Write one record per matrix; return each record's file offset. Raises OSError (then
        call `truncate` with the old `end`) or ValueError for inconsistent arguments."""
        slot_arr = np.asarray(slots, dtype=np.int64).reshape(-1)
        count_arr = np.asarray(counts, dtype=np.int64).reshape(-1)
        matrix = np.asarray(rows, dtype=np.float32)
        if len(slot_arr) != len(count_arr):
            raise ValueError(f"{len(count_arr)} matrices but {len(slot_arr)} slots")
        if matrix.ndim != 2 or matrix.shape[1] != self.dimension:
            raise ValueError(f"rows must be (n, {self.dimension}), got {matrix.shape}")
        if len(count_arr) and int(count_arr.min()) < 1:
            raise ValueError("every matrix needs at least one row")
        if int(count_arr.sum()) != len(matrix):
            raise ValueError(f"counts add up to {int(count_arr.sum())}, rows hold {len(matrix)}")
        if not len(slot_arr):
            return np.empty(0, dtype=np.int64)
        records, offsets = encode_records(slot_arr, count_arr, matrix)
        placed: I64 = offsets + self._append(records)
        return placed

    def read(self, offset: int) -> tuple[int, F32]:
        """(slot, rows) of the record at `offset`. Raises CorruptionError."""
        if not HEADER.size <= offset < self.end:
            raise CorruptionError(str(self._path), offset, "no record starts here")
        head = pread_exact(self._fd, RECORD.size, offset, self._path)
        size = RECORD.size + 4 * RECORD.unpack(head)[1] * self.dimension
        if offset + size > self.end:
            raise CorruptionError(str(self._path), offset, "record overruns the data end")
        raw = head + pread_exact(self._fd, size - RECORD.size, offset + RECORD.size, self._path)
        slot, rows, _ = decode_record(raw, offset, self.dimension, self._path)
        return slot, rows

    def scan(self, rows_per_chunk: int = 65_536) -> Iterator[tuple[I64, I64, F32]]:
        """Every record front to back, as (slots, counts, rows) chunks of about
        `rows_per_chunk` rows (the layout `MultiIndex.add` takes). Raises CorruptionError."""
        for _, slots, counts, rows in self.scan_located(rows_per_chunk):
            yield slots, counts, rows

    def scan_located(self, rows_per_chunk: int = 65_536) -> Iterator[tuple[I64, I64, I64, F32]]:
        """Like `scan`, with each record's file offset first: (offsets, slots, counts, rows)."""
        offset = HEADER.size
        buffer, buffer_at = b"", offset
        offsets: list[int] = []
        slots: list[int] = []
        parts: list[F32] = []
        held = 0
        while offset < self.end:
            if offset + RECORD.size > self.end:
                raise CorruptionError(str(self._path), offset, "record header overruns the end")
            if offset + RECORD.size > buffer_at + len(buffer):
                buffer, buffer_at = self._read_from(offset, RECORD.size), offset
            count = RECORD.unpack_from(buffer, offset - buffer_at)[1]
            size = RECORD.size + 4 * count * self.dimension
            if offset + size > self.end:
                raise CorruptionError(str(self._path), offset, "record overruns the data end")
            if offset + size > buffer_at + len(buffer):
                buffer, buffer_at = self._read_from(offset, size), offset
            view = memoryview(buffer)[offset - buffer_at : offset - buffer_at + size]
            slot, rows, _ = decode_record(view, offset, self.dimension, self._path)
            offsets.append(offset)
            slots.append(slot)
            parts.append(rows)
            held += len(rows)
            offset += size
            if held >= rows_per_chunk:
                yield (np.asarray(offsets, dtype=np.int64), *_chunk(slots, parts, self.dimension))
                offsets, slots, parts, held = [], [], [], 0
        if slots:
            yield (np.asarray(offsets, dtype=np.int64), *_chunk(slots, parts, self.dimension))

    def _read_from(self, offset: int, at_least: int) -> bytes:
        size = min(max(at_least, _SCAN_CHUNK), self.end - offset)
        return pread_exact(self._fd, size, offset, self._path)


def _chunk(slots: list[int], parts: list[F32], dimension: int) -> tuple[I64, I64, F32]:
    counts = np.fromiter((len(p) for p in parts), dtype=np.int64, count=len(parts))
    rows = np.concatenate(parts) if parts else np.empty((0, dimension), dtype=np.float32)
    return np.asarray(slots, dtype=np.int64), counts, rows
