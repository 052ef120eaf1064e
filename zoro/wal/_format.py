"""The WAL's bytes on disk. Everything is little-endian; every CRC is zlib.crc32.

A WAL is a directory of segment files named by the LSN of their first record, zero-padded to 20
digits so that names sort in LSN order (`00000000000000000001.log`). Only the newest segment is
written; a segment is never rewritten, only cut back (torn tail) or deleted (after a checkpoint).

Segment header, at offset 0 of every segment (SEGMENT, 20 bytes):

    offset  size  field
    0       4     magic b"ZWAL"
    4       2     format version (1)
    6       2     reserved, zero
    8       8     first LSN: the LSN of the segment's first record, equal to the file name
    16      4     CRC32 of bytes 0..15

Then records, back to back, until the end of the file. Record header (RECORD, 20 bytes):

    offset  size  field
    0       4     CRC32 of bytes 4..19 of this header and the whole body
    4       4     body length in bytes
    8       8     LSN: 1, 2, 3 ... with no gap and no repeat, across segments too
    16      1     record type: 1 = upsert, 2 = delete (anything else is refused)
    17      1     record version (1 for both types)
    18      2     reserved, zero
    20      len   body

Upsert body (type 1, version 1), for n points of dimension dim:

    offset           size        field
    0                4           n (u32)
    4                4           dim (u32)
    8                17 n        keys: the KEY_DTYPE array's raw bytes (see zoro.types)
    K = 8 + 17 n     4 n dim     vectors: float32, row-major
    V = K + 4 n dim  4 (n + 1)   payload offsets (u32): 0, end of payload 0, ..., P
    V + 4 (n + 1)    P           the payloads' bytes, concatenated

Delete body (type 2, version 1):

    offset  size   field
    0       4      n (u32)
    4       17 n   keys

A record's body length is a u32, so one record (one UpsertBatch) holds less than 4 GiB; the
u32 payload offsets follow from that. Nothing is aligned: decoders copy what they take out.
"""

from __future__ import annotations

import re
import struct
import zlib
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from pathlib import Path

MAGIC: Final = b"ZWAL"
FORMAT_VERSION: Final = 1

SEGMENT: Final = struct.Struct("<4sHHQI")  # magic, format version, reserved, first LSN, crc
RECORD: Final = struct.Struct("<IIQBBH")  # crc, body length, LSN, type, version, reserved
CRC: Final = struct.Struct("<I")
assert (SEGMENT.size, RECORD.size, CRC.size) == (20, 20, 4)

UPSERT_COUNTS: Final = struct.Struct("<II")  # n, dim
DELETE_COUNT: Final = struct.Struct("<I")  # n
assert (UPSERT_COUNTS.size, DELETE_COUNT.size) == (8, 4)

TYPE_UPSERT: Final = 1
TYPE_DELETE: Final = 2
RECORD_VERSION: Final = 1
U32_MAX: Final = 2**32 - 1

_SEGMENT_NAME: Final = re.compile(r"^(\d{20})\.log$")


def segment_name(first_lsn: int) -> str:
    return f"{first_lsn:020d}.log"


def list_segments(directory: Path) -> list[tuple[int, Path]]:
    """(first LSN, path) of every segment in `directory`, oldest first; other files are ignored."""
    found = []
    for path in directory.iterdir():
        match = _SEGMENT_NAME.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    found.sort()
    return found


def pack_segment_header(first_lsn: int) -> bytes:
    head = SEGMENT.pack(MAGIC, FORMAT_VERSION, 0, first_lsn, 0)[: -CRC.size]
    return head + CRC.pack(zlib.crc32(head))


def segment_header_whole(raw: bytes) -> bool:
    """Whether `raw` holds a header as written (long enough, CRC good), whatever it says."""
    if len(raw) < SEGMENT.size:
        return False
    crc: int = SEGMENT.unpack_from(raw)[-1]
    return zlib.crc32(raw[: SEGMENT.size - CRC.size]) == crc


def check_segment_header(raw: bytes, first_lsn: int) -> None:
    """Raise ValueError naming what is wrong with a segment header that should say `first_lsn`."""
    if len(raw) < SEGMENT.size:
        raise ValueError(f"segment header is {len(raw)} bytes, short of {SEGMENT.size}")
    magic, version, reserved, lsn, _crc = SEGMENT.unpack_from(raw)
    if magic != MAGIC:
        raise ValueError(f"not a WAL segment header (magic {magic!r})")
    if not segment_header_whole(raw):
        raise ValueError("segment header CRC mismatch")
    if version != FORMAT_VERSION or reserved:
        raise ValueError(f"unsupported WAL format version {version} (reserved {reserved:#x})")
    if lsn != first_lsn:
        raise ValueError(f"segment header says first LSN {lsn}, its file name says {first_lsn}")


def check_record_kind(rtype: int, version: int, reserved: int) -> None:
    """Raise ValueError for a record this code cannot read (a newer writer, or a bug)."""
    if rtype not in (TYPE_UPSERT, TYPE_DELETE):
        raise ValueError(f"unknown record type {rtype}")
    if version != RECORD_VERSION:
        raise ValueError(f"unsupported version {version} of record type {rtype}")
    if reserved:
        raise ValueError(f"reserved record header field is {reserved:#x}, not zero")
