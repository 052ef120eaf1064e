"""index/points.<generation>: the sorted point index as of one checkpoint, written once.

    offset             size       field
    0                  4          magic b"ZPIX"
    4                  2          format version (1), little-endian
    6                  2          reserved, 0
    8                  8          count n (u64)
    16                 4          CRC32 of the body (bytes 24..end)
    20                 4          CRC32 of bytes 0..20
    24                 8*n        slot of each point (i64, little-endian), in key order
    24 + 8*n           17*n       keys, ascending (big-endian: bytes order = id order)

Two columns rather than n records, so that open is two bulk reads straight into numpy arrays (the
8-byte column first keeps it aligned). Only live points are written: a checkpoint merges the
in-memory delta and drops deleted keys first.

A new generation gets a new file name and the old file stays untouched until meta names the new
one: an interrupted checkpoint leaves the old generation whole, and open deletes the debris.
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from zoro.errors import CorruptionError
from zoro.fsutil import pwrite_all
from zoro.types import KEY_DTYPE, KEY_SIZE

from ._fileio import (
    decode_header,
    encode_header,
    file_size,
    open_file,
    pread_into,
    sync,
)

if TYPE_CHECKING:
    from pathlib import Path

    from zoro.types import Keys

MAGIC: Final = b"ZPIX"
VERSION: Final = 1
HEADER: Final = struct.Struct("<4sHHQII")  # magic, version, reserved, count, body crc, crc
assert HEADER.size == 24

_NAME: Final = re.compile(r"points\.(\d+)")


def file_name(generation: int) -> str:
    return f"points.{generation:08d}"


def generation_of(name: str) -> int | None:
    """The generation a file name stands for, or None if it is not a point index file."""
    match = _NAME.fullmatch(name)
    return int(match.group(1)) if match else None


def write(path: Path, keys: Keys, slots: npt.NDArray[np.int64]) -> None:
    """Write and fsync a whole index file (the caller fsyncs the directory)."""
    slot_bytes = np.ascontiguousarray(slots, dtype="<i8").tobytes()
    key_bytes = np.ascontiguousarray(keys, dtype=KEY_DTYPE).tobytes()
    body_crc = zlib.crc32(key_bytes, zlib.crc32(slot_bytes))
    header = encode_header(HEADER, MAGIC, VERSION, 0, len(keys), body_crc)
    fd = open_file(path, create=True)
    try:
        pwrite_all(fd, header + slot_bytes + key_bytes, 0)
        sync(fd)
    finally:
        os.close(fd)


def read(path: Path) -> tuple[Keys, npt.NDArray[np.int64]]:
    """Load (keys, slots), both writable; CorruptionError if the file does not check out."""
    fd = open_file(path, create=False)
    try:
        _, _, _, count, body_crc = decode_header(fd, HEADER, MAGIC, VERSION, path)
        end = HEADER.size + count * (8 + KEY_SIZE)
        if file_size(fd) != end:
            raise CorruptionError(str(path), min(end, file_size(fd)), f"size is not {end}")
        slots = np.empty(count, dtype="<i8")
        keys = np.empty(count, dtype=KEY_DTYPE)
        pread_into(fd, slots.data, HEADER.size, path)
        pread_into(fd, keys.view(np.uint8).data, HEADER.size + 8 * count, path)
    finally:
        os.close(fd)
    if zlib.crc32(keys.data, zlib.crc32(slots.data)) != body_crc:
        raise CorruptionError(str(path), HEADER.size, "point index checksum mismatch")
    return keys, slots.astype(np.int64, copy=False)
