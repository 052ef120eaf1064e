"""Compaction in storage: the live slots renumbered into a new file generation, writes going on
during the copy, the switch as a checkpoint, replay after it, and every crash point
(docs/compaction.md). Checked against a dict model of every point's vectors and payload."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

from zoro import checked_json
from zoro.errors import StorageError, StorageFull, SwitchUncertain
from zoro.settings import StorageSettings
from zoro.storage import CollectionStore
from zoro.storage import meta as meta_module
from zoro.storage import store as store_module
from zoro.storage._plan import Layout
from zoro.storage.compaction import VOID_SLOT, Pacer
from zoro.types import DeleteBatch, keys_of

from .test_vector_columns import LAYOUT, Model, _batch, _check

if TYPE_CHECKING:
    from pathlib import Path

    from zoro.types import UpsertBatch

SETTINGS = StorageSettings()


class Churn:
    """Overwrites and deletes of ids 0..39, logged with LSNs, mirrored in a model."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.model: Model = {}
        self.log: list[tuple[int, UpsertBatch | DeleteBatch]] = []

    def step(self, store: CollectionStore) -> None:
        op, changes = _batch(self.rng, self.rng.integers(0, 40, size=16).tolist())
        gone = self.rng.integers(0, 40, size=4).tolist()
        for item in (op, DeleteBatch(keys_of(gone))):
            self.log.append((len(self.log) + 1, item))
            store.apply_many([self.log[-1]])
        self.model.update(changes)
        for i in gone:
            self.model.pop(i, None)

    def after(self, lsn: int) -> list[tuple[int, UpsertBatch | DeleteBatch]]:
        return [item for item in self.log if item[0] > lsn]


def _open(directory: Path) -> CollectionStore:
    return CollectionStore.open(directory, LAYOUT, SETTINGS)


def _generations(directory: Path) -> list[str]:
    return sorted(
        p.name
        for p in directory.iterdir()
        if p.name in ("source", "index") or p.name.startswith("files.")
    )


def _compacted(store: CollectionStore) -> np.ndarray:
    compaction = store.begin_compaction()
    compaction.copy()
    return store.switch_to(compaction)


def test_compaction_keeps_every_point_and_drops_the_garbage(tmp_path: Path) -> None:
    store = CollectionStore.create(tmp_path / "c", LAYOUT, SETTINGS)
    churn = Churn(1)
    for _ in range(8):
        churn.step(store)
    store.checkpoint()
    assert checked_json.read(tmp_path / "c" / "meta")["version"] == 2  # what older code reads
    before = store.slot_count()
    assert before > 3 * len(churn.model)  # mostly garbage
    remap = _compacted(store)
    _check(store, churn.model)
    assert store.slot_count() == len(churn.model) + 1  # the live points and the void slot
    assert store.stats().garbage_slots == 1
    assert not store.live_mask()[VOID_SLOT]
    assert len(remap) == before
    assert (remap >= 0).sum() == len(churn.model)
    assert store.checkpoint_lsn == len(churn.log)
    assert _generations(tmp_path / "c") == ["files.1"]
    assert checked_json.read(tmp_path / "c" / "meta")["version"] == 3
    store.close()
    store = _open(tmp_path / "c")
    _check(store, churn.model)
    assert store.slot_count() == len(churn.model) + 1
    store.close()


def test_writes_during_the_copy_are_kept_and_replay_after_the_switch_is_deterministic(
    tmp_path: Path,
) -> None:
    store = CollectionStore.create(tmp_path / "c", LAYOUT, SETTINGS)
    churn = Churn(2)
    for _ in range(4):
        churn.step(store)
    compaction = store.begin_compaction()
    churn.step(store)  # after the cut, before the copy
    compaction.copy()
    churn.step(store)  # after the copy: overwrites and deletes of copied slots
    compaction.cut_more()
    compaction.copy()
    churn.step(store)  # the tail the switch copies
    store.switch_to(compaction)
    _check(store, churn.model)
    switched_at = store.checkpoint_lsn
    assert switched_at == len(churn.log)
    for _ in range(3):  # applied after the switch, in the WAL only (no checkpoint)
        churn.step(store)
    after = (store.slots_of(keys_of(sorted(churn.model))).tolist(), store.slot_count())
    store.close()
    store = _open(tmp_path / "c")
    assert store.applied_lsn == switched_at
    store.apply_many(churn.after(switched_at))
    _check(store, churn.model)
    assert (store.slots_of(keys_of(sorted(churn.model))).tolist(), store.slot_count()) == after
    store.close()


def test_a_second_compaction_replaces_the_first(tmp_path: Path) -> None:
    store = CollectionStore.create(tmp_path / "c", LAYOUT, SETTINGS)
    churn = Churn(3)
    for _ in range(3):
        churn.step(store)
    _compacted(store)
    for _ in range(3):
        churn.step(store)
    store.checkpoint()  # a plain checkpoint writes into files.1 as well
    _compacted(store)
    assert _generations(tmp_path / "c") == ["files.2"]
    _check(store, churn.model)
    store.close()
    store = _open(tmp_path / "c")
    _check(store, churn.model)
    store.close()


def test_a_crash_during_the_copy_leaves_the_old_generation(tmp_path: Path) -> None:
    store = CollectionStore.create(tmp_path / "c", LAYOUT, SETTINGS)
    churn = Churn(4)
    for _ in range(3):
        churn.step(store)
    store.checkpoint()
    compaction = store.begin_compaction()
    compaction.copy()
    assert (tmp_path / "c" / "files.1").is_dir()
    store.close()  # the process dies: nothing more happens
    store = _open(tmp_path / "c")
    assert _generations(tmp_path / "c") == ["index", "source"]
    _check(store, churn.model)
    store.close()


def test_a_failed_commit_keeps_serving_the_old_generation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = CollectionStore.create(tmp_path / "c", LAYOUT, SETTINGS)
    churn = Churn(5)
    for _ in range(3):
        churn.step(store)
    compaction = store.begin_compaction()
    compaction.copy()

    def full_disk(*_: object) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patched:  # the disk fills while the new files are synced
        patched.setattr(store_module.points_file, "write", full_disk)
        with pytest.raises(StorageFull):
            store.switch_to(compaction)
    compaction.abandon()
    assert _generations(tmp_path / "c") == ["index", "source"]
    _check(store, churn.model)
    churn.step(store)  # writes and checkpoints go on in the old generation
    store.checkpoint()
    _check(store, churn.model)
    _compacted(store)  # and a later compaction works
    _check(store, churn.model)
    store.close()


def test_a_failed_meta_write_leaves_the_generation_to_the_next_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """meta may or may not have been replaced when its write fails: neither generation is
    deleted, and the next open finds the one meta names, whole."""
    store = CollectionStore.create(tmp_path / "c", LAYOUT, SETTINGS)
    churn = Churn(7)
    for _ in range(3):
        churn.step(store)
    compaction = store.begin_compaction()
    compaction.copy()
    written = meta_module.write

    def replaced_then_failed(path: Path, meta: object) -> None:
        written(path, meta)  # type: ignore[arg-type]
        raise OSError(5, "Input/output error")  # the directory sync after the rename

    with monkeypatch.context() as patched:
        patched.setattr(meta_module, "write", replaced_then_failed)
        with pytest.raises(SwitchUncertain):
            store.commit_compaction(compaction)
    store.close()
    assert _generations(tmp_path / "c") == ["files.1", "index", "source"]
    store = _open(tmp_path / "c")
    assert store.file_generation == 1
    _check(store, churn.model)
    store.close()


def test_a_crash_after_the_commit_point_opens_the_new_generation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = CollectionStore.create(tmp_path / "c", LAYOUT, SETTINGS)
    churn = Churn(6)
    for _ in range(3):
        churn.step(store)
    with monkeypatch.context() as patched:  # the process dies before deleting the old files
        patched.setattr(store_module, "remove_other_generations", lambda *_: None)
        _compacted(store)
    assert _generations(tmp_path / "c") == ["files.1", "index", "source"]
    store.close()
    store = _open(tmp_path / "c")
    assert _generations(tmp_path / "c") == ["files.1"]
    _check(store, churn.model)
    assert store.slot_count() == len(churn.model) + 1
    store.close()


def test_a_regular_checkpoint_during_the_copy_keeps_the_new_files(tmp_path: Path) -> None:
    store = CollectionStore.create(tmp_path / "c", LAYOUT, SETTINGS)
    churn = Churn(7)
    for _ in range(3):
        churn.step(store)
    compaction = store.begin_compaction()
    compaction.copy()
    churn.step(store)
    store.checkpoint()  # removes debris: not the generation being built
    assert (tmp_path / "c" / "files.1").is_dir()
    store.switch_to(compaction)
    _check(store, churn.model)
    store.close()


def test_the_switch_refuses_a_changed_layout_and_a_second_compaction(tmp_path: Path) -> None:
    store = CollectionStore.create(tmp_path / "c", LAYOUT, SETTINGS)
    Churn(8).step(store)
    compaction = store.begin_compaction()
    with pytest.raises(StorageError, match="already under way"):
        store.begin_compaction()
    store.layout = Layout({0: 3}, (), {})
    with pytest.raises(StorageError, match="vectors changed"):
        store.switch_to(compaction)
    compaction.abandon()
    store.begin_compaction().abandon()  # free again
    store.close()


def test_the_pacer_holds_the_copy_to_its_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    monkeypatch.setattr("zoro.storage.compaction.time.sleep", sleep)
    pace = Pacer(1_000_000, clock=lambda: now[0])
    for _ in range(10):
        pace(250_000)
    assert now[0] == pytest.approx(2.5)
    unlimited = Pacer(0, clock=lambda: now[0])
    unlimited(10**9)
    assert now[0] == pytest.approx(2.5)
