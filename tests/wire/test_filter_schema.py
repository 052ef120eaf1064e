"""The filter language is the `Filter` component's (zoro/wire/filters.py): the schema takes what
Qdrant's clients send (nulls included), refuses what the services refused, words each refusal
at the part at fault; `filters.parse` converts what it took and keeps the rules it cannot say,
also when a caller's route does not check the body first."""

from __future__ import annotations

from typing import Any

import pytest
from qdrant_client import models

from zoro.errors import BadRequest
from zoro.payload.conditions import Filter, HasId, IsEmpty, Match, Nested, Range, ValuesCount
from zoro.services import filters
from zoro.settings import LimitSettings
from zoro.wire import bounds
from zoro.wire.check import check
from zoro.wire.filters import RULE_EXAMPLES
from zoro.wire.requests import RULE_EXAMPLES as ROUTE_RULE_EXAMPLES

LIMITS = LimitSettings()
GOOD = {"key": "a", "match": {"value": "x"}}


def _both(flt: Any) -> Filter | None:
    """Through a converted route (count_points) and through `parse` alone: the same result."""
    checked = check("count_points", {"filter": flt}, LIMITS)
    via_route = filters.parse(checked["filter"], checked=True)
    assert filters.parse(flt) == via_route
    return via_route


def _refused(flt: Any) -> tuple[str, str]:
    """The route's message and parse's alone."""
    with pytest.raises(BadRequest) as route:
        filters.parse(check("count_points", {"filter": flt}, LIMITS)["filter"], checked=True)
    with pytest.raises(BadRequest) as alone:
        filters.parse(flt)
    return str(route.value), str(alone.value)


def test_a_qdrant_client_filter_with_its_nulls_is_taken() -> None:
    ring = models.GeoLineString(
        points=[models.GeoPoint(lon=x, lat=y) for x, y in ((0, 0), (1, 0), (1, 1), (0, 0))]
    )
    flt = models.Filter(
        must=[
            models.FieldCondition(key="a", match=models.MatchValue(value="x")),
            models.FieldCondition(key="n", range=models.Range(gte=1)),
            models.FieldCondition(key="d", range=models.DatetimeRange(gte="2024-01-01T00:00:00Z")),
            models.FieldCondition(key="c", values_count=models.ValuesCount(lt=3)),
            models.IsEmptyCondition(is_empty=models.PayloadField(key="e")),
            models.HasIdCondition(has_id=[1, "f47ac10b-58cc-4372-a567-0e02b2c3d479"]),
            models.NestedCondition(
                nested=models.Nested(
                    key="o",
                    filter=models.Filter(
                        must=[models.FieldCondition(key="p", match=models.MatchAny(any=[1, 2]))]
                    ),
                )
            ),
            models.FieldCondition(key="g", geo_polygon=models.GeoPolygon(exterior=ring)),
            models.HasVectorCondition(has_vector=""),
        ],
        must_not=models.FieldCondition(key="t", match=models.MatchText(text="hi")),
        min_should=models.MinShould(
            conditions=[models.FieldCondition(key="x", match=models.MatchExcept(**{"except": []}))],
            min_count=1,
        ),
    )
    body = flt.model_dump(mode="json", by_alias=True)  # every unset field as null
    assert body["should"] is None
    assert body["must"][0]["range"] is None
    parsed = _both(body)
    assert parsed is not None
    assert parsed.must[1] == Range(parsed.must[1].key, gte=1.0)  # type: ignore[union-attr]
    assert isinstance(parsed.must[2], Range)
    assert parsed.must[2].datetime
    assert parsed.must[3] == ValuesCount(parsed.must[3].key, lt=3)  # type: ignore[union-attr]
    assert isinstance(parsed.must[4], IsEmpty)
    assert isinstance(parsed.must[5], HasId)
    assert isinstance(parsed.must[6], Nested)
    assert len(parsed.must_not) == 1
    assert parsed.min_should is not None


@pytest.mark.parametrize(
    "flt",
    [
        {},
        {"must": None, "should": None, "must_not": None, "min_should": None},
        {"must": GOOD},  # one condition instead of a list
        {"should": [{}, {"must": None}]},  # an empty filter as a condition
        {"must": [{"key": "a", "match": {"value": "x", "any": None, "text": None}}]},
        {"must": [{"key": "a", "match": {"value": True}}]},
        {"must": [{"key": "a", "match": {"value": -(2**63)}}]},
        {"must": [{"key": "a", "match": {"any": []}}]},
        {"must": [{"key": "a", "match": {"prefix": None, "phrase": "b c"}}]},
        {"must": [{"key": "a", "range": {}, "is_null": False}]},
        {"must": [{"key": "a[].b", "datetime_range": {"lt": "2024-01-01"}}]},
        {"must": [{"nested": {"key": "o[]", "filter": {"must": [{"is_null": {"key": "x"}}]}}}]},
        {"min_should": {"conditions": GOOD, "min_count": bounds.MIN_SHOULD_MAX}},
    ],
)
def test_qdrant_valid_filters_are_taken(flt: dict[str, Any]) -> None:
    assert isinstance(_both(flt), Filter)


def test_a_single_value_match_converts_as_before() -> None:
    parsed = _both({"must": {"key": "a", "match": {"any": [1, 2], "value": None}}})
    assert parsed is not None
    (match,) = parsed.must
    assert isinstance(match, Match)
    assert match.mode == "any"
    assert match.kind is int
    assert match.targets == frozenset({1, 2})


@pytest.mark.parametrize(
    ("flt", "message"),
    [
        ({"must": [{"key": "a"}]}, "filter.must[0]: must be a key with at least one of match"),
        (
            {"must": [{"key": "a", "match": {"value": "x"}, "zz": 1}]},
            "filter.must[0]: unknown field(s) 'zz'",
        ),
        ({"must": [{"key": "a", "is_null": "yes"}]}, "filter.must[0].is_null: must be true"),
        # a condition is told apart by the first of key, has_id, ... it has; else it is a filter
        ({"must": [{"has_id": [1], "key": "a"}]}, "filter.must[0]: unknown field(s) 'has_id'"),
        ({"must": [{"colour": "red"}]}, "filter.must[0]: unknown field(s) 'colour'"),
        ({"must": [{"key": "a..b", "match": {"value": 1}}]}, "filter.must[0].key: must be a"),
        (
            {"must": [{"key": "a", "match": {"value": 1, "text": "b"}}]},
            "filter.must[0].match: must be an object with exactly one of value, any",
        ),
        (
            {"must": [{"key": "a", "match": {"value": 2**63}}]},
            "filter.must[0].match.value: must be between -9223372036854775808 and",
        ),
        (
            {"must": [{"key": "a", "match": {"substring": "b"}}]},
            "filter.must[0].match: unknown field(s) 'substring'",
        ),
        ({"must": [{"key": "a", "match": {"prefix": "b"}}]}, "filter.must[0].match.prefix: not"),
        (
            {"must": [{"key": "a", "datetime_range": {"gt": 5}}]},
            "filter.must[0].datetime_range.gt: must be a string",
        ),
        ({"must": 5}, "filter.must: must be a list or a JSON object"),
        ({"must": [], "maybe": 1}, "filter: unknown field(s) 'maybe'"),
        ({"min_should": {"conditions": [], "min_count": 0}}, "filter.min_should.min_count: must"),
        (
            {"must": {"nested": {"key": "o", "filter": {"must": {"has_id": [1]}}}}},
            "filter.must.nested.filter.must.has_id: not allowed inside a nested filter",
        ),
    ],
)
def test_a_refusal_names_the_part_at_fault(flt: Any, message: str) -> None:
    route, alone = _refused(flt)
    assert alone.startswith(message), alone
    assert route == alone  # count_points words its errors from the field, as parse does


@pytest.mark.parametrize("rule", sorted(RULE_EXAMPLES))
def test_each_rule_is_kept_by_the_conversion(rule: str) -> None:
    """The schema takes each rule's example; `parse` refuses it (checked or not), except the
    rule the collection answers as the selection runs (the constraint test sends that one)."""
    flt = RULE_EXAMPLES[rule]
    check("count_points", {"filter": flt}, LIMITS)
    if rule != "has-vector-name":
        _refused(flt)
    for route in ("count_points", "facet", "search_matrix_pairs", "search_matrix_offsets"):
        assert rule in ROUTE_RULE_EXAMPLES[route]


def test_depth_is_a_rule_the_schema_walks_to() -> None:
    """A filter far deeper than the limit passes the recursive schema and meets the rule."""
    deep: dict[str, Any] = dict(GOOD)
    for _ in range(1000):
        deep = {"must": [deep]}
    _route, alone = _refused(deep)
    assert "levels deep" in alone
    shallow: dict[str, Any] = dict(GOOD)
    for _ in range(bounds.FILTER_MAX_DEPTH + 1):  # the outermost filter is level 0
        shallow = {"must": [shallow]}
    assert _both(shallow) is not None


def test_whole_integers_are_a_rule() -> None:
    for flt in (
        {"must": [{"key": "a", "match": {"any": [1, 2.0]}}]},
        {"must": [{"key": "a", "values_count": {"gte": 1.0}}]},
        {"min_should": {"conditions": [GOOD], "min_count": 1.0}},
        {"must": [{"has_id": [3.0]}]},
    ):
        _refused(flt)
