"""The sparse search's inner loops, compiled by numba: one pass over the postings instead of
numpy's several (gather, multiply, add, scatter, then the touched slots gathered, filtered and
partitioned again), and without the GIL, so that searches in worker threads run beside the
event loop. Compiled once per machine when first imported (`cache=True`: numba keeps the
machine code beside this file and reloads it in milliseconds afterwards).

Float semantics are numpy's: a posting adds float32(value * weight) to a float32 sum, term by
term in the order the caller visits them, so scores are bit-for-bit those of
`acc[slots] += values * weight` done list by list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

_SCATTER = "int64(float32[::1], boolean[::1], int64[::1], int64, int64[::1], float32[::1], float32)"
_COLLECT = (
    "Tuple((float32[::1], int64[::1]))(float32[::1], boolean[::1], int64[::1], int64, "
    "int8[::1], boolean[::1], boolean, int64)"
)


@numba.njit(_SCATTER, nogil=True, cache=True)
def scatter(
    acc: npt.NDArray[np.float32],
    seen: npt.NDArray[np.bool_],
    touched: npt.NDArray[np.int64],
    count: int,
    slots: npt.NDArray[np.int64],
    values: npt.NDArray[np.float32],
    weight: np.float32,
) -> int:  # pragma: no cover - compiled
    """Add weight * values[i] to acc[slots[i]]; each slot seen the first time is appended to
    touched[count:]. Returns the new count of touched slots."""
    for i in range(len(slots)):
        slot = slots[i]
        acc[slot] += values[i] * weight
        if not seen[slot]:
            seen[slot] = True
            touched[count] = slot
            count += 1
    return count


@numba.njit(_COLLECT, nogil=True, cache=True)
def collect(
    acc: npt.NDArray[np.float32],
    seen: npt.NDArray[np.bool_],
    touched: npt.NDArray[np.int64],
    count: int,
    state: npt.NDArray[np.int8],
    allowed: npt.NDArray[np.bool_],
    filtered: bool,
    limit: int,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:  # pragma: no cover - compiled
    """The best `limit` of touched[:count] that are live (state 1) and, if `filtered`, allowed
    (slots past the end of `allowed` are not), unordered; acc and seen are reset to zero for
    every touched slot. Better means a higher score, then a higher slot (a min-heap of the
    best so far, whose root is the worst of them)."""
    scores = np.empty(limit, dtype=np.float32)
    slots = np.empty(limit, dtype=np.int64)
    size = 0
    for i in range(count):
        slot = touched[i]
        score = acc[slot]
        acc[slot] = 0.0
        seen[slot] = False
        if state[slot] != 1 or (filtered and (slot >= len(allowed) or not allowed[slot])):
            continue
        if size < limit:
            j = size
            size += 1
            while j > 0:  # sift up
                parent = (j - 1) >> 1
                if scores[parent] < score or (scores[parent] == score and slots[parent] < slot):
                    break
                scores[j] = scores[parent]
                slots[j] = slots[parent]
                j = parent
            scores[j] = score
            slots[j] = slot
        elif score > scores[0] or (score == scores[0] and slot > slots[0]):
            j = 0
            while True:  # sift down from the root it replaces
                child = 2 * j + 1
                if child >= size:
                    break
                right = child + 1
                if right < size and (
                    scores[right] < scores[child]
                    or (scores[right] == scores[child] and slots[right] < slots[child])
                ):
                    child = right
                if score < scores[child] or (score == scores[child] and slot < slots[child]):
                    break
                scores[j] = scores[child]
                slots[j] = slots[child]
                j = child
            scores[j] = score
            slots[j] = slot
    return scores[:size].copy(), slots[:size].copy()
