"""recover(): check every segment, cut a torn tail off the newest one, refuse anything else.

The rule (ZODB FileStorage's read_index and _truncate): only the newest segment can end in a
batch that a crash interrupted, because every batch is synced before the next is written. So
a short or CRC-bad record there is cut off, with everything after it, unless a good record of a
later batch follows (then the bad spot was synced once and has rotted since). Good records of
the bad spot's own batch may follow: a power cut during the batch's sync can keep its pages in
any order (format 1 segments cannot tell, so there any good record that follows means
corruption). Any other damage is corruption, and the collection must not open. The cut bytes
are first copied aside to `<segment>.trN`, for a human to look at.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from zoro.errors import CorruptionError, storage_error
from zoro.fsutil import fsync_dir, pwrite_all
from zoro.wal._format import list_segments
from zoro.wal._reader import BadRecord, SegmentReader

if TYPE_CHECKING:
    from pathlib import Path

log = logging.getLogger("zoro.wal")


@dataclass(frozen=True, slots=True)
class WalRecovery:
    last_lsn: int  # LSN of the last good record; 0 if the WAL holds none
    records: int
    bytes_scanned: int
    truncated_bytes: int  # cut off torn tails, plus any torn segment creation removed
    segments: int  # left on disk


@dataclass(frozen=True, slots=True)
class _Scan:
    records: int
    cut_at: int | None  # where a torn tail starts; 0: the whole file is a torn creation
    why: str = ""


def recover(directory: Path) -> WalRecovery:
    """Validate every segment in `directory` and repair a torn tail; call before replay().

    A missing directory is an empty WAL. Blocking: run it in a worker thread.

    Raises:
        CorruptionError: a bad segment header or record anywhere but the torn tail of the
            newest segment, or LSNs that skip or repeat; `.path` and `.offset` name the spot.
        StorageError, StorageFull: an I/O error while reading or repairing.
    """
    try:
        return _recover(directory)
    except OSError as exc:
        raise storage_error(exc, "recovering the WAL") from exc


def _recover(directory: Path) -> WalRecovery:
    if not directory.is_dir():
        return WalRecovery(last_lsn=0, records=0, bytes_scanned=0, truncated_bytes=0, segments=0)
    segments = list_segments(directory)
    records = scanned = truncated = kept = 0
    next_lsn: int | None = None  # the LSN the next segment must start at
    for i, (first, path) in enumerate(segments):
        with SegmentReader(path) as reader:
            size = reader.size
            scan = _scan(reader, first, newest=i == len(segments) - 1)
        scanned += size
        if scan.cut_at == 0:
            _drop_torn_creation(path, size, scan.why)
            truncated += size
            continue
        if next_lsn is not None and first != next_lsn:
            what = f"segment starts at LSN {first}, but the one before it ends at {next_lsn - 1}"
            raise CorruptionError(str(path), 0, what)
        if scan.cut_at is not None:
            _cut_tail(path, scan.cut_at, size, scan.why)
            truncated += size - scan.cut_at
        kept += 1
        records += scan.records
        next_lsn = first + scan.records
    last_lsn = next_lsn - 1 if records and next_lsn is not None else 0
    return WalRecovery(last_lsn, records, scanned, truncated, kept)


def _scan(reader: SegmentReader, first: int, *, newest: bool) -> _Scan:
    try:
        reader.check_header(first)
    except BadRecord as bad:
        # An unsynced rotation can leave a short or unwritten header and no record after it.
        if newest and bad.tearable and not reader.later_batch_from(0, first):
            return _Scan(0, 0, bad.what)
        raise CorruptionError(str(reader.path), bad.offset, bad.what) from None
    count = 0
    try:
        for _record in reader.records(first):
            count += 1
    except BadRecord as bad:
        if newest and bad.tearable and not reader.later_batch_from(bad.offset + 1, first + count):
            return _Scan(count, bad.offset, bad.what)
        raise CorruptionError(str(reader.path), bad.offset, bad.what) from None
    return _Scan(count, None)


def _cut_tail(path: Path, offset: int, size: int, why: str) -> None:
    aside = _set_aside(path, offset)
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.ftruncate(fd, offset)
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_dir(path.parent)
    log.warning(
        "%s: cut a torn WAL tail of %d bytes at byte %d (%s); the bytes are in %s",
        path, size - offset, offset, why, aside.name,
    )  # fmt: skip


def _drop_torn_creation(path: Path, size: int, why: str) -> None:
    aside = _set_aside(path, 0) if size else None
    path.unlink()
    fsync_dir(path.parent)
    saved = f"; the bytes are in {aside.name}" if aside else ""
    log.warning("%s: removed a segment whose creation was torn (%s)%s", path, why, saved)


def _set_aside(path: Path, offset: int) -> Path:
    """Copy the bytes from `offset` to the end into the first free `<path>.trN`, durably."""
    with open(path, "rb") as src:
        src.seek(offset)
        data = src.read()
    n = 0
    while True:
        aside = path.with_name(f"{path.name}.tr{n}")
        try:
            fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        except FileExistsError:
            n += 1
            continue
        break
    try:
        pwrite_all(fd, data, 0)
        os.fsync(fd)
    finally:
        os.close(fd)
    return aside
