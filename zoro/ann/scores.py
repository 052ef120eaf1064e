"""Scores in Qdrant's meaning, and the input checks every search and add goes through.

FAISS reports inner products (Cosine, Dot), *squared* L2 distances (Euclid) and L1 distances
(Manhattan). Qdrant's scores are the inner product, the L2 distance itself and the L1 distance.
Where fewer than k results exist the id is -1 and the score is the worst possible value for the
distance (-inf when higher is better, +inf when lower is better), so every row stays sorted
best first. Segments are merged on FAISS's raw values (zoro.ann.segments) and scored once.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from zoro.ann import _faiss
from zoro.errors import DimensionMismatch
from zoro.types import Distance

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
Result = tuple[F32, I64]


def worst(distance: Distance) -> float:
    return -np.inf if distance.higher_is_better else np.inf


def from_faiss(distance: Distance, raw: F32, labels: I64) -> F32:
    """FAISS distances -> Qdrant scores, IN PLACE: `raw` must be the caller's own array.

    Rows are best first with any missing results (-1) at their end, so only the last column
    is looked at to find out whether anything is missing (one scalar for a single query).
    """
    if distance is Distance.EUCLID:
        np.sqrt(np.maximum(raw, 0.0, out=raw), out=raw)
    if any_short(labels):
        raw[labels < 0] = worst(distance)
    return raw


def any_short(labels: I64, column: int = -1) -> bool:
    """Does any row of best-first `labels` hold -1 at `column` (so from there on)?"""
    if labels.shape[1] == 0:
        return False
    if len(labels) == 1:
        return bool(labels[0, column] < 0)
    return bool(labels[:, column].min() < 0) if len(labels) else False


def empty_result(m: int, k: int, distance: Distance) -> Result:
    return np.full((m, k), worst(distance), dtype=np.float32), np.full((m, k), -1, dtype=np.int64)


def new_result(m: int, k: int) -> Result:
    """Uninitialised (m, k) arrays for raw FAISS output."""
    return np.empty((m, k), dtype=np.float32), np.empty((m, k), dtype=np.int64)


def fill_missing(distance: Distance, distances: F32, labels: I64) -> None:
    """Raw output of an engine that has nothing to return (no points, or none live)."""
    distances.fill(worst(distance))
    labels.fill(-1)


def check_queries(queries: npt.ArrayLike, dimension: int, *, normalise: bool = False) -> F32:
    """(m, dimension) C-contiguous float32; a single vector becomes a batch of one.

    With `normalise`, a unit-length copy (a zero row stays zero rather than becoming NaN).
    """
    arr = np.array(queries, dtype=np.float32, order="C", ndmin=2, copy=normalise or None)
    if arr.ndim != 2 or arr.shape[1] != dimension:
        raise DimensionMismatch(
            f"expected query vectors of dimension {dimension}, got shape {arr.shape}"
        )
    if normalise:
        _faiss.normalize_rows(arr)
    return arr


def check_batch(ids: npt.ArrayLike, vectors: npt.ArrayLike, dimension: int) -> tuple[I64, F32]:
    slots = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
    vecs = np.ascontiguousarray(vectors, dtype=np.float32)
    if vecs.ndim != 2 or vecs.shape[1] != dimension:
        raise DimensionMismatch(f"expected vectors of dimension {dimension}, got {vecs.shape}")
    if len(slots) != len(vecs):
        raise ValueError(f"{len(slots)} ids for {len(vecs)} vectors")
    if len(slots) and int(slots.min()) < 0:
        raise ValueError("slot numbers must be non-negative")
    return slots, vecs


def check_k(k: int) -> int:
    if k < 0:
        raise ValueError(f"k must not be negative, got {k}")
    return k
