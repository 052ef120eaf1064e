"""The compiled scan (zoro/sparse/kernels.py) against the same scan written in numpy, bit for
bit, on data with real float weights: the float32 sums in dimension order, ties by newest slot,
filters, removed slots, several runs, and an index loaded from its file."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pytest

from zoro.sparse import SparseBatch, SparseIndex

if TYPE_CHECKING:
    from pathlib import Path

    from zoro.sparse.search import SparseView

VOCABULARY = 300
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]


def _zipf_corpus(rng: np.random.Generator, docs: int) -> SparseBatch:
    """BM25-like documents: words drawn by a Zipf law (a few words in most documents, many
    rare ones), float weights."""
    indices, values = [], []
    for _ in range(docs):
        words = np.unique(np.minimum(rng.zipf(1.3, size=int(rng.integers(3, 25))), VOCABULARY))
        indices.append(words.tolist())
        values.append(rng.uniform(0.2, 2.2, size=len(words)).astype(np.float32).tolist())
    return SparseBatch.from_lists(indices, values)


def _index(seed: int) -> tuple[SparseIndex, np.random.Generator]:
    rng = np.random.default_rng(seed)
    index = SparseIndex()
    start = 0
    for size in (2000, 700, 300, 120):  # several runs
        index.add(np.arange(start, start + size), _zipf_corpus(rng, size))
        start += size
        index.remove(rng.choice(start, size=size // 10, replace=False))
    return index, rng


def _numpy_scan(
    view: SparseView,
    q_indices: npt.NDArray[np.uint32],
    q_values: F32,
    limit: int,
    allowed: npt.NDArray[np.bool_] | None,
    idf: bool,
) -> tuple[F32, I64]:
    """The scan in numpy: acc[slots] += values * weight list by list, then the live, allowed
    touched slots ordered by score, then the highest slot first."""
    query = view._query(q_indices, q_values, idf)
    if query is None or limit <= 0:
        return np.empty(0, np.float32), np.empty(0, np.int64)
    acc = np.zeros(len(view.state), dtype=np.float32)
    touched = []
    for weight, slices in zip(query.weights, query.lists, strict=True):
        for slots, values in slices:
            acc[slots] += values * weight
            touched.append(slots)
    slots = np.unique(np.concatenate(touched))
    keep = view.state[slots] == 1
    if allowed is not None:
        inside = slots < len(allowed)
        keep &= inside
        keep[inside] &= allowed[slots[inside]]
    slots = slots[keep]
    order = np.lexsort((-slots, -acc[slots]))[:limit]
    return acc[slots][order], slots[order]


def _queries(rng: np.random.Generator, count: int) -> list[tuple[npt.NDArray[np.uint32], F32]]:
    out = []
    for _ in range(count):
        words = rng.choice(
            np.arange(1, VOCABULARY + 1), size=int(rng.integers(1, 9)), replace=False
        )
        weights = rng.uniform(0.5, 1.5, size=len(words))
        if rng.random() < 0.2:
            weights[0] = -weights[0]
        query = SparseBatch.from_lists([words.tolist()], [weights.tolist()])
        out.append(query.row(0))
    return out


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("idf", [False, True])
def test_the_compiled_scan_equals_numpy_bit_for_bit(seed: int, idf: bool) -> None:
    index, rng = _index(seed)
    view = index.view()
    for q_indices, q_values in _queries(rng, 40):
        limit = int(rng.choice([1, 3, 10, 50, 5000]))
        allowed: npt.NDArray[np.bool_] | None = None
        if rng.random() < 0.3:
            allowed = rng.random(int(rng.integers(100, 4000))) < rng.choice([0.02, 0.5])
        want = _numpy_scan(view, q_indices, q_values, limit, allowed, idf)
        got = view.search(q_indices, q_values, limit, allowed, idf)
        assert got[1].tolist() == want[1].tolist()
        assert got[0].tobytes() == want[0].tobytes()


def test_a_loaded_index_is_searched_the_same(tmp_path: Path) -> None:
    """A loaded index's arrays come from the file: the compiled loops take them as they are."""
    index, rng = _index(7)
    index.save(tmp_path)
    loaded = SparseIndex.load(tmp_path)
    for q_indices, q_values in _queries(rng, 20):
        want = index.view().search(q_indices, q_values, 10, None, True)
        got = loaded.view().search(q_indices, q_values, 10, None, True)
        assert got[1].tolist() == want[1].tolist()
        assert got[0].tobytes() == want[0].tobytes()


def test_a_copied_view_does_not_see_later_writes() -> None:
    index = SparseIndex()
    index.add([0, 1], SparseBatch.from_lists([[1], [1, 2]], [[1.0], [2.0, 1.0]]))
    view = index.view(copy=True)
    index.remove([1])
    index.add([2], SparseBatch.from_lists([[1, 3]], [[9.0, 1.0]]))
    indices = np.array([1], dtype=np.uint32)
    values = np.array([1.0], dtype=np.float32)
    assert view.search(indices, values, 10, None, False)[1].tolist() == [1, 0]
    assert index.view().search(indices, values, 10, None, False)[1].tolist() == [2, 0]
