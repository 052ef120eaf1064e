"""Seal jobs on their own: batches, cancellation, and what a cancelled job leaves behind."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from zoro.ann import HnswEngine, SealCancelled, SegmentedIndex, jobs
from zoro.ann.engine import F32, I64
from zoro.types import Distance

from .conftest import assert_exact, clustered, small_settings, unit

DIM = 16


def grown_index(tmp_path: Path) -> tuple[SegmentedIndex, np.ndarray]:
    """One sealed HNSW segment of 2,000 points and 1,000 more frozen, waiting for a job that
    grows it (fewer new points than the base holds: see SegmentedIndex's _outgrown)."""
    index = SegmentedIndex(
        tmp_path, DIM, Distance.COSINE, small_settings(fresh_segment_max_points=1000)
    )
    base = unit(clustered(3000, DIM, seed=1))
    index.add(np.arange(2000), base[:2000])
    while (job := index.take_seal_job()) is not None:
        index.install(job.run())
    index.add(np.arange(2000, 3000), base[2000:])
    return index, base


def check(index: SegmentedIndex, base: np.ndarray, dead: frozenset[int] = frozenset()) -> None:
    queries = clustered(10, DIM, seed=7)
    got = index.search(queries, 10, exact=True)
    assert_exact(Distance.COSINE, base, np.arange(len(base)), queries, got, dead)


def test_batches_are_exact_sized_across_inputs_and_skip_deleted() -> None:
    from zoro.ann import Bitmap, FlatBuffer

    sources = []
    for start in (0, 70, 100):
        buffer = FlatBuffer(DIM, Distance.DOT)
        n = {0: 70, 70: 30, 100: 55}[start]
        buffer.add(np.arange(start, start + n), np.ones((n, DIM), dtype=np.float32))
        sources.append(buffer.freeze())
    deleted = Bitmap()
    deleted.set(np.array([3, 71, 150]))
    got = list(jobs._live_batches(sources, deleted, 40))
    assert [len(s) for s, _ in got] == [40, 40, 40, 32]
    slots = np.concatenate([s for s, _ in got])
    assert slots.tolist() == [s for s in range(155) if s not in (3, 71, 150)]
    assert all(len(v) == len(s) for s, v in got)


def test_hnsw_batches_stay_small_for_big_vectors() -> None:
    spec = jobs.BuildSpec("hnsw", 128, Distance.COSINE, 16, 100, 64, 1)
    assert spec.batch_points() == 2621
    big = jobs.BuildSpec("hnsw", 4096, Distance.COSINE, 16, 100, 64, 1)
    assert big.batch_points() == jobs.HNSW_BATCH_MIN
    tiny = jobs.BuildSpec("hnsw", 4, Distance.COSINE, 16, 40, 64, 1)
    assert tiny.batch_points() == jobs.HNSW_BATCH_MAX


def test_a_job_cancelled_midway_raises_and_abandon_leaves_the_index_working(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index, base = grown_index(tmp_path)
    monkeypatch.setattr(jobs, "HNSW_BATCH_MAX", 256)  # 4 add batches for the 1,000 new points
    job = index.take_seal_job()
    assert job is not None
    assert job.base is not None
    sealed_engine = job.base
    calls = []
    real_add = HnswEngine.add

    def add_then_cancel(engine: HnswEngine, ids: I64, vectors: F32, levels: Any = None) -> None:
        real_add(engine, ids, vectors, levels)
        calls.append(len(ids))
        if len(calls) == 3:
            job.cancel()  # as another thread would, while the job is in its 3rd batch

    monkeypatch.setattr(HnswEngine, "add", add_then_cancel)
    before = index.stats()
    with pytest.raises(SealCancelled):
        job.run()
    # upper-layer points first (about 1/16 of them), then bottom-layer batches of up to 256
    assert len(calls) == 3  # stopped at the next check
    assert calls[0] < 200
    assert max(calls) <= 256
    assert len(sealed_engine) == 2000  # the clone was grown, never the sealed segment
    # the index is as it was; only the job's own progress moved
    assert dataclasses.replace(index.stats(), job=None) == dataclasses.replace(before, job=None)
    check(index, base)
    index.abandon(job)
    monkeypatch.setattr(HnswEngine, "add", real_add)
    again = index.take_seal_job()
    assert again is not None
    assert again is not job
    index.install(again.run())
    stats = index.stats()
    assert [s.points for s in stats.sealed] == [3000]
    assert stats.frozen_points == 0
    check(index, base)


def test_cancel_from_another_thread_stops_a_running_job_promptly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index, base = grown_index(tmp_path)
    more = unit(clustered(10_000, DIM, seed=3))
    index.add(np.arange(3000, 13_000), more)
    monkeypatch.setattr(jobs, "HNSW_BATCH_MAX", 256)
    job = index.take_seal_job()
    assert job is not None
    adding = threading.Event()
    real_add = HnswEngine.add

    def add(engine: HnswEngine, ids: I64, vectors: F32, levels: Any = None) -> None:
        adding.set()
        real_add(engine, ids, vectors, levels)

    monkeypatch.setattr(HnswEngine, "add", add)
    outcome: list[BaseException | None] = []

    def work() -> None:
        try:
            job.run()
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=work)
    thread.start()
    assert adding.wait(timeout=10)
    asked = time.perf_counter()
    job.cancel()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert time.perf_counter() - asked < 2.0
    assert len(outcome) == 1
    assert isinstance(outcome[0], SealCancelled)
    index.abandon(job)
    check(index, np.vstack([base, more]))


def test_a_job_cancelled_before_it_runs_builds_nothing(tmp_path: Path) -> None:
    index, base = grown_index(tmp_path)
    job = index.take_seal_job()
    assert job is not None
    job.cancel()
    job.cancel()  # idempotent
    assert job.cancelled
    with pytest.raises(SealCancelled):
        job.run()
    index.abandon(job)
    index.remove(np.array([5, 1500]))
    check(index, base, frozenset({5, 1500}))
    while (job := index.take_seal_job()) is not None:
        index.install(job.run())
    check(index, base, frozenset({5, 1500}))


def test_drawn_levels_follow_faiss_distribution_and_repeat() -> None:
    from zoro.ann.hnsw import draw_levels

    slots = np.arange(400_000, dtype=np.int64)
    levels = draw_levels(slots, 16)
    assert np.array_equal(levels, draw_levels(slots, 16))  # two passes over a job agree
    for layer in (1, 2):  # P(level >= l) = 16**-l
        assert abs(np.mean(levels >= layer) - 16.0**-layer) < 0.1 * 16.0**-layer
