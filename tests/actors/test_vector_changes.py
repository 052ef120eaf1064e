"""update_vectors / delete_vectors resolved in the commit loop, and vectors added to or dropped
from a collection by CollectionManager.change_vectors, checked through a real manager and the
files it leaves (restarts and crashes included)."""

from __future__ import annotations

import dataclasses
import os
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np
import pytest

from zoro.actors.numbering import read_scope
from zoro.actors.vector_changes import DeleteVectors, UpdateVectors
from zoro.errors import PointNotFound
from zoro.sparse.vectors import SparseBatch
from zoro.storage import Layout
from zoro.types import (
    DenseColumn,
    DenseSpec,
    Distance,
    SparseColumn,
    SparseSpec,
    UpsertBatch,
    VectorConfig,
    int_keys,
)

if TYPE_CHECKING:
    from tests.actors.conftest import Opened
    from zoro.actors import CollectionActor

A, B, S = 0, 1, 2  # vector numbers: dense "a" (3, Euclid), dense "b" (2, Dot), sparse "s"
CONFIG = VectorConfig(
    MappingProxyType({"a": DenseSpec(A, 3, Distance.EUCLID), "b": DenseSpec(B, 2, Distance.DOT)}),
    MappingProxyType({"s": SparseSpec(S)}),
    False,
)
N = 20


def _keys(*ids: int) -> np.ndarray:
    return int_keys(np.array(ids, dtype=np.uint64))


def _sparse(rows: list[dict[str, list[float]]]) -> SparseBatch:
    return SparseBatch.from_dicts(rows)


def _points() -> UpsertBatch:
    """Points 0..N-1: every one carries "a"; the even ones "b"; every third one "s"."""
    ids = list(range(N))
    a = np.array([[i, 1, 0] for i in ids], dtype=np.float32)
    has_b = np.array([i % 2 == 0 for i in ids])
    b = np.array([[i, -1] for i in ids if i % 2 == 0], dtype=np.float32)
    has_s = np.array([i % 3 == 0 for i in ids])
    s = _sparse([{"indices": [i], "values": [1.0]} for i in ids if i % 3 == 0])
    columns = {
        A: DenseColumn(np.ones(N, dtype=np.bool_), a),
        B: DenseColumn(has_b, b),
        S: SparseColumn(has_s, s),
    }
    payloads = [f'{{"i":{i}}}'.encode() for i in ids]
    return UpsertBatch(_keys(*ids), None, payloads, MappingProxyType(columns))


def _state(actor: CollectionActor, point: int) -> dict[str, object]:
    """One point's vectors and payload as plain values."""
    slot = actor.slots_of(_keys(point))
    assert slot[0] >= 0, f"point {point} is gone"
    out: dict[str, object] = {"payload": actor.payloads_of_slots(slot)[0]}
    for name, number in (("a", A), ("b", B)):
        if actor.present_mask(number)[slot[0]]:
            out[name] = actor.vectors_of_slots(slot, number)[0].tolist()
    one = actor.sparse_of_slots(slot, S)[0]
    if one is not None:
        out["s"] = (one.indices.tolist(), one.values.tolist())
    return out


async def _loaded(zoro: Opened) -> CollectionActor:
    await zoro.manager.create("v", CONFIG, {"kind": "flat"})
    actor = zoro.manager.serving("v")
    await actor.write(_points())
    return actor


def test_the_resolver_knows_every_kind_of_vector_the_store_keeps() -> None:
    """The rewrite of a point carries over every vector the store keeps; a new kind of vector
    in the layout (multivectors, say) must be read by vector_changes.WholePoints.read as well, or
    update_vectors would drop it. This test fails until that is done."""
    assert [f.name for f in dataclasses.fields(Layout)] == ["dense", "sparse", "multi"]


async def test_update_vectors_keeps_the_rest_of_each_point(zoro: Opened) -> None:
    actor = await _loaded(zoro)
    before = {i: _state(actor, i) for i in range(N)}
    # point 1 gets "b" (it had none), then, later in the same request, "s"; point 2 a new "a";
    # point 3 loses nothing and gains nothing but a new sparse value
    keys = _keys(1, 2, 1, 3)
    changes = UpsertBatch(
        keys,
        None,
        [b"{}"] * 4,
        MappingProxyType(
            {
                A: DenseColumn(np.array([0, 1, 0, 0], bool), np.array([[5, 5, 5]], np.float32)),
                B: DenseColumn(np.array([1, 0, 0, 0], bool), np.array([[7, 7]], np.float32)),
                S: SparseColumn(
                    np.array([0, 0, 1, 1], bool),
                    _sparse([{"indices": [9], "values": [2.0]}, {"indices": [4], "values": [3.0]}]),
                ),
            }
        ),
    )
    await actor.write(UpdateVectors(changes))
    assert _state(actor, 1) == {**before[1], "b": [7.0, 7.0], "s": ([9], [2.0])}
    assert _state(actor, 2) == {**before[2], "a": [5.0, 5.0, 5.0]}
    assert _state(actor, 3) == {**before[3], "s": ([4], [3.0])}
    for i in set(range(N)) - {1, 2, 3}:
        assert _state(actor, i) == before[i]
    assert actor.count() == N
    # the search sees the new value of "b" and only the points that carry it
    async with read_scope(actor.gate):
        hits = await actor.search(np.array([[0, 1]], np.float32), 3, using=B, exact=True)
        assert hits.slots[0][0] == actor.slots_of(_keys(1))[0]


async def test_a_missing_point_is_reported_after_the_others_are_written(zoro: Opened) -> None:
    actor = await _loaded(zoro)
    changes = UpsertBatch(
        _keys(4, 999),
        None,
        [b"{}"] * 2,
        MappingProxyType({B: DenseColumn(np.ones(2, bool), np.ones((2, 2), np.float32))}),
    )
    with pytest.raises(PointNotFound, match="999"):
        await actor.write(UpdateVectors(changes))
    assert _state(actor, 4)["b"] == [1.0, 1.0]
    with pytest.raises(PointNotFound, match="998"):
        await actor.write(DeleteVectors((B,), _keys(998)))
    assert actor.count() == N


async def test_delete_vectors_by_ids_and_by_filter_survive_a_crash(zoro: Opened) -> None:
    from zoro.services import filters

    actor = await _loaded(zoro)
    await actor.write(DeleteVectors((A, S), _keys(0, 3, 3)))
    condition = filters.parse({"must": [{"key": "i", "range": {"gte": 10}}]})
    await actor.write(DeleteVectors((B,), None, condition))
    expected = {i: _state(actor, i) for i in range(N)}
    assert expected[0] == {"payload": b'{"i":0}', "b": [0.0, -1.0]}
    assert expected[3] == {"payload": b'{"i":3}'}  # a point may carry no vector at all
    assert all("b" not in expected[i] for i in range(10, N))
    assert expected[8]["b"] == [8.0, -1.0]
    await zoro.crash()  # nothing checkpointed: replay re-applies the logged whole points
    await zoro.open()
    await zoro.wait_ready("v")
    actor = zoro.manager.serving("v")
    assert {i: _state(actor, i) for i in range(N)} == expected
    async with read_scope(actor.gate):
        hits = await actor.search(np.array([[0, 0, 0]], np.float32), N, using=A, exact=True)
        carried = set(actor.keys_of_slots(hits.slots[0][hits.slots[0] >= 0]).tolist())
        assert len(carried) == N - 2


def _add(name: str, size: int):  # type: ignore[no-untyped-def]
    def change(config: VectorConfig) -> VectorConfig:
        spec = DenseSpec(config.next_number, size, Distance.DOT)
        dense = MappingProxyType({**config.dense, name: spec})
        return VectorConfig(dense, config.sparse, False, spec.number + 1)

    return change


def _drop(name: str):  # type: ignore[no-untyped-def]
    def change(config: VectorConfig) -> VectorConfig:
        dense = MappingProxyType({n: s for n, s in config.dense.items() if n != name})
        return VectorConfig(dense, config.sparse, config.unnamed, config.next_number)

    return change


async def test_added_and_dropped_vectors_never_share_a_number(zoro: Opened) -> None:
    actor = await _loaded(zoro)
    before = {i: _state(actor, i) for i in range(N)}
    entry = await zoro.manager.change_vectors("v", _add("c", 4))
    assert entry.vectors.dense["c"].number == 3
    actor = zoro.manager.serving("v")
    assert not actor.present_mask(3)[actor.store.live_slots()].any()
    await actor.write(
        UpsertBatch(
            _keys(100),
            None,
            [b"{}"],
            MappingProxyType({3: DenseColumn(np.ones(1, bool), np.ones((1, 4), np.float32))}),
        )
    )
    data = zoro.data_dir / "collections" / entry.id
    assert (data / "source" / "vectors.3").exists()
    entry = await zoro.manager.change_vectors("v", _drop("c"))
    assert not (data / "source" / "vectors.3").exists()
    assert not (data / "ann.3").exists()
    entry = await zoro.manager.change_vectors("v", _add("c", 2))
    assert entry.vectors.dense["c"].number == 4  # not 3 again: its old data is never seen
    actor = zoro.manager.serving("v")
    assert not actor.present_mask(4)[actor.slots_of(_keys(100))].any()
    for i in range(N):
        assert _state(actor, i) == before[i]
    await zoro.close()
    await zoro.open()
    await zoro.wait_ready("v")
    entry = zoro.manager.serving("v").entry
    assert entry.vectors.dense["c"].number == 4
    assert entry.vectors.next_number == 5
    names = set(os.listdir(data / "source"))
    assert {"vectors", "vectors.1", "sparse.2", "vectors.4"} <= names
    assert not {"vectors.3", "present.3"} & names


async def test_writes_queued_before_a_change_are_kept(zoro: Opened) -> None:
    import trio

    actor = await _loaded(zoro)
    results: list[int] = []

    async def write(i: int) -> None:
        one = UpsertBatch(
            _keys(200 + i),
            None,
            [b"{}"],
            MappingProxyType({A: DenseColumn(np.ones(1, bool), np.ones((1, 3), np.float32))}),
        )
        results.append(await actor.write(one))

    async with trio.open_nursery() as nursery:
        for i in range(5):
            nursery.start_soon(write, i)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(zoro.manager.change_vectors, "v", _drop("b"))
    assert len(results) == 5
    actor = zoro.manager.serving("v")
    assert actor.count() == N + 5
    assert "b" not in actor.vectors.dense
