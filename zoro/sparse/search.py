"""Exact top-k search over a SparseIndex's posting runs. See index.py for the layout, the IDF
and the order of ties.

A `SparseView` is what a search reads: the runs (immutable), the per-slot state, the dimension
map and the live count. `SparseIndex.view()` shares the index's state array, for a search on the
thread that mutates the index between searches; `SparseIndex.view(copy=True)` copies it, for a
search in a worker thread while the index goes on changing (the runs are never mutated, the
dimension map only grows, and a dimension added later has no postings in the view's runs).

Two exact methods, both on compiled loops (kernels.py, without the GIL; a per-thread scratch, so
searches on several threads never share one), both returning the same bits:

- The scan (up to `_MAXSCORE_POSTINGS` postings): every posting of every query term, in
  ascending dimension order, is added into a float32 accumulator indexed by slot; the best
  `limit` of the touched slots that are live and allowed are kept.
- MaxScore (term at a time; Turtle and Flood), for longer lists. A term's bound is the most it
  can add to a score: max(0, w * list max, w * list min). Terms go highest bound first (with
  IDF: the rare words). After each, the best few candidates so far are scored wholly (their
  values in the other lists looked up), which bounds the k-th best score from below (`theta`);
  once the bounds of the terms left add up below it, no slot untouched so far can reach the top
  k, so those lists are never scanned: the candidates' values in them are looked up (a search
  that gallops along both ascending lists), and a candidate is dropped once its score so far
  plus the bounds of the terms left falls below `theta`. The finalists (within the rounding
  tolerance of the k-th score) are summed again in dimension order, as the scan sums them.

On 1M BM25 documents (bench/sparse.py's corpus; 200 queries, 3 runs): the scan 2.3 ms per
query on average, MaxScore past 150,000 postings 1.4 ms (2.1 against 4.1 for the queries past
500,000 postings; slower than the scan on short lists, whose postings it cannot skip). The
same scan in numpy took 7-9 ms, MaxScore in numpy 3.1-4.4 (its numpy calls cost ~1 ms).

The kernels do no bounds checks: every slot in a run is below the state's length (add grows
the state first; a loaded file is checked).
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
F64 = npt.NDArray[np.float64]
BOOL = npt.NDArray[np.bool_]

ABSENT: Final = 0
LIVE: Final = 1
REMOVED: Final = 2

# Scratch arrays per thread, grown to the largest slot count seen: acc (float32) and seen
# (bool) are all zeros between searches; touched (int64) holds each search's touched slots.
_scratch = threading.local()
_MAXSCORE_POSTINGS: Final = 150_000  # past this many postings, MaxScore; the scan below
_SEEDS_PER_HIT: Final = 3  # candidates scored wholly after each term, per hit asked for
_EPS32: Final = float(np.finfo(np.float32).eps)
_NO_MASK: Final = np.zeros(0, dtype=np.bool_)

List = tuple[I64, F32]  # one run's postings of one term: (slots ascending, values)


@dataclass(frozen=True, slots=True)
class _Query:
    """The query's terms known to the index, in ascending dimension order."""

    weights: F32  # per term, IDF applied
    lists: list[list[List]]  # per term, its nonempty posting slices (one per run holding some)
    uppers: list[float]  # per term, the largest value in its lists
    lowers: list[float]  # per term, the smallest
    postings: int

    def bounds(self) -> F64:
        """Per term, the most it can add to a score: max(0, w * largest, w * smallest)."""
        w = self.weights.astype(np.float64)
        upper, lower = np.asarray(self.uppers), np.asarray(self.lowers)
        out: F64 = np.maximum(0.0, np.maximum(w * upper, w * lower))
        return out

    def tolerance(self) -> float:
        """How far two float32 sums of these terms in different orders can differ at most:
        twice the worst rounding of a sum of len(terms) values as large as the terms'."""
        largest = np.maximum(np.abs(self.uppers), np.abs(self.lowers))
        magnitude = float(np.abs(self.weights.astype(np.float64)) @ largest)
        return 2.0 * len(self.lists) * _EPS32 * magnitude + 1e-30


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
        if query.postings > _MAXSCORE_POSTINGS and len(query.lists) > 1:
            return self._maxscore(query, limit, allowed)
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
        kept_weights, lists, uppers, lowers, postings = [], [], [], [], 0
        for term, weight in zip(terms, w.tolist(), strict=True):
            slices, upper, lower = [], -np.inf, np.inf
            for run in self.runs:
                start, end = run.span(term)
                if start < end:
                    slices.append((run.slots[start:end], run.values[start:end]))
                    upper = max(upper, float(run.upper[term]))
                    lower = min(lower, float(run.lower[term]))
                    postings += end - start
            if slices:
                kept_weights.append(weight)
                lists.append(slices)
                uppers.append(upper)
                lowers.append(lower)
        if not lists:
            return None
        kept = np.asarray(kept_weights, dtype=np.float32)
        return _Query(kept, lists, uppers, lowers, postings)

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
        scores, slots = kernels.collect(
            acc, seen, touched, count, state, mask, filtered, limit, True
        )
        return _ordered(scores, slots)

    def _maxscore(self, query: _Query, limit: int, allowed: BOOL | None) -> tuple[F32, I64]:
        """MaxScore, term at a time (see the module docstring), on the compiled loops."""
        bounds = query.bounds()
        order = np.argsort(-bounds, kind="stable")
        # left[i]: the most the terms after the i-th (in visiting order) can add to a score
        left = np.concatenate([np.cumsum(bounds[order][::-1])[::-1][1:], [0.0]])
        tolerance = query.tolerance()
        size = len(self.state)
        acc = _scratch_array(size, "acc", np.float32)
        seen = _scratch_array(size, "seen", np.bool_)
        touched = _scratch_array(size, "touched", np.int64)
        mask = _NO_MASK if allowed is None else np.ascontiguousarray(allowed)
        filtered, state = allowed is not None, self.state
        count, theta, scanned = 0, -np.inf, len(order)
        for i, term in enumerate(order.tolist()):
            weight = query.weights[term]
            for slots, values in query.lists[term]:
                count = kernels.scatter(acc, seen, touched, count, slots, values, weight)
            if i + 1 == len(order):
                break
            seeds = _SEEDS_PER_HIT * limit  # the best so far, scored wholly: a lower bound
            scores, slots = kernels.collect(
                acc, seen, touched, count, state, mask, filtered, seeds, False
            )
            ascending = np.argsort(slots)
            scores, slots = scores[ascending], slots[ascending]
            if len(scores) >= limit:
                for later in order[i + 1 :].tolist():
                    for list_slots, values in query.lists[later]:
                        weight = query.weights[later]
                        kernels.lookup_add(scores, slots, list_slots, values, weight)
                theta = max(theta, float(np.partition(scores, len(scores) - limit)[-limit]))
            if left[i] < theta - tolerance:  # no slot untouched so far can reach the top
                scanned = i + 1
                break
        at_least = theta - tolerance - (left[scanned - 1] if scanned < len(order) else 0.0)
        candidates, partial = kernels.gather(
            acc, seen, touched, count, state, mask, filtered, at_least
        )
        ascending = np.argsort(candidates)  # lookup_add gallops along ascending slots
        candidates, partial = candidates[ascending], partial[ascending]
        for i in range(scanned, len(order)):
            # the i-th term and those after it can still add left[i - 1] at most
            alive = partial + left[i - 1] >= theta - tolerance
            candidates, partial = candidates[alive], partial[alive]
            term = int(order[i])
            for list_slots, values in query.lists[term]:
                weight = query.weights[term]
                kernels.lookup_add(partial, candidates, list_slots, values, weight)
        if len(candidates) > limit:  # the finalists: within rounding of the k-th best
            kth = np.partition(partial, len(partial) - limit)[len(partial) - limit]
            candidates = candidates[partial >= kth - 2 * tolerance]
        # their scores again, summed in dimension order as the scan sums them
        exact = np.zeros(len(candidates), dtype=np.float32)
        for weight, slices in zip(query.weights, query.lists, strict=True):
            for list_slots, values in slices:
                kernels.lookup_add(exact, candidates, list_slots, values, weight)
        scores, slots = exact, candidates
        if len(scores) > limit:
            best = np.lexsort((-slots, -scores))[:limit]
            scores, slots = scores[best], slots[best]
        return _ordered(scores, slots)


def _ordered(scores: F32, slots: I64) -> tuple[F32, I64]:
    """Best first: by score, then the newest (highest) slot."""
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
