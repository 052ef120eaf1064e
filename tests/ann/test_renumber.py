"""SegmentedIndex.renumber: storage renumbered its slots (a compaction's switch). The index must
answer exactly as before, through the remap; vanished rows of a graph point at the void slot
and stay hidden; later writes, seals and a checkpoint + reopen in the new numbering work."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np
import pytest

from zoro.ann import SegmentedIndex
from zoro.ann.jobs import SealResult
from zoro.types import Distance

from .conftest import clustered, small_settings

if TYPE_CHECKING:
    from pathlib import Path

DIM = 16
N = 1500
DIST = Distance.EUCLID


def _compacted_remap(live: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The remap a compaction of these live slots makes, and the new live mask (slot 0 void)."""
    survivors = np.flatnonzero(live)
    remap = np.full(len(live), -1, dtype=np.int64)
    remap[survivors] = np.arange(1, len(survivors) + 1)
    new_live = np.ones(len(survivors) + 1, dtype=np.bool_)
    new_live[0] = False
    return remap, new_live


def _seal_all(index: SegmentedIndex) -> None:
    while (job := index.take_seal_job()) is not None:
        index.install(job.run())


@pytest.mark.parametrize("engine", ["hnsw", "flat"])
def test_answers_are_the_same_through_the_remap(tmp_path: Path, engine: str) -> None:
    base = clustered(N, DIM, seed=1)
    settings = small_settings(fresh_segment_max_points=400, full_scan_threshold=500)
    index = SegmentedIndex(tmp_path, DIM, DIST, settings, engine=engine)
    for start in range(0, 1200, 100):
        index.add(np.arange(start, start + 100), base[start : start + 100])
        _seal_all(index)
    index.add(np.arange(1200, N), base[1200:])  # some still fresh, some frozen
    live = np.ones(N, dtype=np.bool_)
    dead = np.r_[np.arange(0, 1500, 7), np.arange(1300, 1350)]
    live[dead] = False
    index.remove(dead)
    queries = clustered(30, DIM, seed=9)
    before_scores, before_slots = index.search(queries, 10)
    remap, new_live = _compacted_remap(live)
    index.renumber(remap, new_live)
    after_scores, after_slots = index.search(queries, 10)
    np.testing.assert_array_equal(after_slots, remap[before_slots])
    np.testing.assert_allclose(after_scores, before_scores, rtol=1e-6)
    assert len(index) == int(live.sum())
    assert not np.isin(0, after_slots)  # the void slot is never an answer

    # writes after the switch, in the new numbering; then seal, checkpoint, reopen
    count = len(new_live)
    extra = clustered(200, DIM, seed=5)
    index.add(np.arange(count, count + 200), extra)
    index.remove(np.array([1, 2, 3]))
    _seal_all(index)
    final_live = np.r_[new_live, np.ones(200, dtype=np.bool_)]
    final_live[[1, 2, 3]] = False
    index.checkpoint_manifest(len(final_live), files=1)
    by_new_slot = np.zeros((len(final_live), DIM), np.float32)
    by_new_slot[remap[live]] = base[live]
    by_new_slot[count:] = extra
    again = SegmentedIndex.open(
        tmp_path,
        DIM,
        DIST,
        settings,
        engine=engine,
        live_slots=np.flatnonzero(final_live),
        valid_slot_limit=len(final_live),
        vectors_of=lambda slots: by_new_slot[slots],  # the points no sealed file holds
        files=1,
    )
    sealed_points = [s.points for s in index.stats().sealed]
    assert sealed_points  # (the flat engine too: the collection is past full_scan_threshold)
    assert [s.points for s in again.stats().sealed] == sealed_points  # loaded, voids and all
    assert len(again) == len(index) == int(final_live.sum())
    for got, want in zip(again.search(queries, 10), index.search(queries, 10), strict=True):
        np.testing.assert_array_equal(got, want)


def test_a_graph_with_many_voids_is_rebuilt_by_the_usual_policy(tmp_path: Path) -> None:
    base = clustered(N, DIM, seed=2)
    settings = small_settings(fresh_segment_max_points=1500, full_scan_threshold=500)
    index = SegmentedIndex(tmp_path, DIM, DIST, settings)
    index.add(np.arange(N), base)
    _seal_all(index)
    live = np.ones(N, dtype=np.bool_)
    live[: N // 2] = False
    index.remove(np.arange(N // 2))
    remap, new_live = _compacted_remap(live)
    index.renumber(remap, new_live)
    (sealed,) = index.stats().sealed
    assert sealed.deleted == N // 2  # the voids count as deleted points
    index.add(np.array([len(new_live)]), base[:1])
    index.freeze_fresh(1)
    _seal_all(index)  # the worn graph is rebuilt from its live points
    (sealed,) = index.stats().sealed
    assert (sealed.points, sealed.deleted) == (N // 2 + 1, 0)


def _exact_top(vectors: np.ndarray, live: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Ground truth: the k nearest live slots of each query (Euclid), by numpy."""
    slots = np.flatnonzero(live)
    d = ((queries[:, None, :] - vectors[None, slots, :]) ** 2).sum(axis=2)
    return slots[np.argsort(d, axis=1, kind="stable")[:, :k]]


def _renumber(
    index: SegmentedIndex, vectors: np.ndarray, live: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Compact `live` as storage would and renumber the index: the vectors and live mask in the
    new numbering."""
    remap, new_live = _compacted_remap(live)
    index.renumber(remap, new_live)
    moved = np.zeros((len(new_live), vectors.shape[1]), np.float32)
    moved[remap[live]] = vectors[live]
    return moved, new_live


@pytest.mark.parametrize("in_thread", [False, True])
def test_a_seal_job_runs_across_renumbers(tmp_path: Path, in_thread: bool) -> None:
    """A seal job taken before two compactions' switches (one running in its thread while the
    first happens) is installed after them: its segment takes today's numbering, the dead
    and vanished rows stay hidden, and nothing it read was changed under it."""
    vectors = clustered(N, DIM, seed=3)
    settings = small_settings(fresh_segment_max_points=400, full_scan_threshold=500)
    index = SegmentedIndex(tmp_path, DIM, DIST, settings)
    index.add(np.arange(1000), vectors[:1000])
    _seal_all(index)  # one HNSW graph, the base of the next job
    index.add(np.arange(1000, N), vectors[1000:])  # 400 frozen, 100 fresh
    live = np.ones(N, dtype=np.bool_)
    job = index.take_seal_job()
    assert job is not None
    assert job.base is not None
    assert job.points_to_add == 400
    thread = threading.Thread(target=lambda: results.append(job.run()))
    results: list[SealResult] = []
    if in_thread:
        thread.start()

    gone = np.r_[np.arange(0, 1000, 3), np.arange(1000, 1400, 5), np.arange(1400, N, 4)]
    live[gone] = False
    index.remove(gone)
    vectors, live = _renumber(index, vectors, live)
    again = np.flatnonzero(live)[::11]  # deleted after the first switch
    live[again] = False
    index.remove(again)
    vectors, live = _renumber(index, vectors, live)

    if in_thread:
        thread.join(timeout=60)
        assert not thread.is_alive()
    else:
        results.append(job.run())
    index.install(results[0])
    stats = index.stats()
    (sealed,) = stats.sealed
    assert sealed.points == job.input_points  # the grown graph: the base and the frozen rows
    assert not stats.frozen_segments
    assert not stats.job_running
    # every row is live, deleted or void, and the counts agree with the live mask
    assert sealed.points - sealed.deleted + stats.fresh_points == int(live.sum())
    assert len(index) == int(live.sum())
    queries = clustered(20, DIM, seed=8)
    _, exact = index.search(queries, 10, exact=True)
    np.testing.assert_array_equal(exact, _exact_top(vectors, live, queries, 10))
    _, approx = index.search(queries, 10)
    assert live[approx].all()  # never a dead, vanished or void slot
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact, strict=True)])
    assert recall >= 0.9
