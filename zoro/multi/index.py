"""MultiIndex: the live documents' matrices, searched by MaxSim (zoro/multi/scoring.py).

Two ways to answer a query, same scores:

- **exact**: every eligible document is scored (one BLAS product of the query against each
  block of rows, a per-document maximum, a sum). Used for `exact=True`, while no graph has
  been built, for selective filters (few eligible rows), and as the last resort.
- **graph**: an HNSW graph (FAISS, 8-bit codes) over the sub-vectors of the documents that
  existed when it was built proposes, for each query row, its nearest sub-vectors; their
  documents are then scored exactly on the float32 rows. Documents added since the build
  (the fresh blocks) are scored exactly beside them. If fewer than k eligible documents come
  back while more exist, the candidate count is widened (x4, twice), then exact search runs.

A flat FAISS search over all sub-vectors would be a candidate generator too, but it is the same
matrix product as exact MaxSim (plus a heap per query row and a re-scoring), so it cannot be
cheaper than exact search; bench/multivector.py measures that, and only the graph is built.

Memory: the float32 rows once (in blocks, zoro/multi/_blocks.py: at most one block of spare
room, and at most `compact_dead_fraction` of any block dead before it is compacted), one int64
slot per row, a few int64 per document and per slot; the graph adds its neighbour lists, a
quarter of the raw size for its 8-bit codes and one int64 per sub-vector.
`statistics()` reports it.

Threads: all methods belong to one owner (the collection actor). `search` and `rescore` only
read (besides a cache of the live slots, which two searches may both fill, harmlessly), so
several may run at once in worker threads, but never beside `add`, `remove` or
`install_graph`. Exact search costs rows x query rows x dimension multiply-adds (about 100 ms
for 640,000 rows of 128 against 16 query rows on one core): beyond a few thousand rows it
belongs in a worker thread, like any scan. A graph is built in three steps so that the slow
one runs in a worker thread while the owner keeps applying writes: `job =
index.prepare_graph()` (owner), `job.run()` (any thread, blocking), `index.install_graph(job)`
(owner).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from zoro.errors import DimensionMismatch
from zoro.multi import _faiss, matrix, scoring
from zoro.multi._blocks import Block, gather
from zoro.types import Distance

if TYPE_CHECKING:
    from collections.abc import Collection

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

_TRAIN_ROWS: Final = 65_536
_WIDENINGS: Final = 2


@dataclass(frozen=True, slots=True)
class MultiSettings:
    """Knobs of one MultiIndex (defaults measured in bench/multivector.py)."""

    block_bytes: int = 16 << 20  # a block holds up to this many bytes of rows
    first_block_rows: int = 256  # a small collection starts small
    compact_dead_fraction: float = 0.125  # compact a block once this much of it is dead
    graph_m: int = 16
    graph_ef_construct: int = 40
    graph_ef_search: int = 64
    candidates_per_row: int = 64  # graph neighbours per query row (at least k)
    exact_filtered_rows: int = 32_768  # a filter leaving fewer rows than this: exact search
    graph_min_rows: int = 65_536  # `wants_graph` below this many fresh rows: exact is cheap


@dataclass(frozen=True, slots=True)
class MultiStats:
    documents: int
    rows: int  # live sub-vectors
    blocks: int
    fresh_rows: int  # rows not covered by the graph (all of them while there is none)
    graph_rows: int  # sub-vectors in the graph, dead ones included
    graph_dead_rows: int
    raw_bytes: int  # live rows x dimension x 4: the float32 payload itself
    memory_bytes: int  # rows, maps and tables (without the graph)
    graph_bytes: int  # neighbour lists, 8-bit codes and the label -> slot map


class GraphJob:
    """An HNSW build over the blocks that existed at `prepare_graph`. `run` only reads arrays
    that the index no longer writes (sealed blocks; the slots were copied), so it may run in
    a worker thread while the owner adds and removes documents."""

    def __init__(
        self,
        dimension: int,
        distance: Distance,
        settings: MultiSettings,
        parts: list[tuple[F32, I64]],
        block_ids: frozenset[int],
        numbering: int = 0,
    ) -> None:
        self.block_ids = block_ids
        self.numbering = numbering  # the index's slot numbering when prepared (see renumber)
        self._dimension = dimension
        self._distance = distance
        self._settings = settings
        self._parts = parts
        self.index: Any = None
        self.label_slot: I64 = np.empty(0, dtype=np.int64)

    def run(self) -> None:
        """Train the 8-bit codes on a sample and build the graph. Blocking (seconds to minutes;
        FAISS uses its OpenMP threads); call from a worker thread."""
        rows = [r for r, _ in self._parts]
        index = _faiss.new_graph(
            self._dimension,
            self._distance,
            m=self._settings.graph_m,
            ef_construct=self._settings.graph_ef_construct,
        )
        _faiss.train(index, _sample(rows, _TRAIN_ROWS, self._dimension))
        labels: list[I64] = []
        for part_rows, part_slots in self._parts:
            live = part_slots >= 0
            _faiss.add(index, part_rows[live])
            labels.append(part_slots[live])
        self.label_slot = np.concatenate(labels) if labels else np.empty(0, dtype=np.int64)
        self.index = index
        self._parts = []


@dataclass(slots=True)
class _Graph:
    index: Any
    label_slot: I64
    covered: frozenset[int]
    dead_rows: int


class MultiIndex:
    """Multivectors of one named vector, by slot. See the module docstring."""

    def __init__(
        self, dimension: int, distance: Distance, settings: MultiSettings | None = None
    ) -> None:
        if dimension <= 0:
            raise ValueError(f"dimension must be positive, got {dimension}")
        self.dimension = dimension
        self.distance = distance
        self.settings = settings or MultiSettings()
        self._block_rows = max(1, self.settings.block_bytes // (4 * dimension))
        self._numbering = 0  # bumped by renumber: a graph job prepared before is stale
        self._clear()

    def _clear(self) -> None:
        """No documents, no graph."""
        self._blocks: dict[int, Block] = {}
        self._next_bid = 0
        self._tail: Block | None = None
        # per slot: block id (-1: absent), first row, row count, document number in the block
        self._block_of = np.full(0, -1, dtype=np.int64)
        self._start_of = np.zeros(0, dtype=np.int64)
        self._count_of = np.zeros(0, dtype=np.int64)
        self._doc_of = np.zeros(0, dtype=np.int64)
        self._documents = 0
        self._rows = 0
        self._live: I64 | None = None  # cache of the live slots, sorted
        self._graph: _Graph | None = None

    # --- writes ------------------------------------------------------------------------------

    def add(self, slots: npt.ArrayLike, counts: npt.ArrayLike, rows: npt.ArrayLike) -> None:
        """Add one matrix per slot: counts[i] rows of `rows` (in order) belong to slots[i].
        A slot already present is replaced. For Cosine the rows are stored normalised.

        Raises DimensionMismatch for rows of another width, ValueError for inconsistent
        counts, negative or repeated slots. Nothing changes when it raises.
        """
        slot_arr, count_arr, data = self._check_batch(slots, counts, rows)
        if not len(slot_arr):
            return
        self.remove(slot_arr[self._present(slot_arr)])
        self._ensure_slots(int(slot_arr.max()) + 1)
        offsets = np.zeros(len(slot_arr) + 1, dtype=np.int64)
        np.cumsum(count_arr, out=offsets[1:])
        i = 0
        while i < len(slot_arr):
            tail = self._tail_for(int(count_arr[i]), int(offsets[-1] - offsets[i]))
            room = tail.capacity - tail.n
            j = int(np.searchsorted(offsets, offsets[i] + room, side="right")) - 1
            j = max(j, i + 1)
            part = slot_arr[i:j]
            starts, docs, written = tail.place(part, count_arr[i:j], data[offsets[i] : offsets[j]])
            if self.distance is Distance.COSINE:
                matrix.normalise(written)
            self._block_of[part] = tail.bid
            self._start_of[part] = starts
            self._count_of[part] = count_arr[i:j]
            self._doc_of[part] = docs
            i = j
        self._documents += len(slot_arr)
        self._rows += len(data)
        self._live = None

    def renumber(self, remap: I64) -> None:
        """Storage renumbered its slots (a compaction's switch): slot s is now `remap[s]` (-1:
        gone; every live slot survives). The live documents are copied into fresh blocks in
        the new numbering (one pass over their rows, in slot order); the graph is dropped, and
        a graph job prepared before is not installed: the builder makes a new one."""
        slots = np.flatnonzero(self._block_of >= 0).astype(np.int64)
        new = remap[slots]
        if len(new) and int(new.min()) < 0:
            raise ValueError("a live slot has no new number")
        matrices = [self.rows_of(int(s)) for s in slots.tolist()]
        self._clear()
        self._numbering += 1
        kept = [m for m in matrices if m is not None]
        if kept:
            counts = np.array([len(m) for m in kept], dtype=np.int64)
            self.add(new, counts, np.concatenate(kept))

    def remove(self, slots: npt.ArrayLike) -> int:
        """Drop these slots (absent ones are ignored). Returns how many were present."""
        slot_arr = np.unique(np.asarray(slots, dtype=np.int64).reshape(-1))
        slot_arr = slot_arr[self._present(slot_arr)]
        touched: set[int] = set()
        graph = self._graph
        for slot in slot_arr.tolist():
            bid, count = int(self._block_of[slot]), int(self._count_of[slot])
            self._blocks[bid].kill(int(self._doc_of[slot]), int(self._start_of[slot]), count)
            if graph is not None and bid in graph.covered:
                graph.dead_rows += count
            self._rows -= count
            touched.add(bid)
        self._block_of[slot_arr] = -1
        self._count_of[slot_arr] = 0
        self._documents -= len(slot_arr)
        for bid in touched:
            self._maybe_compact(self._blocks[bid])
        if len(slot_arr):
            self._live = None
        return len(slot_arr)

    # --- reads -------------------------------------------------------------------------------

    def search(
        self,
        query: npt.ArrayLike,
        k: int,
        *,
        allowed: Mask | None = None,
        exact: bool = False,
    ) -> tuple[F32, I64]:
        """The k best documents for the query matrix by MaxSim: (scores, slots), best first,
        fewer than k when fewer are eligible. `allowed` (a bool per slot; slots past its end
        count as not allowed) restricts the search; k allowed documents come back whenever
        that many exist, on every path.

        Raises DimensionMismatch for a query of another width, MultivectorError for an empty
        or non-finite query, ValueError for a negative k.
        """
        q = self.check_query(query)
        if k < 0:
            raise ValueError(f"k must not be negative, got {k}")
        eligible = self._live_slots()
        if allowed is not None:
            eligible = eligible[allowed_at(allowed, eligible)]
        if k == 0 or not len(eligible):
            return np.empty(0, dtype=np.float32), np.empty(0, dtype=np.int64)
        few = allowed is not None and int(self._count_of[eligible].sum()) <= (
            self.settings.exact_filtered_rows
        )
        if exact or self._graph is None or few or len(eligible) <= k:
            total, slots = self._exact(q, allowed)
        else:
            total, slots = self._approximate(q, k, allowed, len(eligible))
        total, slots = scoring.top_k(total, slots, k)
        return scoring.to_scores(self.distance, total), slots

    def rescore(
        self, query: npt.ArrayLike, slots: npt.ArrayLike, k: int | None = None
    ) -> tuple[F32, I64]:
        """Exact MaxSim of these slots only (candidates from elsewhere, such as a prefetch):
        (scores, slots) best first, the k best (all when None); absent slots are left out.
        Raises as `search` does."""
        q = self.check_query(query)
        wanted = np.unique(np.asarray(slots, dtype=np.int64).reshape(-1))
        wanted = wanted[self._present(wanted)]
        if k is not None and k < 0:
            raise ValueError(f"k must not be negative, got {k}")
        limit = len(wanted) if k is None else k
        total, found = scoring.top_k(self._rescore(q, wanted), wanted, limit)
        return scoring.to_scores(self.distance, total), found

    def check_query(self, query: npt.ArrayLike) -> F32:
        """The query as C-contiguous float32 rows of this width (normalised for Cosine)."""
        arr = np.asarray(query, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != self.dimension:
            raise DimensionMismatch(
                f"expected a query matrix of rows of size {self.dimension}, got shape {arr.shape}"
            )
        return matrix.finish(arr, self.distance, field="query")

    def rows_of(self, slot: int) -> F32 | None:
        """A copy of a slot's matrix as stored (normalised for Cosine), or None if absent."""
        if not 0 <= slot < len(self._block_of) or self._block_of[slot] < 0:
            return None
        start, count = int(self._start_of[slot]), int(self._count_of[slot])
        return self._blocks[int(self._block_of[slot])].rows[start : start + count].copy()

    def __len__(self) -> int:
        return self._documents

    def __contains__(self, slot: int) -> bool:
        return 0 <= slot < len(self._count_of) and bool(self._count_of[slot] > 0)

    def statistics(self) -> MultiStats:
        graph = self._graph
        covered = graph.covered if graph is not None else frozenset()
        fresh = sum(b.n - b.dead_rows for b in self._blocks.values() if b.bid not in covered)
        tables = sum(t.nbytes for t in (self._block_of, self._start_of, self._count_of))
        tables += self._doc_of.nbytes
        return MultiStats(
            documents=self._documents,
            rows=self._rows,
            blocks=len(self._blocks),
            fresh_rows=fresh,
            graph_rows=_faiss.size(graph.index) if graph is not None else 0,
            graph_dead_rows=graph.dead_rows if graph is not None else 0,
            raw_bytes=self._rows * self.dimension * 4,
            memory_bytes=sum(b.memory_bytes() for b in self._blocks.values()) + tables,
            graph_bytes=(
                _faiss.graph_bytes(graph.index) + graph.label_slot.nbytes
                if graph is not None
                else 0
            ),
        )

    # --- the graph ---------------------------------------------------------------------------

    @property
    def graph_supported(self) -> bool:
        return self.distance in _faiss.GRAPH_METRICS

    def wants_graph(self) -> bool:
        """Advice for the owner: worth (re)building a graph now? (many rows outside the
        graph, or a quarter of the graph's sub-vectors dead)."""
        if not self.graph_supported:
            return False
        stats = self.statistics()
        if stats.fresh_rows >= self.settings.graph_min_rows:
            return True
        return stats.graph_rows > 0 and 4 * stats.graph_dead_rows > stats.graph_rows

    def prepare_graph(self) -> GraphJob:
        """Seal the current blocks for a graph build (later documents go to new blocks).
        Raises ValueError for Manhattan, which has no graph."""
        if not self.graph_supported:
            raise ValueError(f"no graph for {self.distance.value}: its searches stay exact")
        self._seal_tail()
        parts = [(b.rows[: b.n], b.row_slot[: b.n].copy()) for b in self._blocks.values()]
        return GraphJob(
            self.dimension,
            self.distance,
            self.settings,
            parts,
            frozenset(self._blocks),
            self._numbering,
        )

    def install_graph(self, job: GraphJob) -> bool:
        """Use a built graph from now on (replacing any previous one); False (and nothing
        changes) for a job prepared before a renumber."""
        if job.index is None:
            raise ValueError("the graph job has not run")
        if job.numbering != self._numbering:
            return False
        covered = job.block_ids
        current = self._block_of[job.label_slot] if len(job.label_slot) else job.label_slot
        in_place = np.isin(current, np.fromiter(covered, dtype=np.int64, count=len(covered)))
        self._graph = _Graph(job.index, job.label_slot, covered, int((~in_place).sum()))
        return True

    def build_graph(self) -> None:
        """prepare_graph, run and install_graph in a row (blocking; tests and tools)."""
        job = self.prepare_graph()
        job.run()
        self.install_graph(job)

    def drop_graph(self) -> None:
        self._graph = None

    # --- internals ---------------------------------------------------------------------------

    def _exact(self, q: F32, allowed: Mask | None) -> tuple[F64, I64]:
        totals: list[F64] = []
        slots: list[I64] = []
        for block in self._blocks.values():
            t, s = self._block_totals(block, q, allowed)
            totals.append(t)
            slots.append(s)
        return _joined(totals, slots)

    def _block_totals(self, block: Block, q: F32, allowed: Mask | None) -> tuple[F64, I64]:
        """Exact totals of the block's eligible documents. When they hold under half of its
        rows they are copied out first; otherwise the whole block is scored."""
        docs = block.live_docs()
        slots = block.doc_slots[docs]
        if allowed is not None:
            keep = allowed_at(allowed, slots)
            docs, slots = docs[keep], slots[keep]
        if not len(docs):
            return np.empty(0, dtype=np.float64), slots
        counts = block.doc_counts()
        if 2 * int(counts[docs].sum()) < block.n:
            where = np.full(len(docs), block.bid, dtype=np.int64)
            rows, starts = gather(self._blocks, where, block.doc_starts[docs], counts[docs])
            return scoring.totals(self.distance, q, rows, starts), slots
        every = scoring.totals(
            self.distance, q, block.rows[: block.n], block.doc_starts[: block.ndocs]
        )
        return every[docs], slots

    def _approximate(self, q: F32, k: int, allowed: Mask | None, eligible: int) -> tuple[F64, I64]:
        graph = self._graph
        assert graph is not None
        fresh = [b for b in self._blocks.values() if b.bid not in graph.covered]
        parts = [self._block_totals(b, q, allowed) for b in fresh]
        fresh_total, fresh_slots = _joined([t for t, _ in parts], [s for _, s in parts])
        label_mask = self._label_mask(graph, allowed)
        want = max(self.settings.candidates_per_row, k)
        for _ in range(_WIDENINGS + 1):
            labels = _faiss.search(
                graph.index, q, want, ef=self.settings.graph_ef_search, allowed=label_mask
            )
            found = np.unique(graph.label_slot[labels[labels >= 0]])
            found = found[self._in_blocks(found, graph.covered)]
            if allowed is not None:
                found = found[allowed_at(allowed, found)]
            total = np.concatenate([fresh_total, self._rescore(q, found)])
            slots = np.concatenate([fresh_slots, found])
            if len(slots) >= min(k, eligible):
                return total, slots
            want *= 4
        return self._exact(q, allowed)

    def _label_mask(self, graph: _Graph, allowed: Mask | None) -> Mask | None:
        """Which graph labels may be returned: None (all) when nothing was removed from the
        graph's blocks and there is no filter."""
        if allowed is None and graph.dead_rows == 0:
            return None
        mask = self._in_blocks(graph.label_slot, graph.covered)
        if allowed is not None:
            mask &= allowed_at(allowed, graph.label_slot)
        return mask

    def _in_blocks(self, slots: I64, covered: Collection[int]) -> Mask:
        """Slots present and held by one of the `covered` blocks."""
        where = self._block_of[slots]
        ids = np.fromiter(covered, dtype=np.int64, count=len(covered))
        out: Mask = np.isin(where, ids)
        return out

    def _rescore(self, q: F32, slots: I64) -> F64:
        if not len(slots):
            return np.empty(0, dtype=np.float64)
        rows, starts = gather(
            self._blocks, self._block_of[slots], self._start_of[slots], self._count_of[slots]
        )
        return scoring.totals(self.distance, q, rows, starts)

    def _live_slots(self) -> I64:
        if self._live is None:
            self._live = np.flatnonzero(self._count_of > 0).astype(np.int64)
        return self._live

    def _present(self, slots: I64) -> Mask:
        inside = (slots >= 0) & (slots < len(self._count_of))
        out = np.zeros(len(slots), dtype=bool)
        out[inside] = self._count_of[slots[inside]] > 0
        return out

    def _ensure_slots(self, n: int) -> None:
        if n <= len(self._block_of):
            return
        size = max(n, 2 * len(self._block_of), 1024)
        grown = len(self._block_of)
        for name, fill in (("_block_of", -1), ("_start_of", 0), ("_count_of", 0), ("_doc_of", 0)):
            new = np.full(size, fill, dtype=np.int64)
            new[:grown] = getattr(self, name)
            setattr(self, name, new)

    def _tail_for(self, need: int, remaining: int) -> Block:
        """A tail block with room for `need` more rows (`remaining`: rows still to place)."""
        tail = self._tail
        if tail is not None:
            if tail.n + need <= tail.capacity:
                return tail
            if tail.n + need <= self._block_rows:
                wanted = max(tail.n + need, 2 * tail.capacity, tail.n + remaining)
                tail.grow(min(self._block_rows, wanted))
                return tail
            self._seal_tail()
        wanted = max(self.settings.first_block_rows, remaining)
        block = Block(self._next_bid, max(need, min(self._block_rows, wanted)), self.dimension)
        self._next_bid += 1
        self._blocks[block.bid] = block
        self._tail = block
        return block

    def _seal_tail(self) -> None:
        """Stop appending to the tail; give back its spare room if that is more than an eighth."""
        tail, self._tail = self._tail, None
        if tail is not None and 8 * (tail.capacity - tail.n) > tail.capacity:
            tail.grow(tail.n)

    def _maybe_compact(self, block: Block) -> None:
        if block.dead_rows == 0:
            return
        if block.dead_rows == block.n:
            del self._blocks[block.bid]
            if self._tail is block:
                self._tail = None
            return
        if block.dead_rows <= self.settings.compact_dead_fraction * block.n:
            return
        slots, starts = block.compact()
        self._start_of[slots] = starts
        self._doc_of[slots] = np.arange(len(slots), dtype=np.int64)

    def _check_batch(
        self, slots: npt.ArrayLike, counts: npt.ArrayLike, rows: npt.ArrayLike
    ) -> tuple[I64, I64, F32]:
        slot_arr = np.asarray(slots, dtype=np.int64).reshape(-1)
        count_arr = np.asarray(counts, dtype=np.int64).reshape(-1)
        data = np.ascontiguousarray(rows, dtype=np.float32)
        if data.ndim != 2 or data.shape[1] != self.dimension:
            raise DimensionMismatch(
                f"expected rows of size {self.dimension}, got an array of shape {data.shape}"
            )
        if len(slot_arr) != len(count_arr):
            raise ValueError(f"{len(slot_arr)} slots for {len(count_arr)} row counts")
        if len(count_arr) and int(count_arr.min()) < 1:
            raise ValueError("every multivector needs at least one row")
        if int(count_arr.sum()) != len(data):
            raise ValueError(f"row counts add up to {int(count_arr.sum())}, got {len(data)} rows")
        if len(slot_arr) and int(slot_arr.min()) < 0:
            raise ValueError("slot numbers must be non-negative")
        if len(np.unique(slot_arr)) != len(slot_arr):
            raise ValueError("a slot appears twice in one batch")
        if not np.isfinite(data).all():
            raise ValueError("rows must be finite")
        return slot_arr, count_arr, data


def allowed_at(allowed: Mask, slots: I64) -> Mask:
    """allowed[slots], with slots past the end of `allowed` not allowed."""
    out = np.zeros(len(slots), dtype=bool)
    inside = slots < len(allowed)
    out[inside] = allowed[slots[inside]]
    return out


def _joined(totals: list[F64], slots: list[I64]) -> tuple[F64, I64]:
    if not totals:
        return np.empty(0, dtype=np.float64), np.empty(0, dtype=np.int64)
    return np.concatenate(totals), np.concatenate(slots)


def _sample(parts: list[F32], limit: int, dimension: int) -> F32:
    """Up to `limit` rows spread evenly over `parts` (for training the 8-bit codes)."""
    total = sum(len(p) for p in parts)
    if total == 0:
        return np.zeros((1, dimension), dtype=np.float32)
    step = max(1, total // limit)
    return np.concatenate([p[::step] for p in parts])[:limit]
