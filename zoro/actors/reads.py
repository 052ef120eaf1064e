"""The actor's read side: filter selections and searches, run where the planner says.

Reads do not go through the mailbox: they mutate nothing, so they run beside the commit loop
and never queue behind writes or an fsync. What runs inline runs on the event loop without an
await, so it sees the store and the index between two applied batches, never inside one. What
runs in a worker thread reads only data that does not change under it (rows of the vector
file, which are written once; the index's immutable segments and copies, see
`SegmentedIndex.thread_view`; the selection's own arrays), and its answer is checked against the
writes applied meanwhile when it comes back, on the event loop.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import trio

from zoro.actors.planner import (
    Selection,
    SelectionCache,
    exact_in_thread,
    hits_of,
    scans_inline,
    searches_exactly,
)
from zoro.ann.scores import empty_result
from zoro.ann.subset import search_subset
from zoro.payload import apply_scan, prepare

if TYPE_CHECKING:
    from collections.abc import Callable

    from zoro.actors.planner import Hits
    from zoro.ann import SegmentedIndex
    from zoro.payload import Condition, PayloadIndexes
    from zoro.storage import CollectionStore
    from zoro.types import Distance, Vectors


class Reader:
    """Selections and searches over one collection's store and index.

    `guard` raises when the collection cannot serve (closed, failed): it is called before a
    read and again after every await, so an answer never comes from a collection that failed
    while a thread worked for it.
    """

    def __init__(
        self,
        store: CollectionStore,
        index: SegmentedIndex,
        payload: PayloadIndexes,
        distance: Distance,
        *,
        search_limiter: trio.CapacityLimiter,
        guard: Callable[[], None],
    ) -> None:
        self._store = store
        self._index = index
        self._payload = payload
        self._distance = distance
        self._limiter = search_limiter
        self._guard = guard
        self._selections = SelectionCache()

    @property
    def store(self) -> CollectionStore:
        self._guard()
        return self._store

    async def select(self, condition: Condition) -> Selection:
        """The live points that satisfy `condition`, as of the moment this returns.

        Indexed parts are answered on the event loop; payloads left to check go to a worker
        thread when there are many. Writes applied while the thread ran are accounted for
        afterwards (new slots are checked inline, dead ones dropped)."""
        store, payload = self.store, self._payload
        state = (store.applied_lsn, store.slot_count(), payload.version)
        cached = self._selections.get(condition, state)
        if cached is not None:
            return cached
        payload.note_filter(condition)
        live = store.live_mask()
        prepared = prepare(condition, live, payload, store)
        mask = prepared.candidates
        if prepared.residual is not None:
            if scans_inline(int(np.count_nonzero(mask))):
                mask = apply_scan(prepared, store)
            else:
                mask = await trio.to_thread.run_sync(
                    apply_scan, prepared, store, limiter=self._limiter
                )
                self._guard()
                live = store.live_mask()
                if len(live) > len(mask):  # slots written while the thread ran: check them here
                    newer = live.copy()
                    newer[: len(mask)] = False
                    extra = apply_scan(prepare(condition, newer, payload, store), store)
                    extra[: len(mask)] = mask
                    mask = extra
                mask &= live  # and drop the points deleted meanwhile
        selection = Selection(mask, int(np.count_nonzero(mask)))
        if state == (store.applied_lsn, store.slot_count(), payload.version):
            self._selections.put(condition, state, selection)
        return selection

    def search(
        self,
        queries: Vectors,
        k: int,
        *,
        ef: int | None = None,
        exact: bool = False,
        only: Selection | None = None,
    ) -> Hits:
        """Search inline on the event loop (for one or a few queries); `only`: a filter's
        selection (see `select`)."""
        self._guard()
        if only is None:
            scores, slots = self._index.search(queries, k, ef=ef, exact=exact)
            return hits_of(scores, slots)
        store = self.store
        if only.count == 0:
            scores, slots = empty_result(len(queries), k, self._distance)
        elif exact or searches_exactly(only.count, store.live_count()):
            rows = store.vector_rows()
            scores, slots = search_subset(queries, k, rows, only.slots(), self._distance)
        else:
            live = max(1, store.live_count())
            # The walk returns only kept points, so it already goes on until it has found a
            # beam's worth of them; widening the beam by 1/share as for deletions overshoots
            # (recall@10 1.000 at 2-8x the cost). 1/sqrt(share) keeps recall >= 0.98 down to 10%
            # kept (bench/README.md, filtering).
            scores, slots = self._index.search(
                queries,
                k,
                ef=ef,
                excluded=only.excluded(store.slot_count()),
                share=math.sqrt(min(1.0, only.count / live)),
            )
        return hits_of(scores, slots)

    async def search_filtered(
        self,
        queries: Vectors,
        k: int,
        only: Selection,
        *,
        ef: int | None = None,
        exact: bool = False,
    ) -> Hits:
        """`search` with a filter's selection; a big exact search goes to a worker thread.

        The thread reads only the kept slots' rows of the vector file (written once, never
        changed) and the selection's own arrays. Points deleted meanwhile are dropped after."""
        exactly = exact or searches_exactly(only.count, self.store.live_count())
        if not exact_in_thread(only.count) or not exactly:
            return self.search(queries, k, ef=ef, exact=exact, only=only)
        rows, chosen = self.store.vector_rows(), only.slots()
        scores, slots = await trio.to_thread.run_sync(
            search_subset, queries, k, rows, chosen, self._distance, limiter=self._limiter
        )
        live = self.store.live_mask()
        found = slots >= 0
        gone = np.zeros(slots.shape, dtype=np.bool_)
        gone[found] = ~live[slots[found]]
        if gone.any():  # deleted while the thread ran: drop them (the row comes back short)
            slots = np.where(gone, -1, slots)
        return hits_of(scores, slots)

    async def search_in_thread(
        self, queries: Vectors, k: int, *, ef: int | None = None, exact: bool = False
    ) -> Hits:
        """Search a big batch in a worker thread over an immutable view of the index.

        Points deleted while the thread ran are dropped from its answer afterwards.
        """
        self._guard()
        view = self._index.thread_view()
        scores, slots = await trio.to_thread.run_sync(
            lambda: view.search(queries, k, ef=ef, exact=exact), limiter=self._limiter
        )
        # A hit is still good if its point's current slot is the slot found (one vectorised
        # lookup for the whole batch); otherwise it was deleted or replaced meanwhile.
        found = slots >= 0
        store = self.store
        current = np.full(slots.shape, -1, dtype=np.int64)
        current[found] = store.slots_of(store.keys_of_slots(slots[found]))
        stale = found & (current != slots)
        if stale.any():
            slots = np.where(stale, -1, slots)
        return hits_of(scores, slots)
