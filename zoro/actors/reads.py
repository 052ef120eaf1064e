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

from typing import TYPE_CHECKING, TypeVar

import numpy as np
import trio

from zoro.actors.planner import (
    Hits,
    Method,
    Selection,
    SelectionCache,
    hits_of,
    plan_search,
    scans_inline,
    sparse_in_thread,
)
from zoro.actors.threads import SearchThreads
from zoro.ann.scores import empty_result
from zoro.ann.subset import search_subset
from zoro.errors import Overloaded, UnknownVectorName
from zoro.payload import apply_scan, prepare

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy.typing as npt

    from zoro.actors.planner import SearchPlan
    from zoro.ann import SegmentedIndex
    from zoro.multi import MultiIndex
    from zoro.payload import Condition, PayloadIndexes
    from zoro.settings import ActorSettings
    from zoro.sparse import SparseBatch, SparseIndex
    from zoro.storage import CollectionStore
    from zoro.types import VectorConfig, Vectors

T = TypeVar("T")


class Reader:
    """Selections and searches over one collection's store and index.

    `guard` raises when the collection cannot serve (closed, failed): it is called before a
    read and again after every await, so an answer never comes from a collection that failed
    while a thread worked for it.
    """

    def __init__(
        self,
        store: CollectionStore,
        indexes: dict[int, SegmentedIndex],
        sparse: dict[int, SparseIndex],
        multi: dict[int, MultiIndex],
        payload: PayloadIndexes,
        vectors: VectorConfig,
        *,
        name: str,
        settings: ActorSettings,
        search_limiter: trio.CapacityLimiter,
        guard: Callable[[], None],
    ) -> None:
        self._name = name
        self._store = store
        self._indexes = indexes  # by dense vector number
        self._sparse = sparse  # by sparse vector number
        self._multi = multi  # by multivector number
        self._vectors = vectors  # names -> numbers
        self._payload = payload
        self._limiter = search_limiter
        self._guard = guard
        self._selections = SelectionCache()
        self._inline_max_us = settings.inline_search_max_us
        self._threads_max = settings.thread_searches_max
        self._threads_busy = 0
        # this collection's own share of the threads, taken before the shared limiter's
        self._own_limiter = trio.CapacityLimiter(settings.search_threads_per_collection)
        self._threads = SearchThreads(
            name, settings.search_threads_per_collection, settings.search_thread_nice
        )

    @property
    def store(self) -> CollectionStore:
        self._guard()
        return self._store

    def _vector_mask(self, name: str) -> npt.NDArray[np.bool_]:
        """`has_vector`: does each slot carry the vector `name`?"""
        spec = self._vectors.dense.get(name) or self._vectors.sparse.get(name)
        if spec is None:
            raise UnknownVectorName(name)
        return self._store.present_mask(spec.number)

    def renumbered(self) -> None:
        """A compaction renumbered the slots: cached selections number the old ones."""
        self._selections = SelectionCache()

    async def select(self, condition: Condition, *, bounded: bool = True) -> Selection:
        """The live points that satisfy `condition`, as of the moment this returns.

        Indexed parts are answered on the event loop; payloads left to check go to a worker
        thread when there are many. Writes applied while the thread ran are accounted for
        afterwards (new slots are checked inline, dead ones dropped). `bounded`: counts
        against `thread_searches_max` (not for the commit loop's delete by filter, which
        must not be refused once logged in order)."""
        store, payload = self.store, self._payload
        state = (store.applied_lsn, store.slot_count(), payload.version)
        cached = self._selections.get(condition, state)
        if cached is not None:
            return cached
        payload.note_filter(condition)
        live = store.live_mask()
        prepared = prepare(condition, live, payload, store, self._vector_mask)
        mask = prepared.candidates
        if prepared.residual is not None:
            if scans_inline(int(np.count_nonzero(mask))):
                mask = apply_scan(prepared, store)
            else:
                mask = await self._in_thread(lambda: apply_scan(prepared, store), bounded=bounded)
                live = store.live_mask()
                if len(live) > len(mask):  # slots written while the thread ran: check them here
                    newer = live.copy()
                    newer[: len(mask)] = False
                    again = prepare(condition, newer, payload, store, self._vector_mask)
                    extra = apply_scan(again, store)
                    extra[: len(mask)] = mask
                    mask = extra
                mask &= live  # and drop the points deleted meanwhile
        selection = Selection(mask, int(np.count_nonzero(mask)))
        if state == (store.applied_lsn, store.slot_count(), payload.version):
            self._selections.put(condition, state, selection)
        return selection

    async def search(
        self,
        queries: Vectors,
        k: int,
        *,
        using: int = 0,
        ef: int | None = None,
        exact: bool = False,
        only: Selection | None = None,
    ) -> Hits:
        """Best k hits per query by dense vector `using`; `only`: a filter's selection (see
        `select`). Points lacking the vector are never hits.

        Planned first (zoro.actors.planner): a search estimated cheap runs inline on the event
        loop, an expensive one in a worker thread (see `_search_in_thread`). Raises Overloaded
        when this collection already has `thread_searches_max` searches waiting for or in
        threads and this one would be another.
        """
        index = self._indexes[using]
        if only is not None:
            only = self._carrying(only, using)
        plan = self.plan(len(queries), k, ef=ef, exact=exact, only=only, using=using)
        if plan.in_thread:
            return await self._search_in_thread(
                plan, index, using, queries, k, ef=ef, exact=exact, only=only
            )
        return self._search_inline(plan, index, using, queries, k, ef=ef, exact=exact, only=only)

    def _carrying(self, only: Selection, number: int) -> Selection:
        """`only` narrowed to the slots that carry vector `number` (an exact scan of a subset
        reads rows, and an absent vector's row is zeros, not a vector)."""
        present = self.store.present_mask(number)
        n = min(len(present), len(only.mask))
        if bool(present[:n][only.mask[:n]].all()):
            return only
        mask = only.mask.copy()
        mask[:n] &= present[:n]
        mask[n:] = False
        return Selection(mask, int(np.count_nonzero(mask)))

    async def search_sparse(
        self, number: int, query: SparseBatch, k: int, *, idf: bool, only: Selection | None
    ) -> Hits:
        """Best k hits by sparse vector `number` (exact dot product, IDF-weighted if `idf`),
        for one query (row 0 of a canonical batch). Priced by the postings its dimensions
        hold (zoro.actors.planner): a cheap one runs inline, on the index as it is between
        two applied batches; a dear one in a worker thread, on a view of the index taken now
        (runs are immutable, the per-slot state is copied), its hits whose point was deleted
        or replaced meanwhile dropped when it comes back. Raises Overloaded as `search`."""
        index = self._sparse[number]
        allowed = None if only is None else only.mask
        indices, values = query.row(0)
        view = index.view()
        if not sparse_in_thread(view.postings(indices), self._inline_max_us):
            scores, slots = view.search(indices, values, k, allowed, idf)
            return Hits([scores], [slots])
        view = index.view(copy=True)
        scores, slots = await self._in_thread(lambda: view.search(indices, values, k, allowed, idf))
        current = self.store.live_mask()[slots]
        return Hits([scores[current]], [slots[current]])

    def search_multi(
        self, number: int, query: Vectors, k: int, *, exact: bool, only: Selection | None
    ) -> Hits:
        """Best k hits by multivector `number` (MaxSim), on the event loop: the index is
        mutated by applies on this same thread. (A big collection's exact scan is slow here;
        zoro.multi's graph keeps the usual query short.)"""
        allowed = None if only is None else only.mask
        scores, slots = self._multi[number].search(query, k, allowed=allowed, exact=exact)
        return Hits([scores], [slots])

    def rescore_multi(self, number: int, query: Vectors, slots: npt.NDArray[np.int64]) -> Hits:
        """Exact MaxSim of these slots only (a prefetch's candidates), best first."""
        scores, found = self._multi[number].rescore(query, slots)
        return Hits([scores], [found])

    def plan(
        self,
        queries: int,
        k: int,
        *,
        ef: int | None,
        exact: bool,
        only: Selection | None,
        using: int = 0,
    ) -> SearchPlan:
        store, index = self.store, self._indexes[using]
        return plan_search(
            index.layout(),
            dimension=index.dimension,
            queries=queries,
            k=k,
            ef=index.settings.hnsw_ef_search if ef is None else ef,
            exact=exact,
            kept=None if only is None else only.count,
            live=store.live_count(),
            inline_max_us=self._inline_max_us,
        )

    def _search_inline(
        self,
        plan: SearchPlan,
        index: SegmentedIndex,
        using: int,
        queries: Vectors,
        k: int,
        *,
        ef: int | None,
        exact: bool,
        only: Selection | None,
    ) -> Hits:
        """On the event loop, without an await: sees the store and index between two batches."""
        store = self._store
        if plan.method is Method.INDEX:
            scores, slots = index.search(queries, k, ef=ef, exact=exact)
        elif plan.method is Method.NOTHING:
            scores, slots = empty_result(len(queries), k, index.distance)
        elif plan.method is Method.SUBSET:
            assert only is not None
            rows = store.vector_rows(using)
            scores, slots = search_subset(queries, k, rows, only.slots(), index.distance)
        else:
            assert only is not None
            excluded = only.excluded(store.slot_count())
            scores, slots = index.search(queries, k, ef=ef, excluded=excluded, share=plan.share)
        return hits_of(scores, slots)

    async def _search_in_thread(
        self,
        plan: SearchPlan,
        index: SegmentedIndex,
        using: int,
        queries: Vectors,
        k: int,
        *,
        ef: int | None,
        exact: bool,
        only: Selection | None,
    ) -> Hits:
        """In a worker thread, on data nothing mutates while it runs: the rows of the vector
        file (written once) for an exact search among kept points; otherwise a view of the
        index (sealed and frozen segments are immutable, the fresh one is snapshotted, the
        deleted bitmap copied) with, for a filter, a copy of its exclusion bitmap. Hits whose
        point was deleted or replaced while the thread ran are dropped afterwards."""
        store, distance = self._store, index.distance
        if plan.method is Method.SUBSET:
            assert only is not None
            rows, chosen = store.vector_rows(using), only.slots()
            scores, slots = await self._in_thread(
                lambda: search_subset(queries, k, rows, chosen, distance)
            )
        else:
            view = index.thread_view()
            excluded = None if only is None else only.excluded(store.slot_count()).copy()
            share = plan.share
            scores, slots = await self._in_thread(
                lambda: view.search(queries, k, ef=ef, exact=exact, excluded=excluded, share=share)
            )
        # A slot stays live only while it holds its point's current version: one vectorised
        # lookup drops the points deleted or replaced meanwhile (the row comes back short).
        live = self.store.live_mask()
        found = slots >= 0
        gone = np.zeros(slots.shape, dtype=np.bool_)
        gone[found] = ~live[slots[found]]
        if gone.any():
            slots = np.where(gone, -1, slots)
        return hits_of(scores, slots)

    async def _in_thread(self, work: Callable[[], T], *, bounded: bool = True) -> T:
        """Run `work` in a worker thread under this collection's limiter, then the shared one.

        Bounded: at most `thread_searches_max` per collection wait or run at once (Overloaded
        past that), so one collection's flood cannot queue in front of the others' for long;
        and at most `search_threads_per_collection` of them run at once, so one collection
        alone cannot take every core from the event loop.
        The work runs in this collection's own low-priority threads (zoro.actors.threads),
        reached through a trio worker thread. Not abandoned on cancellation (trio's default):
        a cancelled request still waits for its thread, which only reads; then the collection
        is checked to be serving still."""
        if bounded and self._threads_busy >= self._threads_max:
            raise Overloaded(
                f"Collection `{self._name}` has {self._threads_busy} expensive searches waiting "
                "or running; retry shortly"
            )
        self._threads_busy += 1
        try:
            async with self._own_limiter:
                self._guard()  # it may have closed while this waited for a thread
                result = await trio.to_thread.run_sync(
                    self._threads.call, work, limiter=self._limiter
                )
        finally:
            self._threads_busy -= 1
        self._guard()
        return result

    def threads_busy(self) -> int:
        return self._threads_busy

    def close(self) -> None:
        self._threads.close()
