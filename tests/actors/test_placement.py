"""Searches placed in worker threads: right answers while writes land, the event loop free
meanwhile, and a bounded number per collection (cheap searches elsewhere never wait)."""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import numpy as np
import orjson
import pytest
import trio

from tests.actors.conftest import SMALL, Opened, clustered, upsert
from tests.actors.test_actor import _wait_indexed
from zoro.actors import planner, reads
from zoro.actors.numbering import read_scope
from zoro.actors.threads import SearchThreads
from zoro.ann import SearchView
from zoro.errors import Overloaded
from zoro.payload import Range, parse_key
from zoro.settings import Settings
from zoro.sparse import SparseBatch
from zoro.sparse.search import SparseView
from zoro.types import (
    DeleteBatch,
    Distance,
    SparseColumn,
    SparseSpec,
    UpsertBatch,
    VectorConfig,
    ids_of,
    int_keys,
)

DIM = 8
PRICE = parse_key("p")


def _settings(**actor: object) -> Settings:
    return replace(SMALL, actor=replace(SMALL.actor, **actor))  # type: ignore[arg-type]


def _slow_in_threads(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Worker-thread searches sleep first, so that writes land while they run."""
    real_view_search = SearchView.search
    real_subset = reads.search_subset

    def pause() -> None:
        if threading.current_thread() is not threading.main_thread():
            time.sleep(seconds)

    def view_search(self: SearchView, *args: object, **kw: object) -> object:
        pause()
        return real_view_search(self, *args, **kw)  # type: ignore[arg-type]

    def subset(*args: object) -> object:
        pause()
        return real_subset(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(SearchView, "search", view_search)
    monkeypatch.setattr(reads, "search_subset", subset)


@pytest.mark.parametrize("plan", ["index", "subset", "walk"])
async def test_thread_searches_drop_hits_deleted_or_replaced_meanwhile(
    tmp_path: Path, nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch, plan: str
) -> None:
    monkeypatch.setattr(planner, "EXACT_FILTER_POINTS", 100)  # 50% kept walks the graph
    zoro = Opened(tmp_path / "data", nursery, _settings(inline_search_max_us=0.0))
    manager = await zoro.open()
    await manager.create("c", VectorConfig.single(DIM, Distance.EUCLID), {"kind": "hnsw"})
    actor = manager.actor("c")
    n = 3000
    vectors = clustered(n, DIM)
    await actor.write(upsert(range(n), vectors, lambda i: orjson.dumps({"p": i % 2})))
    await _wait_indexed(zoro, "c")
    # half the points (price 0): exact among them ("subset"), or the graph walk
    async with read_scope(actor.gate):
        only = None if plan == "index" else await actor.select(Range(PRICE, lt=0.5))
        query = vectors[10:11]  # point 10 (price 0) and its neighbours
        before = await actor.search(query, 20, only=only, exact=plan != "walk")
        first = [int(i) for i in ids_of(actor.keys_of_slots(before.slots[0]))]
        assert first[0] == 10
        replaced = first[1]
        _slow_in_threads(monkeypatch, 0.5)
        box = []

        async def search() -> None:
            box.append(await actor.search(query, 20, only=only, exact=plan != "walk"))

        async with trio.open_nursery() as searching:
            searching.start_soon(search)
            await trio.sleep(0.05)  # the thread has its view: now change the top hits
            await actor.write(DeleteBatch(int_keys(np.array([10], dtype=np.uint64))))
            far = np.full((1, DIM), 1e4, dtype=np.float32)
            await actor.write(upsert([replaced], far, lambda i: b'{"p": 0}'))
        hits = box[0]
        ids = [int(i) for i in ids_of(actor.keys_of_slots(hits.slots[0]))]
        assert 10 not in ids
        assert replaced not in ids  # its old version is gone, its new one is far away
        records = actor.get(
            int_keys(np.array(ids, dtype=np.uint64)), with_vector=True, with_payload=False
        )
        for record, score in zip(records, hits.scores[0], strict=True):
            assert record is not None
            assert record.vector is not None
            # every hit answers for its point's current vector
            assert float(np.linalg.norm(record.vector - query[0])) == pytest.approx(score, rel=1e-4)
        assert len(ids) >= 10
    await manager.close()


async def test_an_expensive_search_leaves_the_event_loop_free(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    zoro = Opened(tmp_path / "data", nursery, SMALL)
    manager = await zoro.open()
    dim, n = 128, 40_000
    await manager.create("big", VectorConfig.single(dim, Distance.EUCLID), {"kind": "flat"})
    actor = manager.actor("big")
    rng = np.random.default_rng(4)
    for start in range(0, n, 10_000):
        batch = rng.standard_normal((10_000, dim), dtype=np.float32)
        await actor.write(upsert(range(start, start + 10_000), batch))
    # 256 queries: an exact scan of them takes ~80 ms on a quiet machine (64 took 20, at the
    # edge of the precondition below)
    queries = rng.standard_normal((256, dim), dtype=np.float32)
    gaps: list[float] = []
    took: list[float] = []
    done = trio.Event()

    async def ticker() -> None:
        while not done.is_set():
            asked = time.perf_counter()
            await trio.sleep(0.002)
            gaps.append(time.perf_counter() - asked - 0.002)

    async with read_scope(actor.gate), trio.open_nursery() as watching:
        watching.start_soon(ticker)
        for _ in range(3):
            started = time.perf_counter()
            hits = await actor.search(queries, 10, exact=True)
            took.append(time.perf_counter() - started)
            assert len(hits.slots) == len(queries)
        done.set()
    # Inline, the loop would have been held for each whole search; in a thread, the ticker
    # keeps waking (the bound is generous: this machine is shared and loaded).
    assert min(took) > 0.02, f"too small to tell: {took}"
    assert max(gaps) < min(took) / 2, (max(gaps), took)
    await manager.close()


async def test_thread_searches_are_bounded_per_collection_and_cheap_ones_do_not_wait(
    tmp_path: Path, nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch
) -> None:
    zoro = Opened(tmp_path / "data", nursery, _settings(thread_searches_max=2))
    manager = await zoro.open()
    await manager.create("heavy", VectorConfig.single(128, Distance.EUCLID), {"kind": "flat"})
    await manager.create("light", VectorConfig.single(DIM, Distance.EUCLID), {"kind": "hnsw"})
    heavy, light = manager.actor("heavy"), manager.actor("light")
    rng = np.random.default_rng(5)
    await heavy.write(upsert(range(20_000), rng.standard_normal((20_000, 128), dtype=np.float32)))
    await light.write(upsert(range(500), clustered(500, DIM)))
    _slow_in_threads(monkeypatch, 0.5)
    query = rng.standard_normal((1, 128), dtype=np.float32)
    outcomes: list[str] = []
    reasons: list[str] = []

    async def expensive() -> None:
        try:
            async with read_scope(heavy.gate):
                await heavy.search(query, 10)  # 20,000 x 128 exact: ~1 ms, so in a thread
        except Overloaded as exc:
            outcomes.append("refused")
            reasons.append(exc.message)
        else:
            outcomes.append("answered")

    cheap_took: list[float] = []
    async with trio.open_nursery() as clients:
        for _ in range(6):
            clients.start_soon(expensive)
        await trio.sleep(0.05)
        started = time.perf_counter()
        async with read_scope(light.gate):
            hits = await light.search(clustered(1, DIM, seed=2), 5)
        cheap_took.append(time.perf_counter() - started)
    assert sorted(outcomes) == ["answered"] * 2 + ["refused"] * 4
    assert all("2 expensive searches waiting or running" in r for r in reasons), reasons
    assert len(hits.slots[0]) == 5
    assert cheap_took[0] < 0.25  # the heavy collection's threads sleep for 0.5 s
    await manager.close()


async def test_one_collection_uses_its_own_share_of_the_search_threads(
    tmp_path: Path, nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(inline_search_max_us=0.0, search_threads_per_collection=1)
    zoro = Opened(tmp_path / "data", nursery, settings)
    manager = await zoro.open()
    for name in ("x", "y"):
        await manager.create(name, VectorConfig.single(DIM, Distance.EUCLID), {"kind": "hnsw"})
        await manager.actor(name).write(upsert(range(100), clustered(100, DIM)))
    _slow_in_threads(monkeypatch, 0.3)
    query = clustered(1, DIM, seed=3)
    finished: dict[str, list[float]] = {"x": [], "y": []}
    started = time.perf_counter()

    async def search(name: str) -> None:
        async with read_scope(manager.actor(name).gate):
            await manager.actor(name).search(query, 5)
        finished[name].append(time.perf_counter() - started)

    async with trio.open_nursery() as clients:
        for name in ("x", "x", "y"):
            clients.start_soon(search, name)
    # x's two searches ran one after the other; y's ran beside them (the shared limiter has 2)
    assert max(finished["x"]) >= 0.6
    assert finished["y"][0] < max(finished["x"])
    await manager.close()


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread nice is Linux's")
async def test_expensive_searches_run_at_a_lower_priority_in_threads_of_their_own(
    tmp_path: Path, nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch
) -> None:
    zoro = Opened(tmp_path / "data", nursery, _settings(inline_search_max_us=0.0))
    manager = await zoro.open()
    await manager.create("c", VectorConfig.single(DIM, Distance.EUCLID), {"kind": "hnsw"})
    actor = manager.actor("c")
    await actor.write(upsert(range(100), clustered(100, DIM)))
    seen: list[tuple[str, int]] = []
    real = SearchView.search

    def recording(self: SearchView, *args: object, **kw: object) -> object:
        me = threading.current_thread()
        seen.append((me.name, os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))
        return real(self, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(SearchView, "search", recording)
    async with read_scope(actor.gate):
        await actor.search(clustered(1, DIM), 5)
    assert len(seen) == 1
    assert seen[0][0].startswith("zoro-search-c")
    assert seen[0][1] == os.getpriority(os.PRIO_PROCESS, 0) + 10
    # trio's own worker threads (which run WAL fsyncs too) keep the server's priority
    trio_nice = await trio.to_thread.run_sync(
        lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    )
    assert trio_nice == os.getpriority(os.PRIO_PROCESS, 0)
    await manager.close()


def test_search_threads_once_closed_run_work_in_the_caller() -> None:
    threads = SearchThreads("t", 1, 0)
    assert threads.call(lambda: threading.current_thread().name).startswith("zoro-search-t")
    threads.close()
    assert threads.call(lambda: threading.current_thread().name) == "MainThread"


async def test_dear_sparse_searches_run_in_threads_and_drop_hits_deleted_meanwhile(
    tmp_path: Path, nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the inline budget at 0 every sparse search goes to a thread, on a copied view of
    the inverted index: it answers as the inline search does, and a hit whose point was
    deleted or replaced while it ran is dropped."""
    number = 0
    config = VectorConfig(MappingProxyType({}), MappingProxyType({"s": SparseSpec(number)}), False)
    zoro = Opened(tmp_path / "data", nursery, _settings(inline_search_max_us=0.0))
    manager = await zoro.open()
    await manager.create("c", config, {"kind": "hnsw"})
    actor = manager.actor("c")
    n = 200

    def batch(ids: list[int], weights: list[float]) -> UpsertBatch:
        rows = SparseBatch.from_lists([[1]] * len(ids), [[w] for w in weights])
        column = SparseColumn(np.ones(len(ids), dtype=np.bool_), rows)
        keys = int_keys(np.array(ids, dtype=np.uint64))
        payloads = [b"{}"] * len(ids)
        return UpsertBatch(keys, None, payloads, MappingProxyType({number: column}))

    await actor.write(batch(list(range(n)), [float(i) for i in range(n)]))
    query = SparseBatch.from_lists([[1]], [[1.0]])
    async with read_scope(actor.gate):
        threaded = await actor.search_sparse(number, query, 5, idf=False)
    assert threaded.scores[0].tolist() == [199.0, 198.0, 197.0, 196.0, 195.0]
    real = SparseView.search

    def slow(self: SparseView, *args: object) -> object:
        assert threading.current_thread() is not threading.main_thread()
        time.sleep(0.5)
        return real(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(SparseView, "search", slow)
    box = []

    async def search() -> None:
        async with read_scope(actor.gate):
            box.append(await actor.search_sparse(number, query, 5, idf=False))

    async with trio.open_nursery() as searching:
        searching.start_soon(search)
        await trio.sleep(0.05)  # the thread has its view: now change the top hits
        await actor.write(DeleteBatch(int_keys(np.array([199], dtype=np.uint64))))
        await actor.write(batch([198], [0.5]))
    ids = [int(i) for i in ids_of(actor.keys_of_slots(box[0].slots[0]))]
    assert ids == [197, 196, 195]  # 199 deleted, 198's old version replaced: both dropped
    await manager.close()
