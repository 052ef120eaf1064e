"""Small JSON documents (catalog, meta, payload index schemas) with a CRC, replaced atomically.

    {"crc32": <CRC32 of the canonical encoding of data>, "data": {...}}

The canonical encoding is orjson with sorted keys; orjson writes floats in their shortest exact
form, so decoding and re-encoding gives back the same bytes. Atomic replace guards against torn
writes; the CRC catches a file that was damaged later, even when it still parses as JSON.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, TypeVar

import orjson

from zoro.errors import CorruptionError
from zoro.fsutil import atomic_write

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

T = TypeVar("T")


def _canonical(data: Mapping[str, object]) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def write(path: Path, data: Mapping[str, object]) -> None:
    """Replace `path` durably (temp file, fsync, rename, fsync dir). Raises OSError."""
    doc = {"crc32": zlib.crc32(_canonical(data)), "data": data}
    atomic_write(path, orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))


def read(path: Path) -> dict[str, object]:
    """The `data` of a document. Raises OSError if unreadable, CorruptionError if damaged."""
    raw = path.read_bytes()
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise CorruptionError(str(path), exc.pos, f"not valid JSON: {exc.msg}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), dict):
        raise CorruptionError(str(path), 0, "not a checked JSON document")
    data: dict[str, object] = doc["data"]
    if doc.get("crc32") != zlib.crc32(_canonical(data)):
        raise CorruptionError(str(path), 0, "checksum mismatch")
    return data


def check_version(
    data: Mapping[str, object],
    path: Path,
    version: int | tuple[int, ...],
    *,
    kind: str | None = None,
    key: str = "version",
) -> int:
    """Refuse a document of another kind or version, naming both what was found and what this
    build reads: a file from a newer Zoro must be refused by name, never half understood.

    `version`: the one version read, or every version read (the newest last); returns the
    version found. `kind`: the expected `format` string (the catalog and meta name their kind
    there; the payload index schema keeps its version under `format` itself, so it passes
    key="format").
    """
    if kind is not None and data.get("format") != kind:
        found = data.get("format")
        raise CorruptionError(str(path), 0, f"not a {kind} document (format {found!r})")
    found = data.get(key)
    versions = (version,) if isinstance(version, int) else version
    if type(found) is not int or found not in versions:
        reads = " or ".join(map(str, versions))
        raise CorruptionError(
            str(path), 0, f"unsupported version {found!r} (this build reads version {reads})"
        )
    return found


def field(data: Mapping[str, object], name: str, kind: type[T], path: Path) -> T:
    """data[name], checked to be of `kind` (an int is not a bool here, a float may be an int)."""
    value = data.get(name)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise CorruptionError(str(path), 0, f"field {name!r} is missing or not {kind.__name__}")
    return value
