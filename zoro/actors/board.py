"""The LSN board (docs/workers.md): where a collection's owner publishes how far it has applied
its WAL, for the followers in other processes to read without asking.

One small file per collection, `<run dir>/<collection id>.lsn`, memory-mapped by every worker:

    offset  size  field
    0       8     applied LSN: every record up to it is durable and applied (its rows are in
                  the files), little-endian u64
    8       8     file generation the owner serves (a compaction's switch changes it)

Each field is one aligned 8-byte store, which a reader on another core sees whole. The owner
writes the generation at a switch, before it applies anything in the new numbering, and the LSN
after each applied batch; a follower reads the LSN first and the generation second, so the
generation it sees is never older than the records that LSN covers. The file is not durable and
need not be: it describes the running owner, and a restarted owner writes it again.

`BoardSource` is a follower's FollowSource over it: the board is polled (every `BUSY_POLL_S`
while it moves, backing off to `IDLE_POLL_S` when it does not), and a read waiting for an LSN
wakes the poll at once (`kick`).
"""

from __future__ import annotations

import mmap
import os
from typing import TYPE_CHECKING, Final

import numpy as np
import trio

if TYPE_CHECKING:
    from pathlib import Path

SIZE: Final = 16
# While the board moves, the follower looks this often and applies what came meanwhile in one
# batch: a read kicks the poll, so this is not its wait. At 1 ms a follower applied about one
# write per batch and spent 0.8 ms of CPU per write under one writer; at 5 ms, 0.5 ms.
BUSY_POLL_S: Final = 0.005
# Idle, each collection's poll wakes its follower this often: reads never wait for it (a read
# kicks the poll), so it is long. A follower of 200 idle collections used 20% of a core at
# 50 ms, 3% at 500 ms.
IDLE_POLL_S: Final = 0.5


def board_path(run_dir: Path, collection_id: str) -> Path:
    return run_dir / f"{collection_id}.lsn"


class LsnBoard:
    """One collection's board, mapped for writing (the owner) or reading (a follower)."""

    def __init__(self, path: Path, *, writable: bool) -> None:
        flags = (os.O_RDWR | os.O_CREAT) if writable else os.O_RDONLY
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            if writable and os.fstat(fd).st_size < SIZE:
                os.ftruncate(fd, SIZE)
            access = mmap.ACCESS_WRITE if writable else mmap.ACCESS_READ
            self._map = mmap.mmap(fd, SIZE, access=access)
        finally:
            os.close(fd)  # the map keeps the file
        # one aligned u64 per field: numpy stores and loads each with one instruction
        self._fields = np.ndarray((2,), dtype="<u8", buffer=self._map)

    def publish_lsn(self, lsn: int) -> None:
        self._fields[0] = lsn

    def publish_generation(self, generation: int) -> None:
        self._fields[1] = generation

    @property
    def lsn(self) -> int:
        return int(self._fields[0])

    @property
    def generation(self) -> int:
        return int(self._fields[1])

    def close(self) -> None:
        del self._fields
        self._map.close()


class BoardSource:
    """A follower's FollowSource (zoro.actors.following) over a collection's board."""

    def __init__(self, board: LsnBoard) -> None:
        self._board = board
        self._kicked = trio.Event()
        self._pause = BUSY_POLL_S

    def applied_lsn(self) -> int:
        return self._board.lsn

    def file_generation(self) -> int:
        return self._board.generation

    def kick(self) -> None:
        """A read waits for an LSN: look at the board now."""
        self._kicked.set()

    async def wait_past(self, lsn: int) -> None:
        with trio.move_on_after(self._pause):
            await self._kicked.wait()
        self._kicked = trio.Event()
        moved = self._board.lsn != lsn
        self._pause = BUSY_POLL_S if moved else min(IDLE_POLL_S, self._pause * 2)

    def close(self) -> None:
        self._board.close()
