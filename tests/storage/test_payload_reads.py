"""PayloadFile.read_many: many records in stretches, each checked like a single read; and
raw_records, the same records as stored, for a compaction's copy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from zoro.errors import CorruptionError
from zoro.storage.payloads import READ_MANY_MIN, RECORD, PayloadFile, encode_records


def _file(tmp_path: Path, bodies: list[bytes]) -> tuple[PayloadFile, np.ndarray, np.ndarray]:
    f = PayloadFile.create(tmp_path / "payloads")
    records, starts, lengths = encode_records(bodies)
    base = f.append(records)
    return f, (starts + base).astype(np.uint64), lengths.astype(np.uint32)


@pytest.mark.parametrize("n", [3, READ_MANY_MIN, 20_000])
def test_read_many_gives_each_body_in_the_order_asked(tmp_path: Path, n: int) -> None:
    bodies = [
        b'{"i":%d,"pad":"%s"}' % (i, b"x" * (i % 5000 if i % 97 == 0 else i % 7)) for i in range(n)
    ]
    f, offsets, lengths = _file(tmp_path, bodies)
    order = np.random.default_rng(1).permutation(n)
    picks = np.concatenate([order, order[:5]])  # repeats too
    assert f.read_many(offsets[picks], lengths[picks]) == [bodies[i] for i in picks.tolist()]
    f.close()


@pytest.mark.parametrize("n", [0, 3, 20_000])
def test_raw_records_copy_each_record_as_stored_in_the_order_asked(tmp_path: Path, n: int) -> None:
    bodies = [
        b'{"i":%d,"pad":"%s"}' % (i, b"y" * (i % 6000 if i % 89 == 0 else i % 5)) for i in range(n)
    ]
    f, offsets, lengths = _file(tmp_path, bodies)
    picks = np.random.default_rng(2).permutation(n)[: n // 2]  # gaps between them, any order
    records, starts = f.raw_records(offsets[picks], lengths[picks])
    copy = PayloadFile.create(tmp_path / "copy")
    base = copy.append(records)
    again = (starts + base).astype(np.uint64)
    assert copy.read_many(again, lengths[picks]) == [bodies[i] for i in picks.tolist()]
    copy.close()
    f.close()


def _damaged(
    tmp_path: Path, bodies: list[bytes], index: int, byte: int, bit: int
) -> tuple[PayloadFile, np.ndarray, np.ndarray]:
    """The file of `bodies` with one bit of record `index`'s body flipped, reopened."""
    f, offsets, lengths = _file(tmp_path, bodies)
    f.close()
    path = tmp_path / "payloads"
    data = bytearray(path.read_bytes())
    data[int(offsets[index]) + RECORD.size + byte] ^= bit
    path.write_bytes(bytes(data))
    return PayloadFile.open(path, len(data)), offsets, lengths


def test_a_damaged_record_stays_damaged_in_a_raw_copy(tmp_path: Path) -> None:
    bodies = [b'{"i":%d}' % i for i in range(100)]
    f, offsets, lengths = _damaged(tmp_path, bodies, 42, 1, 0x01)
    records, starts = f.raw_records(offsets, lengths)
    copy = PayloadFile.create(tmp_path / "copy")
    base = copy.append(records)
    with pytest.raises(CorruptionError, match="checksum"):
        copy.read(int(starts[42]) + base, int(lengths[42]))
    assert copy.read(int(starts[41]) + base, int(lengths[41])) == bodies[41]
    copy.close()
    f.close()


def test_read_many_refuses_a_damaged_record_by_its_offset(tmp_path: Path) -> None:
    bodies = [b'{"i":%d}' % i for i in range(500)]
    f, offsets, lengths = _damaged(tmp_path, bodies, 321, 2, 0x40)
    with pytest.raises(CorruptionError, match="checksum") as info:
        f.read_many(offsets, lengths)
    assert info.value.offset == int(offsets[321])
    f.close()


def test_apply_hands_out_the_payloads_of_the_slots_it_added(tmp_path: Path) -> None:
    from zoro.settings import StorageSettings
    from zoro.storage import CollectionStore, Layout
    from zoro.types import DeleteBatch, UpsertBatch, keys_of

    store = CollectionStore.create(tmp_path / "c", Layout.single(2), StorageSettings())
    rows = np.ones((4, 2), dtype=np.float32)
    first = UpsertBatch(keys_of([1, 2, 1, 3]), rows, [b'{"a":1}', b'{"b":2}', b'{"c":3}', b"{}"])
    second = UpsertBatch(keys_of([4, 2]), rows[:2], [b'{"d":4}', b'{"e":5}'])
    result = store.apply_many([(1, first), (2, DeleteBatch(keys_of([3]))), (3, second)])
    assert list(result.added_payloads) == store.payloads_of_slots(result.added_slots)
    assert sorted(result.added_payloads) == [b'{"c":3}', b'{"d":4}', b'{"e":5}']
    store.close()
