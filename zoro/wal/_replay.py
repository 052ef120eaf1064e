"""replay(): the logged ops after a checkpoint, in LSN order, decoded."""

from __future__ import annotations

from typing import TYPE_CHECKING

from zoro.errors import CorruptionError, storage_error
from zoro.wal._codec import decode_body
from zoro.wal._format import list_segments
from zoro.wal._reader import BadRecord, Record, SegmentReader

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from zoro.types import WriteOp


def replay(directory: Path, after_lsn: int) -> Iterator[tuple[int, WriteOp]]:
    """Yield (lsn, op) for every record with lsn > after_lsn, in LSN order.

    Call recover() first: here every flaw is corruption, a torn tail included. Segments that
    end at or below after_lsn are skipped unread (a segment ends where the next one begins).
    Blocking: iterate it in a worker thread.

    Raises:
        CorruptionError: a bad record, an LSN gap, or records after_lsn + 1 ... that the WAL
            no longer holds (its oldest segment starts later).
        StorageError, StorageFull: an I/O error while reading.
    """
    try:
        yield from _replay(directory, after_lsn)
    except OSError as exc:
        raise storage_error(exc, "replaying the WAL") from exc


def _replay(directory: Path, after_lsn: int) -> Iterator[tuple[int, WriteOp]]:
    if not directory.is_dir():
        return
    segments = list_segments(directory)
    skip = 0
    while skip + 1 < len(segments) and segments[skip + 1][0] - 1 <= after_lsn:
        skip += 1
    segments = segments[skip:]
    if not segments:
        return
    next_lsn = segments[0][0]
    if next_lsn > after_lsn + 1:
        what = f"replay needs LSN {after_lsn + 1} on, but the WAL starts at LSN {next_lsn}"
        raise CorruptionError(str(segments[0][1]), 0, what)
    for first, path in segments:
        if first != next_lsn:
            what = f"segment starts at LSN {first}, but the one before it ends at {next_lsn - 1}"
            raise CorruptionError(str(path), 0, what)
        with SegmentReader(path) as reader:
            try:
                reader.check_header(first)
                for record in reader.records(first):
                    next_lsn = record.lsn + 1
                    if record.lsn > after_lsn:
                        yield record.lsn, decode_record(path, record)
            except BadRecord as bad:
                raise CorruptionError(str(path), bad.offset, bad.what) from None


def decode_record(path: Path, record: Record) -> WriteOp:
    """The op a checked record holds; CorruptionError (naming file and offset) if it does not
    decode."""
    try:
        return decode_body(record.rtype, record.body)
    except ValueError as exc:
        raise CorruptionError(str(path), record.offset, f"LSN {record.lsn}: {exc}") from None
