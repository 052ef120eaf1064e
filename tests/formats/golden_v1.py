"""What the version 1 golden data directory holds: the writes made to it, in order.

The generator (tests/formats/golden/generate.py) replays this story with the code of the day the
files were made; the golden tests read the files back and compare with it. Like the files, it is
frozen: never edit it for version 1 (add a golden_v2.py beside it for a new version).

    golden   hnsw engine, Euclid, dimension 4, payload indexes on `city` (keyword) and `rank`
             (integer). LSN 1-3 are checkpointed (ANN graph and payload indexes persisted with
             the checkpoint); LSN 4-5 are only in the WAL: the "crash" came after they were
             logged and before anything else was written, so opening replays them.
    flat     flat engine, Cosine, dimension 3. LSN 1-2 checkpointed (one sealed flat segment),
             LSN 3 only in the WAL.
    doomed   dimension 2, Dot, no points: its catalog entry says `deleting` (a crash between the
             two steps of a delete); opening finishes the delete.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from zoro.types import U64_MAX, PointId

VERSION = "v1"
DATA = Path(__file__).resolve().parent / "golden" / VERSION / "data"

# The clock and the collection ids the generator pins (the catalog records both).
CREATED_AT = {"golden": 1767225600.0, "flat": 1767225660.5, "doomed": 1767225720.25}
COLLECTION_IDS = {
    "golden": "601de9a1000040008000000000000001",
    "flat": "601de9a1000040008000000000000002",
    "doomed": "601de9a1000040008000000000000003",
}
ENGINES: dict[str, dict[str, Any]] = {
    "golden": {"kind": "hnsw", "hnsw_m": 8, "hnsw_ef_construct": 16, "full_scan_threshold": 4},
    "flat": {"kind": "flat"},
    "doomed": {"kind": "hnsw"},
}
DIMENSIONS = {"golden": 4, "flat": 3, "doomed": 2}
DISTANCES = {"golden": "Euclid", "flat": "Cosine", "doomed": "Dot"}
# The WAL segment size the generator used for `golden`, so that LSN 4 starts a second segment.
GOLDEN_WAL_SEGMENT_BYTES = 1024

UUID_A = uuid.UUID("3f2504e0-4f89-41d3-9a0c-0305e82c3301")
UUID_B = uuid.UUID("00000000-0000-4000-8000-000000000000")
UUID_C = uuid.UUID("ffffffff-ffff-4fff-bfff-ffffffffffff")
UUID_D = uuid.UUID("9b2d7a4c-1e5f-4c3b-8a9d-6e7f8091a2b3")
UUID_E = uuid.UUID("c0ffee00-dead-4bee-8f00-0123456789ab")


@dataclass(frozen=True)
class Point:
    id: PointId
    vector: tuple[float, ...]  # as sent; every value is exact in float32
    payload: dict[str, Any]


@dataclass(frozen=True)
class Upsert:
    points: tuple[Point, ...]


@dataclass(frozen=True)
class Delete:
    ids: tuple[PointId, ...]


Op = Upsert | Delete

GOLDEN_CHECKPOINTED: tuple[Op, ...] = (
    Upsert(
        (
            Point(
                1,
                (1.0, 0.0, 0.0, 0.0),
                {
                    "city": "Zürich",
                    "rank": 1,
                    "info": {"tags": ["α", "β"], "deep": {"x": [1, 2.5, None, True, False]}},
                    "note": "🙂 naïve",
                },
            ),
            Point(2, (0.0, 1.0, 0.0, 0.0), {"city": "Paris", "rank": 2, "info": {"tags": []}}),
            Point(3, (0.0, 0.0, 1.0, 0.0), {"city": "東京", "rank": 3}),
            Point(U64_MAX, (0.0, 0.0, 0.0, 1.0), {"city": "Zürich", "rank": 4, "big": U64_MAX}),
            Point(UUID_A, (0.5, 0.5, 0.0, 0.0), {"city": "Paris", "rank": 5, "e": {}}),
            Point(UUID_B, (0.0, 0.5, 0.5, 0.0), {}),
        )
    ),
    Upsert(
        (
            Point(4, (2.0, 0.0, 0.0, 0.0), {"city": "Lisboa", "rank": 6}),
            Point(
                2,
                (0.0, 2.0, 0.0, 0.0),
                {"city": "Paris", "rank": 7, "quote": 'say "hi"\\\n\t', "info": {"tags": ["γ"]}},
            ),
            Point(UUID_C, (0.0, 0.0, 2.0, 0.0), {"city": "Zürich", "rank": 8}),
            Point(5, (0.0, 0.0, 0.0, 2.0), {"city": "Lisboa", "rank": 9, "score": 0.1}),
            Point(4, (3.0, -0.25, 0.0, 0.0), {"city": "Lisboa", "rank": 10}),  # 4 again: wins
        )
    ),
    Delete((3, UUID_B, 999)),  # 999 never existed
)
GOLDEN_WAL_ONLY: tuple[Op, ...] = (
    Upsert(
        (
            Point(6, (-1.0, 0.0, 0.0, 0.0), {"city": "Paris", "rank": 11}),
            Point(UUID_D, (0.0, -1.0, 0.0, 0.0), {"city": "東京", "rank": 12}),
            Point(
                1, (0.0, 0.0, -1.0, 0.0), {"city": "Zürich", "rank": 13, "info": {"tags": ["α"]}}
            ),
        )
    ),
    Delete((4, UUID_A)),
)
FLAT_CHECKPOINTED: tuple[Op, ...] = (
    Upsert(
        (
            Point(10, (1.0, 0.0, 0.0), {"n": 10}),
            Point(11, (0.0, 1.0, 0.0), {"n": 11}),
            Point(UUID_E, (0.0, 0.0, 4.0), {"n": "e", "ü": ["ß"]}),  # stored normalised
        )
    ),
    Delete((11,)),
)
FLAT_WAL_ONLY: tuple[Op, ...] = (Upsert((Point(12, (-2.0, 0.0, 0.0), {"n": 12}),)),)

OPS = {
    "golden": (GOLDEN_CHECKPOINTED, GOLDEN_WAL_ONLY),
    "flat": (FLAT_CHECKPOINTED, FLAT_WAL_ONLY),
    "doomed": ((), ()),
}
# Payload indexes of `golden`, declared after LSN 3 and built before the checkpoint.
PAYLOAD_INDEXES = (("city", "keyword"), ("rank", "integer"))


def stored_vector(collection: str, vector: tuple[float, ...]) -> tuple[float, ...]:
    """The vector as the services layer hands it to the log: normalised for Cosine (every spec
    vector of the Cosine collection has one non-zero entry, so this is exact)."""
    if DISTANCES[collection] != "Cosine":
        return vector
    norm = max(abs(v) for v in vector)
    return tuple(v / norm for v in vector)


def final_points(collection: str) -> dict[PointId, Point]:
    """Every live point once the WAL is replayed: id -> its last upsert."""
    state: dict[PointId, Point] = {}
    for ops in OPS[collection]:
        for op in ops:
            if isinstance(op, Upsert):
                for p in op.points:
                    state[p.id] = p
            else:
                for i in op.ids:
                    state.pop(i, None)
    return state


def collection_dir(name: str, data: Path = DATA) -> Path:
    return data / "collections" / COLLECTION_IDS[name]


def logged(name: str) -> list[tuple[int, Op]]:
    """(LSN, op) of every write the collection's WAL holds, checkpointed or not."""
    checkpointed, wal_only = OPS[name]
    return list(enumerate((*checkpointed, *wal_only), 1))


def payload_bytes(point: Point) -> bytes:
    """The payload as the services layer encodes it (orjson, keys in the order sent)."""
    return orjson.dumps(point.payload)
