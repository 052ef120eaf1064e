"""Qdrant's filter JSON -> zoro.payload.conditions, checked part by part.

Every error names the part at fault as a JSON path (`filter.must[1].range.gte`). Conditions
Zoro-DB does not serve (geo, nested, prefix match) are refused by name rather than
ignored: a filter that silently matched more than asked would be worse than an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from zoro.errors import BadRequest
from zoro.payload.conditions import (
    Condition,
    Filter,
    HasId,
    HasVector,
    IsEmpty,
    IsNull,
    KeyPath,
    Match,
    MinShould,
    Range,
    TextMatch,
    ValuesCount,
    parse_datetime,
    parse_key,
    text_match,
)
from zoro.services import validate
from zoro.types import key_of

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
_UNSUPPORTED: Final = {
    "geo_bounding_box": "geo filters",
    "geo_radius": "geo filters",
    "geo_polygon": "geo filters",
    "nested": "nested object filters",
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


def _filter(body: Mapping[str, Any], where: str, depth: int) -> Filter:
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
            _conditions(ms["conditions"], f"{where}.min_should.conditions", depth),
            validate.integer(ms["min_count"], f"{where}.min_should.min_count", low=0, high=2**31),
        )
    return Filter(
        must=_conditions(body.get("must"), f"{where}.must", depth),
        should=_conditions(body.get("should"), f"{where}.should", depth),
        must_not=_conditions(body.get("must_not"), f"{where}.must_not", depth),
        min_should=min_should,
    )


def _conditions(value: object, where: str, depth: int) -> tuple[Condition, ...]:
    """A list of conditions, or a single one (Qdrant accepts both), or null."""
    if value is None:
        return ()
    if isinstance(value, Mapping):
        return (_condition(value, where, depth),)
    items = validate.sequence(value, where)
    return tuple(_condition(c, f"{where}[{i}]", depth) for i, c in enumerate(items))


def _condition(value: object, where: str, depth: int) -> Condition:
    body = {k: v for k, v in validate.mapping(value, where).items() if v is not None}
    for name, what in _UNSUPPORTED.items():
        if name in body:
            raise BadRequest(f"{where}.{name}: {what} are not supported by Zoro-DB")
    if "key" in body:
        return _field_condition(body, where)
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
        return _filter(body, where, depth + 1)
    names = ", ".join(sorted(map(str, body)))
    raise BadRequest(
        f"{where}: not a condition ({names}); expected key + match/range/values_count/is_empty/"
        "is_null, has_id, has_vector, is_empty, is_null, or a nested filter (must/should/must_not)"
    )


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
    if not parts:
        raise BadRequest(f"{where}: a key needs match, range, values_count, is_empty or is_null")
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
