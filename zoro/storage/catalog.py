"""<data>/catalog: which collections exist. The source of truth for collection existence.

A checked JSON document (see zoro.checked_json), replaced atomically on every change:

    {"format": "zoro-catalog", "version": 3, "collections": [
        {"id": "<uuid4 hex>", "name": "...",
         "vectors": {"<name>": {"number": 0, "size": 128, "distance": "Cosine",
                                "options": {...as sent...}, "multivector": false}, ...},
         "sparse_vectors": {"<name>": {"number": 1, "idf": false}, ...},
         "unnamed": true, "next_number": 2,
         "created_at": 1767225600.0, "state": "creating" | "ready" | "deleting",
         "engine": {...opaque engine settings...},
         "config": {"optimizers_config": {...}, "params": {...}},
         "metadata": {...the user's JSON object...} | null}, ...],
     "aliases": {"<alias>": "<collection name>", ...}}

Version 1 entries had "dimension" and "distance" for the one unnamed vector instead of
"vectors", "sparse_vectors" and "unnamed"; they are still read (as that one vector, number 0).
Versions 1 and 2 had no "config", "metadata" or "aliases": they read as empty, and none.

Aliases live in the same document as the collections, so a list of alias actions, or a delete
together with the removal of the collection's aliases, is one atomic replace: all or nothing.

Creating and deleting a collection are two durable steps around the work on its directory
(<data>/collections/<id>): an entry is written 'creating' before the directory is made and turns
'ready' after; it turns 'deleting' before the directory is removed and disappears after. A crash
in between leaves an entry that says so, and `Catalog.open` finishes the job by removing the entry
and its directory. Directories with no entry at all are debris of the same kind and go too.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from zoro import checked_json
from zoro.errors import (
    AliasExists,
    CollectionExists,
    CollectionNotFound,
    CorruptionError,
    storage_error,
)
from zoro.fsutil import fsync_dir, make_dirs
from zoro.storage.aliases import AliasAction, apply_actions
from zoro.types import DenseSpec, Distance, SparseSpec, VectorConfig

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

FORMAT: Final = "zoro-catalog"
VERSION: Final = 3
_READS: Final = (1, 2, 3)
CATALOG: Final = "catalog"
COLLECTIONS: Final = "collections"
_ID: Final = re.compile(r"[0-9a-f]{32}")


class CollectionState(StrEnum):
    CREATING = "creating"
    READY = "ready"
    DELETING = "deleting"


@dataclass(frozen=True)
class CollectionEntry:
    id: str
    name: str
    vectors: VectorConfig
    created_at: float  # unix seconds
    state: CollectionState
    engine: Mapping[str, object] = field(hash=False)  # JSON-able engine settings, opaque here
    # Qdrant settings recorded as set and shown back (optimizers_config, params), opaque here
    config: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    metadata: Mapping[str, object] | None = field(default=None, hash=False)  # the user's own

    @property
    def dimension(self) -> int:
        """The size of dense vector 0: the one vector of a collection with a single vector."""
        return next(s.size for s in self.vectors.dense.values() if s.number == 0)

    @property
    def distance(self) -> Distance:
        return next(s.distance for s in self.vectors.dense.values() if s.number == 0)

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "vectors": {
                name: {
                    "number": spec.number,
                    "size": spec.size,
                    "distance": spec.distance.value,
                    "options": dict(spec.options),
                    "multivector": spec.multi,
                }
                for name, spec in self.vectors.dense.items()
            },
            "sparse_vectors": {
                name: {"number": spec.number, "idf": spec.idf}
                for name, spec in self.vectors.sparse.items()
            },
            "unnamed": self.vectors.unnamed,
            "next_number": self.vectors.next_number,  # dropped vectors' numbers stay taken
            "created_at": self.created_at,
            "state": self.state.value,
            "engine": dict(self.engine),
            "config": dict(self.config),
            "metadata": None if self.metadata is None else dict(self.metadata),
        }

    @classmethod
    def from_json(cls, data: object, path: Path, version: int = VERSION) -> CollectionEntry:
        """Raises CorruptionError if `data` is not a well-formed entry."""
        if not isinstance(data, dict):
            raise CorruptionError(str(path), 0, "a catalog entry is not an object")
        try:
            if version == 1:
                vectors = VectorConfig.single(
                    checked_json.field(data, "dimension", int, path),
                    Distance(checked_json.field(data, "distance", str, path)),
                )
            else:
                vectors = _vector_config(data, path)
            config: dict[str, object] = {}
            metadata = None
            if version >= 3:
                config = checked_json.field(data, "config", dict, path)
                metadata = data.get("metadata")
                if metadata is not None and not isinstance(metadata, dict):
                    raise CorruptionError(str(path), 0, "a collection's metadata is not an object")
            return cls(
                id=checked_json.field(data, "id", str, path),
                name=checked_json.field(data, "name", str, path),
                vectors=vectors,
                created_at=checked_json.field(data, "created_at", float, path),
                state=CollectionState(checked_json.field(data, "state", str, path)),
                engine=MappingProxyType(checked_json.field(data, "engine", dict, path)),
                config=MappingProxyType(config),
                metadata=None if metadata is None else MappingProxyType(metadata),
            )
        except ValueError as exc:  # an unknown distance or state
            raise CorruptionError(str(path), 0, f"catalog entry: {exc}") from exc


def _vector_config(data: dict[str, object], path: Path) -> VectorConfig:
    dense = {}
    for name, raw in checked_json.field(data, "vectors", dict, path).items():
        if not isinstance(raw, dict):
            raise CorruptionError(str(path), 0, f"vector {name!r} is not an object")
        dense[name] = DenseSpec(
            number=checked_json.field(raw, "number", int, path),
            size=checked_json.field(raw, "size", int, path),
            distance=Distance(checked_json.field(raw, "distance", str, path)),
            options=MappingProxyType(checked_json.field(raw, "options", dict, path)),
            multi=checked_json.field(raw, "multivector", bool, path),
        )
    sparse = {}
    for name, raw in checked_json.field(data, "sparse_vectors", dict, path).items():
        if not isinstance(raw, dict):
            raise CorruptionError(str(path), 0, f"sparse vector {name!r} is not an object")
        sparse[name] = SparseSpec(
            number=checked_json.field(raw, "number", int, path),
            idf=checked_json.field(raw, "idf", bool, path),
        )
    numbers = [s.number for s in dense.values()] + [s.number for s in sparse.values()]
    if len(set(numbers)) != len(numbers) or min(numbers, default=0) < 0:
        raise CorruptionError(str(path), 0, "vector numbers repeat or are negative")
    unnamed = checked_json.field(data, "unnamed", bool, path)
    first_free = data.get("next_number", 0)  # absent in entries written before drops existed
    if not isinstance(first_free, int) or isinstance(first_free, bool) or first_free < 0:
        raise CorruptionError(str(path), 0, "next_number is not a non-negative integer")
    return VectorConfig(MappingProxyType(dense), MappingProxyType(sparse), unnamed, first_free)


class Catalog:
    """The catalog of one data directory. Each change is durable when the method returns.

    Methods are blocking. Changes are serialised by a lock, so the collection manager may call
    them from worker threads; each change builds a new entries dict and swaps it in whole, so
    reads need no lock. Raises StorageFull/StorageError on I/O errors; then the file on disk still
    holds the previous catalog, and so does this object.
    """

    def __init__(
        self,
        data_dir: Path,
        entries: dict[str, CollectionEntry],
        aliases: dict[str, str] | None = None,
    ) -> None:
        self._dir = data_dir
        self._entries = entries  # by name, every state; replaced whole, never changed in place
        self._aliases = aliases or {}  # alias -> collection name; replaced whole, like _entries
        self._lock = threading.Lock()

    @classmethod
    def open(cls, data_dir: Path) -> Catalog:
        """Open (creating the data directory and an empty catalog if missing) and recover.

        Entries left 'creating' or 'deleting' by a crash are removed with their directories, and
        directories under collections/ with no entry are removed. Raises CorruptionError for a
        damaged catalog, or for a missing one beside existing collection directories (that is
        lost data, not a fresh start: refuse rather than delete them).
        """
        path = data_dir / CATALOG
        collections = data_dir / COLLECTIONS
        try:
            make_dirs(data_dir)
            make_dirs(collections)
            aliases: dict[str, str] = {}
            if path.exists():
                entries, aliases = _read(path)
            elif any(collections.iterdir()):
                raise CorruptionError(str(path), 0, "catalog missing but collections exist")
            else:
                entries = {}
            catalog = cls(data_dir, entries, aliases)
            catalog._recover(changed=not path.exists())
        except OSError as exc:
            raise storage_error(exc, f"opening the catalog in {data_dir}") from exc
        return catalog

    @classmethod
    def observe(cls, data_dir: Path) -> Catalog:
        """A read-only view for a follower process (docs/workers.md): the ready entries and
        their aliases as the owner last wrote them. Nothing is created, repaired or removed:
        the owner's `open` does that. Never call a change on it. Raises CorruptionError for a
        damaged catalog (the owner replaces it atomically, so a reader never sees half)."""
        path = data_dir / CATALOG
        try:
            entries, aliases = _read(path) if path.exists() else ({}, {})
        except OSError as exc:
            raise storage_error(exc, f"reading the catalog in {data_dir}") from exc
        ready = {n: e for n, e in entries.items() if e.state is CollectionState.READY}
        return cls(data_dir, ready, {a: c for a, c in aliases.items() if c in ready})

    @staticmethod
    def stamp(data_dir: Path) -> tuple[int, int, int, int] | None:
        """What changes whenever the catalog file is replaced (inode, size, mtime, ctime), for
        a follower to poll cheaply; None when there is no catalog yet."""
        try:
            st = os.stat(data_dir / CATALOG)
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns

    def _recover(self, *, changed: bool) -> None:
        for entry in self._entries.values():
            if entry.state is not CollectionState.READY:
                self._remove_dir(self.collection_dir(entry))
                changed = True
        ready = {n: e for n, e in self._entries.items() if e.state is CollectionState.READY}
        self._entries = ready
        # aliases of a collection that is gone (written before its delete began: not by this
        # code, which drops them in the same write, but harmless to tidy)
        aliases = {a: c for a, c in self._aliases.items() if c in ready}
        changed = changed or aliases != self._aliases
        self._aliases = aliases
        known = {entry.id for entry in ready.values()}
        for child in (self._dir / COLLECTIONS).iterdir():
            if child.is_dir() and child.name not in known:
                self._remove_dir(child)
        if changed:
            self._write(self._entries, self._aliases)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._dir / (CATALOG + ".tmp"))  # an interrupted atomic_write

    # ---------------------------------------------------------------- reads

    def entries(self) -> list[CollectionEntry]:
        """Ready collections, by name."""
        ready = [e for e in self._entries.values() if e.state is CollectionState.READY]
        return sorted(ready, key=lambda e: e.name)

    def get(self, name: str) -> CollectionEntry | None:
        """The ready collection of that name, or None."""
        entry = self._entries.get(name)
        return entry if entry is not None and entry.state is CollectionState.READY else None

    def aliases(self) -> dict[str, str]:
        """alias -> collection name, every alias."""
        return dict(self._aliases)

    def alias_target(self, name: str) -> str | None:
        """The collection `name` is an alias of, or None."""
        return self._aliases.get(name)

    def collection_dir(self, entry: CollectionEntry) -> Path:
        return self._dir / COLLECTIONS / entry.id

    # ---------------------------------------------------------------- changes

    def begin_create(
        self,
        name: str,
        vectors: VectorConfig,
        engine: Mapping[str, object],
        metadata: Mapping[str, object] | None = None,
        config: Mapping[str, object] | None = None,
    ) -> CollectionEntry:
        """Durably record a 'creating' entry (`config`: Qdrant settings recorded as set, as a
        restored snapshot carries them). Raises CollectionExists if the name is taken in
        any state (a collection being deleted still holds its name until it is gone), and
        AliasExists if an alias has it."""
        with self._lock:
            if name in self._entries:
                raise CollectionExists(name)
            if name in self._aliases:
                raise AliasExists(name)
            entry = CollectionEntry(
                id=uuid.uuid4().hex,
                name=name,
                vectors=vectors,
                created_at=time.time(),
                state=CollectionState.CREATING,
                engine=MappingProxyType(dict(engine)),
                metadata=None if metadata is None else MappingProxyType(dict(metadata)),
                config=MappingProxyType(dict(config or {})),
            )
            self._commit({**self._entries, name: entry})
        return entry

    def finish_create(self, name: str) -> CollectionEntry:
        """'creating' -> 'ready', durably."""
        return self._set_state(name, CollectionState.CREATING, CollectionState.READY)

    def abort_create(self, name: str) -> None:
        """Roll back a 'creating' entry: remove its directory, then the entry, durably.

        The name is free again in memory even if the disk refuses (the error is raised): the
        next catalog write leaves the entry out, and Catalog.open removes what is left.
        """
        with self._lock:
            entry = self._entries.get(name)
            if entry is None or entry.state is not CollectionState.CREATING:
                return
            remaining = {n: e for n, e in self._entries.items() if n != name}
            try:
                self._remove_dir(self.collection_dir(entry))
                self._write(remaining, self._aliases)
            except OSError as exc:
                raise storage_error(exc, f"rolling back the creation of `{name}`") from exc
            finally:
                self._entries = remaining

    def begin_delete(self, name: str) -> CollectionEntry:
        """'ready' -> 'deleting', and its aliases gone (as Qdrant does), in one durable write;
        an entry already 'deleting' (a delete that failed half-way) is returned as it is, to be
        finished. Raises CollectionNotFound if there is no such collection."""
        with self._lock:
            entry = self._entries.get(name)
            if entry is not None and entry.state is CollectionState.DELETING:
                return entry
            if entry is None or entry.state is not CollectionState.READY:
                raise CollectionNotFound(name)
            entry = replace(entry, state=CollectionState.DELETING)
            aliases = {a: c for a, c in self._aliases.items() if c != name}
            self._commit({**self._entries, name: entry}, aliases)
        return entry

    def finish_delete(self, name: str) -> None:
        """Remove the directory of a 'deleting' collection, then its entry, durably."""
        with self._lock:
            entry = self._entries.get(name)
            if entry is None or entry.state is not CollectionState.DELETING:
                raise CollectionNotFound(name)
            try:
                self._remove_dir(self.collection_dir(entry))
            except OSError as exc:
                raise storage_error(exc, f"removing collection `{name}`") from exc
            self._commit({n: e for n, e in self._entries.items() if n != name})

    def set_vectors(self, name: str, vectors: VectorConfig) -> CollectionEntry:
        """Replace a ready collection's vector config, durably (a vector added or dropped)."""
        return self.update(name, lambda entry: replace(entry, vectors=vectors))

    def update(
        self, name: str, change: Callable[[CollectionEntry], CollectionEntry]
    ) -> CollectionEntry:
        """Replace a ready collection's entry by `change(entry)`, durably. Its id, name and
        state stay as they are whatever `change` returns."""
        with self._lock:
            entry = self._entries.get(name)
            if entry is None or entry.state is not CollectionState.READY:
                raise CollectionNotFound(name)
            entry = replace(change(entry), id=entry.id, name=name, state=entry.state)
            self._commit({**self._entries, name: entry})
        return entry

    def change_aliases(self, actions: Sequence[AliasAction]) -> dict[str, str]:
        """Apply alias actions all together, durably, or none of them (see aliases.py for the
        rules and what each raises). Returns the new alias map."""
        with self._lock:
            ready = {n for n, e in self._entries.items() if e.state is CollectionState.READY}
            aliases = apply_actions(self._aliases, ready, actions)
            # a name still held by a collection being created or deleted is not free either
            taken = [a for a in aliases if a in self._entries and a not in self._aliases]
            if taken:
                raise CollectionExists(taken[0])
            self._commit(self._entries, aliases)
        return dict(aliases)

    def _set_state(
        self, name: str, expected: CollectionState, state: CollectionState
    ) -> CollectionEntry:
        with self._lock:
            entry = self._entries.get(name)
            if entry is None or entry.state is not expected:
                raise CollectionNotFound(name)
            entry = replace(entry, state=state)
            self._commit({**self._entries, name: entry})
        return entry

    def _commit(
        self, entries: dict[str, CollectionEntry], aliases: dict[str, str] | None = None
    ) -> None:
        """Write the catalog, then adopt it: on failure both stay as they were. `aliases`:
        the new alias map, if it changes."""
        aliases = self._aliases if aliases is None else aliases
        try:
            self._write(entries, aliases)
        except OSError as exc:
            raise storage_error(exc, "writing the catalog") from exc
        self._entries, self._aliases = entries, aliases

    def _write(self, entries: dict[str, CollectionEntry], aliases: dict[str, str]) -> None:
        collections = [entries[name].to_json() for name in sorted(entries)]
        checked_json.write(
            self._dir / CATALOG,
            {
                "format": FORMAT,
                "version": VERSION,
                "collections": collections,
                "aliases": dict(sorted(aliases.items())),
            },
        )

    def _remove_dir(self, directory: Path) -> None:
        """rmtree, then make the removal durable: a crash after this never resurrects files."""
        if directory.exists():
            shutil.rmtree(directory)
        fsync_dir(directory.parent)


def _read(path: Path) -> tuple[dict[str, CollectionEntry], dict[str, str]]:
    data = checked_json.read(path)
    version = checked_json.check_version(data, path, _READS, kind=FORMAT)
    raw = checked_json.field(data, "collections", list, path)
    entries: dict[str, CollectionEntry] = {}
    ids: set[str] = set()
    for item in raw:
        entry = CollectionEntry.from_json(item, path, version)
        # The id names a directory that recovery may rmtree: never let it be a path.
        if not _ID.fullmatch(entry.id):
            raise CorruptionError(str(path), 0, f"collection `{entry.name}` has a bad id")
        if entry.name in entries or entry.id in ids:
            raise CorruptionError(str(path), 0, f"collection `{entry.name}` is listed twice")
        entries[entry.name] = entry
        ids.add(entry.id)
    return entries, _read_aliases(data, entries, path) if version >= 3 else {}


def _read_aliases(
    data: dict[str, object], entries: dict[str, CollectionEntry], path: Path
) -> dict[str, str]:
    aliases = checked_json.field(data, "aliases", dict, path)
    for alias, target in aliases.items():
        if not isinstance(target, str):
            raise CorruptionError(str(path), 0, f"alias `{alias}` names no collection")
        if alias in entries:
            raise CorruptionError(str(path), 0, f"alias `{alias}` is also a collection's name")
    return aliases
