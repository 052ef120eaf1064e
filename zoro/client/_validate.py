"""Checks run before any request is sent, so that bad input fails fast, with the field named,
and never costs a round trip (or half an upload).

The limits and bounds are the server's defaults, mirrored in zoro/client/_wire.py (generated
from zoro.wire); a server configured otherwise still has the last word, and its 400 comes back
as InvalidInput.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from zoro.client import _wire
from zoro.client._errors import DimensionMismatch, InvalidInput, PayloadTooLarge
from zoro.client._models import DISTANCES

if TYPE_CHECKING:
    import numpy.typing as npt

    from zoro.client._models import PointId

U64_MAX = _wire.POINT_ID_MAX
# The server's rule: letters, digits, '_', '-', '.', no '..'. Names go into URL paths, so this
# check also keeps a name from reaching another route.
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
EMPTY_PAYLOAD = orjson.Fragment(b"{}")

Ids = Iterable[object] | np.ndarray[Any, np.dtype[np.integer[Any]]]
"""Point ids: ints (unsigned 64-bit), UUIDs or UUID strings, or an integer numpy array."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Client-side limits, checked before sending (defaults: the server's)."""

    max_batch_points: int = _wire.MAX_BATCH_POINTS
    max_batch_searches: int = _wire.MAX_BATCH_SEARCHES
    max_limit: int = _wire.MAX_LIMIT
    max_payload_bytes: int = _wire.MAX_PAYLOAD_BYTES
    max_body_bytes: int = _wire.MAX_BODY_BYTES
    max_name_length: int = _wire.MAX_NAME_LENGTH
    max_dimension: int = _wire.MAX_DIMENSION


def collection_name(name: object, limits: Limits) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidInput("collection name: must be a non-empty string")
    if len(name) > limits.max_name_length:
        raise InvalidInput(f"collection name: longer than {limits.max_name_length} characters")
    if not _NAME.fullmatch(name) or ".." in name:
        raise InvalidInput(
            f"collection name {name!r}: use letters, digits, '_', '-' and '.' only, "
            "starting with a letter or digit"
        )
    return name


def distance(value: str) -> str:
    if value not in DISTANCES:
        raise InvalidInput(f"distance {value!r}: use one of {', '.join(DISTANCES)}")
    return value


def positive(value: object, field: str, *, high: int | None = None, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InvalidInput(f"{field}: must be an integer")
    if high is not None and not low <= value <= high:
        raise InvalidInput(f"{field}: must be between {low} and {high}")
    if value < low:
        raise InvalidInput(f"{field}: must be at least {low}")
    return int(value)


def point_id(value: object, field: str = "id") -> PointId:
    """An unsigned 64-bit int, or a UUID (object or string) sent in canonical form."""
    if isinstance(value, bool | np.bool_):
        raise InvalidInput(f"{field}: point id must be an unsigned integer or a UUID, not a bool")
    if isinstance(value, int | np.integer):
        if 0 <= value <= U64_MAX:
            return int(value)
        raise InvalidInput(f"{field}: point id {value} is outside the unsigned 64-bit range")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str):
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise InvalidInput(f"{field}: {value!r} is not a valid UUID") from None
    raise InvalidInput(
        f"{field}: point id must be an unsigned integer or a UUID, not {type(value).__name__}"
    )


def point_ids(values: Ids, field: str = "ids") -> list[PointId]:
    """Many ids; integer arrays and ranges are checked as a whole, not one by one."""
    if isinstance(values, np.ndarray):
        if values.ndim != 1 or values.dtype.kind not in "iu":
            raise InvalidInput(f"{field}: an id array must be one-dimensional integers")
        # an unsigned array is in range by its type; a signed one only needs its minimum checked
        if values.size and values.dtype.kind == "i" and values.min() < 0:
            raise InvalidInput(f"{field}: point ids must not be negative")
        ids: list[PointId] = values.tolist()
        return ids
    if isinstance(values, range):
        if len(values) and (min(values[0], values[-1]) < 0 or max(values[0], values[-1]) > U64_MAX):
            raise InvalidInput(f"{field}: point ids must be within 0..2^64-1")
        return list(values)
    if isinstance(values, str | bytes):
        raise InvalidInput(f"{field}: must be a list of ids, not a string")
    return [point_id(v, f"{field}[{i}]") for i, v in enumerate(values)]


def matrix(vectors: object, field: str = "vectors") -> npt.NDArray[np.float32]:
    """Vectors as a C-contiguous (n, d) float32 matrix of finite numbers."""
    if isinstance(vectors, np.ndarray) and vectors.dtype == np.float32:
        array = vectors
    else:
        try:
            array = np.asarray(vectors)
        except (ValueError, TypeError):
            raise InvalidInput(f"{field}: must be equal-length lists of numbers") from None
    if array.ndim != 2 or array.dtype.kind not in "iuf":
        raise InvalidInput(f"{field}: must be equal-length lists of numbers")
    with np.errstate(over="ignore"):  # float64 beyond float32's range becomes inf: caught below
        out = np.ascontiguousarray(array, dtype=np.float32)
    finite = np.isfinite(out)
    if not finite.all():
        row = int(np.flatnonzero(~finite.all(axis=1))[0])
        raise InvalidInput(f"{field}[{row}]: holds NaN or infinity (or a number beyond float32)")
    return out


def vector(value: object, field: str = "vector") -> npt.NDArray[np.float32]:
    """One vector as a (1, d) float32 matrix."""
    if isinstance(value, np.ndarray) and value.dtype == np.float32 and value.ndim == 1:
        # the common case (a row of a float32 array): no conversion, only the finite check
        if not np.isfinite(value).all():
            raise InvalidInput(f"{field}[0]: holds NaN or infinity (or a number beyond float32)")
        return np.ascontiguousarray(value).reshape(1, -1)
    if isinstance(value, Mapping | str | bytes):
        raise InvalidInput(f"{field}: must be a list of numbers")
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        raise InvalidInput(f"{field}: must be a list of numbers") from None
    if array.ndim != 1:
        raise InvalidInput(f"{field}: must be one list of numbers")
    return matrix(array.reshape(1, -1), field)


def multivector(value: object, field: str = "vector") -> npt.NDArray[np.float32]:
    """One multivector (a point's matrix for MaxSim): at least one row, every row of the same
    width, finite float32 numbers; a (rows, d) float32 matrix.

    Raises:
        InvalidInput: anything else, naming the row at fault.
    """
    if isinstance(value, np.ndarray):
        array = value
    elif isinstance(value, list | tuple):
        for i, row in enumerate(value):
            if not isinstance(row, list | tuple | np.ndarray):
                raise InvalidInput(f"{field}: row {i} is not a list of numbers")
            if len(row) != len(value[0]):
                raise InvalidInput(
                    f"{field}: row {i} has {len(row)} numbers, row 0 has {len(value[0])} "
                    "(every row of a multivector has the vector's size)"
                )
            if has_bool(row):
                raise InvalidInput(f"{field}: row {i} holds true/false, which is not a number")
        try:
            array = np.asarray(value)
        except (ValueError, TypeError):
            raise InvalidInput(f"{field}: a multivector is a list of rows of numbers") from None
    else:
        raise InvalidInput(f"{field}: a multivector is a list of rows (lists of numbers)")
    if array.ndim != 2 or array.dtype.kind not in "iuf":
        raise InvalidInput(f"{field}: a multivector is a list of rows of numbers")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise InvalidInput(f"{field}: a multivector needs at least one row of numbers")
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(array, dtype=np.float32)
    finite = np.isfinite(out)
    if not finite.all():
        row = int(np.flatnonzero(~finite.all(axis=1))[0])
        raise InvalidInput(f"{field}: row {row} holds NaN or infinity (or a number beyond float32)")
    return out


def has_bool(items: object) -> bool:
    """Whether a list holds a bool, which numpy would silently take for 0 or 1 (and the server
    refuses as a number in sparse vectors and multivectors)."""
    return isinstance(items, list | tuple) and any(type(x) is bool for x in items)


def dimension(vectors: npt.NDArray[np.float32], expected: int, field: str = "vectors") -> None:
    if vectors.shape[1] != expected:
        raise DimensionMismatch(f"{field}: expected dimension {expected}, got {vectors.shape[1]}")


def payload(value: object, limits: Limits, field: str = "payload") -> orjson.Fragment:
    """A payload encoded once, now: the encoded bytes go into the request body as they are."""
    if value is None:
        return EMPTY_PAYLOAD
    if not isinstance(value, dict):
        if not isinstance(value, Mapping):
            kind = type(value).__name__
            raise InvalidInput(f"{field}: must be a JSON object (a dict), not {kind}")
        value = dict(value)
    try:
        encoded = orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)
    except orjson.JSONEncodeError as exc:
        raise InvalidInput(f"{field}: cannot be encoded as JSON: {exc}") from None
    if len(encoded) > limits.max_payload_bytes:
        raise PayloadTooLarge(f"{field}: {len(encoded)} bytes, over {limits.max_payload_bytes}")
    return orjson.Fragment(encoded)


def payloads(
    values: Iterable[object] | None, n: int, limits: Limits
) -> list[orjson.Fragment] | None:
    if values is None:
        return None
    if isinstance(values, Mapping):
        raise InvalidInput("payloads: must be a list of objects, one per point")
    encoded = [payload(v, limits, f"payloads[{i}]") for i, v in enumerate(values)]
    if len(encoded) != n:
        raise InvalidInput(f"payloads: {len(encoded)} payloads for {n} points")
    return encoded


def batch_points(n: int, limits: Limits) -> None:
    if n > limits.max_batch_points:
        raise InvalidInput(
            f"{n} points in one request: at most {limits.max_batch_points}; use upload()"
        )


def body(encoded: bytes, limits: Limits) -> bytes:
    if len(encoded) > limits.max_body_bytes:
        raise PayloadTooLarge(
            f"request body of {len(encoded)} bytes is over the {limits.max_body_bytes}-byte "
            "limit; send fewer points per request (upload() batches for you)"
        )
    return encoded
