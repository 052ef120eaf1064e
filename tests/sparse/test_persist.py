"""Saving and loading the index; a damaged or unknown file is refused by name, then rebuilt."""

from __future__ import annotations

import struct
import zlib
from typing import TYPE_CHECKING

import numpy as np
import pytest

from tests.sparse.reference import random_batch
from zoro.sparse import SparseBatch, SparseIndex, SparseIndexDamaged, rebuild
from zoro.sparse.persist import FILE_NAME, HEADER
from zoro.storage.sparse_rows import SparseRowFile

if TYPE_CHECKING:
    from pathlib import Path

DIMS = 50


def _answers(index: SparseIndex, rng: np.random.Generator) -> list[tuple[list[float], list[int]]]:
    out = []
    for _ in range(20):
        q_idx, q_val = random_batch(rng, 1, DIMS, max_nnz=5).row(0)
        for idf in (False, True):
            scores, slots = index.search(q_idx, q_val, 15, idf=idf)
            out.append((scores.tolist(), slots.tolist()))
    return out


@pytest.fixture
def saved(tmp_path: Path) -> tuple[SparseIndex, SparseRowFile, Path]:
    """An index with removals, saved; and the source rows of its live slots."""
    rng = np.random.default_rng(11)
    index = SparseIndex()
    rows = SparseRowFile.create(tmp_path / "rows")
    for start in range(0, 400, 50):
        batch = random_batch(rng, 50, DIMS)
        slots = np.arange(start, start + 50)
        index.add(slots, batch)
        rows.append(slots, batch)
    index.remove(rng.choice(400, size=60, replace=False))
    index.save(tmp_path)
    return index, rows, tmp_path


def _rebuilt(index: SparseIndex, rows: SparseRowFile) -> SparseIndex:
    """The caller's recovery: the live slots of the source rows, into a fresh index."""
    chunks = []
    for slots, batch in rows.scan(rows_per_chunk=64):
        live = np.flatnonzero(index.contains(slots))
        chunks.append((slots[live], batch.rows(live)))
    return rebuild(chunks)


def test_round_trip_answers_the_same(saved: tuple[SparseIndex, SparseRowFile, Path]) -> None:
    index, _, directory = saved
    loaded = SparseIndex.load(directory)
    assert loaded.statistics().points == index.statistics().points == 340
    assert loaded.covered_slots == 400  # just past the highest slot written
    index.compact()  # the file holds the index compacted; saving left the index as it was
    assert loaded.statistics().postings == index.statistics().postings
    assert _answers(loaded, np.random.default_rng(1)) == _answers(index, np.random.default_rng(1))
    # the loaded index keeps working: more writes, removals, another save
    batch = random_batch(np.random.default_rng(2), 10, DIMS)
    loaded.add(np.arange(400, 410), batch)
    loaded.remove([400, 3])
    loaded.save(directory)
    assert len(SparseIndex.load(directory)) == len(loaded)


def test_empty_index_round_trip(tmp_path: Path) -> None:
    SparseIndex().save(tmp_path)
    loaded = SparseIndex.load(tmp_path)
    assert len(loaded) == 0
    assert loaded.search([1], [1.0], 5)[1].tolist() == []
    only_empty = SparseIndex()
    only_empty.add([3], SparseBatch.from_lists([[]], [[]]))
    only_empty.save(tmp_path)
    assert SparseIndex.load(tmp_path).contains([3]).tolist() == [True]


def test_missing_file_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(SparseIndexDamaged, match=f"{FILE_NAME}.*file missing"):
        SparseIndex.load(tmp_path)


def _damaged(directory: Path, change: str, rng: np.random.Generator) -> None:
    path = directory / FILE_NAME
    data = bytearray(path.read_bytes())
    if change == "truncate":
        data = data[: int(rng.integers(0, len(data)))]
    elif change == "extend":
        data += b"\0" * 8
    elif change == "flip":
        bit = int(rng.integers(0, len(data) * 8))
        data[bit // 8] ^= 1 << (bit % 8)
    elif change == "version":
        raw = bytearray(data[: HEADER.size])
        raw[4:6] = (99).to_bytes(2, "little")
        raw[-4:] = zlib.crc32(raw[:-4]).to_bytes(4, "little")
        data[: HEADER.size] = raw
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("change", ["truncate", "extend", "flip", "version"])
@pytest.mark.parametrize("seed", range(4))
def test_damage_is_refused_by_name_then_rebuilt_equal(
    saved: tuple[SparseIndex, SparseRowFile, Path], change: str, seed: int
) -> None:
    index, rows, directory = saved
    _damaged(directory, change, np.random.default_rng(seed))
    with pytest.raises(SparseIndexDamaged) as caught:
        SparseIndex.load(directory)
    assert FILE_NAME in str(caught.value)
    if change == "version":
        assert "unsupported format version 99" in str(caught.value)
    fresh = _rebuilt(index, rows)
    rng = np.random.default_rng(seed)
    assert _answers(fresh, rng) == _answers(index, np.random.default_rng(seed))
    fresh.save(directory)
    assert len(SparseIndex.load(directory)) == len(index)


def test_a_good_checksum_over_inconsistent_contents_is_refused(tmp_path: Path) -> None:
    index = SparseIndex()
    index.add([0, 1], SparseBatch.from_lists([[1], [2]], [[1.0], [2.0]]))
    index.save(tmp_path)
    path = tmp_path / FILE_NAME
    data = bytearray(path.read_bytes())
    fields = list(HEADER.unpack_from(data))
    body = bytearray(data[HEADER.size :])
    # the ptr array follows the 2 dims (8 bytes): make it decrease, then re-sign everything
    struct.pack_into("<q", body, 8 + 8, 5)
    fields[-2] = zlib.crc32(body)
    raw = bytearray(HEADER.pack(*fields[:-1], 0))
    raw[-4:] = zlib.crc32(raw[:-4]).to_bytes(4, "little")
    path.write_bytes(bytes(raw) + bytes(body))
    with pytest.raises(SparseIndexDamaged, match="inconsistent contents"):
        SparseIndex.load(tmp_path)


def test_save_leaves_no_temp_file(saved: tuple[SparseIndex, SparseRowFile, Path]) -> None:
    _, _, directory = saved
    assert sorted(p.name for p in directory.iterdir()) == ["rows", FILE_NAME]


def test_a_saver_writes_the_index_as_it_was_when_taken(tmp_path: Path) -> None:
    """The copy is taken at once; the write may come later, while the index changes."""
    rng = np.random.default_rng(5)
    index = SparseIndex()
    index.add(np.arange(100), random_batch(rng, 100, DIMS))
    write = index.saver(100)
    assert index.unsaved_changes() > 0
    index.remove(np.arange(0, 100, 2))
    index.add(np.arange(100, 150), random_batch(rng, 50, DIMS))
    changes = index.unsaved_changes()
    write(tmp_path)
    loaded = SparseIndex.load(tmp_path)
    assert len(loaded) == 100
    assert loaded.covered_slots == 100
    assert loaded.contains(np.arange(150)).tolist() == [True] * 100 + [False] * 50
    # what changed after the copy still counts as unsaved
    assert 0 < index.unsaved_changes() < changes
    with pytest.raises(ValueError, match="horizon"):
        index.saver(120)  # slots 120..149 are held: a horizon below them would lie


def test_each_file_generation_has_its_own_file(
    saved: tuple[SparseIndex, SparseRowFile, Path],
) -> None:
    """Compaction renumbers slots: an index saved for one storage file generation is never
    loaded for another, and saving one deletes the others."""
    index, _, directory = saved
    index.saver(400, files=3)(directory)
    assert sorted(p.name for p in directory.iterdir()) == ["rows", "sparse.3.index"]
    with pytest.raises(SparseIndexDamaged, match="file missing"):
        SparseIndex.load(directory)
    assert SparseIndex.load(directory, files=3).covered_slots == 400
    index.saver(400)(directory)
    assert sorted(p.name for p in directory.iterdir()) == ["rows", FILE_NAME]


def test_renumber_answers_the_same_through_the_remap(
    saved: tuple[SparseIndex, SparseRowFile, Path],
) -> None:
    """A compaction's switch: live slots get new, denser numbers in the same order."""
    index, _, _ = saved
    live = index.contains(np.arange(400))
    remap = np.full(400, -1, dtype=np.int64)
    remap[live] = np.arange(1, int(live.sum()) + 1)  # slot 0 is the void slot
    rng = np.random.default_rng(4)
    queries = [random_batch(rng, 1, DIMS, max_nnz=5).row(0) for _ in range(20)]
    before = [index.search(i, v, 15, idf=idf) for i, v in queries for idf in (False, True)]
    index.renumber(remap)
    after = [index.search(i, v, 15, idf=idf) for i, v in queries for idf in (False, True)]
    for (s0, slots0), (s1, slots1) in zip(before, after, strict=True):
        np.testing.assert_array_equal(slots1, remap[slots0])
        np.testing.assert_array_equal(s1, s0)
    assert len(index) == int(live.sum())
    assert index.unsaved_changes() > 0  # its file numbers the old slots
    index.add(np.array([int(live.sum()) + 1]), random_batch(rng, 1, DIMS))  # new slots go on
    assert len(index) == int(live.sum()) + 1
