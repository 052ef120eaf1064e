"""The actor's commit loop: group commit, apply in LSN order, checkpoints.

The loop takes the first message in the mailbox and every other one already waiting (up to a
point and byte limit), logs the batch's writes with ONE WAL write and ONE fdatasync in the
collection's sync thread (zoro.actors.sync_thread), and only then applies them to the store
and the index, in LSN order, and replies. Writes that arrive during the fsync wait for the
next batch: that is group commit.

Apply runs on the event loop without an await, so no reader ever sees half a batch, and it is
the only place that mutates the store or the index's live structures. Checkpoints run here
too, between batches, so they never overlap an apply, and so does a compaction's switch (a
checkpoint that also renumbers the slots; see `_switch_files`). The fsync thread touches only
the WAL file, never a structure a read uses.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING, NoReturn

import numpy as np
import outcome
import trio

from zoro.actors.builders import Builders, trim_memory
from zoro.actors.messages import (
    Checkpoint,
    DeleteWhere,
    IndexChange,
    LinkSnapshot,
    Message,
    SwitchFiles,
    Write,
)
from zoro.actors.point_changes import PointChanges
from zoro.actors.point_changes import resolve as resolve_changes
from zoro.actors.reply import Reply
from zoro.actors.sync_thread import SyncThread
from zoro.actors.vector_changes import DeleteVectors, UpdateVectors
from zoro.errors import (
    BadRequest,
    LoggedNotApplied,
    PointNotFound,
    ReplayNeeded,
    StorageError,
    SwitchUncertain,
    ZoroError,
    storage_error,
)
from zoro.storage import snapshots
from zoro.types import DeleteBatch

if TYPE_CHECKING:
    from collections.abc import Callable

    from zoro.actors.mailbox import Mailbox
    from zoro.actors.numbering import NumberingGate
    from zoro.actors.reads import Reader
    from zoro.actors.recovery import Opened
    from zoro.settings import ActorSettings
    from zoro.storage.store import Switch
    from zoro.types import PointId, VectorConfig, WriteOp

log = logging.getLogger(__name__)


class Committer:
    """One collection's commit loop and checkpoints; the only writer of its WAL and store."""

    def __init__(
        self,
        name: str,
        settings: ActorSettings,
        mailbox: Mailbox,
        opened: Opened,
        *,
        reader: Reader,
        builders: Builders,
        io_limiter: trio.CapacityLimiter,
        fail: Callable[[str], None],
        vectors: VectorConfig,
        gate: NumberingGate,
        applied: Callable[[], None],
    ) -> None:
        self._name = name
        self._vectors = vectors  # names of vectors, for has_vector in a change's filters
        self._settings = settings
        self._mailbox = mailbox
        self._opened = opened
        self._store = opened.store
        self._wal = opened.wal
        self._indexes = opened.indexes
        self._sparse = opened.sparse
        self._multi = opened.multi
        self._payload = opened.payload
        self._reader = reader
        self._builders = builders
        self._io_limiter = io_limiter
        self._fail = fail  # marks the collection failed (and so stops every read) at once
        self._gate = gate  # the reads' numbering leases, closed by a switch
        self._applied = applied  # after each applied batch and switch (the actor's _published)
        self.taken: list[Message] = []  # the batch being committed: answered if torn down
        self.batches = 0
        self.writes = 0
        self.checkpoints = 0
        self._wal_bytes_at_checkpoint = self._wal.stats().wal_bytes
        self._last_checkpoint_at = trio.current_time()
        self._sync_thread = SyncThread(name)  # runs every WAL append (write + fsync)

    async def run(self) -> None:
        """Commit batches until the mailbox is closed and empty (see `_run`)."""
        with self._sync_thread:
            await self._run()

    async def _run(self) -> None:
        """Commit batches until the mailbox is closed and empty.

        Raises ReplayNeeded, after answering the batch's writers with LoggedNotApplied, when a
        batch fails to apply after its WAL sync (see `_commit`).
        """
        settings = self._settings
        while True:
            batch = await self._next_batch()
            self.taken = batch or []
            if batch is None:
                return
            if not batch:  # writes paused: checkpoint what came since the last checkpoint
                if self._store.applied_lsn != self._store.checkpoint_lsn:
                    try:
                        await self.checkpoint()
                    except ZoroError as exc:
                        log.warning("%s: idle checkpoint failed: %s", self._name, exc.message)
                continue
            writes = [m for m in batch if isinstance(m, Write)]
            if writes:
                await self._commit_in_order(writes)
            for change in (m for m in batch if isinstance(m, IndexChange)):
                await self._change_payload_index(change)
            checkpoints = [m for m in batch if isinstance(m, Checkpoint)]
            wal_bytes = self._wal.stats().wal_bytes
            due = (
                wal_bytes - self._wal_bytes_at_checkpoint >= settings.checkpoint_wal_bytes
                or trio.current_time() - self._last_checkpoint_at >= settings.checkpoint_interval_s
            )
            if checkpoints or (due and writes):
                try:
                    lsn = await self.checkpoint()
                except ZoroError as exc:
                    log.warning("%s: checkpoint failed: %s", self._name, exc.message)
                    for m in checkpoints:
                        m.reply.fail(exc)
                else:
                    for m in checkpoints:
                        m.reply.ok(lsn)
            for link in (m for m in batch if isinstance(m, LinkSnapshot)):
                await self._link_snapshot(link)
            for switch in (m for m in batch if isinstance(m, SwitchFiles)):
                await self._switch_files(switch)

    async def _switch_files(self, message: SwitchFiles) -> None:
        """A compaction's switch (docs/compaction.md). First the commit, in a worker thread:
        the slots that came since the last copy are copied and the new generation becomes the
        checkpoint (reads go on meanwhile, on the old numbering). Then, once no builder works
        on slots and no read holds a lease, the store takes its new files and every index is
        renumbered, without an await. The compactor keeps the builders quiet around this
        (Builders.quiet; a dense graph build runs on and is renumbered at its install). A
        failure before the commit leaves the old generation in use; one after it leaves memory
        and disk in different numberings, so the collection is failed and reopened
        (ReplayNeeded), and recovery opens the generation meta names."""
        store, compaction = self._store, message.compaction
        try:
            switch = await trio.to_thread.run_sync(
                store.commit_compaction, compaction, limiter=self._io_limiter
            )
        except SwitchUncertain as exc:
            message.reply.fail(exc)
            self._failed_switch(exc)
        except ZoroError as exc:
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(compaction.abandon, limiter=self._io_limiter)
            message.reply.fail(exc)
            return
        try:
            assert self._builders.is_quiet, "a switch runs only while the builders are quiet"
            async with self._gate.closed():
                reclaimed = self._install(switch)
        except Exception as exc:
            message.reply.fail(StorageError(f"installing the compacted files failed: {exc}"))
            self._failed_switch(exc)
        self._applied()  # the followers learn of the new generation before any new apply
        self._builders.renumbered()
        try:
            await trio.to_thread.run_sync(
                self._trim_wal, switch.meta.checkpoint_lsn, limiter=self._io_limiter
            )
            await trio.to_thread.run_sync(store.remove_debris, limiter=self._io_limiter)
        except (ZoroError, OSError) as exc:  # what stays is removed at the next checkpoint
            log.warning("%s: cleaning up after a compaction: %s", self._name, exc)
        await trim_memory()  # the old numbering's arrays
        self._checkpoint_done()
        message.reply.ok(reclaimed)

    def _install(self, switch: Switch) -> int:
        """Swap in the committed generation and renumber every slot-keyed structure; returns
        the slots reclaimed. Synchronous: no read sees two numberings."""
        store = self._store
        was_live = store.live_mask().copy()  # every one of these slots survives
        before = store.slot_count()
        remap = store.install_compaction(switch)
        live = store.live_mask()
        for dense in self._indexes.values():
            dense.renumber(remap, live)
        for sparse in self._sparse.values():
            sparse.renumber(remap)
        for multi in self._multi.values():
            multi.renumber(remap)
        self._payload.renumber(remap, was_live)
        self._reader.renumbered()
        return before - store.slot_count()

    def _failed_switch(self, exc: BaseException) -> NoReturn:
        reason = exc.message if isinstance(exc, ZoroError) else f"{type(exc).__name__}: {exc}"
        log.error("%s: a compaction's switch failed after its commit: %s", self._name, reason)
        self._fail(f"a compaction's switch failed ({reason}); the collection reopens")
        raise ReplayNeeded(self._name, reason) from exc

    async def _link_snapshot(self, message: LinkSnapshot) -> None:
        """A snapshot's first step: a checkpoint, then hard links to the files it names, with
        no apply in between (this loop is the only one that applies)."""
        store = self._store
        try:
            lsn = await self.checkpoint()
            paths = await trio.to_thread.run_sync(
                snapshots.link,
                store.directory,
                store.file_generation,
                store.file_lengths(),
                message.staging,
                limiter=self._io_limiter,
            )
        except ZoroError as exc:
            message.reply.fail(exc)
        except OSError as exc:
            message.reply.fail(storage_error(exc, f"linking a snapshot of {self._name}"))
        else:
            message.reply.ok((paths, lsn))

    async def _next_batch(self) -> list[Message] | None:
        """The first waiting message and every other one already queued, within the limits;
        [] when none came for `idle_checkpoint_s`; None once the mailbox is closed."""
        settings = self._settings
        inbox = self._mailbox.inbox
        first: Message | None = None
        try:
            with trio.move_on_after(settings.idle_checkpoint_s):
                first = await inbox.receive()
        except trio.EndOfChannel:
            return None
        if first is None:
            return []
        batch = [first]
        points = len(first.op) if isinstance(first, Write) else 0
        nbytes = first.nbytes if isinstance(first, Write) else 0
        while points < settings.max_batch_points and nbytes < settings.max_batch_bytes:
            try:
                message = inbox.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                break
            batch.append(message)
            if isinstance(message, Write):
                points += len(message.op)
                nbytes += message.nbytes
        return batch

    async def _commit_in_order(self, writes: list[Write]) -> None:
        """Commit runs of plain writes; a delete by filter, a change of some vectors or other
        changes made against the current state (zoro.actors.point_changes) alone, resolved
        right before it is logged (after everything ahead of it has been applied)."""
        run: list[Write] = []
        for w in writes:
            if not isinstance(w.op, DeleteWhere | UpdateVectors | DeleteVectors | PointChanges):
                run.append(w)
                continue
            if run:
                await self._commit(run)
                run = []
            if not isinstance(w.op, DeleteWhere):
                lone = w.op if isinstance(w.op, PointChanges) else PointChanges((w.op,))
                await self._commit_point_changes(w, lone)
                continue
            try:
                selection = await self._reader.select(w.op.condition, bounded=False)
            except ZoroError as exc:
                self._mailbox.taken(w.nbytes)
                w.reply.fail(exc)
                continue
            keys = self._reader.store.keys_of_slots(np.flatnonzero(selection.mask))
            await self._commit([Write(DeleteBatch(keys), w.nbytes, w.reply)])
        if run:
            await self._commit(run)

    async def _commit_point_changes(self, w: Write, changes: PointChanges) -> None:
        """Log payload updates, vector updates, conditional upserts or a batch as the plain
        writes they come to now, as ONE record (see zoro.actors.point_changes), so that replay
        needs no knowledge of the state they were made against. Each operation's filter is
        evaluated first, on the store before any of them; the resolution checks it again on
        the points earlier operations of the batch touched. The reads run in a worker thread:
        nothing applies meanwhile (this is the only task that applies), and reads on the event
        loop mutate nothing."""
        try:
            selections = []
            for condition in changes.conditions():
                selected = None
                if condition is not None:
                    selected = (await self._reader.select(condition, bounded=False)).mask
                selections.append(selected)
            store = self._reader.store
            resolved = await trio.to_thread.run_sync(
                resolve_changes, changes, store, selections, self._vectors, limiter=self._io_limiter
            )
        except ZoroError as exc:
            self._mailbox.taken(w.nbytes)
            w.reply.fail(exc)
            return
        await self._commit_resolved(w, resolved.op, resolved.missing)

    async def _commit_resolved(self, w: Write, op: WriteOp | None, missing: PointId | None) -> None:
        """Log and apply what a change resolved to (nothing: answer at once)."""
        if op is None:
            self._mailbox.taken(w.nbytes)
            if missing is not None:
                w.reply.fail(PointNotFound(missing))
            else:
                w.reply.ok(self._store.applied_lsn)
            return
        # Qdrant writes the points that exist, then answers 404 for the first one that does
        # not: once logged and applied, the writer hears of the missing point instead.
        reply: Reply[int] = w.reply if missing is None else _MissingAfterAll(w.reply, missing)
        await self._commit([Write(op, w.nbytes, reply)])

    async def _change_payload_index(self, change: IndexChange) -> None:
        payload = self._payload
        try:
            undo = payload.change(change.key, change.schema, change.params)
        except ValueError as exc:
            change.reply.fail(BadRequest(str(exc)))
            return
        if undo is not None:
            try:
                await trio.to_thread.run_sync(payload.write_schema, limiter=self._io_limiter)
            except OSError as exc:
                undo()
                doing = f"writing the payload index schema of {self._name}"
                change.reply.fail(storage_error(exc, doing))
                return
            self._builders.schemas_changed()
        change.reply.ok(self._reader.store.applied_lsn)

    async def _commit(self, writes: list[Write]) -> None:
        self._mailbox.taken(sum(w.nbytes for w in writes))
        ops: list[WriteOp] = [w.op for w in writes]  # type: ignore[misc]  # no DeleteWhere here
        try:
            # not abandoned on cancel: the actor and the disk must agree on what was logged.
            # The collection's own long-lived thread, not trio's: a cheaper round trip.
            first_lsn = await self._sync_thread.run(partial(self._wal.append, ops))
        except ZoroError as exc:
            for w in writes:
                w.reply.fail(exc)
            return
        items = [(first_lsn + i, op) for i, op in enumerate(ops)]
        try:
            self._apply(items)
        except Exception as exc:
            self._failed_after_sync(writes, exc)
        self.batches += 1
        self.writes += len(writes)
        self._applied()
        for i, w in enumerate(writes):
            w.reply.ok(first_lsn + i)

    def _failed_after_sync(self, writes: list[Write], exc: Exception) -> NoReturn:
        """The batch is durable in the WAL but not applied, or only in part: the store undoes a
        failed append, but the index may already hold some of it. So this memory must serve no
        more reads: the collection is marked failed before anything else can run (no await
        here), each writer learns that its write is logged and will be applied, and the run
        ends with ReplayNeeded so that the supervisor reopens the collection, whose replay
        applies the batch."""
        reason = exc.message if isinstance(exc, ZoroError) else f"{type(exc).__name__}: {exc}"
        log.error("%s: apply failed after the WAL sync: %s", self._name, reason)
        self._fail(f"a logged batch could not be applied ({reason}); it is applied on recovery")
        answer = LoggedNotApplied(self._name, reason)
        for w in writes:
            w.reply.fail(answer)
        raise ReplayNeeded(self._name, reason) from exc

    def _apply(self, items: list[tuple[int, WriteOp]]) -> None:
        """Apply durable writes to the store and the index. Synchronous: no reader sees half."""
        if len(self._opened.apply(items).added_slots):
            self._builders.points_added()

    async def checkpoint(self, *, persist_index_now: bool = False) -> int:
        """Make storage durable, trim the WAL, and have the index persisted.

        The index is an accelerator that can be rebuilt from storage, so writing it (hundreds of
        MB for a big HNSW graph) need not hold up writes: the persister task does it behind the
        commit loop. Only the final checkpoint of a clean close waits for it.
        """
        store = self._store
        lsn = await trio.to_thread.run_sync(store.checkpoint, limiter=self._io_limiter)
        await trio.to_thread.run_sync(self._trim_wal, lsn, limiter=self._io_limiter)
        if persist_index_now:
            for index in self._indexes.values():
                await trio.to_thread.run_sync(
                    index.checkpoint_manifest,
                    store.checkpointed_slots,
                    store.file_generation,
                    limiter=self._io_limiter,
                )
            await trio.to_thread.run_sync(
                self._builders.payload_snapshot(), limiter=self._io_limiter
            )
            for save in self._builders.sparse_snapshots(final=True):
                await trio.to_thread.run_sync(save, limiter=self._io_limiter)
        else:
            self._builders.persist_soon()
        self._checkpoint_done()
        return lsn

    def _trim_wal(self, lsn: int) -> None:
        """Delete the WAL segments a checkpoint at `lsn` covers, the active one too once it is
        big enough to be worth a new one (a worker thread, between batches)."""
        self._wal.retire_active_through(lsn)
        self._wal.remove_segments_through(lsn)

    def _checkpoint_done(self) -> None:
        self.checkpoints += 1
        self._wal_bytes_at_checkpoint = self._wal.stats().wal_bytes
        self._last_checkpoint_at = trio.current_time()


class _MissingAfterAll(Reply[int]):
    """Passes a commit's answer on to the writer, except that success becomes PointNotFound."""

    __slots__ = ("_missing", "_writer")

    def __init__(self, writer: Reply[int], missing: object) -> None:
        super().__init__()
        self._writer = writer
        self._missing = missing

    def set(self, out: outcome.Outcome[int]) -> None:
        super().set(out)
        if isinstance(out, outcome.Value):
            self._writer.fail(PointNotFound(self._missing))
        else:
            self._writer.set(out)
