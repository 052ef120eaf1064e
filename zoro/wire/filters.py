"""Qdrant's filter language: the `Filter` component and its conditions.

A filter holds conditions in `must`, `should`, `must_not` (each one condition or a list, or
null) and `min_should`; a condition is a field condition (a key and what its values must be),
`has_id`, `has_vector`, `is_empty`, `is_null`, `nested`, or a filter again. Inside `nested` the
same language applies without `has_id` and `has_vector` (they are about the point, not about
one object of its array), hence the `Nested*` twins of the recursive components.

What the schema cannot say is the `RULES` below (depth, ring closure, datetimes, UUIDs, whole
integers); `zoro.services.filters.parse` enforces them while it converts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from zoro.wire import bounds, rules
from zoro.wire.common import POINT_ID
from zoro.wire.schema import (
    Schema,
    any_of,
    array,
    boolean,
    integer,
    nullable,
    number,
    obj,
    ref,
    string,
    unsupported,
)

if TYPE_CHECKING:
    from zoro.settings import LimitSettings
    from zoro.wire.schema import Builder, WireRequest

# parse_key's grammar: dot-separated names, each maybe followed by `[]`
KEY: Final = {
    **string(about='a payload key path such as "meta.lang" or "offers[].price"'),
    "pattern": r"^[^.\[\]]+(\[\])?(\.[^.\[\]]+(\[\])?)*$",
}
INT64: Final = integer(low=-(2**63), high=2**63 - 1)
MATCH_MODES: Final = ("value", "any", "except", "text", "text_any", "phrase")
FIELD_CONDITIONS: Final = (
    "match",
    "range",
    "datetime_range",
    "values_count",
    "is_empty",
    "is_null",
    "geo_bounding_box",
    "geo_radius",
    "geo_polygon",
)
_BOUNDS: Final = ("gt", "gte", "lt", "lte")
_DATETIME: Final = "an RFC 3339 datetime (as Qdrant reads it: 2024-01-31T12:00:00Z...)"
_POINT_ONLY: Final = (
    "not allowed inside a nested filter (it is about the point, not about one object of the "
    "array); put it beside the nested condition"
)

RULES: Final = (
    rules.FILTER_DEPTH,
    rules.GEO_RING_CLOSED,
    rules.FILTER_DATETIME,
    rules.POINT_ID_UUID,
    rules.WHOLE_INTEGERS,
)


def _present(*names: str) -> list[Schema]:
    """One branch per name: the field given, and not null (an "at least/exactly one of")."""
    return [{"required": [n], "properties": {n: {"not": {"type": "null"}}}} for n in names]


def _conditions(component: str) -> Schema:
    """`must`/`should`/`must_not`: one condition or a list of them (Qdrant takes both), or null."""
    return nullable(
        any_of(
            ref(component),
            array(ref(component)),
            about="a condition or a list of conditions",
        )
    )


def _filter(nested: str) -> Builder:
    def build(limits: LimitSettings) -> Schema:
        conditions = _conditions(f"{nested}Condition")
        return obj(
            {
                "must": conditions,
                "should": conditions,
                "must_not": conditions,
                "min_should": nullable(ref(f"{nested}MinShould")),
            },
            about="all of must, at least one of should (when given), none of must_not",
        )

    return build


def _min_should(nested: str) -> Builder:
    def build(limits: LimitSettings) -> Schema:
        return obj(
            {
                "conditions": _conditions(f"{nested}Condition"),
                "min_count": integer(low=1, high=bounds.MIN_SHOULD_MAX),
            },
            required=("conditions", "min_count"),
            about="at least min_count of the conditions",
        )

    return build


def _condition(nested: str) -> Builder:
    def build(limits: LimitSettings) -> Schema:
        if nested:
            point: tuple[Schema, ...] = (
                obj({"has_id": {"not": {}, "description": _POINT_ONLY}}, required=("has_id",)),
                obj(
                    {"has_vector": {"not": {}, "description": _POINT_ONLY}},
                    required=("has_vector",),
                ),
            )
        else:
            point = (ref("HasId"), ref("HasVector"))
        return any_of(
            ref("FieldCondition"),
            *point,
            ref("IsEmpty"),
            ref("IsNull"),
            ref("Nested"),
            ref(f"{nested}Filter"),
            about=(
                "a condition: key with match/range/datetime_range/values_count/is_empty/"
                "is_null/geo_bounding_box/geo_radius/geo_polygon, has_id, has_vector, is_empty, "
                "is_null, nested, or a filter (must/should/must_not)"
            ),
        )

    return build


def _field_condition(limits: LimitSettings) -> Schema:
    schema = obj(
        {
            "key": KEY,
            "match": nullable(ref("Match")),
            "range": nullable(ref("Range")),
            "datetime_range": nullable(ref("DatetimeRange")),
            "values_count": nullable(ref("ValuesCount")),
            "is_empty": nullable(boolean("the key is missing, null or []")),
            "is_null": nullable(boolean("a value at the key is null")),
            "geo_bounding_box": nullable(ref("GeoBoundingBox")),
            "geo_radius": nullable(ref("GeoRadius")),
            "geo_polygon": nullable(ref("GeoPolygon")),
        },
        required=("key",),
        about="a key with at least one of " + ", ".join(FIELD_CONDITIONS),
    )
    return {**schema, "anyOf": _present(*FIELD_CONDITIONS)}


def _match(limits: LimitSettings) -> Schema:
    targets = any_of(array(string()), array(INT64), about="a list of strings or a list of integers")
    words = string(about="full-text query, tokenized as the key's text index does")
    schema = obj(
        {
            "value": nullable(
                any_of(string(), INT64, boolean(), about="a string, an integer or a boolean")
            ),
            "any": nullable(targets),
            "except": nullable(targets),
            "text": nullable(words),
            "text_any": nullable(words),
            "phrase": nullable(words),
            "prefix": unsupported("prefix match"),
        },
        about="an object with exactly one of " + ", ".join(MATCH_MODES),
    )
    return {**schema, "oneOf": _present(*MATCH_MODES)}


def _range(limits: LimitSettings) -> Schema:
    return any_of(
        obj({b: nullable(number()) for b in _BOUNDS}),
        obj({b: nullable(string(about=_DATETIME)) for b in _BOUNDS}),
        about="bounds gt/gte/lt/lte, all numbers or all RFC 3339 datetimes",
    )


def _datetime_range(limits: LimitSettings) -> Schema:
    return obj({b: nullable(string(about=_DATETIME)) for b in _BOUNDS})


def _values_count(limits: LimitSettings) -> Schema:
    count = integer(low=0, high=bounds.VALUES_COUNT_MAX)
    return obj(
        {b: nullable(count) for b in _BOUNDS},
        about="bounds on how many values the key holds",
    )


def _geo_point(limits: LimitSettings) -> Schema:
    return obj(
        {"lon": number(low=-180, high=180), "lat": number(low=-90, high=90)},
        required=("lon", "lat"),
    )


def _geo_bounding_box(limits: LimitSettings) -> Schema:
    return obj(
        {"top_left": ref("GeoPoint"), "bottom_right": ref("GeoPoint")},
        required=("top_left", "bottom_right"),
    )


def _geo_radius(limits: LimitSettings) -> Schema:
    return obj(
        {"center": ref("GeoPoint"), "radius": number(low=0, about="meters")},
        required=("center", "radius"),
    )


def _geo_ring(limits: LimitSettings) -> Schema:
    return obj(
        {"points": array(ref("GeoPoint"), min_items=bounds.GEO_RING_MIN_POINTS)},
        required=("points",),
        about="a closed ring: the first and the last points equal",
    )


def _geo_polygon(limits: LimitSettings) -> Schema:
    return obj(
        {"exterior": ref("GeoRing"), "interiors": nullable(array(ref("GeoRing")))},
        required=("exterior",),
    )


def _has_id(limits: LimitSettings) -> Schema:
    return obj({"has_id": array(POINT_ID)}, required=("has_id",))


def _has_vector(limits: LimitSettings) -> Schema:
    return obj(
        {"has_vector": string(about='a vector name ("" the unnamed one)')},
        required=("has_vector",),
    )


def _key_only(name: str) -> Builder:
    def build(limits: LimitSettings) -> Schema:
        return obj({name: obj({"key": KEY}, required=("key",))}, required=(name,))

    return build


def _nested(limits: LimitSettings) -> Schema:
    return obj(
        {
            "nested": obj(
                {
                    "key": {**KEY, "description": "the array of objects (`offers` or `offers[]`)"},
                    "filter": ref("NestedFilter"),
                },
                required=("key", "filter"),
            )
        },
        required=("nested",),
    )


REQUESTS: Final[tuple[WireRequest, ...]] = ()
COMPONENTS: Final[dict[str, Builder]] = {
    "Filter": _filter(""),
    "Condition": _condition(""),
    "MinShould": _min_should(""),
    "NestedFilter": _filter("Nested"),
    "NestedCondition": _condition("Nested"),
    "NestedMinShould": _min_should("Nested"),
    "FieldCondition": _field_condition,
    "Match": _match,
    "Range": _range,
    "DatetimeRange": _datetime_range,
    "ValuesCount": _values_count,
    "GeoPoint": _geo_point,
    "GeoBoundingBox": _geo_bounding_box,
    "GeoRadius": _geo_radius,
    "GeoRing": _geo_ring,
    "GeoPolygon": _geo_polygon,
    "HasId": _has_id,
    "HasVector": _has_vector,
    "IsEmpty": _key_only("is_empty"),
    "IsNull": _key_only("is_null"),
    "Nested": _nested,
}


def _deep(levels: int) -> dict[str, Any]:
    inner: dict[str, Any] = {"key": "color", "match": {"value": "red"}}
    for _ in range(levels):
        inner = {"must": [inner]}
    return inner


def _ring(*points: tuple[float, float]) -> dict[str, Any]:
    return {"points": [{"lon": lon, "lat": lat} for lon, lat in points]}


# One filter breaking each rule (routes taking a filter wrap them: {"filter": ...}).
RULE_EXAMPLES: Final[dict[str, dict[str, Any]]] = {
    "filter-depth": _deep(bounds.FILTER_MAX_DEPTH + 2),  # the outermost is depth 0
    "geo-ring-closed": {
        "must": [
            {
                "key": "loc",
                "geo_polygon": {"exterior": _ring((0, 0), (1, 0), (1, 1), (0, 1))},
            }
        ]
    },
    "filter-datetime": {"must": [{"key": "at", "datetime_range": {"gte": "soon"}}]},
    "point-id-uuid": {"must": [{"has_id": ["not-a-uuid"]}]},
    "whole-integers": {"must": [{"key": "color", "match": {"value": 5.0}}]},
}


def rule_examples(**wrap: Any) -> dict[str, dict[str, Any]]:
    """Each filter rule's breaking example as a request body: `{**wrap, "filter": example}`."""
    return {rule: {**wrap, "filter": body} for rule, body in RULE_EXAMPLES.items()}
