"""The strict rules every request must pass before it reaches an actor.

Each check raises BadRequest naming the field at fault (as a JSON path such as `points[3].vector`).
Vectors are checked with numpy, never number by number in Python.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from zoro.errors import BadRequest, DimensionMismatch
from zoro.types import U64_MAX, Distance, PointId

if TYPE_CHECKING:
    from zoro.settings import LimitSettings
    from zoro.types import Vectors

# Letters, digits and a few separators; no path separators, no dot-dot, no control characters.
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")


def collection_name(name: str, limits: LimitSettings) -> str:
    if not name:
        raise BadRequest("collection name: must not be empty")
    if len(name) > limits.max_name_length:
        raise BadRequest(f"collection name: longer than {limits.max_name_length} characters")
    if not _NAME.fullmatch(name) or ".." in name:
        raise BadRequest(
            "collection name: use letters, digits, '_', '-' and '.' only "
            "(no '/', '..', spaces or control characters), starting with a letter or digit"
        )
    return name


def point_id(value: object, field: str) -> PointId:
    """An id as Qdrant accepts it: an unsigned 64-bit integer or a UUID string."""
    if isinstance(value, bool):
        raise BadRequest(f"{field}: point id must be an unsigned integer or a UUID, not a boolean")
    if isinstance(value, int):
        if 0 <= value <= U64_MAX:
            return value
        raise BadRequest(f"{field}: point id {value} is outside the unsigned 64-bit range")
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            raise BadRequest(f"{field}: {value!r} is not a valid UUID") from None
    raise BadRequest(f"{field}: point id must be an unsigned integer or a UUID string")


def vectors(values: object, field: str, dimension: int, distance: Distance) -> Vectors:
    """A (n, dimension) float32 matrix from a list of lists; normalised for Cosine."""
    try:
        array = np.asarray(values)
    except (ValueError, TypeError):
        raise BadRequest(f"{field}: every vector must be a list of {dimension} numbers") from None
    if array.ndim != 2 or array.dtype.kind not in "iuf":
        raise BadRequest(f"{field}: every vector must be a list of {dimension} numbers")
    return _checked(array, field, dimension, distance)


# Qdrant's name of the unnamed vector: `{"": v}` is the same vector as `v`.
UNNAMED = ""


def unnamed(value: object, field: str) -> object:
    """Qdrant's named-vector form `{"": v}` unwrapped to `v`; any other name is refused by name."""
    if not isinstance(value, Mapping):
        return value
    if set(value) == {UNNAMED}:
        return value[UNNAMED]
    if not value:
        raise BadRequest(f"{field}: a point without a vector is not supported yet")
    names = ", ".join(repr(n) for n in sorted(map(str, value)) if n != UNNAMED)
    raise BadRequest(
        f'{field}: no vector named {names} in this collection (it has one unnamed vector, "")'
    )


def vector(value: object, field: str, dimension: int, distance: Distance) -> Vectors:
    """One vector as a (1, dimension) float32 matrix; normalised for Cosine."""
    value = unnamed(value, field)
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        raise BadRequest(f"{field}: must be a list of {dimension} numbers") from None
    if array.ndim != 1 or array.dtype.kind not in "iuf":
        raise BadRequest(f"{field}: must be a list of {dimension} numbers")
    return _checked(array.reshape(1, -1), field, dimension, distance)


def _checked(array: np.ndarray[Any, Any], field: str, dimension: int, dist: Distance) -> Vectors:
    if array.shape[1] != dimension:
        raise DimensionMismatch(f"{field}: expected dimension {dimension}, got {array.shape[1]}")
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(array, dtype=np.float32)
    if dist is not Distance.COSINE:
        _finite(out, field)
        return out
    # np.linalg.norm's own sum, without its dispatch (a query's vector is on the hot path); the
    # norms are finite when every value is, so only a non-finite norm needs the full check
    norms = np.sqrt(np.add.reduce(out * out, axis=1, keepdims=True))
    if not np.isfinite(norms).all():
        _finite(out, field)
    if len(out) == 1:
        if norms[0, 0] > 0:
            out /= norms
    else:
        np.divide(out, norms, out=out, where=norms > 0)
    return out


def _finite(out: Vectors, field: str) -> None:
    finite = np.isfinite(out)
    if not finite.all():
        row = int(np.flatnonzero(~finite.all(axis=1))[0])
        raise BadRequest(f"{field}: vector {row} holds NaN or infinity (or a number too large)")


def payload(value: object, field: str, limits: LimitSettings) -> bytes:
    """The JSON encoding of a payload object (None means an empty payload)."""
    if value is None:
        return b"{}"
    if not isinstance(value, dict):
        raise BadRequest(f"{field}: payload must be a JSON object")
    try:
        encoded = orjson.dumps(value)
    except orjson.JSONEncodeError as exc:
        raise BadRequest(f"{field}: payload cannot be stored as JSON: {exc}") from None
    if len(encoded) > limits.max_payload_bytes:
        raise BadRequest(f"{field}: payload is larger than {limits.max_payload_bytes} bytes")
    return encoded


def mapping(value: object, field: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise BadRequest(f"{field}: must be a JSON object")
    return value


def only_fields(body: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadRequest(f"{where}: unknown field(s) {', '.join(map(repr, unknown))}")


def integer(value: object, field: str, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{field}: must be an integer")
    if not low <= value <= high:
        raise BadRequest(f"{field}: must be between {low} and {high}")
    return value


def boolean(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise BadRequest(f"{field}: must be true or false")
    return value
