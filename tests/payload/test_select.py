"""Selection with and without payload indexes equals the Python definition, on every kind of data.

The definition is zoro.payload.conditions.matches (one payload at a time); selection answers the
indexed parts with numpy masks and scans the rest. Hypothesis writes payloads that mix kinds
under the same key (the case where an index must hand slots back to the scan) and filters over
the same small vocabulary of keys and values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zoro.payload import (
    Filter,
    GeoBoundingBox,
    GeoPolygon,
    GeoRadius,
    HasId,
    IsEmpty,
    IsNull,
    Match,
    MinShould,
    Nested,
    Range,
    ValuesCount,
    apply_scan,
    matches,
    parse_key,
    prepare,
)
from zoro.payload.conditions import Condition
from zoro.payload.datetimes import parse_datetime
from zoro.payload.field_index import FieldIndex
from zoro.payload.indexes import new_index
from zoro.payload.text_index import TextIndex
from zoro.payload.tokenize import Tokenizer
from zoro.types import key_of, keys_of

KEYS = ["a", "n", "t", "m.x", "arr[].v"]
SCHEMAS = {
    "a": "keyword",
    "n": "integer",
    "t": "datetime",
    "m.x": "float",
    "arr[].v": "keyword",
    "g": "geo",
}
WORDS = ["red", "green", "blue"]
DATES = ["2024-01-01T00:00:00Z", "2024-06-01T12:00:00+02:00", "2025-01-01", "not a date"]

scalars = st.one_of(
    st.sampled_from(WORDS),
    st.integers(-3, 3),
    st.booleans(),
    st.sampled_from([0.5, 1.0, 2.5]),
    st.none(),
    st.sampled_from(DATES),
)
values = st.one_of(scalars, st.lists(scalars, max_size=3))
# geo points on a coarse grid, so that points on a shape's edge are drawn too
_grid = st.integers(-4, 4).map(float)
points = st.builds(lambda lon, lat: {"lon": lon, "lat": lat}, _grid, _grid)
geo_values = st.one_of(points, st.lists(st.one_of(points, scalars), max_size=3), scalars)
payloads = st.fixed_dictionaries(
    {},
    optional={
        "g": geo_values,
        "a": values,
        "n": values,
        "t": values,
        "m": st.fixed_dictionaries({}, optional={"x": values}),
        "arr": st.lists(st.fixed_dictionaries({}, optional={"v": values}), max_size=2),
    },
)


def _key() -> st.SearchStrategy[Any]:
    return st.sampled_from(KEYS).map(parse_key)


def _bound() -> st.SearchStrategy[float | None]:
    return st.one_of(st.none(), st.sampled_from([-1.0, 0.0, 1.0, 2.5]))


def _ring(lons: list[float], lats: list[float]) -> tuple[tuple[float, float], ...]:
    ring = list(zip(lons, lats, strict=False))
    return (*ring, ring[0])


_coord = st.integers(-4, 4).map(float)
_geo_key = st.just(parse_key("g"))
geo_leaves: st.SearchStrategy[Condition] = st.one_of(
    st.builds(
        lambda k, a, b, c, d: GeoBoundingBox(k, (a, b), (c, d)),
        _geo_key,
        _coord,
        _coord,
        _coord,
        _coord,
    ),
    st.builds(
        lambda k, a, b, r: GeoRadius(k, (a, b), r),
        _geo_key,
        _coord,
        _coord,
        st.sampled_from([0.0, 1.0, 111_195.0, 200_000.0, 500_000.0]),
    ),
    st.builds(
        lambda k, lons, lats, hole: GeoPolygon(k, _ring(lons, lats), hole),
        _geo_key,
        st.lists(_coord, min_size=3, max_size=5),
        st.lists(_coord, min_size=3, max_size=5),
        st.one_of(st.just(()), st.just((_ring([-1.0, 1.0, 1.0, -1.0], [-1.0, -1.0, 1.0, 1.0]),))),
    ),
)
nested_leaves: st.SearchStrategy[Condition] = st.builds(
    lambda vs, mode: Nested(
        parse_key("arr"), Filter(must=(Match(parse_key("v"), mode, frozenset(vs), str),))
    ),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=2),
    st.sampled_from(["any", "except"]),
)

leaves: st.SearchStrategy[Condition] = st.one_of(
    geo_leaves,
    nested_leaves,
    st.builds(
        lambda k, v: Match(k, "value", frozenset([v]), type(v)),
        _key(),
        st.one_of(st.sampled_from(WORDS), st.integers(-3, 3), st.booleans()),
    ),
    st.builds(
        lambda k, vs, mode: Match(k, mode, frozenset(vs), type(vs[0]) if vs else None),
        _key(),
        st.one_of(
            st.lists(st.sampled_from(WORDS), max_size=2), st.lists(st.integers(-3, 3), max_size=2)
        ),
        st.sampled_from(["any", "except"]),
    ),
    st.builds(
        lambda k, a, b, c, d: Range(k, a, b, c, d), _key(), _bound(), _bound(), _bound(), _bound()
    ),
    st.builds(
        lambda k, lo, hi: Range(k, gte=parse_datetime(lo), lt=parse_datetime(hi), datetime=True),
        _key(),
        st.sampled_from(DATES[:3]),
        st.sampled_from(DATES[:3]),
    ),
    st.builds(lambda k, n: ValuesCount(k, gte=n), _key(), st.integers(0, 3)),
    st.builds(IsEmpty, _key()),
    st.builds(IsNull, _key()),
    st.builds(
        lambda ids: HasId(frozenset(map(key_of, ids))),
        st.lists(st.integers(0, 40), max_size=4),
    ),
)


def _tuple(x: st.SearchStrategy[Any]) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.lists(x, max_size=3).map(tuple)


conditions: st.SearchStrategy[Condition] = st.recursive(
    leaves,
    lambda inner: st.builds(
        Filter,
        _tuple(inner),
        _tuple(inner),
        _tuple(inner),
        st.one_of(st.none(), st.builds(MinShould, _tuple(inner), st.integers(0, 2))),
    ),
    max_leaves=8,
)


class Source:
    """A store stand-in: slot i holds payloads[i] under id i."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.raw = [orjson.dumps(p) for p in items]
        self.keys = keys_of(list(range(len(items))))

    def slots_of(self, keys: Any) -> Any:
        index = {bytes(k): i for i, k in enumerate(self.keys)}
        return np.array([index.get(bytes(k), -1) for k in keys], dtype=np.int64)

    def keys_of_slots(self, slots: Any) -> Any:
        return self.keys[slots]

    def payloads_of_slots(self, slots: Any) -> list[bytes]:
        return [self.raw[s] for s in slots]


class Indexes:
    def __init__(self, source: Source, live: Any) -> None:
        self._by_key: dict[str, FieldIndex] = {}
        slots = list(range(len(source.raw)))
        decoded = [orjson.loads(r) for r in source.raw]
        for key, schema in SCHEMAS.items():
            index = new_index(schema, parse_key(key))
            index.add(slots, decoded)
            self._by_key[parse_key(key).text] = index

    def ready_index(self, key_text: str) -> FieldIndex | None:
        return self._by_key.get(key_text)

    def text_tokenizer(self, key_text: str) -> Tokenizer | None:
        index = self._by_key.get(key_text)
        return index.tokenizer if isinstance(index, TextIndex) else None


class NoIndexes:
    def ready_index(self, key_text: str) -> FieldIndex | None:
        return None

    def text_tokenizer(self, key_text: str) -> Tokenizer | None:
        return None


def _expected(condition: Condition, items: list[dict[str, Any]], live: Any) -> list[int]:
    keys = keys_of(list(range(len(items))))
    return [
        i
        for i, p in enumerate(items)
        if live[i] and matches(condition, p, bytes(keys[i]).ljust(17, b"\0"))
    ]


def _check(items: list[dict[str, Any]], condition: Condition, live: Any) -> None:
    source = Source(items)
    expected = _expected(condition, items, live)
    for indexes in (NoIndexes(), Indexes(source, live)):
        prepared = prepare(condition, live, indexes, source)
        got = np.flatnonzero(apply_scan(prepared, source)).tolist()
        assert got == expected, (type(indexes).__name__, condition)


_items = st.lists(payloads, min_size=1, max_size=40)
_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(_items, leaves, st.data())
def test_each_condition_equals_the_definition(
    items: list[dict[str, Any]], condition: Condition, data: st.DataObject
) -> None:
    live = np.array(data.draw(st.lists(st.booleans(), min_size=len(items), max_size=len(items))))
    _check(items, condition, live)


@_SETTINGS
@given(_items, conditions, st.data())
def test_nested_filters_equal_the_definition(
    items: list[dict[str, Any]], condition: Condition, data: st.DataObject
) -> None:
    live = np.array(data.draw(st.lists(st.booleans(), min_size=len(items), max_size=len(items))))
    _check(items, condition, live)


def test_indexed_filters_leave_no_residual() -> None:
    items = [{"a": w, "n": i} for i, w in enumerate(WORDS * 3)]
    source = Source(items)
    live = np.ones(len(items), dtype=np.bool_)
    f = Filter(
        must=(Match(parse_key("a"), "any", frozenset(["red", "blue"]), str),),
        must_not=(Range(parse_key("n"), gte=6.0),),
        should=(
            HasId(frozenset(map(key_of, [0, 2, 3]))),
            Match(parse_key("n"), "value", frozenset([5]), int),
        ),
    )
    prepared = prepare(f, live, Indexes(source, live), source)
    assert prepared.residual is None
    assert np.flatnonzero(prepared.candidates).tolist() == _expected(f, items, live) == [0, 2, 3, 5]
    unindexed = prepare(f, live, NoIndexes(), source)
    assert unindexed.residual is not None  # has_id alone is answered without an index


def test_except_holds_for_values_an_index_does_not_hold() -> None:
    """A float, a bool, an object or an array under a keyword or integer index is no target,
    so `except` holds for it (found against local mode); the index hands those slots back."""
    items: list[dict[str, Any]] = [
        {"a": 0.5, "n": 0.5},
        {"a": True, "n": True},
        {"a": {"x": 1}, "n": {"x": 1}},
        {"a": [[1]], "n": [["red"]]},
        {"a": "red", "n": 1},
        {"a": None, "n": None},
        {},
    ]
    live = np.ones(len(items), dtype=np.bool_)
    for key, target in (("a", "red"), ("n", 1)):
        for targets in ([target], []):
            kind = type(target) if targets else None
            condition = Match(parse_key(key), "except", frozenset(targets), kind)
            _check(items, condition, live)
            assert _expected(condition, items, live) == (
                [0, 1, 2, 3] if targets else [0, 1, 2, 3, 4]
            )


def test_geo_conditions_are_answered_by_the_geo_index() -> None:
    items: list[dict[str, Any]] = [{"g": {"lon": float(i % 5), "lat": 1.0}} for i in range(20)]
    source = Source(items)
    live = np.ones(len(items), dtype=np.bool_)
    box = GeoBoundingBox(parse_key("g"), (0.5, 2.0), (2.5, 0.0))
    f = Filter(must=(box,), must_not=(GeoRadius(parse_key("g"), (2.0, 1.0), 1000.0),))
    prepared = prepare(f, live, Indexes(source, live), source)
    assert prepared.residual is None
    assert np.flatnonzero(prepared.candidates).tolist() == _expected(f, items, live)
    assert _expected(f, items, live) == [1, 6, 11, 16]
    assert prepare(f, live, NoIndexes(), source).residual is not None
