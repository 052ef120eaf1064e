"""SegmentedIndex on the event-loop side: fresh, frozen and sealed segments, jobs, thread views."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from zoro.ann import SealJob, SegmentedIndex
from zoro.types import Distance

from .conftest import assert_exact, clustered, recall, small_settings, unit

DIM = 16


def make(tmp_path: Path, distance: Distance = Distance.COSINE, **changes: int) -> SegmentedIndex:
    return SegmentedIndex(tmp_path / "ann", DIM, distance, small_settings(**changes))


def vectors(n: int, *, seed: int = 0) -> np.ndarray:
    return unit(clustered(n, DIM, seed=seed))


def run_jobs(index: SegmentedIndex) -> int:
    """Take, run and install every job that is due (in this thread, as a worker would)."""
    done = 0
    while (job := index.take_seal_job()) is not None:
        index.install(job.run())
        done += 1
    return done


class Model:
    """What the index should hold: every vector ever added, and the slots deleted."""

    def __init__(self, index: SegmentedIndex) -> None:
        self.index = index
        self.base = np.empty((0, DIM), dtype=np.float32)
        self.dead: set[int] = set()

    def add(self, n: int, *, seed: int) -> None:
        slots = np.arange(len(self.base), len(self.base) + n, dtype=np.int64)
        new = vectors(n, seed=seed)
        self.index.add(slots, new)
        self.base = np.vstack([self.base, new])

    def remove(self, slots: list[int]) -> None:
        self.index.remove(np.array(slots, dtype=np.int64))
        self.dead |= set(slots)

    def check_exact(self, queries: np.ndarray, k: int = 10) -> None:
        got = self.index.search(queries, k, exact=True)
        slots = np.arange(len(self.base), dtype=np.int64)
        assert_exact(self.index.distance, self.base, slots, queries, got, self.dead)
        assert len(self.index) == len(self.base) - len(self.dead)


def test_cosine_queries_are_normalised(tmp_path: Path) -> None:
    index = make(tmp_path)
    index.add(np.arange(100), vectors(100))
    q = clustered(3, DIM, seed=5)
    scores, ids = index.search(q * 7.5, 5)
    scores_unit, ids_unit = index.search(unit(q), 5)
    assert (ids == ids_unit).all()
    np.testing.assert_allclose(scores, scores_unit, rtol=1e-5)
    assert float(scores.max()) <= 1.0 + 1e-5


def test_small_collection_is_sealed_flat_only(tmp_path: Path) -> None:
    index = make(tmp_path, fresh_segment_max_points=200, full_scan_threshold=10_000)
    model = Model(index)
    model.add(700, seed=1)
    run_jobs(index)
    stats = index.stats()
    assert {s.kind for s in stats.sealed} == {"flat"}
    assert stats.frozen_segments == 0
    model.check_exact(clustered(20, DIM, seed=2))


def test_flat_engine_never_builds_hnsw(tmp_path: Path) -> None:
    index = SegmentedIndex(
        tmp_path, DIM, Distance.DOT, small_settings(full_scan_threshold=100), engine="flat"
    )
    model = Model(index)
    for seed in range(6):
        model.add(300, seed=seed)
        run_jobs(index)
    assert {s.kind for s in index.stats().sealed} == {"flat"}
    model.check_exact(clustered(5, DIM, seed=9))


def test_seal_flow_honours_writes_made_while_the_job_runs(tmp_path: Path) -> None:
    index = make(tmp_path, fresh_segment_max_points=600, full_scan_threshold=400)
    model = Model(index)
    queries = clustered(25, DIM, seed=3)
    model.add(600, seed=1)  # fills the fresh segment: frozen at once
    model.remove([0, 1, 2])  # deleted before the job: left out of the build
    job = index.take_seal_job()
    assert job is not None
    assert job.kind == "hnsw"
    assert job.input_points == 600
    assert index.take_seal_job() is None  # one job at a time
    model.add(50, seed=2)  # lands in a new fresh segment
    model.remove([3, 4, 610, 611])  # deleted while the job runs: in the frozen input and fresh
    model.check_exact(queries)
    result = job.run()
    assert result.engine is not None
    assert len(result.engine) == 597
    index.install(result)
    stats = index.stats()
    assert stats.frozen_segments == 0
    assert [s.kind for s in stats.sealed] == ["hnsw"]
    assert stats.sealed[0].deleted == 2  # 3 and 4: still held, excluded through the bitmap
    model.check_exact(queries)
    _, approx = index.search(queries, 10)
    assert not model.dead & set(approx.ravel().tolist())


def test_exact_results_are_the_same_before_and_after_install(tmp_path: Path) -> None:
    index = make(tmp_path, full_scan_threshold=100)
    model = Model(index)
    model.add(700, seed=4)
    queries = clustered(30, DIM, seed=6)
    job = index.take_seal_job()
    assert job is not None
    before = index.search(queries, 10, exact=True)
    index.install(job.run())
    after = index.search(queries, 10, exact=True)
    for b, a in zip(before[1], after[1], strict=True):
        assert set(b.tolist()) == set(a.tolist())
    np.testing.assert_allclose(before[0], after[0], rtol=1e-5, atol=1e-6)


def test_half_deleted_still_returns_k_from_every_segment_kind(tmp_path: Path) -> None:
    index = make(tmp_path, fresh_segment_max_points=400, full_scan_threshold=300)
    model = Model(index)
    model.add(800, seed=1)
    run_jobs(index)  # sealed HNSW
    model.add(400, seed=2)  # frozen as it fills
    assert index.take_seal_job() is not None  # a job we leave pending
    model.add(300, seed=3)  # fresh
    model.remove(list(range(0, 1500, 2)))
    stats = index.stats()
    assert stats.sealed
    assert stats.frozen_segments == 1
    assert stats.fresh_points == 300
    queries = clustered(40, DIM, seed=7)
    _scores, ids = index.search(queries, 10)
    assert (ids >= 0).all()
    assert not model.dead & set(ids.ravel().tolist())
    model.check_exact(queries)


def test_idempotent_add_for_replay(tmp_path: Path) -> None:
    index = make(tmp_path, full_scan_threshold=100)
    model = Model(index)
    model.add(600, seed=1)
    run_jobs(index)
    model.remove([10, 20])
    index.add(np.arange(0, 600, 7), vectors(86, seed=9))  # already indexed: ignored
    index.add(np.array([20]), vectors(1, seed=9))  # deleted: stays deleted
    assert len(index) == 598
    model.check_exact(clustered(5, DIM, seed=3))
    with pytest.raises(ValueError, match="twice"):
        index.add(np.array([700, 700]), vectors(2))


def test_worn_sealed_segment_is_rebuilt(tmp_path: Path) -> None:
    index = make(tmp_path, full_scan_threshold=100)
    model = Model(index)
    model.add(500, seed=1)
    run_jobs(index)
    model.remove(list(range(200)))  # 40% of the segment
    job = index.take_seal_job()
    assert job is not None
    assert job.base is None  # rebuilt, not grown
    assert job.input_points == 500
    index.install(job.run())
    assert [(s.points, s.deleted) for s in index.stats().sealed] == [(300, 0)]
    model.check_exact(clustered(10, DIM, seed=3))


def test_incremental_seal_grows_one_segment_and_keeps_results(tmp_path: Path) -> None:
    index = SegmentedIndex(
        tmp_path,
        DIM,
        Distance.EUCLID,
        small_settings(fresh_segment_max_points=200, full_scan_threshold=100),
    )
    base = np.empty((0, DIM), dtype=np.float32)
    queries = clustered(20, DIM, seed=11)
    for seed in range(7):
        slots = np.arange(len(base), len(base) + 200)
        new = clustered(200, DIM, seed=seed)
        index.add(slots, new)
        base = np.vstack([base, new])
        before = index.search(queries, 10, exact=True)
        job = index.take_seal_job()
        assert job is not None
        assert job.input_points == len(base)
        sealed_before = index.stats().sealed
        if seed == 1:  # as many new points as the graph holds: built again from scratch
            assert job.base is None
        if seed > 1:  # grown from the sealed segment, which is left as it was
            assert job.base is not None
            assert len(job.base) == len(base) - 200
        grown = job.run()
        if job.base is not None:
            assert grown.engine is not job.base
            assert len(job.base) == len(base) - 200
        assert index.stats().sealed == sealed_before  # nothing changed before install
        index.install(grown)
        after = index.search(queries, 10, exact=True)
        np.testing.assert_array_equal(before[1], after[1])
        np.testing.assert_allclose(before[0], after[0], rtol=1e-5, atol=1e-5)
        assert index.take_seal_job() is None
    stats = index.stats()
    assert [(s.kind, s.points) for s in stats.sealed] == [("hnsw", 1400)]
    assert stats.jobs_built == 7
    got = index.search(queries, 10, exact=True)
    assert_exact(Distance.EUCLID, base, np.arange(1400), queries, got)
    assert recall(index.search(queries, 10)[1], got[1]) >= 0.95


def test_incremental_seal_keeps_the_base_deletions_in_the_graph(tmp_path: Path) -> None:
    index = make(tmp_path, fresh_segment_max_points=300, full_scan_threshold=100)
    model = Model(index)
    model.add(600, seed=1)
    run_jobs(index)
    model.remove(list(range(0, 100, 2)))  # 50 of 600: under rebuild_deleted_ratio
    model.add(300, seed=2)
    job = index.take_seal_job()
    assert job is not None
    assert job.base is not None
    model.remove([1, 3, 601, 603])  # while it runs: in the base, and in the frozen input
    index.install(job.run())
    stats = index.stats()
    assert [(s.points, s.deleted) for s in stats.sealed] == [(900, 54)]
    assert len(index) == 846
    queries = clustered(30, DIM, seed=5)
    model.check_exact(queries)
    _, ids = index.search(queries, 10)
    assert (ids >= 0).all()
    assert not model.dead & set(ids.ravel().tolist())


def test_add_never_lets_the_fresh_segment_pass_its_threshold(tmp_path: Path) -> None:
    index = make(tmp_path, fresh_segment_max_points=500, full_scan_threshold=100)
    model = Model(index)
    model.add(700, seed=1)
    job = index.take_seal_job()  # taken and left running: fresh points pile up meanwhile
    assert job is not None
    for seed, n in enumerate([1, 333, 1700, 166, 499, 1, 1000]):
        model.add(n, seed=seed + 2)
        stats = index.stats()
        assert stats.fresh_points < 500
        assert stats.frozen_points == 500 * stats.frozen_segments  # each frozen when full
        assert stats.fresh_points + stats.frozen_points == len(model.base)
    assert index.take_seal_job() is None  # one job at a time
    model.check_exact(clustered(10, DIM, seed=9))
    index.install(job.run())
    job = index.take_seal_job()
    assert job is not None
    waiting = index.stats().frozen_segments
    assert waiting == (len(model.base) - 500) // 500
    assert job.input_points == 500 + 500 * waiting  # the base and every frozen segment
    index.install(job.run())
    stats = index.stats()
    assert stats.frozen_segments == 0
    assert [s.points for s in stats.sealed] == [len(model.base) - stats.fresh_points]
    model.check_exact(clustered(10, DIM, seed=9))


def test_install_checks_the_result_and_abandon_frees_the_slot(tmp_path: Path) -> None:
    index = make(tmp_path, full_scan_threshold=100)
    Model(index).add(600, seed=1)
    job = index.take_seal_job()
    assert isinstance(job, SealJob)
    index.abandon(job)
    again = index.take_seal_job()
    assert again is not None
    assert again is not job
    with pytest.raises(ValueError, match="outstanding"):
        index.install(job.run())
    index.install(again.run())
    assert index.stats().frozen_points == 0


def test_thread_view_searches_while_the_loop_writes(tmp_path: Path) -> None:
    index = make(tmp_path, fresh_segment_max_points=300, full_scan_threshold=200)
    model = Model(index)
    model.add(900, seed=1)
    run_jobs(index)
    model.add(250, seed=2)
    index.remove(np.arange(0, 100))
    view = index.thread_view()
    queries = clustered(64, DIM, seed=4)
    errors: list[BaseException] = []
    answers: list[np.ndarray] = []

    def searcher() -> None:
        try:
            for _ in range(40):
                _scores, ids = view.search(queries, 10, threads=1)
                answers.append(ids)
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)

    thread = threading.Thread(target=searcher)
    thread.start()
    slot, built = len(model.base), index.stats().jobs_built
    rounds = 0
    while thread.is_alive() or rounds < 30:  # grow the fresh buffer, delete, seal, install
        index.add(np.arange(slot, slot + 20), vectors(20, seed=slot))
        index.remove(np.arange(slot - 30, slot - 20))
        slot, rounds = slot + 20, rounds + 1
        if rounds % 10 == 0 and (job := index.take_seal_job()) is not None:
            index.install(job.run())
    thread.join()
    assert index.stats().jobs_built > built
    assert not errors
    assert len(answers) == 40
    for ids in answers:  # all valid slots the view knew, none it knew as deleted
        assert ((ids >= 100) & (ids < 1150)).all()
        assert (ids == answers[0]).all()  # the view does not change under the searcher


def test_an_empty_batch_of_queries_gets_an_empty_answer(tmp_path: Path) -> None:
    index = make(tmp_path, fresh_segment_max_points=300, full_scan_threshold=100)
    model = Model(index)
    model.add(700, seed=1)  # frozen, frozen, fresh
    model.remove([1, 2])
    for _ in range(2):  # then sealed + fresh
        none = np.empty((0, DIM), dtype=np.float32)
        for scores, ids in (index.search(none, 5), index.thread_view().search(none, 5)):
            assert scores.shape == ids.shape == (0, 5)
        run_jobs(index)
