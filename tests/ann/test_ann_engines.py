"""Engines alone: exact scores per distance, deletions, the HNSW fallbacks, files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from zoro.ann import Bitmap, FlatBuffer, FlatEngine, HnswEngine, load_engine
from zoro.errors import CorruptionError, StorageError
from zoro.types import Distance

from .conftest import (
    ALL_DISTANCES,
    assert_best_first,
    assert_exact,
    brute_force,
    clustered,
    data_for,
    recall,
    unit,
)

DIM = 16


def engine_queries(distance: Distance, q: np.ndarray) -> np.ndarray:
    # engines take unit queries for Cosine (the segment layer normalises once)
    return unit(q) if distance is Distance.COSINE else q


def exact_engines(distance: Distance) -> list[FlatEngine | FlatBuffer | HnswEngine]:
    return [FlatEngine(DIM, distance), FlatBuffer(DIM, distance), HnswEngine(DIM, distance)]


@pytest.mark.parametrize("distance", ALL_DISTANCES)
@pytest.mark.parametrize("nq", [1, 25])  # 25: FAISS switches to its blocked (BLAS) kernels at 20
def test_exact_search_equals_numpy(distance: Distance, nq: int) -> None:
    base = data_for(distance, 400, DIM)
    slots = np.arange(1000, 1400, dtype=np.int64)
    queries = clustered(nq, DIM, seed=1)
    for engine in exact_engines(distance):
        engine.add(slots, base)
        got = engine.search(engine_queries(distance, queries), 10, exact=True)
        assert_exact(distance, base, slots, queries, got)


def test_euclid_score_is_the_distance_not_its_square() -> None:
    engine = FlatEngine(2, Distance.EUCLID)
    engine.add(np.array([7, 9]), np.array([[3, 4], [0, 1]], dtype=np.float32))
    scores, ids = engine.search(np.zeros((1, 2), dtype=np.float32), 2)
    assert ids.tolist() == [[9, 7]]
    np.testing.assert_allclose(scores, [[1.0, 5.0]])


@pytest.mark.parametrize("distance", [Distance.DOT, Distance.EUCLID])
def test_fewer_points_than_k_pads_with_minus_one_and_worst_score(distance: Distance) -> None:
    for engine in exact_engines(distance):
        engine.add(np.array([1, 2]), np.ones((2, DIM), dtype=np.float32))
        scores, ids = engine.search(np.ones((1, DIM), dtype=np.float32), 4)
        assert ids[0].tolist()[2:] == [-1, -1]
        assert np.isinf(scores[0, 2:]).all()
        assert_best_first(distance, scores)


@pytest.mark.parametrize("distance", [Distance.COSINE, Distance.EUCLID, Distance.MANHATTAN])
def test_deleted_slots_never_come_back_and_k_still_does(distance: Distance) -> None:
    base = data_for(distance, 2000, DIM)
    slots = np.arange(2000, dtype=np.int64) * 3  # sparse slot numbers
    dead = set(slots[::2].tolist())  # half of them
    deleted = Bitmap()
    deleted.set(np.array(sorted(dead)))
    queries = engine_queries(distance, clustered(30, DIM, seed=2))
    _, want = brute_force(distance, base, slots, queries, 10, dead)
    for engine in exact_engines(distance):
        engine.add(slots, base)
        _, ids = engine.search(queries, 10, deleted=deleted)
        assert (ids >= 0).all(), type(engine).__name__
        assert not dead & set(ids.ravel().tolist())
        assert recall(ids, want) >= (0.9 if isinstance(engine, HnswEngine) else 1.0)


def test_hnsw_mostly_deleted_segment_still_answers_exactly() -> None:
    base = unit(clustered(1000, DIM))
    slots = np.arange(1000, dtype=np.int64)
    engine = HnswEngine(DIM, Distance.COSINE)
    engine.add(slots, base)
    dead = set(range(1000)) - {5, 50, 500, 999}  # 4 live points left
    deleted = Bitmap()
    deleted.set(np.array(sorted(dead)))
    _, ids = engine.search(base[:3], 10, deleted=deleted, deleted_count=len(dead))
    assert (np.sort(ids[:, :4], axis=1) == [5, 50, 500, 999]).all()
    assert (ids[:, 4:] == -1).all()


def test_flat_remove() -> None:
    engine = FlatEngine(DIM, Distance.DOT)
    engine.add(np.array([1, 2, 3]), (np.eye(3, DIM) * [[1], [2], [3]]).astype(np.float32))
    assert engine.remove(np.array([2, 42])) == 1
    assert len(engine) == 2
    _, ids = engine.search(np.ones((1, DIM), dtype=np.float32), 3)
    assert ids.tolist() == [[3, 1, -1]]


@pytest.mark.parametrize("kind", [FlatEngine, HnswEngine])
def test_save_and_load_round_trip(tmp_path: Path, kind: type[FlatEngine | HnswEngine]) -> None:
    base = clustered(500, DIM)
    engine = kind(DIM, Distance.MANHATTAN)
    engine.add(np.arange(500, 1000), base)
    path = tmp_path / "seg.zann"
    engine.save(path)
    loaded = load_engine(path)
    assert type(loaded) is kind
    assert loaded.distance is Distance.MANHATTAN
    assert len(loaded) == 500
    for a, b in zip(engine.search(base[:5], 5), loaded.search(base[:5], 5), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize(
    "damage",
    ["truncate_body", "truncate_header", "flip_body", "flip_header", "missing", "garbage"],
)
def test_damaged_file_gives_a_clear_error(tmp_path: Path, damage: str) -> None:
    engine = HnswEngine(DIM, Distance.EUCLID)
    engine.add(np.arange(300), clustered(300, DIM))
    path = tmp_path / "seg.zann"
    engine.save(path)
    raw = bytearray(path.read_bytes())
    if damage == "truncate_body":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "truncate_header":
        path.write_bytes(raw[:20])
    elif damage == "flip_body":
        raw[len(raw) // 2] ^= 0x40
        path.write_bytes(raw)
    elif damage == "flip_header":
        raw[30] ^= 0x01
        path.write_bytes(raw)
    elif damage == "missing":
        path.unlink()
    else:
        path.write_bytes(b"not an index at all" * 10)
    # damage is a CorruptionError naming file and offset; a missing file a StorageError
    expected = StorageError if damage == "missing" else CorruptionError
    with pytest.raises(expected, match=r"seg\.zann") as caught:
        load_engine(path)
    assert type(caught.value) is expected
