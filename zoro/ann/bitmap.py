"""A growable bitmap over slot numbers, in the layout FAISS's IDSelectorBitmap reads.

One bit per slot, packed little-endian within each byte (bit `s & 7` of byte `s >> 3`), so the
bitmap of a collection with 100 million slots is 12.5 MB and a snapshot is one memcpy.

The bitmap also carries the FAISS objects derived from it (the "not deleted" selector and, per
engine, translated selectors and search params). They point into the bitmap's buffer, so they
live and die with it: growing the buffer (a reallocation) drops them all. Keeping them here means
a single query pays no per-call construction (about 7 µs of SWIG calls, a third of an HNSW query).
A Bitmap is used by one thread at a time: the collection's live bitmap by the event loop, each
`copy()` by whoever it was made for.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, TypeVar, cast

import numpy as np
import numpy.typing as npt

from zoro.ann import _faiss

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")
I64 = npt.NDArray[np.int64]


class Bitmap:
    """A set of slot numbers (non-negative int64) as a packed bit array."""

    __slots__ = ("__weakref__", "_bits", "_derived", "_selector")

    def __init__(self, capacity: int = 0) -> None:
        self._bits = np.zeros(max(8, (capacity + 7) // 8), dtype=np.uint8)
        self._selector: _faiss.Selector | None = None
        # engine -> {key: object}; weak so a dropped engine does not stay alive through here
        self._derived: weakref.WeakKeyDictionary[object, dict[object, object]] = (
            weakref.WeakKeyDictionary()
        )

    @classmethod
    def from_mask(cls, mask: npt.NDArray[np.bool_]) -> Bitmap:
        """The slots where `mask` is true (one packbits call)."""
        bitmap = cls()
        bits = np.packbits(mask, bitorder="little")
        if len(bits) >= 8:
            bitmap._bits = bits
        else:
            bitmap._bits[: len(bits)] = bits
        return bitmap

    @property
    def capacity(self) -> int:
        """Slots below this have a bit in the buffer (slots above are simply not set)."""
        return len(self._bits) * 8

    def nbytes(self) -> int:
        return int(self._bits.nbytes)

    def set(self, slots: I64) -> None:
        slots = _as_slots(slots)
        if len(slots) == 0:
            return
        self._reserve(int(slots.max()) + 1)
        np.bitwise_or.at(self._bits, slots >> 3, _masks(slots))

    def clear(self, slots: I64) -> None:
        slots = _as_slots(slots)
        slots = slots[slots < self.capacity]
        if len(slots):
            np.bitwise_and.at(self._bits, slots >> 3, ~_masks(slots))

    def test(self, slots: I64) -> npt.NDArray[np.bool_]:
        """For each slot: is it in the set?"""
        slots = _as_slots(slots)
        out = np.zeros(len(slots), dtype=np.bool_)
        inside = slots < self.capacity
        s = slots[inside]
        out[inside] = (self._bits[s >> 3] >> (s & 7).astype(np.uint8)) & 1
        return out

    def __contains__(self, slot: int) -> bool:
        return 0 <= slot < self.capacity and bool((self._bits[slot >> 3] >> (slot & 7)) & 1)

    def count(self) -> int:
        return int(np.unpackbits(self._bits).sum())

    def copy(self) -> Bitmap:
        """A snapshot: later changes to either bitmap do not show in the other."""
        other = Bitmap()
        other._bits = self._bits.copy()
        return other

    # --- FAISS objects derived from the buffer ---------------------------------------------------

    def selector(self) -> _faiss.Selector:
        """A FAISS selector that keeps the ids NOT in this bitmap (the live ones)."""
        if self._selector is None:
            self._selector = _faiss.not_in_bitmap(self._bits)
        return self._selector

    def derived(self, owner: object, key: object, make: Callable[[], T]) -> T:
        """`make()` once per (owner, key) for as long as the buffer stays where it is.

        Callers store objects that point into this bitmap's buffer (e.g. search params built on
        `selector()`); the cache is dropped whenever the buffer is reallocated.
        """
        per_owner = self._derived.get(owner)
        if per_owner is None:
            per_owner = self._derived[owner] = {}
        found = per_owner.get(key)
        if found is None:
            found = per_owner[key] = make()
        return cast("T", found)  # the caller's key decides the type

    def _reserve(self, nbits: int) -> None:
        if nbits <= self.capacity:
            return
        grown = np.zeros(max((nbits + 7) // 8, 2 * len(self._bits)), dtype=np.uint8)
        grown[: len(self._bits)] = self._bits
        self._bits = grown
        # Everything derived points at the old buffer: drop it (FAISS objects keep the old
        # buffer alive until they go, so nothing dangles meanwhile).
        self._selector = None
        self._derived = weakref.WeakKeyDictionary()


def _as_slots(slots: I64) -> I64:
    arr = np.asarray(slots, dtype=np.int64).reshape(-1)
    if len(arr) and int(arr.min()) < 0:
        raise ValueError("slot numbers must be non-negative")
    return arr


def _masks(slots: I64) -> npt.NDArray[np.uint8]:
    return np.asarray(np.left_shift(1, slots & 7), dtype=np.uint8)
