"""CollectionActor: one Trio task tree per collection, the only writer of its WAL, store and index.

How the actor keeps its promises
--------------------------------
* Writes arrive through a bounded mailbox (a trio memory channel). The commit loop takes the first
  write and every other one already waiting (up to a point and byte limit), logs them with ONE
  WAL write and ONE fdatasync in a worker thread, and only then applies them to the store and the
  index, in LSN order, and replies. Writes that arrive during the fsync wait for the next batch:
  that is group commit.
* Apply runs on the event loop without an await, so no reader ever sees half a batch, and it is
  the only place that mutates the store or the index's live structures. Checkpoints run in the
  commit loop too, between batches, so they never overlap an apply.
* Reads (get, scroll, count, single searches) are plain synchronous calls on the event loop. They
  do not go through the mailbox: a read mutates nothing, and running it inline costs ~20-70 us
  against ~180 us for a thread round trip, so a search never queues behind writes or an fsync.
  The fsync thread touches only the WAL file, never a structure a read uses.
* FAISS is never searched while it is being mutated: the structures the event loop mutates (the
  fresh flat segment, the deleted bitmap) are only searched inline on the same thread; worker
  threads see only immutable sealed segments and copies (`SegmentedIndex.thread_view`); HNSW
  builds run in a thread on frozen inputs and are swapped in on the event loop.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import outcome
import trio

from zoro.actors.messages import Checkpoint, DeleteWhere, IndexChange, Message, Write, op_nbytes
from zoro.actors.recovery import open_durable
from zoro.actors.reply import Reply
from zoro.ann import Bitmap, SealCancelled, SegmentedIndex
from zoro.ann.scores import empty_result
from zoro.ann.subset import search_subset
from zoro.errors import (
    BadRequest,
    CollectionClosed,
    CollectionFailed,
    CollectionRecovering,
    Overloaded,
    ZoroError,
    storage_error,
)
from zoro.payload import PayloadIndexes, apply_scan, build_index, index_slots, prepare
from zoro.payload.indexes import BuildStopped
from zoro.types import DeleteBatch

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    import numpy.typing as npt

    from zoro.ann import SealJob, SealResult
    from zoro.payload import Condition, FieldInfo
    from zoro.settings import AnnSettings, Settings
    from zoro.storage import CollectionEntry, CollectionStore, PointRecord
    from zoro.types import Keys, Vectors, WriteOp
    from zoro.wal import WalWriter

log = logging.getLogger(__name__)

BUILD_RETRY_S = 5.0
# After this long without new points, a fresh segment of at least this many is indexed.
IDLE_SEAL_S = 1.0
IDLE_SEAL_MIN_POINTS = 1_000
# A filter left to check on more candidate payloads than this is checked in a worker thread.
INLINE_SCAN_SLOTS = 2_000
# A filtered search whose filter keeps at most this many points, or this share of the live ones,
# searches them exactly; past that, the graph walk. Measured on 1M x 128 (one query, one core;
# exact among the kept points vs the walk with the beam widened by 1/sqrt(share), recall@10 of
# the walk against exact): 3% kept 1.09 vs 1.45 ms (0.985); 5% 1.86 vs 1.23 ms (0.986); 10%
# 4.2 vs 1.0 ms (0.982); 20% 12.3 vs 0.8 ms (0.978). Small collections stay exact.
EXACT_FILTER_POINTS = 20_000
EXACT_FILTER_SHARE = 0.03
# An exact search among more kept points than this runs in a worker thread: the vectors it
# reads never change and FAISS lets go of the GIL, so the event loop serves other requests and
# the second core does the work (50,000 points of 128 dimensions: ~5 ms).
THREAD_EXACT_POINTS = 8_000
# Selections of the last few distinct filters, reused while nothing has been written since.
SELECTION_CACHE_SIZE = 8

T = TypeVar("T")


class ActorState(StrEnum):
    RECOVERING = "recovering"
    READY = "ready"
    FAILED = "failed"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class ActorStatistics:
    state: ActorState
    mailbox_depth: int
    queued_bytes: int
    batches: int
    writes: int
    wal_syncs: int
    wal_records: int
    wal_bytes: int
    last_lsn: int
    checkpoint_lsn: int
    checkpoints: int
    replayed_records: int
    live_points: int
    indexed: dict[str, Any]


class Selection:
    """The live points a filter keeps, as a mask over slots [0, len(mask)), with the forms the
    search plans want made once and kept (a repeated filter reuses them: see `select`)."""

    __slots__ = ("_excluded", "_slots", "count", "mask")

    def __init__(self, mask: npt.NDArray[np.bool_], count: int) -> None:
        self.mask = mask
        self.count = count
        self._slots: npt.NDArray[np.int64] | None = None
        self._excluded: Bitmap | None = None

    def slots(self) -> npt.NDArray[np.int64]:
        """The kept slots, ascending."""
        if self._slots is None:
            self._slots = np.flatnonzero(self.mask)
        return self._slots

    def excluded(self, slot_count: int) -> Bitmap:
        """Every slot below `slot_count` the filter does not keep (deleted ones included)."""
        if self._excluded is None or self._excluded.capacity < slot_count:
            rejected = np.ones(slot_count, dtype=np.bool_)
            rejected[: len(self.mask)] = ~self.mask
            self._excluded = Bitmap.from_mask(rejected)
        return self._excluded


@dataclass(frozen=True, slots=True)
class Hits:
    """Search results for m queries: row i holds query i's hits, best first."""

    scores: list[npt.NDArray[np.float32]]
    slots: list[npt.NDArray[np.int64]]


class CollectionActor:
    def __init__(
        self,
        entry: CollectionEntry,
        directory: Path,
        settings: Settings,
        *,
        io_limiter: trio.CapacityLimiter,
        ann_limiter: trio.CapacityLimiter,
        search_limiter: trio.CapacityLimiter,
    ) -> None:
        self.entry = entry
        self.name = entry.name
        self.dimension = entry.dimension
        self.distance = entry.distance
        self._directory = directory
        self._settings = settings
        self._io_limiter = io_limiter
        self._ann_limiter = ann_limiter  # index builds
        self._search_limiter = search_limiter  # batch searches: never queued behind a build
        send, receive = trio.open_memory_channel[Message](settings.actor.mailbox_size)
        self._outbox: trio.MemorySendChannel[Message] = send
        self._inbox: trio.MemoryReceiveChannel[Message] = receive
        self._queued_bytes = 0
        self.state = ActorState.RECOVERING
        self.failure: str | None = None
        self.settled = trio.Event()  # set once recovery has ended, well or badly
        self._store: CollectionStore | None = None
        self._index: SegmentedIndex | None = None
        self._payload: PayloadIndexes | None = None
        self._payload_wakeup = trio.Event()
        self._payload_built = trio.Event()
        self._payload_persisted = -1  # PayloadIndexes.version last written
        # filter -> ((applied LSN, slots, index version) it was made at, its selection)
        self._selections: OrderedDict[Condition, tuple[tuple[int, int, int], Selection]] = (
            OrderedDict()
        )
        self._wal: WalWriter | None = None
        self._index_wakeup = trio.Event()
        self._persist_wanted = trio.Event()
        self._in_flight: list[Write] = []
        self._replayed = 0
        self._batches = 0
        self._writes = 0
        self._checkpoints = 0
        self._wal_bytes_at_checkpoint = 0
        self._last_checkpoint_at = 0.0

    # ------------------------------------------------------------------ sending side

    async def write(self, op: WriteOp | DeleteWhere) -> int:
        """Log, apply and acknowledge one write; returns its LSN.

        Raises Overloaded at once when the mailbox is full (by count or bytes), CollectionClosed /
        CollectionFailed / CollectionRecovering when the actor cannot take writes, and the storage
        error (StorageFull, StorageError) when the batch could not be made durable.
        Cancellation: a write already queued is still logged; the caller just does not hear back.
        """
        self.check_serving()
        nbytes = op_nbytes(op)
        if self._queued_bytes + nbytes > self._settings.actor.max_batch_bytes * 4:
            raise Overloaded(f"Collection `{self.name}` has too much data queued; retry shortly")
        reply: Reply[int] = Reply()
        try:
            self._outbox.send_nowait(Write(op, nbytes, reply))
        except trio.WouldBlock:
            raise Overloaded(f"Collection `{self.name}` is overloaded; retry shortly") from None
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise CollectionClosed(self.name) from None
        self._queued_bytes += nbytes
        return await reply.wait()

    async def checkpoint(self) -> int:
        """Ask the actor to checkpoint after the writes queued before this call."""
        reply: Reply[int] = Reply()
        await self._send(Checkpoint(reply))
        return await reply.wait()

    async def change_payload_index(self, key: str, schema: str | None) -> int:
        """Create (schema given) or drop (None) a payload index, in order with the writes before
        it; returns once the change is durable. The index is then built in the background."""
        reply: Reply[int] = Reply()
        await self._send(IndexChange(key, schema, reply))
        return await reply.wait()

    async def payload_index_built(self, key: str) -> None:
        """Wait until the index on `key` is ready (or gone)."""
        while True:
            payload = self._payloads()
            if payload.schema_of(key) is None or payload.ready_index(key) is not None:
                return
            self.check_serving()
            await self._payload_built.wait()

    async def _send(self, message: Message) -> None:
        self.check_serving()
        try:
            await self._outbox.send(message)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise CollectionClosed(self.name) from None

    def close(self) -> None:
        """Stop taking writes; the actor drains what is queued, checkpoints and returns."""
        self._outbox.close()

    def check_serving(self) -> None:
        if self.state is ActorState.READY:
            return
        if self.state is ActorState.RECOVERING:
            raise CollectionRecovering(self.name)
        if self.state is ActorState.FAILED:
            raise CollectionFailed(self.name, self.failure or "unknown")
        raise CollectionClosed(self.name)

    def mark_failed(self, reason: str) -> None:
        self.state = ActorState.FAILED
        self.failure = reason

    # ------------------------------------------------------------------ the actor's own tasks

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Recover, then serve until the mailbox is closed; checkpoint on the way out.

        Reports started only after WAL replay, so no request reaches a half-recovered collection.
        Any error escapes to the supervisor after every pending writer has been answered.
        """
        try:
            log.info("collection %s: recovering", self.name)
            started = trio.current_time()
            await trio.to_thread.run_sync(self._recover, limiter=self._io_limiter)
            assert self._store is not None
            log.info(
                "collection %s: ready in %.2f s (%d points, %d WAL records replayed)",
                self.name,
                trio.current_time() - started,
                self._store.live_count(),
                self._replayed,
            )
            self.state = ActorState.READY
            self.settled.set()
            self._last_checkpoint_at = trio.current_time()
            task_status.started()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._index_builder)
                nursery.start_soon(self._index_persister)
                nursery.start_soon(self._payload_index_builder)
                await self._commit_loop()
                nursery.cancel_scope.cancel()
            await self._checkpoint(persist_index_now=True)
            self.state = ActorState.CLOSED
        except BaseException as exc:
            if self.state is not ActorState.CLOSED and not _is_cancellation(exc):
                self.mark_failed(_reason(exc))
            elif self.state is not ActorState.FAILED:
                self.state = ActorState.CLOSED
            raise
        finally:
            self.settled.set()
            self._answer_everyone_left()
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(self._close_files, limiter=self._io_limiter)

    def _recover(self) -> None:
        """Open the store as of its checkpoint, replay the WAL after it, load the index (thread)."""
        durable = open_durable(self._directory, self.dimension, self._settings)
        self._store, self._wal = durable.store, durable.wal
        self._replayed = durable.replayed_records
        self._wal_bytes_at_checkpoint = self._wal.stats().wal_bytes
        self._index = SegmentedIndex.open(
            self._directory / "ann",
            self.dimension,
            self.distance,
            self._ann_settings(),
            engine=str(self.entry.engine.get("kind", "hnsw")),
            live_slots=durable.store.live_slots(),
            valid_slot_limit=durable.store.checkpointed_slots,
            vectors_of=durable.store.vectors_of_slots,
        )
        self._payload = PayloadIndexes.open(
            self._directory, durable.store.slot_count(), durable.store
        )

    def _ann_settings(self) -> AnnSettings:
        engine = self.entry.engine
        overrides: dict[str, Any] = {
            field.name: engine[field.name]
            for field in dataclasses.fields(self._settings.ann)
            if field.name in engine
        }
        return dataclasses.replace(self._settings.ann, **overrides)

    async def _commit_loop(self) -> None:
        settings = self._settings.actor
        while True:
            batch = await self._next_batch()
            if batch is None:
                return
            if not batch:  # writes paused: checkpoint what came since the last checkpoint
                assert self._store is not None
                if self._store.applied_lsn != self._store.checkpoint_lsn:
                    try:
                        await self._checkpoint()
                    except ZoroError as exc:
                        log.warning("%s: idle checkpoint failed: %s", self.name, exc.message)
                continue
            writes = [m for m in batch if isinstance(m, Write)]
            if writes:
                await self._commit_in_order(writes)
            for change in (m for m in batch if isinstance(m, IndexChange)):
                await self._change_payload_index(change)
            checkpoints = [m for m in batch if isinstance(m, Checkpoint)]
            wal_bytes = self._wal_stats_bytes()
            due = (
                wal_bytes - self._wal_bytes_at_checkpoint >= settings.checkpoint_wal_bytes
                or trio.current_time() - self._last_checkpoint_at >= settings.checkpoint_interval_s
            )
            if checkpoints or (due and writes):
                try:
                    lsn = await self._checkpoint()
                except ZoroError as exc:
                    log.warning("%s: checkpoint failed: %s", self.name, exc.message)
                    for m in checkpoints:
                        m.reply.fail(exc)
                else:
                    for m in checkpoints:
                        m.reply.ok(lsn)

    async def _next_batch(self) -> list[Message] | None:
        """The first waiting message and every other one already queued, within the limits;
        [] when none came for `idle_checkpoint_s`; None once the mailbox is closed."""
        settings = self._settings.actor
        first: Message | None = None
        try:
            with trio.move_on_after(settings.idle_checkpoint_s):
                first = await self._inbox.receive()
        except trio.EndOfChannel:
            return None
        if first is None:
            return []
        batch = [first]
        points = len(first.op) if isinstance(first, Write) else 0
        nbytes = first.nbytes if isinstance(first, Write) else 0
        while points < settings.max_batch_points and nbytes < settings.max_batch_bytes:
            try:
                message = self._inbox.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                break
            batch.append(message)
            if isinstance(message, Write):
                points += len(message.op)
                nbytes += message.nbytes
        return batch

    async def _commit_in_order(self, writes: list[Write]) -> None:
        """Commit runs of plain writes; a delete by filter alone, matched right before it is
        logged (after everything ahead of it has been applied)."""
        run: list[Write] = []
        for w in writes:
            if not isinstance(w.op, DeleteWhere):
                run.append(w)
                continue
            if run:
                await self._commit(run)
                run = []
            try:
                selection = await self.select(w.op.condition)
            except ZoroError as exc:
                self._queued_bytes -= w.nbytes
                w.reply.fail(exc)
                continue
            keys = self.store.keys_of_slots(np.flatnonzero(selection.mask))
            await self._commit([Write(DeleteBatch(keys), w.nbytes, w.reply)])
        if run:
            await self._commit(run)

    async def _change_payload_index(self, change: IndexChange) -> None:
        payload = self._payloads()
        try:
            undo = payload.change(change.key, change.schema)
        except ValueError as exc:
            change.reply.fail(BadRequest(str(exc)))
            return
        if undo is not None:
            try:
                await trio.to_thread.run_sync(payload.write_schema, limiter=self._io_limiter)
            except OSError as exc:
                undo()
                doing = f"writing the payload index schema of {self.name}"
                change.reply.fail(storage_error(exc, doing))
                return
            self._payload_wakeup.set()
            self._wake_payload_waiters()
        change.reply.ok(self.store.applied_lsn)

    def _wake_payload_waiters(self) -> None:
        self._payload_built.set()
        self._payload_built = trio.Event()

    async def _commit(self, writes: list[Write]) -> None:
        assert self._wal is not None
        self._queued_bytes -= sum(w.nbytes for w in writes)
        self._in_flight = writes  # answered by _answer_everyone_left if we are torn down midway
        ops: list[WriteOp] = [w.op for w in writes]  # type: ignore[misc]  # no DeleteWhere here
        try:
            # not abandoned on cancel: the actor and the disk must agree on what was logged
            first_lsn = await trio.to_thread.run_sync(
                self._wal.append, ops, limiter=self._io_limiter
            )
        except ZoroError as exc:
            for w in writes:
                w.reply.fail(exc)
            return
        items = [(first_lsn + i, op) for i, op in enumerate(ops)]
        try:
            self._apply(items)
        except ZoroError as exc:
            # Durable in the WAL but not applied: not acknowledged, so it may reappear after a
            # restart (a write that was not acked is either wholly there or wholly absent).
            log.error("%s: apply failed after the WAL sync: %s", self.name, exc.message)
            for w in writes:
                w.reply.fail(exc)
            return
        self._batches += 1
        self._writes += len(writes)
        for i, w in enumerate(writes):
            w.reply.ok(first_lsn + i)

    def _apply(self, items: list[tuple[int, WriteOp]]) -> None:
        """Apply durable writes to the store and the index. Synchronous: no reader sees half."""
        assert self._store is not None and self._index is not None
        result = self._store.apply_many(items)
        if len(result.removed_slots):
            self._index.remove(result.removed_slots)
        if len(result.added_slots):
            self._index.add(result.added_slots, result.added_vectors)
            self._index_wakeup.set()
            payload = self._payloads()
            if payload.any_ready():
                slots = result.added_slots
                payload.add(slots, self._store.payloads_of_slots(slots))

    async def _checkpoint(self, *, persist_index_now: bool = False) -> int:
        """Make storage durable, trim the WAL, and have the index persisted.

        The index is an accelerator that can be rebuilt from storage, so writing it (hundreds of
        MB for a big HNSW graph) need not hold up writes: the persister task does it behind the
        commit loop. Only the final checkpoint of a clean close waits for it.
        """
        assert self._store is not None and self._index is not None and self._wal is not None
        store, index, wal = self._store, self._index, self._wal
        lsn = await trio.to_thread.run_sync(store.checkpoint, limiter=self._io_limiter)
        await trio.to_thread.run_sync(wal.remove_segments_through, lsn, limiter=self._io_limiter)
        if persist_index_now:
            await trio.to_thread.run_sync(
                index.checkpoint_manifest, store.checkpointed_slots, limiter=self._io_limiter
            )
            await trio.to_thread.run_sync(self._payload_snapshot(), limiter=self._io_limiter)
        else:
            self._persist_wanted.set()
        self._checkpoints += 1
        self._wal_bytes_at_checkpoint = self._wal_stats_bytes()
        self._last_checkpoint_at = trio.current_time()
        return lsn

    async def _index_persister(self) -> None:
        """Write the index's new segments and manifest after each checkpoint, one at a time."""
        assert self._index is not None and self._store is not None
        while True:
            await self._persist_wanted.wait()
            self._persist_wanted = trio.Event()
            plan = self._index.plan_checkpoint(self._store.checkpointed_slots)
            write_payload_indexes = self._payload_snapshot()
            try:
                await trio.to_thread.run_sync(plan.run, limiter=self._io_limiter)
                await trio.to_thread.run_sync(write_payload_indexes, limiter=self._io_limiter)
            except (ZoroError, OSError) as exc:
                log.warning("collection %s: persisting the index failed: %s", self.name, exc)

    def _payload_snapshot(self) -> Callable[[], None]:
        """Copy the payload indexes as of the last checkpoint (event loop); the returned
        function writes them (a worker thread). Nothing to write if nothing changed."""
        payload, store = self._payloads(), self.store
        if payload.version == self._payload_persisted:
            return lambda: None
        version = payload.version
        files = payload.snapshot(store.live_mask()[: store.checkpointed_slots])

        def write() -> None:
            payload.write_snapshot(files)
            self._payload_persisted = version

        return write

    async def _payload_index_builder(self) -> None:
        """Build declared payload indexes from the payload file, one at a time, in a thread;
        catch each up with the slots written meanwhile and swap it in (event loop)."""
        payload = self._payloads()
        while True:
            pending = payload.pending()
            if not pending:
                await self._payload_wakeup.wait()
                self._payload_wakeup = trio.Event()
                continue
            key, schema = pending[0]
            store = self.store
            limit = store.slot_count()
            stop = threading.Event()
            started = trio.current_time()
            try:
                index = await self._run_stoppable(
                    functools.partial(build_index, schema, key, limit, store, stop.is_set),
                    stop.set,
                    self._ann_limiter,
                )
                index_slots(index, np.arange(limit, store.slot_count(), dtype=np.int64), store)
            except (ZoroError, OSError, BuildStopped) as exc:
                log.warning("collection %s: payload index %s failed: %s", self.name, key, exc)
                await trio.sleep(BUILD_RETRY_S)
                continue
            if payload.install(key, schema, index):
                log.info(
                    "collection %s: payload index on %s (%s) built over %d slots in %.2f s",
                    self.name,
                    key,
                    schema,
                    limit,
                    trio.current_time() - started,
                )
            self._wake_payload_waiters()

    async def _index_builder(self) -> None:
        """Build fresh points into HNSW segments in a thread, and swap each result in.

        A failed build (say, a full disk) is logged and dropped; its inputs stay searchable
        exactly, and the next attempt comes after a pause.
        """
        assert self._index is not None
        index = self._index
        while True:
            job = index.take_seal_job()
            if job is None:
                await self._wait_for_index_work(index)
                continue
            try:
                result = await self._build(job)
            except (ZoroError, OSError, SealCancelled) as exc:
                index.abandon(job)
                log.warning("collection %s: index build failed, retrying later: %s", self.name, exc)
                await trio.sleep(BUILD_RETRY_S)
                continue
            index.install(result)
            self._persist_wanted.set()  # write the new graph for the checkpointed points now

    async def _wait_for_index_work(self, index: SegmentedIndex) -> None:
        """Until new points arrive. If writes pause for a moment while the fresh segment holds
        enough points to matter, freeze it so that the indexer takes them in."""
        with trio.move_on_after(IDLE_SEAL_S):
            await self._index_wakeup.wait()
            self._index_wakeup = trio.Event()
            return
        if not index.freeze_fresh(IDLE_SEAL_MIN_POINTS):
            await self._index_wakeup.wait()
            self._index_wakeup = trio.Event()

    async def _build(self, job: SealJob) -> SealResult:
        return await self._run_stoppable(job.run, job.cancel, self._ann_limiter)

    @staticmethod
    async def _run_stoppable(
        run: Callable[[], T], stop: Callable[[], None], limiter: trio.CapacityLimiter
    ) -> T:
        """Run a long job in a worker thread. On cancellation, ask it to stop and wait for it:
        a FAISS thread must not outlive the actor (an abandoned one aborts the process at exit),
        and the store's files must not close under it. Jobs check their stop flag often."""
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

    def _answer_everyone_left(self) -> None:
        error: ZoroError = (
            CollectionFailed(self.name, self.failure or "unknown")
            if self.state is ActorState.FAILED
            else CollectionClosed(self.name)
        )
        self._outbox.close()
        for write in self._in_flight:
            write.reply.fail(error)  # no-op for those already answered
        while True:
            try:
                message = self._inbox.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                break
            message.reply.fail(error)

    def _close_files(self) -> None:
        if self._wal is not None:
            self._wal.close()
        if self._store is not None:
            self._store.close()

    def _wal_stats_bytes(self) -> int:
        assert self._wal is not None
        return self._wal.stats().wal_bytes

    # ------------------------------------------------------------------ reads (event loop, inline)

    @property
    def store(self) -> CollectionStore:
        self.check_serving()
        assert self._store is not None
        return self._store

    def get(self, keys: Keys, *, with_vector: bool, with_payload: bool) -> list[PointRecord | None]:
        return self.store.get(keys, with_vector=with_vector, with_payload=with_payload)

    def slots_of(self, keys: Keys) -> npt.NDArray[np.int64]:
        return self.store.slots_of(keys)

    def scroll(self, start: bytes | None, limit: int) -> tuple[Keys, bytes | None]:
        return self.store.scroll(start, limit)

    def count(self) -> int:
        return self.store.live_count()

    def _payloads(self) -> PayloadIndexes:
        assert self._payload is not None
        return self._payload

    async def select(self, condition: Condition) -> Selection:
        """The live points that satisfy `condition`, as of the moment this returns.

        Indexed parts are answered on the event loop; payloads left to check go to a worker
        thread when there are many. Writes applied while the thread ran are accounted for
        afterwards (new slots are checked inline, dead ones dropped)."""
        store, payload = self.store, self._payloads()
        state = (store.applied_lsn, store.slot_count(), payload.version)
        cached = self._selections.get(condition)
        if cached is not None and cached[0] == state:
            self._selections.move_to_end(condition)
            return cached[1]
        payload.note_filter(condition)
        live = store.live_mask()
        prepared = prepare(condition, live, payload, store)
        mask = prepared.candidates
        if prepared.residual is not None:
            if np.count_nonzero(mask) <= INLINE_SCAN_SLOTS:
                mask = apply_scan(prepared, store)
            else:
                mask = await trio.to_thread.run_sync(
                    apply_scan, prepared, store, limiter=self._search_limiter
                )
                self.check_serving()
                live = store.live_mask()
                if len(live) > len(mask):  # slots written while the thread ran: check them here
                    newer = live.copy()
                    newer[: len(mask)] = False
                    extra = apply_scan(prepare(condition, newer, payload, store), store)
                    extra[: len(mask)] = mask
                    mask = extra
                mask &= live  # and drop the points deleted meanwhile
        selection = Selection(mask, int(np.count_nonzero(mask)))
        if state == (store.applied_lsn, store.slot_count(), payload.version):
            self._selections[condition] = (state, selection)
            if len(self._selections) > SELECTION_CACHE_SIZE:
                self._selections.popitem(last=False)
        return selection

    def search(
        self,
        queries: Vectors,
        k: int,
        *,
        ef: int | None = None,
        exact: bool = False,
        only: Selection | None = None,
    ) -> Hits:
        """Search inline on the event loop (for one or a few queries); `only`: a filter's
        selection (see `select`)."""
        self.check_serving()
        assert self._index is not None
        if only is None:
            scores, slots = self._index.search(queries, k, ef=ef, exact=exact)
            return _hits(scores, slots)
        store = self.store
        if only.count == 0:
            scores, slots = empty_result(len(queries), k, self.distance)
        elif exact or self._searches_exactly(only):
            rows = store.vector_rows()
            scores, slots = search_subset(queries, k, rows, only.slots(), self.distance)
        else:
            live = max(1, store.live_count())
            # The walk returns only kept points, so it already goes on until it has found a
            # beam's worth of them; widening the beam by 1/share as for deletions overshoots
            # (recall@10 1.000 at 2-8x the cost). 1/sqrt(share) keeps recall >= 0.98 down to 10%
            # kept (bench/README.md, filtering).
            scores, slots = self._index.search(
                queries,
                k,
                ef=ef,
                excluded=only.excluded(store.slot_count()),
                share=math.sqrt(min(1.0, only.count / live)),
            )
        return _hits(scores, slots)

    def _searches_exactly(self, only: Selection) -> bool:
        live = self.store.live_count()
        return only.count <= max(EXACT_FILTER_POINTS, EXACT_FILTER_SHARE * live)

    async def search_filtered(
        self,
        queries: Vectors,
        k: int,
        only: Selection,
        *,
        ef: int | None = None,
        exact: bool = False,
    ) -> Hits:
        """`search` with a filter's selection; a big exact search goes to a worker thread.

        The thread reads only the kept slots' rows of the vector file (written once, never
        changed) and the selection's own arrays. Points deleted meanwhile are dropped after."""
        if only.count <= THREAD_EXACT_POINTS or not (exact or self._searches_exactly(only)):
            return self.search(queries, k, ef=ef, exact=exact, only=only)
        rows, chosen = self.store.vector_rows(), only.slots()
        scores, slots = await trio.to_thread.run_sync(
            search_subset, queries, k, rows, chosen, self.distance, limiter=self._search_limiter
        )
        live = self.store.live_mask()
        found = slots >= 0
        gone = np.zeros(slots.shape, dtype=np.bool_)
        gone[found] = ~live[slots[found]]
        if gone.any():  # deleted while the thread ran: drop them (the row comes back short)
            slots = np.where(gone, -1, slots)
        return _hits(scores, slots)

    def payload_info(self) -> list[FieldInfo]:
        return self._payloads().info(self.store.live_mask())

    def unindexed_filter_keys(self) -> list[str]:
        return sorted(self._payloads().unindexed_keys)

    async def search_in_thread(
        self, queries: Vectors, k: int, *, ef: int | None = None, exact: bool = False
    ) -> Hits:
        """Search a big batch in a worker thread over an immutable view of the index.

        Points deleted while the thread ran are dropped from its answer afterwards.
        """
        self.check_serving()
        assert self._index is not None
        view = self._index.thread_view()
        scores, slots = await trio.to_thread.run_sync(
            lambda: view.search(queries, k, ef=ef, exact=exact), limiter=self._search_limiter
        )
        # A hit is still good if its point's current slot is the slot found (one vectorised
        # lookup for the whole batch); otherwise it was deleted or replaced meanwhile.
        found = slots >= 0
        store = self.store
        current = np.full(slots.shape, -1, dtype=np.int64)
        current[found] = store.slots_of(store.keys_of_slots(slots[found]))
        stale = found & (current != slots)
        if stale.any():
            slots = np.where(stale, -1, slots)
        return _hits(scores, slots)

    def keys_of_slots(self, slots: npt.NDArray[np.int64]) -> Keys:
        return self.store.keys_of_slots(slots)

    def payloads_of_slots(self, slots: npt.NDArray[np.int64]) -> list[bytes]:
        return self.store.payloads_of_slots(slots)

    def vectors_of_slots(self, slots: npt.NDArray[np.int64]) -> Vectors:
        return self.store.vectors_of_slots(slots)

    def statistics(self) -> ActorStatistics:
        wal = self._wal.stats() if self._wal is not None else None
        store = self._store
        return ActorStatistics(
            state=self.state,
            mailbox_depth=self._outbox.statistics().current_buffer_used,
            queued_bytes=self._queued_bytes,
            batches=self._batches,
            writes=self._writes,
            wal_syncs=wal.syncs if wal else 0,
            wal_records=wal.records if wal else 0,
            wal_bytes=wal.wal_bytes if wal else 0,
            last_lsn=store.applied_lsn if store else 0,
            checkpoint_lsn=store.checkpoint_lsn if store else 0,
            checkpoints=self._checkpoints,
            replayed_records=self._replayed,
            live_points=store.live_count() if store else 0,
            indexed=dataclasses.asdict(self._index.stats()) if self._index else {},
        )


def _hits(scores: npt.NDArray[np.float32], slots: npt.NDArray[np.int64]) -> Hits:
    if not slots.size or int(slots.min()) >= 0:  # the usual case: every row is full
        return Hits(list(scores), list(slots))
    rows_scores, rows_slots = [], []
    for score_row, slot_row in zip(scores, slots, strict=True):
        found = slot_row >= 0
        rows_scores.append(score_row[found])
        rows_slots.append(slot_row[found])
    return Hits(rows_scores, rows_slots)


def _is_cancellation(exc: BaseException) -> bool:
    if isinstance(exc, BaseExceptionGroup):
        return all(_is_cancellation(e) for e in exc.exceptions)
    return isinstance(exc, trio.Cancelled)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        return _reason(exc.exceptions[0])
    if isinstance(exc, ZoroError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"
