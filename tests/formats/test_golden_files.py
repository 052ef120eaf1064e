"""Golden storage, JSON, ANN and payload index files (format version 1), one format at a time.

Each file is read twice: by zoro's own reader (on a copy: readers open files for writing) and by
tests/formats/independent.py, written from the layout tables alone. Both must give exactly what
the story (tests/formats/golden_v1.py) wrote as of the checkpoint.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import orjson
import pytest

from tests.formats import golden_v1 as story
from tests.formats import independent
from tests.formats.golden_v1 import UUID_A, UUID_B, UUID_C, UUID_E
from zoro import checked_json
from zoro.ann import _faiss
from zoro.ann.files import FileMeta, read_index_file
from zoro.ann.load import load_engine
from zoro.ann.manifest import Manifest, ManifestEntry, read_manifest
from zoro.payload import Match, PayloadIndexes, Range, parse_key
from zoro.settings import StorageSettings
from zoro.storage import CollectionStore, meta, points_file
from zoro.storage.catalog import CollectionEntry, CollectionState
from zoro.storage.payloads import PayloadFile
from zoro.storage.slots import SlotTable
from zoro.storage.vectors import VectorFile
from zoro.types import U64_MAX, Distance, PointId, ids_of

COLLECTIONS = ("golden", "flat", "doomed")
GENERATION = {"golden": 1, "flat": 1, "doomed": 0}

META = {
    "golden": {
        "format": "zoro-collection-meta",
        "version": 1,
        "dimension": 4,
        "generation": 1,
        "checkpoint_lsn": 3,
        "slots": 10,
        "slots_crc32": 885425391,
        "payload_bytes": 534,
        "live": 7,
        "garbage": 3,
        "upserts_total": 10,
        "deletes_total": 2,
    },
    "flat": {
        "format": "zoro-collection-meta",
        "version": 1,
        "dimension": 3,
        "generation": 1,
        "checkpoint_lsn": 2,
        "slots": 3,
        "slots_crc32": 4197996143,
        "payload_bytes": 77,
        "live": 2,
        "garbage": 1,
        "upserts_total": 3,
        "deletes_total": 1,
    },
    "doomed": {
        "format": "zoro-collection-meta",
        "version": 1,
        "dimension": 2,
        "generation": 0,
        "checkpoint_lsn": 0,
        "slots": 0,
        "slots_crc32": 0,
        "payload_bytes": 16,
        "live": 0,
        "garbage": 0,
        "upserts_total": 0,
        "deletes_total": 0,
    },
}
# The id of each slot: numbered batch after batch, and within a batch where each id last occurs
# (LSN 2 of `golden` sends 4, 2, C, 5, 4: slots 6-9 are 2, C, 5, 4).
SLOT_IDS: dict[str, list[PointId]] = {
    "golden": [1, 2, 3, U64_MAX, UUID_A, UUID_B, 2, UUID_C, 5, 4],
    "flat": [10, 11, UUID_E],
    "doomed": [],
}
PAYLOAD_OFFSETS = {
    "golden": [16, 137, 189, 223, 285, 325, 335, 418, 453, 499],
    "flat": [16, 32, 48],
    "doomed": [],
}
# The point index of the checkpoint: live ids in key order (integers, then UUIDs) -> slot
POINT_INDEX: dict[str, list[tuple[PointId, int]]] = {
    "golden": [(1, 0), (2, 6), (4, 9), (5, 8), (U64_MAX, 3), (UUID_A, 4), (UUID_C, 7)],
    "flat": [(10, 0), (UUID_E, 2)],
    "doomed": [],
}


def _slot_points(name: str) -> list[story.Point]:
    """The point each slot holds: each checkpointed upsert's points, last occurrence wins."""
    out: list[story.Point] = []
    for op in story.OPS[name][0]:
        if isinstance(op, story.Upsert):
            last = {p.id: i for i, p in enumerate(op.points)}
            out += [p for i, p in enumerate(op.points) if last[p.id] == i]
    return out


def _path(name: str, relative: str, data: Path = story.DATA) -> Path:
    return story.collection_dir(name, data) / relative


# ------------------------------------------------------------------------------- meta


@pytest.mark.parametrize("name", COLLECTIONS)
def test_meta(name: str) -> None:
    path = _path(name, "meta")
    assert independent.checked_json(path.read_bytes()) == META[name]
    ints = {
        k: v
        for k, v in META[name].items()
        if k not in ("format", "version", "garbage", "dimension")
    }
    got = meta.read(path)
    # version 1: one vector, number 0, carried by every slot (no presence files)
    dense = {0: META[name]["dimension"]}
    assert got == meta.CollectionMeta(dense=dense, presence_files=False, **ints)
    assert got.garbage == META[name]["garbage"]


# ------------------------------------------------------------------------------- index files


@pytest.mark.parametrize("name", COLLECTIONS)
def test_point_index(name: str) -> None:
    path = _path(name, f"index/points.{GENERATION[name]:08d}")
    assert independent.points_file(path.read_bytes()) == POINT_INDEX[name]
    keys, slots = points_file.read(path)
    assert list(zip(ids_of(keys), slots.tolist(), strict=True)) == POINT_INDEX[name]


@pytest.mark.parametrize("name", COLLECTIONS)
def test_slot_table(name: str, data: Path) -> None:
    count, crc = META[name]["slots"], META[name]["slots_crc32"]
    lengths = [len(story.payload_bytes(p)) for p in _slot_points(name)]
    assert [p.id for p in _slot_points(name)] == SLOT_IDS[name]
    entries = independent.slots_file(_path(name, "index/slots").read_bytes(), count, crc)
    assert [e.id for e in entries] == SLOT_IDS[name]
    assert [e.payload_offset for e in entries] == PAYLOAD_OFFSETS[name]
    assert [e.payload_length for e in entries] == lengths
    table = SlotTable.open(_path(name, "index/slots", data), count, crc)
    try:
        assert ids_of(table.all_keys()) == SLOT_IDS[name]
        offsets, got_lengths = table.payload_locations(np.arange(count, dtype=np.int64))
        assert offsets.tolist() == PAYLOAD_OFFSETS[name]
        assert got_lengths.tolist() == lengths
    finally:
        table.close()


# ------------------------------------------------------------------------------- source files


@pytest.mark.parametrize("name", COLLECTIONS)
def test_vectors(name: str, data: Path) -> None:
    rows = [story.stored_vector(name, p.vector) for p in _slot_points(name)]
    dimension = story.DIMENSIONS[name]
    raw = _path(name, "source/vectors").read_bytes()
    assert independent.vectors_file(raw, len(rows)) == (dimension, rows)
    vectors = VectorFile.open(_path(name, "source/vectors", data), dimension, len(rows))
    try:
        assert [tuple(r) for r in vectors.rows().tolist()] == rows
    finally:
        vectors.close()


@pytest.mark.parametrize("name", COLLECTIONS)
def test_payloads(name: str, data: Path) -> None:
    bodies = [story.payload_bytes(p) for p in _slot_points(name)]
    expected = dict(zip(PAYLOAD_OFFSETS[name], bodies, strict=True))
    assert independent.payloads_file(_path(name, "source/payloads").read_bytes()) == expected
    end = META[name]["payload_bytes"]
    payloads = PayloadFile.open(_path(name, "source/payloads", data), end)
    try:
        assert {at: payloads.read(at, len(body)) for at, body in expected.items()} == expected
    finally:
        payloads.close()


# ------------------------------------------------------------------------------- catalog


def _catalog_entry(name: str, state: str) -> dict[str, object]:
    return {
        "id": story.COLLECTION_IDS[name],
        "name": name,
        "dimension": story.DIMENSIONS[name],
        "distance": story.DISTANCES[name],
        "created_at": story.CREATED_AT[name],
        "state": state,
        "engine": story.ENGINES[name],
    }


def test_catalog() -> None:
    path = story.DATA / "catalog"
    entries = [
        _catalog_entry("doomed", "deleting"),
        _catalog_entry("flat", "ready"),
        _catalog_entry("golden", "ready"),
    ]
    expected = {"format": "zoro-catalog", "version": 1, "collections": entries}
    assert independent.checked_json(path.read_bytes()) == expected
    doc = checked_json.read(path)
    assert (doc["format"], doc["version"]) == ("zoro-catalog", 1)
    assert isinstance(doc["collections"], list)
    got = [CollectionEntry.from_json(e, path, version=1) for e in doc["collections"]]
    assert [(e.name, e.state) for e in got] == [
        ("doomed", CollectionState.DELETING),
        ("flat", CollectionState.READY),
        ("golden", CollectionState.READY),
    ]
    golden = got[2]
    assert (golden.id, golden.dimension, golden.distance) == (
        story.COLLECTION_IDS["golden"],
        4,
        Distance.EUCLID,
    )
    assert golden.created_at == 1767225600.0
    assert dict(golden.engine) == story.ENGINES["golden"]


# ------------------------------------------------------------------------------- ANN files

MANIFESTS = {
    "golden": {
        "format": "zoro-ann-manifest",
        "version": 1,
        "dimension": 4,
        "distance": "Euclid",
        "valid_slot_limit": 10,
        "segments": [
            {
                "file": "seg-0000000001.zann",
                "kind": "hnsw",
                "count": 7,
                "min_slot": 0,
                "max_slot": 9,
            }
        ],
    },
    "flat": {
        "format": "zoro-ann-manifest",
        "version": 1,
        "dimension": 3,
        "distance": "Cosine",
        "valid_slot_limit": 3,
        "segments": [
            {
                "file": "seg-0000000001.zann",
                "kind": "flat",
                "count": 2,
                "min_slot": 0,
                "max_slot": 2,
            }
        ],
    },
    "doomed": {
        "format": "zoro-ann-manifest",
        "version": 1,
        "dimension": 2,
        "distance": "Dot",
        "valid_slot_limit": 0,
        "segments": [],
    },
}


@pytest.mark.parametrize("name", COLLECTIONS)
def test_ann_manifest(name: str) -> None:
    directory = _path(name, "ann")
    doc = MANIFESTS[name]
    assert json.loads((directory / "manifest").read_bytes()) == doc
    segments = doc["segments"]
    assert isinstance(segments, list)
    assert read_manifest(directory) == Manifest(
        story.DIMENSIONS[name],
        Distance(story.DISTANCES[name]),
        META[name]["slots"],
        tuple(ManifestEntry(**e) for e in segments),
    )


# (kind code, distance code, FAISS id map fourcc, live slots at the checkpoint)
ANN_SEGMENTS = {
    "golden": (2, 3, b"IxMp", [0, 3, 4, 6, 7, 8, 9]),
    "flat": (1, 1, b"IxM2", [0, 2]),
}


@pytest.mark.parametrize("name", ["golden", "flat"])
def test_ann_segment(name: str) -> None:
    kind, distance, fourcc, slots = ANN_SEGMENTS[name]
    path = _path(name, "ann/seg-0000000001.zann")
    found = independent.ann_file(path.read_bytes())
    assert (found.kind, found.distance, found.dimension) == (kind, distance, story.DIMENSIONS[name])
    assert (found.count, found.min_slot, found.max_slot) == (len(slots), slots[0], slots[-1])
    assert found.faiss[:4] == fourcc  # the body is FAISS's own write_index output
    assert sorted(found.ids) == slots
    assert struct.unpack_from("<i", found.faiss, 4)[0] == story.DIMENSIONS[name]

    file_meta, index = read_index_file(path)
    kind_name = "hnsw" if kind == 2 else "flat"
    assert file_meta == FileMeta(
        kind_name,
        Distance(story.DISTANCES[name]),
        story.DIMENSIONS[name],
        len(slots),
        slots[0],
        slots[-1],
    )
    assert sorted(_faiss.id_map_array(index).tolist()) == slots
    engine = load_engine(path)
    assert engine.kind == kind_name
    by_slot = {s: story.stored_vector(name, _slot_points(name)[s].vector) for s in slots}
    queries = np.array([by_slot[s] for s in slots], dtype=np.float32)
    _, nearest = engine.search(queries, 1)
    assert nearest[:, 0].tolist() == slots  # each stored vector finds its own slot


# ------------------------------------------------------------------------------- payload indexes

SCHEMA = {
    "format": 1,
    "fields": {
        "city": {"schema": "keyword", "file": "f0"},
        "rank": {"schema": "integer", "file": "f1"},
    },
    "next": 2,
}
LIVE = [0, 3, 4, 6, 7, 8, 9]  # live slots of `golden` at its checkpoint


def _ints(values: list[int]) -> tuple[str, tuple[int, ...], bytes]:
    return ("<i8", (len(values),), struct.pack(f"<{len(values)}q", *values))


def _json_bytes(doc: dict[str, object]) -> tuple[str, tuple[int, ...], bytes]:
    raw = orjson.dumps(doc)
    return ("|u1", (len(raw),), raw)


def test_payload_index_files() -> None:
    directory = _path("golden", "payload")
    assert independent.checked_json((directory / "schema").read_bytes()) == SCHEMA
    city = independent.npz((directory / "f0.npz").read_bytes())
    values = "ZürichParisLisboa".encode()
    assert city == {
        "holders": _ints(LIVE),
        "others": _ints([]),
        "values": ("|u1", (len(values),), values),  # UTF-8, cut by value_lengths
        "value_lengths": _ints([7, 5, 6]),
        "counts": _ints([3, 2, 2]),  # Zürich: 0 3 7, Paris: 4 6, Lisboa: 8 9
        "slots": _ints([0, 3, 7, 4, 6, 8, 9]),
        "meta": _json_bytes({"key": "city", "schema": "keyword", "limit": 10, "format": 1}),
    }
    rank = independent.npz((directory / "f1.npz").read_bytes())
    assert rank == {
        "holders": _ints(LIVE),
        "others": _ints([]),
        "values": _ints([1, 4, 5, 7, 8, 9, 10]),
        "slots": _ints(LIVE),
        "meta": _json_bytes({"key": "rank", "schema": "integer", "limit": 10, "format": 1}),
    }


def test_payload_indexes_load_from_their_files(data: Path) -> None:
    directory = story.collection_dir("golden", data)
    store = CollectionStore.open(directory, 4, StorageSettings())
    try:
        indexes = PayloadIndexes.open(directory, store.slot_count(), store)
    finally:
        store.close()
    assert sorted(indexes.keys()) == ["city", "rank"]
    assert indexes.pending() == []  # both loaded from their files, none left to build
    assert (indexes.schema_of("city"), indexes.schema_of("rank")) == ("keyword", "integer")
    city, rank = indexes.ready_index("city"), indexes.ready_index("rank")
    assert city is not None
    assert rank is not None
    zurich = Match(parse_key("city"), "value", frozenset(["Zürich"]), str)
    assert np.flatnonzero(city.mask(zurich, 10)).tolist() == [0, 3, 7]
    assert np.flatnonzero(rank.mask(Range(parse_key("rank"), gte=5), 10)).tolist() == [
        4,
        6,
        7,
        8,
        9,
    ]
    assert city.entries == rank.entries == 7
