"""SparseIndex against the brute-force model: plain and IDF scoring, filters, removals."""

from __future__ import annotations

import numpy as np
import pytest

from tests.sparse.reference import Model, assert_same_hits, random_batch
from zoro.sparse import SparseBatch, SparseIndex, SparseVectorError, rebuild

DIMS = 40


def _filled(seed: int, rounds: int = 6) -> tuple[SparseIndex, Model, np.random.Generator]:
    """Several batches (several runs), some slots removed along the way."""
    rng = np.random.default_rng(seed)
    index, model = SparseIndex(), Model()
    next_slot = 0
    for _ in range(rounds):
        size = int(rng.integers(1, 60))
        slots = np.arange(next_slot, next_slot + size) * 3  # gaps: not every slot has a vector
        rng.shuffle(slots)
        batch = random_batch(rng, size, DIMS)
        index.add(slots, batch)
        model.add(slots, batch)
        next_slot += size
        gone = rng.choice(next_slot * 3, size=size // 4)
        index.remove(gone)
        model.remove(gone)
    return index, model, rng


def _query(rng: np.random.Generator) -> tuple[list[int], list[float]]:
    q = random_batch(rng, 1, DIMS, max_nnz=6)
    idx, val = q.row(0)
    return idx.tolist(), val.tolist()


@pytest.mark.parametrize("seed", range(8))
def test_plain_search_equals_brute_force_exactly(seed: int) -> None:
    index, model, rng = _filled(seed)
    for _ in range(30):
        q_idx, q_val = _query(rng)
        limit = int(rng.integers(1, 25))
        ranked = model.search(q_idx, q_val, 10**9)
        assert_same_hits(index.search(q_idx, q_val, limit), ranked, limit, exact=True)


@pytest.mark.parametrize("seed", range(8))
def test_idf_search_equals_brute_force(seed: int) -> None:
    index, model, rng = _filled(seed + 100)
    for _ in range(30):
        q_idx, q_val = _query(rng)
        limit = int(rng.integers(1, 25))
        ranked = model.search(q_idx, q_val, 10**9, idf=True)
        assert_same_hits(index.search(q_idx, q_val, limit, idf=True), ranked, limit, exact=False)


@pytest.mark.parametrize("seed", range(6))
def test_filtered_search_equals_brute_force(seed: int) -> None:
    index, model, rng = _filled(seed + 200)
    capacity = max(model.rows, default=0) + 1
    for share in (0.0, 0.05, 0.5, 1.0):
        allowed = rng.random(int(capacity * rng.choice([0.5, 1, 2]))) < share  # short masks too
        for _ in range(10):
            q_idx, q_val = _query(rng)
            ranked = model.search(q_idx, q_val, 10**9, allowed=allowed)
            got = index.search(q_idx, q_val, 10, allowed=allowed)
            assert_same_hits(got, ranked, 10, exact=True)
            ranked = model.search(q_idx, q_val, 10**9, allowed=allowed, idf=True)
            got = index.search(q_idx, q_val, 10, allowed=allowed, idf=True)
            assert_same_hits(got, ranked, 10, exact=False)


def test_matches_are_points_sharing_a_dimension_whatever_the_score() -> None:
    index = SparseIndex()
    batch = SparseBatch.from_lists(
        [[1, 5], [1], [1, 7], [2], [1], [], [1]],
        [[2.0, 1.0], [2.0], [-1.0, 3.0], [1.0], [0.0], [], [2.0]],
    )
    index.add(np.arange(10, 17), batch)
    scores, slots = index.search([1], [1.0], 10)
    # ties: the newest slot first (local mode's order); a 0 score and a negative score still
    # match; no overlap never does
    assert slots.tolist() == [16, 11, 10, 14, 12]
    assert scores.tolist() == [2.0, 2.0, 2.0, 0.0, -1.0]
    assert index.search([], [], 10)[1].tolist() == []
    assert index.search([99], [1.0], 10)[1].tolist() == []
    assert index.search([1], [1.0], 0)[1].tolist() == []
    assert index.search([1], [1.0], 2)[1].tolist() == [16, 11]


def test_idf_counts_every_live_vector_including_empty_ones() -> None:
    index = SparseIndex()
    index.add([0, 1, 2, 3], SparseBatch.from_lists([[1], [1, 2], [], [3]], [[1], [1, 1], [], [1]]))
    n, df = 4.0, 2.0
    assert index.idf([1]).tolist() == pytest.approx([np.log1p((n - df + 0.5) / (df + 0.5))])
    index.remove([2])  # the empty one leaves the corpus too
    n = 3.0
    assert index.idf([1]).tolist() == pytest.approx([np.log1p((n - df + 0.5) / (df + 0.5))])
    index.remove([1])
    assert index.document_frequency([1, 2, 3, 4]).tolist() == [1, 0, 1, 0]
    assert len(index) == 2


def test_add_refuses_reused_or_repeated_slots_and_changes_nothing() -> None:
    index = SparseIndex()
    one = SparseBatch.from_lists([[1]], [[1.0]])
    two = SparseBatch.from_lists([[1], [2]], [[1.0], [1.0]])
    index.add([5], one)
    with pytest.raises(ValueError, match="indexed before"):
        index.add([6, 5], two)
    index.remove([5])
    with pytest.raises(ValueError, match="indexed before"):
        index.add([5], one)
    with pytest.raises(ValueError, match="twice"):
        index.add([7, 7], two)
    with pytest.raises(ValueError, match="negative"):
        index.add([-1], one)
    with pytest.raises(ValueError, match="slots"):
        index.add([1, 2, 3], two)
    assert len(index) == 0
    assert index.search([1], [1.0], 10)[1].tolist() == []
    assert index.contains([5, 6, 7, -1, 10**6]).tolist() == [False] * 5


def test_a_malformed_query_is_a_sparse_vector_error() -> None:
    index = SparseIndex()
    with pytest.raises(SparseVectorError, match="appears twice"):
        index.search([1, 1], [1.0, 2.0], 10)
    with pytest.raises(SparseVectorError, match="finite"):
        index.search([1], [float("nan")], 10)


def test_runs_stay_logarithmic_and_compact_drops_removed_postings() -> None:
    rng = np.random.default_rng(7)
    index, model = SparseIndex(), Model()
    for start in range(0, 2000, 20):
        batch = random_batch(rng, 20, DIMS, negative=False)
        index.add(np.arange(start, start + 20), batch)
        model.add(np.arange(start, start + 20), batch)
    assert index.statistics().segments <= 8
    index.remove(np.arange(0, 2000, 2))
    model.remove(np.arange(0, 2000, 2))
    before = index.statistics().postings
    index.compact()
    stats = index.statistics()
    assert stats.segments == 1
    assert stats.postings < before
    assert stats.points == 1000
    q_idx, q_val = [int(i) * 7919 for i in range(5)], [1.0] * 5
    ranked = model.search(q_idx, q_val, 10**9)
    assert_same_hits(index.search(q_idx, q_val, 50), ranked, 50, exact=True)


def test_search_batch_and_rebuild_agree_with_single_searches() -> None:
    index, model, rng = _filled(42)
    queries = random_batch(rng, 12, DIMS, max_nnz=5)
    fresh = rebuild([(np.array(sorted(model.rows)), _rows_of(model))])
    for i, (scores, slots) in enumerate(index.search_batch(queries, 7, idf=True)):
        q_idx, q_val = queries.row(i)
        again = fresh.search(q_idx, q_val, 7, idf=True)
        assert slots.tolist() == again[1].tolist()
        assert scores.tolist() == again[0].tolist()


def _rows_of(model: Model) -> SparseBatch:
    slots = sorted(model.rows)
    return SparseBatch.from_lists(
        [list(model.rows[s]) for s in slots], [list(model.rows[s].values()) for s in slots]
    )


def test_batches_in_any_slot_order_merge_correctly() -> None:
    """Runs whose slot ranges interleave take the sorting merge, not the stacking one."""
    rng = np.random.default_rng(9)
    index, model = SparseIndex(), Model()
    for start in (900, 0, 450, 300, 600, 150, 750):
        slots = np.arange(start, start + 150, 2) + rng.integers(0, 2)
        batch = random_batch(rng, len(slots), DIMS, negative=False)
        index.add(slots, batch)
        model.add(slots, batch)
    index.remove(np.arange(0, 1050, 7))
    model.remove(np.arange(0, 1050, 7))
    for _ in range(2):
        for _ in range(20):
            q_idx, q_val = _query(rng)
            ranked = model.search(q_idx, q_val, 10**9)
            assert_same_hits(index.search(q_idx, q_val, 30), ranked, 30, exact=True)
        index.compact()
