"""JSON in and out with orjson, in Qdrant's envelope.

Success: {"result": ..., "status": "ok", "time": seconds}
Error:   {"status": {"error": "..."}, "time": seconds, "result": null}
"""

from __future__ import annotations

from typing import Any

import orjson

from zoro.errors import BadRequest

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY


def parse(body: bytes) -> Any:
    """The request body as JSON; an empty body is None. Invalid JSON is a 400 naming the place."""
    if not body:
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"body: invalid JSON ({exc})") from None


def ok(result: Any, elapsed_s: float) -> bytes:
    return orjson.dumps({"result": result, "status": "ok", "time": elapsed_s}, option=_OPTIONS)


def error(message: str, elapsed_s: float) -> bytes:
    return orjson.dumps({"status": {"error": message}, "time": elapsed_s, "result": None})


def plain(document: Any) -> bytes:
    """A document outside the envelope (the version document, health, OpenAPI)."""
    return orjson.dumps(document, option=_OPTIONS)
