"""Turn a filter into the set of slots that satisfy it, using payload indexes where they exist.

Two steps, so that the slow one can run off the event loop:

1. `prepare` (event loop): every part of the filter an index (or the point index, for `has_id`;
   the store's presence masks, for `has_vector`) can answer becomes a boolean mask over slots,
   combined with numpy; it starts from the live slots and narrows them. What no index answers
   is left over as a `residual` condition.
2. `scan` (any thread): the residual is checked in Python against the payloads of the candidate
   slots only. Payload records below the slot count never change, so reading them from a worker
   thread is safe while the event loop appends new ones.

Nothing is approximate: an index answers a condition only for the value kinds it holds, and the
slots that also hold other kinds are scanned (see zoro.payload.field_index); slots an index is
unsure of (`doubtful`: a text index's slots holding several strings) are checked by scanning.
Full-text conditions on a key with a text index tokenize with that index's tokenizer, on the
index path and the scan path alike (`bind_tokenizers`, first thing in `prepare`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt
import orjson

from zoro.payload.conditions import (
    Filter,
    GeoBoundingBox,
    GeoPolygon,
    GeoRadius,
    HasId,
    HasVector,
    Match,
    Range,
    TextMatch,
    matches,
    text_match,
    vector_names,
)
from zoro.types import KEY_DTYPE, full_key

if TYPE_CHECKING:
    from collections.abc import Callable

    from zoro.payload.conditions import Condition
    from zoro.payload.field_index import FieldIndex
    from zoro.payload.tokenize import Tokenizer
    from zoro.types import Keys

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]
# An index's doubtful slots are checked here, on the caller's thread (the event loop) only when
# they are this few (zoro.actors.planner's INLINE_SCAN_SLOTS); with more, the index only narrows
# and the condition is left to the residual scan, which the actor runs in a worker thread.
DOUBTFUL_INLINE_SLOTS = 2_000

# The conditions a payload index may answer (each index says which of them it does).
_INDEXED_KINDS = (Match, TextMatch, Range, GeoBoundingBox, GeoRadius, GeoPolygon)


class PayloadSource(Protocol):
    """What selection reads from the store."""

    def slots_of(self, keys: Keys) -> I64: ...

    def keys_of_slots(self, slots: I64) -> Keys: ...

    def payloads_of_slots(self, slots: I64) -> list[bytes]: ...


class IndexLookup(Protocol):
    def ready_index(self, key_text: str) -> FieldIndex | None: ...

    def text_tokenizer(self, key_text: str) -> Tokenizer | None: ...


@dataclass(frozen=True, slots=True)
class Prepared:
    """Slots that passed every indexed part, and what is left to check on their payloads."""

    candidates: Mask  # over slots [0, len)
    residual: Condition | None
    vectors: dict[str, Mask] = field(default_factory=dict)  # has_vector's masks, for the scan


def prepare(
    condition: Condition,
    live: Mask,
    indexes: IndexLookup,
    source: PayloadSource,
    vector_mask: Callable[[str], Mask] | None = None,
) -> Prepared:
    """Step 1: narrow the live slots (`live` is copied) by every indexed part of `condition`.
    `has_vector` is answered by `vector_mask(name)` (does each slot carry that vector; it
    raises for an unknown name), copied here for the scan."""
    n = len(live)
    condition = bind_tokenizers(condition, indexes)
    names = vector_names(condition)
    if names and vector_mask is None:
        raise ValueError("has_vector needs the collection's vector masks")
    vectors = {name: _fit(vector_mask(name), n) for name in names} if vector_mask else {}
    prepared = _Preparer(indexes, source, n, vectors).run(condition, live.copy())
    return replace(prepared, vectors=vectors)


def bind_tokenizers(condition: Condition, indexes: IndexLookup) -> Condition:
    """`condition` with each full-text match on a key with a text index tokenized by that
    index's tokenizer (the parser gives them the default one)."""
    if isinstance(condition, TextMatch):
        tokenizer = indexes.text_tokenizer(condition.key.text)
        if tokenizer is None or tokenizer is condition.tokenizer:
            return condition
        return text_match(condition.key, condition.mode, condition.text, tokenizer)
    if not isinstance(condition, Filter):
        return condition

    def bind(conditions: tuple[Condition, ...]) -> tuple[Condition, ...]:
        return tuple(bind_tokenizers(c, indexes) for c in conditions)

    ms = condition.min_should
    return replace(
        condition,
        must=bind(condition.must),
        should=bind(condition.should),
        must_not=bind(condition.must_not),
        min_should=None if ms is None else replace(ms, conditions=bind(ms.conditions)),
    )


def _fit(mask: Mask, n: int) -> Mask:
    out = np.zeros(n, dtype=np.bool_)
    out[: min(n, len(mask))] = mask[:n]
    return out


def scan(
    condition: Condition,
    slots: I64,
    source: PayloadSource,
    chunk: int = 4096,
    vectors: dict[str, Mask] | None = None,
) -> Mask:
    """For each slot, does its payload (and id, and the vectors it carries, from `vectors`)
    satisfy `condition`? Reads payloads in chunks."""
    out = np.zeros(len(slots), dtype=np.bool_)
    with_keys = _needs_keys(condition)
    loads = orjson.loads
    for start in range(0, len(slots), chunk):
        part = slots[start : start + chunk]
        payloads = source.payloads_of_slots(part)
        keys: list[bytes] | list[None]
        if with_keys:
            keys = [full_key(k) for k in source.keys_of_slots(part)]
        else:
            keys = [None] * len(part)
        for i, (raw, key) in enumerate(zip(payloads, keys, strict=True)):
            carries = _carries(vectors, int(part[i])) if vectors else None
            if matches(condition, loads(raw), key or b"", carries):
                out[start + i] = True
    return out


def apply_scan(prepared: Prepared, source: PayloadSource) -> Mask:
    """The whole selection in this thread: prepared candidates narrowed by scanning."""
    if prepared.residual is None:
        return prepared.candidates
    slots = np.flatnonzero(prepared.candidates)
    out = np.zeros(len(prepared.candidates), dtype=np.bool_)
    out[slots[scan(prepared.residual, slots, source, vectors=prepared.vectors)]] = True
    return out


def _carries(vectors: dict[str, Mask], slot: int) -> Callable[[str], bool]:
    return lambda name: bool(vectors[name][slot])


class _Preparer:
    def __init__(
        self, indexes: IndexLookup, source: PayloadSource, n: int, vectors: dict[str, Mask]
    ) -> None:
        self._indexes = indexes
        self._source = source
        self._n = n
        self._vectors = vectors
        self._exact: dict[Condition, bool] = {}  # can its index answer it (few doubtful slots)?

    def run(self, condition: Condition, candidates: Mask) -> Prepared:
        if not isinstance(condition, Filter):
            condition = Filter(must=(condition,))
        return self._filter(condition, candidates)

    def indexable(self, c: Condition) -> bool:
        if isinstance(c, HasId | HasVector):
            return True
        if isinstance(c, Filter):
            return all(self.indexable(x) for x in c.children())
        if isinstance(c, _INDEXED_KINDS):
            index = self._indexes.ready_index(c.key.text)
            return index is not None and index.answers(c) and self._answers_exactly(index, c)
        return False

    def _answers_exactly(self, index: FieldIndex, c: Condition) -> bool:
        """Not a superset mask (`narrows_only`), nor too many doubtful slots to check inline."""
        if not isinstance(c, TextMatch):
            return True  # only a text index is ever unsure (zoro.payload.text_index)
        exact = self._exact.get(c)
        if exact is None:
            exact = not index.narrows_only(c) and (
                len(index.doubtful(c, index.mask(c, self._n))) <= DOUBTFUL_INLINE_SLOTS
            )
            self._exact[c] = exact
        return exact

    def narrowing(self, c: Condition) -> FieldIndex | None:
        """An index whose mask for `c` is a superset of the answer, not indexable as it is:
        it narrows a `must`, and `c` stays for the scan."""
        if not isinstance(c, TextMatch):
            return None
        index = self._indexes.ready_index(c.key.text)
        if index is None or not index.answers(c) or self._answers_exactly(index, c):
            return None
        return index

    def _filter(self, f: Filter, mask: Mask) -> Prepared:
        """Narrow `mask` by the indexable parts of `f`; return the rest as the residual."""
        left_must: list[Condition] = []
        for c in sorted(f.must, key=self._cost):
            if self.indexable(c):
                mask = self._indexed(c, mask)
                continue
            index = self.narrowing(c)
            if index is not None:
                mask = mask & index.mask(c, self._n)
            left_must.append(c)
        left = Filter(must=tuple(left_must))
        if f.should:
            if all(self.indexable(c) for c in f.should):
                union = np.zeros(self._n, dtype=np.bool_)
                for c in f.should:
                    union |= self._indexed(c, mask & ~union)
                mask = union
            else:
                left = replace(left, should=f.should)
        if f.min_should is not None:
            ms = f.min_should
            if all(self.indexable(c) for c in ms.conditions):
                hits = np.zeros(self._n, dtype=np.int32)
                for c in ms.conditions:
                    hits += self._indexed(c, mask)
                mask = mask & (hits >= ms.min_count)
            else:
                left = replace(left, min_should=ms)
        left_not: list[Condition] = []
        for c in f.must_not:
            if self.indexable(c):
                mask = mask & ~self._indexed(c, mask)
            else:
                left_not.append(c)
        left = replace(left, must_not=tuple(left_not))
        empty = not (left.must or left.should or left.must_not or left.min_should)
        return Prepared(mask, None if empty else left)

    def _cost(self, c: Condition) -> int:
        """Indexed conditions first, the most selective first (so later masks start small)."""
        if isinstance(c, HasId):
            return len(c.keys)
        if isinstance(c, HasVector):
            return self._n // 2
        if isinstance(c, _INDEXED_KINDS):
            index = self._indexes.ready_index(c.key.text)
            if index is not None and index.answers(c) and self._answers_exactly(index, c):
                return index.estimate(c)
        return self._n + 1  # scanned: after every indexed condition

    def _indexed(self, c: Condition, mask: Mask) -> Mask:
        """The slots in `mask` that satisfy `c`, which must be indexable."""
        if isinstance(c, Filter):
            prepared = self._filter(c, mask)
            assert prepared.residual is None
            return prepared.candidates
        if isinstance(c, HasId):
            found = np.zeros(self._n, dtype=np.bool_)
            keys = np.array(sorted(c.keys), dtype=KEY_DTYPE)
            slots = self._source.slots_of(keys)
            slots = slots[(slots >= 0) & (slots < self._n)]
            found[slots] = True
            return found & mask
        if isinstance(c, HasVector):
            return self._vectors[c.name] & mask
        assert isinstance(c, _INDEXED_KINDS)
        index = self._indexes.ready_index(c.key.text)
        assert index is not None
        out = index.mask(c, self._n) & mask
        doubtful = index.doubtful(c, out)
        if len(doubtful):
            out[doubtful[~scan(c, doubtful, self._source)]] = False
        others = index.others()
        if len(others):
            others = others[others < self._n]
            others = others[mask[others] & ~out[others]]
            if len(others):
                out[others[scan(c, others, self._source)]] = True
        return out


def _needs_keys(c: Condition) -> bool:
    if isinstance(c, HasId):
        return True
    if isinstance(c, Filter):
        return any(_needs_keys(x) for x in c.children())
    return False
