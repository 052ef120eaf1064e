"""Golden WAL segment of format 3 (tests/formats/golden/v3/wal): today's reader recovers and
replays exactly the writes the story logged, the group record (type 4) whole and in order.
Written once by tests/formats/golden/generate_v3.py; never regenerated (see the README)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from types import MappingProxyType

import numpy as np

from zoro.types import (
    DeleteBatch,
    DenseColumn,
    UpsertBatch,
    WriteGroup,
    WriteOp,
    ids_of,
    keys_of,
)
from zoro.wal import recover, replay

WAL = Path(__file__).parent / "golden" / "v3" / "wal"
SEGMENT = "00000000000000000001.log"
SIZE, SHA256 = 289, "68cab38c787a5fab"


def logged() -> list[WriteOp]:
    """LSN 1: two points; LSN 2: a batch update resolved to a delete and two whole points
    (one carrying vector 0, one without it), as one group record."""
    first = UpsertBatch(
        keys_of([1, 2]), np.array([[1, 2], [3, 4]], dtype=np.float32), [b'{"a":1}', b"{}"]
    )
    column = DenseColumn(np.array([True, False]), np.array([[5, 6]], dtype=np.float32))
    written = UpsertBatch(
        keys_of([2, 3]), None, [b'{"k":2}', b'{"k":"\\u00e9"}'], MappingProxyType({0: column})
    )
    return [first, WriteGroup((DeleteBatch(keys_of([1])), written))]


def test_the_golden_segment_is_unchanged() -> None:
    raw = (WAL / SEGMENT).read_bytes()
    assert (len(raw), hashlib.sha256(raw).hexdigest()[:16]) == (SIZE, SHA256)
    assert raw[4:6] == (3).to_bytes(2, "little")  # format version 3


def test_the_golden_segment_replays_to_the_story(tmp_path: Path) -> None:
    wal = tmp_path / "wal"
    shutil.copytree(WAL, wal)  # recovery may repair: never on the golden files
    assert recover(wal).last_lsn == 2
    (lsn1, first), (lsn2, group) = replay(wal, 0)
    assert (lsn1, lsn2) == (1, 2)
    want_first, want_group = logged()
    assert isinstance(first, UpsertBatch)
    assert isinstance(want_first, UpsertBatch)
    assert first.vectors is not None
    assert want_first.vectors is not None
    assert first.vectors.tolist() == want_first.vectors.tolist()
    assert list(first.payloads) == list(want_first.payloads)
    assert isinstance(group, WriteGroup)
    assert isinstance(want_group, WriteGroup)
    deleted, written = group.ops
    assert isinstance(deleted, DeleteBatch)
    assert ids_of(deleted.keys) == [1]
    assert isinstance(written, UpsertBatch)
    assert ids_of(written.keys) == [2, 3]
    assert list(written.payloads) == [b'{"k":2}', b'{"k":"\\u00e9"}']
    column = written.column(0)
    assert isinstance(column, DenseColumn)
    assert column.present.tolist() == [True, False]
    assert column.rows.tolist() == [[5, 6]]
