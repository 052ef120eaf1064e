"""Recovery says how far it has come (zoro.actors.recovery.RecoveryProgress, /metrics'
zoro_recovery_records_*): the WAL records after the checkpoint, and those replayed so far,
moving up chunk by chunk while the opening runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

from tests.durability.crash_child import DIM, SETTINGS, payload_for, vector_for
from zoro.actors import recovery
from zoro.actors.recovery import RecoveryProgress, open_durable
from zoro.storage import CollectionStore
from zoro.types import UpsertBatch, int_keys

if TYPE_CHECKING:
    from pathlib import Path


def test_replay_progress_counts_up_to_the_records_after_the_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    CollectionStore.create(tmp_path, DIM, SETTINGS.storage).close()
    durable = open_durable(tmp_path, DIM, SETTINGS)
    for tag in range(30):
        ids = [tag * 3, tag * 3 + 1, tag * 3 + 2]
        op = UpsertBatch(
            int_keys(np.array(ids, dtype=np.uint64)),
            np.stack([vector_for(i, tag) for i in ids]),
            [payload_for(i, tag) for i in ids],
        )
        lsn = durable.wal.append([op])
        durable.store.apply_many([(lsn, op)])
        if tag == 9:  # the first 10 records are behind a checkpoint: not replayed
            durable.wal.remove_segments_through(durable.store.checkpoint())
    durable.close()

    progress = RecoveryProgress()
    seen: list[tuple[int, int]] = []
    monkeypatch.setattr(recovery, "REPLAY_CHUNK_POINTS", 6)  # two records a chunk
    apply_many = CollectionStore.apply_many

    def watched(store: CollectionStore, chunk: list) -> None:  # type: ignore[type-arg]
        seen.append((progress.records_replayed, progress.records_to_replay))
        apply_many(store, chunk)

    monkeypatch.setattr(CollectionStore, "apply_many", watched)
    again = open_durable(tmp_path, DIM, SETTINGS, progress)
    again.close()
    assert again.replayed_records == 20
    assert (progress.records_replayed, progress.records_to_replay) == (20, 20)
    assert seen == [(2 * i, 20) for i in range(10)]  # before each chunk: what came before it
