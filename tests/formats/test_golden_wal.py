"""Golden WAL segments (format version 1): zoro's reader and an independent decoder both read back
exactly the writes the story made, record by record, at the offsets the layout puts them."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.formats import golden_v1 as story
from tests.formats import independent
from zoro.types import DeleteBatch, ids_of
from zoro.wal import recover, replay

COLLECTIONS = ("golden", "flat", "doomed")
# segment file -> (its size, the offset of each record in it)
SEGMENTS = {
    "golden": {
        "00000000000000000001.log": (1030, [20, 545, 955]),
        "00000000000000000004.log": (325, [20, 267]),
    },
    "flat": {"00000000000000000001.log": (302, [20, 188, 229])},
    "doomed": {"00000000000000000001.log": (20, [])},  # a header and no record
}


def _wal(name: str, data: Path = story.DATA) -> Path:
    return story.collection_dir(name, data) / "wal"


def _expected(name: str) -> list[tuple[int, independent.WalUpsert | independent.WalDelete]]:
    out: list[tuple[int, independent.WalUpsert | independent.WalDelete]] = []
    for lsn, op in story.logged(name):
        if isinstance(op, story.Delete):
            out.append((lsn, independent.WalDelete(list(op.ids))))
            continue
        out.append(
            (
                lsn,
                independent.WalUpsert(
                    [p.id for p in op.points],  # as sent: a repeated id is logged twice
                    [story.stored_vector(name, p.vector) for p in op.points],
                    [story.payload_bytes(p) for p in op.points],
                ),
            )
        )
    return out


@pytest.mark.parametrize("name", COLLECTIONS)
def test_the_independent_decoder_reads_every_record(name: str) -> None:
    paths = sorted(_wal(name).iterdir())
    assert [p.name for p in paths] == list(SEGMENTS[name])
    records: list[independent.WalRecord] = []
    for path in paths:
        raw = path.read_bytes()
        size, offsets = SEGMENTS[name][path.name]
        assert len(raw) == size
        found = independent.wal_segment(raw, first_lsn=int(path.name[:20]))
        assert [r.offset for r in found] == offsets
        records += found
    assert [(r.lsn, r.op) for r in records] == _expected(name)


@pytest.mark.parametrize("name", COLLECTIONS)
def test_zoro_replays_every_record(name: str) -> None:
    got: list[tuple[int, independent.WalUpsert | independent.WalDelete]] = []
    for lsn, op in replay(_wal(name), 0):  # replay only reads
        ids = ids_of(op.keys)
        if isinstance(op, DeleteBatch):
            got.append((lsn, independent.WalDelete(ids)))
            continue
        assert op.vectors.dtype == np.float32
        vectors = [tuple(row) for row in op.vectors.tolist()]
        got.append((lsn, independent.WalUpsert(ids, vectors, list(op.payloads))))
    assert got == _expected(name)


def test_replay_after_the_checkpoint_starts_in_the_second_segment() -> None:
    assert [lsn for lsn, _ in replay(_wal("golden"), 3)] == [4, 5]
    assert [lsn for lsn, _ in replay(_wal("flat"), 2)] == [3]


def test_recovery_finds_every_segment_whole(tmp_path: Path) -> None:
    for name, last in (("golden", 5), ("flat", 3), ("doomed", 0)):
        copy = tmp_path / name
        shutil.copytree(_wal(name), copy)
        found = recover(copy)
        assert (found.last_lsn, found.records, found.truncated_bytes) == (last, last, 0)
        assert found.segments == len(SEGMENTS[name])
        assert sorted(p.name for p in copy.iterdir()) == list(SEGMENTS[name])  # nothing cut


def test_payload_bytes_are_logged_as_sent() -> None:
    """orjson's encoding, pinned: keys in the order sent, UTF-8 as is, JSON escapes."""
    raw = (_wal("golden") / "00000000000000000001.log").read_bytes()
    first = independent.wal_segment(raw, 1)[0].op
    second = independent.wal_segment(raw, 1)[1].op
    assert isinstance(first, independent.WalUpsert)
    assert isinstance(second, independent.WalUpsert)
    assert (
        first.payloads[0]
        == (
            '{"city":"Zürich","rank":1,"info":{"tags":["α","β"],'
            '"deep":{"x":[1,2.5,null,true,false]}},"note":"🙂 naïve"}'
        ).encode()
    )
    assert first.payloads[5] == b"{}"
    assert (
        second.payloads[1]
        == (
            '{"city":"Paris","rank":7,"quote":"say \\"hi\\"\\\\\\n\\t","info":{"tags":["γ"]}}'
        ).encode()
    )
