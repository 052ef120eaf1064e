"""Checkpoint manifests and SegmentedIndex.open: load what is good, rebuild the rest."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
import pytest

from zoro.ann import HnswEngine, SegmentedIndex
from zoro.ann.manifest import Manifest, ManifestEntry, read_manifest, segment_file_name
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
    """An index over `base` (slot = row): one sealed HNSW segment (grown twice) and 300 fresh
    points."""
    index = SegmentedIndex(directory, DIM, DIST, settings)
    for start in range(0, N, 100):
        index.add(np.arange(start, start + 100), base[start : start + 100])
        seal_all(index)
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


def seal_all(index: SegmentedIndex) -> None:
    while (job := index.take_seal_job()) is not None:
        index.install(job.run())


def segment_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("seg-*.zann"))


def manifest_files(directory: Path) -> list[str]:
    manifest = read_manifest(directory)
    return sorted(e.file for e in manifest.segments) if manifest else []


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
    (tmp_path / "seg-0000000002.zann").write_bytes(b"an old file nothing lists")
    index.checkpoint_manifest(N)
    in_use = {s.file for s in index.stats().sealed}
    assert None not in in_use
    assert {p.name for p in segment_files(tmp_path)} == in_use
    assert not list(tmp_path.glob("*.tmp"))
    # a job in progress: its base's file stays through a checkpoint
    index.remove(np.arange(0, 400))
    job = index.take_seal_job()
    assert job is not None
    index.checkpoint_manifest(N)
    assert {p.name for p in segment_files(tmp_path)} == in_use
    index.install(job.run())
    assert [s.file for s in index.stats().sealed] == [None]  # not on disk until a checkpoint
    index.checkpoint_manifest(N)
    files = {s.file for s in index.stats().sealed}
    assert None not in files
    assert {p.name for p in segment_files(tmp_path)} == files


def test_checkpoint_writes_only_the_segments_that_changed(tmp_path: Path, base: np.ndarray) -> None:
    settings = small_settings(fresh_segment_max_points=300, full_scan_threshold=500)
    flat = SegmentedIndex(tmp_path, DIM, DIST, settings)
    flat.add(np.arange(300), base[:300])  # below the full-scan threshold: a flat segment
    seal_all(flat)
    flat.add(np.arange(300, 900), base[300:900])  # now a graph, from the flat one and these
    seal_all(flat)
    assert [s.kind for s in flat.stats().sealed] == ["hnsw"]

    def on_disk() -> dict[str, tuple[int, int]]:
        return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in segment_files(tmp_path)}

    flat.checkpoint_manifest(900)
    first = on_disk()
    assert list(first) == [s.file for s in flat.stats().sealed]
    flat.remove(np.arange(0, 50))  # deletions do not change a segment
    flat.add(np.arange(900, 1000), base[900:1000])  # nor do fresh points
    flat.checkpoint_manifest(1000)
    assert on_disk() == first  # not rewritten
    flat.add(np.arange(1000, 1200), base[1000:1200])  # the fresh segment fills: frozen
    job = flat.take_seal_job()
    assert job is not None
    flat.install(job.run())
    flat.checkpoint_manifest(1200)
    second = on_disk()
    assert len(second) == 1
    assert not set(second) & set(first)  # the grown segment is a new file; the old one went
    flat.checkpoint_manifest(1200)
    assert on_disk() == second
    queries = clustered(20, DIM, seed=8)
    dead = set(range(50))
    again = reopen(tmp_path, base, settings, dead=dead | set(range(1200, N)), limit=1200)
    assert again.stats().jobs_built == 0
    assert [s.points for s in again.stats().sealed] == [1200]
    for a, b in zip(flat.search(queries, 10), again.search(queries, 10), strict=True):
        np.testing.assert_array_equal(a, b)
    exact = again.search(queries, 10, exact=True)
    assert_exact(DIST, base[:1200], np.arange(1200), queries, exact, dead)


def test_a_segment_with_slots_past_the_limit_is_not_listed(
    tmp_path: Path, base: np.ndarray
) -> None:
    index = SegmentedIndex(tmp_path, DIM, DIST, SETTINGS)
    index.add(np.arange(600), base[:600])
    seal_all(index)
    index.checkpoint_manifest(300)  # slot 599 is not durable yet: nothing listed or written
    assert manifest_files(tmp_path) == []
    assert segment_files(tmp_path) == []
    index.checkpoint_manifest(600)
    old = manifest_files(tmp_path)
    assert len(old) == 1
    index.add(np.arange(600, 1200), base[600:1200])
    seal_all(index)
    index.checkpoint_manifest(1000)  # the grown segment holds slots up to 1199
    # ... so it is not written; the file it grew from is still listed in its place
    assert manifest_files(tmp_path) == old
    assert [p.name for p in segment_files(tmp_path)] == old
    again = reopen(tmp_path, base, SETTINGS, dead=set(range(1000, N)), limit=1000)
    assert [s.points for s in again.stats().sealed] == [600]
    assert len(again) == 1000
    queries = clustered(10, DIM, seed=8)
    got = again.search(queries, 10, exact=True)
    assert_exact(DIST, base[:1000], np.arange(1000), queries, got)
    index.checkpoint_manifest(1200)
    assert len(manifest_files(tmp_path)) == 1
    assert manifest_files(tmp_path) != old
    assert [p.name for p in segment_files(tmp_path)] == manifest_files(tmp_path)


def test_checkpoints_in_a_thread_beside_seals_and_installs(
    tmp_path: Path, base: np.ndarray
) -> None:
    settings = small_settings(fresh_segment_max_points=100, full_scan_threshold=200)
    index = SegmentedIndex(tmp_path, DIM, DIST, settings)
    index.add(np.arange(300), base[:300])
    errors: list[BaseException] = []
    stop = threading.Event()
    durable = [300]  # what storage has made durable: the checkpoint's valid_slot_limit
    checked: list[int] = []  # how many files each checkpoint listed

    def checkpointer() -> None:
        try:
            while not stop.is_set():
                index.checkpoint_manifest(durable[-1])
                listed = manifest_files(tmp_path)
                assert all((tmp_path / name).exists() for name in listed)
                checked.append(len(listed))
        except BaseException as exc:  # surfaced in the test thread below
            errors.append(exc)

    thread = threading.Thread(target=checkpointer)
    thread.start()
    try:
        for start in range(300, N, 100):
            index.add(np.arange(start, start + 100), base[start : start + 100])
            durable.append(start + 100)
            if (job := index.take_seal_job()) is not None:
                index.install(job.run())
            index.search(base[:3], 5)
    finally:
        stop.set()
        thread.join()
    assert not errors
    assert any(checked), f"no checkpoint beside the seals listed a file: {checked}"
    index.checkpoint_manifest(N)
    assert [p.name for p in segment_files(tmp_path)] == manifest_files(tmp_path)
    again = reopen(tmp_path, base, settings, dead=set())
    queries = clustered(10, DIM, seed=8)
    assert_exact(DIST, base, np.arange(N), queries, again.search(queries, 10, exact=True))


def test_damaged_manifest_means_a_full_rebuild(tmp_path: Path, base: np.ndarray) -> None:
    built(tmp_path, base, SETTINGS).checkpoint_manifest(N)
    (tmp_path / "manifest").write_bytes(b'{"format": "zoro-ann-manifest", "vers')
    again = reopen(tmp_path, base, SETTINGS, dead=set())
    assert again.stats().sealed == ()
    assert len(again) == N


def test_several_loaded_graphs_are_folded_into_the_biggest(
    tmp_path: Path, base: np.ndarray
) -> None:
    """An index persisted as several HNSW segments (as earlier versions left them) converges on
    one: the first job grows a clone of the biggest with the others' live points."""
    entries = []
    for seq, (lo, hi) in enumerate([(0, 900), (900, 1200), (1200, 1500)], start=1):
        engine = HnswEngine(DIM, DIST, m=16, ef_construct=64)
        engine.add(np.arange(lo, hi), base[lo:hi])
        name = segment_file_name(seq)
        engine.save(tmp_path / name)
        entries.append(ManifestEntry(name, "hnsw", hi - lo, lo, hi - 1))
    manifest = Manifest(DIM, DIST, N, tuple(entries))
    (tmp_path / "manifest").write_bytes(manifest.encode())
    dead = {5, 950, 1300}
    again = reopen(tmp_path, base, SETTINGS, dead=dead)
    assert sorted(s.points for s in again.stats().sealed) == [300, 300, 900]
    queries = clustered(10, DIM, seed=8)
    before = again.search(queries, 10, exact=True)
    job = again.take_seal_job()
    assert job is not None
    assert job.base is not None
    assert len(job.base) == 900
    again.install(job.run())
    assert [(s.points, s.deleted) for s in again.stats().sealed] == [(1498, 1)]
    after = again.search(queries, 10, exact=True)
    np.testing.assert_array_equal(before[1], after[1])
    assert_exact(DIST, base, np.arange(N), queries, after, dead)
    again.checkpoint_manifest(N)
    assert len(segment_files(tmp_path)) == 1


def test_a_manifest_of_another_file_generation_is_not_used(
    tmp_path: Path, base: np.ndarray
) -> None:
    """Compaction renumbers slots in a new storage file generation: segments written for the
    old numbering are rebuilt from storage, never loaded with the new one's slots."""
    index = built(tmp_path, base, SETTINGS)
    index.checkpoint_manifest(N, files=1)
    assert read_manifest(tmp_path).files == 1
    kept = SegmentedIndex.open(
        tmp_path,
        DIM,
        DIST,
        SETTINGS,
        live_slots=np.arange(N),
        valid_slot_limit=N,
        vectors_of=lambda slots: base[slots],
        files=1,
    )
    assert kept.stats().sealed  # same generation: loaded
    other = SegmentedIndex.open(
        tmp_path,
        DIM,
        DIST,
        SETTINGS,
        live_slots=np.arange(N),
        valid_slot_limit=N,
        vectors_of=lambda slots: base[slots],
        files=2,
    )
    assert other.stats().sealed == ()  # every point read from storage again
    assert len(other) == N
    index.checkpoint_manifest(N)  # generation 0 writes no "files" key (older readers' shape)
    assert b'"files"' not in (tmp_path / "manifest").read_bytes()
