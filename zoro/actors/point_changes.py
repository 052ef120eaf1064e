"""Changes to points made against their current state: payload updates (set, overwrite, delete
keys, clear), update_vectors and delete_vectors, upserts with Qdrant's update_filter /
update_mode, and batches of Qdrant's update operations (any of these, and deletes).

None reaches the WAL as it was sent. Like a delete by filter, the commit loop resolves a change
at the moment it is logged, after every write ahead of it has been applied, into plain writes:
the points it deletes and the whole points it writes (vectors carried over, payload changed,
or payload carried over, vectors changed). Replay then needs neither the filters nor the state
the change was made against, and a payload path or filter rule changed by a later version of
Zoro cannot change what an old log replays to. The cost: a changed point gets a new slot, its
vectors copied and indexed again (a payload-only record keeping the slot would avoid it).

The operations of a batch are resolved in order against an overlay: the points earlier
operations wrote or deleted, over the store as it is. So each operation sees what the ones
before it did, as Qdrant applies them one after another. What the whole batch comes to is
logged as ONE record (a WriteGroup when it both deletes and writes), so that a crash keeps all
of it or none. As in Qdrant, a point asked for by id that does not exist stops the batch after
that operation (whose other points are written); the writer hears 404 naming it.

`resolve` is plain blocking code without trio: it only reads the store. The commit loop
evaluates each operation's filter on the store first (on the event loop) and runs `resolve`
in a worker thread while nothing applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import orjson

from zoro.actors.vector_changes import DeleteVectors, UpdateVectors, WholePoints
from zoro.payload import matches
from zoro.payload.edits import delete_at, merge, set_at
from zoro.sparse.vectors import SparseBatch
from zoro.types import (
    KEY_DTYPE,
    KEY_SIZE,
    DeleteBatch,
    DenseColumn,
    MultiColumn,
    SparseColumn,
    UpsertBatch,
    WriteGroup,
    id_of,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import numpy.typing as npt

    from zoro.payload import Condition
    from zoro.payload.edits import Path
    from zoro.storage import CollectionStore
    from zoro.types import Column, Keys, PointId, VectorConfig, WriteOp

    Mask = npt.NDArray[np.bool_]

UpdateMode = Literal["upsert", "insert_only", "update_only"]


@dataclass(frozen=True, slots=True, eq=False)
class Selector:
    """The points an operation changes: these ids (`keys`), or those `condition` selects."""

    keys: Keys | None = None
    condition: Condition | None = None


@dataclass(frozen=True, slots=True, eq=False)
class SetPayload:
    """Merge `payload` into each point's payload, or into the object at `path` in it."""

    payload: dict[str, Any]
    selector: Selector
    path: Path | None = None


@dataclass(frozen=True, slots=True, eq=False)
class OverwritePayload:
    payload: dict[str, Any]
    selector: Selector


@dataclass(frozen=True, slots=True, eq=False)
class DeletePayload:
    paths: tuple[Path, ...]
    selector: Selector


@dataclass(frozen=True, slots=True, eq=False)
class ClearPayload:
    selector: Selector


@dataclass(frozen=True, slots=True, eq=False)
class DeletePoints:
    selector: Selector


@dataclass(frozen=True, slots=True, eq=False)
class Upsert:
    """Write whole points. `condition` (update_filter): an existing point is replaced only if
    it satisfies it; `mode`: insert_only leaves existing points alone, update_only writes
    only points that exist. A point that does not exist is written whatever the filter."""

    batch: UpsertBatch
    condition: Condition | None = None
    mode: UpdateMode = "upsert"


PayloadOperation = SetPayload | OverwritePayload | DeletePayload | ClearPayload
Operation = (
    SetPayload
    | OverwritePayload
    | DeletePayload
    | ClearPayload
    | DeletePoints
    | Upsert
    | UpdateVectors
    | DeleteVectors
)


def condition_of(op: Operation) -> Condition | None:
    if isinstance(op, Upsert | UpdateVectors | DeleteVectors):
        return op.condition
    return op.selector.condition


@dataclass(frozen=True, slots=True, eq=False)
class PointChanges:
    """Operations resolved together and logged as one record (a batch; or a single one)."""

    operations: tuple[Operation, ...]

    def __len__(self) -> int:
        return sum(_points_in(op) for op in self.operations)

    def conditions(self) -> list[Condition | None]:
        return [condition_of(op) for op in self.operations]


def _points_in(op: Operation) -> int:
    if isinstance(op, Upsert):
        return len(op.batch)
    if isinstance(op, UpdateVectors):
        return len(op.changes)
    keys = op.keys if isinstance(op, DeleteVectors) else op.selector.keys
    return 1 if keys is None else len(keys)


@dataclass(frozen=True, slots=True, eq=False)
class Resolved:
    """What changes come to: `op`, the writes to log (None: nothing changes), and `missing`,
    the first point asked for by id that does not exist (the writer then hears 404)."""

    op: WriteOp | None
    missing: PointId | None


def resolve(
    changes: PointChanges,
    store: CollectionStore,
    selections: Sequence[Mask | None],
    config: VectorConfig,
) -> Resolved:
    """The plain writes `changes` come to on the store as it is now. `selections[i]`: the
    condition of operation i evaluated on the store now (a mask over slots), None without one.

    Blocking (reads vectors and payloads): call it while no apply runs. Raises
    StorageError/CorruptionError from the reads.
    """
    if len(changes.operations) == 1:
        alone = _resolve_alone(changes.operations[0], store, selections[0])
        if alone is not None:
            return alone
    overlay = _Overlay(store, config)
    for op, selected in zip(changes.operations, selections, strict=True):
        missing = overlay.apply(op, selected)
        if missing is not None:
            return Resolved(overlay.writes(), missing)
    return Resolved(overlay.writes(), None)


def _resolve_alone(op: Operation, store: CollectionStore, selected: Mask | None) -> Resolved | None:
    """A payload operation or a delete_vectors alone, by ids or by filter, needs no overlay:
    its points are read, changed and written column by column (the common case, and the big
    one: a change by filter). None: not such an operation (the overlay resolves it)."""
    if isinstance(op, DeleteVectors):
        keys, condition = op.keys, op.condition
    elif isinstance(op, PayloadOperation):
        keys, condition = op.selector.keys, op.selector.condition
    else:
        return None
    if keys is not None and condition is not None:
        return None
    missing = None
    if keys is None:
        assert selected is not None
        slots = np.flatnonzero(selected).astype(np.int64)
    else:
        _, first = np.unique(keys, return_index=True)
        keys = keys[np.sort(first)]
        slots = store.slots_of(keys)
        absent = np.flatnonzero(slots < 0)
        if len(absent):
            missing = id_of(_key_list(keys[absent[:1]])[0])
        slots = slots[slots >= 0]
    if not len(slots):
        return Resolved(None, missing)
    replaced = isinstance(op, OverwritePayload | ClearPayload)
    points = WholePoints.read(store, slots, with_payloads=not replaced)
    if isinstance(op, DeleteVectors):
        points.drop(op.numbers)
    else:
        points.payloads = _changed_payloads(op, points.payloads, len(slots))
    return Resolved(points.batch(), missing)


def _changed_payloads(op: PayloadOperation, payloads: list[bytes], n: int) -> list[bytes]:
    if isinstance(op, OverwritePayload):
        return [orjson.dumps(op.payload)] * n
    if isinstance(op, ClearPayload):
        return [b"{}"] * n
    out = []
    loads, dumps = orjson.loads, orjson.dumps
    for raw in payloads:
        payload = loads(raw)
        if isinstance(op, DeletePayload):
            for path in op.paths:
                delete_at(payload, path)
        elif op.path is None:
            merge(payload, op.payload)
        else:
            set_at(payload, op.path, op.payload)
        out.append(dumps(payload))
    return out


@dataclass(slots=True)
class _Point:
    """A point as earlier operations left it: vectors not in `vectors` are those of `slot`
    (-1: a new point, which carries only `vectors`); a vector mapped to None is removed.
    `payload`: None until read from `slot`, then the JSON bytes or, once changed, the object."""

    slot: int
    payload: bytes | dict[str, Any] | None
    vectors: dict[int, Any]


class _Overlay:
    def __init__(self, store: CollectionStore, config: VectorConfig) -> None:
        self._store = store
        self._config = config
        self.points: dict[bytes, _Point | None] = {}  # None: deleted

    # ------------------------------------------------------------ operations

    def apply(self, op: Operation, selected: Mask | None) -> PointId | None:
        """Apply one operation; return the first id it names that does not exist."""
        if isinstance(op, Upsert):
            self._upsert(op, selected)
            return None
        if isinstance(op, UpdateVectors):
            return self._update_vectors(op, selected)
        if isinstance(op, DeleteVectors):
            chosen, missing = self._chosen(Selector(op.keys, op.condition), selected)
            for key, point in chosen:
                point.vectors.update(dict.fromkeys(op.numbers))
                self.points[key] = point
            return missing
        chosen, missing = self._chosen(op.selector, selected)
        if isinstance(op, DeletePoints):
            self.points.update(dict.fromkeys(key for key, _ in chosen))
            return None  # Qdrant ignores ids it does not hold when deleting
        if isinstance(op, SetPayload | DeletePayload):
            self._read_payloads([point for _, point in chosen])
        shared = None
        if isinstance(op, OverwritePayload):
            shared = orjson.dumps(op.payload)
        elif isinstance(op, ClearPayload):
            shared = b"{}"
        for key, point in chosen:
            if shared is not None:
                point.payload = shared
            elif isinstance(op, SetPayload):
                payload = self._decoded(point)
                if op.path is None:
                    merge(payload, op.payload)
                else:
                    set_at(payload, op.path, op.payload)
            elif isinstance(op, DeletePayload):
                payload = self._decoded(point)
                for path in op.paths:
                    delete_at(payload, path)
            self.points[key] = point
        return missing

    def _upsert(self, op: Upsert, selected: Mask | None) -> None:
        batch = op.batch
        keys = _key_list(batch.keys)
        current = self._lookup(batch.keys)
        if op.condition is not None:
            self._read_payloads([p for p in current if p is not None])
        vectors = _vectors_of(batch, self._store)
        for i, key in enumerate(keys):
            point = self.points[key] if key in self.points else current[i]  # repeats see earlier
            if point is None:
                if op.mode == "update_only":
                    continue
            elif op.mode == "insert_only" or not self._holds(op.condition, selected, key, point):
                continue
            self.points[key] = _Point(-1, batch.payloads[i], vectors[i])

    def _update_vectors(self, op: UpdateVectors, selected: Mask | None) -> PointId | None:
        changes = op.changes
        keys = _key_list(changes.keys)
        current = self._lookup(changes.keys)
        if op.condition is not None:
            self._read_payloads([p for p in current if p is not None])
        vectors = _vectors_of(changes, self._store)
        missing = None
        for i, key in enumerate(keys):
            point = self.points[key] if key in self.points else current[i]
            if point is None:
                missing = id_of(key) if missing is None else missing
                continue
            if self._holds(op.condition, selected, key, point):
                point.vectors.update(vectors[i])
                self.points[key] = point
        return missing

    # ------------------------------------------------------------ finding points

    def _lookup(self, keys: Keys) -> list[_Point | None]:
        """Each key's point as it is now: the overlay's, else the store's (not yet copied in)."""
        slots = self._store.slots_of(keys).tolist()
        out: list[_Point | None] = []
        for raw, slot in zip(_key_list(keys), slots, strict=True):
            if raw in self.points:
                out.append(self.points[raw])
            else:
                out.append(_Point(slot, None, {}) if slot >= 0 else None)
        return out

    def _chosen(
        self, selector: Selector, selected: Mask | None
    ) -> tuple[list[tuple[bytes, _Point]], PointId | None]:
        """The points a selector picks (each once), and the first id it names that does not
        exist. Ids and a condition together: the ids that satisfy it."""
        if selector.keys is None:
            assert selector.condition is not None and selected is not None
            return self._selected(selector.condition, selected), None
        _, first = np.unique(selector.keys, return_index=True)
        keys = selector.keys[np.sort(first)]
        current = self._lookup(keys)
        if selector.condition is not None:
            self._read_payloads([p for p in current if p is not None])
        chosen, missing = [], None
        for raw, point in zip(_key_list(keys), current, strict=True):
            if point is None:
                missing = id_of(raw) if missing is None else missing
            elif self._holds(selector.condition, selected, raw, point):
                chosen.append((raw, point))
        return chosen, missing

    def _selected(self, condition: Condition, selected: Mask) -> list[tuple[bytes, _Point]]:
        """The points satisfying `condition` now: the store's selection for points no earlier
        operation touched, the condition checked again on those one did."""
        slots = np.flatnonzero(selected)
        keys = _key_list(self._store.keys_of_slots(slots))
        touched = self.points
        out = [
            (raw, _Point(slot, None, {}))
            for raw, slot in zip(keys, slots.tolist(), strict=True)
            if raw not in touched
        ]
        again = [(k, p) for k, p in touched.items() if p is not None]
        self._read_payloads([p for _, p in again])
        out += [(k, p) for k, p in again if self._matches(condition, k, p)]
        return out

    def _holds(
        self, condition: Condition | None, selected: Mask | None, key: bytes, point: _Point
    ) -> bool:
        """Does a point satisfy an operation's condition (True without one)?"""
        if condition is None:
            return True
        if key in self.points:
            return self._matches(condition, key, point)
        assert selected is not None
        return bool(selected[point.slot])

    def _matches(self, condition: Condition, key: bytes, point: _Point) -> bool:
        return matches(condition, self._decoded(point), key, self._carries(point))

    def _carries(self, point: _Point) -> Callable[[str], bool]:
        def carries(name: str) -> bool:
            spec = self._config.dense.get(name) or self._config.sparse.get(name)
            if spec is None:
                return False
            if spec.number in point.vectors:
                return point.vectors[spec.number] is not None
            return point.slot >= 0 and bool(self._store.present_mask(spec.number)[point.slot])

        return carries

    # ------------------------------------------------------------ payloads

    def _read_payloads(self, points: Sequence[_Point]) -> None:
        """Read the payloads of these points that are not read yet, in one call."""
        unread = [p for p in points if p.payload is None]
        if unread:
            slots = np.fromiter((p.slot for p in unread), dtype=np.int64, count=len(unread))
            for point, raw in zip(unread, self._store.payloads_of_slots(slots), strict=True):
                point.payload = raw

    def _decoded(self, point: _Point) -> dict[str, Any]:
        if point.payload is None:
            self._read_payloads([point])
        if not isinstance(point.payload, dict):
            assert point.payload is not None
            point.payload = orjson.loads(point.payload)
        assert isinstance(point.payload, dict)
        return point.payload

    # ------------------------------------------------------------ what it comes to

    def writes(self) -> WriteOp | None:
        deleted = [k for k, p in self.points.items() if p is None]
        written = [(k, p) for k, p in self.points.items() if p is not None]
        ops: list[UpsertBatch | DeleteBatch] = []
        if deleted:
            ops.append(DeleteBatch(np.array(deleted, dtype=KEY_DTYPE)))
        if written:
            ops.append(self._batch(written))
        if len(ops) < 2:
            return ops[0] if ops else None
        return WriteGroup(tuple(ops))

    def _batch(self, written: list[tuple[bytes, _Point]]) -> UpsertBatch:
        """The whole points, in the general form: each vector from the change or the slot."""
        store, layout = self._store, self._store.layout
        points = [p for _, p in written]
        self._read_payloads(points)
        n = len(points)
        slots = np.fromiter((p.slot for p in points), dtype=np.int64, count=n)
        columns: dict[int, Column] = {}
        for number, size in layout.dense.items():
            present, from_slot = self._carried(points, slots, number)
            rows = np.zeros((n, size), dtype=np.float32)
            if len(from_slot):
                rows[from_slot] = store.vectors_of_slots(slots[from_slot], number)
            for i, point in enumerate(points):
                value = point.vectors.get(number)
                if value is not None:
                    rows[i] = value
            columns[number] = DenseColumn(present, np.ascontiguousarray(rows[present]))
        for number in layout.sparse:
            sparse = self._values(points, slots, number, store.sparse_of_slots)
            carried = np.array([v is not None for v in sparse], dtype=np.bool_)
            kept = [v for v in sparse if v is not None]
            columns[number] = SparseColumn(
                carried, SparseBatch.concat(kept) if kept else SparseBatch.empty()
            )
        for number, size in layout.multi.items():
            matrices = self._values(points, slots, number, store.multi_of_slots)
            carried = np.array([m is not None for m in matrices], dtype=np.bool_)
            kept = [m for m in matrices if m is not None]
            counts = np.array([len(m) for m in kept], dtype=np.int64)
            stacked = np.concatenate(kept) if kept else np.empty((0, size), dtype=np.float32)
            columns[number] = MultiColumn(carried, counts, stacked)
        payloads = [
            p.payload if isinstance(p.payload, bytes) else orjson.dumps(p.payload) for p in points
        ]
        keys = np.array([k for k, _ in written], dtype=KEY_DTYPE)
        return UpsertBatch(keys, None, payloads, MappingProxyType(columns))

    def _carried(
        self, points: list[_Point], slots: npt.NDArray[np.int64], number: int
    ) -> tuple[Mask, npt.NDArray[np.int64]]:
        """Which points carry vector `number`, and which take it from their slot."""
        changed = np.array([number in p.vectors for p in points], dtype=np.bool_)
        from_slot = np.flatnonzero(~changed & (slots >= 0))
        present = np.array([p.vectors.get(number) is not None for p in points], dtype=np.bool_)
        if len(from_slot):
            present[from_slot] = self._store.present_mask(number)[slots[from_slot]]
        return present, from_slot

    def _values(
        self,
        points: list[_Point],
        slots: npt.NDArray[np.int64],
        number: int,
        read: Callable[[npt.NDArray[np.int64], int], list[Any]],
    ) -> list[Any]:
        """Sparse or multivector `number` of each point (None where it lacks it)."""
        _, from_slot = self._carried(points, slots, number)
        values: list[Any] = [p.vectors.get(number) for p in points]
        for i, value in zip(from_slot.tolist(), read(slots[from_slot], number), strict=True):
            values[i] = value
        return values


def _key_list(keys: Keys) -> list[bytes]:
    """Keys as 17-byte strings (numpy's own bytes drop trailing zeros), without a loop."""
    return list(np.ascontiguousarray(keys, dtype=KEY_DTYPE).view(_WHOLE_KEY).tolist())


_WHOLE_KEY = np.dtype((np.void, KEY_SIZE))


def _vectors_of(batch: UpsertBatch, store: CollectionStore) -> list[dict[int, Any]]:
    """Each point's vectors in `batch`, by number: a dense row, a one-row SparseBatch or a
    matrix (numbers the store does not keep are left out)."""
    out: list[dict[int, Any]] = [{} for _ in range(len(batch))]
    layout = store.layout
    for number in (*layout.dense, *layout.sparse, *layout.multi):
        column = batch.column(number)
        if column is None:
            continue
        carried = np.flatnonzero(column.present).tolist()
        if isinstance(column, DenseColumn):
            for j, i in enumerate(carried):
                out[i][number] = column.rows[j]
        elif isinstance(column, SparseColumn):
            for j, i in enumerate(carried):
                out[i][number] = column.rows.rows(np.array([j], dtype=np.int64))
        else:
            ends = np.cumsum(column.counts).tolist()
            for j, i in enumerate(carried):
                out[i][number] = column.rows[ends[j] - int(column.counts[j]) : ends[j]]
    return out
