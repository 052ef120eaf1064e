"""CollectionStore: checkpoints, reopen, crashes, interrupted checkpoints, damaged files."""

from __future__ import annotations

import os
import uuid
from typing import TYPE_CHECKING

import numpy as np
import pytest

from zoro.errors import CorruptionError, StorageError
from zoro.storage import CollectionStore
from zoro.storage import points_file as points_file_mod
from zoro.types import keys_of

from .conftest import DIM, delete, reopen, snapshot, upsert

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any

    from zoro.settings import StorageSettings
    from zoro.types import WriteOp

U1 = uuid.UUID(int=77)

EARLY: list[tuple[int, WriteOp]] = [
    (1, upsert([1, 2, 3, U1])),
    (2, delete([2])),
    (3, upsert([3, 4], salt=1)),
]
LATE: list[tuple[int, WriteOp]] = [
    (4, upsert([5, 2], salt=2)),
    (5, delete([1, U1])),
    (6, upsert([3], salt=3)),
]


def test_create_is_durable_and_opens_empty(
    store: CollectionStore, store_dir: Path, settings: StorageSettings
) -> None:
    store = reopen(store, store_dir, settings)
    assert (store.slot_count(), store.live_count(), store.checkpoint_lsn) == (0, 0, 0)
    assert store.scroll(None, 10)[0].tolist() == []
    store.close()


def test_create_refuses_an_existing_collection(store: CollectionStore, store_dir: Path) -> None:
    with pytest.raises(StorageError, match="already holds"):
        CollectionStore.create(store_dir, DIM, store._settings)


def test_checkpoint_then_reopen_is_identical(
    store: CollectionStore, store_dir: Path, settings: StorageSettings
) -> None:
    store.apply_many(EARLY + LATE)
    assert store.checkpoint() == 6
    before = snapshot(store)
    store = reopen(store, store_dir, settings)
    assert snapshot(store) == before
    assert (store.checkpoint_lsn, store.applied_lsn, store.checkpointed_slots) == (6, 6, 9)
    store.close()


def test_reopen_without_checkpoint_returns_to_the_last_one(
    store: CollectionStore, store_dir: Path, settings: StorageSettings
) -> None:
    store.apply_many(EARLY)
    store.checkpoint()
    at_checkpoint = snapshot(store)
    store.apply_many(LATE)
    store = reopen(store, store_dir, settings)
    assert snapshot(store) == at_checkpoint
    assert store.applied_lsn == 3
    store.close()


def test_crash_then_replay_gives_the_same_slots_and_state(
    store_dir: Path, settings: StorageSettings
) -> None:
    store = CollectionStore.create(store_dir, DIM, settings)
    store.apply_many(EARLY)
    store.checkpoint()
    results = [store.apply_many([item]) for item in LATE]
    before_crash = snapshot(store)
    del store  # a crash: no close, no checkpoint
    for name in ("source/vectors", "source/payloads", "index/slots"):
        with open(store_dir / name, "ab") as torn:  # a torn write after the checkpoint
            torn.write(b"\xde\xad\xbe\xef" * 3)
    store = CollectionStore.open(store_dir, DIM, settings)
    assert store.applied_lsn == 3
    replayed = [store.apply_many([item]) for item in EARLY + LATE]  # the WAL from the start
    assert [r.added_slots.tolist() for r in replayed[:3]] == [[], [], []]
    for got, want in zip(replayed[3:], results, strict=True):
        assert got.added_slots.tolist() == want.added_slots.tolist()
        assert got.removed_slots.tolist() == want.removed_slots.tolist()
        assert got.added_vectors.tobytes() == want.added_vectors.tobytes()
    assert snapshot(store) == before_crash
    store.close()


def test_interrupted_checkpoint_keeps_the_old_generation(
    store: CollectionStore, store_dir: Path, settings: StorageSettings
) -> None:
    store.apply_many(EARLY)
    store.checkpoint()
    at_checkpoint = snapshot(store)
    store.apply_many(LATE)
    # the first steps of a checkpoint: the next generation's index file, then a meta temp file
    keys, _ = store.scroll(None, 100)
    debris = store_dir / "index" / points_file_mod.file_name(2)
    points_file_mod.write(debris, keys, store.slots_of(keys))
    (store_dir / "meta.tmp").write_bytes(b'{"half": ')
    del store  # crash before meta is replaced
    store = CollectionStore.open(store_dir, DIM, settings)
    assert snapshot(store) == at_checkpoint
    assert sorted(os.listdir(store_dir / "index")) == ["points.00000001", "slots"]
    assert not (store_dir / "meta.tmp").exists()
    store.apply_many(LATE)
    store.checkpoint()  # reuses generation 2's name
    assert sorted(os.listdir(store_dir / "index")) == ["points.00000002", "slots"]
    store.close()


def test_checkpoint_removes_the_old_generation(store: CollectionStore, store_dir: Path) -> None:
    for lsn, op in EARLY:
        store.apply_many([(lsn, op)])
        store.checkpoint()
    assert sorted(os.listdir(store_dir / "index")) == ["points.00000003", "slots"]
    assert store.checkpoint() == 3  # nothing new: no new generation
    assert sorted(os.listdir(store_dir / "index")) == ["points.00000003", "slots"]


def test_payload_bit_flip_is_reported_on_read(
    store: CollectionStore, store_dir: Path, settings: StorageSettings
) -> None:
    store.apply_many([(1, upsert([1, 2, 3]))])
    store.checkpoint()
    slot = int(store.slots_of(keys_of([2]))[0])
    store = reopen(store, store_dir, settings)
    offset = 16 + 8  # header, then the first record's length and CRC
    record_size = len(store.payloads_of_slots(np.array([0]))[0]) + 8
    path = store_dir / "source" / "payloads"
    data = bytearray(path.read_bytes())
    data[offset + slot * record_size + 3] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptionError) as caught:
        store.get(keys_of([2]), with_vector=False, with_payload=True)
    assert caught.value.path == str(path)
    assert caught.value.offset == 16 + slot * record_size
    assert store.get(keys_of([1]), with_vector=False, with_payload=True)[0] is not None
    store.close()


def _checkpointed(store_dir: Path, settings: StorageSettings) -> None:
    store = CollectionStore.create(store_dir, DIM, settings)
    store.apply_many(EARLY)
    store.checkpoint()
    store.close()


def test_truncated_index_file_is_refused(store_dir: Path, settings: StorageSettings) -> None:
    _checkpointed(store_dir, settings)
    path = store_dir / "index" / "points.00000001"
    os.truncate(path, path.stat().st_size - 5)
    with pytest.raises(CorruptionError) as caught:
        CollectionStore.open(store_dir, DIM, settings)
    assert caught.value.path == str(path)


@pytest.mark.parametrize(
    ("name", "offset"),
    [
        ("index/points.00000001", 30),  # a slot number
        ("index/points.00000001", 60),  # a key
        ("index/points.00000001", 2),  # the header
        ("index/slots", 40),
        ("index/slots", 5),
        ("source/vectors", 1),
        ("source/payloads", 0),
    ],
)
def test_damaged_header_or_index_is_refused(
    store_dir: Path, settings: StorageSettings, name: str, offset: int
) -> None:
    _checkpointed(store_dir, settings)
    path = store_dir / name
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x40
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptionError) as caught:
        CollectionStore.open(store_dir, DIM, settings)
    assert caught.value.path == str(path)


def test_damaged_or_missing_meta_is_refused(store_dir: Path, settings: StorageSettings) -> None:
    _checkpointed(store_dir, settings)
    meta = store_dir / "meta"
    text = meta.read_text()
    assert '"live": 4' in text
    meta.write_text(text.replace('"live": 4', '"live": 5'))  # still valid JSON
    with pytest.raises(CorruptionError, match="checksum"):
        CollectionStore.open(store_dir, DIM, settings)
    meta.unlink()
    with pytest.raises(CorruptionError, match="missing") as caught:
        CollectionStore.open(store_dir, DIM, settings)
    assert caught.value.path == str(meta)


def test_source_file_shorter_than_its_checkpoint_is_refused(
    store_dir: Path, settings: StorageSettings
) -> None:
    _checkpointed(store_dir, settings)
    path = store_dir / "source" / "vectors"
    os.truncate(path, 32 + 2 * DIM * 4)
    with pytest.raises(CorruptionError, match="shorter") as caught:
        CollectionStore.open(store_dir, DIM, settings)
    assert caught.value.path == str(path)


def test_dimension_must_match(store_dir: Path, settings: StorageSettings) -> None:
    _checkpointed(store_dir, settings)
    with pytest.raises(CorruptionError, match="dimension"):
        CollectionStore.open(store_dir, DIM + 1, settings)


@pytest.mark.parametrize(
    ("change", "what"),
    [
        (lambda keys, slots: (keys[::-1], slots[::-1]), "key order"),
        (lambda keys, slots: (keys, slots[::-1]), "differs from the slot table"),
        (lambda keys, slots: (keys, np.full_like(slots, slots[0])), "share a slot"),
        (lambda keys, slots: (keys, slots + 100), "bad slot"),
        (lambda keys, slots: (keys[:-1], slots[:-1]), "meta says"),
    ],
)
def test_index_that_disagrees_with_the_slot_table_is_refused(
    store_dir: Path, settings: StorageSettings, change: Callable[..., Any], what: str
) -> None:
    """A well-formed index file (good CRC) whose content is wrong is still caught."""
    _checkpointed(store_dir, settings)
    path = store_dir / "index" / "points.00000001"
    keys, slots = points_file_mod.read(path)
    points_file_mod.write(path, *change(keys, slots))
    with pytest.raises(CorruptionError, match=what) as caught:
        CollectionStore.open(store_dir, DIM, settings)
    assert caught.value.path == str(path)


def test_reads_during_a_checkpoint_in_another_thread(
    store_dir: Path, settings: StorageSettings
) -> None:
    """The actor checkpoints in a worker thread while it keeps serving reads."""
    import threading

    store = CollectionStore.create(store_dir, DIM, settings)
    ids = list(range(300))
    store.apply_many([(1, upsert(ids)), (2, delete(ids[::3]))])
    expected = snapshot(store)
    done = threading.Event()

    def checkpoint() -> None:
        store.checkpoint()
        done.set()

    worker = threading.Thread(target=checkpoint)
    worker.start()
    rounds = 0
    while not done.is_set() or rounds == 0:
        assert snapshot(store) == expected
        rounds += 1
    worker.join()
    assert store.checkpoint_lsn == 2
    assert snapshot(store) == expected
    store.close()
