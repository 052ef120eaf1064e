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
_ABOUT: Final = "all of must, at least one of should (when given), none of must_not"
_ONE_MODE: Final = "an object with exactly one of " + ", ".join(MATCH_MODES)
_POINT_ONLY: Final = (
    "not allowed inside a nested filter (it is about the point, not about one object of the "
    "array); put it beside the nested condition"
)

RULES: Final = (
    rules.HAS_VECTOR_NAME,
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
    """`must`/`should`/`must_not`: one condition or a list of them (Qdrant takes both), or null.
    Said with `items` and `if`/`then` rather than a union, so an error deep in a filter is
    reported without every level's union context."""
    return {
        "type": ["object", "array", "null"],
        "items": ref(component),
        "if": {"type": "object"},
        "then": ref(component),
        "description": "a condition or a list of conditions",
    }


def _filter(nested: str) -> Builder:
    def build(limits: LimitSettings) -> Schema:
        conditions = _conditions(f"{nested}Condition")
        schema = obj(
            {
                "must": conditions,
                "should": conditions,
                "must_not": conditions,
                "min_should": ref(f"{nested}MinShould"),
            },
            about=_ABOUT,
        )
        # a request's filter may be null (no filter); a nested condition's may not
        return schema if nested else {**nullable(schema), "description": f"{_ABOUT}; null: none"}

    return build


def _min_should(nested: str) -> Builder:
    def build(limits: LimitSettings) -> Schema:
        return nullable(
            obj(
                {
                    "conditions": _conditions(f"{nested}Condition"),
                    "min_count": integer(low=1, high=bounds.MIN_SHOULD_MAX),
                },
                required=("conditions", "min_count"),
                about="at least min_count of the conditions",
            )
        )

    return build


def _condition(nested: str) -> Builder:
    """Told apart by the first of its fields a condition has, as the service and Qdrant's
    clients do (`key`: a field condition; none of these: a filter): an `if`/`then` chain rather
    than an `anyOf`, so only that shape is checked, an error names that shape's fault, and a
    deep filter's error does not carry every other shape's failure at every level."""

    def build(limits: LimitSettings) -> Schema:
        refused = {"not": {}, "description": _POINT_ONLY}
        shapes: list[tuple[str, Schema]] = [
            ("key", ref("FieldCondition")),
            ("has_id", obj({"has_id": refused}) if nested else ref("HasId")),
            ("has_vector", obj({"has_vector": refused}) if nested else ref("HasVector")),
            ("nested", ref("Nested")),
            ("is_empty", ref("IsEmpty")),
            ("is_null", ref("IsNull")),
        ]
        chain = ref(f"{nested}Filter")
        for name, shape in reversed(shapes):
            chain = {"if": {"required": [name]}, "then": shape, "else": chain}
        return {
            **chain,
            "description": (
                "a condition, by the first of these fields it has: key (with match/range/"
                "datetime_range/values_count/is_empty/is_null/geo_bounding_box/geo_radius/"
                "geo_polygon), has_id, has_vector, nested, is_empty, is_null; else a filter "
                "(must/should/must_not/min_should)"
            ),
        }

    return build


def _field_condition(limits: LimitSettings) -> Schema:
    schema = obj(
        {
            "key": KEY,
            # (the components take null themselves: a union with null would report an error
            # with every error of the other branch, costly on a long list)
            "match": ref("Match"),
            "range": ref("Range"),
            "datetime_range": ref("DatetimeRange"),
            "values_count": ref("ValuesCount"),
            "is_empty": nullable(boolean("the key is missing, null or []")),
            "is_null": nullable(boolean("a value at the key is null")),
            "geo_bounding_box": ref("GeoBoundingBox"),
            "geo_radius": ref("GeoRadius"),
            "geo_polygon": ref("GeoPolygon"),
        },
        required=("key",),
        about="a key with at least one of " + ", ".join(FIELD_CONDITIONS),
    )
    return {**schema, "anyOf": _present(*FIELD_CONDITIONS)}


def _match(limits: LimitSettings) -> Schema:
    # the first item's type says which list it is (a union of the two lists would report a
    # long list's every error)
    targets = {
        "type": ["array", "null"],
        "if": {"prefixItems": [{"type": "string"}]},
        "then": {"items": string()},
        "else": {"items": INT64},
        "description": "a list of strings or a list of integers",
    }
    words = string(about="full-text query, tokenized as the key's text index does")
    schema = obj(
        {
            "value": nullable(
                any_of(string(), INT64, boolean(), about="a string, an integer or a boolean")
            ),
            "any": targets,
            "except": targets,
            "text": nullable(words),
            "text_any": nullable(words),
            "phrase": nullable(words),
            "prefix": unsupported("prefix match"),
        },
        about=_ONE_MODE,
    )
    one = {"oneOf": _present(*MATCH_MODES), "description": _ONE_MODE}
    return {**nullable(schema), "if": {"type": "object"}, "then": one}


def _range(limits: LimitSettings) -> Schema:
    return nullable(
        any_of(
            obj({b: nullable(number()) for b in _BOUNDS}),
            obj({b: nullable(string(about=_DATETIME)) for b in _BOUNDS}),
            about="bounds gt/gte/lt/lte, all numbers or all RFC 3339 datetimes",
        )
    )


def _datetime_range(limits: LimitSettings) -> Schema:
    return nullable(obj({b: nullable(string(about=_DATETIME)) for b in _BOUNDS}))


def _values_count(limits: LimitSettings) -> Schema:
    count = integer(low=0, high=bounds.VALUES_COUNT_MAX)
    return nullable(
        obj({b: nullable(count) for b in _BOUNDS}, about="bounds on how many values the key holds")
    )


def _geo_point(limits: LimitSettings) -> Schema:
    return obj(
        {"lon": number(low=-180, high=180), "lat": number(low=-90, high=90)},
        required=("lon", "lat"),
    )


def _geo_bounding_box(limits: LimitSettings) -> Schema:
    return nullable(
        obj(
            {"top_left": ref("GeoPoint"), "bottom_right": ref("GeoPoint")},
            required=("top_left", "bottom_right"),
        )
    )


def _geo_radius(limits: LimitSettings) -> Schema:
    return nullable(
        obj(
            {"center": ref("GeoPoint"), "radius": number(low=0, about="meters")},
            required=("center", "radius"),
        )
    )


def _geo_ring(limits: LimitSettings) -> Schema:
    return obj(
        {"points": array(ref("GeoPoint"), min_items=bounds.GEO_RING_MIN_POINTS)},
        required=("points",),
        about="a closed ring: the first and the last points equal",
    )


def _geo_polygon(limits: LimitSettings) -> Schema:
    return nullable(
        obj(
            {"exterior": ref("GeoRing"), "interiors": nullable(array(ref("GeoRing")))},
            required=("exterior",),
        )
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
    "has-vector-name": {"must": [{"has_vector": "no_such_vector"}]},
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


def rule_examples(at: str = "filter", **wrap: Any) -> dict[str, dict[str, Any]]:
    """Each filter rule's breaking example as a request body: `{**wrap, at: example}`."""
    return {rule: {**wrap, at: body} for rule, body in RULE_EXAMPLES.items()}
