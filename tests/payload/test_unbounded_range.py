"""A range with no bounds, on a key with a numeric index, must match only the points that hold a
number there, as the definition (`matches`) and the scan say.

Found by tests/payload/test_select.py::test_nested_filters_equal_the_definition (hypothesis:
items [{}, {}, {"n": 0}], live [False, True, False], condition `n` range {}): the index's value
column held NaN for slots without a number and a boundless range kept them. Pinned here so that
it is checked every run, not only when hypothesis happens to draw it. Over HTTP the same filter is
`{"key": "n", "range": {}}`, which zoro/services/filters.py accepts.
"""

from __future__ import annotations

import numpy as np
import pytest

from zoro.payload import Range, matches, parse_key
from zoro.payload.field_index import FloatIndex, IntegerIndex, NumericIndex
from zoro.types import key_of

PAYLOADS = [{}, {"n": "text"}, {"n": 0}, {"n": -2}]
HOLDERS = [2, 3]


def test_the_definition_matches_only_points_with_a_number() -> None:
    unbounded = Range(parse_key("n"))
    got = [i for i, p in enumerate(PAYLOADS) if matches(unbounded, p, key_of(i))]
    assert got == HOLDERS


@pytest.mark.parametrize("cls", [IntegerIndex, FloatIndex])
def test_an_index_matches_only_points_with_a_number(cls: type[NumericIndex]) -> None:
    index = cls(parse_key("n"))
    index.add(list(range(len(PAYLOADS))), PAYLOADS)
    mask = index.mask(Range(parse_key("n")), len(PAYLOADS))
    assert np.flatnonzero(mask).tolist() == HOLDERS
