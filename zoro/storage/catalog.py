"""<data>/catalog: which collections exist. The source of truth for collection existence.

A checked JSON document (see zoro.checked_json), replaced atomically on every change:

    {"format": "zoro-catalog", "version": 2, "collections": [
        {"id": "<uuid4 hex>", "name": "...",
         "vectors": {"<name>": {"number": 0, "size": 128, "distance": "Cosine",
                                "options": {...as sent...}, "multivector": false}, ...},
         "sparse_vectors": {"<name>": {"number": 1, "idf": false}, ...},
         "unnamed": true, "next_number": 2,
         "created_at": 1767225600.0, "state": "creating" | "ready" | "deleting",
         "engine": {...opaque engine settings...}}, ...]}

Version 1 entries had "dimension" and "distance" for the one unnamed vector instead of
"vectors", "sparse_vectors" and "unnamed"; they are still read (as that one vector, number 0).

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
from zoro.errors import CollectionExists, CollectionNotFound, CorruptionError, storage_error
from zoro.fsutil import fsync_dir, make_dirs
from zoro.types import DenseSpec, Distance, SparseSpec, VectorConfig

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

FORMAT: Final = "zoro-catalog"
VERSION: Final = 2
_READS: Final = (1, 2)
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
            return cls(
                id=checked_json.field(data, "id", str, path),
                name=checked_json.field(data, "name", str, path),
                vectors=vectors,
                created_at=checked_json.field(data, "created_at", float, path),
                state=CollectionState(checked_json.field(data, "state", str, path)),
                engine=MappingProxyType(checked_json.field(data, "engine", dict, path)),
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

    def __init__(self, data_dir: Path, entries: dict[str, CollectionEntry]) -> None:
        self._dir = data_dir
        self._entries = entries  # by name, every state; replaced whole, never changed in place
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
            if path.exists():
                entries = _read(path)
            elif any(collections.iterdir()):
                raise CorruptionError(str(path), 0, "catalog missing but collections exist")
            else:
                entries = {}
            catalog = cls(data_dir, entries)
            catalog._recover(changed=not path.exists())
        except OSError as exc:
            raise storage_error(exc, f"opening the catalog in {data_dir}") from exc
        return catalog

    def _recover(self, *, changed: bool) -> None:
        for entry in self._entries.values():
            if entry.state is not CollectionState.READY:
                self._remove_dir(self.collection_dir(entry))
                changed = True
        ready = {n: e for n, e in self._entries.items() if e.state is CollectionState.READY}
        self._entries = ready
        known = {entry.id for entry in ready.values()}
        for child in (self._dir / COLLECTIONS).iterdir():
            if child.is_dir() and child.name not in known:
                self._remove_dir(child)
        if changed:
            self._write(self._entries)
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

    def collection_dir(self, entry: CollectionEntry) -> Path:
        return self._dir / COLLECTIONS / entry.id

    # ---------------------------------------------------------------- changes

    def begin_create(
        self, name: str, vectors: VectorConfig, engine: Mapping[str, object]
    ) -> CollectionEntry:
        """Durably record a 'creating' entry. Raises CollectionExists if the name is taken in
        any state (a collection being deleted still holds its name until it is gone)."""
        with self._lock:
            if name in self._entries:
                raise CollectionExists(name)
            entry = CollectionEntry(
                id=uuid.uuid4().hex,
                name=name,
                vectors=vectors,
                created_at=time.time(),
                state=CollectionState.CREATING,
                engine=MappingProxyType(dict(engine)),
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
                self._write(remaining)
            except OSError as exc:
                raise storage_error(exc, f"rolling back the creation of `{name}`") from exc
            finally:
                self._entries = remaining

    def begin_delete(self, name: str) -> CollectionEntry:
        """'ready' -> 'deleting', durably; an entry already 'deleting' (a delete that failed
        half-way) is returned as it is, to be finished. Raises CollectionNotFound if there is no
        such collection."""
        entry = self._entries.get(name)
        if entry is not None and entry.state is CollectionState.DELETING:
            return entry
        return self._set_state(name, CollectionState.READY, CollectionState.DELETING)

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
        with self._lock:
            entry = self._entries.get(name)
            if entry is None or entry.state is not CollectionState.READY:
                raise CollectionNotFound(name)
            entry = replace(entry, vectors=vectors)
            self._commit({**self._entries, name: entry})
        return entry

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

    def _commit(self, entries: dict[str, CollectionEntry]) -> None:
        """Write the catalog, then adopt it: on failure both stay as they were."""
        try:
            self._write(entries)
        except OSError as exc:
            raise storage_error(exc, "writing the catalog") from exc
        self._entries = entries

    def _write(self, entries: dict[str, CollectionEntry]) -> None:
        collections = [entries[name].to_json() for name in sorted(entries)]
        checked_json.write(
            self._dir / CATALOG, {"format": FORMAT, "version": VERSION, "collections": collections}
        )

    def _remove_dir(self, directory: Path) -> None:
        """rmtree, then make the removal durable: a crash after this never resurrects files."""
        if directory.exists():
            shutil.rmtree(directory)
        fsync_dir(directory.parent)


def _read(path: Path) -> dict[str, CollectionEntry]:
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
    return entries
