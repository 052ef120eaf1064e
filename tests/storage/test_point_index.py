"""The point index against a dict model: merges, ties between probes, scroll, reopen."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import numpy as np
import pytest

from zoro.settings import StorageSettings
from zoro.storage import CollectionStore
from zoro.storage.point_index import PointIndex
from zoro.types import KEY_DTYPE, PointId, ids_of, key_of, keys_of

from .conftest import DIM, delete, snapshot, upsert

if TYPE_CHECKING:
    from pathlib import Path

# UUIDs that share their first 8 bytes tie on the index's u64 probe; integers never do
SAME_HI = [uuid.UUID(int=(0xABCD << 64) | n) for n in range(12)]
IDS: list[PointId] = [*range(40), 2**64 - 1, 2**63, *SAME_HI, *(uuid.UUID(int=n) for n in range(6))]


def _check(store: CollectionStore, model: dict[PointId, int]) -> None:
    """The store agrees with the model {id: slot} everywhere a reader can look."""
    keys = keys_of(IDS)
    assert store.slots_of(keys).tolist() == [model.get(i, -1) for i in IDS]
    expected = sorted(model, key=key_of)
    assert ids_of(store.scroll(None, 10**6)[0]) == expected
    page, start, seen = 5, None, []
    while True:
        got, start = store.scroll(start, page)
        seen += ids_of(got)
        if start is None:
            break
    assert seen == expected
    assert store.live_count() == len(model)
    assert store.live_slots().tolist() == sorted(model.values())


@pytest.mark.parametrize("seed", range(4))
def test_random_operations_match_a_dict(tmp_path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    settings = StorageSettings(index_delta_max=8)  # merge often
    store = CollectionStore.create(tmp_path / "c", DIM, settings)
    model: dict[PointId, int] = {}
    for lsn in range(1, 121):
        chosen = [IDS[i] for i in rng.integers(0, len(IDS), rng.integers(1, 12))]
        if rng.random() < 0.3:
            store.apply_many([(lsn, delete(chosen))])
            for point_id in chosen:
                model.pop(point_id, None)
        else:
            result = store.apply_many([(lsn, upsert(chosen, salt=lsn))])
            last = {point_id: n for n, point_id in enumerate(chosen)}
            unique = sorted(last, key=last.__getitem__)  # by last occurrence
            first = store.slot_count() - len(unique)
            assert result.added_slots.tolist() == list(range(first, store.slot_count()))
            model.update(zip(unique, result.added_slots.tolist(), strict=True))
        _check(store, model)
        if lsn % 37 == 0:
            store.checkpoint()
            store.close()
            store = CollectionStore.open(tmp_path / "c", DIM, settings)
            _check(store, model)
    assert store.stats().index_delta <= settings.index_delta_max + 12
    store.close()


def test_delta_merge_keeps_lookups_and_scroll(tmp_path: Path) -> None:
    settings = StorageSettings(index_delta_max=100)
    store = CollectionStore.create(tmp_path / "c", DIM, settings)
    ids = [int(i) for i in np.random.default_rng(1).permutation(1000)]
    for lsn, start in enumerate(range(0, 1000, 30), start=1):
        store.apply_many([(lsn, upsert(ids[start : start + 30]))])
        assert store.stats().index_delta <= 100
    assert ids_of(store.scroll(None, 2000)[0]) == list(range(1000))
    assert store.slots_of(keys_of(ids)).tolist() == list(range(1000))
    before = snapshot(store)
    store.checkpoint()
    assert store.stats().index_delta == 0
    assert snapshot(store) == before
    store.close()


def test_many_tied_uuids_fall_back_to_key_search() -> None:
    """More ties than the settling rounds allow: the search on the keys takes over."""
    tied = [uuid.UUID(int=(7 << 64) | n) for n in range(0, 200, 2)]
    keys = np.sort(keys_of(tied))
    index = PointIndex(keys, np.arange(len(keys), dtype=np.int64))
    queries = keys_of([uuid.UUID(int=(7 << 64) | n) for n in range(200)])
    expected = [n // 2 if n % 2 == 0 else -1 for n in range(200)]
    assert index.lookup(queries).tolist() == expected
    index.upsert(np.sort(queries[1::2]), np.arange(100, 200, dtype=np.int64))
    merged = index.merged()
    merged_keys, _ = merged.main_arrays()
    assert merged_keys.tolist() == np.sort(queries).tolist()
    assert merged.lookup(queries).tolist() == [
        n // 2 if n % 2 == 0 else 100 + n // 2 for n in range(200)
    ]


def test_empty_index() -> None:
    index = PointIndex(np.empty(0, KEY_DTYPE), np.empty(0, np.int64))
    assert index.lookup(keys_of([1, uuid.UUID(int=1)])).tolist() == [-1, -1]
    assert index.delete(keys_of([1])).tolist() == [-1]
    assert index.scroll(None, 5)[1] is None


def test_one_key_writes_past_the_young_run_fold_into_the_delta() -> None:
    """New keys one at a time (the shape of single-point writes), with replaces and deletes
    landing in every run (main, delta, young) on the way, more than the young run holds."""
    rng = np.random.default_rng(5)
    model: dict[PointId, int] = {i: i for i in range(0, 200, 2)}
    index = PointIndex(keys_of(list(model)), np.array(list(model.values()), dtype=np.int64))
    slot = 200
    for step in range(3_000):
        key: PointId = int(rng.integers(0, 5_000)) if step % 3 else 10_000 + step
        if rng.random() < 0.1:
            old = index.delete(keys_of([key])).tolist()
            assert old == [model.pop(key, -1)]
            continue
        old = index.upsert(keys_of([key]), np.array([slot], dtype=np.int64)).tolist()
        assert old == [model.get(key, -1)]
        model[key] = slot
        slot += 1
    probe: list[PointId] = [*model, *range(5_000, 5_010), 99_999]  # present and absent
    assert index.lookup(keys_of(probe)).tolist() == [model.get(p, -1) for p in probe]
    assert ids_of(index.scroll(None, 10**6)[0]) == sorted(model, key=key_of)
    merged = index.merged()
    assert merged.delta_size == 0
    assert merged.lookup(keys_of(probe)).tolist() == [model.get(p, -1) for p in probe]
    keys, slots = merged.main_arrays()
    assert dict(zip(ids_of(keys), slots.tolist(), strict=True)) == model
