"""The golden story of format version 2 (catalog v2, meta v2, WAL record type 3, presence,
sparse and multivector files): one collection with two named dense vectors, a sparse vector and
a multivector, points carrying different subsets, a checkpoint, then writes left in the WAL.

tests/formats/golden/generate_v2.py plays it into tests/formats/golden/v2/data once (with the
code of the day); tests/formats/test_golden_v2.py opens that directory with today's code.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from zoro.sparse.vectors import SparseBatch
from zoro.types import (
    DeleteBatch,
    DenseColumn,
    DenseSpec,
    Distance,
    MultiColumn,
    SparseColumn,
    SparseSpec,
    UpsertBatch,
    VectorConfig,
    WriteOp,
    keys_of,
)

DATA = Path(__file__).resolve().parent / "golden" / "v2" / "data"
NAME = "named"
CONFIG = VectorConfig(
    MappingProxyType(
        {
            "image": DenseSpec(0, 3, Distance.DOT),
            "text": DenseSpec(1, 2, Distance.EUCLID),
            "colbert": DenseSpec(3, 2, Distance.DOT, multi=True),
        }
    ),
    MappingProxyType({"words": SparseSpec(2, idf=True)}),
    False,
)

# id -> {name: value}; a point may carry any subset (point 4 carries none)
Point = dict[str, Any]
CHECKPOINTED: dict[int, Point] = {
    1: {"image": [1.0, 0.0, 0.5], "words": ([3, 7], [1.0, 0.5]), "colbert": [[1.0, 0.0]]},
    2: {"text": [0.25, -1.0], "colbert": [[0.0, 1.0], [0.5, 0.5]]},
    3: {"image": [0.0, 2.0, 0.0], "text": [1.0, 1.0], "words": ([7], [2.0])},
    4: {},
}
LOGGED_UPSERT: dict[int, Point] = {
    2: {"image": [3.0, 3.0, 3.0], "words": ([1, 3], [0.5, 0.25])},
    5: {"colbert": [[2.0, -1.0], [1.0, 1.0], [0.0, 0.0]], "text": [0.0, 0.5]},
}
LOGGED_DELETE = [3]


def upsert(points: dict[int, Point]) -> UpsertBatch:
    """The general-form batch (record type 3) of these points."""
    ids = list(points)
    columns: dict[int, DenseColumn | SparseColumn | MultiColumn] = {}
    for name, spec in CONFIG.dense.items():
        present = np.array([name in points[i] for i in ids])
        carried = [points[i][name] for i in ids if name in points[i]]
        if spec.multi:
            counts = np.array([len(m) for m in carried], dtype=np.int64)
            rows = np.array([r for m in carried for r in m], dtype=np.float32).reshape(-1, 2)
            columns[spec.number] = MultiColumn(present, counts, rows)
        else:
            rows = np.array(carried, dtype=np.float32).reshape(-1, spec.size)
            columns[spec.number] = DenseColumn(present, rows)
    present = np.array(["words" in points[i] for i in ids])
    carried = [points[i]["words"] for i in ids if "words" in points[i]]
    batch = SparseBatch.from_lists([c[0] for c in carried], [c[1] for c in carried])
    columns[2] = SparseColumn(present, batch)
    payloads = [f'{{"i":{i}}}'.encode() for i in ids]
    return UpsertBatch(keys_of(ids), None, payloads, MappingProxyType(columns))


def logged_ops() -> list[WriteOp]:
    """What the WAL holds past the checkpoint."""
    return [upsert(LOGGED_UPSERT), DeleteBatch(keys_of(LOGGED_DELETE))]


def final_points() -> dict[int, Point]:
    points = {**CHECKPOINTED, **LOGGED_UPSERT}
    for i in LOGGED_DELETE:
        del points[i]
    return points
