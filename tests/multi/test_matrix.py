"""The wire checks: one matrix from decoded JSON, and batches."""

from __future__ import annotations

import numpy as np
import pytest

from zoro.errors import BadRequest
from zoro.multi import MultivectorError, parse_batch, parse_matrix
from zoro.types import Distance


def test_a_good_matrix_becomes_float32_rows() -> None:
    out = parse_matrix([[1, 2.5], [0, -1]], 2, Distance.DOT, field="vector.colbert")
    assert out.dtype == np.float32
    assert out.flags.c_contiguous
    assert out.tolist() == [[1.0, 2.5], [0.0, -1.0]]


def test_cosine_rows_are_normalised_and_a_zero_row_stays_zero() -> None:
    out = parse_matrix([[3, 4], [0, 0]], 2, Distance.COSINE, field="v")
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]], rtol=1e-6)


@pytest.mark.parametrize(
    ("value", "fault"),
    [
        ([], "at least one row"),
        ("abc", "array of rows"),
        ({"a": 1}, "array of rows"),
        ([[1, 2], [3]], "row 1 has 1 numbers, expected 2"),
        ([[1, 2], [3, 4, 5]], "row 1 has 3 numbers, expected 2"),
        ([[1, 2], 7], "row 1 is not an array"),
        ([[1, 2], [True, 1]], "row 1 holds True"),
        ([[1, 2], ["1", 1]], "row 1 holds '1'"),
        ([[1, None]], "row 0 holds None"),
        ([[1, float("nan")]], "not a finite 32-bit float"),
        ([[1, 2], [float("inf"), 1]], "row 1, position 0"),
        ([[1e39, 1]], "not a finite 32-bit float"),
        ([[10**400, 1]], "not a finite 32-bit float"),
    ],
)
def test_faults_name_the_field_and_the_row(value: object, fault: str) -> None:
    with pytest.raises(MultivectorError, match=fault) as caught:
        parse_matrix(value, 2, Distance.EUCLID, field="vector.colbert")
    assert caught.value.field == "vector.colbert"
    assert str(caught.value).startswith("vector.colbert: ")
    assert isinstance(caught.value, BadRequest)
    assert caught.value.status == 400


def test_batch_stacks_rows_and_names_the_item() -> None:
    counts, rows = parse_batch([[[1, 0]], [[0, 1], [1, 1]]], 2, Distance.DOT, field="points")
    assert counts.tolist() == [1, 2]
    assert rows.tolist() == [[1, 0], [0, 1], [1, 1]]
    with pytest.raises(MultivectorError, match=r"points\[1\]: row 0 has 3"):
        parse_batch([[[1, 0]], [[0, 1, 2]]], 2, Distance.DOT, field="points")
    counts, rows = parse_batch([], 2, Distance.DOT, field="points")
    assert counts.tolist() == []
    assert rows.shape == (0, 2)
