"""SparseIndex: an exact inverted index over sparse vectors, keyed by slot.

Points are slots (the collection's row numbers). A newer write of a point gets a new, higher slot
and the old one is `remove`d; a slot is added once and, once removed, never comes back. Every
slot the index holds a vector for counts as a document for IDF, the empty vector included (that is
what Qdrant's local mode counts; the empty vector simply has no postings).

Layout. Posting lists live in a few immutable runs (`_segment.Segment`, CSR by dimension), oldest
first, sizes roughly geometric: `add` builds a run from its batch alone and then merges the two
newest runs while the older is at most twice the newer, like a binary counter. A write therefore
costs O(batch log batch) now and O(log n) merges per posting over its life, and a search visits
at most about log2(n / batch) runs per query term. Removal flips the slot's state; its postings
stay until the next merge of its run (or `compact`) drops them, and searches skip them by state.

Search (exact top-k): search.py, over a `view()` of the runs: the query terms' posting lists are
added into a float32 accumulator indexed by slot, in one compiled pass without the GIL
(kernels.py). Removed slots, and those not in the caller's `allowed` mask, are never hits (so a
filter still yields up to `limit` hits). Scores are float32 sums in ascending dimension order,
as Qdrant sums its f32 weights.

Ties. Results are ordered by score, highest first, then by slot, highest (newest write) first,
the order qdrant-client's local mode gives them (Qdrant itself orders by score only).

Points that share no dimension with the query are never returned (local mode scores them -inf
and skips them); a shared dimension makes a point a match even when the score is 0 or negative.
An empty query matches nothing.

IDF (`idf=True`, Qdrant's `modifier: "idf"`): each query value is multiplied by

    idf(t) = ln(1 + (N - n(t) + 0.5) / (n(t) + 0.5))

with N the number of live slots holding this sparse vector (empty ones included) and n(t) the
number of those whose vector has dimension t. This is Qdrant's `fancy_idf` (segment crate,
query_context.rs) and qdrant-client local mode's `_compute_idf`, with local mode's corpus: live
points only. (The server counts posting-list lengths, so a deleted point stays in its statistics
until the segment is optimised; local mode drops it at once, and so does this index.)

Threads: none inside. Mutations (`add`, `remove`, `compact`) must not overlap each other or a
search through `search` / `view()`, which share the state array; the caller (the collection
actor) serialises them. A `view(copy=True)` may be searched in another thread while the index
changes: it sees the index as it was when taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from ._segment import Segment, merge
from .persist import IndexArrays, read_index, write_index
from .search import ABSENT, LIVE, REMOVED, SparseView
from .vectors import SparseBatch

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path

I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
BOOL = npt.NDArray[np.bool_]

_MERGE_RATIO: Final = 2  # merge the two newest runs while older <= ratio * newer
_SAVE_SHARE: Final = 0.25  # save again once changes reach this share of the index's size
_SAVE_MIN_CHANGES: Final = 1_000_000  # ... and at least this many (about 20,000 documents)


@dataclass(frozen=True, slots=True)
class SparseIndexStats:
    points: int  # live slots holding a vector (the IDF document count N)
    postings: int  # postings stored, removed slots' included until their run is merged
    dimensions: int  # distinct dimension ids ever seen
    segments: int  # posting runs
    slot_capacity: int  # length of the per-slot state array (highest slot seen + 1, rounded up)
    memory_bytes: int  # arrays held: runs, per-slot state, dimension map estimate


class SparseIndex:
    """Exact top-k dot-product search over sparse vectors. See the module docstring."""

    def __init__(self) -> None:
        self._dim_of: dict[int, int] = {}  # external u32 dimension -> internal id (dense)
        self._dims: list[int] = []  # internal id -> external dimension
        self._state = np.zeros(0, dtype=np.int8)  # per slot: ABSENT, LIVE or REMOVED
        self._live = 0
        self._runs: list[Segment] = []
        self._changes = 0  # postings and slots added or removed, ever
        self._changes_saved = 0  # `_changes` when the last successful save was taken
        self.covered_slots = 0  # loaded: every slot below this had been applied when saved

    # ---- writes --------------------------------------------------------------------------

    def add(self, slots: npt.ArrayLike, batch: SparseBatch) -> None:
        """Index row i of `batch` (canonical: from SparseBatch's constructors) under slots[i].

        Raises ValueError, changing nothing, if the lengths differ, a slot is negative or
        repeated, or a slot was added before (slots are never reused).
        """
        slots = np.asarray(slots, dtype=np.int64)
        if slots.ndim != 1 or len(slots) != len(batch):
            raise ValueError(f"{len(batch)} vectors but {np.size(slots)} slots")
        if not len(slots):
            return
        if int(slots.min()) < 0:
            raise ValueError("slots must not be negative")
        members = np.sort(slots)
        if np.any(members[1:] == members[:-1]):
            raise ValueError("a slot appears twice in one batch")
        self._grow(int(members[-1]) + 1)
        if np.any(self._state[members] != ABSENT):
            raise ValueError("a slot was indexed before (slots are never reused)")
        dims = self._internal_dims(batch.indices)
        posting_slots = np.repeat(slots, batch.lengths())
        run = Segment.build(dims, posting_slots, batch.values, members, len(self._dims))
        self._state[members] = LIVE
        self._live += len(members)
        self._changes += len(members) + batch.nnz
        self._runs.append(run)
        self._merge_tail()

    def remove(self, slots: npt.ArrayLike) -> int:
        """Forget these slots' vectors; slots never added, or already removed, are ignored.
        Returns how many were live."""
        gone = np.unique(np.asarray(slots, dtype=np.int64))
        gone = gone[(gone >= 0) & (gone < len(self._state))]
        gone = gone[self._state[gone] == LIVE]
        if not len(gone):
            return 0
        self._state[gone] = REMOVED
        self._live -= len(gone)
        self._changes += len(gone)
        for run in self._runs:
            run.dead_members += len(run.holds(gone))
        return len(gone)

    def compact(self) -> None:
        """Merge every run into one, dropping removed slots' postings."""
        if len(self._runs) > 1 or any(run.dead_members for run in self._runs):
            self._runs = [merge(self._runs, self._state == LIVE, len(self._dims))]

    def renumber(self, remap: I64) -> None:
        """Storage renumbered its slots (a compaction's switch): slot s is now `remap[s]` (-1:
        gone; every live slot survives). Removed slots are dropped and the index is left in
        one run; the slot order, and so every posting list's order, is unchanged."""
        self.compact()
        state = np.zeros(int(remap.max(initial=-1)) + 1, dtype=np.int8)
        runs = []
        for run in self._runs:
            members = remap[run.members]
            if len(members) and int(members.min()) < 0:
                raise ValueError("a live slot has no new number")
            state[members] = LIVE
            runs.append(Segment.from_csr(run.ptr, remap[run.slots], run.values, members))
        self._runs, self._state = runs, state
        self._changes += self._live  # the saved file numbers the old slots: save again
        self.covered_slots = 0

    def _merge_tail(self) -> None:
        runs = self._runs
        while len(runs) > 1 and _cost(runs[-2]) <= _MERGE_RATIO * _cost(runs[-1]):
            runs[-2:] = [merge(runs[-2:], self._state == LIVE, len(self._dims))]

    def _grow(self, capacity: int) -> None:
        if capacity <= len(self._state):
            return
        size = max(capacity, 2 * len(self._state), 1024)
        state = np.zeros(size, dtype=np.int8)
        state[: len(self._state)] = self._state
        self._state = state

    def _internal_dims(self, indices: npt.NDArray[np.uint32]) -> I64:
        """Internal ids for external dimension ids, new ones numbered as they come."""
        unique, inverse = np.unique(indices, return_inverse=True)
        known = self._dim_of
        ids = np.empty(len(unique), dtype=np.int64)
        for i, dim in enumerate(unique.tolist()):
            internal = known.get(dim)
            if internal is None:
                internal = known[dim] = len(self._dims)
                self._dims.append(dim)
            ids[i] = internal
        mapped: I64 = ids[inverse]
        return mapped

    # ---- files ---------------------------------------------------------------------------

    def save(self, directory: Path, horizon: int | None = None) -> Path:
        """Write directory/sparse.index now (see `saver`); `horizon` defaults to just past the
        highest slot this index has seen. Returns the file's path. Raises OSError."""
        if horizon is None:
            seen = np.flatnonzero(self._state != ABSENT)
            horizon = int(seen[-1]) + 1 if len(seen) else 0
        return self.saver(horizon)(directory)

    def saver(self, horizon: int, files: int = 0) -> Callable[[Path], Path]:
        """What the index holds now, to be written later (in a worker thread, while the index
        goes on changing) by the returned function into its directory, atomically and durably,
        compacted into one run. `horizon`: every slot below it has been applied to this index
        (the collection's slot count); a loaded index says so in `covered_slots`. `files`: the
        storage file generation the slots are numbered in (zoro.sparse.persist.file_name).
        Once the write succeeds, `unsaved_changes` counts from this moment."""
        if horizon < len(self._state) and bool(np.any(self._state[horizon:] != ABSENT)):
            raise ValueError(f"the index holds slots at or past its horizon {horizon}")
        view = self.view(copy=True)
        dims = np.asarray(self._dims, dtype=np.uint32)
        changes = self._changes

        def write(directory: Path) -> Path:
            live = view.state == LIVE
            runs = list(view.runs)
            if len(runs) > 1 or any(run.dead_members for run in runs):
                runs = [merge(runs, live, len(dims))]
            ptr = np.zeros(len(dims) + 1, dtype=np.int64)
            slots, values = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
            if runs:
                run = runs[0]
                ptr[: len(run.ptr)] = run.ptr
                ptr[len(run.ptr) :] = run.ptr[-1]
                slots, values = run.slots, run.values
            members = np.flatnonzero(live).astype(np.int64)
            arrays = IndexArrays(dims, ptr, slots, values, members, horizon)
            path = write_index(directory, arrays, files)
            self._changes_saved = max(self._changes_saved, changes)
            return path

        return write

    def unsaved_changes(self) -> int:
        """Postings and slots added or removed since the last successful save (or load)."""
        return self._changes - self._changes_saved

    def save_due(self) -> bool:
        """Whether enough changed since the last save to write the index again: a share of
        what it holds, so that saving costs a bounded multiple of the index's own size over
        its life, and not before a size whose rebuild takes a moment anyway."""
        size = sum(_cost(run) for run in self._runs)
        return self.unsaved_changes() >= max(_SAVE_MIN_CHANGES, _SAVE_SHARE * size)

    @classmethod
    def load(cls, directory: Path, files: int = 0) -> SparseIndex:
        """The index saved in `directory` for storage file generation `files`. Raises
        SparseIndexDamaged when the file is missing, damaged or of an unknown version: rebuild
        from the source rows then."""
        arrays = read_index(directory, files)
        index = cls()
        index._dims = arrays.dims.tolist()
        index._dim_of = {dim: i for i, dim in enumerate(index._dims)}
        index._state = np.zeros(arrays.horizon, dtype=np.int8)
        index._state[arrays.live] = LIVE
        index._live = len(arrays.live)
        run = Segment.from_csr(arrays.ptr, arrays.slots, arrays.values, arrays.live)
        index._runs = [run] if len(arrays.live) else []
        index.covered_slots = arrays.horizon
        return index

    # ---- reads ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._live

    def contains(self, slots: npt.ArrayLike) -> BOOL:
        """Whether each slot holds a live vector here."""
        slots = np.asarray(slots, dtype=np.int64)
        inside = (slots >= 0) & (slots < len(self._state))
        out = np.zeros(len(slots), dtype=bool)
        out[inside] = self._state[slots[inside]] == LIVE
        return out

    def document_frequency(self, indices: npt.ArrayLike) -> I64:
        """n(t): how many live slots' vectors have each dimension."""
        wanted = np.asarray(indices, dtype=np.int64)
        out = np.zeros(len(wanted), dtype=np.int64)
        view = self.view()
        for i, dim in enumerate(wanted.tolist()):
            internal = self._dim_of.get(dim)
            if internal is not None:
                out[i] = view.frequency(internal)
        return out

    def idf(self, indices: npt.ArrayLike) -> F64:
        """Qdrant's IDF of each dimension over the live slots (see the module docstring)."""
        n = float(self._live)
        df = self.document_frequency(indices).astype(np.float64)
        weights: F64 = np.log1p((n - df + 0.5) / (df + 0.5))
        return weights

    def statistics(self) -> SparseIndexStats:
        runs = sum(run.nbytes for run in self._runs)
        per_dim = 8 + 100  # list entry, and a dict entry with its int objects (estimate)
        return SparseIndexStats(
            points=self._live,
            postings=sum(run.postings for run in self._runs),
            dimensions=len(self._dims),
            segments=len(self._runs),
            slot_capacity=len(self._state),
            memory_bytes=runs + self._state.nbytes + per_dim * len(self._dims),
        )

    def search(
        self,
        indices: npt.ArrayLike,
        values: npt.ArrayLike,
        limit: int,
        *,
        allowed: BOOL | None = None,
        idf: bool = False,
    ) -> tuple[F32, I64]:
        """The best `limit` live slots by dot product with the query, best first.

        `allowed` (bool per slot; slots past its end count as not allowed) restricts the answer
        to the filter's slots, applied during the search so the answer still has up to `limit`
        hits. Returns (scores float32, slots int64). Raises SparseVectorError for a malformed
        query (row 0).
        """
        query = SparseBatch.from_arrays([0, np.size(indices)], indices, values)
        return self.view().search(query.indices, query.values, limit, allowed, idf)

    def search_batch(
        self, queries: SparseBatch, limit: int, *, allowed: BOOL | None = None, idf: bool = False
    ) -> list[tuple[F32, I64]]:
        """`search` for each row of a (canonical) batch, with one filter for all."""
        view = self.view()
        return [view.search(*queries.row(i), limit, allowed, idf) for i in range(len(queries))]

    def view(self, *, copy: bool = False) -> SparseView:
        """What a search reads, now. `copy`: a view for a worker thread, unchanged by later
        writes (the state array copied; runs are immutable and the dimension map only grows);
        without it the view shares the state, for a search on the writers' own thread."""
        state = self._state.copy() if copy else self._state
        return SparseView(tuple(self._runs), state, self._dim_of, self._live)


def _cost(run: Segment) -> int:
    return run.postings + len(run.members)


def rebuild(chunks: Iterable[tuple[npt.ArrayLike, SparseBatch]]) -> SparseIndex:
    """A fresh index from source rows: (slots, batch) chunks of the live vectors."""
    index = SparseIndex()
    for slots, batch in chunks:
        index.add(slots, batch)
    index.compact()
    return index
