"""SegmentedIndex.renumber: storage renumbered its slots (a compaction's switch). The index must
answer exactly as before, through the remap; vanished rows of a graph point at the void slot
and stay hidden; later writes, seals and a checkpoint + reopen in the new numbering work."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

from zoro.ann import SegmentedIndex
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
