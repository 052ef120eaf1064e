"""Generated filters against a reference written from the spec: count, scroll (paged) and
delete-by-filter, on collections without indexes, with indexes declared before the data, built
over existing data, and with indexes of unexpected kinds (the `others` path)."""

from __future__ import annotations

import itertools
import random
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from tests.filtering.reference import (
    INDEXES_USUAL,
    create,
    create_index,
    filters,
    is_number,
    kind,
    ok,
    parse_instant,
    payloads,
    random_payload,
    scroll_all,
    scroll_ids,
    selected,
    upsert,
    values_at,
)
from tests.filtering.reference import count as server_count

if TYPE_CHECKING:
    import httpx

    from tests.filtering.reference import Payload, PointId

# The strategies' reprs are long; hypothesis warns about that when it prints them.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

N = 300
DIM = 3
# Unexpected kinds: most values are of another kind than the index holds.
INDEXES_ODD = {
    "s": "datetime",
    "meta.lang": "integer",
    "tags": "integer",
    "offers[].kind": "float",
    "x": "integer",
    "i": "float",
    "meta.n": "keyword",
    "f": "integer",
    "offers[].price": "integer",
    "d": "keyword",
}
_fresh = itertools.count()


@dataclass
class Dataset:
    points: dict[PointId, Payload]  # what the server should hold
    names: list[str]  # collections holding exactly these points


def _vectors(n: int, seed: int) -> list[list[float]]:
    rows: list[list[float]] = np.random.default_rng(seed).normal(size=(n, DIM)).round(3).tolist()
    return rows


@pytest.fixture(scope="module")
def dataset(mhttp: httpx.Client) -> Dataset:
    rng = random.Random(20240611)
    first: dict[PointId, Payload] = {i: random_payload(rng) for i in range(N)}
    rewritten: dict[PointId, Payload] = {i: random_payload(rng) for i in range(0, N, 5)}
    deleted = list(range(N - 20, N))
    points: dict[PointId, Payload] = {**first, **rewritten}
    for i in deleted:
        del points[i]
    names = ["plain", "usual_before", "usual_after", "odd_after"]
    for name in names:
        create(mhttp, name, DIM)
    for key, schema in INDEXES_USUAL.items():
        create_index(mhttp, "usual_before", key, schema)
    for name in names:
        upsert(mhttp, name, list(first), _vectors(N, 1), list(first.values()), chunk=100)
        upsert(mhttp, name, list(rewritten), _vectors(len(rewritten), 2), list(rewritten.values()))
        ok(
            mhttp.post(
                f"/collections/{name}/points/delete",
                params={"wait": "true"},
                json={"points": deleted},
            )
        )
    for key, schema in INDEXES_USUAL.items():
        create_index(mhttp, "usual_after", key, schema)
    for key, schema in INDEXES_ODD.items():
        create_index(mhttp, "odd_after", key, schema)
    for name in names:
        assert scroll_all(mhttp, name) == points
    return Dataset(points, names)


def _holds_indexed(value: Any, schema: str) -> bool:
    if schema in ("keyword", "uuid"):
        return kind(value) is str
    if schema == "integer":
        return kind(value) is int
    if schema == "float":
        return is_number(value)
    if schema == "bool":
        return kind(value) is bool
    return parse_instant(value) is not None


def test_payload_schema_reports_indexes_and_points(mhttp: httpx.Client, dataset: Dataset) -> None:
    for name, indexes in (
        ("usual_before", INDEXES_USUAL),
        ("usual_after", INDEXES_USUAL),
        ("odd_after", INDEXES_ODD),
    ):
        schema = ok(mhttp.get(f"/collections/{name}"))["payload_schema"]
        assert set(schema) == set(indexes)
        for key, kind_name in indexes.items():
            expected = sum(
                any(_holds_indexed(v, kind_name) for v in values_at(p, key))
                for p in dataset.points.values()
            )
            assert schema[key]["data_type"] == kind_name
            assert schema[key]["points"] == expected, (name, key)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flt=filters(range(N)), limit=st.sampled_from([9, 64, 1000]))
def test_count_and_scroll_equal_the_reference(
    mhttp: httpx.Client, dataset: Dataset, flt: dict[str, Any], limit: int
) -> None:
    expected = sorted(selected(flt, dataset.points))
    target(float(min(len(expected), len(dataset.points) - len(expected))))
    for name in dataset.names:
        assert server_count(mhttp, name, flt) == len(expected), name
        page = limit if name in ("plain", "usual_before") else 1000
        got = scroll_ids(mhttp, name, flt, limit=page)
        assert got == expected, name


def test_unindexed_filter_keys_are_reported(mhttp: httpx.Client, dataset: Dataset) -> None:
    flt = {
        "must": [
            {"key": "meta.missing", "match": {"value": "a"}},
            {"key": "s", "match": {"value": "a"}},
        ]
    }
    server_count(mhttp, "usual_after", flt)
    info = ok(mhttp.get("/collections/usual_after"))
    assert any("meta.missing" in w["message"] for w in info["warnings"])
    assert not any("`s`" in w["message"] for w in info["warnings"])


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    data=st.lists(payloads(), min_size=1, max_size=40),
    flt=filters(range(40)),
    indexed=st.booleans(),
)
def test_generated_payloads_and_delete_by_filter(
    mhttp: httpx.Client, data: list[Payload], flt: dict[str, Any], indexed: bool
) -> None:
    """Fresh small collections of generated payloads: count/scroll, then delete by the filter:
    exactly the reference's points go, and the rest stays as it was."""
    name = f"gen{next(_fresh)}"
    create(mhttp, name, DIM)
    try:
        if indexed:
            for key, schema in INDEXES_USUAL.items():
                create_index(mhttp, name, key, schema)
        points: dict[PointId, Payload] = dict(enumerate(data))
        upsert(mhttp, name, list(points), _vectors(len(points), 3), data)
        expected = selected(flt, points)
        assert server_count(mhttp, name, flt) == len(expected)
        assert scroll_ids(mhttp, name, flt, limit=7) == sorted(expected)
        ok(
            mhttp.post(
                f"/collections/{name}/points/delete", params={"wait": "true"}, json={"filter": flt}
            )
        )
        left = scroll_all(mhttp, name)
        assert left == {i: p for i, p in points.items() if i not in expected}
        assert server_count(mhttp, name, None) == len(points) - len(expected)
        assert server_count(mhttp, name, flt) == 0
    finally:
        ok(mhttp.delete(f"/collections/{name}"))


def test_delete_by_filter_on_a_copy_of_the_data_set(mhttp: httpx.Client, dataset: Dataset) -> None:
    flt = {
        "should": [{"key": "s", "match": {"any": ["a", "b"]}}, {"key": "i", "range": {"gte": 2}}],
        "must_not": {"is_null": {"key": "x"}},
    }
    for indexed in (False, True):
        name = f"copy{next(_fresh)}"
        create(mhttp, name, DIM)
        if indexed:
            for key, schema in INDEXES_USUAL.items():
                create_index(mhttp, name, key, schema)
        ids = list(dataset.points)
        upsert(mhttp, name, ids, _vectors(len(ids), 4), list(dataset.points.values()))
        gone = selected(flt, dataset.points)
        assert 0 < len(gone) < len(ids)
        ok(
            mhttp.post(
                f"/collections/{name}/points/delete", params={"wait": "true"}, json={"filter": flt}
            )
        )
        assert scroll_all(mhttp, name) == {i: p for i, p in dataset.points.items() if i not in gone}
        ok(mhttp.delete(f"/collections/{name}"))


def test_index_schema_forms_uuid_index_and_drop(mhttp: httpx.Client) -> None:
    name = f"forms{next(_fresh)}"
    create(mhttp, name, DIM)
    uuids = [str(uuid.UUID(int=i * 7919)) for i in range(30)]
    points: dict[PointId, Payload] = {
        i: {"u": uuids[i % 10] if i % 4 else i, "n": i % 5} for i in range(30)
    }
    upsert(mhttp, name, list(points), _vectors(30, 6), list(points.values()))
    ok(
        mhttp.put(
            f"/collections/{name}/index",
            params={"wait": "true"},
            json={"field_name": "u", "field_schema": {"type": "uuid"}},
        )
    )
    ok(
        mhttp.put(
            f"/collections/{name}/index",
            params={"wait": "true"},
            json={"field_name": "n", "field_schema": {"type": "integer"}},
        )
    )
    schema = ok(mhttp.get(f"/collections/{name}"))["payload_schema"]
    assert {k: v["data_type"] for k, v in schema.items()} == {"u": "uuid", "n": "integer"}
    assert schema["u"]["points"] == sum(1 for i in points if i % 4)
    flts: list[dict[str, Any]] = [
        {"must": {"key": "u", "match": {"value": uuids[3]}}},
        {"must": {"key": "u", "match": {"any": uuids[:4]}}},
        {"must": {"key": "u", "match": {"except": uuids[:4]}}},
        {"must": {"key": "u", "match": {"value": 8}}},
        {"should": [{"key": "n", "match": {"value": 2}}, {"key": "u", "range": {"gte": 20}}]},
    ]
    before = [scroll_ids(mhttp, name, f) for f in flts]
    assert before == [sorted(selected(f, points)) for f in flts]
    ok(mhttp.delete(f"/collections/{name}/index/u", params={"wait": "true"}))
    assert set(ok(mhttp.get(f"/collections/{name}"))["payload_schema"]) == {"n"}
    assert [scroll_ids(mhttp, name, f) for f in flts] == before
    ok(mhttp.delete(f"/collections/{name}"))


# --- cases that once disagreed with the spec (each names what went wrong) ------------------


def _two_collections(
    http: httpx.Client, points: dict[PointId, Payload], indexes: dict[str, str]
) -> tuple[str, str]:
    plain, indexed = f"kb{next(_fresh)}", f"kb{next(_fresh)}"
    for name in (plain, indexed):
        create(http, name, DIM)
    for key, schema in indexes.items():
        create_index(http, indexed, key, schema)
    for name in (plain, indexed):
        upsert(http, name, list(points), _vectors(len(points), 5), list(points.values()))
    return plain, indexed


# Once wrong: bool index answers an integer match with bool postings (True == 1 as a dict key)
# and misses the integer-valued points
def test_bool_index_with_integer_match(mhttp: httpx.Client) -> None:
    points: dict[PointId, Payload] = {1: {"b": True}, 2: {"b": 1}, 3: {"b": False}}
    plain, indexed = _two_collections(mhttp, points, {"b": "bool"})
    for flt in (
        {"must": {"key": "b", "match": {"value": 1}}},
        {"must": {"key": "b", "match": {"any": [0, 1]}}},
    ):
        assert scroll_ids(mhttp, plain, flt) == [2]
        assert scroll_ids(mhttp, indexed, flt) == [2]


# Once wrong: integer index checks match.except with float64 np.isin: integers above 2**53
# compare equal to their neighbours
def test_integer_index_except_with_big_integers(mhttp: httpx.Client) -> None:
    points: dict[PointId, Payload] = {1: {"n": 2**53 + 1}, 2: {"n": 2**53}}
    plain, indexed = _two_collections(mhttp, points, {"n": "integer"})
    flt = {"must": {"key": "n", "match": {"except": [2**53]}}}
    assert scroll_ids(mhttp, plain, flt) == [1]
    assert scroll_ids(mhttp, indexed, flt) == [1]


# Once wrong: a trailing [] is dropped to find the index, but the index (made for `tags`) holds
# scalars that `tags[]` does not walk into
def test_trailing_brackets_use_an_index_made_without_them(mhttp: httpx.Client) -> None:
    points: dict[PointId, Payload] = {1: {"tags": "x"}, 2: {"tags": ["x"]}}
    plain, indexed = _two_collections(mhttp, points, {"tags": "keyword"})
    flt = {"must": {"key": "tags[]", "match": {"value": "x"}}}
    assert scroll_ids(mhttp, plain, flt) == scroll_ids(mhttp, indexed, flt)


# Once wrong: range bounds and integer values are compared as float64: 2**53 + 1 > 2**53 is
# false on the server
def test_range_on_integers_beyond_float_precision(mhttp: httpx.Client) -> None:
    points: dict[PointId, Payload] = {1: {"n": 2**53 + 1}, 2: {"n": 2**53}}
    plain, indexed = _two_collections(mhttp, points, {"n": "integer"})
    flt = {"must": {"key": "n", "range": {"gt": 2**53}}}
    assert scroll_ids(mhttp, plain, flt) == [1]
    assert scroll_ids(mhttp, indexed, flt) == [1]


# Once wrong: is_empty over o[].a whose values are [] and null: every value is empty, but the
# server's rule (no values, or all raw values null) says no
def test_is_empty_over_projected_array(mhttp: httpx.Client) -> None:
    points: dict[PointId, Payload] = {1: {"o": [{"a": []}, {"a": None}]}, 2: {"o": [{"a": 1}]}}
    plain, _ = _two_collections(mhttp, points, {})
    assert scroll_ids(mhttp, plain, {"must": {"is_empty": {"key": "o[].a"}}}) == [1]


# Once wrong: PUT /index with field_name 'tags[]' and wait=true answers 'completed' before the
# build ends: the wait looks up 'tags[]', the index is stored under 'tags'
def test_wait_true_with_trailing_brackets_waits_for_the_build(mhttp: httpx.Client) -> None:
    name = f"wait{next(_fresh)}"
    create(mhttp, name, DIM)
    n = 20_000  # many values, so that the build takes far longer than one round trip
    payload_list: list[Payload | None] = [
        {"tags": [f"t{(i * 7 + j) % 997}" for j in range(30)]} for i in range(n)
    ]
    upsert(mhttp, name, list(range(n)), _vectors(n, 7), payload_list, chunk=5000)
    ok(
        mhttp.put(
            f"/collections/{name}/index",
            params={"wait": "true"},
            json={"field_name": "tags[]", "field_schema": "keyword"},
        )
    )
    ready = ok(mhttp.get(f"/collections/{name}"))["zoro"]["payload_indexes"]
    ok(mhttp.delete(f"/collections/{name}"))
    assert all(v["ready"] for v in ready.values()), ready


# Once wrong: a filtered scroll without an offset whose filter keeps more than 50,000 points
# returns an empty page and no next_page_offset (_scroll_selected's chunk walk starts from
# cursor=None and never runs)
def test_scroll_of_more_than_50000_selected_points(mhttp: httpx.Client) -> None:
    name = f"big{next(_fresh)}"
    create(mhttp, name, 2)
    n = 50_100
    rows = np.zeros((n, 2)).tolist()
    upsert(mhttp, name, list(range(n)), rows, [{"k": i % 10} for i in range(n)], chunk=10_000)
    flt = {"must_not": {"has_id": [0, 1]}}
    try:
        assert server_count(mhttp, name, flt) == n - 2
        assert scroll_ids(mhttp, name, flt, limit=10_000) == list(range(2, n))
    finally:
        ok(mhttp.delete(f"/collections/{name}"))
