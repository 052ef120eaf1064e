"""The client's vector checks against the server's own, input by input: whatever one refuses,
the other refuses, and what both accept comes out equal. The client imports nothing from the
server; this test imports both (the server's sparse and multivector parsers are pure functions),
so a rule changed on one side fails here."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from zoro.client import InvalidInput
from zoro.client import _validate as client_check
from zoro.client import _vectors as client_vectors
from zoro.errors import BadRequest
from zoro.multi import parse_matrix
from zoro.sparse.vectors import SparseBatch
from zoro.types import Distance

SPARSE: list[Any] = [
    {"indices": [3, 1], "values": [0.5, 2]},
    {"indices": [], "values": []},
    {"indices": [0, 2**32 - 1], "values": [1, -1]},
    {"indices": [1, 1], "values": [1, 2]},
    {"indices": [-1], "values": [1]},
    {"indices": [2**32], "values": [1]},
    {"indices": [1, 2], "values": [1]},
    {"indices": [1.5], "values": [1]},
    {"indices": [True], "values": [1]},
    {"indices": [1], "values": [True]},
    {"indices": [True, 2], "values": [1, 1]},
    {"indices": [1, 2], "values": [1.0, False]},
    {"indices": [1], "values": ["1"]},
    {"indices": [1], "values": [float("nan")]},
    {"indices": [1], "values": [float("-inf")]},
    {"indices": [1], "values": [3.5e38]},
    {"indices": [1], "values": [1e39]},
]


@pytest.mark.parametrize("value", SPARSE, ids=[repr(v) for v in SPARSE])
def test_sparse_rules_agree(value: Any) -> None:
    try:
        server = SparseBatch.from_dicts([value])
    except BadRequest:
        with pytest.raises(InvalidInput):
            client_vectors.sparse(value)
        return
    client = client_vectors.sparse(value)
    order = np.argsort(client["indices"])  # the server stores indices sorted
    assert server.indices.tolist() == np.asarray(client["indices"])[order].tolist()
    assert server.values.tolist() == pytest.approx(
        np.asarray(client["values"], dtype=np.float32)[order].tolist()
    )


MATRICES: list[Any] = [
    [[1, 2, 3]],
    [[1, 2, 3], [4.5, 5, 6]],
    [],
    [[]],
    [[1, 2, 3], [1, 2]],
    [[1, 2, 3], 4],
    [1, 2, 3],
    [[1, 2, float("nan")]],
    [[1, 2, 1e39]],
    [[True, 2, 3]],
    [[1, 2, 3], [1.0, False, 3]],
    [["1", 2, 3]],
    "abc",
]


@pytest.mark.parametrize("value", MATRICES, ids=[repr(v) for v in MATRICES])
def test_multivector_rules_agree(value: Any) -> None:
    """The server checks against the declared size (3 here); the client checks the shape and
    the numbers first, then the size (DimensionMismatch, an InvalidInput) when it knows it."""
    try:
        server = parse_matrix(value, 3, Distance.DOT, field="v")
    except BadRequest:
        with pytest.raises(InvalidInput):
            client_check.dimension(client_check.multivector(value), 3)
        return
    client = client_check.multivector(value)
    client_check.dimension(client, 3)
    assert client.tolist() == server.tolist()
