"""CollectionStore: apply and read back, on real files."""

from __future__ import annotations

import uuid

import numpy as np
import orjson
import pytest

from zoro.storage import CollectionStore
from zoro.types import PointId, UpsertBatch, ids_of, key_of, keys_of

from .conftest import DIM, delete, snapshot, upsert, vectors_for

U1 = uuid.UUID("00000000-0000-4000-8000-000000000001")
U2 = uuid.UUID("ffffffff-0000-4000-8000-000000000000")


def test_upsert_then_get_is_exact(store: CollectionStore) -> None:
    batch = upsert([7, U1, 3])
    store.apply_many([(1, batch)])
    records = store.get(keys_of([3, 7, U1, 99]), with_vector=True, with_payload=True)
    assert records[3] is None
    expected: list[PointId] = [3, 7, U1]
    for record, point_id in zip(records[:3], expected, strict=True):
        assert record is not None
        assert record.key == key_of(point_id)
        assert record.vector is not None
        assert record.vector.tobytes() == vectors_for([point_id]).tobytes()
        assert record.payload == orjson.dumps({"id": str(point_id), "salt": 0})


def test_get_without_vector_or_payload(store: CollectionStore) -> None:
    store.apply_many([(1, upsert([1]))])
    [record] = store.get(keys_of([1]), with_vector=False, with_payload=False)
    assert record is not None
    assert (record.vector, record.payload) == (None, None)


def test_key_with_trailing_zero_bytes_comes_back_padded(store: CollectionStore) -> None:
    store.apply_many([(1, upsert([256, 0]))])
    records = store.get(keys_of([256, 0]), with_vector=False, with_payload=False)
    assert [r.key if r else None for r in records] == [key_of(256), key_of(0)]
    assert store.scroll(None, 10)[1] is None


def test_apply_result_reports_new_slots_and_vectors(store: CollectionStore) -> None:
    result = store.apply_many([(1, upsert([5, 1, 3]))])
    assert result.added_slots.tolist() == [0, 1, 2]
    # slots follow the batch order
    assert ids_of(store.keys_of_slots(result.added_slots)) == [5, 1, 3]
    assert result.added_vectors.tobytes() == vectors_for([5, 1, 3]).tobytes()
    assert result.removed_slots.tolist() == []


def test_scroll_orders_ints_then_uuids_and_pages(store: CollectionStore) -> None:
    store.apply_many([(1, upsert([U2, 10, U1, 2, 2**64 - 1, 0]))])
    expected = [0, 2, 10, 2**64 - 1, U1, U2]
    keys, following = store.scroll(None, 100)
    assert (ids_of(keys), following) == (expected, None)
    pages, start = [], None
    while True:
        keys, start = store.scroll(start, 4)
        pages.append(ids_of(keys))
        if start is None:
            break
    assert pages == [expected[:4], expected[4:]]
    assert ids_of(store.scroll(key_of(3), 2)[0]) == [10, 2**64 - 1]  # start need not exist
    assert store.scroll(key_of(U1), 1) == (keys_of([U1]), key_of(U2))  # start is inclusive


def test_upsert_of_existing_id_takes_a_new_slot(store: CollectionStore) -> None:
    store.apply_many([(1, upsert([1, 2]))])
    result = store.apply_many([(2, upsert([2], salt=1))])
    assert result.added_slots.tolist() == [2]
    assert result.removed_slots.tolist() == [1]
    [record] = store.get(keys_of([2]), with_vector=True, with_payload=True)
    assert record is not None
    assert record.vector is not None
    assert record.vector.tobytes() == vectors_for([2], salt=1).tobytes()
    assert record.payload == orjson.dumps({"id": "2", "salt": 1})
    assert store.slots_of(keys_of([1, 2])).tolist() == [0, 2]
    assert (store.live_count(), store.slot_count(), store.stats().garbage_slots) == (2, 3, 1)


def test_delete_hides_the_point(store: CollectionStore) -> None:
    store.apply_many([(1, upsert([1, 2, 3]))])
    result = store.apply_many([(2, delete([2, 2, 42]))])  # a repeat and an unknown id
    assert result.removed_slots.tolist() == [1]
    assert result.added_slots.tolist() == []
    assert store.get(keys_of([2]), with_vector=True, with_payload=True) == [None]
    assert ids_of(store.scroll(None, 10)[0]) == [1, 3]
    assert store.live_count() == 2
    assert store.live_slots().tolist() == [0, 2]
    assert store.slots_of(keys_of([2])).tolist() == [-1]


def test_delete_of_unknown_or_deleted_keys_is_a_no_op(store: CollectionStore) -> None:
    store.apply_many([(1, upsert([1])), (2, delete([1]))])
    before = snapshot(store)
    result = store.apply_many([(3, delete([1, 5]))])
    assert result.removed_slots.tolist() == []
    assert snapshot(store) == before
    assert store.applied_lsn == 3


def test_delete_then_upsert_brings_it_back(store: CollectionStore) -> None:
    store.apply_many([(1, upsert([1])), (2, delete([1]))])
    result = store.apply_many([(3, upsert([1], salt=2))])
    assert result.added_slots.tolist() == [1]
    assert result.removed_slots.tolist() == []  # slot 0 was already gone
    [record] = store.get(keys_of([1]), with_vector=False, with_payload=True)
    assert record is not None
    assert record.payload == orjson.dumps({"id": "1", "salt": 2})
    assert store.live_count() == 1


def test_duplicate_keys_in_one_batch_last_wins(store: CollectionStore) -> None:
    ids: list[PointId] = [4, 1, 4, U1, 1, 4]
    vectors = np.arange(len(ids) * DIM, dtype=np.float32).reshape(-1, DIM)
    payloads = [b'{"n":%d}' % n for n in range(len(ids))]
    result = store.apply_many([(1, UpsertBatch(keys_of(ids), vectors, payloads))])
    assert len(result.added_slots) == store.slot_count() == store.live_count() == 3
    # each key takes its slot where its last occurrence stood: U1 (3), 1 (4), 4 (5)
    assert ids_of(store.keys_of_slots(result.added_slots)) == [U1, 1, 4]
    records = store.get(keys_of([1, 4, U1]), with_vector=True, with_payload=True)
    for record, last in zip(records, [4, 5, 3], strict=True):
        assert record is not None
        assert record.vector is not None
        assert record.vector.tolist() == vectors[last].tolist()
        assert record.payload == payloads[last]


def test_changes_within_one_call_are_netted(store: CollectionStore) -> None:
    store.apply_many([(1, upsert([1, 2]))])
    result = store.apply_many(
        [(2, upsert([3])), (3, delete([3, 1])), (4, upsert([2], salt=1)), (5, upsert([2], salt=2))]
    )
    # 3 came and went; 2 was replaced twice: a key repeated across records gets a slot per
    # record (numbering must not depend on how records are grouped: a follower groups them
    # otherwise); the first of them came and went within the call too
    assert result.added_slots.tolist() == [4]
    assert result.added_vectors.tobytes() == vectors_for([2], salt=2).tobytes()
    assert result.removed_slots.tolist() == [0, 1]
    assert ids_of(store.scroll(None, 10)[0]) == [2]


def test_same_lsn_twice_changes_nothing(store: CollectionStore) -> None:
    store.apply_many([(1, upsert([1, 2])), (2, delete([1]))])
    before = snapshot(store)
    result = store.apply_many([(1, upsert([1, 2], salt=9)), (2, delete([2]))])
    assert (result.added_slots.tolist(), result.removed_slots.tolist()) == ([], [])
    assert snapshot(store) == before
    assert store.applied_lsn == 2


def test_out_of_order_lsns_are_refused_whole(store: CollectionStore) -> None:
    with pytest.raises(ValueError, match="increasing"):
        store.apply_many([(5, upsert([1])), (4, upsert([2]))])
    assert (store.slot_count(), store.applied_lsn) == (0, 0)


def test_malformed_batch_is_refused_whole(store: CollectionStore) -> None:
    bad = UpsertBatch(keys_of([2]), np.zeros((1, DIM + 1), np.float32), [b"{}"])
    with pytest.raises(ValueError, match="dimension"):
        store.apply_many([(1, upsert([1])), (2, bad)])
    assert (store.slot_count(), store.applied_lsn) == (0, 0)


def test_keys_of_slots_maps_garbage_slots_too(store: CollectionStore) -> None:
    store.apply_many([(1, upsert([1, U1]))])
    store.apply_many([(2, upsert([1], salt=1))])
    assert ids_of(store.keys_of_slots(np.array([2, 0, 1]))) == [1, 1, U1]
    with pytest.raises(IndexError):
        store.keys_of_slots(np.array([3]))
    with pytest.raises(IndexError):
        store.vectors_of_slots(np.array([-1]))


def test_stats(store: CollectionStore) -> None:
    store.apply_many([(1, upsert([1, 2, 3])), (2, delete([1])), (3, upsert([2], salt=1))])
    stats = store.stats()
    assert (stats.live, stats.slots, stats.garbage_slots) == (2, 4, 2)
    assert (stats.applied_lsn, stats.checkpoint_lsn) == (3, 0)
    assert (stats.upserts_total, stats.deletes_total) == (4, 1)
    assert stats.index_delta == 3
    assert stats.index_tombstones == 1
    assert stats.memory_bytes > 0
