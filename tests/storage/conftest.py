"""Helpers for the storage tests: batches of points, and a whole-store snapshot to compare."""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

import numpy as np
import orjson
import pytest

from zoro.settings import StorageSettings
from zoro.storage import CollectionStore
from zoro.types import DeleteBatch, PointId, UpsertBatch, keys_of

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from pathlib import Path

DIM = 4


def vectors_for(ids: Iterable[PointId], salt: int = 0) -> np.ndarray:
    """A distinct, reproducible vector per (id, salt)."""
    rows = [np.random.default_rng(zlib.crc32(f"{i}/{salt}".encode())).random(DIM) for i in ids]
    return np.array(rows, dtype=np.float32).reshape(-1, DIM)


def upsert(ids: Sequence[PointId], salt: int = 0) -> UpsertBatch:
    payloads = [orjson.dumps({"id": str(i), "salt": salt}) for i in ids]
    return UpsertBatch(keys_of(ids), vectors_for(ids, salt), payloads)


def delete(ids: Sequence[PointId]) -> DeleteBatch:
    return DeleteBatch(keys_of(ids))


def snapshot(store: CollectionStore) -> dict[str, object]:
    """Everything a reader can see, in comparable form."""
    keys, _ = store.scroll(None, 10**9)
    slots = store.slots_of(keys)
    stats = store.stats()
    return {
        "keys": keys.tolist(),
        "slots": slots.tolist(),
        "vectors": store.vectors_of_slots(slots).tobytes(),
        "payloads": store.payloads_of_slots(slots),
        "live_slots": store.live_slots().tolist(),
        "slot_count": store.slot_count(),
        "live_count": store.live_count(),
        "slot_keys": store.keys_of_slots(np.arange(store.slot_count())).tolist(),
        "counters": (stats.garbage_slots, stats.upserts_total, stats.deletes_total),
    }


@pytest.fixture
def settings() -> StorageSettings:
    return StorageSettings()


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "collection"


@pytest.fixture
def store(store_dir: Path, settings: StorageSettings) -> Iterable[CollectionStore]:
    created = CollectionStore.create(store_dir, DIM, settings)
    yield created
    created.close()


def reopen(store: CollectionStore, store_dir: Path, settings: StorageSettings) -> CollectionStore:
    store.close()
    return CollectionStore.open(store_dir, DIM, settings)
