"""A follower's store (docs/workers.md): opened read-only beside the owner's, it applies the same
WAL operations without writing a byte, reads what the owner wrote, and notices when what it
replays is not what the files hold."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import numpy as np
import pytest

from zoro.errors import CorruptionError, StorageError
from zoro.storage import CollectionStore

from .conftest import delete, snapshot, upsert
from .test_vector_columns import LAYOUT, _batch, _check

if TYPE_CHECKING:
    from pathlib import Path

    from zoro.settings import StorageSettings
    from zoro.types import WriteOp


def _files(directory: Path) -> dict[str, str]:
    """Every file under `directory` by its content hash (what a follower must never change)."""
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def _ops(start: int, rounds: int) -> list[WriteOp]:
    out: list[WriteOp] = []
    for r in range(start, start + rounds):
        out.append(upsert(list(range(r * 7, r * 7 + 20)), salt=r))
        out.append(delete([r * 7 + 3, r * 7 + 11]))
    return out


def test_a_follower_applies_what_the_owner_applied_and_writes_nothing(
    tmp_path: Path, settings: StorageSettings
) -> None:
    owner = CollectionStore.create(tmp_path, 4, settings)
    lsn = 0
    for op in _ops(0, 5):
        lsn += 1
        owner.apply_many([(lsn, op)])
    owner.checkpoint()
    later = _ops(5, 6)
    for op in later[:6]:  # applied but not checkpointed: the follower must not cut them off
        lsn += 1
        owner.apply_many([(lsn, op)])
    follower = CollectionStore.open(tmp_path, 4, settings, follow=True)
    assert follower.follows
    before = _files(tmp_path)
    follower.apply_many([(11 + i, op) for i, op in enumerate(later[:6])])  # LSNs 11-16
    assert snapshot(follower) == snapshot(owner)
    for op in later[6:]:  # the owner goes on; the follower follows, record by record
        lsn += 1
        owner.apply_many([(lsn, op)])
        after_owner = _files(tmp_path)
        follower.apply_many([(lsn, op)])
        assert _files(tmp_path) == after_owner
        assert snapshot(follower) == snapshot(owner)
    assert set(before) <= set(_files(tmp_path))
    with pytest.raises(StorageError):
        follower.checkpoint()
    with pytest.raises(StorageError):
        follower.begin_compaction()
    follower.close()
    owner.checkpoint()  # the owner's files are whole: it checkpoints and reopens as ever
    expected = snapshot(owner)
    owner.close()
    again = CollectionStore.open(tmp_path, 4, settings)
    assert snapshot(again) == expected
    again.close()


def test_every_kind_of_vector_is_followed(tmp_path: Path, settings: StorageSettings) -> None:
    rng = np.random.default_rng(3)
    owner = CollectionStore.create(tmp_path, LAYOUT, settings)
    follower = CollectionStore.open(tmp_path, LAYOUT, settings, follow=True)
    model: dict[int, dict[int, object]] = {}
    for lsn in range(1, 9):
        op, changes = _batch(rng, rng.choice(40, size=12, replace=False).tolist())
        model.update(changes)
        owner.apply_many([(lsn, op)])
        follower.apply_many([(lsn, op)])
    _check(follower, model)
    owner.close()
    follower.close()


def test_a_follower_that_replays_something_else_is_caught(
    tmp_path: Path, settings: StorageSettings
) -> None:
    owner = CollectionStore.create(tmp_path, 4, settings)
    follower = CollectionStore.open(tmp_path, 4, settings, follow=True)
    owner.apply_many([(1, upsert([1, 2, 3], salt=1))])
    with pytest.raises(CorruptionError) as caught:
        follower.apply_many([(1, upsert([1, 2, 3], salt=2))])  # other vectors, other payloads
    assert "follower" in str(caught.value)
    owner.close()
    follower.close()
