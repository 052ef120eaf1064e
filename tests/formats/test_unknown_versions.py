"""A golden file whose version says 99 (a newer writer) is refused, naming the file and the version.

Each case takes one file of a copy of the golden directory, changes its version field to NEWER and
nothing else (CRCs recomputed, as a newer writer would have written them), and opens it the way
the server does. Files the server must read (WAL, storage, catalog, meta, payload index schema)
must fail to open with an error naming the file and version 99. Files that only accelerate (the ANN
manifest and segments, the payload index arrays) may instead be set aside and rebuilt from
storage, as they are when damaged, with a warning that names the file and the version.
"""

from __future__ import annotations

import io
import logging
import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
import pytest

from tests.formats import golden_v1 as story
from zoro import checked_json
from zoro.ann.files import read_index_file
from zoro.ann.manifest import read_manifest
from zoro.errors import ZoroError
from zoro.payload import PayloadIndexes
from zoro.settings import StorageSettings
from zoro.storage import Catalog, CollectionStore
from zoro.wal import recover

# A version no build has written (not 2: the WAL's segments are at version 2 now). The refusal
# says "version 99", "v99" or a JSON dict's "'format': 99", as a word.
NEWER = 99
NAMES_NEWER = re.compile(rf"(version |v|'format': ){NEWER}\b")


@dataclass(frozen=True)
class Case:
    file: str  # relative to the collection `golden`, or to the data directory
    bump: Callable[[Path], None]  # rewrite the file with version 99
    open: Callable[[Path], str]  # open the data directory; the error or warning text, or ""


def _u16_version(at: int, crc_at: int, crc_from: int = 0) -> Callable[[Path], None]:
    """Set the u16 at `at` to NEWER and recompute the CRC32 of bytes crc_from..crc_at into it."""

    def bump(path: Path) -> None:
        raw = bytearray(path.read_bytes())
        struct.pack_into("<H", raw, at, NEWER)
        struct.pack_into("<I", raw, crc_at, zlib.crc32(raw[crc_from:crc_at]))
        path.write_bytes(raw)

    return bump


def _wal_record_version(path: Path) -> None:
    """Record LSN 2 (at byte 545) of version 99; its CRC covers header bytes 4.. and the body."""
    raw = bytearray(path.read_bytes())
    at = 545
    (length,) = struct.unpack_from("<I", raw, at + 4)
    raw[at + 17] = NEWER
    struct.pack_into("<I", raw, at, zlib.crc32(raw[at + 4 : at + 20 + length]))
    path.write_bytes(raw)


def _json_field(field: str) -> Callable[[Path], None]:
    def bump(path: Path) -> None:
        data = checked_json.read(path)
        data[field] = NEWER
        checked_json.write(path, data)

    return bump


def _manifest_version(path: Path) -> None:
    doc = orjson.loads(path.read_bytes())
    doc["version"] = NEWER
    path.write_bytes(orjson.dumps(doc))


def _npz_format(path: Path) -> None:
    with np.load(path) as z:
        arrays = {name: z[name] for name in z.files}
    meta = orjson.loads(arrays["meta"].tobytes())
    meta["format"] = NEWER
    arrays["meta"] = np.frombuffer(orjson.dumps(meta), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.write_bytes(buffer.getvalue())


def _golden(data: Path) -> Path:
    return story.collection_dir("golden", data)


def _error(call: Callable[[], object]) -> str:
    try:
        call()
    except ZoroError as exc:
        return str(exc)
    return ""


def _open_store(data: Path) -> str:
    return _error(lambda: CollectionStore.open(_golden(data), 4, StorageSettings()).close())


def _recover_wal(data: Path) -> str:
    return _error(lambda: recover(_golden(data) / "wal"))


def _open_catalog(data: Path) -> str:
    return _error(lambda: Catalog.open(data))


def _read_segment(data: Path) -> str:
    return _error(lambda: read_index_file(_golden(data) / "ann" / "seg-0000000001.zann"))


def _warnings(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)


def _read_manifest(caplog: pytest.LogCaptureFixture) -> Callable[[Path], str]:
    def read(data: Path) -> str:
        if read_manifest(_golden(data) / "ann") is not None:
            return ""  # used as if it were version 1
        return _warnings(caplog)

    return read


def _open_payload_indexes(caplog: pytest.LogCaptureFixture) -> Callable[[Path], str]:
    def open_(data: Path) -> str:
        store = CollectionStore.open(_golden(data), 4, StorageSettings())
        try:
            indexes = PayloadIndexes.open(_golden(data), store.slot_count(), store)
        except ZoroError as exc:
            return str(exc)
        finally:
            store.close()
        if "city" not in {key for key, *_ in indexes.pending()}:
            return ""  # loaded as if it were version 1
        return _warnings(caplog)

    return open_


def _case(caplog: pytest.LogCaptureFixture, name: str) -> Case:
    cases = {
        "wal segment": Case("wal/00000000000000000001.log", _u16_version(4, 16), _recover_wal),
        "wal record": Case("wal/00000000000000000001.log", _wal_record_version, _recover_wal),
        "point index": Case("index/points.00000001", _u16_version(4, 20), _open_store),
        "slot table": Case("index/slots", _u16_version(4, 12), _open_store),
        "vectors": Case("source/vectors", _u16_version(4, 28), _open_store),
        "payloads": Case("source/payloads", _u16_version(4, 12), _open_store),
        "catalog": Case("../../catalog", _json_field("version"), _open_catalog),
        "meta": Case("meta", _json_field("version"), _open_store),
        "payload index schema": Case(
            "payload/schema", _json_field("format"), _open_payload_indexes(caplog)
        ),
        "payload index file": Case("payload/f0.npz", _npz_format, _open_payload_indexes(caplog)),
        "ann manifest": Case("ann/manifest", _manifest_version, _read_manifest(caplog)),
        "ann segment": Case("ann/seg-0000000001.zann", _u16_version(4, 52), _read_segment),
    }
    return cases[name]


@pytest.mark.parametrize(
    "name",
    [
        "wal segment",
        "wal record",
        "point index",
        "slot table",
        "vectors",
        "payloads",
        "catalog",
        "meta",
        "payload index schema",
        "payload index file",
        "ann manifest",
        "ann segment",
    ],
)
def test_a_newer_version_is_refused_by_name(
    name: str, data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    case = _case(caplog, name)
    path = (_golden(data) / case.file).resolve()
    case.bump(path)
    caplog.set_level(logging.WARNING)
    said = case.open(data)
    assert said, f"{case.file} of version {NEWER} was read as if it were version 1"
    assert str(path) in said, f"the refusal does not name the file: {said}"
    assert NAMES_NEWER.search(said), f"the refusal does not name version {NEWER}: {said}"
