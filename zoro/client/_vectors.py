"""Qdrant's vector model on the wire: named and sparse vectors, prefetch + fusion, MMR.

The shapes (Qdrant 1.x REST):

    sparse vector    {"indices": [3, 17], "values": [0.5, 1.0]}
    named vectors    upsert batch "vectors": {"name": [[...], ...], "sparse": [{sparse}, ...]}
                     point "vector": {"name": [...], "sparse": {sparse}}
    using            "using": "name" beside "query": the named vector to search
    the unnamed one  is named "": using "", {"": [...]}, with_vector [""]
    MMR              "query": {"nearest": v, "mmr": {"diversity": d, "candidates_limit": n}}
    fusion           "prefetch": [{"query": v, "using": ..., "filter": ..., "limit": n}, ...],
                     "query": {"fusion": "rrf"}

The client builds and checks these shapes; whether a server serves them is its business (Zoro-DB
serves one unnamed dense vector per collection, named "", and MMR over it so far, and answers
400 to the rest; issue 12 has the plan).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from zoro.client import _validate as check
from zoro.client._errors import InvalidInput
from zoro.client._models import SparseVector

if TYPE_CHECKING:
    import numpy.typing as npt

    from zoro.client._filters import Filter

U32_MAX = 2**32 - 1
Fusion = Literal["rrf", "dbsf"]
FUSIONS: tuple[Fusion, ...] = ("rrf", "dbsf")


@dataclass(frozen=True, slots=True)
class Mmr:
    """Maximal marginal relevance: re-rank `candidates_limit` nearest candidates, trading
    relevance for `diversity` (0: pure relevance, 1: pure diversity). Unset: the server's
    defaults (Qdrant's: diversity 0.5, candidates_limit the query's limit)."""

    diversity: float | None = None
    candidates_limit: int | None = None


@dataclass(frozen=True, slots=True)
class Prefetch:
    """One sub-query of a fused search: its hits are candidates for the fusion.

    `query`: a dense vector, a sparse vector (needs `using`) or a stored point's id. `using`:
    the named vector to search. `limit`: candidates it contributes (the server's default when
    None). `prefetch`: sub-queries of its own (Qdrant nests them)."""

    query: object
    using: str | None = None
    filter: Filter | None = None
    limit: int | None = None
    score_threshold: float | None = None
    hnsw_ef: int | None = None
    exact: bool = False
    prefetch: Sequence[Prefetch] = ()


def is_sparse(value: object) -> bool:
    return isinstance(value, SparseVector) or (isinstance(value, Mapping) and "indices" in value)


def sparse(value: object, field: str = "vector") -> dict[str, list[Any]]:
    """A sparse vector in its wire form, checked: as many finite values as unique indices.

    Raises:
        InvalidInput: anything else.
    """
    if isinstance(value, SparseVector):
        indices: object = value.indices
        values: object = value.values
    elif isinstance(value, Mapping) and set(value) == {"indices", "values"}:
        indices, values = value["indices"], value["values"]
    else:
        raise InvalidInput(f'{field}: a sparse vector is {{"indices": [...], "values": [...]}}')
    try:
        index_array = np.asarray(indices)
        value_array = np.asarray(values, dtype=np.float64)
    except (ValueError, TypeError):
        raise InvalidInput(f"{field}: indices must be integers and values numbers") from None
    if index_array.size == 0:
        index_array = index_array.astype(np.int64)
    if index_array.ndim != 1 or index_array.dtype.kind not in "iu" or value_array.ndim != 1:
        raise InvalidInput(f"{field}: indices must be a list of integers, values of numbers")
    if len(index_array) != len(value_array):
        raise InvalidInput(f"{field}: {len(index_array)} indices for {len(value_array)} values")
    if index_array.size and (index_array.min() < 0 or index_array.max() > U32_MAX):
        raise InvalidInput(f"{field}: indices must be within 0..2^32-1")
    if len(np.unique(index_array)) != len(index_array):
        raise InvalidInput(f"{field}: indices must be unique")
    if not np.isfinite(value_array).all():
        raise InvalidInput(f"{field}: values hold NaN or infinity")
    return {"indices": index_array.tolist(), "values": value_array.tolist()}


UNNAMED = ""
"""Qdrant's name for the unnamed vector: `using=""`, `{"": [...]}`, `with_vector=[""]`."""


def vector_name(value: object, field: str = "using") -> str:
    if not isinstance(value, str):
        raise InvalidInput(f'{field}: a vector name must be a string ("" is the unnamed one)')
    return value


def named_vectors(
    value: Mapping[Any, Any], n: int, field: str = "vectors"
) -> dict[str, npt.NDArray[np.float32] | list[dict[str, list[Any]]]]:
    """Upsert's named form: name -> n dense vectors (a matrix) or n sparse vectors."""
    if not value:
        raise InvalidInput(f"{field}: give at least one named vector")
    out: dict[str, npt.NDArray[np.float32] | list[dict[str, list[Any]]]] = {}
    for name, rows in value.items():
        where = f"{field}[{vector_name(name, field)!r}]"
        if isinstance(rows, Sequence) and rows and is_sparse(rows[0]):
            column: Any = [sparse(v, f"{where}[{i}]") for i, v in enumerate(rows)]
        else:
            column = check.matrix(rows, where)
        if len(column) != n:
            raise InvalidInput(f"{where}: {len(column)} vectors for {n} ids")
        out[name] = column
    return out


def mmr(value: Mmr, field: str = "mmr") -> dict[str, Any]:
    body: dict[str, Any] = {}
    if value.diversity is not None:
        d = value.diversity
        if isinstance(d, bool) or not isinstance(d, int | float) or not 0 <= d <= 1:
            raise InvalidInput(f"{field}.diversity: must be a number between 0 and 1")
        body["diversity"] = float(d)
    if value.candidates_limit is not None:
        body["candidates_limit"] = check.positive(
            value.candidates_limit, f"{field}.candidates_limit", low=0
        )
    return body


def fusion(value: object) -> dict[str, str]:
    if value not in FUSIONS:
        raise InvalidInput(f"fusion {value!r}: use one of {', '.join(FUSIONS)}")
    return {"fusion": str(value)}


def score_threshold(value: object, field: str = "score_threshold") -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"{field}: must be a finite number")
    return float(value)


def with_payload(value: object) -> bool | list[str] | dict[str, list[str]]:
    """Qdrant's payload selection: True/False, a list of keys, {"include"|"exclude": keys}."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, list | tuple) and all(isinstance(k, str) for k in value):
        return list(value)
    if isinstance(value, Mapping) and len(value) == 1:
        ((kind, keys),) = value.items()
        if (
            kind in ("include", "exclude")
            and isinstance(keys, list | tuple)
            and all(isinstance(k, str) for k in keys)
        ):
            return {kind: list(keys)}
    raise InvalidInput(
        'with_payload: True/False, a list of keys, or {"include": [...]} / {"exclude": [...]}'
    )


def with_vector(value: object) -> bool | list[str]:
    """True/False, or the names of the vectors to return (named vectors)."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, list | tuple) and value and all(isinstance(k, str) for k in value):
        return list(value)
    raise InvalidInput("with_vector: True/False, or a list of vector names")
