"""index/slots: where each slot's version of a point lives; one fixed-width entry per slot.

    offset         size   field
    0              4      magic b"ZSLT"
    4              2      format version (1), little-endian
    6              2      reserved, 0
    8              4      entry size (29)
    12             4      CRC32 of bytes 0..12
    16 + i*29      29     entry of slot i:
      +0           17       point key (zoro.types: kind byte + 16 big-endian id bytes)
      +17          8        payload record offset in source/payloads (u64, little-endian)
      +25          4        payload body length (u32, little-endian)

Entries are written once and never change, so the file is append-only like the source files and
is cut back to the checkpointed slot count on open. Its CRC is not per entry: the store keeps a
running CRC32 of all entry bytes and records it in meta at each checkpoint; open checks the whole
table against it in one pass (about 10 ms for a million entries).

Whether a slot is live is not stored here. An in-place flag written after a checkpoint would leak
into the checkpointed state on a crash; liveness follows instead from the point index of the
checkpoint's generation (slot s is live iff some key maps to s), and is rebuilt from it on open.
"""

from __future__ import annotations

import os
import struct
import zlib
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from zoro.errors import CorruptionError
from zoro.fsutil import pwrite_all
from zoro.types import KEY_DTYPE

from ._fileio import (
    Preallocator,
    decode_header,
    encode_header,
    file_size,
    open_file,
    pread_into,
    sync,
)
from ._growable import Growable

if TYPE_CHECKING:
    from pathlib import Path

    from zoro.types import Keys

MAGIC: Final = b"ZSLT"
VERSION: Final = 1
HEADER: Final = struct.Struct("<4sHHII")  # magic, version, reserved, entry size, crc
ENTRY_DTYPE: Final = np.dtype(
    [("key", KEY_DTYPE), ("payload_offset", "<u8"), ("payload_length", "<u4")]
)
assert (HEADER.size, ENTRY_DTYPE.itemsize) == (16, 29)


class SlotTable:
    """All entries in memory (29 bytes a slot), appended to the file in batches."""

    def __init__(
        self,
        path: Path,
        fd: int,
        entries: npt.NDArray[np.void],
        crc: int,
        *,
        follow: bool = False,
    ) -> None:
        self._path = path
        self._fd = fd
        self._entries: Growable[np.void] = Growable(ENTRY_DTYPE, entries)
        self.crc = crc  # CRC32 of all entry bytes so far
        self._space = Preallocator.of(fd, path, self._end(len(entries)), follow=follow)

    @classmethod
    def create(cls, path: Path) -> SlotTable:
        fd = open_file(path, create=True)
        try:
            pwrite_all(fd, encode_header(HEADER, MAGIC, VERSION, 0, ENTRY_DTYPE.itemsize), 0)
            sync(fd)
        except BaseException:
            os.close(fd)
            raise
        return cls(path, fd, np.empty(0, dtype=ENTRY_DTYPE), 0)

    @classmethod
    def open(cls, path: Path, count: int, crc: int, *, follow: bool = False) -> SlotTable:
        """Load exactly `count` entries (CRC-checked) and cut off anything after them
        (`follow`: read-only, nothing cut)."""
        fd = open_file(path, create=False, follow=follow)
        try:
            _, _, _, entry_size = decode_header(fd, HEADER, MAGIC, VERSION, path)
            if entry_size != ENTRY_DTYPE.itemsize:
                raise CorruptionError(str(path), 8, f"entry size {entry_size}")
            end = HEADER.size + count * ENTRY_DTYPE.itemsize
            if file_size(fd) < end:
                raise CorruptionError(str(path), file_size(fd), f"shorter than its {count} slots")
            entries = np.empty(count, dtype=ENTRY_DTYPE)
            raw = entries.view(np.uint8).data
            pread_into(fd, raw, HEADER.size, path)
            if zlib.crc32(raw) != crc:
                raise CorruptionError(str(path), HEADER.size, "slot table checksum mismatch")
            if not follow:
                os.ftruncate(fd, end)
        except BaseException:
            os.close(fd)
            raise
        return cls(path, fd, entries, crc, follow=follow)

    def __len__(self) -> int:
        return len(self._entries)

    def append(
        self,
        keys: Keys,
        payload_offsets: npt.NDArray[np.int64],
        payload_lengths: npt.NDArray[np.int64],
    ) -> None:
        """Append one entry per key. Raises OSError; then call `truncate(previous length, crc)`."""
        rows = np.empty(len(keys), dtype=ENTRY_DTYPE)
        rows["key"] = keys
        rows["payload_offset"] = payload_offsets
        rows["payload_length"] = payload_lengths
        raw = rows.view(np.uint8).data
        self._space.ensure(self._end(len(self) + len(rows)))
        self._space.write(raw, self._end(len(self)))
        self._entries.extend(rows)
        self.crc = zlib.crc32(raw, self.crc)

    def truncate(self, count: int, crc: int) -> None:
        self._entries.truncate(count)
        self.crc = crc
        self._space.truncate(self._end(count))

    @staticmethod
    def _end(count: int) -> int:
        return HEADER.size + count * ENTRY_DTYPE.itemsize

    def keys(self, slots: npt.NDArray[np.int64]) -> Keys:
        return self._entries.view()["key"][slots]

    def all_keys(self) -> Keys:
        """A view of every slot's key (valid until the next append)."""
        return self._entries.view()["key"]

    def payload_locations(
        self, slots: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint32]]:
        rows = self._entries.view()[slots]
        return rows["payload_offset"], rows["payload_length"]

    @property
    def nbytes(self) -> int:
        return self._entries.nbytes

    @property
    def file_bytes(self) -> int:
        """The file's length as far as its entries go (it is preallocated past them)."""
        return self._end(len(self))

    def sync(self) -> None:
        sync(self._fd)

    def close(self) -> None:
        os.close(self._fd)
