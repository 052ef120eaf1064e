"""The point index in memory: key -> current slot, as two sorted runs searched with numpy.

`main` is the big run loaded from the generation file; `delta` holds keys first seen since the
last merge, and `young` the newest of those. A key is in at most one run. New keys go into the
small young run, which costs O(young) per batch; every `_YOUNG_MAX` new keys it folds into the
delta, which costs O(delta) but only that rarely. (Inserting every batch straight into a delta
of up to `index_delta_max` keys copied up to 2 MB per one-point write.) Once the delta (plus
deleted entries) passes `index_delta_max` the store merges it into main with one vectorised
insert. A deleted key keeps its entry with slot -1 until
that merge drops it, so a delete is an in-place write and lookups need no third structure.

Every operation takes whole key arrays: a binary search (`np.searchsorted`) of the batch over the
run's u64 probes (see _keys), ties settled on the 'S17' keys, never a Python loop per point.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, TypeVar

import numpy as np

from zoro.types import KEY_DTYPE, KIND_UUID, full_key

from . import _keys

if TYPE_CHECKING:
    import numpy.typing as npt

    from zoro.types import Keys

T = TypeVar("T", bound=np.generic)

_NO_SLOT: Final = -1
_FIRST_UUID: Final = np.array(bytes([KIND_UUID]), dtype=KEY_DTYPE)  # below every UUID key
# Rounds of settling UUID probe ties one step at a time before falling back to a search on the
# keys themselves (random UUIDs practically never share their first 8 bytes; crafted ones may).
_TIE_ROUNDS: Final = 4
# New keys the young run holds before it folds into the delta: small enough that inserting into
# it is cheap, big enough that the fold's copy of the delta is rare.
_YOUNG_MAX: Final = 1024

_Positions = tuple["npt.NDArray[np.intp]", "npt.NDArray[np.bool_]"]


class _Run:
    """Sorted unique keys, their probes and slots (-1 = deleted since the last merge).

    The first `n_int` keys are integer ids (probes strictly ascending), the rest UUIDs.
    """

    __slots__ = ("keys", "n_int", "probes", "slots")

    def __init__(
        self, keys: Keys, slots: npt.NDArray[np.int64], probes: npt.NDArray[np.uint64] | None
    ) -> None:
        self.keys = keys
        self.slots = slots
        if probes is None:
            probes, is_int = _keys.probes(keys)
            self.n_int = int(np.count_nonzero(is_int))
        else:
            self.n_int = int(np.searchsorted(keys, _FIRST_UUID))
        self.probes = probes

    @classmethod
    def empty(cls) -> _Run:
        return cls(np.empty(0, KEY_DTYPE), np.empty(0, np.int64), np.empty(0, np.uint64))

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def nbytes(self) -> int:
        return int(self.keys.nbytes + self.slots.nbytes + self.probes.nbytes)

    def find(
        self, keys: Keys, probes: npt.NDArray[np.uint64], is_int: npt.NDArray[np.bool_]
    ) -> _Positions:
        """Insertion position of each key (its lower bound), and whether the key is there."""
        if bool(is_int.all()):  # the common case: integer ids only, no index juggling
            return self._find_ints(probes)
        pos = np.empty(len(keys), dtype=np.intp)
        found = np.empty(len(keys), dtype=np.bool_)
        ints, uuids = np.flatnonzero(is_int), np.flatnonzero(~is_int)
        pos[ints], found[ints] = self._find_ints(probes[ints])
        pos[uuids], found[uuids] = self._find_uuids(keys[uuids], probes[uuids])
        return pos, found

    def _find_ints(self, probes: npt.NDArray[np.uint64]) -> _Positions:
        region = self.probes[: self.n_int]  # integer ids: probe == id, unique and ascending
        pos = np.searchsorted(region, probes)
        found = pos < len(region)
        found[found] = region[pos[found]] == probes[found]
        return pos, found

    def _find_uuids(self, keys: Keys, probes: npt.NDArray[np.uint64]) -> _Positions:
        pos = np.searchsorted(self.probes[self.n_int :], probes) + self.n_int
        # pos is the first UUID with an equal or greater probe; step over tied smaller keys
        active = np.arange(len(keys))
        for _ in range(_TIE_ROUNDS):
            active = active[pos[active] < len(self)]
            at = pos[active]
            active = active[(self.probes[at] == probes[active]) & (self.keys[at] < keys[active])]
            if not len(active):
                break
            pos[active] += 1
        else:
            pos[active] = np.searchsorted(self.keys, keys[active])
        found = pos < len(self)
        found[found] = self.keys[pos[found]] == keys[found]
        return pos, found

    def insert(
        self,
        at: npt.NDArray[np.intp],
        keys: Keys,
        probes: npt.NDArray[np.uint64],
        slots: npt.NDArray[np.int64],
    ) -> _Run:
        """A new run with sorted `keys` inserted at positions `at` (from `find`).

        One placement mask serves all three columns (np.insert would rebuild it per column).
        """
        new_at = at + np.arange(len(at))  # where each new entry lands in the result
        old = np.ones(len(self) + len(at), dtype=np.bool_)
        old[new_at] = False
        return _Run(
            _placed(self.keys, keys, old, new_at),
            _placed(self.slots, slots, old, new_at),
            _placed(self.probes, probes, old, new_at),
        )

    def live_from(self, start: bytes | None, want: int) -> Keys:
        """Up to `want` keys >= start with a live slot, ascending."""
        begin = 0 if start is None else int(np.searchsorted(self.keys, np.array(start, KEY_DTYPE)))
        window = want
        while True:  # windows grow past runs of deleted entries
            end = min(len(self), begin + window)
            live = self.keys[begin:end][self.slots[begin:end] >= 0]
            if len(live) >= want or end == len(self):
                return live[:want]
            window *= 2


def _folded(into: _Run, run: _Run) -> _Run:
    """A new run holding both runs' entries (their keys are disjoint); neither is changed."""
    if not len(run):
        return into
    at, _ = into.find(run.keys, run.probes, _keys.probes(run.keys)[1])
    return into.insert(at, run.keys, run.probes, run.slots)


def _placed(
    column: npt.NDArray[T],
    new: npt.NDArray[T],
    old: npt.NDArray[np.bool_],
    new_at: npt.NDArray[np.intp],
) -> npt.NDArray[T]:
    out = np.empty(len(old), dtype=column.dtype)
    out[old] = column
    out[new_at] = new
    return out


class PointIndex:
    """Sorted main run + sorted delta run. One writer; see `merged` for the checkpoint thread."""

    def __init__(
        self,
        keys: Keys,
        slots: npt.NDArray[np.int64],
        probes: npt.NDArray[np.uint64] | None = None,
    ) -> None:
        self._main = _Run(keys, slots, probes)
        self._delta = _Run.empty()
        self._young = _Run.empty()
        self._tombstones = int(np.count_nonzero(slots < 0))

    @property
    def delta_size(self) -> int:
        return len(self._delta) + len(self._young)

    @property
    def tombstones(self) -> int:
        return self._tombstones

    @property
    def nbytes(self) -> int:
        return self._main.nbytes + self._delta.nbytes + self._young.nbytes

    def lookup(self, keys: Keys) -> npt.NDArray[np.int64]:
        """Current slot of each key (any order, repeats allowed); -1 if absent or deleted."""
        probes, is_int = _keys.probes(keys)
        out = np.full(len(keys), _NO_SLOT, dtype=np.int64)
        pos, found = self._main.find(keys, probes, is_int)
        out[found] = self._main.slots[pos[found]]
        rest = np.flatnonzero(~found)
        for run in (self._delta, self._young):
            if not len(rest) or not len(run):
                continue
            pos, found = run.find(keys[rest], probes[rest], is_int[rest])
            out[rest[found]] = run.slots[pos[found]]
            rest = rest[~found]
        return out

    def upsert(self, keys: Keys, slots: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Point each key at its new slot; return the previous slots (-1: none or deleted).

        `keys` must be sorted and unique (the store dedupes each batch), so the keys new to the
        index go into the delta with one np.insert and it stays sorted.
        """
        probes, is_int = _keys.probes(keys)
        old = np.full(len(keys), _NO_SLOT, dtype=np.int64)
        pos, found = self._main.find(keys, probes, is_int)
        old[found] = self._main.slots[pos[found]]
        self._main.slots[pos[found]] = slots[found]
        replaced = [old[found]]
        rest = np.flatnonzero(~found)
        if len(rest) and len(self._delta):
            pos, found = self._delta.find(keys[rest], probes[rest], is_int[rest])
            hit = rest[found]
            old[hit] = self._delta.slots[pos[found]]
            self._delta.slots[pos[found]] = slots[hit]
            replaced.append(old[hit])
            rest = rest[~found]
        if len(rest):
            young = self._young
            pos, found = young.find(keys[rest], probes[rest], is_int[rest])
            hit = rest[found]
            old[hit] = young.slots[pos[found]]
            young.slots[pos[found]] = slots[hit]
            replaced.append(old[hit])
            new = rest[~found]
            self._young = young.insert(pos[~found], keys[new], probes[new], slots[new])
            if len(self._young) > _YOUNG_MAX:
                self._delta, self._young = _folded(self._delta, self._young), _Run.empty()
        # entries that were deleted (slot -1) and now point at a slot again
        self._tombstones -= sum(int(np.count_nonzero(r < 0)) for r in replaced)
        return old

    def delete(self, keys: Keys) -> npt.NDArray[np.int64]:
        """Mark each key deleted; return the slots that were live (-1 where none). Keys unique."""
        probes, is_int = _keys.probes(keys)
        old = np.full(len(keys), _NO_SLOT, dtype=np.int64)
        pos, found = self._main.find(keys, probes, is_int)
        old[found] = self._main.slots[pos[found]]
        self._main.slots[pos[found]] = _NO_SLOT
        rest = np.flatnonzero(~found)
        for run in (self._delta, self._young):
            if not len(rest) or not len(run):
                continue
            pos, found = run.find(keys[rest], probes[rest], is_int[rest])
            old[rest[found]] = run.slots[pos[found]]
            run.slots[pos[found]] = _NO_SLOT
            rest = rest[~found]
        self._tombstones += int(np.count_nonzero(old >= 0))
        return old

    def needs_merge(self, delta_max: int) -> bool:
        return self.delta_size + self._tombstones > delta_max

    def merged(self) -> PointIndex:
        """A new index with the delta merged into main and deleted keys dropped.

        Builds new arrays and leaves this index untouched, so a checkpoint thread can merge while
        readers keep using the old object until the store swaps the reference.
        """
        main = self._main
        both = _folded(main, _folded(self._delta, self._young))
        if both is main:  # nothing to fold: still new arrays, never shared with this index
            both = _Run(main.keys.copy(), main.slots.copy(), main.probes.copy())
        if not self._tombstones:
            return PointIndex(both.keys, both.slots, both.probes)
        live = both.slots >= 0
        return PointIndex(both.keys[live], both.slots[live], both.probes[live])

    def main_arrays(self) -> tuple[Keys, npt.NDArray[np.int64]]:
        """(keys, slots) of the main run; after `merged()` that is the whole live index."""
        return self._main.keys, self._main.slots

    def scroll(self, start: bytes | None, limit: int) -> tuple[Keys, bytes | None]:
        """Live keys >= start, ascending, at most `limit`, and the key that comes next."""
        main = self._main.live_from(start, limit + 1)
        delta = [run.live_from(start, limit + 1) for run in (self._delta, self._young) if len(run)]
        both = np.sort(np.concatenate([main, *delta])) if delta else main
        if len(both) <= limit:
            return both, None
        return both[:limit], full_key(both[limit])
