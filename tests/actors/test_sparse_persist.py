"""The saved sparse index (zoro/sparse/persist.py) through a real manager: written on a clean
close and by the persister once enough changed, loaded and caught up on open (points written
and deleted since it was saved), and rebuilt from the source rows when it is damaged or does
not fit the collection."""

from __future__ import annotations

import logging
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np
import pytest
import trio

from zoro.actors.numbering import read_scope
from zoro.sparse import SPARSE_INDEX_FILE, SparseBatch, SparseIndex
from zoro.sparse import index as sparse_index_module
from zoro.types import (
    DeleteBatch,
    SparseColumn,
    SparseSpec,
    UpsertBatch,
    VectorConfig,
    ids_of,
    int_keys,
)

if TYPE_CHECKING:
    from pathlib import Path

    from tests.actors.conftest import Opened
    from zoro.actors import CollectionActor

S = 0  # the sparse vector's number
CONFIG = VectorConfig(MappingProxyType({}), MappingProxyType({"s": SparseSpec(S, idf=True)}), False)
DIMS = 60


def _points(ids: range | list[int], seed: int) -> UpsertBatch:
    rng = np.random.default_rng(seed)
    indices, values = [], []
    for _ in ids:
        dims = rng.choice(DIMS, size=int(rng.integers(0, 8)), replace=False)
        indices.append(dims.tolist())
        values.append((rng.integers(1, 9, size=len(dims)) / 4).tolist())
    rows = SparseBatch.from_lists(indices, values)
    keys = int_keys(np.array(list(ids), dtype=np.uint64))
    column = SparseColumn(np.ones(len(keys), dtype=np.bool_), rows)
    return UpsertBatch(keys, None, [b"{}"] * len(keys), MappingProxyType({S: column}))


async def _answers(actor: CollectionActor) -> list[tuple[list[float], list[int]]]:
    """Twenty queries' hits as (scores, point ids)."""
    rng = np.random.default_rng(99)
    out = []
    for _ in range(20):
        dims = rng.choice(DIMS, size=int(rng.integers(1, 6)), replace=False)
        query = SparseBatch.from_lists([dims.tolist()], [[1.0] * len(dims)])
        async with read_scope(actor.gate):
            hits = await actor.search_sparse(S, query, 15, idf=True)
            ids = [int(i) for i in ids_of(actor.keys_of_slots(hits.slots[0]))]
            out.append((hits.scores[0].tolist(), ids))
    return out


def _index(zoro: Opened) -> SparseIndex:
    opened = zoro.manager.serving("c")._opened
    assert opened is not None
    return opened.sparse[S]


async def _reopen(zoro: Opened) -> CollectionActor:
    await zoro.open()
    await zoro.wait_ready("c")
    return zoro.manager.serving("c")


def _saved_file(zoro: Opened) -> Path:
    entry = zoro.manager.serving("c").entry
    return zoro.data_dir / "collections" / entry.id / f"sparse.{S}" / SPARSE_INDEX_FILE


async def test_a_clean_close_saves_the_index_and_the_next_open_loads_it(zoro: Opened) -> None:
    await zoro.manager.create("c", CONFIG, {"kind": "hnsw"})
    actor = zoro.manager.serving("c")
    await actor.write(_points(range(300), seed=1))
    await actor.write(DeleteBatch(int_keys(np.arange(0, 300, 7, dtype=np.uint64))))
    before = await _answers(actor)
    saved = _saved_file(zoro)
    assert not saved.exists()  # 300 small points: far below a save's threshold
    await zoro.close()
    assert saved.exists()
    actor = await _reopen(zoro)
    assert _index(zoro).covered_slots == 300  # loaded, not rebuilt
    assert await _answers(actor) == before


async def test_a_saved_index_is_caught_up_with_writes_and_deletes_made_after_it(
    zoro: Opened, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sparse_index_module, "_SAVE_MIN_CHANGES", 100)
    await zoro.manager.create("c", CONFIG, {"kind": "hnsw"})
    actor = zoro.manager.serving("c")
    await actor.write(_points(range(300), seed=2))
    await actor.checkpoint()  # the persister saves: more than 100 changes since never
    saved = _saved_file(zoro)
    for _ in range(200):
        if saved.exists():
            break
        await trio.sleep(0.01)
    assert saved.exists()
    # after the save: replace some points, add new ones, delete others; then crash
    await actor.write(_points(range(250, 420), seed=3))
    await actor.write(DeleteBatch(int_keys(np.arange(0, 420, 5, dtype=np.uint64))))
    before = await _answers(actor)
    await zoro.crash()
    actor = await _reopen(zoro)
    assert _index(zoro).covered_slots == 300
    caught_up = await _answers(actor)
    assert caught_up == before
    # and the same as an index rebuilt from nothing
    await zoro.close()
    saved.unlink()
    actor = await _reopen(zoro)
    assert _index(zoro).covered_slots == 0
    assert await _answers(actor) == before


@pytest.mark.parametrize("damage", ["flipped", "truncated", "too_far"])
async def test_a_damaged_or_unfitting_saved_index_is_rebuilt_from_the_source_rows(
    zoro: Opened, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    await zoro.manager.create("c", CONFIG, {"kind": "hnsw"})
    actor = zoro.manager.serving("c")
    await actor.write(_points(range(200), seed=4))
    before = await _answers(actor)
    saved = _saved_file(zoro)
    await zoro.close()
    data = bytearray(saved.read_bytes())
    if damage == "flipped":
        data[len(data) // 2] ^= 0x10
    elif damage == "truncated":
        del data[-9:]
    else:  # a file that claims slots the collection does not have
        index = SparseIndex.load(saved.parent)
        index.save(saved.parent, horizon=10_000)
        data = bytearray(saved.read_bytes())
    saved.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING):
        actor = await _reopen(zoro)
    assert _index(zoro).covered_slots == 0  # rebuilt
    assert any("rebuilding sparse vector" in r.getMessage() for r in caplog.records)
    assert await _answers(actor) == before


async def test_dropping_the_sparse_vector_removes_its_saved_index(zoro: Opened) -> None:
    await zoro.manager.create("c", CONFIG, {"kind": "hnsw"})
    await zoro.manager.serving("c").write(_points(range(50), seed=5))
    saved = _saved_file(zoro)
    await zoro.close()
    assert saved.exists()
    await _reopen(zoro)

    def drop(config: VectorConfig) -> VectorConfig:
        return VectorConfig(config.dense, MappingProxyType({}), False, config.next_number)

    await zoro.manager.change_vectors("c", drop)
    assert not saved.parent.exists()
