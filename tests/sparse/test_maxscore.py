"""MaxScore (zoro/sparse/search.py) returns the brute force's answer bit for bit, and it leaves
long lists unread when their bounds cannot reach the top k."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from zoro.sparse import SparseBatch, SparseIndex
from zoro.sparse import search as search_module

VOCABULARY = 300


def _zipf_corpus(rng: np.random.Generator, docs: int) -> SparseBatch:
    """BM25-like documents: words drawn by a Zipf law (a few words in most documents, many
    rare ones), positive weights that are larger for shorter documents."""
    indices, values = [], []
    for _ in range(docs):
        words = np.unique(np.minimum(rng.zipf(1.3, size=int(rng.integers(3, 25))), VOCABULARY))
        weights = rng.uniform(0.2, 2.2, size=len(words)).astype(np.float32)
        indices.append(words.tolist())
        values.append(weights.tolist())
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


def _both(
    monkeypatch: pytest.MonkeyPatch, index: SparseIndex, *args: Any, **kwargs: Any
) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    monkeypatch.setattr(search_module, "_BRUTE_FORCE_POSTINGS", 10**12)
    brute = index.search(*args, **kwargs)
    monkeypatch.setattr(search_module, "_BRUTE_FORCE_POSTINGS", 0)
    return brute, index.search(*args, **kwargs)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("idf", [False, True])
@pytest.mark.parametrize("lookup", ["binary_search", "spread"])
def test_maxscore_equals_the_brute_force_bit_for_bit(
    seed: int, idf: bool, lookup: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = 0 if lookup == "binary_search" else 10**9  # how `_lookup` finds values
    monkeypatch.setattr(search_module, "_SEARCH_STEPS_PER_PASS", steps)
    index, rng = _index(seed)
    for _ in range(40):
        words = rng.choice(
            np.arange(1, VOCABULARY + 1), size=int(rng.integers(2, 9)), replace=False
        )
        weights = rng.uniform(0.5, 1.5, size=len(words))
        if rng.random() < 0.2:
            weights[0] = -weights[0]  # a negative weight: its bound comes from the list's minimum
        limit = int(rng.choice([1, 3, 10, 50]))
        allowed: npt.NDArray[np.bool_] | None = None
        if rng.random() < 0.3:
            allowed = rng.random(int(rng.integers(100, 4000))) < rng.choice([0.02, 0.5])
        brute, maxscore = _both(monkeypatch, index, words, weights, limit, allowed=allowed, idf=idf)
        assert maxscore[1].tolist() == brute[1].tolist()
        assert maxscore[0].tobytes() == brute[0].tobytes()


class _Counting(np.ndarray):  # type: ignore[type-arg]
    """An accumulator that counts the postings written into it."""

    written = 0

    def __setitem__(self, key: Any, value: Any) -> None:
        _Counting.written += int(np.size(key))
        super().__setitem__(key, value)


def test_maxscore_leaves_a_long_list_unread_when_its_bound_is_low(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A rare word of high weight in 30 documents, a common word of low weight in all 5,000:
    once the rare word's documents are scored, the common word cannot lift any other document
    into the top 10, so its list is only looked up, never scanned."""
    n, rare, common = 5000, 7, 1
    indices = [[common, rare] if slot % 166 == 0 else [common] for slot in range(n)]
    values = [
        [0.1, 5.0] if len(row) == 2 else [0.1 + 0.0001 * (i % 9)] for i, row in enumerate(indices)
    ]
    index = SparseIndex()
    index.add(np.arange(n), SparseBatch.from_lists(indices, values))
    real = search_module._accumulator
    monkeypatch.setattr(search_module, "_accumulator", lambda *args: real(*args).view(_Counting))
    monkeypatch.setattr(search_module, "_BRUTE_FORCE_POSTINGS", 0)
    _Counting.written = 0
    scores, slots = index.search([rare, common], [1.0, 1.0], 10)
    assert _Counting.written < n  # the 30 rare postings, written and reset; not 5,000
    monkeypatch.setattr(search_module, "_BRUTE_FORCE_POSTINGS", 10**12)
    _Counting.written = 0
    assert index.search([rare, common], [1.0, 1.0], 10)[1].tolist() == slots.tolist()
    assert _Counting.written >= 2 * n  # the brute force wrote every posting, then reset it
    assert slots.tolist() == sorted(range(0, n, 166), reverse=True)[:10]
    assert scores.tolist() == [np.float32(5.0) + np.float32(0.1)] * 10


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
