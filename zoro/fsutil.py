"""Small file-system helpers shared by the WAL and the storage engine (plain, blocking)."""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Make a directory's entries (creates, renames, unlinks) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(path: Path) -> None:
    """Create `path` and its missing parents durably, and make `path`'s own entry durable.

    A new directory is only an entry in its parent until the parent is fsynced: after a power
    cut it is gone, with everything below it, however well the files inside were synced.
    Raises OSError.
    """
    missing = []
    current = path
    while not current.is_dir():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir()
        except FileExistsError:
            if not directory.is_dir():
                raise
        fsync_dir(directory.parent)
    if not missing:  # made by an earlier run that may have died before syncing its parent
        fsync_dir(path.parent)


def pwrite_all(fd: int, data: bytes | bytearray | memoryview, offset: int) -> None:
    """Write all of `data` at `offset`: pwrite may write less than asked, so loop.

    Explicit offsets, never "the end of the file": after a rollback's ftruncate no file position
    can be stale. Raises OSError, also EIO when the kernel reports no progress (which would
    otherwise loop forever).
    """
    view = memoryview(data).cast("B")
    while view:
        written = os.pwrite(fd, view, offset)
        if written <= 0:
            raise OSError(errno.EIO, "write made no progress")
        view = view[written:]
        offset += written


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a crash leaves either the old or the new file whole.

    Write a temp file beside it, fsync it, rename it over the target, fsync the directory.
    Raises OSError (callers translate with zoro.errors.storage_error).
    """
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        pwrite_all(fd, data, 0)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)
