"""Qdrant's filter language as the client checks it: one table of wire shapes, one walker.

The client checks the *shape* of a filter only: objects where objects go, lists where lists go,
the field names each shape has, and the JSON type of each leaf. A typo ("must_nto"), a Python
slip (a set of ids, a condition that is a string) or a value JSON cannot carry fails before
sending, naming the part at fault as a path (`filter.must[1].match`). Geo points are checked
whole (finite numbers, longitude within [-180, 180], latitude within [-90, 90]), and so are
polygon rings (at least 4 points, closed) and radii (not negative). What a filter *means*, and
which of Qdrant's conditions Zoro-DB serves, is the server's call: its 400 comes back as
InvalidInput carrying its message verbatim. The table therefore describes Qdrant's language,
not the subset the server serves today.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from zoro.client import _validate as check
from zoro.client import _wire
from zoro.client._errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Callable

Filter = Mapping[str, Any]
"""A filter as Qdrant's JSON: {"must": [...], "should": [...], "must_not": [...],
"min_should": {"conditions": [...], "min_count": n}}."""

# Shape name -> {field: kind}. A kind is another shape (capitalised) or a leaf (see _LEAVES).
# "Conditions" is one condition or a list of them (Qdrant accepts both).
SHAPES: Final[Mapping[str, Mapping[str, str]]] = {
    "Filter": {
        "must": "Conditions",
        "should": "Conditions",
        "must_not": "Conditions",
        "min_should": "MinShould",
    },
    "MinShould": {"conditions": "Conditions", "min_count": "count"},
    "FieldCondition": {
        "key": "key",
        "match": "Match",
        "range": "Range",
        "datetime_range": "Range",
        "values_count": "ValuesCount",
        "is_empty": "bool",
        "is_null": "bool",
        "geo_bounding_box": "GeoBoundingBox",
        "geo_radius": "GeoRadius",
        "geo_polygon": "GeoPolygon",
    },
    "GeoBoundingBox": {"top_left": "GeoPoint", "bottom_right": "GeoPoint"},
    "GeoRadius": {"center": "GeoPoint", "radius": "radius"},
    "GeoPolygon": {"exterior": "GeoLineString", "interiors": "rings"},
    "GeoLineString": {"points": "ring"},
    "GeoPoint": {"lon": "longitude", "lat": "latitude"},
    "Match": {
        "value": "scalar",
        "any": "scalars",
        "except": "scalars",
        "text": "text",
        "text_any": "text",
        "phrase": "text",
        "prefix": "text",
    },
    "Range": {"gt": "bound", "gte": "bound", "lt": "bound", "lte": "bound"},
    "ValuesCount": {"gt": "values", "gte": "values", "lt": "values", "lte": "values"},
    "HasIdCondition": {"has_id": "ids"},
    "IsEmptyCondition": {"is_empty": "KeyOnly"},
    "IsNullCondition": {"is_null": "KeyOnly"},
    "KeyOnly": {"key": "key"},
    "NestedCondition": {"nested": "Nested"},
    "Nested": {"key": "key", "filter": "Filter"},
    "HasVectorCondition": {"has_vector": "text"},
}
# A condition is told apart by the first of these fields it has; with none, it is a Filter.
_CONDITION_BY_FIELD: Final = (
    ("key", "FieldCondition"),
    ("has_id", "HasIdCondition"),
    ("is_empty", "IsEmptyCondition"),
    ("is_null", "IsNullCondition"),
    ("nested", "NestedCondition"),
    ("has_vector", "HasVectorCondition"),
)
# Every field a shape must have (the others are optional).
_REQUIRED: Final[Mapping[str, frozenset[str]]] = {
    "GeoBoundingBox": frozenset({"top_left", "bottom_right"}),
    "GeoRadius": frozenset({"center", "radius"}),
    "GeoPolygon": frozenset({"exterior"}),
    "GeoLineString": frozenset({"points"}),
    "GeoPoint": frozenset({"lon", "lat"}),
    "Nested": frozenset({"key", "filter"}),
}
_MIN_RING_POINTS: Final = 4
# The server's own bound on filters within filters; it also keeps a cyclic dict (every cycle
# passes through a Filter) from exhausting the stack.
_MAX_DEPTH: Final = _wire.FILTER_MAX_DEPTH


def filter_(value: object, field: str = "filter") -> dict[str, Any] | None:
    """A checked copy of a filter, ready to encode (None stays None: no filter).

    Point ids in `has_id` are sent in canonical form, like every id the client sends.

    Raises:
        InvalidInput: a part of the wrong JSON type or an unknown field, named by its path.
    """
    if value is None:
        return None
    checked: dict[str, Any] = _shape(value, "Filter", field, 0)
    return checked


def _shape(value: object, shape: str, where: str, depth: int) -> Any:
    """`depth`: how many filters hold this one (as the server counts: the filters of conditions
    and of nested conditions, not the other shapes)."""
    if depth > _MAX_DEPTH:
        raise InvalidInput(f"{where}: nested more than {_MAX_DEPTH} levels deep")
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{where}: must be a JSON object (a dict), not {_kind(value)}")
    fields = SHAPES[shape]
    out: dict[str, Any] = {}
    for name, item in value.items():
        if not isinstance(name, str) or name not in fields:
            known = ", ".join(fields)
            raise InvalidInput(f"{where}: unknown field {name!r} (a {shape} has {known})")
        if item is None:  # Qdrant's own clients send unset fields as null
            continue
        out[name] = _value(item, fields[name], f"{where}.{name}", depth)
    missing = sorted(_REQUIRED.get(shape, frozenset()) - set(out))
    if missing:
        raise InvalidInput(f"{where}: a {shape} needs {', '.join(map(repr, missing))}")
    return out


def _value(value: object, kind: str, where: str, depth: int) -> Any:
    if kind == "Conditions":
        if isinstance(value, Mapping):
            return _condition(value, where, depth)
        items = _list(value, where)
        return [_condition(c, f"{where}[{i}]", depth) for i, c in enumerate(items)]
    if kind[0].isupper():
        return _shape(value, kind, where, depth + (kind == "Filter"))
    return _LEAVES[kind](value, where)


def _condition(value: object, where: str, depth: int) -> Any:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{where}: a condition must be a JSON object, not {_kind(value)}")
    shape = next((s for f, s in _CONDITION_BY_FIELD if value.get(f) is not None), "Filter")
    return _shape(value, shape, where, depth + (shape == "Filter"))


def _list(value: object, where: str) -> Sequence[Any]:
    if isinstance(value, list | tuple):
        return value
    raise InvalidInput(f"{where}: must be a list, not {_kind(value)}")


def _key(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInput(f'{where}: must be a payload key such as "meta.lang" or "tags[]"')
    return value


def _text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{where}: must be a string, not {_kind(value)}")
    return value


def _bool(value: object, where: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise InvalidInput(f"{where}: must be true or false, not {_kind(value)}")
    return bool(value)


def _scalar(value: object, where: str) -> str | int | bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, str):
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    raise InvalidInput(f"{where}: must be a string, an integer or a boolean, not {_kind(value)}")


def _scalars(value: object, where: str) -> list[str | int | bool]:
    return [_scalar(v, f"{where}[{i}]") for i, v in enumerate(_list(value, where))]


def _bound(value: object, where: str) -> float | int | str:
    if isinstance(value, str):  # an RFC 3339 datetime; the server parses it
        return value
    if not isinstance(value, bool | np.bool_) and isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating) and math.isfinite(value):
        return float(value)
    raise InvalidInput(f"{where}: must be a finite number or an RFC 3339 datetime string")


def _count(value: object, where: str) -> int:
    # min_count 0 would match everything
    return check.positive(value, where, low=1, high=_wire.MIN_SHOULD_MAX)


def _values(value: object, where: str) -> int:
    """A values_count bound: how many values a key holds."""
    return check.positive(value, where, low=0, high=_wire.VALUES_COUNT_MAX)


def _number(value: object, where: str, low: float, high: float) -> float:
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
        raise InvalidInput(f"{where}: must be a number, not {_kind(value)}")
    number = float(value)
    if not (math.isfinite(number) and low <= number <= high):
        raise InvalidInput(f"{where}: must be a number within [{low:g}, {high:g}], not {value!r}")
    return number


def _longitude(value: object, where: str) -> float:
    return _number(value, where, -180.0, 180.0)


def _latitude(value: object, where: str) -> float:
    return _number(value, where, -90.0, 90.0)


def _radius(value: object, where: str) -> float:
    return _number(value, where, 0.0, math.inf)


def _ring(value: object, where: str) -> list[dict[str, float]]:
    points = [_shape(p, "GeoPoint", f"{where}[{i}]", 0) for i, p in enumerate(_list(value, where))]
    if len(points) < _MIN_RING_POINTS:
        raise InvalidInput(f"{where}: a ring needs at least {_MIN_RING_POINTS} points")
    if points[0] != points[-1]:
        raise InvalidInput(f"{where}: a ring must be closed (its first and last points equal)")
    return points


def _rings(value: object, where: str) -> list[Any]:
    return [
        _shape(r, "GeoLineString", f"{where}[{i}]", 0) for i, r in enumerate(_list(value, where))
    ]


def _ids(value: object, where: str) -> list[Any]:
    return [check.point_id(v, f"{where}[{i}]") for i, v in enumerate(_list(value, where))]


def _kind(value: object) -> str:
    return type(value).__name__


_LEAVES: Final[Mapping[str, Callable[[object, str], Any]]] = {
    "key": _key,
    "text": _text,
    "bool": _bool,
    "scalar": _scalar,
    "scalars": _scalars,
    "bound": _bound,
    "count": _count,
    "values": _values,
    "ids": _ids,
    "longitude": _longitude,
    "latitude": _latitude,
    "radius": _radius,
    "ring": _ring,
    "rings": _rings,
}
assert {k for s in SHAPES.values() for k in s.values() if k[0].islower()} <= set(_LEAVES)
