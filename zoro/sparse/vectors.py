"""Sparse vectors in bulk: a CSR-like batch, its validation and its canonical form.

A sparse vector is Qdrant's `{"indices": [...], "values": [...]}`: as many values as indices,
indices unique and in the u32 range (0 ..= 4294967295), values finite. The empty vector is
allowed (it scores 0 against everything, so it never matches a query, but it still counts as a
document for IDF). Input order is arbitrary; the canonical form sorts each row by index, as
Qdrant does, so equal vectors have equal bytes and dot products can merge sorted runs.

A batch of n rows is three arrays, the layout scipy calls CSR:

    indptr   int64[n + 1]   row i is positions indptr[i] .. indptr[i+1]
    indices  uint32[nnz]    dimension ids, strictly increasing within each row
    values   float32[nnz]

Validation is vectorised over the whole batch; only when a fault is found does a slow pass look
for the first faulty row, so that the error can name it (the HTTP layer turns
`SparseVectorError` into a 400 naming the row and the fault).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from zoro.errors import SparseVectorError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

MAX_INDEX: Final = 2**32 - 1
_F32_MAX: Final = float(np.finfo(np.float32).max)

I64 = npt.NDArray[np.int64]
U32 = npt.NDArray[np.uint32]
F32 = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True, eq=False)
class SparseBatch:
    """n sparse vectors in CSR form. Build with `from_lists`, `from_dicts` or `from_arrays`, which
    validate and canonicalise; the constructor itself trusts its arguments."""

    indptr: I64
    indices: U32
    values: F32

    def __len__(self) -> int:
        return len(self.indptr) - 1

    @property
    def nnz(self) -> int:
        return len(self.indices)

    def lengths(self) -> I64:
        return np.diff(self.indptr)

    def row(self, i: int) -> tuple[U32, F32]:
        """Row i's indices and values (views, no copy)."""
        start, end = int(self.indptr[i]), int(self.indptr[i + 1])
        return self.indices[start:end], self.values[start:end]

    def rows(self, which: I64) -> SparseBatch:
        """A new batch of the rows `which` (any order, repeats allowed)."""
        lengths = self.lengths()[which]
        indptr = _indptr(lengths)
        positions = _positions(self.indptr[which], lengths, int(indptr[-1]))
        return SparseBatch(indptr, self.indices[positions], self.values[positions])

    def to_dicts(self) -> list[dict[str, list[Any]]]:
        """Qdrant's wire shape, row by row."""
        return [
            {"indices": idx.tolist(), "values": val.tolist()}
            for idx, val in (self.row(i) for i in range(len(self)))
        ]

    def equals(self, other: SparseBatch) -> bool:
        return (
            np.array_equal(self.indptr, other.indptr)
            and np.array_equal(self.indices, other.indices)
            and np.array_equal(self.values, other.values)
        )

    @classmethod
    def empty(cls) -> SparseBatch:
        return cls(
            np.zeros(1, dtype=np.int64),
            np.empty(0, dtype=np.uint32),
            np.empty(0, dtype=np.float32),
        )

    @classmethod
    def concat(cls, batches: Sequence[SparseBatch]) -> SparseBatch:
        if not batches:
            return cls.empty()
        lengths = np.concatenate([b.lengths() for b in batches])
        return cls(
            _indptr(lengths),
            np.concatenate([b.indices for b in batches]),
            np.concatenate([b.values for b in batches]),
        )

    @classmethod
    def from_arrays(cls, indptr: npt.ArrayLike, indices: npt.ArrayLike, values: Any) -> SparseBatch:
        """Validate and canonicalise CSR arrays (any integer / real dtypes).

        Raises SparseVectorError naming the first bad row.
        """
        ptr = np.asarray(indptr)
        if ptr.ndim != 1 or len(ptr) == 0 or ptr.dtype.kind not in "iu":
            raise ValueError("indptr must be a non-empty 1-d integer array")
        ptr = ptr.astype(np.int64)
        if ptr[0] != 0 or np.any(np.diff(ptr) < 0):
            raise ValueError("indptr must start at 0 and never decrease")
        raw_indices = np.asarray(indices)
        raw_values = np.asarray(values)
        if len(raw_indices) != ptr[-1] or len(raw_values) != ptr[-1]:
            raise ValueError("indices and values must have indptr[-1] entries")
        return _checked(ptr, raw_indices, raw_values)

    @classmethod
    def from_lists(
        cls, indices: Sequence[Sequence[Any]], values: Sequence[Sequence[Any]]
    ) -> SparseBatch:
        """Rows given as parallel lists (decoded JSON). Raises SparseVectorError."""
        if len(indices) != len(values):
            raise ValueError("as many index lists as value lists are needed")
        index_lengths = np.fromiter(map(len, indices), dtype=np.int64, count=len(indices))
        value_lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
        unequal = np.flatnonzero(index_lengths != value_lengths)
        if len(unequal):
            row = int(unequal[0])
            raise SparseVectorError(
                row,
                f"{index_lengths[row]} indices but {value_lengths[row]} values "
                "(they must have the same length)",
            )
        ptr = _indptr(index_lengths)
        flat_indices = _flat_array(indices, ptr, (int,))
        flat_values = _flat_array(values, ptr, (int, float))
        return _checked(ptr, flat_indices, flat_values)

    @classmethod
    def from_dicts(cls, rows: Iterable[Mapping[str, Any]]) -> SparseBatch:
        """Rows in Qdrant's shape, {"indices": [...], "values": [...]}. Raises SparseVectorError."""
        indices: list[Sequence[Any]] = []
        values: list[Sequence[Any]] = []
        for i, row in enumerate(rows):
            try:
                row_indices, row_values = row["indices"], row["values"]
            except (KeyError, TypeError):
                raise SparseVectorError(i, "needs `indices` and `values`") from None
            if not isinstance(row_indices, list | tuple) or not isinstance(
                row_values, list | tuple
            ):
                raise SparseVectorError(i, "`indices` and `values` must be arrays")
            indices.append(row_indices)
            values.append(row_values)
        return cls.from_lists(indices, values)


def _indptr(lengths: I64) -> I64:
    ptr = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=ptr[1:])
    return ptr


def _positions(starts: I64, lengths: I64, total: int) -> I64:
    """Positions starts[i] .. starts[i] + lengths[i], all rows back to back."""
    shift: I64 = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    positions: I64 = np.arange(total, dtype=np.int64) + shift
    return positions


def _row_of(ptr: I64, position: int) -> int:
    """The row holding flat position `position` (the last row when rows end there)."""
    return int(np.searchsorted(ptr, position, side="right")) - 1


def _flat_array(rows: Sequence[Sequence[Any]], ptr: I64, allowed: tuple[type, ...]) -> Any:
    """All rows' items in one array. `set(map(type, ...))` runs in C and catches what numpy
    would silently convert (a JSON `true` would become the integer 1)."""
    flat = list(itertools.chain.from_iterable(rows))
    kinds = set(map(type, flat))
    if not kinds.issubset(allowed):
        array = np.empty(len(flat), dtype=object)  # the checks below name the first bad row
        array[:] = flat
        return array
    try:
        return np.asarray(flat)
    except OverflowError:  # pragma: no cover - numpy versions that refuse huge ints
        array = np.empty(len(flat), dtype=object)
        array[:] = flat
        return array


def _checked(ptr: I64, raw_indices: npt.NDArray[Any], raw_values: npt.NDArray[Any]) -> SparseBatch:
    indices = _checked_indices(ptr, raw_indices)
    values = _checked_values(ptr, raw_values)
    return _canonical(ptr, indices, values)


def _checked_indices(ptr: I64, raw: npt.NDArray[Any]) -> U32:
    if raw.dtype == np.uint32:
        return raw
    if raw.dtype.kind not in "iu" and len(raw):  # floats, bools, strings, huge ints: find the row
        for position, item in enumerate(raw.tolist()):
            if isinstance(item, bool) or not isinstance(item, int):
                raise SparseVectorError(_row_of(ptr, position), f"index {item!r} is not an integer")
            if not 0 <= item <= MAX_INDEX:
                raise SparseVectorError(
                    _row_of(ptr, position), f"index {item} is outside 0..{MAX_INDEX}"
                )
        raw = np.asarray(raw.tolist(), dtype=np.int64)
    if raw.dtype == np.uint64:
        out_of_range = raw > MAX_INDEX
    else:
        raw = raw.astype(np.int64)
        out_of_range = (raw < 0) | (raw > MAX_INDEX)
    if np.any(out_of_range):
        bad = int(np.argmax(out_of_range))
        raise SparseVectorError(
            _row_of(ptr, bad), f"index {int(raw[bad])} is outside 0..{MAX_INDEX}"
        )
    return raw.astype(np.uint32)


def _checked_values(ptr: I64, raw: npt.NDArray[Any]) -> F32:
    if raw.dtype.kind not in "iuf" and len(raw):
        for position, item in enumerate(raw.tolist()):
            if isinstance(item, bool) or not isinstance(item, int | float):
                raise SparseVectorError(_row_of(ptr, position), f"value {item!r} is not a number")
        raw = np.asarray([float(x) for x in raw.tolist()], dtype=np.float64)
    try:
        wide = raw.astype(np.float64)
    except OverflowError:  # pragma: no cover - ints beyond float64 are caught above
        raise SparseVectorError(0, "a value is not a finite 32-bit float") from None
    bad_mask = ~np.isfinite(wide) | (np.abs(wide) > _F32_MAX)
    if np.any(bad_mask):
        bad = int(np.argmax(bad_mask))
        raise SparseVectorError(
            _row_of(ptr, bad), f"value {float(wide[bad])!r} is not a finite 32-bit float"
        )
    return wide.astype(np.float32)


def _canonical(ptr: I64, indices: U32, values: F32) -> SparseBatch:
    """Sort each row by index (a no-op when already sorted) and refuse repeated indices."""
    n = len(ptr) - 1
    if len(indices) > 1:
        steps = np.diff(indices.astype(np.int64))
        row_starts = ptr[1:-1][(ptr[1:-1] > 0) & (ptr[1:-1] < len(indices))]
        inside = np.ones(len(steps), dtype=bool)
        inside[row_starts - 1] = False  # the step from one row's last item to the next row's first
        if np.any(steps[inside] <= 0):
            rows = np.repeat(np.arange(n, dtype=np.uint64), np.diff(ptr))
            order = np.argsort((rows << np.uint64(32)) | indices.astype(np.uint64), kind="stable")
            indices, values = indices[order], values[order]
            repeated = (np.diff(indices.astype(np.int64)) == 0) & inside
            if np.any(repeated):
                bad = int(np.argmax(repeated))
                raise SparseVectorError(
                    _row_of(ptr, bad), f"index {int(indices[bad])} appears twice"
                )
    return SparseBatch(
        ptr, np.ascontiguousarray(indices), np.ascontiguousarray(values, dtype=np.float32)
    )
