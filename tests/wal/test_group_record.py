"""The group record (type 4, WAL format 3): several writes in ONE record, so that a crash keeps
all of them or none. Round trips, a cut at every byte of it, refusal in an older segment and of
malformed bodies, and the store applying a group as its writes one after another."""

from __future__ import annotations

import struct
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest

from zoro.errors import CorruptionError
from zoro.settings import StorageSettings
from zoro.storage import CollectionStore, Layout
from zoro.types import DenseColumn, UpsertBatch, WriteGroup, int_keys
from zoro.wal import recover
from zoro.wal._codec import decode_body, encode_body
from zoro.wal._format import FORMAT_V2, TYPE_GROUP, check_record_kind

from .conftest import assert_same_op, delete, record_spans, replayed, segments, upsert, write
from .test_recover import raw_record, raw_segment


def _columns(n: int, start: int) -> UpsertBatch:
    present = np.arange(n) % 2 == 0
    rows = np.arange(int(present.sum()) * 3, dtype=np.float32).reshape(-1, 3) + start
    keys = int_keys(np.arange(start, start + n, dtype=np.uint64))
    payloads = [b'{"c":%d}' % i for i in range(n)]
    return UpsertBatch(keys, None, payloads, MappingProxyType({0: DenseColumn(present, rows)}))


GROUP = WriteGroup((delete(1, 2), upsert(3, start=10), delete(11)))


def _same_group(got: object, want: WriteGroup) -> None:
    assert isinstance(got, WriteGroup)
    assert len(got.ops) == len(want.ops)
    for a, b in zip(got.ops, want.ops, strict=True):
        assert_same_op(a, b)


def test_a_group_round_trips_in_order() -> None:
    rtype, body = encode_body(GROUP)
    assert rtype == TYPE_GROUP
    _same_group(decode_body(rtype, body), GROUP)
    with_columns = WriteGroup((_columns(5, 20), delete(3)))
    got = decode_body(*encode_body(with_columns))
    assert isinstance(got, WriteGroup)
    first = got.ops[0]
    assert isinstance(first, UpsertBatch)
    column = first.column(0)
    assert isinstance(column, DenseColumn)
    assert column.present.tolist() == [True, False, True, False, True]
    assert len(WriteGroup(())) == 0
    assert isinstance(decode_body(*encode_body(WriteGroup(()))), WriteGroup)


@pytest.mark.parametrize(
    "body",
    [
        struct.pack("<I", 1),  # one write announced, none there
        struct.pack("<I", 1) + struct.pack("<B3sI", 2, b"\x01\0\0", 4) + struct.pack("<I", 0),
        struct.pack("<I", 1) + struct.pack("<B3sI", 4, b"", 4) + struct.pack("<I", 0),  # nested
        struct.pack("<I", 0) + b"x",  # left over
        b"\0\0",
    ],
)
def test_a_malformed_group_is_refused(body: bytes) -> None:
    with pytest.raises(ValueError, match="group"):
        decode_body(TYPE_GROUP, body)


def test_a_cut_anywhere_in_a_group_keeps_all_of_it_or_none(tmp_path: Path) -> None:
    source = tmp_path / "source"
    write(source, [[upsert(2)], [GROUP]])
    (segment,) = segments(source)
    whole = segment.read_bytes()
    start, end = record_spans(segment, 1)[-1]
    for cut in [*range(start, end, 7), end - 1, end]:
        wal = tmp_path / f"cut{cut}"
        wal.mkdir()
        (wal / segment.name).write_bytes(whole[:cut])
        recover(wal)
        got = replayed(wal)
        if cut == end:
            assert [lsn for lsn, _ in got] == [1, 2]
            _same_group(got[1][1], GROUP)
        else:
            assert [lsn for lsn, _ in got] == [1]


def test_a_group_in_a_format_2_segment_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown record type 4"):
        check_record_kind(TYPE_GROUP, 1, 0, FORMAT_V2)
    body = encode_body(GROUP)[1]
    raw_segment(tmp_path, 1, raw_record(1, TYPE_GROUP, body, fmt=2), fmt=2)
    with pytest.raises(CorruptionError, match="type 4"):
        recover(tmp_path)


def test_the_store_applies_a_group_as_its_writes_in_order(tmp_path: Path) -> None:
    ops = [upsert(4, start=0), delete(1), upsert(2, start=2)]
    stores = []
    for name, items in (
        ("one_by_one", [(1, ops[0]), (2, ops[1]), (3, ops[2])]),
        ("grouped", [(1, ops[0]), (2, WriteGroup((ops[1], ops[2]))), (3, delete())]),
    ):
        store = CollectionStore.create(tmp_path / name, Layout.single(4), StorageSettings())
        store.apply_many(items)
        stores.append(store)
    a, b = stores
    keys = int_keys(np.arange(6, dtype=np.uint64))
    assert a.slots_of(keys).tolist() == b.slots_of(keys).tolist()
    assert [p and p.payload for p in a.get(keys, with_vector=False, with_payload=True)] == [
        p and p.payload for p in b.get(keys, with_vector=False, with_payload=True)
    ]
    for store in stores:
        store.close()
