"""Open a collection's durable state: the store as of its checkpoint and the WAL replayed after it,
then the structures built on it (the ANN index, the payload indexes).

Plain blocking code: the actor runs it in a worker thread; crash tests and benches call it directly.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from zoro.actors.vector_changes import remove_dropped_indexes
from zoro.ann import SegmentedIndex
from zoro.errors import CorruptionError, SparseIndexDamaged
from zoro.multi import MultiIndex
from zoro.payload import PayloadIndexes, build_index
from zoro.sparse import SparseIndex
from zoro.storage import CollectionStore, Layout
from zoro.wal import WalTail, WalWriter, recover, replay

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from zoro.settings import AnnSettings, Settings
    from zoro.storage import CollectionEntry
    from zoro.storage.records import ApplyResult, VectorChange
    from zoro.types import WriteOp

log = logging.getLogger(__name__)

REPLAY_CHUNK_POINTS = 50_000
REPLAY_CHUNK_RECORDS = 256  # a follower's catch-up at open, applied this many records at a time


@dataclass(slots=True)
class RecoveryProgress:
    """How far an opening has replayed the WAL: written by the opening's thread, read by the
    event loop for /metrics (two ints, each written whole)."""

    records_to_replay: int = 0  # after the checkpoint, as far as the WAL reaches
    records_replayed: int = 0


@dataclass(slots=True)
class Durable:
    store: CollectionStore
    wal: WalWriter
    replayed_records: int
    truncated_bytes: int

    def close(self) -> None:
        self.wal.close()
        self.store.close()


def open_durable(
    directory: Path,
    layout: Layout | int,
    settings: Settings,
    progress: RecoveryProgress | None = None,
) -> Durable:
    """Open the store, cut a torn WAL tail, replay every record after the checkpoint (and say
    how far it has come in `progress`).

    Raises CorruptionError (naming file and offset) for damage that is not a torn tail, and for a
    WAL that does not continue exactly where the checkpoint ends.
    """
    store = CollectionStore.open(directory, layout, settings.storage)
    try:
        wal_dir = directory / "wal"
        recovery = recover(wal_dir)
        progress = progress or RecoveryProgress()
        progress.records_to_replay = max(0, recovery.last_lsn - store.checkpoint_lsn)
        replayed = _replay_into(store, wal_dir, progress)
        next_lsn = max(recovery.last_lsn, store.applied_lsn) + 1
        wal = WalWriter(wal_dir, next_lsn=next_lsn, settings=settings.wal)
    except BaseException:
        store.close()
        raise
    if replayed:
        log.info(
            "%s: replayed %d WAL records up to LSN %d", directory.name, replayed, store.applied_lsn
        )
    return Durable(store, wal, replayed, recovery.truncated_bytes)


def _replay_into(store: CollectionStore, wal_dir: Path, progress: RecoveryProgress) -> int:
    expected = store.checkpoint_lsn + 1
    chunk: list[tuple[int, WriteOp]] = []
    points = 0
    for lsn, op in replay(wal_dir, store.checkpoint_lsn):
        if lsn != expected:
            raise CorruptionError(str(wal_dir), 0, f"WAL jumps from LSN {expected - 1} to {lsn}")
        expected += 1
        chunk.append((lsn, op))
        points += len(op)
        if points >= REPLAY_CHUNK_POINTS:
            store.apply_many(chunk)
            chunk, points = [], 0
            progress.records_replayed = expected - 1 - store.checkpoint_lsn
    if chunk:
        store.apply_many(chunk)
    progress.records_replayed = expected - 1 - store.checkpoint_lsn
    return progress.records_replayed


@dataclass(slots=True)
class Indexed:
    """A collection's store and the indexes over it. `indexes`: one ANN index per dense
    vector, `sparse`: one inverted index per sparse vector, `multi`: one MaxSim index per
    multivector, by vector number."""

    store: CollectionStore
    indexes: dict[int, SegmentedIndex]
    sparse: dict[int, SparseIndex]
    multi: dict[int, MultiIndex]
    payload: PayloadIndexes

    def apply(self, items: list[tuple[int, WriteOp]]) -> ApplyResult:
        """Apply durable writes to the store and every index. Synchronous: no reader sees
        half. Raises what the store's apply raises (then reopen: an index may hold part)."""
        result = self.store.apply_many(items)
        every: list[tuple[int, SegmentedIndex | SparseIndex | MultiIndex]] = [
            *self.indexes.items(),
            *self.sparse.items(),
            *self.multi.items(),
        ]
        for number, index in every:
            change = result.vectors[number]
            if len(change.removed_slots):
                index.remove(change.removed_slots)
            if len(change.added_slots):
                _add(index, change)
        if len(result.added_slots) and self.payload.any_ready():
            self.payload.add(result.added_slots, list(result.added_payloads))
        return result

    def close(self) -> None:
        self.store.close()


@dataclass(slots=True)
class Opened(Indexed):
    """A recovered collection: what its actor owns while it serves."""

    wal: WalWriter
    replayed_records: int

    def close(self) -> None:
        self.wal.close()
        self.store.close()


@dataclass(slots=True)
class Followed(Indexed):
    """A follower's replica of a collection (docs/workers.md): the owner's files opened
    read-only, and the WAL tail applied in memory through `tail.last_lsn`."""

    tail: WalTail

    def close(self) -> None:
        self.tail.close()
        self.store.close()


def ann_dir(directory: Path, number: int) -> Path:
    """Dense vector 0's ANN files stay where version 1 kept them."""
    return directory / ("ann" if number == 0 else f"ann.{number}")


def sparse_dir(directory: Path, number: int) -> Path:
    """Where sparse vector `number`'s saved inverted index lives (zoro.sparse.persist)."""
    return directory / f"sparse.{number}"


def open_sparse_index(path: Path, store: CollectionStore, number: int) -> SparseIndex:
    """Sparse vector `number`'s inverted index: the saved one caught up with the store (the
    slots deleted since it was saved removed, those written since added from the source
    file), or, when there is none or it does not fit the store, one rebuilt from the source
    rows. The saved file is only an accelerator: the source rows are the truth."""
    try:
        index = SparseIndex.load(path, store.file_generation)
        horizon = index.covered_slots
        if horizon > store.slot_count():
            raise SparseIndexDamaged(
                str(path), 0, f"covers {horizon} slots, the collection has {store.slot_count()}"
            )
        held = index.contains(np.arange(horizon, dtype=np.int64))
        carried = (store.live_mask() & store.present_mask(number))[:horizon]
        if bool(np.any(carried & ~held)):
            raise SparseIndexDamaged(str(path), 0, "lacks live points saved before it")
        index.remove(np.flatnonzero(held & ~carried))
        for slots, batch in store.sparse_rows(number, first_slot=horizon):
            index.add(slots, batch)
        return index
    except (SparseIndexDamaged, OSError) as exc:
        if any(path.glob("sparse*.index")):
            log.warning("rebuilding sparse vector %d's index from its source rows: %s", number, exc)
    index = SparseIndex()
    for slots, batch in store.sparse_rows(number):
        index.add(slots, batch)
    index.compact()
    return index


def open_collection(
    entry: CollectionEntry,
    directory: Path,
    settings: Settings,
    progress: RecoveryProgress | None = None,
) -> Opened:
    """Open the durable state (see `open_durable`), then load the ANN indexes and the payload
    indexes over it and build the sparse and multivector indexes from their files. Blocking
    (seconds for a big collection): run it in a worker thread."""
    durable = open_durable(directory, Layout.of(entry.vectors), settings, progress)
    try:
        remove_dropped_indexes(directory, entry.vectors)  # the store removed their other files
        parts = _open_indexes(entry, directory, settings, durable.store, follow=False)
    except BaseException:
        durable.close()
        raise
    return Opened(*parts, durable.wal, durable.replayed_records)


def build_payload_indexes(replica: Followed) -> None:
    """Build every payload index the replica's schema declares and its files do not hold
    yet, before the replica serves (blocking: its open's worker thread). The owner answers
    an index change with wait=true once the index is built, so a follower's read barrier,
    which waits for the replica with that schema, then finds it built here too."""
    store, payload = replica.store, replica.payload
    for key, schema, params in payload.pending():
        index = build_index(schema, key, store.slot_count(), store, params=params)
        payload.install(key, schema, index, params)


def open_follower(
    entry: CollectionEntry, directory: Path, settings: Settings, through_lsn: int
) -> Followed:
    """A follower's replica (docs/workers.md): the store as of its checkpoint, opened
    read-only, with the indexes over it, caught up with the WAL through `through_lsn` (an LSN
    the owner has published as applied). Writes no file. Blocking: run it in a worker thread.
    Raises FollowerBehind when the owner's files or WAL moved on meanwhile (open again)."""
    store = CollectionStore.open(directory, Layout.of(entry.vectors), settings.storage, follow=True)
    tail = WalTail(directory / "wal", store.checkpoint_lsn)
    try:
        followed = Followed(*_open_indexes(entry, directory, settings, store, follow=True), tail)
        chunk: list[tuple[int, WriteOp]] = []
        for item in tail.read_through(through_lsn):
            chunk.append(item)
            if len(chunk) >= REPLAY_CHUNK_RECORDS:
                followed.apply(chunk)
                chunk = []
        if chunk:
            followed.apply(chunk)
    except BaseException:
        tail.close()
        store.close()
        raise
    return followed


def _open_indexes(
    entry: CollectionEntry,
    directory: Path,
    settings: Settings,
    store: CollectionStore,
    *,
    follow: bool,
) -> tuple[
    CollectionStore,
    dict[int, SegmentedIndex],
    dict[int, SparseIndex],
    dict[int, MultiIndex],
    PayloadIndexes,
]:
    """The indexes over an opened store (a follower's removes no stray file)."""
    live = store.live_mask()
    indexes = {}
    for spec in entry.vectors.dense.values():
        if spec.multi:
            continue
        carried = np.flatnonzero(live & store.present_mask(spec.number)).astype(np.int64)
        indexes[spec.number] = SegmentedIndex.open(
            ann_dir(directory, spec.number),
            spec.size,
            spec.distance,
            ann_settings(entry, settings, spec.options),
            engine=str(entry.engine.get("kind", "hnsw")),
            live_slots=carried,
            valid_slot_limit=store.checkpointed_slots,
            files=store.file_generation,
            vectors_of=functools.partial(store.vectors_of_slots, number=spec.number),
        )
    sparse = {
        number: open_sparse_index(sparse_dir(directory, number), store, number)
        for number in entry.vectors.sparse_numbers()
    }
    multi = {}
    for spec in entry.vectors.dense.values():
        if spec.multi:
            multi[spec.number] = MultiIndex(spec.size, spec.distance)
            for slots, counts, rows in store.multi_rows(spec.number):
                multi[spec.number].add(slots, counts, rows)
    payload = PayloadIndexes.open(
        directory, store.slot_count(), store, store.file_generation, follow=follow
    )
    return store, indexes, sparse, multi, payload


def _add(index: SegmentedIndex | SparseIndex | MultiIndex, change: VectorChange) -> None:
    """Give an index the new slots that carry its vector, in the form it takes them."""
    if isinstance(index, SparseIndex):
        assert change.added_sparse is not None
        index.add(change.added_slots, change.added_sparse)
    elif isinstance(index, MultiIndex):
        assert change.added_counts is not None and change.added_multi is not None
        index.add(change.added_slots, change.added_counts, change.added_multi)
    else:
        assert change.added_vectors is not None
        index.add(change.added_slots, change.added_vectors)


def ann_settings(
    entry: CollectionEntry, settings: Settings, vector: Mapping[str, object] | None = None
) -> AnnSettings:
    """The server's ANN settings with the collection's own engine settings over them, and one
    vector's own (its hnsw_config) over those."""
    engine = {**entry.engine, **(vector or {})}
    overrides: dict[str, Any] = {
        field.name: engine[field.name]
        for field in dataclasses.fields(settings.ann)
        if field.name in engine
    }
    return dataclasses.replace(settings.ann, **overrides)
