"""Qdrant's filter language as the client checks it: one table of wire shapes, one walker.

The client checks the *shape* of a filter only: objects where objects go, lists where lists go,
the field names each shape has, and the JSON type of each leaf. A typo ("must_nto"), a Python
slip (a set of ids, a condition that is a string) or a value JSON cannot carry fails before
sending, naming the part at fault as a path (`filter.must[1].match`). What a filter *means*, and
which of Qdrant's conditions Zoro-DB serves (it refuses geo, full-text and nested conditions by
name), is the server's call: its 400 comes back as InvalidInput carrying its message verbatim.
The table therefore describes Qdrant's language, not the subset the server serves today.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from zoro.client import _validate as check
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
        "values_count": "Range",
        "is_empty": "bool",
        "is_null": "bool",
        "geo_bounding_box": "object",
        "geo_radius": "object",
        "geo_polygon": "object",
    },
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
# Deeper than the server's own limit (32), so that the server's message is the one users see;
# this one only keeps a cyclic dict from exhausting the stack.
_MAX_DEPTH: Final = 64


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
        out[name] = _value(item, fields[name], f"{where}.{name}", depth + 1)
    return out


def _value(value: object, kind: str, where: str, depth: int) -> Any:
    if kind == "Conditions":
        if isinstance(value, Mapping):
            return _condition(value, where, depth)
        items = _list(value, where)
        return [_condition(c, f"{where}[{i}]", depth) for i, c in enumerate(items)]
    if kind[0].isupper():
        return _shape(value, kind, where, depth)
    return _LEAVES[kind](value, where)


def _condition(value: object, where: str, depth: int) -> Any:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{where}: a condition must be a JSON object, not {_kind(value)}")
    shape = next((s for f, s in _CONDITION_BY_FIELD if value.get(f) is not None), "Filter")
    return _shape(value, shape, where, depth)


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
    return check.positive(value, where, low=0)


def _ids(value: object, where: str) -> list[Any]:
    return [check.point_id(v, f"{where}[{i}]") for i, v in enumerate(_list(value, where))]


def _object(value: object, where: str) -> Any:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{where}: must be a JSON object, not {_kind(value)}")
    return dict(value)


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
    "ids": _ids,
    "object": _object,
}
assert {k for s in SHAPES.values() for k in s.values() if k[0].islower()} <= set(_LEAVES)
