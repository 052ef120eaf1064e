"""Where MultiIndex keeps the rows: blocks of documents laid out back to back.

A block holds whole documents (a document's rows are never split), at most `block_rows` rows
(a document longer than that gets a block of its own). Per row it keeps the owning slot, or -1
once the document is removed; per document its slot (-1 once removed) and its first row. Only
the newest block (the tail) grows, by doubling up to `block_rows`; older blocks never move, so
growth copies at most one block, memory overshoots by at most one block, and a graph job may
keep reading a block's rows from another thread while new documents arrive.

Removal only marks rows dead; when more than a fraction of a block is dead the block is
compacted into a new array of exactly its live rows (the old array stays valid for whoever
still holds it, such as a running graph job).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

_FIRST_DOCS: Final = 16


class Block:
    __slots__ = ("bid", "dead_rows", "doc_slots", "doc_starts", "n", "ndocs", "row_slot", "rows")

    def __init__(self, bid: int, capacity: int, dimension: int) -> None:
        self.bid = bid
        self.rows: F32 = np.empty((capacity, dimension), dtype=np.float32)
        self.row_slot: I64 = np.empty(capacity, dtype=np.int64)
        self.n = 0  # rows used
        self.doc_slots: I64 = np.empty(_FIRST_DOCS, dtype=np.int64)
        self.doc_starts: I64 = np.empty(_FIRST_DOCS, dtype=np.int64)
        self.ndocs = 0
        self.dead_rows = 0

    @property
    def capacity(self) -> int:
        return len(self.rows)

    def memory_bytes(self) -> int:
        return self.rows.nbytes + self.row_slot.nbytes + self.doc_slots.nbytes * 2

    def grow(self, capacity: int) -> None:
        rows = np.empty((capacity, self.rows.shape[1]), dtype=np.float32)
        rows[: self.n] = self.rows[: self.n]
        row_slot = np.empty(capacity, dtype=np.int64)
        row_slot[: self.n] = self.row_slot[: self.n]
        self.rows, self.row_slot = rows, row_slot

    def place(self, slots: I64, counts: I64, rows: F32) -> tuple[I64, I64, F32]:
        """Append documents (which must fit); return their first rows, their document numbers
        in this block, and the view of the rows just written."""
        total = len(rows)
        end = self.n + total
        assert end <= self.capacity
        starts = self.n + np.concatenate(([0], np.cumsum(counts[:-1]))).astype(np.int64)
        self.rows[self.n : end] = rows
        self.row_slot[self.n : end] = np.repeat(slots, counts)
        self._ensure_docs(self.ndocs + len(slots))
        docs = np.arange(self.ndocs, self.ndocs + len(slots), dtype=np.int64)
        self.doc_slots[docs] = slots
        self.doc_starts[docs] = starts
        self.ndocs += len(slots)
        written = self.rows[self.n : end]
        self.n = end
        return starts, docs, written

    def kill(self, doc: int, start: int, count: int) -> None:
        self.doc_slots[doc] = -1
        self.row_slot[start : start + count] = -1
        self.dead_rows += count

    def doc_counts(self) -> I64:
        starts = self.doc_starts[: self.ndocs]
        counts: I64 = np.diff(starts, append=self.n)
        return counts

    def live_docs(self) -> I64:
        """Document numbers still live, in row order."""
        return np.flatnonzero(self.doc_slots[: self.ndocs] >= 0)

    def compact(self) -> tuple[I64, I64]:
        """Rewrite this block with its live rows only, in new arrays of exactly that size.
        Returns (slots, new first rows) of the live documents, whose document numbers become
        0, 1, 2... in that order."""
        live = self.live_docs()
        counts = self.doc_counts()[live]
        slots = self.doc_slots[live].copy()
        keep = self.row_slot[: self.n] >= 0
        self.rows = np.ascontiguousarray(self.rows[: self.n][keep])
        self.row_slot = self.row_slot[: self.n][keep].copy()
        self.n = len(self.rows)
        starts = np.zeros(len(live), dtype=np.int64)
        np.cumsum(counts[:-1], out=starts[1:])
        self.doc_slots = slots.copy()
        self.doc_starts = starts.copy()
        self.ndocs = len(live)
        self.dead_rows = 0
        return slots, starts

    def _ensure_docs(self, n: int) -> None:
        if n <= len(self.doc_slots):
            return
        size = max(n, 2 * len(self.doc_slots))
        for name in ("doc_slots", "doc_starts"):
            old: I64 = getattr(self, name)
            new = np.empty(size, dtype=np.int64)
            new[: self.ndocs] = old[: self.ndocs]
            setattr(self, name, new)


def gather(blocks: dict[int, Block], where: I64, starts: I64, counts: I64) -> tuple[F32, I64]:
    """The rows of documents (block id, first row, row count) copied back to back, and each
    document's first row in the result (the layout scoring.totals takes)."""
    out_starts = np.zeros(len(where), dtype=np.int64)
    np.cumsum(counts[:-1], out=out_starts[1:])
    total = int(counts.sum())
    dimension = next(iter(blocks.values())).rows.shape[1] if blocks else 0
    out = np.empty((total, dimension), dtype=np.float32)
    for bid in np.unique(where).tolist():
        mine = np.flatnonzero(where == bid)
        rows_in = _ranges(starts[mine], counts[mine])
        rows_out = _ranges(out_starts[mine], counts[mine])
        out[rows_out] = blocks[bid].rows[rows_in]
    return out, out_starts


def _ranges(starts: I64, counts: I64) -> I64:
    """starts[i] .. starts[i] + counts[i] for every i, concatenated."""
    total = int(counts.sum())
    shift = np.repeat(starts - (np.cumsum(counts) - counts), counts)
    out: I64 = np.arange(total, dtype=np.int64) + shift
    return out
