"""HNSW quality at the default settings, on data shaped like embeddings."""

from __future__ import annotations

import numpy as np

from zoro.ann import FlatEngine, HnswEngine
from zoro.settings import AnnSettings
from zoro.types import Distance

from .conftest import clustered, recall, unit


def test_hnsw_recall_at_10_is_at_least_095() -> None:
    settings = AnnSettings()
    base = unit(clustered(20_000, 64, clusters=200))
    queries = unit(clustered(200, 64, seed=9, clusters=200))  # same distribution, other points
    slots = np.arange(20_000, dtype=np.int64)
    hnsw = HnswEngine(
        64,
        Distance.COSINE,
        m=settings.hnsw_m,
        ef_construct=settings.hnsw_ef_construct,
        ef_search=settings.hnsw_ef_search,
    )
    hnsw.add(slots, base)
    flat = FlatEngine(64, Distance.COSINE)
    flat.add(slots, base)
    _, truth = flat.search(queries, 10)
    _, found = hnsw.search(queries, 10)
    assert recall(found, truth) >= 0.95
