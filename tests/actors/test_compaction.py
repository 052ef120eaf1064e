"""A compaction run by the actor: reclaimed slots, every point kept, reads and writes beside it."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import orjson
import pytest
import trio
import trio.lowlevel

from tests.actors.conftest import SMALL, Opened, clustered, upsert
from zoro.actors import CollectionActor, builders
from zoro.actors.numbering import read_scope
from zoro.ann.jobs import SealJob, SealResult
from zoro.payload import Match, Range, parse_key
from zoro.settings import Settings, StorageSettings
from zoro.types import DeleteBatch, Distance, VectorConfig, ids_of, int_keys

DIM = 8
CATEGORY = parse_key("c")
PRICE = parse_key("p")


def _payload(i: int) -> bytes:
    return orjson.dumps({"c": f"w{i % 10}", "p": float(i % 1000)})


def _settings(*, threaded: bool = False, **storage: object) -> Settings:
    """SMALL with these storage settings; `threaded`: every search runs in a worker thread,
    so that reads hold their slots across awaits."""
    actor = replace(SMALL.actor, inline_search_max_us=0.0) if threaded else SMALL.actor
    return replace(SMALL, storage=replace(StorageSettings(), **storage), actor=actor)


async def _state(actor: CollectionActor, ids: list[int]) -> dict[int, tuple[list[float], bytes]]:
    """Each live point's vector and payload."""
    keys = int_keys(np.array(ids, dtype=np.uint64))
    out = {}
    for i, record in zip(ids, actor.get(keys, with_vector=True, with_payload=True), strict=True):
        if record is not None:
            assert record.vector is not None
            out[i] = (record.vector.tolist(), record.payload)
    return out


async def _answers(actor: CollectionActor, queries: np.ndarray) -> list[list[int]]:
    """Exact top-10 ids per query, unfiltered and among price < 300, and the count of w3."""
    out = []
    async with read_scope(actor.gate):
        cheap = await actor.select(Range(PRICE, lt=300.0))
        for q in queries:
            for only in (None, cheap):
                hits = await actor.search(q[None], 10, exact=True, only=only)
                out.append([int(i) for i in ids_of(actor.keys_of_slots(hits.slots[0]))])
        out.append([(await actor.select(Match(CATEGORY, "value", frozenset(["w3"]), str))).count])
    return out


async def _churned(actor: CollectionActor, n: int, rounds: int) -> None:
    """n points, overwritten `rounds` times, a tenth deleted in the last round."""
    for r in range(rounds + 1):
        await actor.write(upsert(range(n), clustered(n, DIM, seed=r), _payload))
    await actor.write(DeleteBatch(int_keys(np.arange(0, n, 10, dtype=np.uint64))))


async def test_a_compaction_reclaims_the_garbage_and_keeps_every_point(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    zoro = Opened(tmp_path / "data", nursery, _settings(compaction_garbage_ratio=0.0))
    manager = await zoro.open()
    await manager.create("c", VectorConfig.single(DIM, Distance.EUCLID), {"kind": "hnsw"})
    actor = manager.actor("c")
    n = 3000
    await _churned(actor, n, rounds=3)
    await actor.change_payload_index("c", "keyword")
    await actor.payload_index_built("c")
    queries = clustered(5, DIM, seed=99)
    before = await _state(actor, list(range(n)))
    answers = await _answers(actor, queries)
    assert actor.statistics().garbage_slots == 4 * n - len(before)

    report = await actor.compact()

    stats = actor.statistics()
    assert report.slots_before == 4 * n
    assert report.slots_after == stats.slots == len(before) + 1  # the void slot
    assert stats.garbage_slots == 0
    assert stats.file_generation == 1
    assert stats.compactions == 1
    assert await _state(actor, list(range(n))) == before
    assert await _answers(actor, queries) == answers
    # writes go on in the new numbering, and a restart reads the new generation
    await actor.write(upsert([0, 1], clustered(2, DIM, seed=7), _payload))
    before = await _state(actor, list(range(n)))
    answers = await _answers(actor, queries)
    await zoro.close()
    manager = await zoro.open()
    await zoro.wait_ready("c")
    actor = manager.actor("c")
    assert actor.statistics().file_generation == 1
    assert await _state(actor, list(range(n))) == before
    assert await _answers(actor, queries) == answers
    assert not list((tmp_path / "data").rglob("files.0*")), "no other generation is left"
    await manager.close()


async def test_reads_and_writes_go_on_while_a_compaction_runs(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    """A slow, paced copy with writers and readers beside it: every read answers with points
    as they were at some moment (ids that exist, vectors that match the scores), and at the
    end the collection holds exactly the acknowledged writes."""
    settings = _settings(
        threaded=True, compaction_garbage_ratio=0.0, compaction_bytes_per_s=400_000.0
    )
    zoro = Opened(tmp_path / "data", nursery, settings)
    manager = await zoro.open()
    await manager.create("c", VectorConfig.single(DIM, Distance.EUCLID), {"kind": "hnsw"})
    actor = manager.actor("c")
    n = 3000
    await _churned(actor, n, rounds=2)
    model = await _state(actor, list(range(n)))
    rng = np.random.default_rng(5)
    reads = 0
    compacted = trio.Event()

    async def writer() -> None:
        for r in range(200):
            if compacted.is_set() and r > 20:
                return
            ids = rng.choice(n, size=20, replace=False).tolist()
            vectors = clustered(20, DIM, seed=1000 + r)
            await actor.write(upsert(ids, vectors, _payload))
            for i, v in zip(ids, vectors, strict=True):
                model[i] = (v.tolist(), _payload(i))
            await trio.sleep(0.005)

    async def reader() -> None:
        nonlocal reads
        while not compacted.is_set():
            async with read_scope(actor.gate):
                q = clustered(1, DIM, seed=int(rng.integers(1 << 30)))
                only = await actor.select(Range(PRICE, lt=500.0))
                hits = await actor.search(q, 10, exact=True, only=only)
                ids = ids_of(actor.keys_of_slots(hits.slots[0]))
                vectors = actor.vectors_of_slots(hits.slots[0])
            for score, vector in zip(hits.scores[0], vectors, strict=True):
                # the vector read in the same numbering is the one the search scored
                assert float(np.linalg.norm(vector - q[0])) == pytest.approx(score, rel=1e-4)
            assert 0 < len(ids) <= 10  # hits replaced while the thread ran are dropped
            reads += 1
            await trio.lowlevel.checkpoint()

    async def compact() -> None:
        await actor.compact()
        compacted.set()

    with trio.fail_after(120):
        async with trio.open_nursery() as work:
            work.start_soon(compact)
            work.start_soon(writer)
            work.start_soon(reader)
            work.start_soon(reader)
    assert actor.statistics().compactions == 1
    assert reads >= 3  # searches ran beside the copy (about 10-40 here)
    assert await _state(actor, list(range(n))) == model
    await zoro.crash()  # and the WAL after the switch's checkpoint replays onto the new files
    manager = await zoro.open()
    await zoro.wait_ready("c")
    assert await _state(manager.actor("c"), list(range(n))) == model
    await manager.close()


async def test_garbage_past_the_ratio_starts_a_compaction_on_its_own(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    settings = _settings(compaction_garbage_ratio=0.5, compaction_min_slots=1000)
    zoro = Opened(tmp_path / "data", nursery, settings)
    manager = await zoro.open()
    await manager.create("c", VectorConfig.single(DIM, Distance.EUCLID), {"kind": "flat"})
    actor = manager.actor("c")
    await actor.write(upsert(range(1000), clustered(1000, DIM), _payload))
    await trio.sleep(0.1)
    assert actor.statistics().compactions == 0  # no garbage yet
    await actor.write(upsert(range(1000), clustered(1000, DIM, seed=1), _payload))
    # half the slots are garbage now: no checkpoint needed
    with trio.fail_after(30):
        while actor.statistics().compactions == 0:  # noqa: ASYNC110 -- the compactor task's run
            await trio.sleep(0.02)
    stats = actor.statistics()
    assert stats.slots == 1001
    assert stats.garbage_slots == 0
    await manager.close()


async def test_asked_while_one_runs_a_compaction_reclaims_what_died_since_its_cut(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    """A compaction asked for while another copies runs after it: the one under way took its
    cut before the call, so the slots that died since would stay garbage, and at rest nothing
    would reclaim them (the trigger looks after writes only)."""
    settings = _settings(compaction_garbage_ratio=0.0, compaction_bytes_per_s=100_000.0)
    zoro = Opened(tmp_path / "data", nursery, settings)
    manager = await zoro.open()
    await manager.create("c", VectorConfig.single(DIM, Distance.EUCLID), {"kind": "flat"})
    actor = manager.actor("c")
    n = 2000
    await _churned(actor, n, rounds=1)
    with trio.fail_after(60):
        async with trio.open_nursery() as both:
            both.start_soon(actor.compact)
            while not actor.compacting:  # noqa: ASYNC110 -- the compactor task's run
                await trio.sleep(0.01)
            # the points copied so far die; the copy is paced, so this comes before its switch
            await actor.write(upsert(range(n), clustered(n, DIM, seed=50), _payload))
            assert actor.compacting
            report = await actor.compact()
    stats = actor.statistics()
    assert stats.garbage_slots == 0
    assert stats.compactions == 2
    assert report.slots_after == stats.slots == n + 1  # the void slot
    await manager.close()


async def test_a_payload_index_built_beside_a_compaction_answers_like_a_scan(
    tmp_path: Path, nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build and its install hold the builders' gate together, so a switch never falls
    between them (an index numbered in the old generation would be installed in the new one).
    The steps around them are slowed so that a gap would be found."""
    real_build = builders.build_index

    def slow_build(*args: object) -> object:
        time.sleep(0.2)
        return real_build(*args)  # type: ignore[arg-type]

    def slow_trim() -> float:
        time.sleep(0.3)
        return 0.0

    monkeypatch.setattr(builders, "build_index", slow_build)
    monkeypatch.setattr(builders, "release_free_memory", slow_trim)
    zoro = Opened(tmp_path / "data", nursery, _settings(compaction_garbage_ratio=0.0))
    manager = await zoro.open()
    await manager.create("c", VectorConfig.single(DIM, Distance.EUCLID), {"kind": "hnsw"})
    actor = manager.actor("c")
    n = 3000
    await _churned(actor, n, rounds=2)
    condition = Match(CATEGORY, "value", frozenset(["w3"]), str)
    async with read_scope(actor.gate):
        scanned = (await actor.select(condition)).count
    with trio.fail_after(60):
        async with trio.open_nursery() as both:
            both.start_soon(actor.change_payload_index, "c", "keyword")
            await trio.sleep(0.05)  # the build is under way
            both.start_soon(actor.compact)
        await actor.payload_index_built("c")
    assert actor.payload_index("c") is not None
    async with read_scope(actor.gate):
        assert (await actor.select(condition)).count == scanned
        found = (await actor.select(condition)).mask
        ids = ids_of(actor.keys_of_slots(np.flatnonzero(found)))
    assert all(int(i) % 10 == 3 for i in ids)
    await manager.close()


async def test_a_graph_build_runs_across_a_compaction(
    tmp_path: Path, nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A compaction does not wait for the graph build under way: the build is held until two
    compactions have switched, then installed in their numbering, and every exact and
    approximate answer is the collection's, before and after a restart. (Waiting for it made
    compactions come seldom under steady overwrites, with garbage far past the ratio.)"""
    release = threading.Event()
    builds_started = threading.Event()
    real_run = SealJob.run

    def held_run(job: SealJob) -> SealResult:
        builds_started.set()
        release.wait(timeout=60)
        return real_run(job)

    monkeypatch.setattr(SealJob, "run", held_run)
    zoro = Opened(tmp_path / "data", nursery, _settings(compaction_garbage_ratio=0.0))
    manager = await zoro.open()
    try:
        await manager.create("c", VectorConfig.single(DIM, Distance.EUCLID), {"kind": "hnsw"})
        actor = manager.actor("c")
        n = 3000
        await _churned(actor, n, rounds=1)
        with trio.fail_after(30):
            await trio.to_thread.run_sync(builds_started.wait)
        with trio.fail_after(30):  # a compaction waiting for the build would never end
            await actor.compact()
            await actor.write(upsert(range(0, n, 2), clustered(n // 2, DIM, seed=5), _payload))
            await actor.compact()
        assert actor.statistics().indexed["job_running"], "the build was still held"
        release.set()
        with trio.fail_after(30):
            while _building(actor):  # noqa: ASYNC110 -- the builder task's run
                await trio.sleep(0.02)
        indexed = actor.statistics().indexed
        assert indexed["sealed"], "the build was installed"
        assert indexed["live_points"] == actor.count()
        queries = clustered(5, DIM, seed=99)
        answers = await _answers(actor, queries)
        state = await _state(actor, list(range(n)))
        async with read_scope(actor.gate):
            for q in queries:
                hits = await actor.search(q[None], 10)
                ids = ids_of(actor.keys_of_slots(hits.slots[0]))
                assert all(int(i) in state for i in ids), "an ANN answer is a live point"
        await zoro.close()
        manager = await zoro.open()
        await zoro.wait_ready("c")
        actor = manager.actor("c")
        assert await _state(actor, list(range(n))) == state
        assert await _answers(actor, queries) == answers
    finally:
        release.set()
    await manager.close()


def _building(actor: CollectionActor) -> bool:
    indexed = actor.statistics().indexed
    return bool(indexed["job_running"] or indexed["frozen_segments"])
