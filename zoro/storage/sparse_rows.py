"""source/sparse.<name>: append-only sparse vector records, the truth the index is rebuilt from.

    offset    size      field
    0         4         magic b"ZSPR"
    4         2         format version (1), little-endian
    6         2         reserved, 0
    8         4         reserved, 0
    12        4         CRC32 of bytes 0..12
    16        ...       records, back to back

    record (16 + 8 * nnz bytes, little-endian):
    +0        4         CRC32 of bytes +4 .. end of the record
    +4        4         nnz (u32)
    +8        8         slot (i64)
    +16       4 * nnz   indices (u32), strictly increasing (the canonical form)
    +16+4nnz  4 * nnz   values (f32)

One record per slot that has this sparse vector (an empty vector is a record with nnz 0). The CRC
covers the count and the slot as well as the body. A record carries its slot, so a rebuild can
read the file front to back and keep the slots the collection says are live, without the slot
table; the slot table (or the caller) may still keep each record's offset for point reads, which
`append` returns. Like source/payloads, the file is cut back on open to the length recorded at
the last checkpoint: bytes past it were written after the checkpoint (maybe torn) and the WAL
re-applies them; a bad record before it is corruption (`CorruptionError` with file and offset).
"""

from __future__ import annotations

import itertools
import struct
import zlib
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from zoro.errors import CorruptionError
from zoro.sparse.vectors import SparseBatch

from ._fileio import (
    RecordFile,
    pread_exact,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

MAGIC: Final = b"ZSPR"
VERSION: Final = 1
HEADER: Final = struct.Struct("<4sHHII")  # magic, version, reserved, reserved, crc
RECORD: Final = struct.Struct("<IIq")  # crc32 of the rest, nnz, slot
assert (HEADER.size, RECORD.size) == (16, 16)

I64 = npt.NDArray[np.int64]
U32 = npt.NDArray[np.uint32]
F32 = npt.NDArray[np.float32]

_SCAN_CHUNK: Final = 16 << 20


def encode_records(slots: I64, batch: SparseBatch) -> tuple[bytes, I64]:
    """Records for batch row i under slots[i], back to back; each record's offset in them.

    The layout is filled with a few vectorised scatters into one u32 buffer; only the CRCs are
    computed row by row (zlib over a memoryview slice, no copies).
    """
    n = len(batch)
    lengths = batch.lengths()
    words = 4 + 2 * lengths  # record size in u32 words
    starts = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(words, out=starts[1:])
    buf = np.zeros(int(starts[-1]), dtype="<u4")
    first = starts[:-1]
    buf[first + 1] = lengths
    slot_words = np.ascontiguousarray(slots, dtype="<i8").view("<u4").reshape(n, 2)
    buf[first + 2] = slot_words[:, 0]
    buf[first + 3] = slot_words[:, 1]
    within = np.arange(batch.nnz, dtype=np.int64) - np.repeat(batch.indptr[:-1], lengths)
    base = np.repeat(first + 4, lengths) + within
    buf[base] = batch.indices
    buf[base + np.repeat(lengths, lengths)] = batch.values.astype("<f4").view("<u4")
    raw = memoryview(buf.data).cast("B")
    edges = (starts * 4).tolist()
    buf[first] = [zlib.crc32(raw[a + 4 : b]) for a, b in itertools.pairwise(edges)]
    offsets: I64 = starts[:-1] * 4
    return raw.tobytes(), offsets


def decode_record(raw: bytes | memoryview, offset: int, path: Path) -> tuple[int, U32, F32, int]:
    """(slot, indices, values, record size) of the record at the start of `raw`, which was read
    at `offset`. Raises CorruptionError when it is cut short or its CRC does not match."""
    if len(raw) < RECORD.size:
        raise CorruptionError(str(path), offset, "record header cut short")
    crc, nnz, slot = RECORD.unpack_from(raw)
    size = RECORD.size + 8 * nnz
    if len(raw) < size:
        raise CorruptionError(str(path), offset, f"record of {nnz} entries cut short")
    if zlib.crc32(memoryview(raw)[4:size]) != crc:
        raise CorruptionError(str(path), offset, "sparse vector record checksum mismatch")
    indices = np.frombuffer(raw, dtype="<u4", count=nnz, offset=RECORD.size)
    values = np.frombuffer(raw, dtype="<f4", count=nnz, offset=RECORD.size + 4 * nnz)
    return slot, indices.astype(np.uint32), values.astype(np.float32), size


class SparseRowFile(RecordFile):
    """The record file: batch appends at `end`, reads by offset, and a front-to-back scan."""

    HEADER = HEADER
    MAGIC = MAGIC
    VERSION = VERSION

    def append(self, slots: npt.ArrayLike, batch: SparseBatch) -> I64:
        """Write one record per row; return each record's file offset. Raises OSError (then
        call `truncate` with the old `end`)."""
        slots = np.asarray(slots, dtype=np.int64)
        if len(slots) != len(batch):
            raise ValueError(f"{len(batch)} vectors but {len(slots)} slots")
        records, offsets = encode_records(slots, batch)
        placed: I64 = offsets + self._append(records)
        return placed

    def read(self, offset: int) -> tuple[int, U32, F32]:
        """(slot, indices, values) of the record at `offset`. Raises CorruptionError."""
        if not HEADER.size <= offset < self.end:
            raise CorruptionError(str(self._path), offset, "no record starts here")
        head = pread_exact(self._fd, RECORD.size, offset, self._path)
        nnz = RECORD.unpack(head)[1]
        if offset + RECORD.size + 8 * nnz > self.end:
            raise CorruptionError(str(self._path), offset, f"record of {nnz} entries overruns")
        raw = head + pread_exact(self._fd, 8 * nnz, offset + RECORD.size, self._path)
        slot, indices, values, _ = decode_record(raw, offset, self._path)
        return slot, indices, values

    def scan(
        self, rows_per_chunk: int = 65_536, *, start: int | None = None
    ) -> Iterator[tuple[I64, SparseBatch]]:
        """Every record front to back (from the record at offset `start`, if given), as
        (slots, batch) chunks. Raises CorruptionError."""
        for _, slots, batch in self.scan_located(rows_per_chunk, start=start):
            yield slots, batch

    def scan_located(
        self, rows_per_chunk: int = 65_536, *, start: int | None = None
    ) -> Iterator[tuple[I64, I64, SparseBatch]]:
        """Like `scan`, with each record's file offset first: (offsets, slots, batch)."""
        offset = HEADER.size if start is None else start
        buffer = b""
        buffer_at = offset
        offsets: list[int] = []
        slots: list[int] = []
        parts: list[tuple[U32, F32]] = []
        while offset < self.end:
            if offset + RECORD.size > self.end:
                raise CorruptionError(str(self._path), offset, "record header overruns the end")
            if offset + RECORD.size > buffer_at + len(buffer):
                buffer, buffer_at = self._read_from(offset, RECORD.size), offset
            nnz = RECORD.unpack_from(buffer, offset - buffer_at)[1]
            size = RECORD.size + 8 * nnz
            if offset + size > self.end:
                raise CorruptionError(str(self._path), offset, "record overruns the data end")
            if offset + size > buffer_at + len(buffer):
                buffer, buffer_at = self._read_from(offset, size), offset
            view = memoryview(buffer)[offset - buffer_at : offset - buffer_at + size]
            slot, indices, values, _ = decode_record(view, offset, self._path)
            offsets.append(offset)
            slots.append(slot)
            parts.append((indices, values))
            offset += size
            if len(slots) == rows_per_chunk:
                yield (np.asarray(offsets, dtype=np.int64), *_chunk(slots, parts))
                offsets, slots, parts = [], [], []
        if slots:
            yield (np.asarray(offsets, dtype=np.int64), *_chunk(slots, parts))

    def _read_from(self, offset: int, at_least: int) -> bytes:
        size = min(max(at_least, _SCAN_CHUNK), self.end - offset)
        return pread_exact(self._fd, size, offset, self._path)


def _chunk(slots: list[int], parts: list[tuple[U32, F32]]) -> tuple[I64, SparseBatch]:
    lengths = np.fromiter((len(i) for i, _ in parts), dtype=np.int64, count=len(parts))
    indptr = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    indices = np.concatenate([i for i, _ in parts]) if parts else np.empty(0, np.uint32)
    values = np.concatenate([v for _, v in parts]) if parts else np.empty(0, np.float32)
    batch = SparseBatch(indptr, indices.astype(np.uint32), values.astype(np.float32))
    return np.asarray(slots, dtype=np.int64), batch
