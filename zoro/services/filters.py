"""Qdrant's filter JSON -> zoro.payload.conditions.

The shape is the `Filter` component's (zoro/wire/filters.py): a route converted to zoro.wire has
checked it with the body, and `parse` checks it against the component itself otherwise. What
remains here is conversion and the rules the schema cannot say (rules.FILTER_DEPTH,
GEO_RING_CLOSED, FILTER_DATETIME, POINT_ID_UUID, WHOLE_INTEGERS), each error naming the part at
fault as a JSON path (`filter.must[1].range.gte`).
"""

from __future__ import annotations

from functools import cache
from typing import Any, Final

import jsonschema_rs

from zoro.errors import BadRequest
from zoro.payload.conditions import (
    Condition,
    Filter,
    GeoBoundingBox,
    GeoPolygon,
    GeoRadius,
    HasId,
    HasVector,
    IsEmpty,
    IsNull,
    KeyPath,
    Match,
    MinShould,
    Nested,
    Range,
    TextMatch,
    ValuesCount,
    parse_datetime,
    parse_key,
    text_match,
)
from zoro.services import validate
from zoro.settings import LimitSettings
from zoro.types import key_of
from zoro.wire import rules
from zoro.wire.bounds import FILTER_MAX_DEPTH
from zoro.wire.messages import message
from zoro.wire.requests import components

LonLat = tuple[float, float]
Ring = tuple[LonLat, ...]

MAX_DEPTH: Final = FILTER_MAX_DEPTH
_TEXT_MATCH: Final = ("text", "text_any", "phrase")
_BOUNDS: Final = ("gt", "gte", "lt", "lte")
_GEO: Final = ("geo_bounding_box", "geo_radius", "geo_polygon")


def parse(value: object, where: str = "filter", *, checked: bool = False) -> Filter | None:
    """A request's `filter` (None when absent or null). `checked`: the route's schema already
    validated it (its `filter` is the `Filter` component), so only the rules remain."""
    if value is None:
        return None
    if not checked:
        schema, validator = _validator()
        if not validator.is_valid(value):
            try:  # (validate stops at the first error; iter_errors would find them all)
                validator.validate(value)
            except jsonschema_rs.ValidationError as error:
                raise BadRequest(message(error, schema, where)) from None
    assert isinstance(value, dict)
    return _filter(value, where, 0)


@cache
def _validator() -> tuple[dict[str, Any], jsonschema_rs.Draft202012Validator]:
    """The `Filter` component alone, for callers whose route is not converted yet (the filter's
    shape depends on no limit setting, so the defaults build it)."""
    schema = {
        "$ref": "#/components/schemas/Filter",
        "components": {"schemas": components(LimitSettings())},
    }
    return schema, jsonschema_rs.Draft202012Validator(schema)


def _filter(body: dict[str, Any], where: str, depth: int) -> Filter:
    if depth > MAX_DEPTH:
        raise rules.FILTER_DEPTH.error(where, f"filters nest at most {MAX_DEPTH} levels deep")
    min_should = None
    ms = body.get("min_should")
    if ms is not None:
        min_should = MinShould(
            _conditions(ms["conditions"], f"{where}.min_should.conditions", depth),
            _whole(ms["min_count"], f"{where}.min_should.min_count"),
        )
    return Filter(
        must=_conditions(body.get("must"), f"{where}.must", depth),
        should=_conditions(body.get("should"), f"{where}.should", depth),
        must_not=_conditions(body.get("must_not"), f"{where}.must_not", depth),
        min_should=min_should,
    )


def _conditions(value: Any, where: str, depth: int) -> tuple[Condition, ...]:
    """A list of conditions, or a single one (Qdrant accepts both), or null."""
    if value is None:
        return ()
    if isinstance(value, dict):
        return (_condition(value, where, depth),)
    return tuple(_condition(c, f"{where}[{i}]", depth) for i, c in enumerate(value))


def _condition(value: dict[str, Any], where: str, depth: int) -> Condition:
    body = {k: v for k, v in value.items() if v is not None}
    if "key" in body:
        return _field_condition(body, where)
    if "nested" in body:
        return _nested(body["nested"], f"{where}.nested", depth)
    if "has_id" in body:
        # the schema bounded the integers; a string is a UUID (rules.POINT_ID_UUID) and a
        # float an integer written with a fraction (rules.WHOLE_INTEGERS): point_id names both
        with rules.POINT_ID_UUID.covering():
            return HasId(
                frozenset(
                    key_of(v if type(v) is int else validate.point_id(v, f"{where}.has_id[{i}]"))
                    for i, v in enumerate(body["has_id"])
                )
            )
    if "has_vector" in body:
        return HasVector(body["has_vector"])
    if "is_empty" in body:
        return IsEmpty(parse_key(body["is_empty"]["key"]))
    if "is_null" in body:
        return IsNull(parse_key(body["is_null"]["key"]))
    return _filter(body, where, depth + 1)


def _nested(body: dict[str, Any], where: str, depth: int) -> Nested:
    key = parse_key(body["key"])
    if key.steps[-1][1]:  # `offers[]` names the same array as `offers`
        key = parse_key(key.text[:-2])
    return Nested(key, _filter(body["filter"], f"{where}.filter", depth + 1))


def _field_condition(body: dict[str, Any], where: str) -> Condition:
    key = parse_key(body["key"])
    parts: list[Condition] = []
    if "match" in body:
        parts.append(_match(key, body["match"], f"{where}.match"))
    parts.extend(
        _range(key, body[name], f"{where}.{name}", name == "datetime_range")
        for name in ("range", "datetime_range")
        if name in body
    )
    if "values_count" in body:
        given = body["values_count"]
        counts = [
            None if given.get(b) is None else _whole(given[b], f"{where}.values_count.{b}")
            for b in _BOUNDS
        ]
        parts.append(ValuesCount(key, *counts))
    for name, kind in (("is_empty", IsEmpty), ("is_null", IsNull)):
        if name in body:
            cond = kind(key)
            parts.append(cond if body[name] else Filter(must_not=(cond,)))
    parts.extend(_geo(key, name, body[name], f"{where}.{name}") for name in _GEO if name in body)
    return parts[0] if len(parts) == 1 else Filter(must=tuple(parts))


def _match(key: KeyPath, value: dict[str, Any], where: str) -> Match | TextMatch:
    ((mode, raw),) = ((k, v) for k, v in value.items() if v is not None)
    if mode in _TEXT_MATCH:
        return text_match(key, mode, raw)
    if mode == "value":
        if type(raw) is float:  # JSON Schema's integer admits 5.0 (rules.WHOLE_INTEGERS)
            raise rules.WHOLE_INTEGERS.error(
                f"{where}.value", "must be a string, an integer or a boolean"
            )
        return Match(key, "value", frozenset([raw]), type(raw))
    kinds = {type(v) for v in raw}
    if float in kinds:
        raise rules.WHOLE_INTEGERS.error(
            f"{where}.{mode}", "must be a list of strings or a list of integers"
        )
    return Match(key, mode, frozenset(raw), next(iter(kinds)) if kinds else None)


def _range(key: KeyPath, value: dict[str, Any], where: str, datetimes: bool) -> Range:
    given = {k: v for k, v in value.items() if v is not None}
    if datetimes or any(isinstance(v, str) for v in given.values()):
        bounds: dict[str, float] = {}
        for name, text in given.items():
            moment = parse_datetime(text)
            if moment is None:  # rules.FILTER_DATETIME
                raise rules.FILTER_DATETIME.error(
                    f"{where}.{name}", f"{text!r} is not an RFC 3339 datetime"
                )
            bounds[name] = moment
        return Range(key, datetime=True, **bounds)
    gt, gte, lt, lte = (None if value.get(b) is None else float(value[b]) for b in _BOUNDS)
    return Range(key, gt, gte, lt, lte)


def _whole(value: object, where: str) -> int:
    if type(value) is not int:  # rules.WHOLE_INTEGERS
        raise rules.WHOLE_INTEGERS.error(where, "must be an integer")
    return value


def _geo(key: KeyPath, name: str, body: dict[str, Any], where: str) -> Condition:
    if name == "geo_bounding_box":
        return GeoBoundingBox(key, _point(body["top_left"]), _point(body["bottom_right"]))
    if name == "geo_radius":
        return GeoRadius(key, _point(body["center"]), float(body["radius"]))
    return GeoPolygon(
        key,
        _ring(body["exterior"], f"{where}.exterior"),
        tuple(
            _ring(r, f"{where}.interiors[{i}]") for i, r in enumerate(body.get("interiors") or ())
        ),
    )


def _point(body: dict[str, Any]) -> LonLat:
    return float(body["lon"]), float(body["lat"])


def _ring(body: dict[str, Any], where: str) -> Ring:
    ring = tuple(_point(p) for p in body["points"])
    if ring[0] != ring[-1]:  # rules.GEO_RING_CLOSED
        raise rules.GEO_RING_CLOSED.error(
            f"{where}.points", "a ring must be closed: its first and last points equal"
        )
    return ring
