"""The collection actor's promises, through the CollectionManager, in-process (pytest-trio)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import trio
import trio.testing

from tests.actors.conftest import SMALL, Opened, clustered, upsert
from zoro.actors import ActorState
from zoro.actors.numbering import read_scope
from zoro.errors import CollectionFailed, CollectionNotFound, LoggedNotApplied, Overloaded
from zoro.types import DeleteBatch, Distance, VectorConfig, ids_of, int_keys

DIM = 16


async def _create(zoro: Opened, name: str = "c", *, engine: str = "hnsw", dim: int = DIM) -> None:
    await zoro.manager.create(name, VectorConfig.single(dim, Distance.EUCLID), {"kind": engine})


def _exact_top(vectors: np.ndarray, ids: list[int], query: np.ndarray, k: int) -> list[int]:
    d = np.linalg.norm(vectors - query, axis=1)
    return [ids[i] for i in np.argsort(d, kind="stable")[:k]]


async def _search_ids(
    zoro: Opened, query: np.ndarray, k: int, name: str = "c", **kw: object
) -> list:
    actor = zoro.manager.serving(name)
    async with read_scope(actor.gate):
        hits = await actor.search(query.reshape(1, -1).astype(np.float32), k, **kw)  # type: ignore[arg-type]
        return ids_of(actor.keys_of_slots(hits.slots[0]))


async def test_concurrent_upserts_share_fsyncs_and_are_all_found(zoro: Opened) -> None:
    await _create(zoro)
    actor = zoro.manager.serving("c")
    vectors = np.random.default_rng(1).normal(size=(1000, DIM)).astype(np.float32)
    lsns: list[int] = []

    async def one(i: int) -> None:
        lsns.append(await actor.write(upsert([i], vectors[i : i + 1])))

    async with trio.open_nursery() as nursery:
        for i in range(1000):
            nursery.start_soon(one, i)
    stats = actor.statistics()
    assert len(set(lsns)) == 1000
    assert stats.wal_records == 1000
    assert stats.wal_syncs < 200, "group commit should share one fsync among many writes"
    assert actor.count() == 1000
    records = actor.get(
        int_keys(np.arange(1000, dtype=np.uint64)), with_vector=True, with_payload=True
    )
    for i, record in enumerate(records):
        assert record is not None
        np.testing.assert_array_equal(record.vector, vectors[i])
        assert record.payload == b'{"i":%d}' % i


async def test_concurrent_writes_of_one_id_end_at_the_highest_acked_lsn(zoro: Opened) -> None:
    await _create(zoro)
    actor = zoro.manager.serving("c")
    acked: dict[int, float] = {}

    async def one(value: float) -> None:
        vec = np.full((1, DIM), value, dtype=np.float32)
        acked[await actor.write(upsert([7], vec))] = value

    async with trio.open_nursery() as nursery:
        for v in range(200):
            nursery.start_soon(one, float(v))
    winner = acked[max(acked)]
    (record,) = actor.get(
        int_keys(np.array([7], dtype=np.uint64)), with_vector=True, with_payload=False
    )
    assert record is not None
    assert record.vector is not None
    assert record.vector[0] == winner
    assert actor.count() == 1


async def test_deleted_points_vanish_everywhere_and_can_come_back(zoro: Opened) -> None:
    await _create(zoro)
    actor = zoro.manager.serving("c")
    vectors = clustered(3_000, DIM, seed=2)
    await actor.write(upsert(range(3_000), vectors))
    gone = list(range(0, 3_000, 3))
    await actor.write(DeleteBatch(int_keys(np.array(gone, dtype=np.uint64))))
    gone_set = set(gone)
    assert actor.count() == 2_000
    for q in vectors[:20]:
        assert not gone_set & set(await _search_ids(zoro, q, 50))
    keys, _ = actor.scroll(None, 10_000)
    assert not gone_set & set(ids_of(keys))
    assert all(
        r is None
        for r in actor.get(
            int_keys(np.array(gone[:50], dtype=np.uint64)), with_vector=False, with_payload=False
        )
    )
    await actor.write(upsert([0], vectors[:1]))
    assert await _search_ids(zoro, vectors[0], 1) == [0]
    assert actor.count() == 2_001


async def test_hnsw_recall_at_10_reaches_095_and_flat_is_exact(zoro: Opened) -> None:
    n, dim = 20_000, 32
    vectors = clustered(n, dim, seed=3)
    for name, engine in (("h", "hnsw"), ("f", "flat")):
        await _create(zoro, name, engine=engine, dim=dim)
        actor = zoro.manager.serving(name)
        for start in range(0, n, 5_000):
            await actor.write(upsert(range(start, start + 5_000), vectors[start : start + 5_000]))
    await _wait_indexed(zoro, "h")
    assert len(zoro.manager.serving("h").statistics().indexed["sealed"]) >= 1
    queries = clustered(100, dim, seed=4)
    ids = list(range(n))
    recall_hits = 0
    for q in queries:
        truth = _exact_top(vectors, ids, q, 10)
        assert await _search_ids(zoro, q, 10, "f") == truth
        recall_hits += len(set(truth) & set(await _search_ids(zoro, q, 10, "h")))
    assert recall_hits / (10 * len(queries)) >= 0.95


async def _wait_indexed(zoro: Opened, name: str) -> None:
    """Poll the background indexer until at most one fresh segment's worth is left unsealed."""
    actor = zoro.manager.serving(name)

    def pending() -> int:
        indexed = actor.statistics().indexed
        return int(indexed["fresh_points"]) + int(indexed["frozen_points"])

    with trio.fail_after(120):
        while pending() >= 2_000:  # noqa: ASYNC110 -- progress of a worker thread, not an event
            await trio.sleep(0.05)


@pytest.mark.parametrize("how", ["clean", "crash", "crash-without-ann-files"])
async def test_restart_gives_the_same_answers(zoro: Opened, how: str) -> None:
    await _create(zoro)
    actor = zoro.manager.serving("c")
    vectors = clustered(6_000, DIM, seed=5)
    await actor.write(upsert(range(6_000), vectors))
    await actor.checkpoint()
    await actor.write(DeleteBatch(int_keys(np.arange(0, 6_000, 7, dtype=np.uint64))))
    await actor.write(upsert(range(6_000, 6_500), clustered(500, DIM, seed=6)))
    queries = clustered(30, DIM, seed=7)
    before = [await _search_ids(zoro, q, 10, exact=True) for q in queries]
    count = actor.count()
    if how == "clean":
        await zoro.close()
    else:
        await zoro.crash()
    if how == "crash-without-ann-files":
        directory = zoro.data_dir / "collections"
        for ann in directory.glob("*/ann"):
            shutil.rmtree(ann)
    await zoro.open()
    await zoro.wait_ready("c")
    assert zoro.manager.serving("c").count() == count
    assert [await _search_ids(zoro, q, 10, exact=True) for q in queries] == before
    if how == "clean":
        assert zoro.manager.serving("c").statistics().wal_records == 0


async def test_a_failing_actor_fails_alone(zoro: Opened, monkeypatch: pytest.MonkeyPatch) -> None:
    await _create(zoro, "bad")
    await _create(zoro, "good")
    bad = zoro.manager.serving("bad")

    def explode(*args: object) -> None:
        raise RuntimeError("injected fault")

    monkeypatch.setattr(bad.store, "apply_many", explode)
    vec = np.zeros((1, DIM), dtype=np.float32)
    with pytest.raises(LoggedNotApplied, match="injected fault"):
        await bad.write(upsert([1], vec))  # logged, then apply failed
    assert bad.state is ActorState.FAILED  # at once: nothing is served from its memory
    with pytest.raises(CollectionFailed):
        bad.count()
    good = zoro.manager.serving("good")
    await good.write(upsert([1], vec))
    assert good.count() == 1
    with trio.fail_after(30):  # and the supervisor reopens it; replay applies the write
        while zoro.manager.actor("bad") is bad or not zoro.manager.exists("bad"):  # noqa: ASYNC110
            await trio.sleep(0.01)
        await zoro.manager.actor("bad").settled.wait()
    assert zoro.manager.serving("bad").count() == 1


async def test_a_flooded_mailbox_rejects_at_once_and_loses_nothing_acked(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    settings = replace(SMALL, actor=replace(SMALL.actor, mailbox_size=8))
    zoro = Opened(tmp_path / "data", nursery, settings)
    await zoro.open()
    await _create(zoro)
    actor = zoro.manager.serving("c")
    acked: list[int] = []
    rejected = 0
    vectors = np.random.default_rng(8).normal(size=(500, DIM)).astype(np.float32)

    async def one(i: int) -> None:
        nonlocal rejected
        try:
            await actor.write(upsert([i], vectors[i : i + 1]))
        except Overloaded:
            rejected += 1
        else:
            acked.append(i)

    async with trio.open_nursery() as writers:
        for i in range(500):
            writers.start_soon(one, i)
    assert rejected > 0
    assert acked
    assert actor.statistics().mailbox_depth == 0
    await zoro.crash()
    await zoro.open()
    await zoro.wait_ready("c")
    actor = zoro.manager.serving("c")
    found = actor.get(
        int_keys(np.array(acked, dtype=np.uint64)), with_vector=False, with_payload=False
    )
    assert all(r is not None for r in found)
    await zoro.close()


async def test_delete_collection_is_gone_and_name_reusable(zoro: Opened) -> None:
    await _create(zoro)
    await zoro.manager.delete("c")
    with pytest.raises(CollectionNotFound):
        zoro.manager.serving("c")
    assert not list((zoro.data_dir / "collections").iterdir())
    await _create(zoro)
    assert zoro.manager.serving("c").count() == 0


async def test_a_fresh_segment_is_indexed_once_writes_pause(zoro: Opened) -> None:
    await _create(zoro)
    actor = zoro.manager.serving("c")
    await actor.write(upsert(range(1_500), clustered(1_500, DIM, seed=9)))

    def indexing() -> bool:
        indexed = actor.statistics().indexed
        return bool(indexed["fresh_points"] or indexed["frozen_points"] or indexed["job_running"])

    with trio.fail_after(60):
        while indexing():  # noqa: ASYNC110 -- a worker thread's progress, not an event
            await trio.sleep(0.05)
    indexed = actor.statistics().indexed
    assert sum(s["points"] for s in indexed["sealed"]) == 1_500
    assert await _search_ids(zoro, clustered(1, DIM, seed=9)[0], 1)


async def test_a_pause_in_writes_brings_a_checkpoint(tmp_path: Path, nursery: trio.Nursery) -> None:
    settings = replace(SMALL, actor=replace(SMALL.actor, idle_checkpoint_s=0.2))
    opened = Opened(tmp_path / "idle", nursery, settings)
    manager = await opened.open()
    await manager.create("i", VectorConfig.single(4, Distance.EUCLID), {"kind": "hnsw"})
    actor = manager.actor("i")
    lsn = await actor.write(upsert(range(10), clustered(10, 4)))
    assert actor.statistics().checkpoint_lsn < lsn
    with trio.fail_after(10):
        while actor.statistics().checkpoint_lsn < lsn:  # noqa: ASYNC110 -- a timer in the actor
            await trio.sleep(0.05)
    await opened.crash()
    manager = await opened.open()
    await opened.wait_ready("i")
    assert manager.actor("i").statistics().replayed_records == 0
    await manager.close()
