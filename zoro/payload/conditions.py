"""The filter language (Qdrant's), as plain values, and what it means for one payload.

A filter is a tree: `Filter(must, should, must_not, min_should)` whose leaves are conditions on
a key path (`Match`, `Range`, `ValuesCount`, `IsEmpty`, `IsNull`, the geo shapes), on the point
id (`HasId`) or on the vectors the point carries (`HasVector`); `Nested` applies a filter to each
object of an array in turn.
The HTTP shapes are parsed into these by zoro.services.filters; this module holds the meaning:

* A key path walks objects by name (`meta.lang`); `name[]` walks into every element of an array
  (`offers[].price`). The values at the end of the walk are the values found there, with an
  array at the end standing for its elements: `{"tags": ["a", "b"]}` has values a and b at
  `tags` (and at `tags[]`).
* A condition on values matches when ANY value matches. A missing key (no values) never matches
  a positive condition, except `values_count`, which counts it as 0 values.
* `values_count`, `is_empty` and `is_null` look at what the path reaches before arrays at its end
  are spread (`KeyPath.raw`): each value found counts as its length when it is an array, 0 when
  null, 1 otherwise, and the condition holds when one of those counts is within all the bounds
  (a missing key counts 0); `is_empty` holds when every value found is null or `[]`; `is_null`
  when one is null or an array holding a null (Qdrant 1.19.1 on, qdrant#10101).
* Values compare by kind: a string only equals a string, an integer only an integer (never a
  bool, never a float), a bool only a bool. `except` holds for every non-null value that is not
  one of its targets (floats, bools, objects and nested arrays included), as Qdrant's does.
  Ranges take any number (not bools); a datetime range takes RFC 3339 strings.

`matches()` evaluates a condition on one decoded payload in Python: it is the scan path (for keys
without an index) and the definition the indexes must agree with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from zoro.payload import geo

# re-exported: the filter parser (zoro.services.filters) reads these rules from here
from zoro.payload.datetimes import parse_datetime as parse_datetime
from zoro.payload.geo import MIN_RING_POINTS as MIN_RING_POINTS
from zoro.payload.tokenize import DEFAULT as DEFAULT_TOKENIZER

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from zoro.payload.geo import F64, LonLat, Mask, Ring
    from zoro.payload.tokenize import Tokenizer

Scalar = str | int | bool

_MISSING: Final = object()


@dataclass(frozen=True, slots=True)
class KeyPath:
    """A parsed key: each step is (name, project) where project means `name[]`."""

    text: str  # as written: `tags` and `tags[]` differ on a scalar (only `tags` finds it)
    steps: tuple[tuple[str, bool], ...]

    def values(self, payload: Mapping[str, Any]) -> list[Any]:
        """Every value at this path in `payload` (arrays at the end are spread out)."""
        current: list[Any] = [payload]
        for name, project in self.steps:
            found: list[Any] = []
            for value in current:
                if isinstance(value, dict):
                    child = value.get(name, _MISSING)
                    if child is _MISSING:
                        continue
                    if project:
                        if isinstance(child, list):
                            found.extend(child)
                    else:
                        found.append(child)
            current = found
        out: list[Any] = []
        for value in current:
            if isinstance(value, list):
                out.extend(value)
            else:
                out.append(value)
        return out

    def raw(self, payload: Mapping[str, Any]) -> list[Any]:
        """The values at this path before arrays at the end are spread (for is_empty/is_null)."""
        current: list[Any] = [payload]
        for name, project in self.steps:
            found: list[Any] = []
            for value in current:
                if isinstance(value, dict) and name in value:
                    child = value[name]
                    if project and isinstance(child, list):
                        found.extend(child)
                    elif not project:
                        found.append(child)
            current = found
        return current


def parse_key(text: str) -> KeyPath:
    """`a.b[].c` -> KeyPath. Raises ValueError naming what is wrong."""
    if not text:
        raise ValueError("empty key")
    steps: list[tuple[str, bool]] = []
    for part in text.split("."):
        project = part.endswith("[]")
        name = part[:-2] if project else part
        if not name:
            raise ValueError(f"empty step in key {text!r}")
        if "[" in name or "]" in name:
            raise ValueError(f"key {text!r}: only `name[]` is supported inside brackets")
        steps.append((name, project))
    return KeyPath(text, tuple(steps))


def kind_of(value: object) -> type | None:
    """The kind a value compares as: str, int (not bool) or bool; None for anything else."""
    t = type(value)
    return t if t in (str, int, bool) else None


@dataclass(frozen=True, slots=True)
class Match:
    """`match`: value (one target), any (a target set) or except (NOT IN a target set)."""

    key: KeyPath
    mode: str  # "value" | "any" | "except"
    targets: frozenset[Scalar]
    kind: type | None  # the kind of the targets (None: an empty list, any kind)

    def holds(self, value: object) -> bool:
        kind = kind_of(value)
        listed = kind is not None and kind is self.kind and value in self.targets
        if self.mode == "except":
            return value is not None and not listed
        return listed


@dataclass(frozen=True, slots=True)
class TextMatch:
    """Full-text `match`: `text` (every query token in one string value), `text_any` (any of
    them) or `phrase` (the tokens side by side, in order, in one string value).

    Strings are tokenized by `tokenizer`: the key's text index's when it has one (bound by
    zoro.payload.select before anything is checked), else Qdrant's default word tokenizer.
    A query without tokens matches nothing. Build one with `text_match`."""

    key: KeyPath
    mode: str  # "text" | "text_any" | "phrase"
    text: str
    tokenizer: Tokenizer
    tokens: tuple[str, ...]  # the query's tokens (a phrase's in order)

    def holds(self, value: object) -> bool:
        if type(value) is not str or not self.tokens:
            return False
        found = self.tokenizer.document(value)
        if self.mode == "phrase":
            return has_phrase(found, self.tokens)
        present = set(found)
        if self.mode == "text_any":
            return any(t in present for t in self.tokens)
        return all(t in present for t in self.tokens)


def text_match(
    key: KeyPath, mode: str, text: str, tokenizer: Tokenizer = DEFAULT_TOKENIZER
) -> TextMatch:
    """A TextMatch with its query tokenized (a phrase as a document is, as Qdrant does)."""
    tokens = tokenizer.document(text) if mode == "phrase" else tokenizer.query(text)
    return TextMatch(key, mode, text, tokenizer, tuple(tokens))


def has_phrase(document: list[str], phrase: tuple[str, ...]) -> bool:
    """Do the phrase's tokens stand side by side, in order, somewhere in the document?"""
    n = len(phrase)
    if not n:
        return False
    first = phrase[0]
    return any(
        token == first and tuple(document[i : i + n]) == phrase for i, token in enumerate(document)
    )


@dataclass(frozen=True, slots=True)
class Range:
    """`range`: bounds on numbers, or (datetime=True) on RFC 3339 datetimes as UTC seconds."""

    key: KeyPath
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None
    datetime: bool = False

    def holds(self, value: object) -> bool:
        number = timestamp(value) if self.datetime else number_of(value)
        return number is not None and self.contains(number)

    def contains(self, x: float | int) -> bool:
        """Python compares an int with a float exactly, so 2**53 + 1 > 2.0**53 holds here."""
        return _within(x, self.gt, self.gte, self.lt, self.lte)


@dataclass(frozen=True, slots=True)
class ValuesCount:
    """`values_count`: bounds on how many values one value found at the key holds (an array:
    its length; null: 0; anything else: 1; a missing key: 0)."""

    key: KeyPath
    gt: int | None = None
    gte: int | None = None
    lt: int | None = None
    lte: int | None = None

    def holds(self, payload: Mapping[str, Any]) -> bool:
        counts = [_count(v) for v in self.key.raw(payload)] or [0]
        return any(_within(n, self.gt, self.gte, self.lt, self.lte) for n in counts)


def _count(value: object) -> int:
    if value is None:
        return 0
    return len(value) if isinstance(value, list) else 1


@dataclass(frozen=True, slots=True)
class IsEmpty:
    """The key is missing, or every value found at it is null or an empty array."""

    key: KeyPath


@dataclass(frozen=True, slots=True)
class IsNull:
    """A value found at the key is null, or an array holding a null (one level deep)."""

    key: KeyPath


@dataclass(frozen=True, slots=True)
class GeoBoundingBox:
    """`geo_bounding_box`: points strictly inside the box (see zoro.payload.geo)."""

    key: KeyPath
    top_left: LonLat
    bottom_right: LonLat

    def inside(self, lon: F64, lat: F64) -> Mask:
        return geo.in_box(lon, lat, self.top_left, self.bottom_right)


@dataclass(frozen=True, slots=True)
class GeoRadius:
    """`geo_radius`: points less than `radius_m` meters from the center."""

    key: KeyPath
    center: LonLat
    radius_m: float

    def inside(self, lon: F64, lat: F64) -> Mask:
        return geo.in_radius(lon, lat, self.center, self.radius_m)


@dataclass(frozen=True, slots=True)
class GeoPolygon:
    """`geo_polygon`: points inside the exterior ring and outside every interior one."""

    key: KeyPath
    exterior: Ring
    interiors: tuple[Ring, ...] = ()

    def inside(self, lon: F64, lat: F64) -> Mask:
        return geo.in_polygon(lon, lat, self.exterior, self.interiors)


GeoCondition = GeoBoundingBox | GeoRadius | GeoPolygon


@dataclass(frozen=True, slots=True)
class Nested:
    """`nested`: `filter` holds for one object of the array at `key` (keys inside the filter are
    relative to that object). `key` names the array itself: a trailing `[]` is dropped."""

    key: KeyPath
    filter: Filter

    def elements(self, payload: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
        for value in self.key.raw(payload):
            if isinstance(value, list):
                yield from (element for element in value if isinstance(element, dict))


@dataclass(frozen=True, slots=True)
class HasId:
    """The point's id is one of these (as 17-byte keys)."""

    keys: frozenset[bytes]


@dataclass(frozen=True, slots=True)
class HasVector:
    """The point carries the named vector (Qdrant's `has_vector`; "" is the unnamed one)."""

    name: str


@dataclass(frozen=True, slots=True)
class MinShould:
    conditions: tuple[Condition, ...]
    min_count: int


@dataclass(frozen=True, slots=True)
class Filter:
    """All of `must`, at least one of `should` (when given), none of `must_not`."""

    must: tuple[Condition, ...] = ()
    should: tuple[Condition, ...] = ()
    must_not: tuple[Condition, ...] = ()
    min_should: MinShould | None = None

    def children(self) -> Iterable[Condition]:
        """Every condition directly inside this filter, whatever its group."""
        yield from self.must
        yield from self.should
        yield from self.must_not
        if self.min_should is not None:
            yield from self.min_should.conditions


FieldCondition = Match | TextMatch | Range | ValuesCount | IsEmpty | IsNull | GeoCondition
Condition = FieldCondition | HasId | HasVector | Nested | Filter


def number_of(value: object) -> float | int | None:
    """A JSON number as it is (bools are not numbers here; NaN is none)."""
    if type(value) is int:
        return value
    if type(value) is float:
        return None if math.isnan(value) else value
    return None


def timestamp(value: object) -> float | None:
    """An RFC 3339 datetime string as UTC seconds (a naive one is taken as UTC)."""
    if type(value) is not str:
        return None
    return parse_datetime(value)


def matches(
    condition: Condition,
    payload: Mapping[str, Any],
    key: bytes,
    carries: Callable[[str], bool] | None = None,
) -> bool:
    """Does this point (payload, 17-byte key, `carries(name)`: does it carry that vector)
    satisfy `condition`?"""
    if isinstance(condition, Filter):
        return _filter_matches(condition, payload, key, carries)
    if isinstance(condition, HasId):
        return key in condition.keys
    if isinstance(condition, HasVector):
        return carries is not None and carries(condition.name)
    if isinstance(condition, Match | TextMatch | Range):
        return any(map(condition.holds, condition.key.values(payload)))
    if isinstance(condition, GeoBoundingBox | GeoRadius | GeoPolygon):
        lon, lat = geo.coordinates(condition.key.values(payload))
        return len(lon) > 0 and bool(condition.inside(lon, lat).any())
    if isinstance(condition, ValuesCount):
        return condition.holds(payload)
    if isinstance(condition, IsEmpty):
        return all(v is None or v == [] for v in condition.key.raw(payload))
    if isinstance(condition, IsNull):
        return any(
            v is None or (isinstance(v, list) and None in v) for v in condition.key.raw(payload)
        )
    if isinstance(condition, Nested):
        # has_id and has_vector are refused inside `nested`, so neither id nor vectors matter
        return any(
            _filter_matches(condition.filter, e, b"", None) for e in condition.elements(payload)
        )
    raise TypeError(f"not a condition: {condition!r}")


def _filter_matches(
    f: Filter, payload: Mapping[str, Any], key: bytes, carries: Callable[[str], bool] | None
) -> bool:
    if not all(matches(c, payload, key, carries) for c in f.must):
        return False
    if f.should and not any(matches(c, payload, key, carries) for c in f.should):
        return False
    if f.min_should is not None:
        hits = sum(matches(c, payload, key, carries) for c in f.min_should.conditions)
        if hits < f.min_should.min_count:
            return False
    return not any(matches(c, payload, key, carries) for c in f.must_not)


def vector_names(condition: Condition) -> set[str]:
    """The vector names `has_vector` conditions in `condition` ask about."""
    if isinstance(condition, HasVector):
        return {condition.name}
    if isinstance(condition, Filter):
        return set().union(*(vector_names(c) for c in condition.children()))
    return set()


def _within(
    x: float | int, gt: float | None, gte: float | None, lt: float | None, lte: float | None
) -> bool:
    return (
        (gt is None or x > gt)
        and (gte is None or x >= gte)
        and (lt is None or x < lt)
        and (lte is None or x <= lte)
    )


def keys_in(condition: Condition) -> Iterable[KeyPath]:
    """Every key path a condition reads (for "which filtered keys lack an index")."""
    if isinstance(condition, Filter):
        for c in condition.children():
            yield from keys_in(c)
    elif isinstance(condition, Nested):
        for inner in keys_in(condition.filter):
            yield parse_key(f"{condition.key.text}[].{inner.text}")
    elif not isinstance(condition, HasId | HasVector):
        yield condition.key
