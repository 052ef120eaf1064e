"""CollectionActor: one Trio task tree per collection, the only writer of its WAL, store and index.

This module holds the actor's lifecycle (recover, serve, close or fail, answer everyone left)
and its sending side (the mailbox); the other jobs have a module each:

    zoro.actors.commit     the commit loop: group commit, apply in LSN order, checkpoints
    zoro.actors.following  a follower's catch-up loop, in place of the commit loop (below)
    zoro.actors.builders   background builders: HNSW sealing, payload indexes, index persister
    zoro.actors.compactor  compaction: the copy in the background, the switch in the commit loop
    zoro.actors.numbering  the leases reads hold on slot numbers, which a switch waits for
    zoro.actors.reads      selections and searches, inline or in worker threads
    zoro.actors.planner    query planning, plain code without trio

How the actor keeps its promises
--------------------------------
* Writes arrive through a bounded mailbox (a trio memory channel, bounded in bytes too): a full
  one answers Overloaded at once. The commit loop takes the first write and every other one
  already waiting (up to a point and byte limit), logs them with ONE WAL write and ONE fdatasync
  in its sync thread, and only then applies them to the store and the index, in LSN order, and
  replies. Writes that arrive during the fsync wait for the next batch: that is group commit.
* Apply runs on the event loop without an await, so no reader ever sees half a batch, and it is
  the only place that mutates the store or the index's live structures. Checkpoints run in the
  commit loop too, between batches, so they never overlap an apply.
* Reads do not go through the mailbox: a read mutates nothing, so a search never queues behind
  writes or an fsync. get, scroll and count are plain synchronous calls on the event loop. A
  search is priced before it runs (zoro.actors.planner: points scanned x dimension x queries
  for exact scans, beam x dimension for HNSW walks): a cheap one runs inline (an HNSW query
  costs ~20-300 us against ~100-180 us for a thread round trip), an expensive one in a worker
  thread, so no single search holds the event loop for long. Threads are bounded: the shared
  search limiter; each collection's own share of it (one thread by default, so one busy
  collection leaves a core to the event loop), run at a lower CPU priority so that the loop
  and the fsync thread come first (zoro.actors.threads); and a cap per collection on searches
  waiting or running, past which they are refused (429), so one collection's flood cannot
  queue for long in front of the others' threaded searches. Cheap inline searches never queue
  at all. The fsync thread touches only the WAL file.
* FAISS is never searched while it is being mutated: the structures the event loop mutates (the
  fresh flat segment, the deleted bitmap) are only searched inline on the same thread; worker
  threads see only immutable sealed segments and copies (`SegmentedIndex.thread_view`, a filter's
  exclusion bitmap copied), or vector-file rows that are written once; hits deleted or replaced
  while a thread ran are dropped when it returns. HNSW builds run in a thread on frozen inputs
  and are swapped in on the event loop.
* Every thread the actor starts is waited for, also when the request that started it is
  cancelled (trio's default), and the actor's files close only after its builders have stopped.

A follower's actor (docs/workers.md: `follow` given) holds a read-only replica instead: no
mailbox consumer, no WAL writer, no compactor, no persister. Its catch-up loop applies the
owner's records as the commit loop would; when the owner compacts, or the WAL it needs is gone,
it opens a new replica beside the one serving and swaps them while no read holds a lease.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import trio

from zoro.actors.builders import Builders
from zoro.actors.commit import Committer
from zoro.actors.compactor import CompactionPolicy, CompactionReport, Compactor
from zoro.actors.following import Following
from zoro.actors.mailbox import Mailbox
from zoro.actors.messages import (
    Checkpoint,
    DeleteWhere,
    IndexChange,
    LinkSnapshot,
    Message,
    SwitchFiles,
    Write,
    op_nbytes,
)
from zoro.actors.numbering import NotLeased, NumberingGate
from zoro.actors.reads import Reader
from zoro.actors.recovery import (
    Followed,
    Opened,
    RecoveryProgress,
    build_payload_indexes,
    open_collection,
    open_follower,
)
from zoro.actors.reply import Reply
from zoro.errors import (
    CollectionClosed,
    CollectionFailed,
    CollectionRecovering,
    CorruptionError,
    FollowerBehind,
    Overloaded,
    ReplayNeeded,
    Unavailable,
    ZoroError,
)
from zoro.payload import facets
from zoro.payload.indexes import schema_path

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np
    import numpy.typing as npt

    from zoro.actors.board import LsnBoard
    from zoro.actors.following import FollowSource
    from zoro.actors.planner import Hits, Selection
    from zoro.actors.point_changes import PointChanges
    from zoro.actors.recovery import Indexed
    from zoro.actors.vector_changes import VectorEdit
    from zoro.payload import Condition, FieldIndex, FieldInfo, TextParams
    from zoro.settings import Settings
    from zoro.sparse import SparseBatch
    from zoro.storage import CollectionEntry, CollectionStore, PointRecord
    from zoro.storage.compaction import Compaction
    from zoro.storage.records import ApplyResult
    from zoro.types import Keys, Vectors, WriteOp

log = logging.getLogger(__name__)

# A facet counting more (value, point) pairs than this runs in a worker thread.
_FACET_INLINE_ENTRIES = 100_000


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
    recovery_records_to_replay: int  # while it recovers: the WAL after the checkpoint
    recovery_records_replayed: int
    live_points: int
    indexed: dict[str, Any]
    slots: int  # in the source files: live, garbage and (once compacted) the void slot
    garbage_slots: int
    file_generation: int
    compacting: int  # 1 while a compaction runs
    compactions: int
    compaction_bytes: int
    compaction_last_seconds: float


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
        follow: FollowSource | None = None,
        board: LsnBoard | None = None,
    ) -> None:
        """`follow`: this is a follower's actor (docs/workers.md); `board`: an owner's, where
        it publishes its applied LSN and file generation for its followers."""
        self.entry = entry
        self.name = entry.name
        self.vectors = entry.vectors
        self._directory = directory
        self._settings = settings
        self._io_limiter = io_limiter
        self._ann_limiter = ann_limiter  # index builds
        self._search_limiter = search_limiter  # searches and scans: never queued behind a build
        self._mailbox = Mailbox(settings.actor.mailbox_size)
        self.state = ActorState.RECOVERING
        self.failure: str | None = None
        self.settled = trio.Event()  # set once recovery has ended, well or badly
        # A follower's: where the owner publishes its LSN, and the catch-up loop.
        self._source = follow
        self._board = board
        self.following = (
            Following(entry.name, follow, io_limiter, schema=schema_path(directory))
            if follow
            else None
        )
        self._stop = trio.Event()  # a follower has no mailbox to close: close() sets this
        # Set by run() once recovered: the collection's state and the parts working on it.
        self._opened: Indexed | None = None
        self._recovery = RecoveryProgress()  # the last opening's, for /metrics
        self._reader: Reader | None = None
        self._builders: Builders | None = None
        self._committer: Committer | None = None
        self._compactor: Compactor | None = None
        self.gate = NumberingGate()  # leased by reads, closed by a compaction's switch

    # ------------------------------------------------------------------ sending side

    async def write(self, op: WriteOp | DeleteWhere | VectorEdit | PointChanges) -> int:
        """Log, apply and acknowledge one write; returns its LSN.

        Raises Overloaded at once when the mailbox is full (by count or bytes), CollectionClosed /
        CollectionFailed / CollectionRecovering when the actor cannot take writes, and the storage
        error (StorageFull, StorageError) when the batch could not be made durable.
        Cancellation: a write already queued is still logged; the caller just does not hear back.
        """
        self.check_serving()
        self._check_owner()
        nbytes = op_nbytes(op)
        mailbox = self._mailbox
        if mailbox.queued_bytes + nbytes > self._settings.actor.max_batch_bytes * 4:
            raise Overloaded(f"Collection `{self.name}` has too much data queued; retry shortly")
        reply: Reply[int] = Reply()
        try:
            mailbox.outbox.send_nowait(Write(op, nbytes, reply))
        except trio.WouldBlock:
            raise Overloaded(f"Collection `{self.name}` is overloaded; retry shortly") from None
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise CollectionClosed(self.name) from None
        mailbox.queued_bytes += nbytes
        return await reply.wait()

    async def checkpoint(self) -> int:
        """Ask the actor to checkpoint after the writes queued before this call."""
        reply: Reply[int] = Reply()
        await self._send(Checkpoint(reply))
        return await reply.wait()

    async def link_snapshot(self, staging: Path) -> tuple[dict[str, int], int]:
        """A snapshot's first step, in order with the writes queued before this call: a
        checkpoint and hard links to its files in `staging` (zoro.storage.snapshots); returns
        the linked paths and the checkpoint's LSN."""
        reply: Reply[tuple[dict[str, int], int]] = Reply()
        await self._send(LinkSnapshot(staging, reply))
        return await reply.wait()

    async def compact(self) -> CompactionReport:
        """Compact now (after the compaction under way, if any) and return what it did."""
        self.check_serving()
        self._check_owner()
        assert self._compactor is not None
        return await self._compactor.compact()

    @property
    def compacting(self) -> bool:
        return self._compactor is not None and self._compactor.running

    async def _switch_files(self, compaction: Compaction) -> int:
        reply: Reply[int] = Reply()
        await self._send(SwitchFiles(compaction, reply))
        return await reply.wait()

    async def change_payload_index(
        self, key: str, schema: str | None, params: TextParams | None = None
    ) -> int:
        """Create (schema given; `params` for a text index) or drop (None) a payload index, in
        order with the writes before it; returns once the change is durable. The index is then
        built in the background."""
        reply: Reply[int] = Reply()
        await self._send(IndexChange(key, schema, reply, params))
        return await reply.wait()

    async def payload_index_built(self, key: str) -> None:
        """Wait until the index on `key` is ready (or gone)."""
        while True:
            self.check_serving()
            assert self._opened is not None and self._builders is not None
            payload = self._opened.payload
            if payload.schema_of(key) is None or payload.ready_index(key) is not None:
                return
            await self._builders.wait_payload_built()

    async def _send(self, message: Message) -> None:
        self.check_serving()
        self._check_owner()
        try:
            await self._mailbox.outbox.send(message)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise CollectionClosed(self.name) from None

    def close(self) -> None:
        """Stop taking writes; the actor drains what is queued, checkpoints and returns (a
        follower's stops following and returns)."""
        self._mailbox.close()
        self._stop.set()

    def _check_owner(self) -> None:
        if self.following is not None:
            raise Unavailable(
                f"this process follows collection `{self.name}`: writes go to its owner"
            )

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

    # ------------------------------------------------------------------ lifecycle

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Recover, then serve until the mailbox is closed; checkpoint on the way out.

        Reports started only after WAL replay, so no request reaches a half-recovered collection.
        Any error escapes to the supervisor after every pending writer has been answered and
        the files are closed. ReplayNeeded (bare, not in an exception group) means: the WAL
        holds writes this memory could not apply; reopen the collection to replay them.
        """
        try:
            if self._source is not None:
                await self._follow(self._source, task_status)
                self.state = ActorState.CLOSED
                return
            log.info("collection %s: recovering", self.name)
            started = trio.current_time()
            self._recovery = RecoveryProgress()
            opened = await trio.to_thread.run_sync(
                open_collection,
                self.entry,
                self._directory,
                self._settings,
                self._recovery,
                limiter=self._io_limiter,
            )
            self._opened = opened
            log.info(
                "collection %s: ready in %.2f s (%d points, %d WAL records replayed)",
                self.name,
                trio.current_time() - started,
                opened.store.live_count(),
                opened.replayed_records,
            )
            committer = self._start_parts(opened)
            self._published()
            self.state = ActorState.READY
            self.settled.set()
            task_status.started()
            assert self._builders is not None
            replay: ReplayNeeded | None = None
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._builders.run)
                assert self._compactor is not None
                nursery.start_soon(self._compactor.run)
                try:
                    await committer.run()
                except ReplayNeeded as exc:
                    replay = exc  # raised alone below, not inside the nursery's group
                nursery.cancel_scope.cancel()
            if replay is not None:
                raise replay
            await committer.checkpoint(persist_index_now=True)
            self.state = ActorState.CLOSED
        except BaseException as exc:
            if self.state is ActorState.FAILED:
                pass  # it already says why
            elif self.state is not ActorState.CLOSED and not _is_cancellation(exc):
                self.mark_failed(_reason(exc))
            else:
                self.state = ActorState.CLOSED
            raise
        finally:
            self.settled.set()
            self._answer_everyone_left()
            if self._reader is not None:
                self._reader.close()
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(self._close_files, limiter=self._io_limiter)

    async def _follow(self, source: FollowSource, task_status: trio.TaskStatus[None]) -> None:
        """A follower's life: open a replica, follow the owner until closed, and whenever the
        replica cannot go on, open the next one beside it and swap them."""
        following = self.following
        assert following is not None
        replica = await self._open_replica(source)
        self._start_reads(replica)
        self.state = ActorState.READY
        self.settled.set()
        task_status.started()
        while True:
            assert self._builders is not None
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._builders.run)
                nursery.start_soon(_cancel_when_set, self._stop, nursery.cancel_scope)
                try:
                    await following.run(replica, self._applied_on_replica)
                except FollowerBehind as exc:
                    log.info("collection %s: opening a new replica: %s", self.name, exc.message)
                except CorruptionError as exc:  # it may hold part of a batch: stop serving it
                    log.warning("collection %s: replica diverged: %s", self.name, exc.message)
                    self.state = ActorState.RECOVERING
                nursery.cancel_scope.cancel()
            if self._stop.is_set():
                return
            old, replica = replica, await self._open_replica(source)
            async with self.gate.closed():  # no read holds a slot of the old numbering
                assert self._reader is not None
                self._reader.close()
                self._start_reads(replica)
                self.state = ActorState.READY
            await trio.to_thread.run_sync(old.close, limiter=self._io_limiter)

    async def _open_replica(self, source: FollowSource) -> Followed:
        started = trio.current_time()
        assert self.following is not None
        self.following.opening()
        replica = await trio.to_thread.run_sync(
            _open_follower_built,
            self.entry,
            self._directory,
            self._settings,
            source.applied_lsn(),
            limiter=self._io_limiter,
        )
        assert self.following is not None
        log.info(
            "collection %s: following from LSN %d (opened in %.2f s)",
            self.name,
            replica.store.applied_lsn,
            trio.current_time() - started,
        )
        return replica

    def _applied_on_replica(self, result: ApplyResult) -> None:
        if len(result.added_slots):
            assert self._builders is not None
            self._builders.points_added()

    def _start_reads(self, indexed: Indexed) -> None:
        """The parts every actor has over its store: the reader and the builders."""
        self._opened = indexed
        self._reader = Reader(
            indexed.store,
            indexed.indexes,
            indexed.sparse,
            indexed.multi,
            indexed.payload,
            self.vectors,
            name=self.name,
            settings=self._settings.actor,
            search_limiter=self._search_limiter,
            guard=self.check_serving,
        )
        self._builders = Builders(
            self.name,
            indexed.store,
            indexed.indexes,
            indexed.sparse,
            indexed.multi,
            indexed.payload,
            directory=self._directory,
            ann_limiter=self._ann_limiter,
            io_limiter=self._io_limiter,
            persist=self.following is None,
        )
        if self.following is not None:
            assert isinstance(indexed, Followed)
            self.following.started(indexed)

    def _start_parts(self, opened: Opened) -> Committer:
        self._start_reads(opened)
        assert self._reader is not None and self._builders is not None
        self._compactor = Compactor(
            self.name,
            opened.store,
            self._compaction_policy(),
            switch=self._switch_files,
            quiet=self._builders.quiet,
            io_limiter=self._io_limiter,
        )
        self._committer = Committer(
            self.name,
            self._settings.actor,
            self._mailbox,
            opened,
            reader=self._reader,
            builders=self._builders,
            io_limiter=self._io_limiter,
            fail=self.mark_failed,
            vectors=self.vectors,
            gate=self.gate,
            applied=self._published,
        )
        return self._committer

    def _published(self) -> None:
        """After each applied batch and each switch (the commit loop): tell the followers,
        then see whether a compaction is due."""
        assert self._opened is not None
        store = self._opened.store
        if self._board is not None:
            self._board.publish_generation(store.file_generation)  # first: see zoro.actors.board
            self._board.publish_lsn(store.applied_lsn)
        assert self._compactor is not None
        self._compactor.consider()

    def _compaction_policy(self) -> CompactionPolicy:
        """The server's compaction settings, with the collection's own (PATCH optimizers_config)
        over them."""
        storage, engine = self._settings.storage, self.entry.engine
        ratio = engine.get("compaction_garbage_ratio", storage.compaction_garbage_ratio)
        least = engine.get("compaction_min_slots", storage.compaction_min_slots)
        assert isinstance(ratio, int | float) and isinstance(least, int)  # as written by PATCH
        return CompactionPolicy(
            garbage_ratio=float(ratio),
            min_slots=least,
            bytes_per_s=storage.compaction_bytes_per_s,
            tail_max=storage.compaction_tail_max,
        )

    def _answer_everyone_left(self) -> None:
        error: ZoroError = (
            CollectionFailed(self.name, self.failure or "unknown")
            if self.state is ActorState.FAILED
            else CollectionClosed(self.name)
        )
        self._mailbox.close()
        if self._committer is not None:
            for message in self._committer.taken:
                message.reply.fail(error)  # no-op for those already answered
        for message in self._mailbox.drain():
            message.reply.fail(error)

    def _close_files(self) -> None:
        if self._opened is not None:
            self._opened.close()

    # ------------------------------------------------------------------ reads (event loop, inline)

    def _reads(self) -> Reader:
        self.check_serving()
        assert self._reader is not None
        return self._reader

    def _leased_reads(self) -> Reader:
        """The reader, for a read that keeps slot numbers across awaits: only under a lease
        (zoro.actors.numbering), so that no compaction renumbers the slots meanwhile."""
        reader = self._reads()
        if not self.gate.held_here():
            raise NotLeased(f"an awaiting read of {self.name} ran without a numbering lease")
        return reader

    @property
    def store(self) -> CollectionStore:
        return self._reads().store

    def get(self, keys: Keys, *, with_vector: bool, with_payload: bool) -> list[PointRecord | None]:
        return self.store.get(keys, with_vector=with_vector, with_payload=with_payload)

    def slots_of(self, keys: Keys) -> npt.NDArray[np.int64]:
        return self.store.slots_of(keys)

    def scroll(self, start: bytes | None, limit: int) -> tuple[Keys, bytes | None]:
        return self.store.scroll(start, limit)

    def count(self) -> int:
        return self.store.live_count()

    async def select(self, condition: Condition) -> Selection:
        """The live points that satisfy `condition` (see Reader.select)."""
        return await self._leased_reads().select(condition)

    async def search(
        self,
        queries: Vectors,
        k: int,
        *,
        using: int = 0,
        ef: int | None = None,
        exact: bool = False,
        only: Selection | None = None,
    ) -> Hits:
        """Best k hits per query by dense vector number `using`, inline or in a worker thread
        as the planner prices it (see Reader.search); `only`: a filter's selection (see
        `select`)."""
        return await self._leased_reads().search(
            queries, k, using=using, ef=ef, exact=exact, only=only
        )

    async def search_sparse(
        self, using: int, query: SparseBatch, k: int, *, idf: bool, only: Selection | None = None
    ) -> Hits:
        """Best k hits by sparse vector number `using`, inline or in a worker thread as the
        planner prices it (see Reader.search_sparse)."""
        return await self._leased_reads().search_sparse(using, query, k, idf=idf, only=only)

    def payload_info(self) -> list[FieldInfo]:
        store = self.store
        assert self._opened is not None
        return self._opened.payload.info(store.live_mask())

    def payload_index(self, key: str) -> FieldIndex | None:
        """The payload index on `key` if it is built (None: none, or still building)."""
        self.check_serving()
        assert self._opened is not None
        return self._opened.payload.ready_index(key)

    def payload_schema(self, key: str) -> str | None:
        """The schema of the payload index declared on `key` (built or not), or None."""
        self.check_serving()
        assert self._opened is not None
        return self._opened.payload.schema_of(key)

    async def facet(
        self, key: str, condition: Condition | None, limit: int
    ) -> list[tuple[Any, int]] | None:
        """The `limit` most common values of payload key `key` among the live points (those
        that satisfy `condition`, if given), with their counts; None when `key` has no index
        that lists its values (keyword, uuid, integer, bool), or whose index is still
        building: the caller waits for that (`payload_index_built`) before its lease, since a
        compaction's switch pauses the build until the leases end. The (value, point) pairs
        are taken on the event loop; a large count runs in a worker thread over that copy."""
        self._leased_reads()
        index = self.payload_index(key)
        entries = None if index is None else index.facet_entries()
        if entries is None:
            return None
        if condition is None:
            counted = self.store.live_mask().copy()  # a view until the next apply
        else:
            counted = (await self.select(condition)).mask
        if len(entries.slots) <= _FACET_INLINE_ENTRIES:
            return facets.facet(entries, counted, limit)
        return await trio.to_thread.run_sync(facets.facet, entries, counted, limit)

    def unindexed_filter_keys(self) -> list[str]:
        self.check_serving()
        assert self._opened is not None
        return sorted(self._opened.payload.unindexed_keys)

    def keys_of_slots(self, slots: npt.NDArray[np.int64]) -> Keys:
        return self.store.keys_of_slots(slots)

    def payloads_of_slots(self, slots: npt.NDArray[np.int64]) -> list[bytes]:
        return self.store.payloads_of_slots(slots)

    def search_multi(
        self,
        using: int,
        query: Vectors,
        k: int,
        *,
        exact: bool = False,
        only: Selection | None = None,
    ) -> Hits:
        """Best k hits by multivector number `using` (see Reader.search_multi)."""
        return self._reads().search_multi(using, query, k, exact=exact, only=only)

    def rescore_multi(self, using: int, query: Vectors, slots: npt.NDArray[np.int64]) -> Hits:
        return self._reads().rescore_multi(using, query, slots)

    def multi_of_slots(self, slots: npt.NDArray[np.int64], number: int) -> list[Vectors | None]:
        return self.store.multi_of_slots(slots, number)

    def vectors_of_slots(self, slots: npt.NDArray[np.int64], number: int = 0) -> Vectors:
        return self.store.vectors_of_slots(slots, number)

    def present_mask(self, number: int) -> npt.NDArray[np.bool_]:
        return self.store.present_mask(number)

    def sparse_of_slots(
        self, slots: npt.NDArray[np.int64], number: int
    ) -> list[SparseBatch | None]:
        return self.store.sparse_of_slots(slots, number)

    def statistics(self) -> ActorStatistics:
        opened, committer, compactor = self._opened, self._committer, self._compactor
        garbage, slots = compactor.garbage() if compactor is not None else (0, 0)
        last = compactor.last_report if compactor is not None else None
        wal = opened.wal.stats() if isinstance(opened, Opened) else None
        store = opened.store if opened is not None else None
        return ActorStatistics(
            state=self.state,
            mailbox_depth=self._mailbox.depth(),
            queued_bytes=self._mailbox.queued_bytes,
            batches=committer.batches if committer else 0,
            writes=committer.writes if committer else 0,
            wal_syncs=wal.syncs if wal else 0,
            wal_records=wal.records if wal else 0,
            wal_bytes=wal.wal_bytes if wal else 0,
            last_lsn=store.applied_lsn if store else 0,
            checkpoint_lsn=store.checkpoint_lsn if store else 0,
            checkpoints=committer.checkpoints if committer else 0,
            replayed_records=opened.replayed_records if isinstance(opened, Opened) else 0,
            recovery_records_to_replay=self._recovery.records_to_replay,
            recovery_records_replayed=self._recovery.records_replayed,
            live_points=store.live_count() if store else 0,
            indexed=_index_stats(opened),
            slots=slots,
            garbage_slots=garbage,
            file_generation=store.file_generation if store else 0,
            compacting=int(self.compacting),
            compactions=compactor.runs if compactor else 0,
            compaction_bytes=compactor.bytes_copied if compactor else 0,
            compaction_last_seconds=last.seconds if last else 0.0,
        )


def _index_stats(opened: Indexed | None) -> dict[str, Any]:
    """The ANN index's statistics: dense vector 0's at the top level (as before several
    vectors), every dense vector's under "vectors" by number, summed where they add up."""
    if opened is None or not opened.indexes:
        return {}
    each = {n: dataclasses.asdict(index.stats()) for n, index in opened.indexes.items()}
    top = dict(each.get(0, next(iter(each.values()))))
    if len(each) > 1:
        top["vectors"] = {str(n): stats for n, stats in each.items()}
    return top


async def _cancel_when_set(event: trio.Event, scope: trio.CancelScope) -> None:
    await event.wait()
    scope.cancel()


def _open_follower_built(
    entry: CollectionEntry, directory: Path, settings: Settings, through_lsn: int
) -> Followed:
    """A follower's replica with its payload indexes built (recovery.build_payload_indexes)."""
    replica = open_follower(entry, directory, settings, through_lsn)
    try:
        build_payload_indexes(replica)
    except BaseException:
        replica.close()
        raise
    return replica


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
