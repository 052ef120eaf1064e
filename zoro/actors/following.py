"""A follower's catch-up loop (docs/workers.md): apply the owner's WAL records as the owner
publishes them, and let reads wait for the LSN they need.

A follower's actor runs this instead of a commit loop. Reading the tail (file reads and
decoding) runs in a worker thread; applying it runs on the event loop without an await, exactly
as the owner's commit loop applies a batch, so a read never sees half of one. The loop ends
with FollowerBehind when the replica cannot go on (the owner compacted, or a checkpoint removed
WAL it still needed): the actor then opens a new replica beside it and swaps them.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Protocol

import trio

from zoro.errors import FollowerBehind

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from zoro.actors.recovery import Followed
    from zoro.storage.records import ApplyResult

log = logging.getLogger(__name__)


class FollowSource(Protocol):
    """Where a follower learns how far the collection's owner has applied its WAL."""

    def applied_lsn(self) -> int:
        """The last LSN the owner has made durable and applied (its files hold its rows)."""
        ...

    def file_generation(self) -> int:
        """The file generation the owner serves. The owner changes it (a compaction's
        switch) before it applies anything in the new numbering, so one read after
        applied_lsn() is at least as new as the records that LSN covers."""
        ...

    async def wait_past(self, lsn: int) -> None:
        """Return once applied_lsn() may be past `lsn` (a wake-up, or a short poll)."""
        ...

    def kick(self) -> None:
        """A read waits for an LSN: end the current wait_past now."""
        ...


class Following:
    """Keeps one replica current and tells reads when it has reached an LSN."""

    def __init__(
        self,
        name: str,
        source: FollowSource,
        io_limiter: trio.CapacityLimiter,
        *,
        schema: Path | None = None,
    ) -> None:
        """`schema`: the collection's payload index schema file. The owner changes it outside
        the WAL, so the loop watches it and a change opens a new replica (index changes are
        rare; a reopen loads what the owner persisted)."""
        self._name = name
        self._source = source
        self._io_limiter = io_limiter
        self._schema = schema
        self._schema_seen: tuple[int, int, int] | None = None  # of the replica in use
        self._schema_opening: tuple[int, int, int] | None = None
        self._schema_noticed: float | None = None  # when a read first saw the schema change
        self.lsn = 0  # what the replica in use has applied
        self._moved = trio.Event()  # set (and replaced) whenever `lsn` moves

    def started(self, replica: Followed) -> None:
        """A replica (new, or replacing one) is in use."""
        self._schema_seen = self._schema_opening
        self._schema_noticed = None
        self._reached(replica.store.applied_lsn)

    def opening(self) -> None:
        """A replica is about to be opened: what it reads of the schema is at least this."""
        self._schema_opening = self._schema_stamp()

    def _schema_stamp(self) -> tuple[int, int, int] | None:
        if self._schema is None:
            return None
        try:
            st = os.stat(self._schema)
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_size, st.st_mtime_ns

    async def caught_up(self, schema_wait_s: float) -> None:
        """Until the replica has applied what the owner has applied now (the read barrier),
        and, for `schema_wait_s` after the owner changed the payload index schema, until the
        replica in use has that schema with its indexes built (the loop opens one). Past
        that, a long index build does not hold reads: the replica in use is caught up, with
        the indexes it had."""
        await self.reached(self._source.applied_lsn())
        if self._schema_stamp() == self._schema_seen:
            return
        if self._schema_noticed is None:
            self._schema_noticed = trio.current_time()
        with trio.move_on_at(self._schema_noticed + schema_wait_s):
            while self._schema_stamp() != self._schema_seen:
                self._source.kick()
                await self._moved.wait()

    async def reached(self, lsn: int) -> None:
        """Until the replica in use has applied `lsn`."""
        while self.lsn < lsn:
            self._source.kick()
            await self._moved.wait()

    async def run(self, replica: Followed, applied: Callable[[ApplyResult], None]) -> None:
        """Apply what the owner publishes, until the replica must be replaced: raises
        FollowerBehind then, or CorruptionError (the replica may hold part of a batch: it must
        not serve). `applied` is called after each applied batch (event loop, no await)."""
        store, tail, source = replica.store, replica.tail, self._source
        while True:
            target = source.applied_lsn()
            if source.file_generation() != store.file_generation:  # read after the LSN
                raise FollowerBehind(f"{self._name}: the owner switched file generations")
            if self._schema_stamp() != self._schema_seen:
                raise FollowerBehind(f"{self._name}: the payload index schema changed")
            if target > store.applied_lsn:
                items = await trio.to_thread.run_sync(
                    tail.read_through, target, limiter=self._io_limiter
                )
                if items:
                    applied(replica.apply(items))
                self._reached(store.applied_lsn)
            await self._source.wait_past(target)

    def _reached(self, lsn: int) -> None:
        self.lsn = lsn
        self._moved.set()
        self._moved = trio.Event()
