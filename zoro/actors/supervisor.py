"""Supervision of one collection: run its actor, and reopen it when its memory has gone bad but
its WAL has not.

An actor whose batch failed to apply after the WAL sync ends with ReplayNeeded: its in-memory
state may hold part of the batch, while the WAL holds all of it. A new actor on the same files
recovers by replaying the WAL from the last checkpoint, which applies the batch whole. Replay
itself writes (the batch's vectors and payloads), so while the cause lasts (a full disk) the
reopen fails too; it is retried with a growing pause until it succeeds or the collection is
deleted or the server stops. A collection that needs a replay again and again (a bug in apply,
not the disk) is left failed after a few, with its reason. Any other failure leaves the
collection failed at once, as before: a damaged file is not retried.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import TYPE_CHECKING

import trio

from zoro.actors.actor import ActorState
from zoro.errors import CorruptionError, ReplayNeeded, StorageError, StorageFull

if TYPE_CHECKING:
    from collections.abc import Callable

    from zoro.actors.actor import CollectionActor

log = logging.getLogger(__name__)

# At most this many reopenings for ReplayNeeded within the window; past that, stay failed.
REPLAYS_ALLOWED = 5
REPLAY_WINDOW_S = 300.0
# Pauses between attempts to reopen a collection whose recovery failed on I/O (doubling).
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0


class Supervision:
    """One collection's actor over its whole life, restarts included.

    `actor` is the current one: requests always reach it through here, so a restart is seen
    at once. `done` is set when no actor will run any more (stopped, or given up)."""

    def __init__(self, make_actor: Callable[[], CollectionActor]) -> None:
        self._make_actor = make_actor
        self.actor = make_actor()
        self.done = trio.Event()
        self._stopped = trio.Event()

    def stop(self) -> None:
        """No more restarts; the current actor drains what is queued and checkpoints."""
        self._stopped.set()
        self.actor.close()

    async def run(self) -> None:
        replays: deque[float] = deque()
        reopening = False  # the current actor is a reopening after ReplayNeeded
        pause = RETRY_FIRST_S
        try:
            while True:
                actor = self.actor
                try:
                    await actor.run()
                    return
                except ReplayNeeded as exc:
                    if not self._allow_replay(replays, actor, exc):
                        return
                    reopening, pause = True, RETRY_FIRST_S
                except Exception as exc:
                    if actor.state is not ActorState.FAILED:
                        actor.mark_failed(f"{type(exc).__name__}: {exc}")
                    log.error("collection %s failed: %s", actor.name, actor.failure, exc_info=exc)
                    if not (reopening and _passing(exc)):
                        return
                    log.warning(
                        "collection %s: reopening failed (%s); trying again in %.1f s",
                        actor.name, actor.failure, pause,
                    )  # fmt: skip
                    with trio.move_on_after(pause):
                        await self._stopped.wait()
                    pause = min(RETRY_MAX_S, pause * 2)
                if self._stopped.is_set():
                    return
                self.actor = self._make_actor()
        finally:
            self.done.set()

    def _allow_replay(
        self, replays: deque[float], actor: CollectionActor, exc: ReplayNeeded
    ) -> bool:
        now = trio.current_time()
        replays.append(now)
        while replays and replays[0] < now - REPLAY_WINDOW_S:
            replays.popleft()
        if len(replays) > REPLAYS_ALLOWED:
            actor.mark_failed(
                f"{exc.reason}; not reopened again after {REPLAYS_ALLOWED} replays in "
                f"{REPLAY_WINDOW_S:.0f} s"
            )
            log.error("collection %s: %s", actor.name, actor.failure)
            return False
        log.warning("collection %s: %s; reopening it from its WAL", actor.name, exc.reason)
        return True


def _passing(exc: BaseException) -> bool:
    """An I/O failure that may go away (a full disk, a transient error), not damage."""
    if isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        return _passing(exc.exceptions[0])
    return isinstance(exc, StorageFull | StorageError) and not isinstance(exc, CorruptionError)
