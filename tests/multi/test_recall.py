"""The graph (FAISS HNSW candidates + exact re-scoring) against exact MaxSim: recall@10 on a
few thousand documents whose rows cluster by topic (Gaussian noise alone has no neighbours
worth finding: bench/multivector.py reports that case too)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.multi.reference import clustered_docs, query_near
from zoro.multi import MultiIndex, MultiSettings
from zoro.types import Distance

DOCS = 2000
DIM = 32
K = 10


@pytest.mark.parametrize("distance", [Distance.COSINE, Distance.EUCLID])
def test_recall_of_the_graph_path(distance: Distance) -> None:
    rng = np.random.default_rng(21)
    counts, rows = clustered_docs(rng, DOCS, DIM, rows=(8, 24))
    index = MultiIndex(DIM, distance, MultiSettings(candidates_per_row=64))
    index.add(np.arange(DOCS), counts, rows)
    index.build_graph()
    hits = 0
    queries = 40
    for _ in range(queries):
        query = query_near(rng, counts, rows)
        exact_scores, exact = index.search(query, K, exact=True)
        scores, found = index.search(query, K)
        assert len(found) == K
        hits += len(set(exact.tolist()) & set(found.tolist()))
        # candidates are re-scored exactly, so none can look better than the true best
        sign = 1.0 if distance.higher_is_better else -1.0
        assert sign * scores[0] <= sign * exact_scores[0] + 1e-4
    assert hits / (queries * K) >= 0.9
