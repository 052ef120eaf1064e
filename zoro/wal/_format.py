"""The WAL's bytes on disk. Everything is little-endian; every CRC is zlib.crc32.

A WAL is a directory of segment files named by the LSN of their first record, zero-padded to 20
digits so that names sort in LSN order (`00000000000000000001.log`). Only the newest segment is
written; a segment is never rewritten, only cut back (torn tail) or deleted (after a checkpoint).

Segment header, at offset 0 of every segment (SEGMENT, 20 bytes):

    offset  size  field
    0       4     magic b"ZWAL"
    4       2     format version: 3 is written; 2 and 1 (written before it) are still read
    6       2     reserved, zero
    8       8     first LSN: the LSN of the segment's first record, equal to the file name
    16      4     CRC32 of bytes 0..15

Then records, back to back, until the end of the file. Record header, format version 2 (RECORD,
24 bytes):

    offset  size  field
    0       4     CRC32 of bytes 4..23 of this header and the whole body
    4       4     body length in bytes
    8       8     LSN: 1, 2, 3 ... with no gap and no repeat, across segments too
    16      1     record type: 1 = upsert, 2 = delete, 3 = upsert with named, optional or
                  sparse vectors, 4 = group (format 3 only; anything else is refused by name)
    17      1     record version (1 for every type)
    18      2     reserved, zero
    20      4     batch index: the record's place in its batch (0 for the first), so that the
                  batch began at LSN - index; a batch is the records of one write and one sync
    24      len   body

Format version 1 (RECORD_V1, 20 bytes) is the same without the batch index: bytes 0..19 as
above, the body at 20. Why version 2: a power cut can leave an unsynced batch torn with its
pages written back in any order, so a bad record can be followed by good records of the SAME
batch. Recovery cuts that off as a torn tail, and still refuses a bad spot followed by a good
record of a LATER batch (that batch was written only after the bad spot was synced: rot). A
version 1 segment cannot tell the two apart, so a bad spot followed by any good record there
is refused. The writer never appends to a version 1 segment: it starts a new one.

Format version 3 has the same segment and record headers as version 2 and adds record type 4,
the group: several writes in ONE record, so that a crash keeps all of them or none (a batch
update). A build that knows only version 2 refuses a version 3 segment by its version rather
than misreading a group; the writer never appends to an older version's segment.

Upsert body (type 1, version 1), for n points of dimension dim:

    offset           size        field
    0                4           n (u32)
    4                4           dim (u32)
    8                17 n        keys: the KEY_DTYPE array's raw bytes (see zoro.types)
    K = 8 + 17 n     4 n dim     vectors: float32, row-major
    V = K + 4 n dim  4 (n + 1)   payload offsets (u32): 0, end of payload 0, ..., P
    V + 4 (n + 1)    P           the payloads' bytes, concatenated

Upsert body with columns (type 3, version 1): the points of a collection whose points carry any
subset of its vectors, each vector known by its number (zoro.types.VectorConfig). Written only
when a batch is not the version-1 shape (vector 0 for every point), so type 1 stays the common
record. Type 3 was added beside types 1 and 2 (segments stay format 2): a build from before it
refuses a type-3 record by name rather than misreading it.
    offset  size       field
    0       4          n (u32)
    4       2          c: column count (u16)
    6       2          reserved, zero
    8       17 n       keys
    ...     4 (n + 1)  payload offsets (u32), then the payloads' bytes (P), as in type 1
    then c columns, each:
    +0      4          vector number (u32)
    +4      1          kind: 1 = dense, 2 = sparse, 3 = multivector
    +5      3          reserved, zero
    +8      4          dense, multivector: dim; sparse: nnz, the values in the column (u32)
    +12     4          m: how many of the n points carry the vector (u32)
    +16     n          presence: 1 byte per point, 1 where it carries the vector
    dense:  4 m dim    the carried rows, float32, row-major, in point order
    sparse: 4 (m + 1)  row offsets (u32, the CSR indptr), then 4 nnz indices (u32), then 4 nnz
                       values (float32)
    multi:  4 m        each carried matrix's row count (u32), then 4 r dim: all their rows
                       (float32, row-major; r = the sum of the counts)

Delete body (type 2, version 1):

    offset  size   field
    0       4      n (u32)
    4       17 n   keys

Group body (type 4, version 1): the writes in the order they apply, each with its own type.

    offset  size   field
    0       4      k: how many writes (u32)
    then k writes, each:
    +0      1      record type of the write: 1, 2 or 3 (a group holds no group)
    +1      3      reserved, zero
    +4      4      body length L (u32)
    +8      L      the write's body, as a record of that type would hold it

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
FORMAT_VERSION: Final = 3  # written
FORMAT_V2: Final = 2  # still read: no group records
FORMAT_V1: Final = 1  # still read: no batch index in record headers

SEGMENT: Final = struct.Struct("<4sHHQI")  # magic, format version, reserved, first LSN, crc
# crc, body length, LSN, type, version, reserved, batch index
RECORD: Final = struct.Struct("<IIQBBHI")
RECORD_V1: Final = struct.Struct("<IIQBBH")  # the same without the batch index
CRC: Final = struct.Struct("<I")
assert (SEGMENT.size, RECORD.size, RECORD_V1.size, CRC.size) == (20, 24, 20, 4)

UPSERT_COUNTS: Final = struct.Struct("<II")  # n, dim
DELETE_COUNT: Final = struct.Struct("<I")  # n
COLUMNS_COUNTS: Final = struct.Struct("<IHH")  # n, column count, reserved
COLUMN_HEAD: Final = struct.Struct("<IB3sII")  # number, kind, reserved, dim or nnz, m
assert (COLUMNS_COUNTS.size, COLUMN_HEAD.size) == (8, 16)
KIND_DENSE: Final = 1
KIND_SPARSE: Final = 2
KIND_MULTI: Final = 3
assert (UPSERT_COUNTS.size, DELETE_COUNT.size) == (8, 4)
GROUP_COUNT: Final = struct.Struct("<I")  # k
GROUP_ITEM: Final = struct.Struct("<B3sI")  # record type, reserved, body length
assert (GROUP_COUNT.size, GROUP_ITEM.size) == (4, 8)

TYPE_UPSERT: Final = 1
TYPE_DELETE: Final = 2
TYPE_UPSERT_COLUMNS: Final = 3
TYPE_GROUP: Final = 4
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


def record_layout(version: int) -> struct.Struct:
    """The record header of a segment of format `version` (1 or 2)."""
    return RECORD_V1 if version == FORMAT_V1 else RECORD


def pack_segment_header(first_lsn: int, version: int = FORMAT_VERSION) -> bytes:
    head = SEGMENT.pack(MAGIC, version, 0, first_lsn, 0)[: -CRC.size]
    return head + CRC.pack(zlib.crc32(head))


def segment_header_whole(raw: bytes) -> bool:
    """Whether `raw` holds a header as written (long enough, CRC good), whatever it says."""
    if len(raw) < SEGMENT.size:
        return False
    crc: int = SEGMENT.unpack_from(raw)[-1]
    return zlib.crc32(raw[: SEGMENT.size - CRC.size]) == crc


def check_segment_header(raw: bytes, first_lsn: int) -> int:
    """The format version of a segment header that should say `first_lsn`; ValueError naming
    what is wrong with it otherwise."""
    if len(raw) < SEGMENT.size:
        raise ValueError(f"segment header is {len(raw)} bytes, short of {SEGMENT.size}")
    magic, version, reserved, lsn, _crc = SEGMENT.unpack_from(raw)
    if magic != MAGIC:
        raise ValueError(f"not a WAL segment header (magic {magic!r})")
    if not segment_header_whole(raw):
        raise ValueError("segment header CRC mismatch")
    if version not in (FORMAT_V1, FORMAT_V2, FORMAT_VERSION) or reserved:
        raise ValueError(f"unsupported WAL format version {version} (reserved {reserved:#x})")
    if lsn != first_lsn:
        raise ValueError(f"segment header says first LSN {lsn}, its file name says {first_lsn}")
    return int(version)


def check_record_kind(
    rtype: int, version: int, reserved: int, segment_version: int = FORMAT_VERSION
) -> None:
    """Raise ValueError for a record this code cannot read (a newer writer, or a bug), or one
    its segment's format does not allow (a group before format 3)."""
    known = (TYPE_UPSERT, TYPE_DELETE, TYPE_UPSERT_COLUMNS)
    if rtype not in known and not (rtype == TYPE_GROUP and segment_version >= FORMAT_VERSION):
        raise ValueError(f"unknown record type {rtype}")
    if version != RECORD_VERSION:
        raise ValueError(f"unsupported version {version} of record type {rtype}")
    if reserved:
        raise ValueError(f"reserved record header field is {reserved:#x}, not zero")
