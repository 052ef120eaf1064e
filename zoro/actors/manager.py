"""CollectionManager: the registry of collections, their lifecycle, and supervision of their actors.

The catalog is the source of truth for which collections exist. Create writes a "creating" entry,
makes the collection's empty files durable, then marks it ready; delete marks it "deleting", stops
the actor, removes the files, then the entry. A crash at any point leaves a catalog that the next
`Catalog.open` repairs to either the old or the new state.

Start-up never holds the server hostage: `run` reports started as soon as the catalog is read;
each collection then recovers in its own task and serves as soon as it is ready. A collection
whose actor fails is marked failed with its reason; the others keep serving. One whose batch
failed to apply after its WAL sync is reopened and recovers by replay (supervisor.py).

Aliases are resolved here, in `resolve`, so that every lookup by name (`actor`, `serving`,
`exists`, `update`) takes an alias as well; create and delete take collection names only, as
Qdrant's do.

Follower mode (`follow_run_dir`, docs/workers.md): the manager of a worker process that owns
no collection. It reads the catalog without writing it (`Catalog.observe`), runs a follower's
actor for every ready collection (following the owner's LSN board in that run directory),
and follows the catalog as the owner changes it: polled, and refreshed on demand. Every admin
operation is refused here (Unavailable): the HTTP layer forwards those to the owner.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import uuid
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

import trio

from zoro.actors.actor import ActorState, CollectionActor
from zoro.actors.board import Bells, BoardSource, Doorbell, LsnBoard, board_path
from zoro.actors.reply import Reply
from zoro.actors.supervisor import Supervision
from zoro.dirlock import DataDirLock
from zoro.errors import (
    CollectionClosed,
    CollectionFailed,
    CollectionNotFound,
    Unavailable,
    ZoroError,
)
from zoro.fsutil import fsync_dir
from zoro.storage import Catalog, CollectionEntry, CollectionStore, Layout, snapshots

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping, Sequence
    from pathlib import Path

    from zoro.settings import Settings
    from zoro.storage import AliasAction
    from zoro.types import VectorConfig

log = logging.getLogger(__name__)

T = TypeVar("T")

# A follower's manager: how often it looks at the catalog file, reads it whole regardless, and
# tries again a collection whose follower failed (the owner reopening it, say).
CATALOG_POLL_S = 0.2
CATALOG_REREAD_S = 2.0
RESPAWN_S = 1.0


@dataclass(frozen=True, slots=True)
class CollectionStatus:
    name: str
    state: ActorState
    failure: str | None


class CollectionManager:
    def __init__(
        self,
        data_dir: Path,
        settings: Settings,
        *,
        lock: DataDirLock | None = None,
        run_dir: Path | None = None,
        follow_run_dir: Path | None = None,
    ) -> None:
        """`lock`: the data directory's lock if the caller holds it (the server takes it before
        binding its port); otherwise `run` takes it before reading anything. `run_dir`: where
        each collection's LSN board goes, for followers in other processes
        (zoro.actors.board); None: no followers. `follow_run_dir`: follower mode (see the
        module's docstring): follow the owner whose boards are there; no lock is taken."""
        self._data_dir = data_dir
        self._run_dir = run_dir
        self._follow_run_dir = follow_run_dir
        self._catalog_stamp: tuple[int, int, int, int] | None = None
        self._refresh_lock = trio.Lock()
        self._respawn_at: dict[str, float] = {}  # failed followers: when to try again
        self._bells: Bells | None = None  # an owner's, with followers: their doorbells
        self._sources: dict[str, BoardSource] = {}  # a follower's, by collection id
        self._settings = settings
        self._lock = lock
        self._catalog: Catalog | None = None
        self._collections: dict[str, Supervision] = {}
        # Catalog changes are rare admin operations; one at a time keeps the catalog file simple.
        self._catalog_lock = trio.Lock()
        self._io_limiter = trio.CapacityLimiter(8)
        self._ann_limiter = trio.CapacityLimiter(settings.ann.build_threads)
        self._search_limiter = trio.CapacityLimiter(2)
        self._nursery: trio.Nursery | None = None
        self._closing = False

    # ------------------------------------------------------------------ lifecycle

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Lock the data directory, open the catalog, start every collection recovering, serve
        until `close()`.

        Raises DataDirInUse (before touching anything) when another process owns the directory.
        """
        if self._follow_run_dir is not None:
            await self._run_following(task_status)
            return
        lock = self._lock
        own_lock = lock is None
        if lock is None:
            lock = await trio.to_thread.run_sync(DataDirLock.acquire, self._data_dir)
        try:
            if self._run_dir is not None:
                await trio.to_thread.run_sync(
                    functools.partial(os.makedirs, exist_ok=True), self._run_dir
                )
                self._bells = Bells(self._run_dir)
            self._catalog = await trio.to_thread.run_sync(Catalog.open, self._data_dir)
            await trio.to_thread.run_sync(snapshots.remove_debris, self.snapshots_dir())
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                for entry in self._catalog.entries():
                    self._spawn(entry)
                task_status.started()
                log.info(
                    "%d collection(s) recovering in %s", len(self._collections), self._data_dir
                )
                await trio.sleep_forever()
        finally:
            if self._bells is not None:
                self._bells.close()
            if own_lock:
                lock.release()

    async def _run_following(self, task_status: trio.TaskStatus[None]) -> None:
        self._catalog_stamp = Catalog.stamp(self._data_dir)
        self._catalog = await trio.to_thread.run_sync(Catalog.observe, self._data_dir)
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            for entry in self._catalog.entries():
                self._follow(entry)
            nursery.start_soon(self._watch_catalog)
            assert self._follow_run_dir is not None
            nursery.start_soon(Doorbell(self._follow_run_dir).run, self._sources)
            task_status.started()
            log.info("following %d collection(s) in %s", len(self._collections), self._data_dir)
            await trio.sleep_forever()

    async def _watch_catalog(self) -> None:
        """A follower's: take the owner's catalog changes (and retry failed followers)."""
        reread = trio.current_time()
        while True:
            await trio.sleep(CATALOG_POLL_S)
            # mtime and inode can repeat within a clock tick: read it whole now and then
            if trio.current_time() - reread > CATALOG_REREAD_S:
                reread = trio.current_time()
                await self.refresh()
            else:
                await self.refresh_if_changed()

    async def refresh_if_changed(self) -> None:
        """A follower's: take the catalog again if its file changed (one stat otherwise)."""
        if self._follow_run_dir is None:
            return
        if self._refresh_lock.locked():  # collections are being stopped and started: wait
            async with self._refresh_lock:
                pass
        now = trio.current_time()
        due = any(at <= now for at in self._respawn_at.values())
        if due or Catalog.stamp(self._data_dir) != self._catalog_stamp:
            await self.refresh()

    async def refresh(self) -> None:
        """A follower's: read the owner's catalog and follow it: collections new to it get a
        follower's actor, dropped ones stop, changed ones (vectors, engine) start again, and
        a change of metadata or recorded settings is adopted. The owner writes the catalog
        before it answers, so a refresh after a forwarded admin request sees its effect."""
        if self._follow_run_dir is None or self._nursery is None or self._closing:
            return
        async with self._refresh_lock:
            stamp = Catalog.stamp(self._data_dir)
            catalog = await trio.to_thread.run_sync(Catalog.observe, self._data_dir)
            if self.closing:  # close() began meanwhile
                return
            self._catalog, self._catalog_stamp = catalog, stamp
            now = trio.current_time()
            for name in [n for n in self._collections if catalog.get(n) is None]:
                await self._stop_following(name)
            for entry in catalog.entries():
                supervision = self._collections.get(entry.name)
                if supervision is not None:
                    old = supervision.actor.entry
                    if (
                        old.id != entry.id
                        or old.vectors != entry.vectors
                        or dict(old.engine) != dict(entry.engine)
                    ):
                        await self._stop_following(entry.name)
                    elif supervision.done.is_set():  # it failed: retry, not too often
                        if now < self._respawn_at.setdefault(entry.name, now + RESPAWN_S):
                            continue
                        await self._stop_following(entry.name)
                    else:
                        supervision.actor.entry = entry
                        continue
                self._follow(entry)

    async def _stop_following(self, name: str) -> None:
        self._respawn_at.pop(name, None)
        supervision = self._collections.pop(name, None)
        if supervision is not None:
            self._sources.pop(supervision.actor.entry.id, None)
            supervision.stop()
            await supervision.done.wait()

    async def caught_up(self, name: str, timeout_s: float) -> None:
        """A follower's read barrier (docs/workers.md): until collection `name` (or alias)
        has applied everything its owner has applied now, so a write acknowledged to anyone
        before this call is visible. Takes the catalog's changes first, so a collection
        created before is here too. Raises Unavailable after `timeout_s` (never a stale
        answer); returns at once for an owner, or a name no collection has (the read then
        answers 404)."""
        if self._follow_run_dir is None:
            return
        await self.refresh_if_changed()
        supervision = self._collections.get(self.resolve(name))
        if supervision is None:
            return
        with trio.move_on_after(timeout_s):
            actor = supervision.actor
            while actor.state is ActorState.RECOVERING:  # opening, or reopening
                await trio.sleep(0.005)
                actor = supervision.actor
            if actor.state is ActorState.FAILED:  # refresh() opens it again soon
                raise Unavailable(
                    f"Collection `{name}`: this worker's replica failed ({actor.failure}); "
                    "retry shortly"
                )
            if actor.following is not None and actor.state is ActorState.READY:
                await actor.following.caught_up(schema_wait_s=timeout_s / 2)
            return
        raise Unavailable(
            f"Collection `{name}`: this worker's replica did not catch up with the owner "
            f"within {timeout_s:g} s; retry shortly"
        )

    @property
    def closing(self) -> bool:
        return self._closing

    @property
    def following(self) -> bool:
        """Is this a follower's manager (admin operations go to the owner)?"""
        return self._follow_run_dir is not None

    async def close(self) -> None:
        """Stop every actor gracefully (each drains its mailbox and checkpoints), then return.

        A create or delete under way ends first; later ones are refused."""
        self._closing = True
        async with self._catalog_lock:
            for supervision in list(self._collections.values()):
                supervision.stop()
        for supervision in list(self._collections.values()):
            await supervision.done.wait()
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()

    def _spawn(self, entry: CollectionEntry) -> CollectionActor:
        """Start a collection's actor under supervision (zoro/actors/supervisor.py): a failed
        actor marks its collection failed and the server stays up; one that needs its WAL
        replayed is reopened."""
        assert self._catalog is not None
        board = None
        if self._run_dir is not None:
            assert self._bells is not None
            ring = self._bells.ringer(entry.id)
            board = LsnBoard(board_path(self._run_dir, entry.id), writable=True, ring=ring)
        return self._supervise(entry, board=board)

    def _follow(self, entry: CollectionEntry) -> None:
        """A follower's: start a follower's actor over the owner's board of the collection."""
        assert self._follow_run_dir is not None
        try:
            board = LsnBoard(board_path(self._follow_run_dir, entry.id), writable=False)
        except FileNotFoundError:  # its owner has not started it yet: the next refresh will
            self._respawn_at[entry.name] = trio.current_time()
            return
        self._respawn_at.pop(entry.name, None)
        self._sources[entry.id] = source = BoardSource(board)
        self._supervise(entry, follow=source)

    def _supervise(
        self,
        entry: CollectionEntry,
        *,
        board: LsnBoard | None = None,
        follow: BoardSource | None = None,
    ) -> CollectionActor:
        assert self._catalog is not None and self._nursery is not None
        directory = self._catalog.collection_dir(entry)

        def make_actor() -> CollectionActor:
            # a reopening (supervisor.py) takes the entry as it is now: `update` may have
            # changed it in place since the first actor started
            catalog = self._catalog
            return CollectionActor(
                (catalog.get(entry.name) if catalog else None) or entry,
                directory,
                self._settings,
                io_limiter=self._io_limiter,
                ann_limiter=self._ann_limiter,
                search_limiter=self._search_limiter,
                board=board,
                follow=follow,
            )

        supervision = self._collections[entry.name] = Supervision(make_actor)
        self._nursery.start_soon(supervision.run)
        return supervision.actor

    # ------------------------------------------------------------------ catalog operations

    async def create(
        self,
        name: str,
        vectors: VectorConfig,
        engine: Mapping[str, Any],
        metadata: Mapping[str, Any] | None = None,
    ) -> CollectionEntry:
        """Create a collection durably and start its actor; returns when it serves.

        Runs to its end in the manager's own task, whatever happens to the caller: a caller
        cancelled half-way (client gone, timeout) leaves either a serving collection or none.

        Raises CollectionExists if the name is taken (in any state), AliasExists if an alias
        has it; on an I/O error the half-made collection is rolled back and the name is free
        again.
        """
        self._require_catalog()
        layout, storage = Layout.of(vectors), self._settings.storage

        def begin(catalog: Catalog) -> CollectionEntry:
            return catalog.begin_create(name, vectors, dict(engine), metadata)

        def fill(directory: Path) -> None:
            CollectionStore.create(directory, layout, storage).close()

        return await self._created(name, begin, fill)

    async def _created(
        self, name: str, begin: Callable[[Catalog], CollectionEntry], fill: Callable[[Path], None]
    ) -> CollectionEntry:
        """Create a collection in the manager's own task: `begin` records its 'creating'
        catalog entry, `fill` makes its directory (both in worker threads), then it is marked
        'ready'; on any failure the entry and its directory are rolled back. Returns once it
        serves."""
        actor = await self._in_own_task(functools.partial(self._create, name, begin, fill))
        await actor.settled.wait()
        actor.check_serving()
        return actor.entry

    async def _create(
        self, name: str, begin: Callable[[Catalog], CollectionEntry], fill: Callable[[Path], None]
    ) -> CollectionActor:
        async with self._catalog_lock:
            catalog = self._require_catalog()  # again: close() may have begun meanwhile
            entry = await trio.to_thread.run_sync(begin, catalog)
            try:
                directory = catalog.collection_dir(entry)
                await trio.to_thread.run_sync(fill, directory, limiter=self._io_limiter)
                entry = await trio.to_thread.run_sync(catalog.finish_create, name)
            except BaseException:
                with trio.CancelScope(shield=True):
                    try:
                        await trio.to_thread.run_sync(catalog.abort_create, name)
                    except ZoroError as exc:  # the name is free; Catalog.open tidies the rest
                        log.error("collection %s: rollback of its creation: %s", name, exc)
                raise
            return self._spawn(entry)

    async def restore(self, name: str, archive: Path) -> CollectionEntry:
        """Create collection `name` from a snapshot archive (zoro.storage.snapshots), replacing
        one of that name; returns once it serves. The archive is checked while it is unpacked
        into a staging directory, in one pass, before anything changes (CorruptionError names
        it and the first bad file); the staging directory then becomes the collection's.
        Crash-safe as create is: a crash before the move leaves staging debris that the next
        start removes; after it, a 'creating' entry that it rolls back. Replacing is a delete
        then a create, not one atomic step."""
        self._require_catalog()
        staging = self.snapshots_dir() / f".staging-restore-{uuid.uuid4().hex}"
        try:
            manifest = await trio.to_thread.run_sync(
                snapshots.unpack, archive, staging, limiter=self._io_limiter
            )
            source = CollectionEntry.from_json(manifest.collection, archive)
            if self.exists_exactly(name):
                await self.delete(name)

            def begin(catalog: Catalog) -> CollectionEntry:
                engine, metadata = dict(source.engine), source.metadata
                return catalog.begin_create(name, source.vectors, engine, metadata, source.config)

            def fill(directory: Path) -> None:
                directory.parent.mkdir(parents=True, exist_ok=True)
                os.rename(staging, directory)  # the same file system: both under the data dir
                fsync_dir(directory.parent)
                fsync_dir(staging.parent)

            return await self._created(name, begin, fill)
        finally:
            await trio.to_thread.run_sync(functools.partial(shutil.rmtree, staging, True))

    def exists_exactly(self, name: str) -> bool:
        """Is there a collection (not an alias) called `name`, in any state?"""
        return self._catalog is not None and self._catalog.get(name) is not None

    def snapshots_dir(self, collection: str | None = None) -> Path:
        """Where snapshot archives are kept: <data>/snapshots/<collection>/, or the full
        storage snapshots' <data>/snapshots/ itself."""
        root = self._data_dir / "snapshots"
        return root if collection is None else root / collection

    async def delete(self, name: str) -> bool:
        """Delete a collection: catalog first (with its aliases, in the same write), then the
        actor, then its files. Crash-safe. `name` is a collection's, not an alias.

        Runs to its end in the manager's own task, like `create`. A delete that failed half-way
        (an I/O error removing the files) is finished by the next one. Returns False when there
        is no such collection.
        """
        self._require_catalog()
        return await self._in_own_task(functools.partial(self._delete, name))

    async def _delete(self, name: str) -> bool:
        async with self._catalog_lock:
            catalog = self._require_catalog()
            try:
                await trio.to_thread.run_sync(catalog.begin_delete, name)
            except CollectionNotFound:
                return False
            supervision = self._collections.pop(name, None)
            if supervision is not None:
                supervision.stop()
                await supervision.done.wait()
            await trio.to_thread.run_sync(catalog.finish_delete, name)
        return True

    async def change_vectors(
        self, name: str, change: Callable[[VectorConfig], VectorConfig | None]
    ) -> CollectionEntry:
        """Add or drop a vector of a collection: `change` maps its current vector config to
        the new one (None: nothing to do; it raises BadRequest for a bad change). Returns the
        entry serving once done. See `update`."""

        def change_entry(entry: CollectionEntry) -> CollectionEntry | None:
            vectors = change(entry.vectors)
            return None if vectors is None else replace(entry, vectors=vectors)

        return await self.update(name, change_entry)

    async def update(
        self, name: str, change: Callable[[CollectionEntry], CollectionEntry | None]
    ) -> CollectionEntry:
        """Change a collection's catalog entry: `change` maps the current entry to the new one
        (None: nothing to do; it raises BadRequest for a bad change). `name` may be an alias.
        Returns the entry serving once done. Runs to its end in the manager's own task, like
        `create`.

        A change of metadata or recorded settings only is written to the catalog and adopted
        by the running actor at once. A change of vectors or engine settings reopens the
        collection, since the store and the indexes take them when they open. The catalog is
        the truth, so: stop the actor (it drains its mailbox and checkpoints, leaving no WAL
        record behind the checkpoint), write the catalog, start a new actor, whose recovery
        opens the store with the new layout. Crash-safe at every step: before the catalog write
        the old catalog and a checkpointed store reopen as before (the change was not
        answered); after it, the next open reconciles the files with the new catalog (an added
        vector starts absent from every point, a dropped one's files are removed), exactly
        what the reopen here does. Requests are refused (503) while the collection reopens.
        """
        self._require_catalog()
        actor = await self._in_own_task(functools.partial(self._update, name, change))
        await actor.settled.wait()
        actor.check_serving()
        return actor.entry

    async def _update(
        self, name: str, change: Callable[[CollectionEntry], CollectionEntry | None]
    ) -> CollectionActor:
        async with self._catalog_lock:
            catalog = self._require_catalog()
            name = self.resolve(name)
            supervision = self._collections.get(name)
            if supervision is None:
                raise CollectionNotFound(name)
            old = supervision.actor
            old.check_serving()  # a recovering or failed collection is not changed
            changed = change(old.entry)  # under the lock: changes never interleave
            if changed is None:
                return old
            new: CollectionEntry = changed
            if new.vectors == old.entry.vectors and new.engine == old.entry.engine:
                old.entry = await trio.to_thread.run_sync(catalog.update, name, lambda _: new)
                return old
            supervision.stop()
            await supervision.done.wait()
            if supervision.actor.state is not ActorState.CLOSED:
                # its last checkpoint failed (a full disk, say): the WAL still holds records
                # past it. Change nothing under a store in trouble: reopen it as it was, and
                # its recovery replays them
                reason = supervision.actor.failure or "it did not close cleanly"
                self._spawn(old.entry)
                raise CollectionFailed(name, f"collection not changed: {reason}")
            try:
                entry = await trio.to_thread.run_sync(catalog.update, name, lambda _: new)
            except Exception:
                self._spawn(old.entry)  # the catalog on disk still holds the old config
                raise
            return self._spawn(entry)

    async def change_aliases(self, actions: Sequence[AliasAction]) -> dict[str, str]:
        """Apply alias actions as one durable catalog change: all of them, or (an error
        raised) none. Runs to its end in the manager's own task, like `create`."""
        self._require_catalog()
        return await self._in_own_task(functools.partial(self._change_aliases, list(actions)))

    async def _change_aliases(self, actions: list[AliasAction]) -> dict[str, str]:
        async with self._catalog_lock:
            catalog = self._require_catalog()
            return await trio.to_thread.run_sync(catalog.change_aliases, actions)

    async def _in_own_task(self, job: Callable[[], Awaitable[T]]) -> T:
        """Run `job` in the manager's nursery and wait for its answer.

        Cancelling the caller stops only the waiting; the job goes on to its end, so a catalog
        change is never left half done by a client that went away. Only the manager's own
        shutdown cancels it, and a crash is what Catalog.open recovers from.
        """
        assert self._nursery is not None
        reply: Reply[T] = Reply()

        async def run() -> None:
            try:
                reply.ok(await job())
            except Exception as exc:
                reply.fail(exc)
            finally:
                reply.fail(CollectionClosed("*"))  # cancelled by shutdown (else a no-op)

        self._nursery.start_soon(run)
        return await reply.wait()

    def _require_catalog(self) -> Catalog:
        if self._follow_run_dir is not None:
            raise Unavailable("this worker follows the collections' owner: admin goes there")
        if self._catalog is None or self._closing:
            raise CollectionClosed("*")
        return self._catalog

    # ------------------------------------------------------------------ lookups

    def resolve(self, name: str) -> str:
        """The collection `name` names: itself, or the one it is an alias of."""
        if name in self._collections or self._catalog is None:
            return name
        return self._catalog.alias_target(name) or name

    def aliases(self) -> dict[str, str]:
        """alias -> collection name."""
        return {} if self._catalog is None else self._catalog.aliases()

    def actor(self, name: str) -> CollectionActor:
        """The actor of a collection that exists (in any state), by its name or an alias;
        CollectionNotFound otherwise."""
        supervision = self._collections.get(self.resolve(name))
        if supervision is None:
            raise CollectionNotFound(name)
        return supervision.actor

    def serving(self, name: str) -> CollectionActor:
        """The actor, if it can serve now; raises the reason it cannot (404, 503)."""
        actor = self.actor(name)
        actor.check_serving()
        return actor

    async def reading(self, name: str) -> CollectionActor:
        """The actor, if it can serve now, with a numbering lease on it for the rest of the
        current read scope (zoro.actors.numbering: waits while a compaction switches)."""
        actor = self.serving(name)
        await actor.gate.lease()
        actor.check_serving()  # it may have closed while the lease waited
        return actor

    def names(self) -> list[str]:
        return sorted(self._collections)

    def exists(self, name: str) -> bool:
        return self.resolve(name) in self._collections

    def statuses(self) -> list[CollectionStatus]:
        return [
            CollectionStatus(name, s.actor.state, s.actor.failure)
            for name, s in sorted(self._collections.items())
        ]
