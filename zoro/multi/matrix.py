"""Multivectors on the wire: one matrix (a list of rows) from decoded JSON, checked, and batches.

Qdrant's shape for a vector with `multivector_config` is a list of rows, each a list of `size`
numbers, at least one row. Everything is checked before numpy sees it where numpy would be
lenient: a JSON `true` would become 1.0, and a ragged list would become an object array or an
exception that names nothing. A fault raises `MultivectorError` naming the field given by the
caller (`vector.colbert`, say) and, for a bad row, its position.

Values must be finite 32-bit floats (NaN, infinities and numbers beyond float32 are refused).
For Cosine the rows come back scaled to unit length, as Qdrant stores them (a zero row stays
zero); queries are normalised the same way, so stored rows and queries are comparable.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from zoro.errors import MultivectorError
from zoro.types import Distance

if TYPE_CHECKING:
    from collections.abc import Sequence

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

_F32_MAX: Final = float(np.finfo(np.float32).max)
_NUMBER: Final = frozenset({int, float})


def parse_matrix(value: object, dimension: int, distance: Distance, *, field: str) -> F32:
    """One multivector from decoded JSON: a C-contiguous (rows, dimension) float32 array.

    Raises MultivectorError (a 400) naming `field` when `value` is not a non-empty list of
    rows of `dimension` finite numbers each.
    """
    if not isinstance(value, list | tuple):
        raise MultivectorError(field, "a multivector must be an array of rows (arrays of numbers)")
    if not value:
        raise MultivectorError(field, "a multivector must have at least one row")
    for i, row in enumerate(value):
        if not isinstance(row, list | tuple):
            raise MultivectorError(field, f"row {i} is not an array of numbers")
        if len(row) != dimension:
            raise MultivectorError(
                field, f"row {i} has {len(row)} numbers, expected {dimension} (the vector's size)"
            )
    flat = list(itertools.chain.from_iterable(value))
    if not set(map(type, flat)) <= _NUMBER:  # in C; bool is not int here (type(), not isinstance)
        position = next(p for p, x in enumerate(flat) if type(x) not in _NUMBER)
        raise MultivectorError(
            field, f"row {position // dimension} holds {flat[position]!r}, which is not a number"
        )
    try:
        wide = np.array(flat, dtype=np.float64)
    except OverflowError:  # an integer beyond float64
        raise MultivectorError(field, "a value is not a finite 32-bit float") from None
    return finish(wide.reshape(len(value), dimension), distance, field=field)


def parse_batch(
    values: Sequence[object], dimension: int, distance: Distance, *, field: str
) -> tuple[I64, F32]:
    """Several multivectors (one per point): their row counts and all rows stacked, the
    layout `MultiIndex.add` and `MultiRows.append` take. The field of item i is `field[i]`."""
    matrices = [
        parse_matrix(v, dimension, distance, field=f"{field}[{i}]") for i, v in enumerate(values)
    ]
    counts = np.fromiter((len(m) for m in matrices), dtype=np.int64, count=len(matrices))
    rows = np.concatenate(matrices) if matrices else np.empty((0, dimension), dtype=np.float32)
    return counts, np.ascontiguousarray(rows, dtype=np.float32)


def finish(matrix: npt.ArrayLike, distance: Distance, *, field: str) -> F32:
    """An already numeric 2-d array: refuse non-finite or out-of-range values, make it
    C-contiguous float32 (a copy, never the caller's array), normalise rows for Cosine."""
    wide = np.asarray(matrix, dtype=np.float64)
    if wide.ndim != 2 or wide.shape[0] == 0:
        raise MultivectorError(field, f"a multivector must be a non-empty matrix, got {wide.shape}")
    bad = ~np.isfinite(wide) | (np.abs(wide) > _F32_MAX)
    if bad.any():
        row, column = (int(x) for x in np.argwhere(bad)[0])
        raise MultivectorError(
            field,
            f"row {row}, position {column}: {wide[row, column]!r} is not a finite 32-bit float",
        )
    out = np.array(wide, dtype=np.float32, order="C")
    if distance is Distance.COSINE:
        normalise(out)
    return out


def normalise(rows: F32) -> None:
    """Scale each row of float32 `rows` to unit length in place; a zero row stays zero."""
    norms = np.sqrt(np.einsum("ij,ij->i", rows, rows, dtype=np.float64))
    norms[norms == 0.0] = 1.0
    rows /= norms[:, None].astype(np.float32)


def describe(matrix: F32) -> list[list[Any]]:
    """The wire shape of a stored matrix (for `with_vector`)."""
    out: list[list[Any]] = matrix.tolist()
    return out
