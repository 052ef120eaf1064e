"""MultiIndex against the slow reference: add, replace, remove, filters, both search paths."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.multi.reference import brute_force, random_docs, split
from zoro.errors import DimensionMismatch, MultivectorError
from zoro.multi import MultiIndex, MultiSettings
from zoro.types import Distance

DIM = 6
SMALL_BLOCKS = MultiSettings(block_bytes=4 * DIM * 40, first_block_rows=8)


def _filled(
    distance: Distance, n: int, seed: int, settings: MultiSettings | None = None
) -> tuple[MultiIndex, dict[int, np.ndarray]]:
    rng = np.random.default_rng(seed)
    counts, rows = random_docs(rng, n, DIM)
    index = MultiIndex(DIM, distance, settings or SMALL_BLOCKS)
    slots = rng.permutation(3 * n)[:n]
    for part in np.array_split(np.arange(n), 5):  # several batches, several blocks
        edges = np.concatenate(([0], np.cumsum(counts)))
        lo, hi = (int(edges[part[0]]), int(edges[part[-1] + 1])) if len(part) else (0, 0)
        index.add(slots[part], counts[part], rows[lo:hi])
    docs = {int(s): m for s, m in zip(slots, split(counts, rows), strict=True)}
    return index, docs


def _check(
    index: MultiIndex,
    docs: dict[int, np.ndarray],
    query: np.ndarray,
    k: int,
    **kwargs: object,
) -> None:
    scores, slots = index.search(query, k, **kwargs)  # type: ignore[arg-type]
    want = brute_force(index.distance, query, docs, k)
    assert len(slots) == len(want)
    np.testing.assert_allclose(scores, [s for _, s in want], rtol=2e-4, atol=2e-4)
    for i, (slot, score) in enumerate(want):
        tied = sum(abs(score - s) <= 2e-4 for _, s in want)
        if tied == 1 and not (i == len(want) - 1 and len(want) == k):
            assert slots[i] == slot


@pytest.mark.parametrize("distance", list(Distance))
def test_exact_search_matches_the_reference(distance: Distance) -> None:
    index, docs = _filled(distance, 120, seed=1)
    rng = np.random.default_rng(2)
    assert index.statistics().blocks > 3
    for k in (1, 5, 200):
        _check(index, docs, rng.normal(size=(int(rng.integers(1, 5)), DIM)), k)


@pytest.mark.parametrize("distance", list(Distance))
def test_remove_replace_and_compaction(distance: Distance) -> None:
    index, docs = _filled(distance, 150, seed=3)
    rng = np.random.default_rng(4)
    gone = rng.choice(list(docs), size=90, replace=False).tolist()
    assert index.remove([*gone, 10**6]) == 90
    assert index.remove(gone) == 0
    for slot in gone:
        del docs[slot]
    counts, rows = random_docs(rng, 20, DIM)
    replaced = list(docs)[:20]
    index.add(replaced, counts, rows)
    docs.update(zip(replaced, split(counts, rows), strict=True))
    assert len(index) == len(docs)
    stats = index.statistics()
    assert stats.rows == sum(len(m) for m in docs.values())
    # compaction keeps each block at most an eighth dead (plus the spare room of the tail)
    assert stats.memory_bytes < 1.3 * stats.raw_bytes + 4 * DIM * 40 * 1.25 + 4096 * 4 * 8
    for slot, matrix in list(docs.items())[:30]:
        got = index.rows_of(slot)
        assert got is not None
        if distance is not Distance.COSINE:
            assert np.array_equal(got, matrix)
        assert slot in index
    assert index.rows_of(gone[0]) is None
    assert gone[0] not in index
    for k in (1, 7, 100):
        _check(index, docs, rng.normal(size=(3, DIM)), k)


def test_filters_return_k_allowed_hits() -> None:
    index, docs = _filled(Distance.DOT, 200, seed=5)
    rng = np.random.default_rng(6)
    for keep in (0.02, 0.3, 0.9):
        allowed = rng.random(700) < keep
        kept = {s: m for s, m in docs.items() if s < len(allowed) and allowed[s]}
        _check(index, kept, rng.normal(size=(2, DIM)), 10, allowed=allowed)
    short = np.ones(10, dtype=bool)  # slots past the end of the mask are not allowed
    _, slots = index.search(rng.normal(size=(2, DIM)), 50, allowed=short)
    assert set(slots.tolist()) == {s for s in docs if s < 10}
    none = np.zeros(700, dtype=bool)
    assert index.search(rng.normal(size=(2, DIM)), 5, allowed=none)[1].tolist() == []


@pytest.mark.parametrize("distance", [Distance.COSINE, Distance.DOT, Distance.EUCLID])
def test_graph_path_keeps_k_hits_through_removals_filters_and_fresh_documents(
    distance: Distance,
) -> None:
    settings = MultiSettings(block_bytes=4 * DIM * 200, candidates_per_row=4, exact_filtered_rows=0)
    index, docs = _filled(distance, 400, seed=7, settings=settings)
    index.build_graph()
    rng = np.random.default_rng(8)
    gone = rng.choice(list(docs), size=150, replace=False).tolist()
    index.remove(gone)
    for slot in gone:
        del docs[slot]
    counts, rows = random_docs(rng, 30, DIM)  # fresh documents, outside the graph
    fresh = list(range(5000, 5030))
    index.add(fresh, counts, rows)
    docs.update(zip(fresh, split(counts, rows), strict=True))
    stats = index.statistics()
    assert stats.graph_rows > 0
    assert stats.graph_dead_rows > 0
    assert stats.fresh_rows == int(counts.sum())
    allowed = np.zeros(6000, dtype=bool)
    allowed[rng.choice(6000, size=600, replace=False)] = True
    allowed[fresh[:3]] = True
    for k in (1, 10, 40):
        scores, slots = index.search(rng.normal(size=(3, DIM)), k)
        assert len(slots) == k
        assert len(set(slots.tolist())) == k
        assert set(slots.tolist()) <= set(docs)
        ordered = scores if not distance.higher_is_better else -scores
        assert np.all(np.diff(ordered) >= -1e-6)
        _, filtered = index.search(rng.normal(size=(3, DIM)), k, allowed=allowed)
        eligible = {s for s in docs if allowed[s]}
        assert len(filtered) == min(k, len(eligible))
        assert set(filtered.tolist()) <= eligible
    # exact=True is exact whatever the graph says
    _check(index, docs, rng.normal(size=(3, DIM)), 10, exact=True)


def test_graph_job_runs_while_the_owner_keeps_writing() -> None:
    index, docs = _filled(Distance.COSINE, 300, seed=9)
    job = index.prepare_graph()
    rng = np.random.default_rng(10)
    counts, rows = random_docs(rng, 10, DIM)
    index.add(range(9000, 9010), counts, rows)  # after prepare: fresh
    index.remove(list(docs)[:100])  # rows of sealed blocks die, some blocks get compacted
    job.run()
    index.install_graph(job)
    stats = index.statistics()
    assert stats.fresh_rows == int(counts.sum())
    assert stats.graph_dead_rows > 0
    assert index.wants_graph() is (4 * stats.graph_dead_rows > stats.graph_rows)
    _, slots = index.search(rng.normal(size=(2, DIM)), 210)
    assert len(slots) == len(index) == 210


def test_manhattan_has_no_graph() -> None:
    index = MultiIndex(DIM, Distance.MANHATTAN)
    assert not index.graph_supported
    assert not index.wants_graph()
    with pytest.raises(ValueError, match="no graph for Manhattan"):
        index.prepare_graph()


def test_bad_arguments_change_nothing() -> None:
    index, _ = _filled(Distance.DOT, 20, seed=11)
    before = index.statistics()
    one = np.ones((2, DIM), np.float32)
    with pytest.raises(DimensionMismatch):
        index.add([1], [2], np.ones((2, DIM + 1)))
    with pytest.raises(ValueError, match="add up"):
        index.add([1], [3], one)
    with pytest.raises(ValueError, match="at least one row"):
        index.add([1, 2], [2, 0], one)
    with pytest.raises(ValueError, match="twice"):
        index.add([1, 1], [1, 1], one)
    with pytest.raises(ValueError, match="non-negative"):
        index.add([-1], [2], one)
    with pytest.raises(ValueError, match="finite"):
        index.add([1], [2], np.full((2, DIM), np.nan))
    assert index.statistics() == before
    with pytest.raises(DimensionMismatch):
        index.search(np.ones((2, DIM + 1)), 3)
    with pytest.raises(MultivectorError, match="query"):
        index.search(np.empty((0, DIM)), 3)
    with pytest.raises(MultivectorError, match="finite"):
        index.search(np.full((1, DIM), np.inf), 3)
    with pytest.raises(ValueError, match="negative"):
        index.search(one, -1)
    assert index.search(one, 0)[1].tolist() == []
    assert MultiIndex(DIM, Distance.DOT).search(one, 3)[1].tolist() == []


def test_a_document_longer_than_a_block_gets_its_own() -> None:
    index = MultiIndex(DIM, Distance.DOT, MultiSettings(block_bytes=4 * DIM * 10))
    rng = np.random.default_rng(12)
    big = rng.normal(size=(25, DIM)).astype(np.float32)
    small = rng.normal(size=(3, DIM)).astype(np.float32)
    index.add([1, 2, 3], [3, 25, 3], np.concatenate([small, big, small]))
    assert np.array_equal(index.rows_of(2), big)
    _check(index, {1: small, 2: big, 3: small}, rng.normal(size=(2, DIM)), 3)


def test_rescore_scores_given_slots_only() -> None:
    index, docs = _filled(Distance.EUCLID, 60, seed=13)
    rng = np.random.default_rng(14)
    query = rng.normal(size=(3, DIM))
    some = list(docs)[:12]
    scores, slots = index.rescore(query, [*some, -5, 10**7, some[0]])
    want = brute_force(Distance.EUCLID, query, {s: docs[s] for s in some}, 12)
    assert slots.tolist() == [s for s, _ in want]
    np.testing.assert_allclose(scores, [v for _, v in want], rtol=2e-4)
    assert index.rescore(query, some, 3)[1].tolist() == [s for s, _ in want[:3]]
    assert index.rescore(query, [])[1].tolist() == []
    assert index.remove([-1, 10**7]) == 0


def test_a_graph_of_nothing_then_fresh_documents() -> None:
    index = MultiIndex(DIM, Distance.DOT)
    index.build_graph()
    assert index.statistics().graph_rows == 0
    rng = np.random.default_rng(15)
    counts, rows = random_docs(rng, 30, DIM)
    index.add(range(30), counts, rows)
    _check(index, dict(enumerate(split(counts, rows))), rng.normal(size=(2, DIM)), 5)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    steps=st.lists(st.sampled_from(["add", "remove", "graph", "search"]), min_size=1, max_size=12),
)
def test_any_sequence_of_writes_searches_like_the_reference(seed: int, steps: list[str]) -> None:
    rng = np.random.default_rng(seed)
    index = MultiIndex(DIM, Distance.DOT, MultiSettings(block_bytes=4 * DIM * 12))
    docs: dict[int, np.ndarray] = {}
    for step in steps:
        if step == "add":
            n = int(rng.integers(1, 8))
            slots = rng.choice(40, size=n, replace=False)
            counts, rows = random_docs(rng, n, DIM, max_rows=5)
            index.add(slots, counts, rows)
            docs.update(zip(slots.tolist(), split(counts, rows), strict=True))
        elif step == "remove" and docs:
            gone = rng.choice(list(docs), size=int(rng.integers(1, len(docs) + 1)), replace=False)
            assert index.remove(gone) == len(gone)
            for slot in gone.tolist():
                del docs[slot]
        elif step == "graph":
            index.build_graph()
        assert len(index) == len(docs)
        assert index.statistics().rows == sum(len(m) for m in docs.values())
        _check(index, docs, rng.normal(size=(2, DIM)), 5, exact=True)
        _, found = index.search(rng.normal(size=(2, DIM)), 5)
        assert len(found) == min(5, len(docs))
        assert set(found.tolist()) <= set(docs)
    for slot, matrix in docs.items():
        assert np.array_equal(index.rows_of(slot), matrix)


@pytest.mark.parametrize("distance", [Distance.COSINE, Distance.DOT])
def test_renumber_keeps_every_document_in_the_new_slots(distance: Distance) -> None:
    """A compaction's switch: live slots get new, denser numbers in the same order; a graph job
    prepared before it is not installed over the new numbering."""
    index, docs = _filled(distance, 150, seed=11)
    index.remove(list(docs)[:50])
    for slot in list(docs)[:50]:
        del docs[slot]
    job = index.prepare_graph()
    live = sorted(docs)
    remap = np.full(3 * 150, -1, dtype=np.int64)
    remap[live] = np.arange(1, len(live) + 1)
    index.renumber(remap)
    renumbered = {int(remap[s]): m for s, m in docs.items()}
    rng = np.random.default_rng(12)
    for k in (1, 5, 120):
        _check(index, renumbered, rng.normal(size=(3, DIM)), k)
    job.run()
    assert index.install_graph(job) is False  # prepared over the old numbering
    index.build_graph()  # a new one works
    _check(index, renumbered, rng.normal(size=(3, DIM)), 5, exact=True)
