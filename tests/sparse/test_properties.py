"""Any interleaving of adds, removes, compactions and save/load answers like the model."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.sparse.reference import Model, assert_same_hits, random_batch
from zoro.sparse import SparseIndex

DIMS = 12  # few dimensions: long lists, many shared indices, many ties

ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, 25)),
        st.tuples(st.just("remove"), st.integers(0, 12)),
        st.tuples(st.just("compact"), st.just(0)),
        st.tuples(st.just("reload"), st.just(0)),
    ),
    min_size=1,
    max_size=14,
)


@settings(max_examples=40, deadline=None)
@given(ops=ops, seed=st.integers(0, 2**32 - 1))
def test_interleavings_agree_with_the_model(ops: list[tuple[str, int]], seed: int) -> None:
    rng = np.random.default_rng(seed)
    index, model = SparseIndex(), Model()
    next_slot = 0
    with tempfile.TemporaryDirectory() as scratch:
        for op, size in ops:
            if op == "add":
                slots = next_slot + rng.permutation(size) * 2  # out of order, with gaps
                next_slot += 2 * size + 1
                batch = random_batch(rng, size, DIMS, max_nnz=5)
                index.add(slots, batch)
                model.add(slots, batch)
            elif op == "remove":
                gone = rng.integers(0, next_slot + 3, size=size)  # unknown slots too
                index.remove(gone)
                model.remove(gone)
            elif op == "compact":
                index.compact()
            else:
                index.save(Path(scratch))
                index = SparseIndex.load(Path(scratch))
            _check(index, model, rng)


def _check(index: SparseIndex, model: Model, rng: np.random.Generator) -> None:
    assert len(index) == len(model.rows)
    dims = [int(d) * 7919 for d in range(DIMS)]
    want_df = [sum(d in row for row in model.rows.values()) for d in dims]
    assert index.document_frequency(dims).tolist() == want_df
    for _ in range(3):
        q_idx, q_val = random_batch(rng, 1, DIMS, max_nnz=4).row(0)
        limit = int(rng.integers(1, 12))
        ranked = model.search(q_idx.tolist(), q_val.tolist(), 10**9)
        assert_same_hits(index.search(q_idx, q_val, limit), ranked, limit, exact=True)
        ranked = model.search(q_idx.tolist(), q_val.tolist(), 10**9, idf=True)
        assert_same_hits(index.search(q_idx, q_val, limit, idf=True), ranked, limit, exact=False)
