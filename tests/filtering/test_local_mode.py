"""Every filter condition Zoro-DB serves, against qdrant-client's local mode, on random data.

Hypothesis writes small collections of payloads (nested objects, arrays of objects, arrays of
arrays, nulls, mixed kinds, geo points) and filters over them (must / should / must_not /
min_should; match value / any / except; number and datetime ranges; values_count; is_empty and
is_null in both spellings; has_id; nested; geo bounding box / radius / polygon). Each example is
upserted to a real Zoro server, with or without payload indexes on the usual keys (created
before or after the points), and to local mode; both must select the same points through
count and scroll.

Where local mode is known to differ from Qdrant's server, the data steers clear and the server
is followed (see zoro.payload.geo: coordinates out of range are no geo point on the server).

The default run is short; `-m slow` runs the bigger profile.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qdrant_client import QdrantClient, models

from tests.filtering.conftest import fresh_name
from tests.filtering.reference import count, create_index, ok, scroll_ids

STRINGS = ["a", "b", "", "a b"]
INTS = [-1, 0, 1, 2, 3, 2**53 + 1]  # the last is no float64
FLOATS = [-0.5, 0.0, 1.0, 2.5]
DATETIMES = [
    "2024-01-01T00:00:00Z",
    "2024-01-01T00:00:00",
    "2024-01-01T01:00:00+01:00",
    "2024-03-15T12:30:00.250000+00:00",
    "2024-06-01",
    "2024-06-01 10:00:00",
    "2023-12-31T23:59:59Z",
]
# Strings some parsers read as datetimes and others not (payload values only: range bounds are
# parsed by pydantic in local mode, not by the server's rules)
ODD_DATETIMES = [
    "20240101",
    "2024-01-01T00",
    "2024-W01-1",
    " 2024-01-01",
    "2024-01-01t00:00:00z",
    "2024-01-01T00:00:00 UTC",
    "2024-1-1",
    "2024-01-01T00:00Z",
    "2024-01-01T00:00:00.1234567+01",
]
GRID = [float(v) for v in range(-3, 4)]

INDEXES = {
    "s": "keyword",
    "tags": "keyword",
    "meta.lang": "keyword",
    "offers[].kind": "keyword",
    "i": "integer",
    "meta.n": "integer",
    "f": "float",
    "offers[].price": "float",
    "b": "bool",
    "d": "datetime",
    "g": "geo",
    "offers[].at": "geo",
}

# --- payloads -----------------------------------------------------------------------------------

scalars = st.one_of(
    st.sampled_from(STRINGS),
    st.sampled_from(INTS),
    st.sampled_from(FLOATS),
    st.booleans(),
    st.none(),
    st.sampled_from(DATETIMES + ODD_DATETIMES),
)
geo_points = st.builds(
    lambda lon, lat: {"lon": lon, "lat": lat}, st.sampled_from(GRID), st.sampled_from(GRID)
)
# anything, a level or two deep: arrays of arrays, arrays holding nulls, objects
anything = st.recursive(
    st.one_of(scalars, geo_points),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["n", "lang"]), inner, max_size=2),
    ),
    max_leaves=4,
)


def mostly(main: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Values of one kind most of the time; else arrays of them, nulls, or anything."""
    return st.one_of(
        main, main, main, st.lists(st.one_of(main, main, st.none()), max_size=3), anything
    )


def optional(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


meta = optional({"lang": mostly(st.sampled_from(STRINGS)), "n": mostly(st.sampled_from(INTS))})
offer = optional(
    {
        "price": mostly(st.sampled_from(FLOATS + INTS)),
        "kind": mostly(st.sampled_from(STRINGS)),
        "tags": st.lists(st.sampled_from(STRINGS), max_size=3),
        "at": mostly(geo_points),
    }
)
payloads = optional(
    {
        "s": mostly(st.sampled_from(STRINGS)),
        "i": mostly(st.sampled_from(INTS)),
        "f": mostly(st.sampled_from(FLOATS)),
        "b": mostly(st.booleans()),
        "d": mostly(st.sampled_from(DATETIMES + ODD_DATETIMES)),
        "tags": st.one_of(
            st.lists(st.one_of(st.sampled_from(STRINGS), st.none()), max_size=4), anything
        ),
        "meta": st.one_of(meta, meta, st.lists(meta, max_size=2), anything),
        "offers": st.one_of(
            st.lists(offer, max_size=3), st.lists(offer, max_size=3), offer, anything
        ),
        "g": mostly(geo_points),
        "x": anything,
    }
)

# --- filters ------------------------------------------------------------------------------------

TOP_KEYS = ["s", "i", "f", "b", "d", "tags", "tags[]", "meta", "meta.lang", "meta.n", "offers",
            "offers[].price", "offers[].kind", "offers[].tags", "offers.kind", "g", "x", "missing",
            "meta[].lang"]  # fmt: skip
OFFER_KEYS = ["price", "kind", "tags", "at", "missing"]
META_KEYS = ["lang", "n", "missing"]


def _bounds(values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    names = st.sampled_from(["gt", "gte", "lt", "lte"])
    return st.dictionaries(names, values, max_size=2)  # no bound at all: any value of the kind


def _point() -> st.SearchStrategy[dict[str, float]]:
    return st.builds(
        lambda lon, lat: {"lon": lon, "lat": lat},
        st.sampled_from([*GRID, -2.5, 0.5]),
        st.sampled_from([*GRID, -2.5, 0.5]),
    )


def _ring() -> st.SearchStrategy[dict[str, Any]]:
    def closed(points: list[dict[str, float]]) -> dict[str, Any]:
        return {"points": [*points, points[0]]}

    return st.lists(_point(), min_size=3, max_size=5).map(closed)


def leaf(keys: list[str], ids: bool) -> st.SearchStrategy[dict[str, Any]]:
    key = st.sampled_from(keys)
    field = [
        st.builds(lambda k, v: {"key": k, "match": {"value": v}}, key,
                  st.one_of(st.sampled_from(STRINGS), st.sampled_from(INTS), st.booleans())),
        st.builds(lambda k, v: {"key": k, "match": {"any": v}}, key,
                  st.one_of(st.lists(st.sampled_from(STRINGS), max_size=3, unique=True),
                            st.lists(st.sampled_from(INTS), max_size=3, unique=True))),
        st.builds(lambda k, v: {"key": k, "match": {"except": v}}, key,
                  st.one_of(st.lists(st.sampled_from(STRINGS), max_size=3, unique=True),
                            st.lists(st.sampled_from(INTS), max_size=3, unique=True))),
        st.builds(lambda k, b: {"key": k, "range": b}, key,
                  _bounds(st.sampled_from(INTS + FLOATS))),
        st.builds(lambda k, b: {"key": k, "range": b}, key,
                  _bounds(st.sampled_from(DATETIMES))),
        st.builds(lambda k, b: {"key": k, "values_count": b}, key, _bounds(st.integers(0, 3))),
        st.builds(lambda k: {"is_empty": {"key": k}}, key),
        st.builds(lambda k: {"is_null": {"key": k}}, key),
        st.builds(lambda k, f: {"key": k, "is_empty": f}, key, st.booleans()),
        st.builds(lambda k, f: {"key": k, "is_null": f}, key, st.booleans()),
        st.builds(lambda k, a, b: {"key": k, "geo_bounding_box": {"top_left": a,
                                                                   "bottom_right": b}},
                  key, _point(), _point()),
        st.builds(lambda k, c, r: {"key": k, "geo_radius": {"center": c, "radius": r}},
                  key, _point(), st.sampled_from([0.0, 100_000.0, 111_195.0, 250_000.0])),
        st.builds(lambda k, e, holes: {"key": k, "geo_polygon": {"exterior": e,
                                                                 "interiors": holes}},
                  key, _ring(), st.lists(_ring(), max_size=1)),
    ]  # fmt: skip
    if ids:  # about the point, not its payload: refused inside `nested`
        field.append(st.builds(lambda xs: {"has_id": xs}, st.lists(st.integers(0, 12), max_size=4)))
        field.append(st.builds(lambda name: {"has_vector": name}, st.sampled_from(["a", "b"])))
    return st.one_of(*field)


def group(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.lists(inner, max_size=2), inner)


def tree(leaves: st.SearchStrategy[dict[str, Any]], max_leaves: int) -> st.SearchStrategy[Any]:
    def extend(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
        min_should = st.builds(
            lambda cs, n: {"conditions": cs, "min_count": n},
            st.lists(inner, max_size=3),
            st.integers(1, 2),
        )
        return st.builds(
            lambda must, should, must_not, ms: {
                k: v
                for k, v in (("must", must), ("should", should), ("must_not", must_not),
                             ("min_should", ms))
                if v is not None
            },
            group(inner), group(inner), group(inner), st.one_of(st.none(), min_should),
        )  # fmt: skip

    return st.recursive(leaves, extend, max_leaves=max_leaves).map(
        lambda c: c if set(c) <= {"must", "should", "must_not", "min_should"} else {"must": [c]}
    )


def nested(key: str, keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda k, f: {"nested": {"key": k, "filter": f}},
        st.sampled_from([key, f"{key}[]"]),
        tree(leaf(keys, ids=False), max_leaves=3),
    )


top_leaves = st.one_of(
    leaf(TOP_KEYS, ids=True),
    leaf(TOP_KEYS, ids=True),
    nested("offers", OFFER_KEYS),
    nested("meta", META_KEYS),
)
filters = tree(top_leaves, max_leaves=6)

# --- the comparison -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local() -> Iterator[QdrantClient]:
    client = QdrantClient(":memory:")
    yield client
    client.close()


def _vectors(i: int) -> dict[str, list[float]]:
    """Every point has vector "a"; one in three lacks "b" (for has_vector)."""
    both = {"a": [1.0, float(i)], "b": [float(i), 1.0]}
    return both if i % 3 != 1 else {"a": both["a"]}


def _fill(http: httpx.Client, local: QdrantClient, items: list[dict[str, Any]], index: str) -> str:
    name = fresh_name("lm")
    params = {"size": 2, "distance": "Dot"}
    ok(http.put(f"/collections/{name}", json={"vectors": {"a": params, "b": params}}))
    if index == "before":
        for key, schema in INDEXES.items():
            create_index(http, name, key, schema)
    ids = list(range(len(items)))
    points = [
        {"id": i, "vector": _vectors(i), "payload": p} for i, p in zip(ids, items, strict=True)
    ]
    ok(http.put(f"/collections/{name}/points", params={"wait": "true"}, json={"points": points}))
    if index == "after":
        for key, schema in INDEXES.items():
            create_index(http, name, key, schema)
    config = models.VectorParams(size=2, distance=models.Distance.DOT)
    local.create_collection(name, vectors_config={"a": config, "b": config})
    local.upsert(name, [models.PointStruct(**p) for p in points])
    return name


def _local_ids(local: QdrantClient, name: str, flt: dict[str, Any]) -> tuple[int, list[Any]]:
    parsed = models.Filter.model_validate(flt)
    n = local.count(name, count_filter=parsed, exact=True).count
    records, _ = local.scroll(name, scroll_filter=parsed, limit=1000, with_payload=False)
    return n, [r.id for r in records]


def _compare(http: httpx.Client, local: QdrantClient, items: list[dict[str, Any]],
             flts: list[dict[str, Any]], index: str) -> None:  # fmt: skip
    name = _fill(http, local, items, index)
    try:
        for flt in flts:
            want_count, want_ids = _local_ids(local, name, flt)
            got_ids = scroll_ids(http, name, flt, limit=7)
            context = {"filter": flt, "payloads": dict(enumerate(items)), "index": index}
            assert got_ids == want_ids, context
            assert count(http, name, flt) == want_count, context
    finally:
        ok(http.delete(f"/collections/{name}"))
        local.delete_collection(name)


_cases = (
    st.lists(payloads, min_size=1, max_size=12),
    st.lists(filters, min_size=1, max_size=6),
    st.sampled_from(["none", "before", "after"]),
)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(*_cases)
def test_filters_select_what_local_mode_selects(
    mhttp: httpx.Client, local: QdrantClient, items: list[dict[str, Any]],
    flts: list[dict[str, Any]], index: str,
) -> None:  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # local mode warns about payload indexes
        _compare(mhttp, local, items, flts, index)


@pytest.mark.slow
@pytest.mark.timeout(1800)
@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(*_cases)
def test_filters_select_what_local_mode_selects_many(
    mhttp: httpx.Client, local: QdrantClient, items: list[dict[str, Any]],
    flts: list[dict[str, Any]], index: str,
) -> None:  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        _compare(mhttp, local, items, flts, index)
