"""The actor's compaction task: reclaim replaced and deleted slots (docs/compaction.md).

A compaction copies the live slots into a new file generation in a worker thread while reads
and writes go on (paced, so the disk stays shared), copies again while many slots came in
meanwhile, then quiets the builders (the payload index builds and the persister under way
finish and none starts; a graph build goes on, see zoro.actors.builders) and asks the commit
loop for the switch (`SwitchFiles`): there, with no apply running, the generation is committed
as a checkpoint and everything in memory is renumbered once no read holds a slot number.

It starts once garbage (slots that are neither live nor the void slot) is
`compaction_garbage_ratio` of all slots and at least `compaction_min_slots` of them (looked at
after every applied batch: a few integer operations), or when asked
(`POST /collections/{c}/compact`). One runs at a time per collection.
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import trio

from zoro.actors.builders import run_stoppable
from zoro.errors import ZoroError, storage_error
from zoro.storage.compaction import Pacer

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from contextlib import AbstractAsyncContextManager

    from zoro.storage import CollectionStore
    from zoro.storage.compaction import Compaction

log = logging.getLogger(__name__)

COPY_ROUNDS_MAX = 8  # copies before the switch; each one is shorter than the one before
FAILED_RETRY_S = 60.0  # after a failed compaction, the automatic trigger waits this long


@dataclass(frozen=True, slots=True)
class CompactionPolicy:
    garbage_ratio: float  # 0: never on its own
    min_slots: int
    bytes_per_s: float  # the copy's pace; 0: unpaced
    tail_max: int


@dataclass(frozen=True, slots=True)
class CompactionReport:
    """What one compaction did."""

    slots_before: int
    slots_after: int
    bytes_copied: int
    seconds: float


class _Stopped(Exception):
    """The copy was asked to stop (the actor is closing)."""


class Compactor:
    """One collection's compactions: when they run, the runs themselves and their figures."""

    def __init__(
        self,
        name: str,
        store: CollectionStore,
        policy: CompactionPolicy,
        *,
        switch: Callable[[Compaction], Awaitable[int]],
        quiet: Callable[[], AbstractAsyncContextManager[None]],
        io_limiter: trio.CapacityLimiter,
    ) -> None:
        self._name = name
        self._store = store
        self._policy = policy
        self._switch = switch  # the commit loop's switch (SwitchFiles); returns its slots
        self._quiet = quiet  # Builders.quiet: no builder's step straddles the switch
        self._io_limiter = io_limiter
        self._wanted = trio.Event()
        self._finished = trio.Event()  # set (and replaced) at the end of every run
        self._last: CompactionReport | ZoroError | None = None
        self._begun = 0  # runs begun so far
        self._last_run = 0  # which run `_last` is from (runs are numbered from 1 as they begin)
        self._retry_at = 0.0
        self.running = False
        self.runs = 0
        self.failures = 0
        self.bytes_copied = 0
        self.last_report: CompactionReport | None = None

    # ------------------------------------------------------------------ triggers (event loop)

    def garbage(self) -> tuple[int, int]:
        """(slots that are garbage, all slots) of the store now."""
        store = self._store
        slots = store.slot_count()
        void = 1 if store.file_generation else 0
        return slots - store.live_count() - void, slots

    def consider(self) -> None:
        """After each applied batch: start a compaction if the garbage calls for one."""
        policy = self._policy
        garbage, slots = self.garbage()
        if (
            not self.running
            and policy.garbage_ratio > 0
            and garbage >= policy.min_slots
            and garbage >= policy.garbage_ratio * slots
            and trio.current_time() >= self._retry_at
        ):
            self._wanted.set()

    async def compact(self) -> CompactionReport:
        """Compact now and wait for the end of a run that began after this call: one already
        running took its cut before, and the slots that died since would stay garbage (at rest
        for good: the trigger looks after writes only). Raises the compaction's error."""
        needed = self._begun + 1
        self._wanted.set()  # a run now, or right after the one running
        while True:
            finished = self._finished
            await finished.wait()
            if self._last_run >= needed:
                break
        last = self._last
        if isinstance(last, ZoroError):
            raise last
        assert last is not None
        return last

    # ------------------------------------------------------------------ the task

    async def run(self) -> None:
        """Compact whenever wanted, until cancelled."""
        while True:
            await self._wanted.wait()
            self._wanted = trio.Event()
            self.running = True
            self._begun += 1
            run = self._begun
            try:
                self._last = await self._once()
                self.last_report = self._last
            except ZoroError as exc:
                log.warning("collection %s: compaction failed: %s", self._name, exc.message)
                self.failures += 1
                self._retry_at = trio.current_time() + FAILED_RETRY_S
                self._last = exc
            finally:
                self._last_run = run
                self.running = False
                self._finished.set()
                self._finished = trio.Event()

    async def _once(self) -> CompactionReport:
        store = self._store
        started = trio.current_time()
        slots_before = store.slot_count()
        compaction = store.begin_compaction()
        switching = False
        try:
            pacer = Pacer(self._policy.bytes_per_s)
            await self._copy_rounds(compaction, pacer)
            async with self._quiet():  # may wait for a payload index build: copy again
                await self._copy_rounds(compaction, pacer)
                switching = True  # from here the commit loop owns the new files
                await self._switch(compaction)
        except BaseException:
            if not switching:
                with trio.CancelScope(shield=True):
                    await trio.to_thread.run_sync(compaction.abandon, limiter=self._io_limiter)
            raise
        self.runs += 1
        self.bytes_copied += compaction.bytes_copied
        report = CompactionReport(
            slots_before=slots_before,
            slots_after=store.slot_count(),
            bytes_copied=compaction.bytes_copied,
            seconds=trio.current_time() - started,
        )
        log.info(
            "collection %s: compacted %d slots to %d (%.1f MB copied) in %.2f s",
            self._name,
            report.slots_before,
            report.slots_after,
            report.bytes_copied / 1e6,
            report.seconds,
        )
        return report

    async def _copy_rounds(self, compaction: Compaction, pacer: Pacer) -> None:
        """Copy what the cut holds, and again while many slots came in meanwhile (each round is
        shorter than the one before), so that the switch copies few."""
        for _ in range(COPY_ROUNDS_MAX):
            await self._copy(compaction, pacer)
            if compaction.cut_more() <= self._policy.tail_max:
                return

    async def _copy(self, compaction: Compaction, pacer: Pacer) -> None:
        """Copy the cut's slots in a worker thread; stopped between chunks if cancelled."""
        stop = threading.Event()

        def paced(written: int) -> None:
            if stop.is_set():
                raise _Stopped
            pacer(written)

        try:
            await run_stoppable(
                functools.partial(compaction.copy, paced), stop.set, self._io_limiter
            )
        except OSError as exc:
            raise storage_error(exc, f"compacting {self._name}") from exc
