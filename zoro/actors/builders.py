"""The actor's background builders: HNSW sealing, payload index builds and the index persister
(ANN segments, payload indexes, sparse indexes).

Each is a task of the actor's nursery that sleeps until there is work. The work itself runs in
a worker thread on frozen inputs (a seal job's segments and bitmap copy, the payload file up to
a slot count, a checkpoint plan); the result is swapped in on the event loop, between two
applied batches, so no search ever runs on a structure being built. A failed build (say, a full
disk) is logged and retried after a pause: its inputs stay searchable as they were.

A compaction's switch renumbers every slot and closes the old files. A dense graph build
runs across it: the build reads only its own inputs, which the renumber replaces rather than
changes, and its result is renumbered when installed (SegmentedIndex.renumber). Every other
step that works on slots (payload index builds, multivector graphs, the persister) holds the
builders' gate (`_working`), and the switch runs while `quiet()`: the steps under way finish,
and none starts until it is done.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import outcome
import trio

from zoro.actors.numbering import NumberingGate
from zoro.actors.recovery import sparse_dir
from zoro.ann import SealCancelled
from zoro.errors import ZoroError
from zoro.fsutil import fsync_dir
from zoro.memory import release_free_memory
from zoro.payload import build_index, index_slots
from zoro.payload.indexes import BuildStopped

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from pathlib import Path

    from zoro.ann import SegmentedIndex
    from zoro.multi import MultiIndex
    from zoro.payload import PayloadIndexes
    from zoro.sparse import SparseIndex
    from zoro.storage import CollectionStore

log = logging.getLogger(__name__)

T = TypeVar("T")

BUILD_RETRY_S = 5.0
# After this long without new points, a fresh segment of at least this many is indexed.
IDLE_SEAL_S = 1.0
IDLE_SEAL_MIN_POINTS = 1_000
MULTI_GRAPH_CHECK_S = 5.0
# A follower's graph and payload index builds run this much nicer than the rest of its
# process, so on busy cores they take what the owner's writes and every worker's requests
# leave. A 1,000,000-point upload with 2 workers: 0.31x the engine without, 0.42x with
# (bench/ingest_binary.py).
FOLLOWER_BUILD_NICE = 10


class Builders:
    """The three background tasks of one collection, and the events that wake them."""

    def __init__(
        self,
        name: str,
        store: CollectionStore,
        indexes: dict[int, SegmentedIndex],
        sparse: dict[int, SparseIndex],
        multi: dict[int, MultiIndex],
        payload: PayloadIndexes,
        *,
        directory: Path,
        ann_limiter: trio.CapacityLimiter,
        io_limiter: trio.CapacityLimiter,
        persist: bool = True,
    ) -> None:
        self._name = name
        self._persists = persist  # a follower's builders write no file (docs/workers.md)
        self._nice = 0 if persist else FOLLOWER_BUILD_NICE
        self._store = store
        self._directory = directory
        self._indexes = indexes  # one per dense vector, each with its own sealing task
        self._sparse = sparse  # saved by the persister now and then
        self._multi = multi  # one per multivector, each with its own graph task
        self._payload = payload
        self._ann_limiter = ann_limiter  # index builds
        self._io_limiter = io_limiter
        self._index_wakeups = {number: trio.Event() for number in (*indexes, *multi)}
        self._persist_wanted = trio.Event()
        self._payload_wakeup = trio.Event()
        self._payload_built = trio.Event()
        self._payload_persisted = -1  # PayloadIndexes.version last written
        self._working = NumberingGate()  # held by each step on slots; closed while quiet

    # ------------------------------------------------------------------ wake-ups (event loop)

    def points_added(self) -> None:
        """New points are in the fresh segments: the indexers may have work."""
        for wakeup in self._index_wakeups.values():
            wakeup.set()

    def persist_soon(self) -> None:
        """A checkpoint moved: write the index's new segments and the payload indexes."""
        self._persist_wanted.set()

    def schemas_changed(self) -> None:
        """A payload index was declared or dropped."""
        self._payload_wakeup.set()
        self.wake_payload_waiters()

    def wake_payload_waiters(self) -> None:
        self._payload_built.set()
        self._payload_built = trio.Event()

    async def wait_payload_built(self) -> None:
        """Until the next payload index is swapped in or a schema changes."""
        await self._payload_built.wait()

    @asynccontextmanager
    async def quiet(self) -> AsyncIterator[None]:
        """No builder works on slots while this is held (around a compaction's switch), dense
        graph builds aside (see the module doc): the steps under way are waited for, and no
        new one starts until it ends."""
        async with self._working.closed():
            yield

    @property
    def is_quiet(self) -> bool:
        return self._working.closing and not self._working.leases

    def renumbered(self) -> None:
        """Slots were renumbered: every builder plans again, the persister writes anew."""
        self.points_added()
        self._payload_wakeup.set()
        self._persist_wanted.set()

    # ------------------------------------------------------------------ the tasks

    async def run(self) -> None:
        """Run the three builders until cancelled."""
        async with trio.open_nursery() as nursery:
            for number in self._indexes:
                nursery.start_soon(self._index_builder, number)
            for number in self._multi:
                nursery.start_soon(self._multi_graph_builder, number)
            if self._persists:
                nursery.start_soon(self._index_persister)
            nursery.start_soon(self._payload_index_builder)

    def sparse_snapshots(self, *, final: bool = False) -> list[Callable[[], object]]:
        """Copies (event loop) of the sparse indexes due a save (`SparseIndex.save_due`; with
        `final`, every one changed since its last save); each returned function writes one (a
        worker thread). The horizon is the slot count: every slot below it is applied."""
        horizon = self._store.slot_count()
        out: list[Callable[[], object]] = []
        for number, index in self._sparse.items():
            if index.unsaved_changes() and (final or index.save_due()):
                path = sparse_dir(self._directory, number)
                saver = index.saver(horizon, self._store.file_generation)
                out.append(functools.partial(_save_sparse, saver, path))
        return out

    def payload_snapshot(self) -> Callable[[], None]:
        """Copy the payload indexes as of the last checkpoint (event loop); the returned
        function writes them (a worker thread). Nothing to write if nothing changed."""
        payload, store = self._payload, self._store
        if payload.version == self._payload_persisted:
            return lambda: None
        version = payload.version
        files = payload.snapshot(
            store.live_mask()[: store.checkpointed_slots], store.file_generation
        )

        def write() -> None:
            payload.write_snapshot(files)
            self._payload_persisted = version

        return write

    async def _payload_index_builder(self) -> None:
        """Build declared payload indexes from the payload file, one at a time, in a thread;
        catch each up with the slots written meanwhile and swap it in (event loop)."""
        payload = self._payload
        while True:
            pending = payload.pending()
            if not pending:
                await self._payload_wakeup.wait()
                self._payload_wakeup = trio.Event()
                continue
            key, schema, params = pending[0]
            store = self._store
            stop = threading.Event()
            started = trio.current_time()
            try:
                # held from the first slot read to the install: a switch in between would
                # install an index numbered in the old generation
                async with self._working.held():
                    limit = store.slot_count()
                    build = functools.partial(
                        build_index, schema, key, limit, store, stop.is_set, params
                    )
                    index = await run_stoppable(build, stop.set, self._ann_limiter, self._nice)
                    index_slots(index, np.arange(limit, store.slot_count(), dtype=np.int64), store)
                    installed = payload.install(key, schema, index, params)
            except (ZoroError, OSError, BuildStopped) as exc:
                log.warning("collection %s: payload index %s failed: %s", self._name, key, exc)
                await trio.sleep(BUILD_RETRY_S)
                continue
            if installed:
                log.info(
                    "collection %s: payload index on %s (%s) built over %d slots in %.2f s",
                    self._name,
                    key,
                    schema,
                    limit,
                    trio.current_time() - started,
                )
            self.wake_payload_waiters()
            await trim_memory()  # the build's temporary arrays

    async def _index_builder(self, number: int) -> None:
        """Build fresh points of dense vector `number` into HNSW segments in a thread, and swap
        each result in.

        A failed build (say, a full disk) is logged and dropped; its inputs stay searchable
        exactly, and the next attempt comes after a pause.
        """
        index = self._indexes[number]
        while True:
            sealed = await self._seal(index)  # no gate: a build may run across a switch
            if sealed is None:
                await self._wait_for_index_work(number, index)
            elif not sealed:
                await trio.sleep(BUILD_RETRY_S)

    async def _seal(self, index: SegmentedIndex) -> bool | None:
        """Build one seal job and swap it in: None if there was none, False if it failed."""
        job = index.take_seal_job()
        if job is None:
            return None
        try:
            result = await run_stoppable(job.run, job.cancel, self._ann_limiter, self._nice)
        except (ZoroError, OSError, SealCancelled) as exc:
            index.abandon(job)
            log.warning("collection %s: index build failed, retrying later: %s", self._name, exc)
            return False
        index.install(result)
        self._persist_wanted.set()  # write the new graph for its points now
        await trim_memory()
        return True

    async def _wait_for_index_work(self, number: int, index: SegmentedIndex) -> None:
        """Until new points arrive. If writes pause for a moment while the fresh segment holds
        enough points to matter, freeze it so that the indexer takes them in."""
        with trio.move_on_after(IDLE_SEAL_S):
            await self._index_wakeups[number].wait()
            self._index_wakeups[number] = trio.Event()
            return
        if not index.freeze_fresh(IDLE_SEAL_MIN_POINTS):
            await self._index_wakeups[number].wait()
            self._index_wakeups[number] = trio.Event()

    async def _multi_graph_builder(self, number: int) -> None:
        """(Re)build multivector `number`'s candidate graph in a thread whenever its index asks
        for one (many rows outside the graph, or many dead in it); checked after points arrive
        and every few seconds. The graph is not persisted: after a restart exact MaxSim serves
        until it is rebuilt."""
        index = self._multi[number]
        while True:
            with trio.move_on_after(MULTI_GRAPH_CHECK_S):
                await self._index_wakeups[number].wait()
            self._index_wakeups[number] = trio.Event()
            failed = False
            async with self._working.held():
                if not index.wants_graph():
                    continue
                job = index.prepare_graph()
                try:
                    await trio.to_thread.run_sync(
                        at_lower_priority(job.run, self._nice), limiter=self._ann_limiter
                    )
                except (ZoroError, OSError, MemoryError) as exc:
                    log.warning("collection %s: multivector graph failed: %s", self._name, exc)
                    failed = True
                else:
                    index.install_graph(job)  # refused if a compaction renumbered meanwhile
                    await trim_memory()
            if failed:
                await trio.sleep(BUILD_RETRY_S)

    async def _index_persister(self) -> None:
        """Write the index's new segments and manifest after each checkpoint, one at a time."""
        while True:
            await self._persist_wanted.wait()
            self._persist_wanted = trio.Event()
            async with self._working.held():
                await self._persist()

    async def _persist(self) -> None:
        plans = [
            index.plan_checkpoint(self._store.checkpointed_slots, self._store.file_generation)
            for index in self._indexes.values()
        ]
        write_payload_indexes = self.payload_snapshot()
        save_sparse = self.sparse_snapshots()
        try:
            for plan in plans:
                await trio.to_thread.run_sync(plan.run, limiter=self._io_limiter)
            await trio.to_thread.run_sync(write_payload_indexes, limiter=self._io_limiter)
            for save in save_sparse:
                await trio.to_thread.run_sync(save, limiter=self._io_limiter)
        except (ZoroError, OSError) as exc:
            log.warning("collection %s: persisting the index failed: %s", self._name, exc)


def _save_sparse(saver: Callable[[Path], Path], directory: Path) -> None:
    directory.mkdir(exist_ok=True)
    fsync_dir(directory.parent)
    saver(directory)


async def trim_memory() -> None:
    """After a build: hand the memory it freed back to the system (zoro.memory), in a thread."""
    await trio.to_thread.run_sync(release_free_memory)


async def run_stoppable(
    run: Callable[[], T], stop: Callable[[], None], limiter: trio.CapacityLimiter, nice: int = 0
) -> T:
    """Run a long job in a worker thread (`nice`: see at_lower_priority). On cancellation, ask
    it to stop and wait for it: a FAISS thread must not outlive the actor (an abandoned one
    aborts the process at exit), and the store's files must not close under it. Jobs check
    their stop flag often."""
    run = at_lower_priority(run, nice)
    box: list[outcome.Outcome[T]] = []
    async with trio.open_nursery() as nursery:

        async def work() -> None:
            with trio.CancelScope(shield=True):
                box.append(await trio.to_thread.run_sync(outcome.capture, run, limiter=limiter))
            nursery.cancel_scope.cancel()

        async def stop_when_cancelled() -> None:
            try:
                await trio.sleep_forever()
            finally:
                stop()

        nursery.start_soon(work)
        nursery.start_soon(stop_when_cancelled)
    return box[0].unwrap()


def at_lower_priority(run: Callable[[], T], nice: int) -> Callable[[], T]:
    """`run` (itself when `nice` is 0) in a thread of its own whose nice value is `nice` more
    than its starter's. A Linux thread has its own nice value, and an unprivileged one cannot
    lower it again, so the job does not run in trio's reused worker thread itself."""
    if nice == 0:
        return run

    def in_own_thread() -> T:
        box: list[outcome.Outcome[T]] = []

        def niced() -> None:
            with contextlib.suppress(OSError, AttributeError):
                tid = threading.get_native_id()
                os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + nice)
            box.append(outcome.capture(run))

        thread = threading.Thread(target=niced, name="zoro-build-niced", daemon=True)
        thread.start()
        thread.join()
        return box[0].unwrap()

    return in_own_thread
