"""Query planning: plain code with no trio in it, so every decision is a unit test away.

What lives here: which plan a filtered search takes (no candidates, exact among the kept points,
or the graph walk), when a filter's payload check or an exact search among kept points is big
enough for a worker thread, the selection a filter makes (`Selection`) and the shape of search
results (`Hits`). The actor's read side (zoro.actors.reads) runs what the planner decides.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from zoro.ann import Bitmap

if TYPE_CHECKING:
    import numpy.typing as npt

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
# An exact search among more kept points than this runs in a worker thread: the vectors it
# reads never change and FAISS lets go of the GIL, so the event loop serves other requests and
# the second core does the work (50,000 points of 128 dimensions: ~5 ms).
THREAD_EXACT_POINTS = 8_000
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


def exact_in_thread(kept: int) -> bool:
    """Does an exact search among `kept` points go to a worker thread?"""
    return kept > THREAD_EXACT_POINTS


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
