"""CollectionManager: the registry of collections, their lifecycle, and supervision of their actors.

The catalog is the source of truth for which collections exist. Create writes a "creating" entry,
makes the collection's empty files durable, then marks it ready; delete marks it "deleting", stops
the actor, removes the files, then the entry. A crash at any point leaves a catalog that the next
`Catalog.open` repairs to either the old or the new state.

Start-up never holds the server hostage: `run` reports started as soon as the catalog is read;
each collection then recovers in its own task and serves as soon as it is ready. A collection
whose actor fails is marked failed with its reason; the others keep serving.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import trio

from zoro.actors.actor import ActorState, CollectionActor
from zoro.errors import CollectionClosed, CollectionNotFound
from zoro.storage import Catalog, CollectionStore

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from zoro.settings import Settings
    from zoro.storage import CollectionEntry
    from zoro.types import Distance

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CollectionStatus:
    name: str
    state: ActorState
    failure: str | None


class CollectionManager:
    def __init__(self, data_dir: Path, settings: Settings) -> None:
        self._data_dir = data_dir
        self._settings = settings
        self._catalog: Catalog | None = None
        self._actors: dict[str, CollectionActor] = {}
        self._done: dict[str, trio.Event] = {}
        # Catalog changes are rare admin operations; one at a time keeps the catalog file simple.
        self._catalog_lock = trio.Lock()
        self._io_limiter = trio.CapacityLimiter(8)
        self._ann_limiter = trio.CapacityLimiter(settings.ann.build_threads)
        self._search_limiter = trio.CapacityLimiter(2)
        self._nursery: trio.Nursery | None = None
        self._closing = False

    # ------------------------------------------------------------------ lifecycle

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Open the catalog, start every collection recovering, serve until `close()`."""
        self._catalog = await trio.to_thread.run_sync(Catalog.open, self._data_dir)
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            for entry in self._catalog.entries():
                self._spawn(entry)
            task_status.started()
            log.info("%d collection(s) recovering in %s", len(self._actors), self._data_dir)
            await trio.sleep_forever()

    async def close(self) -> None:
        """Stop every actor gracefully (each drains its mailbox and checkpoints), then return."""
        self._closing = True
        for actor in list(self._actors.values()):
            actor.close()
        for event in list(self._done.values()):
            await event.wait()
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()

    def _spawn(self, entry: CollectionEntry) -> CollectionActor:
        assert self._catalog is not None and self._nursery is not None
        actor = CollectionActor(
            entry,
            self._catalog.collection_dir(entry),
            self._settings,
            io_limiter=self._io_limiter,
            ann_limiter=self._ann_limiter,
            search_limiter=self._search_limiter,
        )
        self._actors[entry.name] = actor
        self._done[entry.name] = done = trio.Event()
        self._nursery.start_soon(self._supervise, actor, done)
        return actor

    async def _supervise(self, actor: CollectionActor, done: trio.Event) -> None:
        """Run one actor; if it dies, mark its collection failed and keep the server up."""
        try:
            await actor.run()
        except Exception as exc:
            if actor.state is not ActorState.FAILED:
                actor.mark_failed(f"{type(exc).__name__}: {exc}")
            log.error("collection %s failed: %s", actor.name, actor.failure, exc_info=exc)
        finally:
            done.set()

    # ------------------------------------------------------------------ catalog operations

    async def create(
        self, name: str, dimension: int, distance: Distance, engine: Mapping[str, Any]
    ) -> CollectionEntry:
        """Create a collection durably and start its actor; returns when it serves.

        Raises CollectionExists if the name is taken (in any state).
        """
        catalog = self._require_catalog()
        async with self._catalog_lock:
            entry = await trio.to_thread.run_sync(
                catalog.begin_create, name, dimension, distance, dict(engine)
            )
            directory = catalog.collection_dir(entry)
            store = await trio.to_thread.run_sync(
                CollectionStore.create, directory, dimension, self._settings.storage
            )
            store.close()
            entry = await trio.to_thread.run_sync(catalog.finish_create, name)
            actor = self._spawn(entry)
        await actor.settled.wait()
        actor.check_serving()
        return entry

    async def delete(self, name: str) -> None:
        """Delete a collection: catalog first, then the actor, then its files. Crash-safe."""
        catalog = self._require_catalog()
        async with self._catalog_lock:
            await trio.to_thread.run_sync(catalog.begin_delete, name)
            actor = self._actors.pop(name, None)
            done = self._done.pop(name, None)
            if actor is not None and done is not None:
                actor.close()
                await done.wait()
            await trio.to_thread.run_sync(catalog.finish_delete, name)

    def _require_catalog(self) -> Catalog:
        if self._catalog is None or self._closing:
            raise CollectionClosed("*")
        return self._catalog

    # ------------------------------------------------------------------ lookups

    def actor(self, name: str) -> CollectionActor:
        """The actor of a collection that exists (in any state); CollectionNotFound otherwise."""
        actor = self._actors.get(name)
        if actor is None:
            raise CollectionNotFound(name)
        return actor

    def serving(self, name: str) -> CollectionActor:
        """The actor, if it can serve now; raises the reason it cannot (404, 503)."""
        actor = self.actor(name)
        actor.check_serving()
        return actor

    def names(self) -> list[str]:
        return sorted(self._actors)

    def exists(self, name: str) -> bool:
        return name in self._actors

    def statuses(self) -> list[CollectionStatus]:
        return [
            CollectionStatus(name, actor.state, actor.failure)
            for name, actor in sorted(self._actors.items())
        ]
