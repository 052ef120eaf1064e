"""Files that `zoro import` reads, each as a stream of points (never the whole file in memory).

- .npy: a 2-D numeric array, memory-mapped; point i gets id i.
- .jsonl: one {"id": ..., "vector": [...], "payload": {...}} object a line (payload optional).
- .parquet: columns "id" and "vector" (a list of numbers), optional "payload" (a struct, or a
  JSON string); needs pyarrow.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from zoro.client._errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path

FORMATS = ("npy", "jsonl", "parquet")


@dataclass(frozen=True, slots=True)
class Source:
    """What to upload: either arrays (`vectors`, ids 0..n-1) or `points` one by one."""

    dimension: int | None
    total: int | None
    vectors: Any = None
    points: Iterable[object] | None = None


def open_source(path: Path, kind: str | None = None) -> Source:
    """Raises InvalidInput for a missing or unreadable file, or an unknown format."""
    kind = kind or path.suffix.lstrip(".").lower()
    if kind == "ndjson":
        kind = "jsonl"
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    if kind == "npy":
        return _npy(path)
    if kind == "jsonl":
        return Source(_first_dimension(path), None, points=_jsonl(path))
    if kind == "parquet":
        return _parquet(path)
    raise InvalidInput(f"{path}: unknown format {kind!r}; use one of {', '.join(FORMATS)}")


def _npy(path: Path) -> Source:
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise InvalidInput(f"{path}: not a readable .npy file ({exc})") from None
    if array.ndim != 2 or array.dtype.kind not in "iuf":
        raise InvalidInput(f"{path}: expected a 2-D numeric array, got {array.shape} {array.dtype}")
    return Source(int(array.shape[1]), int(array.shape[0]), vectors=array)


def _jsonl(path: Path) -> Iterator[object]:
    with path.open("rb") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                point = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise InvalidInput(f"{path}:{number}: invalid JSON ({exc})") from None
            if not isinstance(point, dict) or "id" not in point or "vector" not in point:
                raise InvalidInput(f'{path}:{number}: expected {{"id", "vector", "payload"?}}')
            yield point


def _first_dimension(path: Path) -> int | None:
    with path.open("rb") as lines:
        for line in lines:
            if line.strip():
                try:
                    vector = orjson.loads(line).get("vector")
                except (orjson.JSONDecodeError, AttributeError):
                    return None
                return len(vector) if isinstance(vector, list) else None
    return None


def _parquet(path: Path) -> Source:
    try:
        pq: Any = importlib.import_module("pyarrow.parquet")
    except ImportError:
        hint = "pip install pyarrow"
        raise InvalidInput(f"{path}: reading .parquet needs pyarrow ({hint})") from None
    try:
        table = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises its own ArrowInvalid, OSError and more
        raise InvalidInput(f"{path}: not a readable parquet file ({exc})") from None
    names = set(table.schema_arrow.names)
    if not {"id", "vector"} <= names:
        raise InvalidInput(f"{path}: needs columns 'id' and 'vector', has {sorted(names)}")
    return Source(None, int(table.metadata.num_rows), points=_parquet_rows(table, names))


def _parquet_rows(table: Any, names: set[str]) -> Iterator[object]:
    columns = ["id", "vector"] + (["payload"] if "payload" in names else [])
    for batch in table.iter_batches(batch_size=4096, columns=columns):
        rows = batch.to_pydict()
        payloads = rows.get("payload") or [None] * len(rows["id"])
        for pid, vector, payload in zip(rows["id"], rows["vector"], payloads, strict=True):
            if isinstance(payload, str | bytes):
                payload = orjson.loads(payload)
            yield (pid, vector, payload)
