"""Query planning: plain code with no trio in it, so every decision is a unit test away.

What lives here: which plan a search takes (every segment; for a filter: nothing, exact among
the kept points, or the graph walk), what it will cost, and so where it runs (inline on the
event loop or in a worker thread: `plan_search`); when a filter's payload check is big enough
for a thread; the selection a filter makes (`Selection`) and the shape of results (`Hits`).
The actor's read side (zoro.actors.reads) runs what the planner decides.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np

from zoro.ann import Bitmap
from zoro.ann.hnsw import MIN_LIVE_SHARE_FOR_GRAPH, WIDEN_BELOW_LIVE_SHARE

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt

    from zoro.ann import PartShape
    from zoro.payload import Condition

# A filter left to check on more candidate payloads than this is checked in a worker thread.
INLINE_SCAN_SLOTS = 2_000
# A filtered search whose filter keeps at most this many points, or this share of the live ones,
# searches them exactly; past that, the graph walk. Measured on 1M x 128 (one query, one core;
# exact among the kept points vs the walk with the beam widened by 1/sqrt(share), recall@10 of
# the walk against exact): 3% kept 1.09 vs 1.45 ms (0.985); 5% 1.86 vs 1.23 ms (0.986); 10%
# 4.2 vs 1.0 ms (0.982); 20% 12.3 vs 0.8 ms (0.978). Small collections stay exact.
EXACT_FILTER_POINTS = 20_000
EXACT_FILTER_SHARE = 0.03
# Selections of the last few distinct filters, reused while nothing has been written since.
SELECTION_CACHE_SIZE = 8


class Selection:
    """The live points a filter keeps, as a mask over slots [0, len(mask)), with the forms the
    search plans want made once and kept (a repeated filter reuses them: see `SelectionCache`)."""

    __slots__ = ("_excluded", "_slots", "count", "mask")

    def __init__(self, mask: npt.NDArray[np.bool_], count: int) -> None:
        self.mask = mask
        self.count = count
        self._slots: npt.NDArray[np.int64] | None = None
        self._excluded: Bitmap | None = None

    def slots(self) -> npt.NDArray[np.int64]:
        """The kept slots, ascending."""
        if self._slots is None:
            self._slots = np.flatnonzero(self.mask)
        return self._slots

    def excluded(self, slot_count: int) -> Bitmap:
        """Every slot below `slot_count` the filter does not keep (deleted ones included)."""
        if self._excluded is None or self._excluded.capacity < slot_count:
            rejected = np.ones(slot_count, dtype=np.bool_)
            rejected[: len(self.mask)] = ~self.mask
            self._excluded = Bitmap.from_mask(rejected)
        return self._excluded


# What a selection was made at: (applied LSN, slot count, payload index version).
SelectionState = tuple[int, int, int]


class SelectionCache:
    """The selections of the last few distinct filters, each valid while the collection is in
    the state it was made at (nothing applied, no payload index swapped in since)."""

    def __init__(self, size: int = SELECTION_CACHE_SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[Condition, tuple[SelectionState, Selection]] = OrderedDict()

    def get(self, condition: Condition, state: SelectionState) -> Selection | None:
        cached = self._entries.get(condition)
        if cached is None or cached[0] != state:
            return None
        self._entries.move_to_end(condition)
        return cached[1]

    def put(self, condition: Condition, state: SelectionState, selection: Selection) -> None:
        self._entries[condition] = (state, selection)
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)


def scans_inline(candidates: int) -> bool:
    """Is a payload check over this many candidate slots cheap enough for the event loop?"""
    return candidates <= INLINE_SCAN_SLOTS


def searches_exactly(kept: int, live: int) -> bool:
    """Does a filtered search among `kept` of `live` points search them exactly (else walk)?"""
    return kept <= max(EXACT_FILTER_POINTS, EXACT_FILTER_SHARE * live)


@dataclass(frozen=True, slots=True)
class Hits:
    """Search results for m queries: row i holds query i's hits, best first."""

    scores: list[npt.NDArray[np.float32]]
    slots: list[npt.NDArray[np.int64]]


def hits_of(scores: npt.NDArray[np.float32], slots: npt.NDArray[np.int64]) -> Hits:
    """(m, k) FAISS-shaped results as Hits, with the missing (-1) places cut from each row."""
    if not slots.size or int(slots.min()) >= 0:  # the usual case: every row is full
        return Hits(list(scores), list(slots))
    rows_scores, rows_slots = [], []
    for score_row, slot_row in zip(scores, slots, strict=True):
        found = slot_row >= 0
        rows_scores.append(score_row[found])
        rows_slots.append(slot_row[found])
    return Hits(rows_scores, rows_slots)


# ------------------------------------------------------------------------------ placement
#
# Where a search runs: inline on the event loop when it is cheap, in a worker thread when it
# is not. Each search's cost is estimated before it runs, from the shape of what it will scan,
# with the model below (single queries, one core, FAISS 1.15; measured with bench/stall.py's
# calibration section and in process, on this 2-core machine at load 1-2.5). It errs on the
# dear side on purpose: a search taken for dearer than it is only pays a thread round trip.
#
# - Exact scans (flat segments, the fresh and frozen buffers, HNSW segments scanned exactly):
#   0.40-0.43 ns per point x dimension x query once the vectors do not fit in the cache
#   (200,000 x 128: 10.5-11.0 ms, modelled 11.5; 20,000 x 1,536: 12.1-12.4 ms, modelled 13.8),
#   0.19-0.23 ns when they do (50,000 and 100,000 x 128); batches of 20 or more go through BLAS
#   at 0.21-0.27 ns. Model: FLAT_NS.
# - Exact among a filter's kept points (`*_by_idx` kernels, rows read where they lie): 0.28-0.48
#   ns per kept point x dimension (1M x 128: 3% kept 1.09 ms, 20% 12.3 ms). Model: SUBSET_NS.
# - HNSW walks: about linear in the beam, plus a fixed part, and slower per step in bigger
#   graphs (cache misses). 128 dimensions, ef 16 / 128 / 1,024: 20,000 points 30-39 / 71-89 /
#   677-823 us (modelled 70 / 234 / 1,545: small graphs fit the cache); 100,000 points 76 /
#   264 / 1,279 us (modelled 82 / 272 / 1,796); 1M points, the filtered walk's beam of 572:
#   1.23 ms (modelled 1.24). Model: (beam + HNSW_FIXED_BEAM) x dimension x HNSW_NS_PER_LOG2
#   x log2(points) ns.
# - A trio thread round trip: 98-123 us median, 131-164 us p99; the event loop spends 76-99
#   us of CPU on each (start, wake, result), against 8 us for a plain checkpoint.
#
# The threshold, INLINE_SEARCH_MAX_US (ActorSettings.inline_search_max_us), from the
# crossover: 4 trio tasks running exact scans of one cost, inline or in 2 threads, beside a
# probe task that sleeps 1 ms at a time (bench/stall.py, load 1.2-1.3):
#
#     scan       inline QPS  probe p99    threads QPS  probe p99
#     102 us         7,446    1.27 ms           3,509    0.86 ms
#     237 us         3,775    2.37 ms           2,756    0.63 ms
#     454 us         2,094    3.63 ms           2,480    0.76 ms
#     1,190 us         810   10.99 ms             814    2.35 ms
#
# Below ~300 us inline serves more (the round trip costs more than it frees); from ~450 us
# threads serve as much or more and the loop answers others 4-5x sooner. 500 us keeps every
# default single HNSW query up to 1M x 128 on the loop (200,000 x 128 at ef 128: ~290 us
# modelled; 1M: ~330 us), and sends to threads an exact scan past ~8,700 x 128 points (the
# former THREAD_EXACT_POINTS of 8,000 was the same line drawn by hand), a 1,536-dimension
# walk, and batches past a few queries.
#
# Sparse searches (zoro/sparse) are priced by the postings their query's dimensions hold: the
# compiled scan reads each once, 5.5-8 ns per posting on 1M BM25 documents from bench/sparse.py
# (413,000 postings per query on average: 2.2-3.4 ms in process), without the GIL. Even so they
# serve more inline: bench/sparse_http.py, 16 connections, sparse req/s inline against in the
# collection's one low-priority search thread: 200,000 documents 451-530 against 361-367, 1M
# 196-245 against 139-177 (the thread's hop and copied view cost more than the loop gains, and
# at nice 10 it yields the core to the load generator). So only a search estimated at
# SPARSE_THREAD_FACTOR times the inline budget (20 ms by default, ~3.3M postings) goes to a
# thread, where it at least does not hold the loop for all of its length.
FLAT_NS = 0.45
SUBSET_NS = 0.5
SPARSE_NS_PER_POSTING = 6.0
SPARSE_THREAD_FACTOR = 40.0
HNSW_NS_PER_LOG2 = 0.8
HNSW_FIXED_BEAM = 32
INLINE_SEARCH_MAX_US = 500.0


class Method(StrEnum):
    NOTHING = "nothing"  # the filter keeps no point: an empty answer
    INDEX = "index"  # every segment, deleted points excluded (no filter)
    SUBSET = "subset"  # exact among the filter's kept points
    WALK = "walk"  # every segment, the filter's rejected points excluded, the beam widened


@dataclass(frozen=True, slots=True)
class SearchPlan:
    method: Method
    cost_us: float  # estimated, see the model above
    in_thread: bool
    share: float = 1.0  # WALK: the beam is widened as for a live share this small


def plan_search(
    layout: Sequence[PartShape],
    *,
    dimension: int,
    queries: int,
    k: int,
    ef: int,
    exact: bool,
    kept: int | None,
    live: int,
    inline_max_us: float = INLINE_SEARCH_MAX_US,
) -> SearchPlan:
    """How to run a search and where: `layout` is the index's segments (SegmentedIndex.layout),
    `ef` the beam asked for (the default already filled in), `kept` the filter's selection
    count (None without a filter), `live` the collection's live points."""
    share = 1.0
    if kept is None:
        method = Method.INDEX
    elif kept == 0:
        return SearchPlan(Method.NOTHING, 0.0, False)
    elif exact or searches_exactly(kept, live):
        method = Method.SUBSET
    else:
        method = Method.WALK
        # The walk returns only kept points, so it already goes on until it has found a
        # beam's worth of them; widening the beam by 1/share as for deletions overshoots
        # (recall@10 1.000 at 2-8x the cost). 1/sqrt(share) keeps recall >= 0.98 down to 10%
        # kept (bench/README.md, filtering).
        share = math.sqrt(min(1.0, kept / max(1, live)))
    if method is Method.SUBSET:
        assert kept is not None
        cost = kept * dimension * queries * SUBSET_NS / 1e3
    else:
        beam, per_dimension_ns = max(ef, k), 0.0
        for part in layout:  # a plain loop: this runs before every search
            per_dimension_ns += _part_ns(part, beam, exact, share)
        cost = per_dimension_ns * dimension * queries / 1e3
    return SearchPlan(method, cost, cost > inline_max_us, share)


def sparse_in_thread(postings: int, inline_max_us: float = INLINE_SEARCH_MAX_US) -> bool:
    """Does a sparse search whose query terms hold `postings` postings go to a thread?"""
    return postings * SPARSE_NS_PER_POSTING / 1e3 > inline_max_us * SPARSE_THREAD_FACTOR


def part_cost_us(
    part: PartShape, *, dimension: int, queries: int, k: int, ef: int, exact: bool, share: float
) -> float:
    """One segment's share of a search, as SegmentedIndex.search and the engines run it."""
    return _part_ns(part, max(ef, k), exact, share) * dimension * queries / 1e3


def _part_ns(part: PartShape, beam: int, exact: bool, share: float) -> float:
    """A segment's cost in ns per dimension of one query."""
    points = part.points
    live = math.floor((points - part.deleted) * share)  # as SegmentedIndex.search counts it
    if points <= 0 or live <= 0:
        return 0.0
    if part.kind != "hnsw":
        return points * FLAT_NS
    live_share = live / points
    if exact or live_share < MIN_LIVE_SHARE_FOR_GRAPH:
        return points * FLAT_NS  # the engine scans the segment exactly
    widened = beam / live_share if live_share < WIDEN_BELOW_LIVE_SHARE else beam
    return (widened + HNSW_FIXED_BEAM) * HNSW_NS_PER_LOG2 * math.log2(max(2, points))
