"""The persisted SparseIndex: one file, written whole, checked whole.

    offset    size       field
    0         4          magic b"ZSPX"
    4         2          format version (1), little-endian
    6         2          reserved, 0
    8         8          D: dimensions (u64)
    16        8          P: postings (u64)
    24        8          L: live slots (u64)
    32        8          C: slot horizon (u64): every slot below it had been applied to the
                         index when it was saved (none at or past it is in the file)
    40        4          CRC32 of the body (bytes 48 .. end)
    44        4          CRC32 of bytes 0..44
    48        body, each array 8-byte aligned (zero padding after the u32 / f32 arrays):
              dims     u32[D]    external dimension id of internal id i
              ptr      i64[D+1]  CSR offsets of each dimension's postings
              slots    i64[P]    posting slots, increasing within a dimension
              values   f32[P]    posting values
              live     i64[L]    slots holding a vector (empty vectors included), increasing

The index is saved compacted (one run, no removed slots), so a loaded index holds exactly the
live slots of the moment it was saved; removed slots are not recorded, and removing them again
after a load is a no-op. A collection opening it removes the slots deleted since (below C) and
adds the source rows of the slots written since (from C on). The file is an accelerator: the
source rows are the truth. Anything wrong with it (missing, short, long, a CRC mismatch, an
unknown magic or version, inconsistent sizes) raises `SparseIndexDamaged`, naming the file; the
caller then rebuilds the index from the source rows, and a later save replaces the file.

The file is `sparse.index` while the collection's storage is in file generation 0 and
`sparse.<k>.index` in generation k: compaction renumbers the slots, so a file of another
generation is never read (see docs/compaction.md), and writing one deletes the others.

Writing: a temp file beside the target, fsynced, renamed over it, the directory fsynced, so a
crash leaves the old file or the new one, never a mix.
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from zoro.errors import SparseIndexDamaged
from zoro.fsutil import fsync_dir, pwrite_all

if TYPE_CHECKING:
    from pathlib import Path

MAGIC: Final = b"ZSPX"
VERSION: Final = 1
FILE_NAME: Final = "sparse.index"
_INDEX_FILE: Final = re.compile(r"sparse(\.\d+)?\.index")
HEADER: Final = struct.Struct("<4sHHQQQQII")
assert HEADER.size == 48

I64 = npt.NDArray[np.int64]
U32 = npt.NDArray[np.uint32]
F32 = npt.NDArray[np.float32]

_CHUNK: Final = 64 << 20  # write and checksum big arrays a slice at a time


class IndexArrays:
    """What the file holds, as arrays (see the layout above)."""

    def __init__(self, dims: U32, ptr: I64, slots: I64, values: F32, live: I64, horizon: int):
        self.dims = dims
        self.ptr = ptr
        self.slots = slots
        self.values = values
        self.live = live
        self.horizon = horizon


def _pad(size: int) -> int:
    return -size % 8


def _parts(arrays: IndexArrays) -> list[memoryview]:
    parts: list[memoryview] = []
    for array in (arrays.dims, arrays.ptr, arrays.slots, arrays.values, arrays.live):
        view = memoryview(np.ascontiguousarray(array).data).cast("B")
        parts.append(view)
        if _pad(len(view)):
            parts.append(memoryview(bytes(_pad(len(view)))))
    return parts


def file_name(files: int) -> str:
    """The index file of storage file generation `files`."""
    return FILE_NAME if files == 0 else f"sparse.{files}.index"


def write_index(directory: Path, arrays: IndexArrays, files: int = 0) -> Path:
    """Replace the index file of generation `files` atomically and durably, then delete those
    of other generations (best effort). Raises OSError."""
    path = directory / file_name(files)
    tmp = path.with_name(path.name + ".tmp")
    parts = _parts(arrays)
    crc = 0
    for part in parts:
        for start in range(0, len(part), _CHUNK):
            crc = zlib.crc32(part[start : start + _CHUNK], crc)
    fields = (MAGIC, VERSION, 0, len(arrays.dims), len(arrays.slots), len(arrays.live))
    raw = HEADER.pack(*fields, arrays.horizon, crc, 0)
    header = raw[:-4] + zlib.crc32(raw[:-4]).to_bytes(4, "little")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        pwrite_all(fd, header, 0)
        offset = HEADER.size
        for part in parts:
            for start in range(0, len(part), _CHUNK):
                chunk = part[start : start + _CHUNK]
                pwrite_all(fd, chunk, offset)
                offset += len(chunk)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(directory)
    for other in directory.iterdir():
        if _INDEX_FILE.fullmatch(other.name) and other.name != path.name:
            other.unlink(missing_ok=True)
    return path


def read_index(directory: Path, files: int = 0) -> IndexArrays:
    """Read and check the index file of generation `files`. Raises SparseIndexDamaged (and
    OSError for I/O errors other than a missing file)."""
    path = directory / file_name(files)
    try:
        with path.open("rb") as f:  # into a bytearray: the arrays over it must be writable,
            data = bytearray(os.fstat(f.fileno()).st_size)  # as the compiled search takes them
            f.readinto(data)
    except FileNotFoundError:
        raise SparseIndexDamaged(str(path), 0, "file missing") from None
    if len(data) < HEADER.size:
        raise SparseIndexDamaged(str(path), len(data), "shorter than its header")
    magic, version, _, n_dims, n_postings, n_live, horizon, body_crc, crc = HEADER.unpack_from(data)
    if crc != zlib.crc32(data[: HEADER.size - 4]):
        raise SparseIndexDamaged(str(path), 0, "header checksum mismatch")
    if magic != MAGIC:
        raise SparseIndexDamaged(str(path), 0, f"bad magic {magic!r}, expected {MAGIC!r}")
    if version != VERSION:
        raise SparseIndexDamaged(str(path), 4, f"unsupported format version {version}")
    sizes = [4 * n_dims, 8 * (n_dims + 1), 8 * n_postings, 4 * n_postings, 8 * n_live]
    expected = HEADER.size + sum(size + _pad(size) for size in sizes)
    if len(data) != expected:
        raise SparseIndexDamaged(str(path), len(data), f"{len(data)} bytes, expected {expected}")
    view = memoryview(data)
    if zlib.crc32(view[HEADER.size :]) != body_crc:
        raise SparseIndexDamaged(str(path), HEADER.size, "body checksum mismatch")
    arrays = []
    offset = HEADER.size
    for size, dtype in zip(sizes, ("<u4", "<i8", "<i8", "<f4", "<i8"), strict=True):
        count = size // np.dtype(dtype).itemsize
        arrays.append(np.frombuffer(data, dtype=dtype, count=count, offset=offset))
        offset += size + _pad(size)
    dims, ptr, slots, values, live = arrays
    out = IndexArrays(dims, ptr, slots, values, live, horizon)
    _check_consistent(out, path)
    return out


def _check_consistent(arrays: IndexArrays, path: Path) -> None:
    """Sizes and orders the search relies on: a file with a good CRC written by a buggy writer
    must not crash or mislead the search either."""
    ptr, slots = arrays.ptr, arrays.slots
    bad = (
        ptr[0] != 0
        or ptr[-1] != len(slots)
        or bool(np.any(np.diff(ptr) < 0))
        or (len(slots) and (int(slots.min()) < 0 or int(slots.max()) >= arrays.horizon))
        or (len(arrays.live) and int(arrays.live.max()) >= arrays.horizon)
        or bool(np.any(np.diff(arrays.live) <= 0))
        or len(np.unique(arrays.dims)) != len(arrays.dims)
        or not bool(np.all(np.isfinite(arrays.values)))
    )
    if bad:
        raise SparseIndexDamaged(str(path), HEADER.size, "inconsistent contents")
