"""<data>/LOCK: one process owns a data directory (shared by the server's layers, like fsutil).

Two servers on one directory each believe they are the only writer of its WAL and files, and
acknowledged writes are lost (seen: 20 of 30 left after a restart). So the owner holds an
exclusive `flock` on <data>/LOCK for its whole life, taken before any other file is read or
repaired. The kernel drops the lock when the process dies, however it dies, so a stale LOCK
file never blocks a restart after kill -9. The file holds the owner's PID, only to name it in
the refusal; the lock, not the file, is what counts, and the file is never deleted (deleting it
would let a second process lock a new inode while the first still holds the old one).

flock rather than fcntl/lockf: a POSIX record lock is dropped when the process closes ANY
descriptor of the file, and belongs to the process rather than to the open file, so a second
manager in the same process would not be refused.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from typing import TYPE_CHECKING, Final

from zoro.errors import DataDirInUse, storage_error
from zoro.fsutil import make_dirs, pwrite_all

if TYPE_CHECKING:
    from pathlib import Path
    from types import TracebackType

LOCK: Final = "LOCK"


class DataDirLock:
    """An exclusive lock on one data directory, held until `release()` or the process ends."""

    def __init__(self, data_dir: Path, fd: int) -> None:
        self.data_dir = data_dir
        self._fd = fd

    @classmethod
    def acquire(cls, data_dir: Path) -> DataDirLock:
        """Lock `data_dir` (creating it if missing) without waiting.

        Raises:
            DataDirInUse: another process (or another open lock in this one) holds it; the
                message names the directory and the holder's PID when the file records one.
            StorageError, StorageFull: the directory or LOCK file cannot be created.
        """
        path = data_dir / LOCK
        try:
            make_dirs(data_dir)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise storage_error(exc, f"locking the data directory {data_dir}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise DataDirInUse(str(data_dir), holder) from None
        except OSError as exc:
            os.close(fd)
            raise storage_error(exc, f"locking the data directory {data_dir}") from exc
        try:
            os.ftruncate(fd, 0)
            pwrite_all(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError as exc:
            os.close(fd)
            raise storage_error(exc, f"writing {path}") from exc
        return cls(data_dir, fd)

    def fileno(self) -> int:
        """The locked descriptor, for a worker process to inherit (the lock is the open
        file's, so a worker holding it keeps the directory locked while it lives)."""
        return self._fd

    @property
    def held(self) -> bool:
        return self._fd >= 0

    def release(self) -> None:
        """Let go of the lock (closing the descriptor releases it). Idempotent."""
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)

    def __enter__(self) -> DataDirLock:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int(os.pread(fd, 32, 0).decode().strip())
    return None
