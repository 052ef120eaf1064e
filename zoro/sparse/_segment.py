"""One immutable run of posting lists, CSR by internal dimension id.

    ptr      int64[D + 1]   postings of dimension d are positions ptr[d] .. ptr[d+1]
    slots    int64[P]       strictly increasing within each dimension
    values   float32[P]
    members  int64[M]       every slot the run holds a vector for, sorted (empty vectors too)

D is the number of dimensions known when the run was built; a dimension added later has no
postings here (`span` returns an empty range).

Merging: when the runs' slot ranges ascend (writes arrive in slot order, the usual case), each
dimension's merged list is the runs' lists one after another, so every posting's place is
computed and scattered, O(P). Otherwise one stable sort of (dimension << 32 | slot) keys.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]
BOOL = npt.NDArray[np.bool_]

_SLOT_BITS = 32  # (dimension << 32 | slot) keys while slots stay below 2**32


@dataclass(slots=True, eq=False)
class Segment:
    ptr: I64
    slots: I64
    values: F32
    members: I64
    dead_members: int = 0  # members removed since the run was built (their postings remain)

    @property
    def postings(self) -> int:
        return len(self.slots)

    @property
    def dimensions(self) -> int:
        return len(self.ptr) - 1

    @property
    def nbytes(self) -> int:
        arrays = (self.ptr, self.slots, self.values, self.members)
        return sum(a.nbytes for a in arrays)

    def span(self, dim: int) -> tuple[int, int]:
        if dim >= len(self.ptr) - 1:
            return 0, 0
        return int(self.ptr[dim]), int(self.ptr[dim + 1])

    def holds(self, slots: I64) -> I64:
        """Which of `slots` (sorted) are members of this run."""
        if not len(self.members) or not len(slots):
            return slots[:0]
        at = np.searchsorted(self.members, slots).clip(max=len(self.members) - 1)
        found: I64 = slots[self.members[at] == slots]
        return found

    @classmethod
    def build(cls, dims: I64, slots: I64, values: F32, members: I64, dimensions: int) -> Segment:
        """A run from postings in any order (each (dim, slot) once)."""
        order = _key_order(dims, slots)
        return cls.from_sorted(dims[order], slots[order], values[order], members, dimensions)

    @classmethod
    def from_sorted(
        cls, dims: I64, slots: I64, values: F32, members: I64, dimensions: int
    ) -> Segment:
        counts = np.bincount(dims, minlength=dimensions) if len(dims) else np.zeros(dimensions)
        ptr = np.zeros(dimensions + 1, dtype=np.int64)
        np.cumsum(counts, out=ptr[1:])
        return cls(
            ptr,
            np.ascontiguousarray(slots, dtype=np.int64),
            np.ascontiguousarray(values, dtype=np.float32),
            np.sort(members),
        )

    @classmethod
    def from_csr(cls, ptr: I64, slots: I64, values: F32, members: I64) -> Segment:
        """A run from arrays already in CSR order (a loaded index file)."""
        dims = np.repeat(np.arange(len(ptr) - 1, dtype=np.int64), np.diff(ptr))
        return cls.from_sorted(dims, slots, values, members, len(ptr) - 1)

    def coo(self) -> tuple[I64, I64, F32]:
        """(dims, slots, values) of every posting, in (dim, slot) order."""
        dims = np.repeat(np.arange(self.dimensions, dtype=np.int64), np.diff(self.ptr))
        return dims, self.slots, self.values


def merge(runs: list[Segment], live: BOOL, dimensions: int) -> Segment:
    """One run holding the postings and members of `runs` whose slots are still `live`
    (a bool array over slots), so removed slots' postings are dropped here and only here."""
    members = np.concatenate([run.members for run in runs])
    if _ascending(runs):
        dims, slots, values = _stacked(runs, dimensions)
    else:
        parts = [run.coo() for run in runs]
        order = _key_order(
            np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        )
        dims = np.concatenate([p[0] for p in parts])[order]
        slots = np.concatenate([p[1] for p in parts])[order]
        values = np.concatenate([p[2] for p in parts])[order]
    keep = live[slots]
    if not keep.all():
        dims, slots, values = dims[keep], slots[keep], values[keep]
    return Segment.from_sorted(dims, slots, values, members[live[members]], dimensions)


def _ascending(runs: list[Segment]) -> bool:
    """Whether every run's slots lie below the next run's (writes arrive in slot order)."""
    bounds = [(int(r.members[0]), int(r.members[-1])) for r in runs if len(r.members)]
    return all(a[1] < b[0] for a, b in itertools.pairwise(bounds))


def _stacked(runs: list[Segment], dimensions: int) -> tuple[I64, I64, F32]:
    """The runs' postings in (dim, slot) order without sorting: with ascending slot ranges,
    dimension d's merged list is run 0's list for d, then run 1's, and so on, so each posting's
    place is computed (an O(P) scatter instead of an O(P log P) sort)."""
    counts = np.zeros((len(runs), dimensions), dtype=np.int64)
    for r, run in enumerate(runs):
        counts[r, : run.dimensions] = np.diff(run.ptr)
    ptr = np.zeros(dimensions + 1, dtype=np.int64)
    np.cumsum(counts.sum(axis=0), out=ptr[1:])
    before = np.cumsum(counts, axis=0) - counts  # postings of earlier runs, per dimension
    total = int(ptr[-1])
    dims = np.repeat(np.arange(dimensions, dtype=np.int64), np.diff(ptr))
    slots = np.empty(total, dtype=np.int64)
    values = np.empty(total, dtype=np.float32)
    for r, run in enumerate(runs):
        run_dims = np.repeat(np.arange(run.dimensions, dtype=np.int64), counts[r, : run.dimensions])
        within = np.arange(run.postings, dtype=np.int64) - run.ptr[run_dims]
        places = ptr[run_dims] + before[r, run_dims] + within
        slots[places] = run.slots
        values[places] = run.values
    return dims, slots, values


def _key_order(dims: I64, slots: I64) -> I64:
    """The permutation sorting postings by (dim, slot)."""
    if not len(slots):
        return np.empty(0, dtype=np.int64)
    if int(slots.max()) < 2**_SLOT_BITS:
        keys = (dims << _SLOT_BITS) | slots
        order: I64 = np.argsort(keys, kind="stable")
        return order
    order = np.lexsort((slots, dims))
    return order
