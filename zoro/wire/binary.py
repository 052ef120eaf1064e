"""The binary upsert body, `application/vnd.zoro.points` (docs/binary-points.md): the points of
an upsert with their dense vectors as raw float32 matrices, so that neither side writes or
parses a number as text.

    offset        size  field
    0             4     magic b"ZPTS"
    4             2     format version, u16 little-endian (1)
    6             2     flags, u16 (0: none are defined in version 1)
    8             4     J: the JSON header's length in bytes, u32
    12            8     D: the matrices' length in bytes, u64
    20            J     the JSON header (UTF-8): {"ids", "payloads", "vectors": [{"name", "dim"}]}
    20 + J        D     one matrix per `vectors` entry, in order: len(ids) rows of `dim`
                        little-endian float32, row after row

The body is exactly 20 + J + D bytes, and D is exactly len(ids) x the sum of the dims x 4.
Every length is checked against the bytes received before anything is read or allocated, so
a declared length, however large, costs nothing. A writer may pad the JSON header with spaces
so that the matrices start at a multiple of 8 (a reader accepts any offset).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import orjson

from zoro.errors import BadRequest
from zoro.wire.check import check, whole

if TYPE_CHECKING:
    import numpy.typing as npt

    from zoro.settings import LimitSettings

MEDIA_TYPE: Final = "application/vnd.zoro.points"
MAGIC: Final = b"ZPTS"
VERSION: Final = 1
FRAME: Final = "<4sHHIQ"  # magic, version, flags, JSON header length, matrices' length
FRAME_SIZE: Final = 20
_FRAME = struct.Struct(FRAME)
assert _FRAME.size == FRAME_SIZE
SCHEMA: Final = "upsert_points_binary"  # the header's schema (zoro.wire.requests.BODIES)
_ROW: Final = np.dtype("<f4")


@dataclass(frozen=True, slots=True)
class Points:
    """A decoded body: its checked JSON header, and each named matrix, (n, dim) float32."""

    header: dict[str, Any]
    matrices: tuple[tuple[str, npt.NDArray[np.float32]], ...]


def is_binary(content_type: str) -> bool:
    """Whether a Content-Type header names this body (parameters after `;` are ignored: the
    version is the body's own)."""
    return content_type.partition(";")[0].strip().lower() == MEDIA_TYPE


def decode(body: bytes, limits: LimitSettings) -> Points:
    """The points of a body in this format, or BadRequest saying what is wrong with it: the
    frame, the header (checked against its schema) or the matrices' length. The values are
    not checked here (finite, sizes): that is the collection's business, as for JSON."""
    json_length, data_length = _frame(body)
    start = FRAME_SIZE + json_length
    try:
        header = orjson.loads(memoryview(body)[FRAME_SIZE:start])
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"header: invalid JSON ({exc})") from None
    header = check(SCHEMA, header, limits)
    n = len(header["ids"])
    layout = [
        (entry["name"], whole(entry["dim"], f"header.vectors[{i}].dim"))
        for i, entry in enumerate(header["vectors"])
    ]
    _distinct([name for name, _ in layout])
    needed = n * sum(dim for _, dim in layout) * _ROW.itemsize
    if needed != data_length:
        raise BadRequest(
            f"body: {data_length} bytes of vectors, but {n} points of "
            f"{'+'.join(str(dim) for _, dim in layout) or 'no'} float32 need {needed}"
        )
    matrices = []
    for name, dim in layout:
        rows = np.frombuffer(body, dtype=_ROW, count=n * dim, offset=start).reshape(n, dim)
        # a copy in native order: the request's bytes are read-only, and Cosine normalises in
        # place
        matrices.append((name, rows.astype(np.float32)))
        start += rows.nbytes
    return Points(header, tuple(matrices))


def _frame(body: bytes) -> tuple[int, int]:
    """The header's and the matrices' lengths, once the frame is known to be sound."""
    if len(body) < FRAME_SIZE:
        raise BadRequest(
            f"body: {len(body)} bytes, shorter than the {FRAME_SIZE}-byte frame of {MEDIA_TYPE} "
            "(docs/binary-points.md)"
        )
    magic, version, flags, json_length, data_length = _FRAME.unpack_from(body)
    if magic != MAGIC:
        raise BadRequest(
            f"body: does not start with {MAGIC!r}, the magic of {MEDIA_TYPE} "
            f"(it starts {bytes(magic)!r})"
        )
    if version != VERSION:
        raise BadRequest(
            f"body: {MEDIA_TYPE} version {version} is not one this server reads ({VERSION})"
        )
    if flags:
        raise BadRequest(f"body: flags {flags:#06x} are not defined in version {VERSION}")
    if FRAME_SIZE + json_length + data_length != len(body):
        raise BadRequest(
            f"body: the frame declares a {json_length}-byte header and {data_length} bytes of "
            f"vectors, but {len(body) - FRAME_SIZE} bytes follow it"
        )
    return json_length, data_length


def _distinct(names: list[str]) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise BadRequest(f"header.vectors[{i}].name: {name!r} is given twice")
        seen.add(name)
