"""Qdrant's vector model on the wire: named and sparse vectors, prefetch + fusion, MMR.

The shapes (Qdrant 1.x REST):

    sparse vector    {"indices": [3, 17], "values": [0.5, 1.0]}
    multivector      [[...], [...]]: rows of the vector's size, compared by MaxSim
    named vectors    upsert batch "vectors": {"name": [[...], null, ...], "sparse": [{sparse}, ...]}
                     (one entry per point, null where the point has none)
                     point "vector": {"name": [...], "sparse": {sparse}} ({} for none)
    using            "using": "name" beside "query": the named vector to search
    the unnamed one  is named "": using "", {"": [...]}, with_vector [""]
    MMR              "query": {"nearest": v, "mmr": {"diversity": d, "candidates_limit": n}}
    fusion           "prefetch": [{"query": v, "using": ..., "filter": ..., "limit": n}, ...],
                     "query": {"fusion": "rrf"}

The client builds and checks these shapes the way the server does (sizes, sparse indices unique
within 0..2^32-1 with as many finite values, multivector rows of one width, every number a
finite float32), so that bad input fails before it is sent; what the names mean (which exist,
which are sparse or multivectors) the server decides, and the client only checks it early when
it already knows the collection's config.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from zoro.client import _validate as check
from zoro.client import _wire
from zoro.client._errors import InvalidInput
from zoro.client._models import SparseVector

if TYPE_CHECKING:
    import numpy.typing as npt

    from zoro.client._filters import Filter

U32_MAX = _wire.SPARSE_INDEX_MAX
_F32_MAX = float(np.finfo(np.float32).max)
Fusion = Literal["rrf", "dbsf"]
FUSIONS: tuple[str, ...] = _wire.FUSIONS  # the members of Fusion


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
    if check.has_bool(indices) or check.has_bool(values):
        raise InvalidInput(f"{field}: indices must be a list of integers, values of numbers")
    try:
        index_array = np.asarray(indices)
        value_array = np.asarray(values)
    except (ValueError, TypeError):
        raise InvalidInput(f"{field}: indices must be integers and values numbers") from None
    if index_array.size == 0:
        index_array = index_array.astype(np.int64)
    if value_array.size == 0:
        value_array = value_array.astype(np.float64)
    # the kinds are checked before any conversion: numpy would take True for 1 (the server
    # refuses booleans as indices and as values)
    if index_array.ndim != 1 or index_array.dtype.kind not in "iu":
        raise InvalidInput(f"{field}: indices must be a list of integers, values of numbers")
    if value_array.ndim != 1 or value_array.dtype.kind not in "iuf":
        raise InvalidInput(f"{field}: indices must be a list of integers, values of numbers")
    value_array = value_array.astype(np.float64)
    if len(index_array) != len(value_array):
        raise InvalidInput(f"{field}: {len(index_array)} indices for {len(value_array)} values")
    if index_array.size and (index_array.min() < 0 or index_array.max() > U32_MAX):
        raise InvalidInput(f"{field}: indices must be within 0..2^32-1")
    if len(np.unique(index_array)) != len(index_array):
        raise InvalidInput(f"{field}: indices must be unique")
    if not np.isfinite(value_array).all() or (np.abs(value_array) > _F32_MAX).any():
        raise InvalidInput(f"{field}: values hold NaN or infinity (or a number beyond float32)")
    return {"indices": index_array.tolist(), "values": value_array.tolist()}


UNNAMED = ""
"""Qdrant's name for the unnamed vector: `using=""`, `{"": [...]}`, `with_vector=[""]`."""


def vector_name(value: object, field: str = "using") -> str:
    if not isinstance(value, str):
        raise InvalidInput(f'{field}: a vector name must be a string ("" is the unnamed one)')
    return value


Kind = Literal["dense", "sparse", "multi"]
if TYPE_CHECKING:
    # One named vector of a batch: a (n, d) matrix when every point has a dense one, else one
    # entry per point: a float32 row, a float32 matrix (multivector), a sparse dict, or None.
    Column = npt.NDArray[np.float32] | list[Any]


def kind_of(value: object) -> Kind | None:
    """What a single vector looks like: sparse (a SparseVector or {"indices", "values"}), a
    multivector (a matrix: a list of rows), dense (anything else, checked as a list of numbers
    later; a {name: vector} mapping is the caller's to tell apart); None for None (absent)."""
    if value is None:
        return None
    if is_sparse(value):
        return "sparse"
    if isinstance(value, np.ndarray):
        return "multi" if value.ndim >= 2 else "dense"
    rows = (list, tuple, np.ndarray)
    if isinstance(value, list | tuple) and value and isinstance(value[0], rows):
        return "multi"
    return "dense"


def named_vectors(value: Mapping[Any, Any], n: int, field: str = "vectors") -> dict[str, Column]:
    """Upsert's named form, checked: name -> one entry per point (dense, sparse or multivector,
    None where the point has none), or a (n, d) matrix, or a (n, rows, d) array of
    multivectors. An empty mapping means points without vectors.

    Raises:
        InvalidInput: a name that is not a string, a column of the wrong length, kinds mixed
            in one column, or a vector that is malformed (see sparse(), check.matrix and
            check.multivector).
    """
    out: dict[str, Column] = {}
    for name, rows in value.items():
        where = f"{field}[{vector_name(name, field)!r}]"
        out[name] = column(rows, n, where)
    return out


def column(rows: object, n: int, where: str) -> Column:
    if isinstance(rows, np.ndarray) and rows.ndim == 3:
        checked: Column = [check.multivector(m, f"{where}[{i}]") for i, m in enumerate(rows)]
    elif isinstance(rows, np.ndarray) or (isinstance(rows, list | tuple) and not rows):
        checked = check.matrix(rows if len(rows) else np.empty((0, 0)), where)
    elif isinstance(rows, list | tuple):
        checked = _mixed_column(rows, where)
    else:
        raise InvalidInput(f"{where}: give one vector per point (a list, or a numpy array)")
    if len(checked) != n:
        raise InvalidInput(f"{where}: {len(checked)} vectors for {n} ids")
    if isinstance(checked, np.ndarray) and n and not checked.shape[1]:
        raise InvalidInput(f"{where}: empty vectors (give None for a point without one)")
    return checked


def _mixed_column(rows: Sequence[Any], where: str) -> Column:
    for i, v in enumerate(rows):
        if isinstance(v, Mapping) and not is_sparse(v):
            raise InvalidInput(
                f"{where}[{i}]: a column holds one vector per point, not {{name: vector}}"
            )
    kinds = {kind_of(v) for v in rows}
    kinds.discard(None)
    if len(kinds) > 1:
        raise InvalidInput(f"{where}: mixes {' and '.join(sorted(map(str, kinds)))} vectors")
    kind = kinds.pop() if kinds else "dense"
    if kind == "sparse":
        return [None if v is None else sparse(v, f"{where}[{i}]") for i, v in enumerate(rows)]
    if kind == "multi":
        out: list[Any] = [
            None if v is None else check.multivector(v, f"{where}[{i}]") for i, v in enumerate(rows)
        ]
        widths = {m.shape[1] for m in out if m is not None}
        if len(widths) > 1:
            raise InvalidInput(f"{where}: multivectors of different widths {sorted(widths)}")
        return out
    present = [i for i, v in enumerate(rows) if v is not None]
    if not present:
        return [None] * len(rows)
    if len(present) == len(rows):
        return _dense_matrix(rows, present, where)
    matrix = _dense_matrix([rows[i] for i in present], present, where)
    dense: list[Any] = [None] * len(rows)
    for row, i in enumerate(present):
        dense[i] = matrix[row]
    return dense


def _dense_matrix(
    rows: Sequence[Any], positions: Sequence[int], where: str
) -> npt.NDArray[np.float32]:
    """The rows as one checked matrix; on a fault, the row at fault named by its position."""
    try:
        matrix = check.matrix(rows, where)
    except InvalidInput:
        width = None
        for row, i in zip(rows, positions, strict=True):
            one = check.vector(row, f"{where}[{i}]")
            if width is not None and one.shape[1] != width:
                raise InvalidInput(
                    f"{where}[{i}]: {one.shape[1]} numbers where the others have {width} "
                    "(must be equal-length lists of numbers)"
                ) from None
            width = one.shape[1]
        raise
    if not matrix.shape[1]:
        raise InvalidInput(f"{where}: empty vectors (give None for a point without one)")
    return matrix


def points_columns(values: Sequence[Any], field: str = "vectors") -> dict[str, list[Any]]:
    """Vectors given point by point (each a dense vector, a multivector, {name: vector}, or
    None / {} for none) as columns by name, None where a point lacks a name. A bare vector is
    the unnamed one, ""."""
    named: list[Mapping[Any, Any]] = []
    for i, value in enumerate(values):
        if value is None:
            named.append({})
        elif isinstance(value, Mapping) and not is_sparse(value):
            named.append(value)
        elif is_sparse(value):
            raise InvalidInput(
                f"{field}[{i}]: a sparse vector needs its name: {{name: {{indices, values}}}}"
            )
        else:
            named.append({UNNAMED: value})
    # a name given as None (Qdrant's clients write null for a vector left out) is no vector
    names = dict.fromkeys(name for point in named for name, v in point.items() if v is not None)
    return {name: [point.get(name) for point in named] for name in names}


def mmr(value: Mmr, field: str = "mmr") -> dict[str, Any]:
    body: dict[str, Any] = {}
    if value.diversity is not None:
        d = value.diversity
        if isinstance(d, bool) or not isinstance(d, int | float) or not 0 <= d <= 1:
            raise InvalidInput(f"{field}.diversity: must be a number between 0 and 1")
        body["diversity"] = float(d)
    if value.candidates_limit is not None:
        body["candidates_limit"] = check.positive(
            value.candidates_limit,
            f"{field}.candidates_limit",
            low=0,
            high=_wire.MMR_CANDIDATES_MAX,
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
