"""Helpers shared by the ANN tests: clustered data, a numpy reference, small settings."""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt

from zoro.settings import AnnSettings
from zoro.types import Distance

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

ALL_DISTANCES = list(Distance)


def clustered(n: int, dim: int, *, seed: int = 0, clusters: int = 50, latent: int = 32) -> F32:
    """Points shaped a little like embeddings: cluster centres plus a low-rank spread plus noise.

    The centres and the spread come from a fixed generator, so base points and queries drawn
    with different `seed`s come from the same distribution (queries from elsewhere would make
    any graph index look worse than it is).
    """
    space = np.random.default_rng(12345 + dim)
    centres = space.standard_normal((clusters, dim)).astype(np.float32)
    spread = space.standard_normal((min(latent, dim), dim)).astype(np.float32) / np.sqrt(latent)
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, spread.shape[0])).astype(np.float32)
    noise = 0.2 * rng.standard_normal((n, dim)).astype(np.float32)
    points = centres[rng.integers(0, clusters, n)] + z @ spread + noise
    return np.ascontiguousarray(points, dtype=np.float32)


def unit(x: F32) -> F32:
    return np.ascontiguousarray(x / np.linalg.norm(x, axis=1, keepdims=True), dtype=np.float32)


def data_for(distance: Distance, n: int, dim: int, *, seed: int = 0) -> F32:
    """What the service hands the index: unit vectors for Cosine, raw ones otherwise."""
    x = clustered(n, dim, seed=seed)
    return unit(x) if distance is Distance.COSINE else x


def brute_force(
    distance: Distance,
    base: F32,
    slots: I64,
    queries: F32,
    k: int,
    deleted: set[int] | frozenset[int] = frozenset(),
) -> tuple[F32, I64]:
    """Qdrant scores by numpy, best first, deleted slots left out (k must not exceed the live)."""
    q = unit(queries) if distance is Distance.COSINE else queries
    if distance in (Distance.COSINE, Distance.DOT):
        scores = q @ base.T
    elif distance is Distance.EUCLID:
        scores = np.sqrt(((q[:, None, :] - base[None, :, :]) ** 2).sum(-1))
    else:
        scores = np.abs(q[:, None, :] - base[None, :, :]).sum(-1)
    keys = -scores if distance.higher_is_better else scores.copy()
    keys[:, np.isin(slots, list(deleted))] = np.inf
    order = np.argsort(keys, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, order, 1).astype(np.float32), slots[order]


def assert_best_first(distance: Distance, scores: F32) -> None:
    a, b = scores[:, :-1], scores[:, 1:]  # comparisons, not differences: rows may end in inf
    assert bool(np.all(a >= b if distance.higher_is_better else a <= b))


def assert_exact(
    distance: Distance,
    base: F32,
    slots: I64,
    queries: F32,
    got: tuple[F32, I64],
    deleted: set[int] | frozenset[int] = frozenset(),
) -> None:
    """`got` is the exact answer: the same scores as numpy, and every id really has its score.

    Ids are not compared position by position: float32 sums in another order can swap two
    points whose scores tie to the last bit.
    """
    scores, ids = got
    k = ids.shape[1]
    want_scores, _ = brute_force(distance, base, slots, queries, k, deleted)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-4, atol=1e-4)
    assert_best_first(distance, scores)
    assert not deleted & set(ids.ravel().tolist())
    rows = np.searchsorted(slots, ids)
    assert (slots[rows] == ids).all()
    for i in range(len(ids)):
        assert len(set(ids[i].tolist())) == k
        own_scores, own_ids = brute_force(distance, base[rows[i]], ids[i], queries[i : i + 1], k)
        own = dict(zip(own_ids[0].tolist(), own_scores[0].tolist(), strict=True))
        np.testing.assert_allclose(
            [own[j] for j in ids[i].tolist()], scores[i], rtol=1e-4, atol=1e-4
        )


def small_settings(**changes: int) -> AnnSettings:
    small = AnnSettings(
        fresh_segment_max_points=500,
        full_scan_threshold=800,
        hnsw_m=16,
        hnsw_ef_construct=64,
        hnsw_ef_search=64,
    )
    return dataclasses.replace(small, **changes)


def recall(found: I64, truth: I64) -> float:
    hits = sum(len(set(a.tolist()) & set(b.tolist())) for a, b in zip(found, truth, strict=True))
    return hits / truth.size
