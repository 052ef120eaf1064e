"""A collection's payload indexes: which exist, their state, and their files.

    <collection>/payload/schema       checked JSON: {"format": 1 or 2, "next",
                                      "fields": {key: {"schema", "file"[, "params"]}}} (format
                                      is the version; any other is refused). Version 2 adds the
                                      text and geo schemas and a text index's "params"
                                      (Qdrant's TextIndexParams); a schema with neither is
                                      still written as 1.
    <collection>/payload/<file>.npz   one index's arrays as of a checkpoint (zip members carry a
                                      CRC32), with the slot limit they cover

The schema file is the truth about which indexes exist; it is replaced atomically when one is
created or dropped. An index file is only an accelerator: a missing, damaged or mismatched one
is rebuilt from the payload source file, and one that covers fewer slots than the store is
caught up by indexing the slots after its limit.

Threads: the actor mutates this object on its event loop only (declare/drop bookkeeping, `add`,
`install`); `build_index` and `write_snapshot` run in worker threads on inputs that do not
change under them (payload records below a slot limit, arrays copied by `snapshot`).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt
import orjson

from zoro import checked_json
from zoro.errors import CorruptionError
from zoro.fsutil import atomic_write, fsync_dir, make_dirs
from zoro.payload.conditions import KeyPath, keys_in, parse_key
from zoro.payload.field_index import INDEX_CLASSES as VALUE_INDEX_CLASSES
from zoro.payload.field_index import FieldIndex
from zoro.payload.geo_index import GeoIndex
from zoro.payload.text_index import POSITION_BITS, POSITION_MASK, TextIndex
from zoro.payload.tokenize import TextParams, Tokenizer, parse_params, tokenizer_for

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path

    from zoro.payload.conditions import Condition
    from zoro.payload.select import PayloadSource

log = logging.getLogger(__name__)

DIRECTORY: Final = "payload"
SCHEMA_FILE: Final = "schema"
FORMAT: Final = 1  # of the index files (and of a schema file without params)
SCHEMA_FORMATS: Final = (1, 2)  # of the schema file: 2 when a field carries params
CHUNK_SLOTS: Final = 8192
# the arrays() entries that are slot numbers, in every index kind (renumber remaps them)
SLOT_COLUMNS: Final = frozenset({"holders", "others", "slots", "multi"})
# Keys seen in filters without an index, reported in the collection info (bounded).
MAX_UNINDEXED_KEYS: Final = 32

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

# The index classes built from a key alone: the value indexes and the geo index (each in its
# own module). A text index also takes its params (see `_new_index`).
INDEX_CLASSES: Final[dict[str, type[FieldIndex]]] = {
    **VALUE_INDEX_CLASSES,
    GeoIndex.schema: GeoIndex,
}
SCHEMAS: Final = (*INDEX_CLASSES, TextIndex.schema)


@dataclass(slots=True)
class _Field:
    key: KeyPath
    schema: str
    file: str
    index: FieldIndex | None  # None while it is being built
    params: TextParams | None = None  # a text index's settings


@dataclass(frozen=True, slots=True)
class FieldInfo:
    key: str
    schema: str
    ready: bool
    points: int  # live points holding at least one indexed value
    entries: int  # (value, slot) pairs, dead slots included
    memory_bytes: int
    params: dict[str, Any]  # the index's params as Qdrant shows them


def schema_path(collection_dir: Path) -> Path:
    """A collection's payload index schema file (a follower watches it for changes)."""
    return collection_dir / DIRECTORY / SCHEMA_FILE


def new_index(schema: str, key: KeyPath, params: TextParams | None = None) -> FieldIndex:
    if schema == TextIndex.schema:
        return TextIndex(key, params)
    return INDEX_CLASSES[schema](key)


def shown_params(schema: str, params: TextParams | None) -> dict[str, Any]:
    return params.to_json() if params is not None else {"type": schema}


class BuildStopped(Exception):
    """A build was asked to stop (its collection is closing)."""


def index_slots(
    index: FieldIndex,
    slots: I64,
    source: PayloadSource,
    stopped: Callable[[], bool] = lambda: False,
) -> None:
    """Add these slots (ascending) to `index`, reading their payloads from the store."""
    for start in range(0, len(slots), CHUNK_SLOTS):
        if stopped():
            raise BuildStopped
        part = slots[start : start + CHUNK_SLOTS]
        index.add(part.tolist(), [orjson.loads(p) for p in source.payloads_of_slots(part)])


def build_index(
    schema: str,
    key_text: str,
    limit: int,
    source: PayloadSource,
    stopped: Callable[[], bool] = lambda: False,
    params: TextParams | None = None,
) -> FieldIndex:
    """A new index over slots [0, limit) (a worker thread: those records never change).
    Checks `stopped` between chunks and raises BuildStopped when it says so."""
    index = new_index(schema, parse_key(key_text), params)
    index_slots(index, np.arange(limit, dtype=np.int64), source, stopped)
    return index


class PayloadIndexes:
    def __init__(self, directory: Path) -> None:
        self._dir = directory / DIRECTORY
        self._fields: dict[str, _Field] = {}
        self._next_file = 0
        self.unindexed_keys: set[str] = set()
        self.version = 0  # bumped by every change; a snapshot of an unchanged version is skipped

    # --- what exists --------------------------------------------------------------------------

    def ready_index(self, key_text: str) -> FieldIndex | None:
        field = self._fields.get(key_text)
        return None if field is None else field.index

    def any_ready(self) -> bool:
        return any(f.index is not None for f in self._fields.values())

    def renumber(self, remap: I64, keep: Mask) -> None:
        """Storage renumbered its slots (a compaction's switch): slot s is now `remap[s]` (-1:
        gone). Each ready index is remade from its entries for the slots in `keep` (the old
        live mask, all of whose slots survive), through the remap; an index still being built
        stays pending (the caller restarts its build over the new slots). Event loop."""
        for field in self._fields.values():
            if field.index is None:
                continue
            data = field.index.arrays(keep)
            for name in SLOT_COLUMNS & data.keys():
                data[name] = remap[data[name]]
            if "positions" in data:  # a text index's (slot << bits | position) entries
                positions = data["positions"]
                slots = remap[positions >> POSITION_BITS]
                data["positions"] = (slots << POSITION_BITS) | (positions & POSITION_MASK)
            index = new_index(field.schema, field.key, field.params)
            index.load_arrays(data)
            field.index = index
        self.version += 1

    def pending(self) -> list[tuple[str, str, TextParams | None]]:
        """(key, schema, params) of every index waiting to be built."""
        return [(k, f.schema, f.params) for k, f in self._fields.items() if f.index is None]

    def schema_of(self, key_text: str) -> str | None:
        field = self._fields.get(key_text)
        return None if field is None else field.schema

    def text_tokenizer(self, key_text: str) -> Tokenizer | None:
        """The tokenizer of the text index declared on this key (built or not), if any: full-text
        conditions on the key tokenize with it everywhere, index or scan."""
        field = self._fields.get(key_text)
        if field is None or field.schema != TextIndex.schema:
            return None
        return tokenizer_for(field.params or TextParams())

    def note_filter(self, condition: Condition) -> None:
        """Remember the keys this filter reads that have no index (for the collection info)."""
        for key in keys_in(condition):
            if key.text not in self._fields and len(self.unindexed_keys) < MAX_UNINDEXED_KEYS:
                self.unindexed_keys.add(key.text)

    def info(self, live: Mask) -> list[FieldInfo]:
        out = []
        for text, f in sorted(self._fields.items()):
            index = f.index
            points = 0
            if index is not None:
                holders = index.holders()
                holders = holders[holders < len(live)]
                points = int(np.count_nonzero(live[holders]))
            out.append(
                FieldInfo(
                    key=text,
                    schema=f.schema,
                    ready=index is not None,
                    points=points,
                    entries=0 if index is None else index.entries,
                    memory_bytes=0 if index is None else index.memory_bytes(),
                    params=shown_params(f.schema, f.params),
                )
            )
        return out

    # --- changes (event loop) -----------------------------------------------------------------

    def change(
        self, key_text: str, schema: str | None, params: TextParams | None = None
    ) -> Callable[[], None] | None:
        """Declare an index (built later; a key with another schema or other params is
        redefined), or drop one (schema None). A text index takes `params` (None: the
        defaults). Returns a function that undoes the change (if persisting it fails), or None
        when nothing changed. Raises ValueError for an unknown schema or a bad key."""
        if schema is not None and schema not in SCHEMAS:
            raise ValueError(f"field_schema: unknown type {schema!r}; one of {', '.join(SCHEMAS)}")
        if params is not None and schema != TextIndex.schema:
            raise ValueError(f"field_schema: text index params given for a {schema} index")
        if schema == TextIndex.schema and params is None:
            params = TextParams()
        try:
            key = parse_key(key_text)
        except ValueError as exc:
            raise ValueError(f"field_name: {exc}") from None
        before = self._fields.get(key.text)
        if schema is None:
            if before is None:
                return None
            del self._fields[key.text]
        else:
            if before is not None and before.schema == schema and before.params == params:
                return None
            self._fields[key.text] = _Field(key, schema, f"f{self._next_file}", None, params)
            self._next_file += 1
            self.unindexed_keys.discard(key.text)
        self.version += 1

        def undo() -> None:
            if before is None:
                self._fields.pop(key.text, None)
            else:
                self._fields[key.text] = before

        return undo

    def add(self, slots: I64, payloads: list[bytes]) -> None:
        """Index new slots (ascending) in every ready index."""
        ready = [f.index for f in self._fields.values() if f.index is not None]
        if not ready or not len(slots):
            return
        decoded = [orjson.loads(p) for p in payloads]
        as_list = slots.tolist()
        for index in ready:
            index.add(as_list, decoded)
        self.version += 1

    def install(
        self, key_text: str, schema: str, index: FieldIndex, params: TextParams | None = None
    ) -> bool:
        """Swap in a finished build, unless the index was dropped or redefined meanwhile."""
        field = self._fields.get(key_text)
        if field is None or field.schema != schema or field.index is not None:
            return False
        if field.params != params:
            return False
        field.index = index
        self.version += 1
        return True

    # --- files --------------------------------------------------------------------------------

    def write_schema(self) -> None:
        """Persist which indexes exist (atomic). Raises OSError."""
        make_dirs(self._dir)  # its entry in the collection directory must be durable too
        fields: dict[str, dict[str, Any]] = {}
        for k, f in self._fields.items():
            fields[k] = {"schema": f.schema, "file": f.file}
            if f.params is not None:
                fields[k]["params"] = f.params.to_json()
        # Version 1 readers know only the value schemas: a text or geo index makes it version 2,
        # which they refuse by its version rather than as a damaged entry.
        newer = any(f.schema not in VALUE_INDEX_CLASSES for f in self._fields.values())
        version = 2 if newer else 1
        checked_json.write(
            self._dir / SCHEMA_FILE, {"format": version, "fields": fields, "next": self._next_file}
        )
        self._remove_stray_files()

    def snapshot(
        self, live: Mask, files: int = 0
    ) -> list[tuple[Path, dict[str, npt.NDArray[Any]]]]:
        """Copies of every ready index's arrays for the live slots below len(live), the
        checkpoint's slot limit, numbered in storage file generation `files` (taken on the
        event loop)."""
        out = []
        limit = len(live)
        for text, f in self._fields.items():
            if f.index is None:
                continue
            arrays = f.index.arrays(live)
            arrays["meta"] = np.frombuffer(
                orjson.dumps(
                    {"key": text, "schema": f.schema, "limit": limit, "format": FORMAT}
                    | ({"files": files} if files else {})
                ),
                dtype=np.uint8,
            )
            out.append((self._dir / f"{f.file}.npz", arrays))
        return out

    @staticmethod
    def write_snapshot(files: list[tuple[Path, dict[str, npt.NDArray[Any]]]]) -> None:
        """Write snapshot files atomically (a worker thread). Raises OSError."""
        for path, arrays in files:
            buffer = io.BytesIO()
            np.savez(buffer, allow_pickle=False, **_storable(arrays))
            make_dirs(path.parent)
            atomic_write(path, buffer.getvalue())

    @classmethod
    def open(
        cls,
        directory: Path,
        slot_count: int,
        source: PayloadSource,
        files: int = 0,
        *,
        follow: bool = False,
    ) -> PayloadIndexes:
        """Read the schema and load each index file, caught up to `slot_count` slots of storage
        file generation `files`. An index whose file is unusable (or numbers the slots of
        another generation) is left to be rebuilt (`pending`). Raises CorruptionError if the
        schema file itself is damaged: it alone says which indexes exist. `follow`: a
        follower's (docs/workers.md), which removes no stray file."""
        self = cls(directory)
        path = self._dir / SCHEMA_FILE
        if not path.exists():
            return self
        data = checked_json.read(path)
        checked_json.check_version(data, path, SCHEMA_FORMATS, key="format")
        fields = data.get("fields")
        if not isinstance(fields, dict) or not isinstance(data.get("next"), int):
            raise CorruptionError(str(path), 0, "not a payload index schema")
        self._next_file = int(data["next"])  # type: ignore[call-overload]
        for text, spec in fields.items():
            if not isinstance(spec, dict) or spec.get("schema") not in SCHEMAS:
                raise CorruptionError(str(path), 0, f"bad entry for key {text!r}")
            key = parse_key(text)
            params = None
            if spec["schema"] == TextIndex.schema:
                try:
                    params = parse_params(spec.get("params", "text"))
                except ValueError as exc:
                    raise CorruptionError(str(path), 0, f"key {text!r}: {exc}") from None
            field = _Field(key, spec["schema"], str(spec["file"]), None, params)
            field.index = self._load(field, slot_count, source, files)
            self._fields[key.text] = field
        if not follow:
            self._remove_stray_files()
        return self

    def _load(
        self, field: _Field, slot_count: int, source: PayloadSource, files: int
    ) -> FieldIndex | None:
        path = self._dir / f"{field.file}.npz"
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {name: z[name] for name in z.files}
            meta = orjson.loads(arrays.pop("meta").tobytes())
            expected = {"key": field.key.text, "schema": field.schema, "format": FORMAT}
            if (
                any(meta.get(k) != v for k, v in expected.items())
                or meta["limit"] > slot_count
                or meta.get("files", 0) != files
            ):
                raise ValueError(f"made for {meta}")
            index = new_index(field.schema, field.key, field.params)
            index.load_arrays(_loaded(arrays))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, orjson.JSONDecodeError) as exc:
            log.warning("payload index %s (%s) unusable, rebuilding: %s", field.key.text, path, exc)
            return None
        index_slots(index, np.arange(meta["limit"], slot_count, dtype=np.int64), source)
        return index

    def _remove_stray_files(self) -> None:
        """Delete index files no declared index uses (dropped ones). Best effort."""
        keep = {f"{f.file}.npz" for f in self._fields.values()} | {SCHEMA_FILE}
        with contextlib.suppress(OSError):
            removed = False
            for entry in os.scandir(self._dir):
                if entry.name not in keep:
                    os.unlink(entry.path)
                    removed = True
            if removed:
                fsync_dir(self._dir)

    def keys(self) -> Iterable[str]:
        return self._fields.keys()


def _storable(arrays: dict[str, npt.NDArray[Any]]) -> dict[str, npt.NDArray[Any]]:
    """Object arrays (keyword values) as UTF-8 bytes plus lengths, so no pickle is needed."""
    out = dict(arrays)
    values = arrays.get("values")
    if values is not None and values.dtype == object:
        encoded = [str(v).encode() for v in values.tolist()]
        out["values"] = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        out["value_lengths"] = np.array([len(e) for e in encoded], dtype=np.int64)
    return out


def _loaded(arrays: dict[str, npt.NDArray[Any]]) -> dict[str, npt.NDArray[Any]]:
    lengths = arrays.pop("value_lengths", None)
    if lengths is not None:
        raw = arrays["values"].tobytes()
        ends = np.cumsum(lengths).tolist()
        starts = [0, *ends[:-1]]
        arrays["values"] = np.array(
            [raw[s:e].decode() for s, e in zip(starts, ends, strict=True)], dtype=object
        )
    return arrays
