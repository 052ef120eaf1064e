"""The binary upsert body, application/vnd.zoro.points (docs/binary-points.md), as upload()
sends it to a server that reads it: a 20-byte frame, the batch's ids and payloads as a small
JSON header, then its dense vectors as raw little-endian float32 matrices, so that no number is
written as text. The frame's constants are the server's, mirrored in _wire.py."""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import orjson

from zoro.client import _wire

MEDIA_TYPE: Final = _wire.POINTS_MEDIA_TYPE
VERSION: Final = _wire.POINTS_VERSION
_FRAME = struct.Struct(_wire.POINTS_FRAME)
_ROW = np.dtype("<f4")
# the JSON header is padded with spaces so that the matrices start on this boundary
_ALIGN = 8


def encode(batch: Mapping[str, Any]) -> bytes | None:
    """The body of a checked upsert batch ({"ids", "vectors"[, "payloads"]}, as the client's
    upsert body holds it), or None when it cannot be sent this way: a multivector, a sparse
    vector or a point without some vector (those go as JSON)."""
    vectors = batch["vectors"]
    columns = {"": vectors} if isinstance(vectors, np.ndarray) else vectors
    if not isinstance(columns, Mapping) or not columns:
        return None
    if not all(isinstance(c, np.ndarray) and c.ndim == 2 for c in columns.values()):
        return None
    layout = [{"name": name, "dim": int(c.shape[1])} for name, c in columns.items()]
    header: dict[str, Any] = {"ids": batch["ids"], "vectors": layout}
    if batch.get("payloads") is not None:
        header["payloads"] = batch["payloads"]  # orjson Fragments, encoded once already
    text = orjson.dumps(header)
    text += b" " * (-(_FRAME.size + len(text)) % _ALIGN)
    matrices = [np.ascontiguousarray(c, dtype=_ROW) for c in columns.values()]
    frame = _FRAME.pack(_wire.POINTS_MAGIC, VERSION, 0, len(text), sum(m.nbytes for m in matrices))
    return b"".join([frame, text, *(m.data for m in matrices)])


def offered(document: object) -> bool:
    """Whether a server's version document (GET /) says it reads this body, in this version."""
    if not isinstance(document, Mapping):
        return False
    body = document.get("zoro_points_body")
    if not isinstance(body, Mapping) or body.get("media_type") != MEDIA_TYPE:
        return False
    versions = body.get("versions")
    return isinstance(versions, list) and VERSION in versions
