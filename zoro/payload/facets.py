"""Counting the values of a payload index (Qdrant's facets): plain numpy over the index's
(value, point) pairs (`FieldIndex.facet_entries`), safe to run in a worker thread."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

    from zoro.payload.field_index import FacetEntries


def value_counts(entries: FacetEntries, counted: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """How many of the points set in `counted` hold each value (one vectorised pass)."""
    slots = entries.slots
    if len(slots) and int(slots.max()) >= len(counted):  # pairs newer than the mask: not counted
        padded = np.zeros(int(slots.max()) + 1, dtype=np.bool_)
        padded[: len(counted)] = counted
        counted = padded
    kept = counted[slots]
    return np.bincount(entries.codes[kept], minlength=len(entries.values)).astype(np.int64)


ValueCounts = list[tuple[Any, int]]


def top_values(values: list[Any], counts: npt.NDArray[np.int64], limit: int) -> ValueCounts:
    """The `limit` most common values with their counts (count descending, then value
    ascending), none counted 0. Only the values that can make the cut are sorted: those at
    least as common as the `limit`-th most common."""
    held = np.flatnonzero(counts > 0)
    if len(held) > limit:
        cut = np.partition(counts[held], len(held) - limit)[len(held) - limit]
        held = held[counts[held] >= cut]
    order = sorted(held.tolist(), key=lambda i: (-int(counts[i]), values[i]))[:limit]
    return [(values[i], int(counts[i])) for i in order]


def facet(entries: FacetEntries, counted: npt.NDArray[np.bool_], limit: int) -> ValueCounts:
    """The `limit` most common values among the points set in `counted`, with their counts."""
    return top_values(entries.values, value_counts(entries, counted), limit)
