"""One payload index: the values at one key path, mapped to the slots that hold them.

Two shapes serve the six schemas:

* `KeywordIndex` (keyword, uuid, bool): value -> posting list of slots. A match reads only the
  postings of its targets, so a selective match costs what it returns.
* `NumericIndex` (integer, float, datetime): (value, slot) pairs sorted by value, plus a short
  unsorted tail of recent additions; a range is two binary searches and a scan of the tail.

Slots only ever grow (every upsert writes a new slot), so the structures only append. A slot
that dies (deleted or replaced) stays in the postings; callers AND the answer with the store's
live flags, and a rebuild (at open, or `compacted`) drops the dead ones.

An index answers a condition exactly. It indexes the values of its kind; a slot that also holds
values of another kind that could match what the index answers (an integer under a keyword
index, a string under an integer index) is listed in `others`, and the caller checks those slots
by scanning their payloads. With uniform data `others` is empty.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Final

import numpy as np
import numpy.typing as npt

from zoro.payload.conditions import KeyPath, Match, Range, number_of, timestamp

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from zoro.payload.conditions import Condition

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

SCHEMAS: Final = ("keyword", "integer", "float", "bool", "uuid", "datetime")
# The tail of a numeric index is merged into the sorted run when it grows past this share of it.
_TAIL_SHARE: Final = 0.125
_TAIL_MIN: Final = 65_536
_NANS: Final = array("d", [math.nan])
_EXACT_FLOAT_INT: Final = 2**53  # integers up to this are exact as float64


def _as_array(values: array[int]) -> I64:
    return np.array(values, dtype=np.int64) if len(values) else np.empty(0, dtype=np.int64)


def _kept_at(slots: I64, keep: Mask) -> Mask:
    """For each slot: is it below len(keep) and set in keep?"""
    inside = slots < len(keep)
    out = np.zeros(len(slots), dtype=np.bool_)
    out[inside] = keep[slots[inside]]
    return out


def _kept(slots: I64, keep: Mask) -> I64:
    return slots[_kept_at(slots, keep)]


@dataclass(frozen=True, slots=True)
class FacetEntries:
    """An index's values and its (value, slot) pairs as flat arrays: `values[codes[i]]` is held
    by `slots[i]`, each pair once (dead slots included: callers mask them out). `totals`: the
    pairs of each value. `by_slot`: the pairs are in slot order."""

    values: list[Any]
    codes: I64
    slots: I64
    totals: I64
    by_slot: bool


class FieldIndex:
    """What every index keeps besides its values: the key, which slots hold indexed values,
    and which slots hold values of other kinds (to be scanned)."""

    schema: ClassVar[str]

    def __init__(self, key: KeyPath) -> None:
        self.key = key
        self.entries = 0  # (value, slot) pairs held, dead slots included
        self._holders = array("q")  # slots with at least one indexed value, ascending
        self._others = array("q")  # slots with values of another kind that could match

    def answers(self, condition: Condition) -> bool:
        raise NotImplementedError

    def mask(self, condition: Condition, n: int) -> Mask:
        """Slots (< n) whose indexed values satisfy `condition` (dead ones included)."""
        raise NotImplementedError

    def estimate(self, condition: Condition) -> int:
        """How many entries answering `condition` touches (an upper bound on its points)."""
        return self.entries

    def facet_entries(self) -> FacetEntries | None:
        """Every (value, slot) pair for counting values (see FacetEntries); None when this
        kind of index does not facet (float, datetime). Copies, safe to read in a thread."""
        return None

    def narrows_only(self, condition: Condition) -> bool:
        """Is this index's mask for `condition` only a superset of the answer (every candidate
        to be checked on its payload)? Then it narrows a `must`, and the condition stays."""
        return False

    def doubtful(self, condition: Condition, found: Mask) -> I64:
        """A few slots set in `found` (this index's mask for `condition`) that may not satisfy
        it after all, to be checked on their payloads. Exact indexes have none."""
        return np.empty(0, dtype=np.int64)

    def _take(self, value: Any) -> Any:
        """The indexed form of one payload value, or None when this index does not hold it."""
        raise NotImplementedError

    def _could_match(self, value: Any) -> bool:
        """Could an unindexed value still satisfy a condition this index answers?"""
        raise NotImplementedError

    def _store(self, slot: int, values: list[Any]) -> None:
        raise NotImplementedError

    def add(self, slots: Sequence[int], payloads: Sequence[dict[str, Any]]) -> None:
        """Index these new slots (ascending, all above any slot added before)."""
        values_at = self.key.values
        for slot, payload in zip(slots, payloads, strict=True):
            taken, other = [], False
            for value in values_at(payload):
                if value is None:
                    continue
                form = self._take(value)
                if form is None:
                    other = other or self._could_match(value)
                else:
                    taken.append(form)
            if taken:
                self._holders.append(slot)
                self._store(slot, taken)
                self.entries += len(taken)
            if other:
                self._others.append(slot)

    def holders(self) -> I64:
        return _as_array(self._holders)

    def others(self) -> I64:
        return _as_array(self._others)

    def memory_bytes(self) -> int:
        raise NotImplementedError

    # --- persistence: plain arrays, cut at a slot limit --------------------------------------

    def arrays(self, keep: Mask) -> dict[str, npt.NDArray[Any]]:
        """Everything for the slots set in `keep` (live slots below a limit), as arrays.

        Copies: safe to write from a thread. Dead slots are left out, so a saved index is
        compact; loading it gives an index without the garbage the live one carried."""
        return {"holders": _kept(self.holders(), keep), "others": _kept(self.others(), keep)}

    def load_arrays(self, data: dict[str, npt.NDArray[Any]]) -> None:
        self._holders = array("q", data["holders"].astype(np.int64).tobytes())
        self._others = array("q", data["others"].astype(np.int64).tobytes())


def _by_slot(slots: I64, codes: I64) -> tuple[I64, I64]:
    """(slot, code) pairs put in slot order. When no slot repeats (one value per point, the
    usual case) a scatter over the slots' range does it in linear time; otherwise a sort."""
    if not len(slots):
        return slots, codes
    low = int(slots.min())
    column = np.full(int(slots.max()) - low + 1, -1, dtype=np.int64)
    column[slots - low] = codes
    held = np.flatnonzero(column >= 0)
    if len(held) == len(slots):
        return held + low, column[held]
    order = np.argsort(slots, kind="stable")
    return slots[order], codes[order]


@dataclass(frozen=True, slots=True)
class _FacetCache:
    """An index's facet pairs as they were when it held `seen` entries (for a keyword index,
    with each posting's length then)."""

    entries: FacetEntries
    seen: int
    lengths: list[int]


class KeywordIndex(FieldIndex):
    """keyword / uuid: strings; bool: true and false. Value -> posting list (array of slots)."""

    schema = "keyword"
    _kind: ClassVar[type] = str

    def __init__(self, key: KeyPath) -> None:
        super().__init__(key)
        self._postings: dict[Any, array[int]] = {}
        self._facets: _FacetCache | None = None

    def answers(self, condition: Condition) -> bool:
        return isinstance(condition, Match)

    def _take(self, value: Any) -> Any:
        return value if type(value) is self._kind else None

    def _could_match(self, value: Any) -> bool:
        return True  # `except` holds for any value not listed: a float, an object, an array

    def _store(self, slot: int, values: list[Any]) -> None:
        postings = self._postings
        for value in set(values) if len(values) > 1 else values:
            posting = postings.get(value)
            if posting is None:
                posting = postings[value] = array("q")
            posting.append(slot)

    def mask(self, condition: Condition, n: int) -> Mask:
        assert isinstance(condition, Match)
        out = np.zeros(n, dtype=np.bool_)
        values = condition.targets if condition.mode != "except" else self._postings.keys()
        for value in values:
            if type(value) is not self._kind:  # True == 1 as a dict key: look up kinds apart
                continue
            posting = self._postings.get(value)
            if posting and condition.holds(value):
                out[np.frombuffer(posting, dtype=np.int64)] = True
        return out

    def estimate(self, condition: Condition) -> int:
        if not isinstance(condition, Match) or condition.mode == "except":
            return self.entries
        return sum(len(self._postings.get(v, ())) for v in condition.targets)

    def value_count(self) -> int:
        return len(self._postings)

    def facet_entries(self) -> FacetEntries:
        """In slot order, kept up to date incrementally: slots only grow and every posting
        appends in slot order, so the pairs added since the last call all lie beyond the ones
        before; only they are read (each posting's tail) and sorted."""
        cached = self._facets
        if cached is not None and cached.seen == self.entries:
            return cached.entries
        before = cached.lengths if cached is not None else []
        new_slots, new_codes, lengths = [], [], []
        for code, posting in enumerate(self._postings.values()):
            start = before[code] if code < len(before) else 0
            lengths.append(len(posting))
            if len(posting) > start:
                new_slots.append(np.frombuffer(posting[start:], dtype=np.int64))  # a copy
                new_codes.append(np.full(len(posting) - start, code, dtype=np.int64))
        values = list(self._postings)
        empty = np.empty(0, dtype=np.int64)
        tail_slots, tail_codes = _by_slot(
            np.concatenate(new_slots) if new_slots else empty,
            np.concatenate(new_codes) if new_codes else empty,
        )
        old = cached.entries if cached is not None else FacetEntries([], empty, empty, empty, True)
        totals = np.bincount(tail_codes, minlength=len(values))
        totals[: len(old.totals)] += old.totals
        entries = FacetEntries(
            values,
            np.concatenate([old.codes, tail_codes]),
            np.concatenate([old.slots, tail_slots]),
            totals,
            True,
        )
        self._facets = _FacetCache(entries, self.entries, lengths)
        return entries

    def memory_bytes(self) -> int:
        postings = sum(p.buffer_info()[1] * p.itemsize + 64 for p in self._postings.values())
        keys = sum(len(str(v)) + 50 for v in self._postings)
        return postings + keys + 8 * (len(self._holders) + len(self._others))

    def arrays(self, keep: Mask) -> dict[str, npt.NDArray[Any]]:
        values, counts, slots = [], [], []
        for value, posting in self._postings.items():
            held = _kept(np.frombuffer(posting, dtype=np.int64), keep)
            if len(held):
                values.append(value)
                counts.append(len(held))
                slots.append(held)
        out = super().arrays(keep)
        out["values"] = np.array(values, dtype=object if self._kind is str else np.bool_)
        out["counts"] = np.array(counts, dtype=np.int64)
        out["slots"] = np.concatenate(slots) if slots else np.empty(0, dtype=np.int64)
        return out

    def load_arrays(self, data: dict[str, npt.NDArray[Any]]) -> None:
        super().load_arrays(data)
        slots = data["slots"].astype(np.int64)
        ends = np.cumsum(data["counts"])
        self._postings = {}
        start = 0
        for value, end in zip(data["values"].tolist(), ends.tolist(), strict=True):
            self._postings[self._kind(value)] = array("q", slots[start:end].tobytes())
            start = end
        self.entries = len(slots)


class UuidIndex(KeywordIndex):
    schema = "uuid"


class BoolIndex(KeywordIndex):
    schema = "bool"
    _kind = bool


class NumericIndex(FieldIndex):
    """integer / float / datetime: a sorted run of (value, slot) and an unsorted tail, plus a
    column of each slot's value (NaN: none, or several).

    A narrow range reads the sorted run (two binary searches). A wide one would set hundreds of
    thousands of scattered mask entries from it; while no slot holds several values, one
    vectorised compare over the column does the same in a sequential pass (1M slots: ~1 ms
    against ~8 ms for half of them from the run).
    """

    schema = "float"
    _dtype: ClassVar[type] = np.float64
    _code: ClassVar[str] = "d"

    def __init__(self, key: KeyPath) -> None:
        super().__init__(key)
        self._values: npt.NDArray[Any] = np.empty(0, dtype=self._dtype)
        self._slots: I64 = np.empty(0, dtype=np.int64)
        self._tail_values = array(self._code)
        self._tail_slots = array("q")
        self._column = array("d")  # slot -> its one value as a float; NaN for none or several
        self._multi = False  # does any slot hold several values?
        self._big = False  # does any value lose precision as a float64 (integer index)?

    def answers(self, condition: Condition) -> bool:
        return isinstance(condition, Range) and not condition.datetime

    def _take(self, value: Any) -> Any:
        number = number_of(value)
        if type(number) is int and abs(number) > _EXACT_FLOAT_INT:
            return None  # a float64 would round it: scanned instead (see _could_match)
        return number

    def _could_match(self, value: Any) -> bool:
        return type(value) is int  # only integers too big for a float64 go unindexed

    def _store(self, slot: int, values: list[Any]) -> None:
        for value in values:
            self._tail_values.append(value)
            self._tail_slots.append(slot)
        column = self._column
        if len(column) < slot:
            column.extend(
                _NANS * (slot - len(column))
                if slot - len(column) <= 1024
                else array("d", np.full(slot - len(column), np.nan).tobytes())
            )
        column.append(float(values[0]) if len(values) == 1 else math.nan)
        if len(values) > 1:
            self._multi = True
        if len(self._tail_slots) > max(_TAIL_MIN, _TAIL_SHARE * len(self._slots)):
            self._merge_tail()

    def _merge_tail(self) -> None:
        values = np.concatenate([self._values, np.array(self._tail_values, dtype=self._dtype)])
        slots = np.concatenate([self._slots, _as_array(self._tail_slots)])
        order = np.argsort(values, kind="stable")
        self._values, self._slots = values[order], slots[order]
        self._tail_values, self._tail_slots = array(self._code), array("q")

    def _selected(self, keep: Callable[[npt.NDArray[Any]], Mask], lo: Any, hi: Any) -> I64:
        """Slots whose value v satisfies keep(v); lo/hi bound the sorted run's candidates."""
        start = 0 if lo is None else int(np.searchsorted(self._values, lo, side="left"))
        end = len(self._values) if hi is None else int(np.searchsorted(self._values, hi, "right"))
        run_values, run_slots = self._values[start:end], self._slots[start:end]
        parts = [run_slots[keep(run_values)]]
        if len(self._tail_slots):
            tail: npt.NDArray[Any] = np.frombuffer(self._tail_values, dtype=self._dtype)
            parts.append(np.frombuffer(self._tail_slots, dtype=np.int64)[keep(tail)])
        return np.concatenate(parts)

    def _range_slots(self, r: Range) -> I64:
        lo = r.gt if r.gte is None else r.gte if r.gt is None else min(r.gt, r.gte)
        hi = r.lt if r.lte is None else r.lte if r.lt is None else max(r.lt, r.lte)
        return self._selected(lambda v: _in_range(r, v), lo, hi)

    def mask(self, condition: Condition, n: int) -> Mask:
        out = np.zeros(n, dtype=np.bool_)
        if isinstance(condition, Range) and not self._multi:
            column = np.frombuffer(self._column, dtype=np.float64)[:n]
            out[: len(column)] = _in_range(condition, column)
            return out
        out[self._slots_for(condition)] = True
        return out

    def _slots_for(self, condition: Condition) -> I64:
        assert isinstance(condition, Range)
        return self._range_slots(condition)

    def estimate(self, condition: Condition) -> int:
        if isinstance(condition, Range):
            lo = condition.gt if condition.gte is None else condition.gte
            hi = condition.lt if condition.lte is None else condition.lte
            values = self._values
            start = 0 if lo is None else int(np.searchsorted(values, lo))
            end = len(values) if hi is None else int(np.searchsorted(values, hi, "right"))
            return end - start + len(self._tail_slots)
        return self.entries

    def memory_bytes(self) -> int:
        run = self._values.nbytes + self._slots.nbytes
        tail = len(self._tail_slots) * 16
        return run + tail + 8 * (len(self._column) + len(self._holders) + len(self._others))

    def arrays(self, keep: Mask) -> dict[str, npt.NDArray[Any]]:
        out = super().arrays(keep)
        values: npt.NDArray[Any] = np.concatenate(
            [self._values, np.array(self._tail_values, dtype=self._dtype)]
        )
        slots = np.concatenate([self._slots, _as_array(self._tail_slots)])
        kept = _kept_at(slots, keep)
        out["values"], out["slots"] = values[kept], slots[kept]
        return out

    def load_arrays(self, data: dict[str, npt.NDArray[Any]]) -> None:
        super().load_arrays(data)
        values: npt.NDArray[Any] = data["values"].astype(self._dtype)
        slots = data["slots"].astype(np.int64)
        order = np.argsort(values, kind="stable")
        self._values, self._slots = values[order], slots[order]
        self._tail_values, self._tail_slots = array(self._code), array("q")
        self.entries = len(slots)
        self._big = bool(np.any((values > _EXACT_FLOAT_INT) | (values < -_EXACT_FLOAT_INT)))
        column = np.full(int(slots.max()) + 1 if len(slots) else 0, np.nan)
        column[slots] = values
        self._multi = len(np.unique(slots)) < len(slots)
        if self._multi:
            counts = np.bincount(slots, minlength=len(column))
            column[counts > 1] = np.nan
        self._column = array("d", column.tobytes())


def _in_range(r: Range, v: npt.NDArray[Any]) -> Mask:
    """v within every bound of r (NaN, a slot holding no number, never is: not even for a range
    with no bound, which matches every point that holds a number)."""
    ok = ~np.isnan(v) if v.dtype.kind == "f" else np.ones(len(v), dtype=np.bool_)
    if r.gt is not None:
        ok &= v > r.gt
    if r.gte is not None:
        ok &= v >= r.gte
    if r.lt is not None:
        ok &= v < r.lt
    if r.lte is not None:
        ok &= v <= r.lte
    return ok


class FloatIndex(NumericIndex):
    schema = "float"


class IntegerIndex(NumericIndex):
    """Integers only (bools and floats are not); answers matches as well as ranges."""

    schema = "integer"
    _dtype = np.int64
    _code = "q"

    def __init__(self, key: KeyPath) -> None:
        super().__init__(key)
        self._facets: _FacetCache | None = None

    def answers(self, condition: Condition) -> bool:
        return isinstance(condition, Match) or super().answers(condition)

    def _take(self, value: Any) -> Any:
        if type(value) is not int or not -(2**63) <= value < 2**63:
            return None
        if abs(value) > _EXACT_FLOAT_INT:
            self._big = True  # the float64 column would round it
        return value

    def _could_match(self, value: Any) -> bool:
        return True  # floats for ranges; huge ints; anything else for `except`

    def facet_entries(self) -> FacetEntries:
        """In value order; made again (a sort of every pair) after each change."""
        cached = self._facets
        if cached is not None and cached.seen == self.entries:
            return cached.entries
        entries = self._facet_pairs()
        self._facets = _FacetCache(entries, self.entries, [])
        return entries

    def _facet_pairs(self) -> FacetEntries:
        values: I64 = np.concatenate([self._values, _as_array(self._tail_values)])
        slots = np.concatenate([self._slots, _as_array(self._tail_slots)])
        distinct, codes = np.unique(values, return_inverse=True)
        if self._multi:  # a slot may list one value twice ([1, 1]): count it once
            pairs = np.unique(slots * len(distinct) + codes)
            slots, codes = pairs // max(1, len(distinct)), pairs % max(1, len(distinct))
        codes = codes.astype(np.int64)
        totals = np.bincount(codes, minlength=len(distinct))
        # deduplicated pairs come out in slot order (sorted by slot * values + code)
        return FacetEntries(distinct.tolist(), codes, slots, totals, bool(self._multi))

    def mask(self, condition: Condition, n: int) -> Mask:
        if self._big and isinstance(condition, Range):
            out = np.zeros(n, dtype=np.bool_)
            out[self._range_slots(_integer_bounds(condition))] = True
            return out
        return super().mask(condition, n)

    def _slots_for(self, condition: Condition) -> I64:
        if not isinstance(condition, Match):
            return super()._slots_for(condition)
        if condition.mode == "except":
            if condition.kind is int:
                targets = np.array(sorted(condition.targets), dtype=np.int64)
                return self._selected(lambda v: ~np.isin(v, targets), None, None)
            return self._selected(lambda v: np.ones(len(v), dtype=np.bool_), None, None)
        if condition.kind is not int:
            return np.empty(0, dtype=np.int64)
        parts = [
            self._selected(lambda v, t=t: v == t, t, t)  # type: ignore[misc]
            for t in condition.targets
            if -(2**63) <= int(t) < 2**63
        ]
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


def _integer_bounds(r: Range) -> Range:
    """The same range for integers, with whole-number bounds (exact for int64 compares)."""
    low = [math.floor(b) + 1 for b in (r.gt,) if b is not None]
    low += [math.ceil(b) for b in (r.gte,) if b is not None]
    high = [math.ceil(b) - 1 for b in (r.lt,) if b is not None]
    high += [math.floor(b) for b in (r.lte,) if b is not None]
    clip = (-(2**63), 2**63 - 1)
    gte = min(max(max(low), clip[0]), clip[1]) if low else None
    lte = max(min(min(high), clip[1]), clip[0]) if high else None
    if low and high and max(low) > min(high):
        gte, lte = 1, 0  # empty
    return Range(r.key, gte=gte, lte=lte)


class DatetimeIndex(NumericIndex):
    """RFC 3339 strings, held as UTC seconds; answers datetime ranges."""

    schema = "datetime"

    def answers(self, condition: Condition) -> bool:
        return isinstance(condition, Range) and condition.datetime

    def _take(self, value: Any) -> Any:
        return timestamp(value)

    def _could_match(self, value: Any) -> bool:
        return False  # a string that is not a datetime never satisfies a datetime range


INDEX_CLASSES: Final[dict[str, type[FieldIndex]]] = {
    cls.schema: cls
    for cls in (KeywordIndex, UuidIndex, BoolIndex, FloatIndex, IntegerIndex, DatetimeIndex)
}
assert set(INDEX_CLASSES) == set(SCHEMAS)
