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

`BoardSource` is a follower's FollowSource over it. While the board moves, the follower looks
every `BUSY_POLL_S` and applies what came meanwhile as one batch; once it stops moving, the
follower waits for the owner's doorbell: after a batch, the owner's `Bells` send the
collection's id in a datagram to every follower's `Doorbell` (`<run dir>/bell-<pid>-<n>.sock`),
which wakes that collection's follower at once. A read waiting for an LSN wakes it at once too
(`kick`). A poll backing off to `IDLE_POLL_S` covers a lost datagram (a follower's queue full).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import mmap
import os
import socket
import time
from typing import TYPE_CHECKING, Final

import numpy as np
import trio

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

log = logging.getLogger(__name__)

SIZE: Final = 16
# While the board moves, the follower looks this often and applies what came meanwhile in one
# batch: a read kicks the poll, so this is not its wait. At 1 ms a follower applied about one
# write per batch and spent 0.8 ms of CPU per write under one writer; at 5 ms, 0.5 ms.
BUSY_POLL_S: Final = 0.005
# Idle, the doorbell wakes a follower and reads kick it, so the poll is only the fallback for a
# lost datagram. A follower of 200 idle collections used 20% of a core polling at 50 ms, 3% at
# 500 ms.
IDLE_POLL_S: Final = 2.0
# The owner rings a collection's bell at most this often: within it a follower that was woken
# is still busy (it looks again BUSY_POLL_S after it found the board moved), and one that
# found the board still has not gone idle, since a ring before that look moved it.
RING_GAP_S: Final = BUSY_POLL_S / 2
BELL_PREFIX: Final = "bell-"
BELLS_LISTED_S: Final = 1.0  # the owner looks for new followers' doorbells this often


def board_path(run_dir: Path, collection_id: str) -> Path:
    return run_dir / f"{collection_id}.lsn"


class LsnBoard:
    """One collection's board, mapped for writing (the owner) or reading (a follower)."""

    def __init__(
        self, path: Path, *, writable: bool, ring: Callable[[], None] | None = None
    ) -> None:
        """`ring`: the owner's, called after each published LSN (its followers' doorbells)."""
        self._ring = ring
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
        if self._ring is not None:
            self._ring()

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

    def ring(self) -> None:
        """The owner applied a batch: look now if idle (a busy follower looks soon anyway,
        and what comes meanwhile is applied as one batch)."""
        if self._pause > BUSY_POLL_S:
            self._kicked.set()

    async def wait_past(self, lsn: int) -> None:
        with trio.move_on_after(self._pause):
            await self._kicked.wait()
        self._kicked = trio.Event()
        moved = self._board.lsn != lsn
        self._pause = BUSY_POLL_S if moved else min(IDLE_POLL_S, self._pause * 2)

    def close(self) -> None:
        self._board.close()


class Bells:
    """The owner's end of its followers' doorbells: rings a collection's bell after its board
    moved, a datagram to each follower (never blocking: a full queue drops it)."""

    def __init__(self, run_dir: Path) -> None:
        self._run_dir = run_dir
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.setblocking(False)
        self._doorbells: list[str] = []
        self._listed = -math.inf
        self._rang: dict[str, float] = {}

    def ringer(self, collection_id: str) -> Callable[[], None]:
        """A collection's ring, for its board."""
        message = collection_id.encode()

        def ring() -> None:
            now = time.monotonic()
            if now - self._rang.get(collection_id, -math.inf) < RING_GAP_S:
                return
            self._rang[collection_id] = now
            if now - self._listed >= BELLS_LISTED_S:
                self._listed = now
                self._doorbells = [str(p) for p in self._run_dir.glob(f"{BELL_PREFIX}*.sock")]
            for doorbell in list(self._doorbells):
                try:
                    self._socket.sendto(message, doorbell)
                except BlockingIOError:  # its queue is full: it is busy and will look anyway
                    pass
                except (ConnectionRefusedError, FileNotFoundError):  # its follower is gone
                    self._doorbells.remove(doorbell)
                    with contextlib.suppress(OSError):
                        os.unlink(doorbell)
                except OSError as exc:
                    log.warning("ringing %s: %s", doorbell, exc)

        return ring

    def close(self) -> None:
        self._socket.close()


_doorbell_numbers = itertools.count()


class Doorbell:
    """A follower process's doorbell: wakes the follower of the collection whose id arrives."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / f"{BELL_PREFIX}{os.getpid()}-{next(_doorbell_numbers)}.sock"
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a previous process's with this pid
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(self.path))
        self._socket = trio.socket.from_stdlib_socket(sock)

    async def run(self, sources: Mapping[str, BoardSource]) -> None:
        """Wake `sources[id]` for each id that arrives, until cancelled."""
        try:
            while True:
                source = sources.get((await self._socket.recv(256)).decode(errors="replace"))
                if source is not None:
                    source.ring()
        finally:
            self._socket.close()
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
