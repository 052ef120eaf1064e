"""Choosing the first pairs of an order (zoro.services.ordering._first) against a plain sort."""

from __future__ import annotations

import numpy as np
import pytest

from zoro.services.ordering import OrderBy, _first


def _plain(order: OrderBy, values: np.ndarray, slots: np.ndarray, end: int) -> list[tuple]:
    pairs = sorted(set(zip(values.tolist(), slots.tolist(), strict=True)))
    if order.start_from is not None:
        pairs = [
            p
            for p in pairs
            if (p[0] <= order.start_from if order.descending else p[0] >= order.start_from)
        ]
    if order.descending:
        pairs.sort(key=lambda p: (-p[0], p[1]))
    return pairs[:end]


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("start_from", [None, 20.0])
@pytest.mark.parametrize("end", [0, 1, 7, 50, 500])
def test_first_pairs_match_a_plain_sort(
    descending: bool, start_from: float | None, end: int
) -> None:
    rng = np.random.default_rng(end)
    # few distinct values and many repeated (value, slot) pairs: ties and duplicates everywhere
    values = rng.integers(0, 40, size=300).astype(np.float64)
    slots = rng.integers(0, 60, size=300).astype(np.int64)
    order = OrderBy("k", descending=descending, start_from=start_from)
    got_values, got_slots = _first(order, values, slots, end)
    assert list(zip(got_values.tolist(), got_slots.tolist(), strict=True)) == _plain(
        order, values, slots, end
    )
