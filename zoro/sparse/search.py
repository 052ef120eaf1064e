"""Exact top-k search over a SparseIndex's posting runs: brute force for short lists, MaxScore
for long ones. See index.py for the layout, the IDF and the order of ties.

A `SparseView` is what a search reads: the runs (immutable), the per-slot state, the dimension
map and the live count. `SparseIndex.view()` shares the index's state array, for a search on the
thread that mutates the index between searches; `SparseIndex.view(copy=True)` copies it, for a
search in a worker thread while the index goes on changing (the runs are never mutated, the
dimension map only grows, and a dimension added later has no postings in the view's runs).

Brute force (term at a time): every posting of every query term is added into a float32
scratch array indexed by slot (`acc[slots] += w * values`: a slot occurs once per list, so a
fancy-index update is exact); the touched slots are the candidates.

MaxScore (exact; Turtle and Flood's term-at-a-time form), used once the query's lists hold more
than `_BRUTE_FORCE_POSTINGS` postings. A term's bound is the most it can add to a score:
max(0, w * list max, w * list min). Terms go in order of bound, highest first (with IDF: the rare
words). After each term, a lower bound `theta` on the k-th best score is found by scoring a few
of the best candidates so far exactly (their values in the other lists looked up by binary
search); once the bounds of the terms left add up below `theta`, a slot none of the terms so far
touched cannot reach the top k, so those lists are never scanned: the candidates' values in them
are looked up instead, and a candidate is dropped as soon as its score so far plus the bounds of
the terms still left falls below `theta`. On 1M BM25 documents most of a query's postings are in
its common words' lists, which this leaves unread (bench/sparse.py).

Scores are float32 sums in ascending dimension order whatever order the terms were visited in:
MaxScore's finalists (every candidate within the rounding tolerance of the k-th score) are
summed again in that order, so both methods return the same bits.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from ._segment import Segment

I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
BOOL = npt.NDArray[np.bool_]

ABSENT: Final = 0
LIVE: Final = 1
REMOVED: Final = 2

_BRUTE_FORCE_POSTINGS: Final = 150_000  # up to this many postings, scan them all
_SEARCH_STEPS_PER_PASS: Final = 4  # a binary search costs about this many reads of a list
_SEEDS_PER_HIT: Final = 3  # candidates scored exactly after each term, per hit asked for
_EPS32: Final = float(np.finfo(np.float32).eps)

# One float32 accumulator per thread (all zeros between searches), grown to the largest slot
# count seen: searches on several threads never share one.
_scratch = threading.local()

List = tuple[I64, F32]  # one run's postings of one term: (slots ascending, values)


@dataclass(frozen=True, slots=True)
class _Query:
    """The query's terms known to the index, in ascending dimension order."""

    weights: F32  # per term, IDF applied
    lists: list[list[List]]  # per term, its nonempty posting slices (one per run holding some)
    bounds: F64  # per term: the most it can add to a score (>= 0)
    extremes: F64  # per term: the largest |value| in its lists
    nonnegative: bool  # no term can lower a score (BM25-like weights): partial sums bound it
    postings: int


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
        if query.postings <= _BRUTE_FORCE_POSTINGS or len(query.lists) == 1:
            return self._brute_force(query, limit, allowed)
        return self._maxscore(query, limit, allowed)

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
        kept_weights, lists, bounds, extremes = [], [], [], []
        postings, nonnegative = 0, True
        for term, weight in zip(terms, w.tolist(), strict=True):
            slices, bound, extreme = [], 0.0, 0.0
            for run in self.runs:
                start, end = run.span(term)
                if start < end:
                    slices.append((run.slots[start:end], run.values[start:end]))
                    upper, lower = float(run.upper[term]), float(run.lower[term])
                    bound = max(bound, weight * upper, weight * lower)
                    nonnegative = nonnegative and min(weight * upper, weight * lower) >= 0
                    extreme = max(extreme, abs(upper), abs(lower))
                    postings += end - start
            if slices:
                kept_weights.append(weight)
                lists.append(slices)
                bounds.append(bound)
                extremes.append(extreme)
        if not lists:
            return None
        return _Query(
            np.asarray(kept_weights, dtype=np.float32),
            lists,
            np.asarray(bounds, dtype=np.float64),
            np.asarray(extremes, dtype=np.float64),
            nonnegative,
            postings,
        )

    def _ok(self, slots: I64, allowed: BOOL | None) -> BOOL:
        """Which of `slots` are live and allowed by the caller's filter."""
        ok: BOOL = self.state[slots] == LIVE
        if allowed is not None:
            if len(allowed) >= len(self.state):
                ok &= allowed[slots]
            else:
                inside = slots < len(allowed)
                ok &= inside
                ok[inside] &= allowed[slots[inside]]
        return ok

    def _brute_force(self, query: _Query, limit: int, allowed: BOOL | None) -> tuple[F32, I64]:
        acc = _accumulator(len(self.state))
        for weight, slices in zip(query.weights, query.lists, strict=True):
            for slots, values in slices:
                acc[slots] += values * weight
        touched = np.concatenate([slots for slices in query.lists for slots, _ in slices])
        scores = acc[touched]
        acc[touched] = 0.0
        keep = self._ok(touched, allowed)
        # a slot's vector is in one run, so a slot occurs at most once per term
        return top(scores[keep], touched[keep], limit, repeats=len(query.lists))

    def _maxscore(self, query: _Query, limit: int, allowed: BOOL | None) -> tuple[F32, I64]:
        order = np.argsort(-query.bounds, kind="stable")
        # left[i]: what the terms after the i-th (in visiting order) can add at most
        left = np.concatenate([np.cumsum(query.bounds[order][::-1])[::-1][1:], [0.0]])
        tolerance = _tolerance(query)
        acc = _accumulator(len(self.state))
        touched: list[I64] = []
        seeds = np.empty(0, dtype=np.int64)
        theta = -np.inf  # a lower bound on the k-th best score
        scanned = len(order)
        for i, term in enumerate(order.tolist()):
            weight = query.weights[term]
            for slots, values in query.lists[term]:
                acc[slots] += values * weight
                touched.append(slots)
            if i + 1 == len(order):
                break
            seeds = self._seeds(acc, seeds, query.lists[term], allowed, _SEEDS_PER_HIT * limit)
            if len(seeds) >= limit:
                scores = acc[seeds]
                if query.nonnegative:  # then scores so far bound the final ones from below
                    theta = max(theta, float(np.partition(scores, len(scores) - limit)[-limit]))
                if left[i] >= theta - tolerance:  # not enough to stop: score the seeds wholly
                    for later in order[i + 1 :].tolist():
                        scores = scores + _lookup(query.lists[later], seeds) * query.weights[later]
                    theta = max(theta, float(np.partition(scores, len(scores) - limit)[-limit]))
            if left[i] < theta - tolerance:
                scanned = i + 1
                break
        every = np.concatenate(touched)
        partial = acc[every]
        acc[every] = 0.0
        # a slot occurs once per visited term; drop what cannot make the top k, then repeats
        keep = self._ok(every, allowed)
        if scanned < len(order):
            keep &= partial + left[scanned - 1] >= theta - tolerance
        candidates, partial = every[keep], partial[keep]
        order_by_slot = np.argsort(candidates, kind="stable")
        candidates, partial = candidates[order_by_slot], partial[order_by_slot]
        first = _first_of_each(candidates)
        candidates, partial = candidates[first], partial[first]
        for i in range(scanned, len(order)):
            # the i-th term and those after it can still add left[i - 1] at most
            alive = partial + left[i - 1] >= theta - tolerance
            candidates, partial = candidates[alive], partial[alive]
            term = int(order[i])
            partial += _lookup(query.lists[term], candidates) * query.weights[term]
        if len(candidates) > limit:  # the finalists: within rounding of the k-th best
            kth = np.partition(partial, len(partial) - limit)[len(partial) - limit]
            finalists = partial >= kth - 2 * tolerance
            candidates = candidates[finalists]
        return top(_in_dimension_order(query, candidates), candidates, limit)

    def _seeds(
        self, acc: F32, seeds: I64, lists: list[List], allowed: BOOL | None, count: int
    ) -> I64:
        """The best `count` live, allowed slots by score so far, from the last seeds and the
        slots the term just visited touched: points whose exact scores bound the k-th best
        from below (any set of real points would; the best so far bound it most tightly)."""
        touched = np.concatenate([slots for slots, _ in lists])
        touched = touched[self._ok(touched, allowed)]
        pool = _distinct(np.concatenate([seeds, _best(acc, touched, count)]))
        return np.sort(_best(acc, pool, count))


def top(scores: F32, slots: I64, limit: int, repeats: int = 1) -> tuple[F32, I64]:
    """The best `limit` distinct slots, by score, then the newest (highest) slot first among
    equal scores, as Qdrant's local mode orders ties (the points written last come first). A
    slot occurs at most `repeats` times in the input, always with the same score."""
    wanted = limit * repeats
    if len(scores) > wanted:
        threshold = np.partition(scores, len(scores) - wanted)[len(scores) - wanted]
        pick = scores >= threshold  # every tie at the threshold, so the slot order decides
        scores, slots = scores[pick], slots[pick]
    if repeats > 1:
        order = np.argsort(slots, kind="stable")
        slots, scores = slots[order], scores[order]
        first = _first_of_each(slots)
        slots, scores = slots[first], scores[first]
    order = np.lexsort((-slots, -scores))[:limit]
    return scores[order], slots[order]


def no_hits() -> tuple[F32, I64]:
    return np.empty(0, dtype=np.float32), np.empty(0, dtype=np.int64)


def _accumulator(size: int, name: str = "acc") -> F32:
    acc: F32 | None = getattr(_scratch, name, None)
    if acc is None or len(acc) < size:
        acc = np.zeros(max(size, 1024), dtype=np.float32)
        setattr(_scratch, name, acc)
    return acc


def _best(acc: F32, slots: I64, count: int) -> I64:
    """The `count` of `slots` with the highest accumulated scores (all if fewer)."""
    if len(slots) <= count:
        return slots
    scores = acc[slots]
    best: I64 = slots[np.argpartition(scores, len(scores) - count)[len(scores) - count :]]
    return best


def _first_of_each(ascending: I64) -> BOOL:
    """Where each distinct value of a sorted array first occurs."""
    first = np.ones(len(ascending), dtype=np.bool_)
    first[1:] = ascending[1:] != ascending[:-1]
    return first


def _distinct(slots: I64) -> I64:
    """The distinct slots, ascending (a sort: numpy's hashing `unique` is slower here)."""
    ascending = np.sort(slots)
    out: I64 = ascending[_first_of_each(ascending)]
    return out


def _lookup(lists: list[List], slots: I64) -> F32:
    """The values at sorted `slots` in one term's posting lists (0 where a slot has none).
    Binary search for a few slots; for many, the lists are spread over a scratch array by
    slot and read back, which costs one pass over them instead of a search per slot."""
    out = np.zeros(len(slots), dtype=np.float32)
    if not len(slots):
        return out
    for list_slots, values in lists:
        if len(slots) * _SEARCH_STEPS_PER_PASS > len(list_slots):
            spread = _accumulator(max(int(slots[-1]), int(list_slots[-1])) + 1, "spread")
            spread[list_slots] = values
            out += spread[slots]
            spread[list_slots] = 0.0
            continue
        at = np.searchsorted(list_slots, slots)
        at[at == len(list_slots)] = 0
        hit = list_slots[at] == slots
        out[hit] += values[at[hit]]
    return out


def _in_dimension_order(query: _Query, slots: I64) -> F32:
    """The exact float32 scores of `slots`, summed term by term in ascending dimension order,
    as the brute force sums them."""
    scores = np.zeros(len(slots), dtype=np.float32)
    for weight, lists in zip(query.weights, query.lists, strict=True):
        scores += _lookup(lists, slots) * weight
    return scores


def _tolerance(query: _Query) -> float:
    """How far two float32 sums of the same terms in different orders can differ at most
    (twice the worst rounding of a sum of len(terms) values bounded as the terms are)."""
    magnitude = float(np.abs(query.weights).astype(np.float64) @ query.extremes)
    return 2.0 * len(query.lists) * _EPS32 * magnitude + 1e-30
