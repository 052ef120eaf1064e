"""SparseBatch: validation faults name the row, and the canonical form sorts each row."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from zoro.errors import BadRequest
from zoro.sparse import SparseBatch, SparseVectorError


def test_rows_are_sorted_by_index_with_their_values() -> None:
    batch = SparseBatch.from_lists([[5, 1, 3], [], [2]], [[1.0, 2.0, 3.0], [], [4.5]])
    assert batch.indptr.tolist() == [0, 3, 3, 4]
    assert batch.indices.tolist() == [1, 3, 5, 2]
    assert batch.values.tolist() == [2.0, 3.0, 1.0, 4.5]
    assert (batch.indices.dtype, batch.values.dtype) == (np.uint32, np.float32)
    assert batch.to_dicts() == [
        {"indices": [1, 3, 5], "values": [2.0, 3.0, 1.0]},
        {"indices": [], "values": []},
        {"indices": [2], "values": [4.5]},
    ]


def test_from_dicts_and_from_arrays_agree() -> None:
    rows = [{"indices": [9, 2**32 - 1, 0], "values": [1, -2.5, 0]}, {"indices": [], "values": []}]
    a = SparseBatch.from_dicts(rows)
    b = SparseBatch.from_arrays([0, 3, 3], [9, 2**32 - 1, 0], [1, -2.5, 0])
    assert a.equals(b)
    assert a.row(0)[0].tolist() == [0, 9, 2**32 - 1]


def test_rows_and_concat() -> None:
    batch = SparseBatch.from_lists([[1], [2, 3], [], [4]], [[1], [2, 3], [], [4]])
    picked = batch.rows(np.array([3, 1, 1, 2]))
    assert picked.to_dicts() == [
        {"indices": [4], "values": [4.0]},
        {"indices": [2, 3], "values": [2.0, 3.0]},
        {"indices": [2, 3], "values": [2.0, 3.0]},
        {"indices": [], "values": []},
    ]
    assert SparseBatch.concat([batch, picked]).to_dicts() == batch.to_dicts() + picked.to_dicts()
    assert len(SparseBatch.concat([])) == 0


@pytest.mark.parametrize(
    ("indices", "values", "row", "fault"),
    [
        ([[1], [1, 2]], [[1], [1]], 1, "2 indices but 1 values"),
        ([[1], [4, 2, 4]], [[1], [1, 1, 1]], 1, "index 4 appears twice"),
        ([[1], [-1]], [[1], [1]], 1, "index -1 is outside"),
        ([[2**32]], [[1]], 0, "index 4294967296 is outside"),
        ([[2**70]], [[1]], 0, "is outside"),
        ([[0], [1.5]], [[1], [1]], 1, "index 1.5 is not an integer"),
        ([[0], [True]], [[1], [1]], 1, "index True is not an integer"),
        ([[0], ["3"]], [[1], [1]], 1, "index '3' is not an integer"),
        ([[1], [2]], [[1], ["x"]], 1, "value 'x' is not a number"),
        ([[1], [2]], [[1], [False]], 1, "value False is not a number"),
        ([[1], [2]], [[1], [math.nan]], 1, "value nan is not a finite"),
        ([[1], [2]], [[math.inf], [1]], 0, "value inf is not a finite"),
        ([[1], [2]], [[1], [1e39]], 1, "value 1e+39 is not a finite 32-bit float"),
        ([[1], [2]], [[1], [None]], 1, "value None is not a number"),
    ],
)
def test_faults_name_the_row(indices: Any, values: Any, row: int, fault: str) -> None:
    with pytest.raises(SparseVectorError) as caught:
        SparseBatch.from_lists(indices, values)
    assert caught.value.row == row
    assert fault in caught.value.fault
    assert f"sparse vector {row}: " in str(caught.value)
    assert isinstance(caught.value, BadRequest)
    assert caught.value.status == 400
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    "row",
    [{"indices": [1]}, {"values": [1]}, "not a dict", {"indices": 1, "values": 1}],
)
def test_dict_shape_faults(row: Any) -> None:
    with pytest.raises(SparseVectorError) as caught:
        SparseBatch.from_dicts([{"indices": [], "values": []}, row])
    assert caught.value.row == 1


def test_duplicates_found_after_sorting_in_a_later_row() -> None:
    with pytest.raises(SparseVectorError, match="sparse vector 2: index 7 appears twice"):
        SparseBatch.from_arrays([0, 2, 2, 5], [3, 1, 7, 0, 7], [1, 1, 1, 1, 1])


def test_bad_indptr_is_a_plain_value_error() -> None:
    with pytest.raises(ValueError, match="indptr"):
        SparseBatch.from_arrays([1, 2], [1], [1])
    with pytest.raises(ValueError, match="indptr"):
        SparseBatch.from_arrays([0, 2, 1], [1, 2], [1, 2])
