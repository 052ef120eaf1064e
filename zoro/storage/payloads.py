"""source/payloads: append-only payload records, found by (offset, length) from the slot table.

    offset    size      field
    0         4         magic b"ZPAY"
    4         2         format version (1), little-endian
    6         2         reserved, 0
    8         4         reserved, 0
    12        4         CRC32 of bytes 0..12
    16        ...       records, back to back

    record:
    +0        4         body length L (u32, little-endian)
    +4        4         CRC32 of the body, started from L (zlib.crc32(body, L))
    +8        L         body: the payload's JSON bytes

Seeding the CRC with the length makes it cover the length too, without building `length + body`
for every record. The slot table holds each record's
offset and length as well, so a damaged length is caught twice.
"""

from __future__ import annotations

import itertools
import struct
import zlib
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from zoro.errors import CorruptionError

from ._fileio import (
    RecordFile,
    pread_exact,
)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

MAGIC: Final = b"ZPAY"
VERSION: Final = 1
HEADER: Final = struct.Struct("<4sHHII")  # magic, version, reserved, reserved, crc
RECORD: Final = struct.Struct("<II")  # body length, crc32(body, length)
assert (HEADER.size, RECORD.size) == (16, 8)

MAX_BODY: Final = 2**32 - 1
# read_many: below this many records, one pread each; records closer than the gap are read
# together (the bytes between them are cheaper than another syscall); a stretch holds at most
# STRETCH_RECORDS records, so that one read stays a few MB.
READ_MANY_MIN: Final = 64
READ_MANY_GAP: Final = 4096
STRETCH_RECORDS: Final = 8192


def encode_records(
    bodies: Sequence[bytes],
) -> tuple[bytes, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """All records for `bodies` back to back, each record's offset in that buffer, body lengths.

    The per-body work is three C calls driven by `map` (len, crc32, pack) and one join.
    """
    n = len(bodies)
    lengths = list(map(len, bodies))
    if n and max(lengths) > MAX_BODY:
        raise ValueError("a payload is larger than 4 GiB")
    parts: list[bytes] = [b""] * (2 * n)
    parts[::2] = map(RECORD.pack, lengths, map(zlib.crc32, bodies, lengths))
    parts[1::2] = bodies
    body_lengths = np.fromiter(lengths, dtype=np.int64, count=n)
    sizes = body_lengths + RECORD.size
    return b"".join(parts), np.cumsum(sizes) - sizes, body_lengths


def decode_record(raw: bytes, offset: int, length: int, path: Path) -> bytes:
    """Check one record read at `offset` (whose body the slot table says is `length` long)."""
    stored_length, crc = RECORD.unpack_from(raw)
    body = raw[RECORD.size :]
    if stored_length != length:
        raise CorruptionError(str(path), offset, f"record length {stored_length}, index {length}")
    if crc != zlib.crc32(body, length):
        raise CorruptionError(str(path), offset, "payload checksum mismatch")
    return body


class PayloadFile(RecordFile):
    """The payload source file: batch appends at `end`, single-record reads by offset."""

    HEADER = HEADER
    MAGIC = MAGIC
    VERSION = VERSION

    def append(self, records: bytes) -> int:
        """Write encoded records at the end; return their start offset. Raises OSError."""
        return self._append(records)

    def read(self, offset: int, length: int) -> bytes:
        """The body of the record at `offset`; CorruptionError if it does not check out."""
        return decode_record(
            pread_exact(self._fd, RECORD.size + length, offset, self._path),
            offset,
            length,
            self._path,
        )

    def raw_records(
        self, offsets: npt.NDArray[np.uint64], lengths: npt.NDArray[np.uint32]
    ) -> tuple[bytes, npt.NDArray[np.int64]]:
        """The records at `offsets` (header and body, as stored) back to back in the order
        given, and where each starts in that buffer: what a compaction copies. Not checked: a
        damaged record stays damaged in the copy, and a read of it still finds out. Read by
        stretches as `read_many` reads, and gathered with one numpy index, not a loop."""
        n = len(offsets)
        sizes = lengths.astype(np.int64) + RECORD.size
        at = np.cumsum(sizes) - sizes
        if n == 0:
            return b"", at
        starts = offsets.astype(np.int64)
        order = np.argsort(starts, kind="stable")
        sorted_starts = starts[order]
        ends = sorted_starts + sizes[order]
        cuts = set((np.flatnonzero(sorted_starts[1:] - ends[:-1] > READ_MANY_GAP) + 1).tolist())
        cuts.update(range(STRETCH_RECORDS, n, STRETCH_RECORDS))
        bounds = [0, *sorted(cuts), n]
        pieces: list[bytes] = []
        found = np.empty(n, dtype=np.int64)  # each record's start in the joined stretches
        read = 0
        for a, b in itertools.pairwise(bounds):
            first = int(sorted_starts[a])
            pieces.append(pread_exact(self._fd, int(ends[b - 1]) - first, first, self._path))
            found[order[a:b]] = sorted_starts[a:b] - first + read
            read += len(pieces[-1])
        joined = np.frombuffer(b"".join(pieces), dtype=np.uint8)
        gather = np.repeat(found - at, sizes) + np.arange(int(sizes.sum()), dtype=np.int64)
        return joined[gather].tobytes(), at

    def read_many(
        self, offsets: npt.NDArray[np.uint64], lengths: npt.NDArray[np.uint32]
    ) -> list[bytes]:
        """The bodies of the records at `offsets` (their lengths from the slot table), in the
        order given, each checked as `read` checks it. Records near each other in the file
        (the payloads of points written together) are read by one pread a stretch."""
        n = len(offsets)
        if n < READ_MANY_MIN:
            pairs = zip(offsets.tolist(), lengths.tolist(), strict=True)
            return [self.read(offset, length) for offset, length in pairs]
        order = np.argsort(offsets, kind="stable")
        starts = offsets[order].astype(np.int64)
        sizes = lengths[order].astype(np.int64)
        ends = starts + RECORD.size + sizes
        cuts = set((np.flatnonzero(starts[1:] - ends[:-1] > READ_MANY_GAP) + 1).tolist())
        cuts.update(range(STRETCH_RECORDS, n, STRETCH_RECORDS))
        bounds = [0, *sorted(cuts), n]
        out: list[bytes] = [b""] * n
        where, at_list, size_list = order.tolist(), starts.tolist(), sizes.tolist()
        unpack, crc32, head = RECORD.unpack_from, zlib.crc32, RECORD.size
        for a, b in itertools.pairwise(bounds):
            first = at_list[a]
            raw = pread_exact(self._fd, int(ends[b - 1]) - first, first, self._path)
            for i in range(a, b):
                at, size = at_list[i] - first, size_list[i]
                body = raw[at + head : at + head + size]
                if unpack(raw, at) != (size, crc32(body, size)):
                    decode_record(raw[at : at + head + size], at_list[i], size, self._path)
                out[where[i]] = body
        return out
