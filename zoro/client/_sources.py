"""Files that `zoro import` reads, each as a stream of points.

- .npy: a 2-D numeric array, memory-mapped; point i gets id i (the unnamed vector, or the one
  `--vector-name` names).
- .npz: arrays by name (numpy.savez): "vector" (the unnamed vector) and "vector.NAME" for each
  named one, each (n, d) for dense vectors or (n, rows, d) for multivectors; "id" (n integers,
  optional: else 0..n-1). Every array is read into memory.
- .jsonl: one point a line in Qdrant's shape, {"id": ..., "vector": ..., "payload": {...}}
  (payload optional), the vector a list of numbers (the unnamed vector), a multivector (a list
  of rows), or {name: vector} with dense, sparse ({"indices": [...], "values": [...]}) and
  multivectors, each point with any subset ({} for none).
- .parquet: columns "id", the vectors and an optional "payload" (a struct, or a JSON string);
  vectors are "vector" (a list of numbers, a list of rows, or a struct of named vectors) and
  "vector.NAME" columns (a list of numbers, a list of rows, or a sparse struct
  {indices, values}), null where a point lacks one; needs pyarrow.
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

FORMATS = ("npy", "npz", "jsonl", "parquet")
VECTOR = "vector"
NAMED = "vector."  # the prefix of a named vector's column (parquet) or array (npz)


@dataclass(frozen=True, slots=True)
class Source:
    """What to upload: either arrays (`vectors`: a matrix, or {name: array}; `ids`, else
    0..n-1) or `points` one by one. `dimension`: the unnamed dense vector's, when the file
    says (for --create)."""

    dimension: int | None
    total: int | None
    vectors: Any = None
    points: Iterable[object] | None = None
    ids: Any = None


def open_source(path: Path, kind: str | None = None) -> Source:
    """Raises InvalidInput for a missing or unreadable file, or an unknown format."""
    kind = kind or path.suffix.lstrip(".").lower()
    if kind == "ndjson":
        kind = "jsonl"
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    if kind == "npy":
        return _npy(path)
    if kind == "npz":
        return _npz(path)
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


def _npz(path: Path) -> Source:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (ValueError, OSError) as exc:
        raise InvalidInput(f"{path}: not a readable .npz file ({exc})") from None
    ids = arrays.pop("id", None)
    vectors: dict[str, Any] = {}
    for key, array in arrays.items():
        if key != VECTOR and not key.startswith(NAMED):
            raise InvalidInput(f"{path}: array {key!r}: name arrays 'id', 'vector', 'vector.NAME'")
        if array.ndim not in (2, 3) or array.dtype.kind not in "iuf":
            raise InvalidInput(
                f"{path}: array {key!r}: expected (n, d) or (n, rows, d) numbers, got "
                f"{array.shape} {array.dtype}"
            )
        vectors["" if key == VECTOR else key[len(NAMED) :]] = array
    if not vectors:
        raise InvalidInput(f"{path}: no 'vector' or 'vector.NAME' array")
    counts = {len(a) for a in vectors.values()} | ({len(ids)} if ids is not None else set())
    if len(counts) > 1:
        raise InvalidInput(f"{path}: the arrays hold different numbers of points {sorted(counts)}")
    plain = vectors.get("")
    dimension = int(plain.shape[1]) if plain is not None and plain.ndim == 2 else None
    if ids is not None and (ids.ndim != 1 or ids.dtype.kind not in "iu"):
        raise InvalidInput(f"{path}: array 'id': expected n integers, got {ids.shape} {ids.dtype}")
    return Source(dimension, counts.pop(), vectors=vectors, ids=ids)


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
                plain = isinstance(vector, list) and not (vector and isinstance(vector[0], list))
                return len(vector) if plain else None
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
    vector_columns = sorted(n for n in names if n == VECTOR or n.startswith(NAMED))
    if "id" not in names or not vector_columns:
        raise InvalidInput(
            f"{path}: needs columns 'id' and 'vector' (or 'vector.NAME'), has {sorted(names)}"
        )
    return Source(
        None, int(table.metadata.num_rows), points=_parquet_rows(table, names, vector_columns)
    )


def _parquet_rows(table: Any, names: set[str], vector_columns: list[str]) -> Iterator[object]:
    columns = ["id", *vector_columns] + (["payload"] if "payload" in names else [])
    for batch in table.iter_batches(batch_size=4096, columns=columns):
        rows = batch.to_pydict()
        payloads = rows.get("payload") or [None] * len(rows["id"])
        for i, (pid, payload) in enumerate(zip(rows["id"], payloads, strict=True)):
            if isinstance(payload, str | bytes):
                payload = orjson.loads(payload)
            yield (pid, _parquet_vector(rows, vector_columns, i), payload)


def _parquet_vector(rows: dict[str, list[Any]], columns: list[str], i: int) -> object:
    """Point i's vector: the bare "vector" value when it is the only column, else by name."""
    if columns == [VECTOR] and not isinstance(rows[VECTOR][i], dict):
        return rows[VECTOR][i]
    named: dict[str, object] = {}
    for column in columns:
        value = rows[column][i]
        if column == VECTOR and isinstance(value, dict):
            named.update(value)  # a struct of named vectors
        elif column == VECTOR:
            named[""] = value
        else:
            named[column[len(NAMED) :]] = value
    return {name: value for name, value in named.items() if value is not None}
