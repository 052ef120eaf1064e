"""A brute-force model of the sparse index (dense numpy, float64) and random data for the tests.

Values are small multiples of 0.5, so float32 sums are exact and the model's order (score, then
slot) can be compared exactly, ties included, when no IDF is applied.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from zoro.sparse import SparseBatch


def random_batch(
    rng: np.random.Generator, rows: int, dims: int, *, max_nnz: int = 8, negative: bool = True
) -> SparseBatch:
    indices, values = [], []
    for _ in range(rows):
        nnz = int(rng.integers(0, max_nnz + 1))
        idx = rng.choice(dims, size=min(nnz, dims), replace=False)
        low = -4 if negative else 0
        vals = rng.integers(low, 5, size=len(idx)) / 2
        indices.append([int(i) * 7919 % 2**32 for i in idx])  # spread over the u32 range
        values.append(vals.tolist())
    return SparseBatch.from_lists(indices, values)


class Model:
    """Every live slot's vector as a dict; search by brute force."""

    def __init__(self) -> None:
        self.rows: dict[int, dict[int, float]] = {}

    def add(self, slots: npt.ArrayLike, batch: SparseBatch) -> None:
        for i, slot in enumerate(np.asarray(slots).tolist()):
            idx, val = batch.row(i)
            self.rows[slot] = dict(zip(idx.tolist(), val.tolist(), strict=True))

    def remove(self, slots: npt.ArrayLike) -> None:
        for slot in np.asarray(slots).tolist():
            self.rows.pop(slot, None)

    def idf(self, dim: int) -> float:
        n = len(self.rows)
        df = sum(dim in row for row in self.rows.values())
        return math.log1p((n - df + 0.5) / (df + 0.5))

    def search(
        self,
        q_idx: list[int],
        q_val: list[float],
        limit: int,
        *,
        allowed: npt.NDArray[np.bool_] | None = None,
        idf: bool = False,
    ) -> list[tuple[float, int]]:
        weights = {d: v * (self.idf(d) if idf else 1.0) for d, v in zip(q_idx, q_val, strict=True)}
        hits = []
        for slot, row in self.rows.items():
            if allowed is not None and (slot >= len(allowed) or not allowed[slot]):
                continue
            shared = [d for d in weights if d in row]
            if shared:
                hits.append((sum(weights[d] * row[d] for d in shared), slot))
        hits.sort(key=lambda hit: (-hit[0], -hit[1]))  # ties: the newest slot first
        return hits[:limit]


def assert_same_hits(
    got: tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]],
    ranked: list[tuple[float, int]],
    limit: int,
    *,
    exact: bool,
    tolerance: float = 1e-4,
) -> None:
    """`got` is the first `limit` of the model's full ranking `ranked`: the same scores
    (exactly, or within `tolerance`), and the same slot wherever the score is not tied with
    another one of the full ranking (a tie may be broken either way once rounding differs)."""
    scores, slots = got
    want = ranked[:limit]
    assert len(scores) == len(want), (got, want)
    assert len(set(slots.tolist())) == len(slots)
    all_scores = np.array([s for s, _ in ranked], dtype=np.float64)
    all_slots = np.array([slot for _, slot in ranked], dtype=np.int64)
    if exact:
        assert scores.tolist() == all_scores[:limit].tolist()
        assert slots.tolist() == all_slots[:limit].tolist()
        return
    np.testing.assert_allclose(scores, all_scores[:limit], rtol=tolerance, atol=tolerance)
    for i, slot in enumerate(slots.tolist()):
        near = np.abs(all_scores - all_scores[i]) <= tolerance * max(1.0, abs(all_scores[i]))
        assert slot in set(all_slots[near].tolist()), (i, got, want)
