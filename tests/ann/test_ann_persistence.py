"""Checkpoint manifests and SegmentedIndex.open: load what is good, rebuild the rest."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from zoro.ann import SegmentedIndex
from zoro.settings import AnnSettings
from zoro.types import Distance

from .conftest import assert_exact, clustered, small_settings

DIM = 16
N = 1500
DIST = Distance.EUCLID


@pytest.fixture
def base() -> np.ndarray:
    return clustered(N, DIM, seed=1)


def built(directory: Path, base: np.ndarray, settings: AnnSettings) -> SegmentedIndex:
    """An index over `base` (slot = row) with two sealed HNSW segments and some fresh points."""
    index = SegmentedIndex(directory, DIM, DIST, settings)
    for start in range(0, N, 100):
        index.add(np.arange(start, start + 100), base[start : start + 100])
        while (job := index.take_seal_job()) is not None:
            index.install(job.run())
    return index


def reopen(
    directory: Path, base: np.ndarray, settings: AnnSettings, *, dead: set[int], limit: int = N
) -> SegmentedIndex:
    live = np.array(sorted(set(range(N)) - dead), dtype=np.int64)
    return SegmentedIndex.open(
        directory,
        DIM,
        DIST,
        settings,
        live_slots=live,
        valid_slot_limit=limit,
        vectors_of=lambda slots: base[slots],
    )


def segment_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("seg-*.zann"))


SETTINGS = small_settings(fresh_segment_max_points=600, full_scan_threshold=500)


def test_checkpoint_then_open_gives_the_same_answers(tmp_path: Path, base: np.ndarray) -> None:
    index = built(tmp_path, base, SETTINGS)
    index.remove(np.arange(0, 300, 3))
    index.checkpoint_manifest(N)
    queries = clustered(20, DIM, seed=8)
    dead = set(range(0, 300, 3))
    again = reopen(tmp_path, base, SETTINGS, dead=dead)
    assert [s.points for s in again.stats().sealed] == [s.points for s in index.stats().sealed]
    assert again.stats().jobs_built == 0  # loaded, not rebuilt
    for a, b in zip(index.search(queries, 10), again.search(queries, 10), strict=True):
        np.testing.assert_array_equal(a, b)
    assert_exact(DIST, base, np.arange(N), queries, again.search(queries, 10, exact=True), dead)
    assert len(again) == N - len(dead)


def test_points_deleted_after_the_checkpoint_are_excluded(tmp_path: Path, base: np.ndarray) -> None:
    built(tmp_path, base, SETTINGS).checkpoint_manifest(N)
    dead = set(range(0, N, 2))  # storage says these went after the checkpoint
    again = reopen(tmp_path, base, SETTINGS, dead=dead)
    queries = clustered(10, DIM, seed=8)
    assert_exact(DIST, base, np.arange(N), queries, again.search(queries, 10, exact=True), dead)
    _, ids = again.search(queries, 10)
    assert (ids >= 0).all()
    assert not dead & set(ids.ravel().tolist())


@pytest.mark.parametrize("damage", ["corrupt", "delete"])
def test_a_bad_segment_file_is_rebuilt_from_storage(
    tmp_path: Path, base: np.ndarray, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    built(tmp_path, base, SETTINGS).checkpoint_manifest(N)
    victim = segment_files(tmp_path)[0]
    if damage == "corrupt":
        raw = bytearray(victim.read_bytes())
        raw[len(raw) // 3] ^= 0xFF
        victim.write_bytes(raw)
    else:
        victim.unlink()
    with caplog.at_level(logging.WARNING, logger="zoro.ann"):
        again = reopen(tmp_path, base, SETTINGS, dead=set())
    assert victim.name in caplog.text
    stats = again.stats()
    assert stats.frozen_points + stats.fresh_points > 0
    assert len(again) == N
    queries = clustered(10, DIM, seed=8)
    assert_exact(DIST, base, np.arange(N), queries, again.search(queries, 10, exact=True))
    while (job := again.take_seal_job()) is not None:  # and the background build catches up
        again.install(job.run())
    assert again.stats().frozen_points == 0


def test_a_segment_past_the_valid_slot_limit_is_discarded(tmp_path: Path, base: np.ndarray) -> None:
    index = built(tmp_path, base, SETTINGS)
    index.checkpoint_manifest(N)
    sealed = index.stats().sealed
    first_size = sealed[0].points
    # storage only kept slots below the end of the first segment: later ones may be reissued
    limit = first_size
    again = reopen(tmp_path, base, SETTINGS, dead=set(range(limit, N)), limit=limit)
    assert [s.points for s in again.stats().sealed] == [first_size]
    assert len(again) == limit


def test_checkpoint_lists_only_durable_segments_and_collects_garbage(
    tmp_path: Path, base: np.ndarray
) -> None:
    index = built(tmp_path, base, SETTINGS)
    (tmp_path / "seg-0000000001.zann.tmp").write_bytes(b"half a build")
    index.checkpoint_manifest(N)
    in_use = {s.file for s in index.stats().sealed}
    assert {p.name for p in segment_files(tmp_path)} == in_use
    assert not list(tmp_path.glob("*.tmp"))
    # a job in progress keeps its (future) file through a checkpoint
    index.remove(np.arange(0, 400))
    job = index.take_seal_job()
    assert job is not None
    index.checkpoint_manifest(N)
    result = job.run()
    index.install(result)
    index.checkpoint_manifest(N)
    assert (tmp_path / str(result.file)).exists()
    assert {p.name for p in segment_files(tmp_path)} == {s.file for s in index.stats().sealed}


def test_damaged_manifest_means_a_full_rebuild(tmp_path: Path, base: np.ndarray) -> None:
    built(tmp_path, base, SETTINGS).checkpoint_manifest(N)
    (tmp_path / "manifest").write_bytes(b'{"format": "zoro-ann-manifest", "vers')
    again = reopen(tmp_path, base, SETTINGS, dead=set())
    assert again.stats().sealed == ()
    assert len(again) == N
