"""WalWriter: append batches of records to the newest segment, one write and one sync each."""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from zoro.errors import storage_error
from zoro.fsutil import fsync_dir, pwrite_all
from zoro.wal._codec import encode_records
from zoro.wal._format import (
    FORMAT_VERSION,
    SEGMENT,
    list_segments,
    pack_segment_header,
    segment_name,
)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path
    from types import TracebackType

    from zoro.settings import WalSettings
    from zoro.types import WriteOp

log = logging.getLogger("zoro.wal")


@dataclass(frozen=True, slots=True)
class WalStats:
    syncs: int  # data syncs of segment files since open (directory syncs not counted)
    records: int  # records appended since open
    batches: int  # successful append() calls since open
    bytes_written: int  # record bytes appended since open
    segments: int  # segment files on disk
    active_segment_bytes: int
    wal_bytes: int  # all segment files together


@dataclass(frozen=True, slots=True)
class _Sealed:
    first_lsn: int
    path: Path
    size: int


class WalWriter:
    """The single writer of one WAL directory. Not thread-safe: one call at a time.

    Every call blocks on the disk: run them in a worker thread. Each append is durable when it
    returns; a failed append leaves nothing behind and the writer usable.
    """

    def __init__(self, directory: Path, *, next_lsn: int, settings: WalSettings) -> None:
        """Open for appending at `next_lsn` (recover().last_lsn + 1, or past a checkpoint).

        Appends to the newest segment (it must have been through recover()), or starts a new
        one named after next_lsn when there is none or the newest holds no record.

        Raises:
            ValueError: next_lsn is below 1 or would repeat LSNs of the newest segment.
            StorageError, StorageFull: the directory or segment cannot be opened or created.
        """
        if next_lsn < 1:
            raise ValueError(f"LSNs start at 1, not {next_lsn}")
        self._dir = directory
        self._max_bytes = settings.segment_max_bytes
        self._retire_bytes = settings.retire_active_bytes
        self._datasync = settings.use_fdatasync
        self._next_lsn = next_lsn
        self._sealed: list[_Sealed] = []
        self._fd = -1
        self._path = directory / segment_name(next_lsn)
        self._first_lsn = next_lsn
        self._size = 0
        self._dir_unsynced = False  # a segment was created; its name is not durable yet
        self._needs_truncate = False  # a failed batch could not be cut off yet
        self._syncs = self._records = self._batches = self._bytes_written = 0
        try:
            self._open(next_lsn)
        except OSError as exc:
            self.close()
            raise storage_error(exc, "opening the WAL") from exc

    @property
    def next_lsn(self) -> int:
        return self._next_lsn

    def append(self, ops: Sequence[WriteOp]) -> int:
        """Log `ops` durably as LSNs next_lsn, next_lsn + 1, ...; return the first of them.

        One write and one sync for the whole batch, which never spans two segments. Returns
        only after the sync. On failure the segment is cut back to where the batch began and
        next_lsn is unchanged; the next append works once the cause is gone.

        Raises:
            ValueError: no ops, an op of the wrong shape, or the writer is closed.
            StorageFull: ENOSPC or EDQUOT (nothing of the batch is logged).
            StorageError: any other I/O error (nothing of the batch is logged).
        """
        if self._fd < 0:
            raise ValueError("the WAL writer is closed")
        if not ops:
            raise ValueError("append() needs at least one op")
        buf = encode_records(ops, self._next_lsn)
        start = self._size
        try:
            if self._needs_truncate:
                self._truncate(start)
            if start >= self._max_bytes and start > SEGMENT.size:
                self._rotate()
                start = self._size
            pwrite_all(self._fd, buf, start)
            self._sync()
            if self._dir_unsynced:
                fsync_dir(self._dir)
                self._dir_unsynced = False
        except OSError as exc:
            self._roll_back(start)
            raise storage_error(exc, "writing the WAL") from exc
        self._size = start + len(buf)
        first = self._next_lsn
        self._next_lsn += len(ops)
        self._records += len(ops)
        self._batches += 1
        self._bytes_written += len(buf)
        return first

    def retire_active_through(self, lsn: int) -> bool:
        """After a checkpoint at `lsn`: when every record of the active segment is at or below
        it and the segment holds at least `retire_active_bytes`, start a new segment, so that
        `remove_segments_through(lsn)` can delete this one. Without it a collection whose
        writes stop keeps up to a whole segment of records that no replay needs. Returns
        whether it did.

        Raises:
            StorageError, StorageFull: the new segment could not be created.
        """
        if (
            self._fd < 0
            or self._needs_truncate
            or self._next_lsn - 1 > lsn
            or self._size < max(self._retire_bytes, SEGMENT.size + 1)
        ):
            return False
        try:
            self._rotate()
        except OSError as exc:
            raise storage_error(exc, "starting a WAL segment") from exc
        return True

    def remove_segments_through(self, lsn: int) -> int:
        """Delete the segments whose records all have LSN <= lsn (after a checkpoint at lsn).

        Never the active segment. Oldest first, so a crash midway leaves a contiguous WAL.
        Returns how many were removed.

        Raises:
            StorageError: a segment could not be deleted (the older ones may be gone).
        """
        removed = 0
        try:
            while self._sealed and self._end_lsn(0) <= lsn:
                with contextlib.suppress(FileNotFoundError):
                    self._sealed[0].path.unlink()
                # one at a time: a crash must not bring back an older segment and not a newer
                fsync_dir(self._dir)
                del self._sealed[0]
                removed += 1
        except OSError as exc:
            raise storage_error(exc, "removing old WAL segments") from exc
        return removed

    def stats(self) -> WalStats:
        sealed = sum(s.size for s in self._sealed)
        active = self._size if self._fd >= 0 else 0
        return WalStats(
            syncs=self._syncs,
            records=self._records,
            batches=self._batches,
            bytes_written=self._bytes_written,
            segments=len(self._sealed) + (self._fd >= 0),
            active_segment_bytes=active,
            wal_bytes=sealed + active,
        )

    def close(self) -> None:
        """Close the active segment. Idempotent; every append was already durable."""
        if self._fd < 0:
            return
        if self._needs_truncate:
            with contextlib.suppress(OSError):  # else recover() sorts it out on the next open
                self._truncate(self._size)
        fd, self._fd = self._fd, -1
        os.close(fd)

    def __enter__(self) -> WalWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- internals

    def _open(self, next_lsn: int) -> None:
        if not self._dir.is_dir():
            self._dir.mkdir(parents=True)
            fsync_dir(self._dir.parent)
        segments = list_segments(self._dir)
        for first, path in segments[:-1]:
            self._sealed.append(_Sealed(first, path, path.stat().st_size))
        if segments:
            first, path = segments[-1]
            size = path.stat().st_size
            if size > SEGMENT.size and first >= next_lsn:
                raise ValueError(f"next_lsn {next_lsn} would repeat LSNs of {path}")
            current = _format_of(path) == FORMAT_VERSION
            if current and (size > SEGMENT.size or (size == SEGMENT.size and first == next_lsn)):
                self._fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
                self._first_lsn, self._path, self._size = first, path, size
                return
            if size > SEGMENT.size:  # an older format's records: sealed, never appended to
                self._sealed.append(_Sealed(first, path, size))
            else:  # holds no record; make the newest segment start at next_lsn
                path.unlink()
        self._fd, self._path = self._create(next_lsn)
        self._first_lsn, self._size = next_lsn, SEGMENT.size

    def _create(self, first_lsn: int) -> tuple[int, Path]:
        """A new segment holding only its header; durable with the next append's syncs."""
        path = self._dir / segment_name(first_lsn)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            pwrite_all(fd, pack_segment_header(first_lsn), 0)
        except OSError:
            os.close(fd)
            with contextlib.suppress(OSError):
                path.unlink()
            raise
        self._dir_unsynced = True
        return fd, path

    def _rotate(self) -> None:
        fd, path = self._create(self._next_lsn)
        old_fd = self._fd
        self._sealed.append(_Sealed(self._first_lsn, self._path, self._size))
        self._fd, self._path = fd, path
        self._first_lsn, self._size = self._next_lsn, SEGMENT.size
        with contextlib.suppress(OSError):  # all of it was synced by the appends
            os.close(old_fd)

    def _end_lsn(self, i: int) -> int:
        """The last LSN sealed segment i can hold: one below where the next one starts."""
        after = self._sealed[i + 1].first_lsn if i + 1 < len(self._sealed) else self._first_lsn
        return after - 1

    def _sync(self) -> None:
        if self._datasync:
            os.fdatasync(self._fd)
        else:
            os.fsync(self._fd)
        self._syncs += 1

    def _truncate(self, size: int) -> None:
        os.ftruncate(self._fd, size)
        self._needs_truncate = False
        with contextlib.suppress(OSError):  # best effort: the next append syncs it anyway
            self._sync()

    def _roll_back(self, size: int) -> None:
        """Cut a failed batch off, so no later batch lands after half a record."""
        try:
            self._truncate(size)
        except OSError as exc:
            self._needs_truncate = True  # retried before the next append writes anything
            log.error("%s: could not cut back a failed WAL write: %s", self._path, exc)


def _format_of(path: Path) -> int | None:
    """The format version a segment's header states (None if it has no whole header)."""
    with open(path, "rb") as f:
        raw = f.read(SEGMENT.size)
    if len(raw) < SEGMENT.size:
        return None
    version: int = SEGMENT.unpack(raw)[1]
    return version
