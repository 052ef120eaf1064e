"""Malformed and unsupported filters answer 400 naming the part at fault, on every route that
takes a filter; deep nesting is a 400 too, and the server serves on."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from tests.filtering.conftest import fresh_name
from tests.filtering.reference import count, create, error_of, ok, upsert

if TYPE_CHECKING:
    import httpx

GOOD = {"key": "a", "match": {"value": "x"}}


def _box(top_left: dict[str, Any], bottom_right: dict[str, Any]) -> dict[str, Any]:
    return {"key": "loc", "geo_bounding_box": {"top_left": top_left, "bottom_right": bottom_right}}


def _ring(points: list[tuple[float, float]]) -> dict[str, Any]:
    return {"points": [{"lon": lon, "lat": lat} for lon, lat in points]}


def _polygon(
    exterior: list[tuple[float, float]], interiors: tuple[list[tuple[float, float]], ...] = ()
) -> dict[str, Any]:
    shape = {"exterior": _ring(exterior), "interiors": [_ring(r) for r in interiors]}
    return {"key": "loc", "geo_polygon": shape}


# (what, filter, text the error message must contain)
MALFORMED: list[tuple[str, Any, str]] = [
    (
        "bad datetime bound",
        {"must": [GOOD, {"key": "a", "range": {"gte": "soon"}}]},
        "filter.must[1].range.gte",
    ),
    ("bool bound", {"must": [{"key": "a", "range": {"gte": True}}]}, "filter.must[0].range.gte"),
    (
        "mixed bounds",
        {"must": [{"key": "a", "range": {"gte": 1, "lt": "2024-01-01T00:00:00Z"}}]},
        "filter.must[0].range",
    ),
    ("unknown bound", {"must": [{"key": "a", "range": {"above": 1}}]}, "filter.must[0].range"),
    (
        "float match",
        {"must": [{"key": "a", "match": {"value": 1.5}}]},
        "filter.must[0].match.value",
    ),
    (
        "object match",
        {"must": [{"key": "a", "match": {"value": {"x": 1}}}]},
        "filter.must[0].match.value",
    ),
    ("mixed any", {"must": [{"key": "a", "match": {"any": ["a", 1]}}]}, "filter.must[0].match.any"),
    (
        "except not a list",
        {"must": [{"key": "a", "match": {"except": "a"}}]},
        "filter.must[0].match.except",
    ),
    (
        "two match modes",
        {"must": [{"key": "a", "match": {"value": "a", "any": ["b"]}}]},
        "filter.must[0].match",
    ),
    ("empty match", {"must": [{"key": "a", "match": {}}]}, "filter.must[0].match"),
    ("key not a string", {"must": [{"key": 5, "match": {"value": "a"}}]}, "filter.must[0].key"),
    ("empty key step", {"must": [{"key": "a..b", "match": {"value": "a"}}]}, "filter.must[0].key"),
    ("key without condition", {"must": [{"key": "a"}]}, "filter.must[0]"),
    ("unknown condition", {"should": [GOOD, {"colour": "red"}]}, "filter.should[1]"),
    ("unknown filter field", {"must": [], "maybe": []}, "maybe"),
    ("must not a list", {"must": 5}, "filter.must"),
    ("negative has_id", {"must_not": [{"has_id": [1, -1]}]}, "filter.must_not[0].has_id[1]"),
    ("bad uuid has_id", {"must": [{"has_id": ["nope"]}]}, "filter.must[0].has_id[0]"),
    (
        "negative values_count",
        {"must": [{"key": "a", "values_count": {"lt": -1}}]},
        "filter.must[0].values_count.lt",
    ),
    (
        "float values_count",
        {"must": [{"key": "a", "values_count": {"gt": 1.5}}]},
        "filter.must[0].values_count.gt",
    ),
    ("min_should without count", {"min_should": {"conditions": [GOOD]}}, "filter.min_should"),
    (
        "negative min_count",
        {"min_should": {"conditions": [GOOD], "min_count": -1}},
        "filter.min_should.min_count",
    ),
    ("is_empty key", {"must": [{"is_empty": {"key": 5}}]}, "filter.must[0].is_empty.key"),
    ("is_null flag", {"must": [{"key": "a", "is_null": "yes"}]}, "filter.must[0].is_null"),
    (
        "deep part",
        {"should": [{"must": [GOOD, {"must_not": [{"key": "a", "range": {"lt": "x"}}]}]}]},
        "filter.should[0].must[1].must_not[0].range.lt",
    ),
    ("filter not an object", [GOOD], "filter"),
    # full-text match (zoro/payload/tokenize.py): the query must be a string
    ("text not a string", {"must": [{"key": "a", "match": {"text": 5}}]}, "must[0].match.text"),
    ("phrase a list", {"must": [{"key": "a", "match": {"phrase": ["a"]}}]}, "must[0].match.phrase"),
    ("text, value", {"must": [{"key": "a", "match": {"text": "a", "value": 1}}]}, "must[0].match"),
    (
        "zero min_count",
        {"min_should": {"conditions": [GOOD], "min_count": 0}},
        "filter.min_should.min_count",
    ),
    # geo and nested conditions
    (
        "latitude out of range",
        {"must": [{"key": "loc", "geo_radius": {"center": {"lon": 0, "lat": 91}, "radius": 9}}]},
        "filter.must[0].geo_radius.center.lat",
    ),
    (
        "longitude out of range",
        {"must": [_box({"lon": -181, "lat": 1}, {"lon": 1, "lat": 0})]},
        "filter.must[0].geo_bounding_box.top_left.lon",
    ),
    (
        "negative radius",
        {"must": [{"key": "loc", "geo_radius": {"center": {"lon": 0, "lat": 0}, "radius": -1}}]},
        "filter.must[0].geo_radius.radius",
    ),
    (
        "geo point without lat",
        {"must": [_box({"lon": 0}, {"lon": 1, "lat": 0})]},
        "filter.must[0].geo_bounding_box.top_left",
    ),
    (
        "geo coordinate not a number",
        {"must": [_box({"lon": 0, "lat": "1"}, {"lon": 1, "lat": 0})]},
        "filter.must[0].geo_bounding_box.top_left.lat",
    ),
    (
        "radius missing",
        {"must": [{"key": "loc", "geo_radius": {"center": {"lon": 0, "lat": 0}}}]},
        "filter.must[0].geo_radius",
    ),
    (
        "ring too short",
        {"must": [_polygon([(0, 0), (1, 0), (0, 0)])]},
        "filter.must[0].geo_polygon.exterior.points",
    ),
    (
        "ring not closed",
        {"must": [_polygon([(0, 0), (1, 0), (1, 1), (0, 1)])]},
        "filter.must[0].geo_polygon.exterior.points",
    ),
    (
        "interior ring not closed",
        {"must": [_polygon([(0, 0), (4, 0), (4, 4), (0, 0)], ([(1, 1), (2, 1), (2, 2), (1, 2)],))]},
        "filter.must[0].geo_polygon.interiors[0].points",
    ),
    (
        "has_id inside nested",
        {"must": [{"nested": {"key": "o", "filter": {"must": [GOOD, {"has_id": [1]}]}}}]},
        "filter.must[0].nested.filter.must[1].has_id",
    ),
    (
        "has_vector deep inside nested",
        {"must": [{"nested": {"key": "o", "filter": {"should": [{"must": {"has_vector": ""}}]}}}]},
        "filter.must[0].nested.filter.should[0].must.has_vector",
    ),
    (
        "nested without filter",
        {"must": [{"nested": {"key": "o"}}]},
        "filter.must[0].nested",
    ),
    (
        "nested unknown field",
        {"must": [{"nested": {"key": "o", "filter": {}, "extra": 1}}]},
        "filter.must[0].nested",
    ),
]  # fmt: skip

UNSUPPORTED: list[tuple[str, Any, str]] = [
    ("prefix", {"key": "a", "match": {"prefix": "he"}}, "prefix"),
]


@pytest.fixture(scope="module")
def coll(mhttp: httpx.Client) -> str:
    name = fresh_name("bad")
    create(mhttp, name, 2)
    upsert(
        mhttp, name, [1, 2, 3], [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [{"a": "x"}, {"a": "y"}, {}]
    )
    return name


def _routes(name: str, flt: Any) -> list[tuple[str, dict[str, Any], str]]:
    """(path, body, how the route prefixes the filter's path in its messages)."""
    q = [0.5, 0.5]
    return [
        (f"/collections/{name}/points/count", {"filter": flt}, "filter"),
        (f"/collections/{name}/points/scroll", {"filter": flt, "limit": 2}, "filter"),
        (f"/collections/{name}/points/query", {"query": q, "filter": flt}, "filter"),
        (f"/collections/{name}/points/search", {"vector": q, "limit": 2, "filter": flt}, "filter"),
        (
            f"/collections/{name}/points/query/batch",
            {"searches": [{"query": q}, {"query": q, "filter": flt}]},
            "searches[1].filter",
        ),
        (
            f"/collections/{name}/points/search/batch",
            {"searches": [{"vector": q, "limit": 1}, {"vector": q, "limit": 1, "filter": flt}]},
            "searches[1].filter",
        ),
        (f"/collections/{name}/points/delete?wait=true", {"filter": flt}, "filter"),
    ]


def _check_400(http: httpx.Client, name: str, flt: Any, needle: str) -> None:
    for path, body, prefix in _routes(name, flt):
        r = http.post(path, json=body)
        assert r.status_code == 400, (path, r.status_code, r.text)
        message = error_of(r)
        expected = prefix + needle.removeprefix("filter") if needle.startswith("filter") else needle
        assert expected in message, (path, message)


@pytest.mark.parametrize(("what", "flt", "needle"), MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_filter_names_the_part(
    mhttp: httpx.Client, coll: str, what: str, flt: Any, needle: str
) -> None:
    _check_400(mhttp, coll, flt, needle)
    assert count(mhttp, coll, None) == 3  # the delete route deleted nothing


@pytest.mark.parametrize(("what", "cond", "needle"), UNSUPPORTED, ids=[c[0] for c in UNSUPPORTED])
def test_unsupported_condition_is_refused_by_name(
    mhttp: httpx.Client, coll: str, what: str, cond: Any, needle: str
) -> None:
    for flt in ({"must": [cond]}, {"should": cond}, {"must_not": [GOOD, {"must": [cond]}]}):
        for path, body, _ in _routes(coll, flt):
            r = mhttp.post(path, json=body)
            assert r.status_code == 400, (path, r.text)
            assert needle in error_of(r), (path, error_of(r))
    assert count(mhttp, coll, None) == 3


def _nest(depth: int, shape: str) -> str:
    """A filter nested `depth` levels deep, as JSON text (too deep for json.dumps)."""
    good = json.dumps({"must": [GOOD]})
    opens, closes = [], []
    for i in range(depth):
        if shape == "list":
            opens.append('{"must": [')
            closes.append("]}")
        elif shape == "object":
            opens.append('{"should": ')
            closes.append("}")
        elif i % 2:
            opens.append('{"must_not": [')
            closes.append("]}")
        else:
            opens.append('{"min_should": {"conditions": [')
            closes.append('], "min_count": 1}}')
    return "".join(opens) + good + "".join(reversed(closes))


def _post(http: httpx.Client, path: str, body: dict[str, Any], flt_text: str) -> httpx.Response:
    """POST `body` with the placeholder "FILTER" replaced by raw JSON text."""
    text = json.dumps(body).replace('"FILTER"', flt_text)
    return http.post(path, content=text.encode(), headers={"content-type": "application/json"})


@pytest.mark.parametrize("depth", [100, 1000])
@pytest.mark.parametrize("shape", ["list", "object", "mixed"])
def test_deep_nesting_is_a_400(mhttp: httpx.Client, coll: str, depth: int, shape: str) -> None:
    flt = _nest(depth, shape)
    for path, body, _ in _routes(coll, "FILTER"):
        r = _post(mhttp, path, body, flt)
        assert r.status_code == 400, (path, r.status_code, r.text[:300])
        assert error_of(r)
    assert count(mhttp, coll, None) == 3


def test_moderate_nesting_still_works(mhttp: httpx.Client, coll: str) -> None:
    path = f"/collections/{coll}/points/count"
    r = _post(mhttp, path, {"filter": "FILTER"}, _nest(20, "list"))
    assert ok(r)["count"] == 1
    r = _post(mhttp, path, {"filter": {"must_not": "FILTER"}}, _nest(20, "object"))
    assert ok(r)["count"] == 2


def test_server_still_serves_afterwards(mhttp: httpx.Client, coll: str) -> None:
    assert mhttp.get("/healthz").status_code == 200
    assert count(mhttp, coll, {"must": GOOD}) == 1
    r = mhttp.post(
        f"/collections/{coll}/points/query",
        json={"query": [1.0, 0.0], "limit": 1, "filter": {"must": GOOD}},
    )
    assert [p["id"] for p in ok(r)["points"]] == [1]
