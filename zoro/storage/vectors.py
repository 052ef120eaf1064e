"""source/vectors: one fixed-stride float32 row per slot, append-only.

    offset          size      field
    0               4         magic b"ZVEC"
    4               2         format version (1), little-endian
    6               2         reserved, 0
    8               4         dimension
    12              16        reserved, 0
    28              4         CRC32 of bytes 0..28
    32 + i*dim*4    dim*4     slot i: dim float32, little-endian

The row of slot i sits at a computed offset, so reads are one memory-mapped gather and the file
needs no per-row framing. Rows carry no CRC: checking 512 MB on every open would cost more than
the open itself; the slot count recorded at each checkpoint bounds the file instead, and bytes
past it (written after the checkpoint, maybe torn) are cut off on open and re-applied from the WAL.
"""

from __future__ import annotations

import io
import os
import struct
from typing import TYPE_CHECKING, Any, ClassVar, Final, Self

import numpy as np
import numpy.typing as npt

from zoro.errors import CorruptionError
from zoro.fsutil import pwrite_all

from ._fileio import (
    Preallocator,
    decode_header,
    encode_header,
    file_size,
    open_file,
    sync,
)

if TYPE_CHECKING:
    from pathlib import Path

MAGIC: Final = b"ZVEC"
VERSION: Final = 1
HEADER: Final = struct.Struct("<4sHHI16sI")  # magic, version, reserved, dimension, pad, crc
assert HEADER.size == 32

_EMPTY_PAD: Final = bytes(16)


class VectorFile:
    """Appends rows at `header + slot * stride`; reads them through a read-only memory map.

    Subclasses keep other fixed-width rows the same way (PresenceFile: one byte per slot).

    The map covers the rows that existed when it was made and is re-made when a read reaches past
    it (appends go through pwrite into the same page cache, so the map sees them once it is long
    enough). Memory-mapping keeps a million-row file off the heap and makes open O(1).
    """

    MAGIC: ClassVar[bytes] = MAGIC
    DTYPE: ClassVar[np.dtype[np.generic]] = np.dtype("<f4")

    def __init__(
        self, path: Path, fd: int, dimension: int, rows: int, *, follow: bool = False
    ) -> None:
        self._path = path
        self._fd = fd
        self.dimension = dimension
        self.stride = dimension * self.DTYPE.itemsize
        self._rows = rows
        self._space = Preallocator.of(fd, path, self.nbytes, follow=follow)
        self._map: npt.NDArray[Any] = np.empty((0, dimension), dtype=self.DTYPE)

    @classmethod
    def create(cls, path: Path, dimension: int, rows: int = 0) -> Self:
        """A new file of `rows` rows of zeros (a vector declared on a collection that already
        has slots: every one of them lacks it). Synced; the caller syncs the directory."""
        fd = open_file(path, create=True)
        try:
            pwrite_all(fd, encode_header(HEADER, cls.MAGIC, VERSION, 0, dimension, _EMPTY_PAD), 0)
            if rows:
                os.ftruncate(fd, HEADER.size + rows * dimension * cls.DTYPE.itemsize)
            sync(fd)
        except BaseException:
            os.close(fd)
            raise
        return cls(path, fd, dimension, rows)

    @classmethod
    def open(cls, path: Path, dimension: int, rows: int, *, follow: bool = False) -> Self:
        """Open with exactly `rows` rows, cutting off anything written after them (`follow`:
        read-only, nothing cut)."""
        fd = open_file(path, create=False, follow=follow)
        try:
            _, _, _, dim, _ = decode_header(fd, HEADER, cls.MAGIC, VERSION, path)
            if dim != dimension:
                raise CorruptionError(str(path), 8, f"dimension {dim}, expected {dimension}")
            end = HEADER.size + rows * dimension * cls.DTYPE.itemsize
            if file_size(fd) < end:
                raise CorruptionError(str(path), file_size(fd), f"shorter than its {rows} rows")
            if not follow:
                os.ftruncate(fd, end)
        except BaseException:
            os.close(fd)
            raise
        return cls(path, fd, dimension, rows, follow=follow)

    def __len__(self) -> int:
        return self._rows

    @property
    def nbytes(self) -> int:
        return HEADER.size + self._rows * self.stride

    def append(self, rows: npt.NDArray[Any]) -> None:
        """Write rows after the last one. Raises OSError; then call `truncate(len(self))`."""
        data = np.ascontiguousarray(rows, dtype=self.DTYPE)
        self._space.ensure(self.nbytes + data.nbytes)
        self._space.write(data.data, self.nbytes)
        self._rows += len(data)

    def truncate(self, rows: int) -> None:
        """Forget rows from `rows` on (a failed append); the bytes are cut off best-effort."""
        self._rows = rows
        self._space.truncate(self.nbytes)

    def read(self, slots: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
        """Rows of `slots` (any order, repeats allowed) as a new (n, dim) array."""
        if len(slots) and int(slots.max()) >= len(self._map):
            self._remap()
        return self._map[slots]

    def rows(self) -> npt.NDArray[Any]:
        """All rows as a read-only memory map (no copy)."""
        if len(self._map) < self._rows:
            self._remap()
        return self._map

    def _remap(self) -> None:
        if self._rows == 0:
            return
        # through the open file, not its path: a follower goes on reading a generation the
        # owner has deleted (docs/workers.md), and the path may name a newer file by then
        with io.FileIO(self._fd, "r", closefd=False) as file:
            self._map = np.memmap(
                file,
                dtype=self.DTYPE,
                mode="r",
                offset=HEADER.size,
                shape=(self._rows, self.dimension),
            )

    def sync(self) -> None:
        sync(self._fd)

    def close(self) -> None:
        self._map = np.empty((0, self.dimension), dtype=self.DTYPE)
        os.close(self._fd)


class PresenceFile(VectorFile):
    """source/present.<n>: one byte per slot, 1 where the point carries dense vector n (its row
    in the vector file is zeros otherwise). Same header and rules as VectorFile, magic b"ZPRS",
    dimension 1."""

    MAGIC: ClassVar[bytes] = b"ZPRS"
    DTYPE: ClassVar[np.dtype[np.generic]] = np.dtype(np.uint8)
