"""A numpy array that grows by doubling, so appending a batch is amortised O(batch)."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt

T = TypeVar("T", bound=np.generic)

_MIN_CAPACITY = 1024


class Growable(Generic[T]):
    """Rows [0, len) of a larger buffer. `view()` is valid until the next `extend`."""

    def __init__(self, dtype: np.dtype[T], initial: npt.NDArray[T] | None = None) -> None:
        """Start with `initial` as the buffer itself (no copy: the caller hands it over)."""
        if initial is None or not len(initial):
            self._buf: npt.NDArray[T] = np.empty(_MIN_CAPACITY, dtype=dtype)
            self._len = 0
        else:
            self._buf = np.ascontiguousarray(initial, dtype=dtype)
            self._len = len(initial)

    def __len__(self) -> int:
        return self._len

    def view(self) -> npt.NDArray[T]:
        return self._buf[: self._len]

    def extend(self, rows: npt.NDArray[Any]) -> None:
        end = self._len + len(rows)
        if end > len(self._buf):
            bigger = np.empty(max(end, 2 * len(self._buf)), dtype=self._buf.dtype)
            bigger[: self._len] = self._buf[: self._len]
            # Readers holding the old view keep the old buffer alive; it is never written again.
            self._buf = bigger
        self._buf[self._len : end] = rows
        self._len = end

    def truncate(self, length: int) -> None:
        self._len = min(self._len, length)

    @property
    def nbytes(self) -> int:
        return int(self._buf.nbytes)
