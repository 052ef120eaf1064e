"""Exact top-k search over a SparseIndex's posting runs. See index.py for the layout, the IDF
and the order of ties.

A `SparseView` is what a search reads: the runs (immutable), the per-slot state, the dimension
map and the live count. `SparseIndex.view()` shares the index's state array, for a search on the
thread that mutates the index between searches; `SparseIndex.view(copy=True)` copies it, for a
search in a worker thread while the index goes on changing (the runs are never mutated, the
dimension map only grows, and a dimension added later has no postings in the view's runs).

Term at a time: every posting of every query term, in ascending dimension order, is added into a
float32 accumulator indexed by slot, and the best `limit` of the touched slots that are live and
allowed are kept, in one compiled pass each (kernels.py; a per-thread scratch, so searches on
several threads never share one). The cost is the query terms' postings, not the collection.

Measured and not kept (bench/README.md, sparse.py): the same scan in numpy (several passes per
posting, 2-3x slower), and MaxScore (terms by bound; the long lists of common words only looked
up for the candidates once their bounds cannot reach the k-th score), in numpy and compiled.
Compiled, with IDF it was 1.6x faster on warm data, but without IDF every word's bound is about
the same, the candidates stay in the hundreds of thousands, and it ran 5x slower than the scan;
over HTTP at 1M documents, on cold data, it gained nothing.
The kernels do no bounds checks: every slot in a run is below the state's length (add
grows the state first; a loaded file is checked).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from . import kernels

if TYPE_CHECKING:
    from ._segment import Segment

I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]
BOOL = npt.NDArray[np.bool_]

ABSENT: Final = 0
LIVE: Final = 1
REMOVED: Final = 2

# Scratch arrays per thread, grown to the largest slot count seen: acc (float32) and seen
# (bool) are all zeros between searches; touched (int64) holds each search's touched slots.
_scratch = threading.local()
_NO_MASK: Final = np.zeros(0, dtype=np.bool_)

List = tuple[I64, F32]  # one run's postings of one term: (slots ascending, values)


@dataclass(frozen=True, slots=True)
class _Query:
    """The query's terms known to the index, in ascending dimension order."""

    weights: F32  # per term, IDF applied
    lists: list[list[List]]  # per term, its nonempty posting slices (one per run holding some)


@dataclass(frozen=True, slots=True, eq=False)
class SparseView:
    runs: tuple[Segment, ...]
    state: npt.NDArray[np.int8]  # per slot: ABSENT, LIVE or REMOVED
    dim_of: dict[int, int]  # external dimension -> internal id (only grows)
    live: int  # live slots holding a vector: IDF's N

    def frequency(self, internal: int) -> int:
        """n(t): how many live slots' vectors have this internal dimension."""
        total = 0
        for run in self.runs:
            start, end = run.span(internal)
            if start == end:
                continue
            if run.dead_members:
                total += int(np.count_nonzero(self.state[run.slots[start:end]] == LIVE))
            else:
                total += end - start
        return total

    def postings(self, indices: npt.NDArray[np.uint32]) -> int:
        """How many postings the query's dimensions hold: what a brute force would read."""
        total = 0
        for dim in indices.tolist():
            internal = self.dim_of.get(dim)
            if internal is not None:
                for run in self.runs:
                    start, end = run.span(internal)
                    total += end - start
        return total

    def search(
        self,
        q_indices: npt.NDArray[np.uint32],
        q_values: F32,
        limit: int,
        allowed: BOOL | None,
        idf: bool,
    ) -> tuple[F32, I64]:
        """The best `limit` live (and `allowed`) slots for one canonical query, best first."""
        if limit <= 0 or not self.live:
            return no_hits()
        query = self._query(q_indices, q_values, idf)
        if query is None:
            return no_hits()
        return self._scan(query, limit, allowed)

    def _query(self, q_indices: npt.NDArray[np.uint32], q_values: F32, idf: bool) -> _Query | None:
        terms: list[int] = []
        weights: list[float] = []
        for dim, value in zip(q_indices.tolist(), q_values.tolist(), strict=True):
            internal = self.dim_of.get(dim)
            if internal is not None:
                terms.append(internal)
                weights.append(value)
        if not terms:
            return None
        w = np.asarray(weights, dtype=np.float32)
        if idf:
            n = float(self.live)
            df = np.array([self.frequency(t) for t in terms], dtype=np.float64)
            w = (w * np.log1p((n - df + 0.5) / (df + 0.5))).astype(np.float32)
        kept_weights, lists = [], []
        for term, weight in zip(terms, w.tolist(), strict=True):
            slices = []
            for run in self.runs:
                start, end = run.span(term)
                if start < end:
                    slices.append((run.slots[start:end], run.values[start:end]))
            if slices:
                kept_weights.append(weight)
                lists.append(slices)
        if not lists:
            return None
        return _Query(np.asarray(kept_weights, dtype=np.float32), lists)

    def _scan(self, query: _Query, limit: int, allowed: BOOL | None) -> tuple[F32, I64]:
        """Every posting of every term, through the compiled loops (kernels.py); the best
        `limit`, by score, then the newest (highest) slot first among equal scores."""
        size = len(self.state)
        acc = _scratch_array(size, "acc", np.float32)
        seen = _scratch_array(size, "seen", np.bool_)
        touched = _scratch_array(size, "touched", np.int64)
        count = 0
        for weight, slices in zip(query.weights, query.lists, strict=True):
            for slots, values in slices:
                count = kernels.scatter(acc, seen, touched, count, slots, values, weight)
        mask = _NO_MASK if allowed is None else np.ascontiguousarray(allowed)
        filtered = allowed is not None
        state = self.state
        scores, slots = kernels.collect(acc, seen, touched, count, state, mask, filtered, limit)
        order = np.lexsort((-slots, -scores))
        return scores[order], slots[order]


def no_hits() -> tuple[F32, I64]:
    return np.empty(0, dtype=np.float32), np.empty(0, dtype=np.int64)


def _scratch_array(size: int, name: str, dtype: type[np.generic]) -> npt.NDArray[Any]:
    """This thread's scratch array `name`, at least `size` long."""
    array: npt.NDArray[Any] | None = getattr(_scratch, name, None)
    if array is None or len(array) < size:
        array = np.zeros(max(size, 1024), dtype=dtype)
        setattr(_scratch, name, array)
    return array
