"""Points that carry any subset of a collection's vectors: dense by number, optional, sparse.

Checked against a plain dict model through apply, duplicate keys in a batch, checkpoint, reopen
with WAL replay, and a layout that gains or loses a vector between two opens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

from zoro.settings import StorageSettings
from zoro.sparse import SparseBatch
from zoro.storage import CollectionStore
from zoro.storage._plan import Layout
from zoro.types import DeleteBatch, DenseColumn, MultiColumn, SparseColumn, UpsertBatch, keys_of
from zoro.wal._codec import decode_body, encode_body

if TYPE_CHECKING:
    from pathlib import Path

LAYOUT = Layout({0: 3, 2: 5}, (1,), {4: 2})
Model = dict[int, dict[int, object]]  # id -> vector number -> row (ndarray or (indices, values))


def _batch(rng: np.random.Generator, ids: list[int]) -> tuple[UpsertBatch, Model]:
    """Each point carries each vector with probability 1/2."""
    n = len(ids)
    model: Model = {i: {} for i in ids}  # the last occurrence of an id wins
    columns: dict[int, DenseColumn | SparseColumn | MultiColumn] = {}
    for number, size in LAYOUT.dense.items():
        present = rng.random(n) < 0.5
        rows = rng.normal(size=(int(present.sum()), size)).astype(np.float32)
        columns[number] = DenseColumn(present, rows)
    present = rng.random(n) < 0.5
    lists = []
    for _ in range(int(present.sum())):
        indices = sorted(rng.choice(50, size=int(rng.integers(0, 6)), replace=False).tolist())
        lists.append((indices, rng.normal(size=len(indices)).tolist()))
    columns[1] = SparseColumn(
        present, SparseBatch.from_lists([i for i, _ in lists], [v for _, v in lists])
    )
    present = rng.random(n) < 0.5
    counts = rng.integers(1, 4, size=int(present.sum()))
    columns[4] = MultiColumn(
        present, counts, rng.normal(size=(int(counts.sum()), 2)).astype(np.float32)
    )
    for position, i in enumerate(ids):
        model[i] = {}
        for number, column in columns.items():
            if not column.present[position]:
                continue
            row = int(np.count_nonzero(column.present[:position]))
            if isinstance(column, DenseColumn):
                model[i][number] = column.rows[row]
            elif isinstance(column, MultiColumn):
                start = int(column.counts[:row].sum())
                model[i][number] = column.rows[start : start + column.counts[row]]
            else:
                model[i][number] = column.rows.row(row)
    payloads = [b"{}"] * n
    return UpsertBatch(keys_of(ids), None, payloads, columns), model


def _check(store: CollectionStore, model: Model) -> None:
    assert store.live_count() == len(model)
    ids = sorted(model)
    slots = store.slots_of(keys_of(ids))
    assert (slots >= 0).all()
    for number in LAYOUT.dense:
        present = store.present_mask(number)[slots]
        rows = store.vectors_of_slots(slots, number)
        for k, i in enumerate(ids):
            if number in model[i]:
                assert present[k]
                np.testing.assert_array_equal(rows[k], model[i][number])
            else:
                assert not present[k]
                assert not rows[k].any()
    sparse = store.sparse_of_slots(slots, 1)
    for k, i in enumerate(ids):
        if 1 in model[i]:
            got = sparse[k]
            assert got is not None
            indices, values = model[i][1]  # type: ignore[misc]
            np.testing.assert_array_equal(got.indices, indices)
            np.testing.assert_array_equal(got.values, values)
        else:
            assert sparse[k] is None
    matrices = store.multi_of_slots(slots, 4)
    for k, i in enumerate(ids):
        if 4 in model[i]:
            np.testing.assert_array_equal(matrices[k], model[i][4])
        else:
            assert matrices[k] is None


def test_columns_round_trip_the_wal_codec() -> None:
    op, _ = _batch(np.random.default_rng(1), [1, 2, 3, 2, 9])
    rtype, body = encode_body(op)
    again = decode_body(rtype, body)
    assert isinstance(again, UpsertBatch)
    assert again.vectors is None
    assert again.keys.tolist() == op.keys.tolist()
    assert list(again.payloads) == op.payloads
    for number, column in op.columns.items():
        other = again.columns[number]
        np.testing.assert_array_equal(other.present, column.present)
        if isinstance(column, DenseColumn | MultiColumn):
            np.testing.assert_array_equal(other.rows, column.rows)
        else:
            assert isinstance(other, SparseColumn)
            assert other.rows.equals(column.rows)
    with pytest.raises(ValueError, match=r"left over|cut short|malformed"):
        decode_body(rtype, body[:-1])


def test_apply_checkpoint_reopen_and_replay(tmp_path: Path) -> None:
    settings = StorageSettings()
    rng = np.random.default_rng(2)
    store = CollectionStore.create(tmp_path / "c", LAYOUT, settings)
    model: Model = {}
    lsn = 0
    logged: list[tuple[int, UpsertBatch | DeleteBatch]] = []
    for round_ in range(6):
        ids = rng.integers(0, 40, size=12).tolist()
        op, changes = _batch(rng, ids)
        lsn += 1
        logged.append((lsn, op))
        store.apply_many([(lsn, op)])
        model.update(changes)
        gone = rng.integers(0, 40, size=3).tolist()
        lsn += 1
        logged.append((lsn, DeleteBatch(keys_of(gone))))
        store.apply_many([logged[-1]])
        for i in gone:
            model.pop(i, None)
        _check(store, model)
        if round_ == 2:
            store.checkpoint()
            checkpoint = lsn
    store.close()
    # reopen: state as of the checkpoint, then the WAL's later records re-applied in one go
    store = CollectionStore.open(tmp_path / "c", LAYOUT, settings)
    assert store.applied_lsn == checkpoint
    store.apply_many([item for item in logged if item[0] > checkpoint])
    _check(store, model)
    store.checkpoint()
    store.close()
    store = CollectionStore.open(tmp_path / "c", LAYOUT, settings)
    _check(store, model)
    store.close()


def test_a_vector_added_or_dropped_between_opens(tmp_path: Path) -> None:
    settings = StorageSettings()
    op, _model = _batch(np.random.default_rng(3), list(range(10)))
    store = CollectionStore.create(tmp_path / "c", LAYOUT, settings)
    store.apply_many([(1, op)])
    store.checkpoint()
    store.close()
    # vector 2 dropped, vector 7 added: no slot carries 7, and 2's files are gone
    changed = Layout({0: 3, 7: 2}, (1,), {4: 2})
    store = CollectionStore.open(tmp_path / "c", changed, settings)
    assert not store.present_mask(7).any()
    assert store.vector_rows(7).shape == (10, 2)
    assert not (tmp_path / "c/source/vectors.2").exists()
    store.apply_many(
        [
            (
                2,
                UpsertBatch(
                    keys_of([3]),
                    None,
                    [b"{}"],
                    {7: DenseColumn(np.ones(1, bool), np.ones((1, 2), np.float32))},
                ),
            )
        ]
    )
    store.checkpoint()
    store.close()
    store = CollectionStore.open(tmp_path / "c", changed, settings)
    slot = store.slots_of(keys_of([3]))
    assert store.present_mask(7)[slot].all()
    assert not store.present_mask(0)[slot].any()
    assert store.live_count() == 10
    store.close()
