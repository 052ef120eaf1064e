"""Qdrant's filter JSON -> zoro.payload.conditions, checked part by part.

Every error names the part at fault as a JSON path (`filter.must[1].range.gte`). Conditions
Zoro-DB does not serve are refused by name rather than ignored: a filter that silently matched
more than asked would be worse than an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from zoro.errors import BadRequest
from zoro.payload.conditions import (
    MIN_RING_POINTS,
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
from zoro.types import key_of

LonLat = tuple[float, float]
Ring = tuple[LonLat, ...]

MAX_DEPTH: Final = 32
_FILTER_FIELDS: Final = frozenset({"must", "should", "must_not", "min_should"})
_FIELD_CONDITION: Final = frozenset(
    {
        "key",
        "match",
        "range",
        "values_count",
        "is_empty",
        "is_null",
        "geo_bounding_box",
        "geo_radius",
        "geo_polygon",
        "datetime_range",
    }
)
_GEO_SHAPES: Final = {
    "geo_bounding_box": frozenset({"top_left", "bottom_right"}),
    "geo_radius": frozenset({"center", "radius"}),
    "geo_polygon": frozenset({"exterior", "interiors"}),
}
_UNSUPPORTED_MATCH: Final = {
    "prefix": "prefix match",
}
_TEXT_MATCH: Final = ("text", "text_any", "phrase")
_BOUNDS: Final = ("gt", "gte", "lt", "lte")


def parse(value: object, where: str = "filter") -> Filter | None:
    """A request's `filter` (None when absent or null)."""
    if value is None:
        return None
    f = _filter(validate.mapping(value, where), where, 0)
    return f


# `nested` says whether the filter is inside a `nested` condition, where has_id and has_vector
# are refused (they are about the point, not about one object of its array).
def _filter(body: Mapping[str, Any], where: str, depth: int, nested: bool = False) -> Filter:
    if depth > MAX_DEPTH:
        raise BadRequest(f"{where}: filters nest at most {MAX_DEPTH} levels deep")
    validate.only_fields(body, _FILTER_FIELDS, where)
    min_should = None
    raw = body.get("min_should")
    if raw is not None:
        ms = validate.mapping(raw, f"{where}.min_should")
        validate.only_fields(ms, frozenset({"conditions", "min_count"}), f"{where}.min_should")
        if "conditions" not in ms or "min_count" not in ms:
            raise BadRequest(f'{where}.min_should: needs "conditions" and "min_count"')
        min_should = MinShould(
            _conditions(ms["conditions"], f"{where}.min_should.conditions", depth, nested),
            # at least 1, as Qdrant's server checks (0 would make min_should match everything)
            validate.integer(ms["min_count"], f"{where}.min_should.min_count", low=1, high=2**31),
        )
    return Filter(
        must=_conditions(body.get("must"), f"{where}.must", depth, nested),
        should=_conditions(body.get("should"), f"{where}.should", depth, nested),
        must_not=_conditions(body.get("must_not"), f"{where}.must_not", depth, nested),
        min_should=min_should,
    )


def _conditions(value: object, where: str, depth: int, nested: bool) -> tuple[Condition, ...]:
    """A list of conditions, or a single one (Qdrant accepts both), or null."""
    if value is None:
        return ()
    if isinstance(value, Mapping):
        return (_condition(value, where, depth, nested),)
    items = validate.sequence(value, where)
    return tuple(_condition(c, f"{where}[{i}]", depth, nested) for i, c in enumerate(items))


def _condition(value: object, where: str, depth: int, nested: bool) -> Condition:
    body = {k: v for k, v in validate.mapping(value, where).items() if v is not None}
    if "key" in body:
        return _field_condition(body, where)
    if nested and ("has_id" in body or "has_vector" in body):
        name = "has_id" if "has_id" in body else "has_vector"
        raise BadRequest(
            f"{where}.{name}: not allowed inside a nested filter (it is about the point, not "
            "about one object of the array); put it beside the nested condition"
        )
    if "nested" in body:
        validate.only_fields(body, frozenset({"nested"}), where)
        return _nested(body["nested"], f"{where}.nested", depth)
    if "has_id" in body:
        validate.only_fields(body, frozenset({"has_id"}), where)
        ids = validate.sequence(body["has_id"], f"{where}.has_id")
        where_id = f"{where}.has_id"
        return HasId(
            frozenset(key_of(validate.point_id(v, f"{where_id}[{i}]")) for i, v in enumerate(ids))
        )
    if "has_vector" in body:
        validate.only_fields(body, frozenset({"has_vector"}), where)
        if not isinstance(body["has_vector"], str):
            raise BadRequest(f"{where}.has_vector: a vector name (a string)")
        return HasVector(body["has_vector"])
    for name, kind in (("is_empty", IsEmpty), ("is_null", IsNull)):
        if name in body:
            validate.only_fields(body, frozenset({name}), where)
            inner = validate.mapping(body[name], f"{where}.{name}")
            validate.only_fields(inner, frozenset({"key"}), f"{where}.{name}")
            return kind(_key(inner.get("key"), f"{where}.{name}.key"))
    if not body or set(body) <= _FILTER_FIELDS:
        return _filter(body, where, depth + 1, nested)
    names = ", ".join(sorted(map(str, body)))
    raise BadRequest(
        f"{where}: not a condition ({names}); expected key + match/range/values_count/is_empty/"
        "is_null/geo_bounding_box/geo_radius/geo_polygon, has_id, has_vector, is_empty, "
        "is_null, nested, or a filter (must/should/must_not)"
    )


def _nested(value: object, where: str, depth: int) -> Nested:
    body = validate.mapping(value, where)
    validate.only_fields(body, frozenset({"key", "filter"}), where)
    if "key" not in body or "filter" not in body:
        raise BadRequest(f'{where}: needs "key" (an array of objects) and "filter"')
    key = _key(body["key"], f"{where}.key")
    if key.steps[-1][1]:  # `offers[]` names the same array as `offers`
        key = _key(key.text[:-2], f"{where}.key")
    inner = validate.mapping(body["filter"], f"{where}.filter")
    return Nested(key, _filter(inner, f"{where}.filter", depth + 1, nested=True))


def _field_condition(body: Mapping[str, Any], where: str) -> Condition:
    validate.only_fields(body, _FIELD_CONDITION, where)
    key = _key(body["key"], f"{where}.key")
    parts: list[Condition] = []
    if "match" in body:
        parts.append(_match(key, body["match"], f"{where}.match"))
    parts.extend(
        _range(key, body[name], f"{where}.{name}", name == "datetime_range")
        for name in ("range", "datetime_range")
        if name in body
    )
    if "values_count" in body:
        bounds = _bounds(body["values_count"], f"{where}.values_count", integers=True)
        parts.append(ValuesCount(key, *bounds))
    for name, kind in (("is_empty", IsEmpty), ("is_null", IsNull)):
        if name in body:
            flag = validate.boolean(body[name], f"{where}.{name}")
            cond = kind(key)
            parts.append(cond if flag else Filter(must_not=(cond,)))
    parts.extend(
        _geo(key, name, body[name], f"{where}.{name}") for name in _GEO_SHAPES if name in body
    )
    if not parts:
        raise BadRequest(
            f"{where}: a key needs match, range, values_count, is_empty, is_null, "
            "geo_bounding_box, geo_radius or geo_polygon"
        )
    return parts[0] if len(parts) == 1 else Filter(must=tuple(parts))


def _key(value: object, where: str) -> KeyPath:
    if not isinstance(value, str):
        raise BadRequest(f'{where}: must be a string such as "meta.lang" or "tags[]"')
    try:
        return parse_key(value)
    except ValueError as exc:
        raise BadRequest(f"{where}: {exc}") from None


def _match(key: KeyPath, value: object, where: str) -> Match | TextMatch:
    body = {k: v for k, v in validate.mapping(value, where).items() if v is not None}
    for name, what in _UNSUPPORTED_MATCH.items():
        if name in body:
            raise BadRequest(f"{where}.{name}: {what} is not supported by Zoro-DB")
    validate.only_fields(body, frozenset({"value", "any", "except", *_TEXT_MATCH}), where)
    if len(body) != 1:
        raise BadRequest(
            f'{where}: give exactly one of "value", "any", "except", "text", "text_any", "phrase"'
        )
    ((mode, raw),) = body.items()
    if mode in _TEXT_MATCH:
        if not isinstance(raw, str):
            raise BadRequest(f"{where}.{mode}: must be a string")
        return text_match(key, mode, raw)
    if mode == "value":
        if not isinstance(raw, str | int) or (isinstance(raw, int) and not _int64(raw)):
            raise BadRequest(f"{where}.value: must be a string, an integer or a boolean")
        return Match(key, "value", frozenset([raw]), type(raw))
    items = validate.sequence(raw, f"{where}.{mode}")
    kinds = {type(v) for v in items}
    if not kinds <= {str} and not kinds <= {int}:
        raise BadRequest(f"{where}.{mode}: must be a list of strings or a list of integers")
    if any(isinstance(v, int) and not _int64(v) for v in items):
        raise BadRequest(f"{where}.{mode}: integers must fit in 64 bits")
    kind = next(iter(kinds)) if kinds else None
    return Match(key, mode, frozenset(items), kind)


def _int64(value: int) -> bool:
    return isinstance(value, bool) or -(2**63) <= value < 2**63


def _range(key: KeyPath, value: object, where: str, datetimes: bool) -> Range:
    body = validate.mapping(value, where)
    validate.only_fields(body, frozenset(_BOUNDS), where)
    given = {k: v for k, v in body.items() if v is not None}
    strings = [k for k, v in given.items() if isinstance(v, str)]
    if datetimes or strings:
        if len(strings) != len(given):
            raise BadRequest(f"{where}: bounds must be all numbers or all RFC 3339 datetimes")
        bounds: dict[str, float] = {}
        for name, text in given.items():
            moment = parse_datetime(text)
            if moment is None:
                raise BadRequest(f"{where}.{name}: {text!r} is not an RFC 3339 datetime")
            bounds[name] = moment
        return Range(key, datetime=True, **bounds)
    return Range(key, *_bounds(body, where, integers=False))


def _bounds(value: object, where: str, *, integers: bool) -> tuple[Any, Any, Any, Any]:
    body = validate.mapping(value, where)
    validate.only_fields(body, frozenset(_BOUNDS), where)
    out: list[float | int | None] = []
    for name in _BOUNDS:
        raw = body.get(name)
        if raw is None:
            out.append(None)
        elif integers:
            out.append(validate.integer(raw, f"{where}.{name}", low=0, high=2**63 - 1))
        else:
            out.append(validate.number(raw, f"{where}.{name}"))
    return out[0], out[1], out[2], out[3]


def _geo(key: KeyPath, name: str, value: object, where: str) -> Condition:
    body = validate.mapping(value, where)
    validate.only_fields(body, _GEO_SHAPES[name], where)
    required = _GEO_SHAPES[name] - {"interiors"}
    missing = sorted(required - {k for k, v in body.items() if v is not None})
    if missing:
        raise BadRequest(f"{where}: needs {', '.join(repr(m) for m in missing)}")
    if name == "geo_bounding_box":
        return GeoBoundingBox(
            key,
            _geo_point(body["top_left"], f"{where}.top_left"),
            _geo_point(body["bottom_right"], f"{where}.bottom_right"),
        )
    if name == "geo_radius":
        radius = validate.number(body["radius"], f"{where}.radius")
        if radius < 0:
            raise BadRequest(f"{where}.radius: must be at least 0 (meters), got {radius}")
        return GeoRadius(key, _geo_point(body["center"], f"{where}.center"), float(radius))
    interiors = body.get("interiors") or []
    return GeoPolygon(
        key,
        _ring(body["exterior"], f"{where}.exterior"),
        tuple(
            _ring(r, f"{where}.interiors[{i}]")
            for i, r in enumerate(validate.sequence(interiors, f"{where}.interiors"))
        ),
    )


def _geo_point(value: object, where: str) -> LonLat:
    body = validate.mapping(value, where)
    validate.only_fields(body, frozenset({"lon", "lat"}), where)
    if "lon" not in body or "lat" not in body:
        raise BadRequest(f'{where}: a geo point needs "lon" and "lat"')
    lon = validate.number(body["lon"], f"{where}.lon")
    lat = validate.number(body["lat"], f"{where}.lat")
    if not -180 <= lon <= 180:
        raise BadRequest(f"{where}.lon: a longitude is within [-180, 180], got {lon}")
    if not -90 <= lat <= 90:
        raise BadRequest(f"{where}.lat: a latitude is within [-90, 90], got {lat}")
    return float(lon), float(lat)


def _ring(value: object, where: str) -> Ring:
    body = validate.mapping(value, where)
    validate.only_fields(body, frozenset({"points"}), where)
    points = validate.sequence(body.get("points"), f"{where}.points")
    ring = tuple(_geo_point(p, f"{where}.points[{i}]") for i, p in enumerate(points))
    if len(ring) < MIN_RING_POINTS:
        raise BadRequest(
            f"{where}.points: a polygon ring needs at least {MIN_RING_POINTS} points, "
            f"got {len(ring)}"
        )
    if ring[0] != ring[-1]:
        raise BadRequest(f"{where}.points: a ring must be closed: its first and last points equal")
    return ring
