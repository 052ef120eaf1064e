"""WalTail: a follower's reader of a WAL that its owner goes on appending to (docs/workers.md).

The owner publishes the LSN up to which its records are whole (fsynced and applied); the tail
reads up to exactly that LSN and no further, so it never meets a record being written, and
keeps its place (segment, offset) for the next call. Every record it returns is checked as
replay checks it (CRC, LSN continuity, batch indexes); below the published LSN any flaw is
corruption.

The owner deletes segments wholly below its checkpoints. The segment the tail is reading
stays readable while its file is open; a later one that is gone before the tail gets to it
means the follower fell behind a checkpoint, and it must open the collection again from the
files (FollowerBehind).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zoro.errors import CorruptionError, FollowerBehind, storage_error
from zoro.wal._format import SEGMENT, list_segments
from zoro.wal._reader import BadRecord, SegmentReader
from zoro.wal._replay import decode_record

if TYPE_CHECKING:
    from pathlib import Path

    from zoro.types import WriteOp


class WalTail:
    """Reads the records after `after_lsn`, a call at a time, up to an LSN the caller names."""

    def __init__(self, directory: Path, after_lsn: int) -> None:
        self._dir = directory
        self.last_lsn = after_lsn  # the last record returned
        self._reader: SegmentReader | None = None
        self._pos = 0  # where the next record starts in the open segment
        self._index = -1  # the batch index of the record before it

    def read_through(self, lsn: int) -> list[tuple[int, WriteOp]]:
        """Every record after the last one returned, up to and including `lsn`, decoded and in
        order. Blocking (a worker thread). Raises FollowerBehind when the WAL no longer holds
        the next record, CorruptionError for a bad record, StorageError on an I/O error."""
        out: list[tuple[int, WriteOp]] = []
        try:
            while self.last_lsn < lsn:
                fresh = self._reader is None
                if fresh:
                    self._open_next()
                before = self.last_lsn
                self._read_into(out, lsn)
                if self.last_lsn < lsn:
                    if fresh and self.last_lsn == before:
                        what = f"the WAL holds no LSN {before + 1}, below the published {lsn}"
                        raise FollowerBehind(f"{self._dir}: {what}")
                    self._close()  # this segment has no more: the next one holds the rest
        except BadRecord as bad:
            path = self._reader.path if self._reader is not None else self._dir
            self._close()
            raise CorruptionError(str(path), bad.offset, bad.what) from None
        except OSError as exc:
            self._close()
            raise storage_error(exc, f"following the WAL in {self._dir}") from exc
        return out

    def close(self) -> None:
        self._close()

    def _read_into(self, out: list[tuple[int, WriteOp]], lsn: int) -> None:
        reader = self._reader
        assert reader is not None
        for record in reader.records_from(self._pos, self.last_lsn + 1, self._index):
            out.append((record.lsn, decode_record(reader.path, record)))
            self._pos, self._index, self.last_lsn = record.end, record.batch_index, record.lsn
            if record.lsn >= lsn:
                return

    def _open_next(self) -> None:
        """Open the segment holding the next record (the newest one starting at or below it)
        and find the record's place in it. None such: FollowerBehind."""
        wanted = self.last_lsn + 1
        holding = [(first, path) for first, path in list_segments(self._dir) if first <= wanted]
        if not holding:
            raise FollowerBehind(f"{self._dir}: the WAL no longer holds LSN {wanted}")
        first, path = holding[-1]
        reader = SegmentReader(path)
        self._reader = reader
        reader.check_header(first)
        self._pos, self._index = SEGMENT.size, -1
        if first < wanted:  # only the first open lands mid-segment: pass what is applied
            for record in reader.records_from(SEGMENT.size, first, -1):
                self._pos, self._index = record.end, record.batch_index
                if record.lsn == wanted - 1:
                    break

    def _close(self) -> None:
        if self._reader is not None:
            self._reader.__exit__(None, None, None)
            self._reader = None
