"""Open a collection's durable state: the store as of its checkpoint and the WAL replayed after it,
then the structures built on it (the ANN index, the payload indexes).

Plain blocking code: the actor runs it in a worker thread; crash tests and benches call it directly.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zoro.ann import SegmentedIndex
from zoro.errors import CorruptionError
from zoro.payload import PayloadIndexes
from zoro.storage import CollectionStore
from zoro.wal import WalWriter, recover, replay

if TYPE_CHECKING:
    from pathlib import Path

    from zoro.settings import AnnSettings, Settings
    from zoro.storage import CollectionEntry
    from zoro.types import WriteOp

log = logging.getLogger(__name__)

REPLAY_CHUNK_POINTS = 50_000


@dataclass(slots=True)
class Durable:
    store: CollectionStore
    wal: WalWriter
    replayed_records: int
    truncated_bytes: int

    def close(self) -> None:
        self.wal.close()
        self.store.close()


def open_durable(directory: Path, dimension: int, settings: Settings) -> Durable:
    """Open the store, cut a torn WAL tail, replay every record after the checkpoint.

    Raises CorruptionError (naming file and offset) for damage that is not a torn tail, and for a
    WAL that does not continue exactly where the checkpoint ends.
    """
    store = CollectionStore.open(directory, dimension, settings.storage)
    try:
        wal_dir = directory / "wal"
        recovery = recover(wal_dir)
        replayed = _replay_into(store, wal_dir)
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


def _replay_into(store: CollectionStore, wal_dir: Path) -> int:
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
    if chunk:
        store.apply_many(chunk)
    return expected - 1 - store.checkpoint_lsn


@dataclass(slots=True)
class Opened:
    """A recovered collection: what its actor owns while it serves."""

    store: CollectionStore
    wal: WalWriter
    index: SegmentedIndex
    payload: PayloadIndexes
    replayed_records: int

    def close(self) -> None:
        self.wal.close()
        self.store.close()


def open_collection(entry: CollectionEntry, directory: Path, settings: Settings) -> Opened:
    """Open the durable state (see `open_durable`), then load the ANN index and the payload
    indexes over it. Blocking (seconds for a big collection): run it in a worker thread."""
    durable = open_durable(directory, entry.dimension, settings)
    try:
        index = SegmentedIndex.open(
            directory / "ann",
            entry.dimension,
            entry.distance,
            ann_settings(entry, settings),
            engine=str(entry.engine.get("kind", "hnsw")),
            live_slots=durable.store.live_slots(),
            valid_slot_limit=durable.store.checkpointed_slots,
            vectors_of=durable.store.vectors_of_slots,
        )
        payload = PayloadIndexes.open(directory, durable.store.slot_count(), durable.store)
    except BaseException:
        durable.close()
        raise
    return Opened(durable.store, durable.wal, index, payload, durable.replayed_records)


def ann_settings(entry: CollectionEntry, settings: Settings) -> AnnSettings:
    """The server's ANN settings with the collection's own engine settings over them."""
    engine = entry.engine
    overrides: dict[str, Any] = {
        field.name: engine[field.name]
        for field in dataclasses.fields(settings.ann)
        if field.name in engine
    }
    return dataclasses.replace(settings.ann, **overrides)
