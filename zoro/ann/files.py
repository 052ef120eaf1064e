"""Segment files: one FAISS index behind a checked header.

A segment file is never trusted before it is verified whole: the header has its own CRC, the
file length must match, and the CRC of the FAISS body is checked *before* FAISS parses it (a
bit flip in a graph could otherwise make FAISS read out of bounds later, at search time).

Layout, little-endian:

    offset  size  field
    0       4     magic b"ZANN"
    4       2     format version (1)
    6       1     kind: 1 = flat (IndexIDMap2 over IndexFlat*), 2 = hnsw (IndexIDMap over HNSWFlat)
    7       1     distance: 1 Cosine, 2 Dot, 3 Euclid, 4 Manhattan
    8       4     dimension
    12      4     reserved, 0
    16      8     count: points held
    24      8     min slot held (-1 when empty)
    32      8     max slot held (-1 when empty)
    40      8     body length in bytes
    48      4     CRC32 of the body
    52      4     CRC32 of bytes 0..52
    56      ...   body: faiss.write_index of the id-mapped index (ids are slots)

Files are written to `<name>.tmp`, fsynced, renamed and the directory fsynced, so a file with its
final name is always whole; a crash leaves at most a `.tmp` file, which nothing reads.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, Final

from zoro.ann import _faiss
from zoro.errors import CorruptionError, storage_error
from zoro.fsutil import fsync_dir
from zoro.types import Distance

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np
    import numpy.typing as npt

MAGIC: Final = b"ZANN"
VERSION: Final = 1
_HEADER: Final = struct.Struct("<4sHBBIIqqqQI")
_HEADER_CRC: Final = struct.Struct("<I")
HEADER_SIZE: Final = _HEADER.size + _HEADER_CRC.size
assert (_HEADER.size, HEADER_SIZE) == (52, 56)

KINDS: Final = {"flat": 1, "hnsw": 2}
DISTANCES: Final = {Distance.COSINE: 1, Distance.DOT: 2, Distance.EUCLID: 3, Distance.MANHATTAN: 4}
_KIND_NAMES: Final = {v: k for k, v in KINDS.items()}
_DISTANCE_OF: Final = {v: k for k, v in DISTANCES.items()}
_READ_CHUNK: Final = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class FileMeta:
    kind: str
    distance: Distance
    dimension: int
    count: int
    min_slot: int
    max_slot: int

    @classmethod
    def of(
        cls, kind: str, distance: Distance, dimension: int, ids: npt.NDArray[np.int64]
    ) -> FileMeta:
        lo, hi = (int(ids.min()), int(ids.max())) if len(ids) else (-1, -1)
        return cls(kind, distance, dimension, len(ids), lo, hi)


def write_index_file(path: Path, meta: FileMeta, index: _faiss.Index) -> None:
    """Write `index` with its header to `path`, crash-safely. Raises StorageError/StorageFull."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(bytes(HEADER_SIZE))  # placeholder: the body's length and CRC come last
            crc, length = _write_body(f, index)
            f.seek(0)
            f.write(_pack_header(meta, length, crc))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise storage_error(exc, f"writing ANN segment {path.name}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_meta(path: Path) -> FileMeta:
    """The header alone (cheap).

    Raises CorruptionError (names the file and offset) or StorageError (cannot read it).
    """
    try:
        with open(path, "rb") as f:
            meta, _, _ = _read_header(path, f)
    except OSError as exc:
        raise storage_error(exc, f"reading ANN segment {path}") from exc
    return meta


def read_index_file(path: Path) -> tuple[FileMeta, _faiss.IndexIDMap]:
    """Verify and load a segment file.

    Raises CorruptionError for anything short of perfect (naming the file and the offset where
    it goes wrong), StorageError if it cannot be read at all (missing, I/O error). Either way
    the caller drops the file and rebuilds its points from storage.
    """
    try:
        with open(path, "rb") as f:
            meta, length, crc = _read_header(path, f)
            size = os.fstat(f.fileno()).st_size
            if size != HEADER_SIZE + length:
                what = f"file is {size} bytes, its header says {HEADER_SIZE + length}"
                raise CorruptionError(str(path), min(size, HEADER_SIZE + length), what)
            if _crc_of_rest(f) != crc:
                raise CorruptionError(str(path), HEADER_SIZE, "body CRC mismatch")
            f.seek(HEADER_SIZE)
            try:
                index = _faiss.as_id_map(_faiss.read_stream(f.read))
            except (RuntimeError, TypeError) as exc:
                raise CorruptionError(
                    str(path), HEADER_SIZE, f"FAISS cannot read it: {exc}"
                ) from exc
    except OSError as exc:
        raise storage_error(exc, f"reading ANN segment {path}") from exc
    _check_matches(path, meta, index)
    return meta, index


def _write_body(f: BinaryIO, index: _faiss.Index) -> tuple[int, int]:
    crc = 0
    length = 0

    def write(chunk: bytes) -> None:
        nonlocal crc, length
        f.write(chunk)
        crc = zlib.crc32(chunk, crc)
        length += len(chunk)

    _faiss.write_stream(index, write)
    return crc, length


def _pack_header(meta: FileMeta, length: int, crc: int) -> bytes:
    head = _HEADER.pack(
        MAGIC,
        VERSION,
        KINDS[meta.kind],
        DISTANCES[meta.distance],
        meta.dimension,
        0,
        meta.count,
        meta.min_slot,
        meta.max_slot,
        length,
        crc,
    )
    return head + _HEADER_CRC.pack(zlib.crc32(head))


def _read_header(path: Path, f: BinaryIO) -> tuple[FileMeta, int, int]:
    raw = f.read(HEADER_SIZE)
    if len(raw) < HEADER_SIZE:
        raise CorruptionError(str(path), len(raw), "truncated header")
    head = raw[: _HEADER.size]
    (header_crc,) = _HEADER_CRC.unpack(raw[_HEADER.size :])
    magic, version, kind, dist, dim, _, count, lo, hi, length, crc = _HEADER.unpack(head)
    if magic != MAGIC:
        raise CorruptionError(str(path), 0, f"bad magic {magic!r}")
    if zlib.crc32(head) != header_crc:
        raise CorruptionError(str(path), 0, "header CRC mismatch")
    if version != VERSION:
        raise CorruptionError(str(path), 4, f"unknown format version {version}")
    if kind not in _KIND_NAMES or dist not in _DISTANCE_OF:
        raise CorruptionError(str(path), 6, f"unknown kind {kind} or distance {dist}")
    meta = FileMeta(_KIND_NAMES[kind], _DISTANCE_OF[dist], dim, count, lo, hi)
    return meta, length, crc


def _crc_of_rest(f: BinaryIO) -> int:
    crc = 0
    while chunk := f.read(_READ_CHUNK):
        crc = zlib.crc32(chunk, crc)
    return crc


def _check_matches(path: Path, meta: FileMeta, index: _faiss.IndexIDMap) -> None:
    if _faiss.index_dimension(index) != meta.dimension or _faiss.index_len(index) != meta.count:
        raise CorruptionError(str(path), HEADER_SIZE, "FAISS index does not match its header")
    if _faiss.index_metric(index) != _faiss.metric_of(meta.distance):
        raise CorruptionError(str(path), HEADER_SIZE, "FAISS metric does not match the header")
