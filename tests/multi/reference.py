"""Helpers for the multivector tests: random documents and a slow, obvious MaxSim."""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt

from zoro.types import Distance

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]


def random_docs(
    rng: np.random.Generator, n: int, dimension: int, max_rows: int = 6
) -> tuple[I64, F32]:
    """Row counts (1..max_rows) and all rows stacked, for n documents."""
    counts = rng.integers(1, max_rows + 1, size=n).astype(np.int64)
    rows = rng.normal(size=(int(counts.sum()), dimension)).astype(np.float32)
    return counts, rows


def split(counts: I64, rows: F32) -> list[F32]:
    edges = np.concatenate(([0], np.cumsum(counts)))
    return [rows[int(a) : int(b)] for a, b in itertools.pairwise(edges)]


def maxsim_score(distance: Distance, query: F32, doc: F32) -> float:
    """Qdrant's score of one document, pair by pair in float64."""
    q, d = query.astype(np.float64), doc.astype(np.float64)
    if distance is Distance.COSINE:
        q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-30)
        d = d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-30)
    if distance in (Distance.COSINE, Distance.DOT):
        return float((q @ d.T).max(axis=1).sum())
    if distance is Distance.EUCLID:
        squared = ((q[:, None, :] - d[None, :, :]) ** 2).sum(axis=2)
        return float(np.sqrt(squared.min(axis=1).sum()))
    return float(np.abs(q[:, None, :] - d[None, :, :]).sum(axis=2).min(axis=1).sum())


def brute_force(
    distance: Distance, query: F32, docs: dict[int, F32], k: int
) -> list[tuple[int, float]]:
    """(slot, score) of the k best documents, best first."""
    scored = [(slot, maxsim_score(distance, query, doc)) for slot, doc in docs.items()]
    sign = -1.0 if distance.higher_is_better else 1.0
    scored.sort(key=lambda item: (sign * item[1], item[0]))
    return scored[:k]


def clustered_docs(
    rng: np.random.Generator, n: int, dimension: int, *, rows: tuple[int, int] = (8, 32)
) -> tuple[I64, F32]:
    """Documents whose rows gather around a few of 1024 random topics each (4 per document,
    noise 0.7 per coordinate): token embeddings cluster by meaning, Gaussian noise does not."""
    topics = rng.normal(size=(1024, dimension)).astype(np.float32)
    counts = rng.integers(rows[0], rows[1] + 1, size=n).astype(np.int64)
    chosen = rng.integers(0, len(topics), size=(n, 4))
    owner = np.repeat(np.arange(n), counts)
    topic = chosen[owner, rng.integers(0, 4, size=len(owner))]
    noise = rng.normal(size=(len(owner), dimension)).astype(np.float32)
    out: F32 = (topics[topic] + 0.7 * noise).astype(np.float32)
    return counts, out


def query_near(rng: np.random.Generator, counts: I64, rows: F32, *, size: int = 8) -> F32:
    """A query about one random document: some of its rows, perturbed like the rows are."""
    starts = np.concatenate(([0], np.cumsum(counts)))
    doc = int(rng.integers(len(counts)))
    own = rows[starts[doc] : starts[doc + 1]]
    picked = own[rng.choice(len(own), size=min(size, len(own)), replace=False)]
    out: F32 = (picked + 0.7 * rng.normal(size=picked.shape)).astype(np.float32)
    return out
