"""A quick scale check (not timed): 200,000 points through apply, checkpoint and reopen."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from zoro.settings import StorageSettings
from zoro.storage import CollectionStore
from zoro.types import DeleteBatch, UpsertBatch, ids_of, int_keys

if TYPE_CHECKING:
    from pathlib import Path

N = 200_000
DIM = 16
BATCH = 5_000


def test_200k_points_apply_checkpoint_reopen(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    ids = rng.permutation(N).astype(np.uint64)
    vectors = rng.random((N, DIM), dtype=np.float32)
    settings = StorageSettings()  # the default delta size: merges happen on the way
    store = CollectionStore.create(tmp_path / "c", DIM, settings)
    for lsn, start in enumerate(range(0, N, BATCH), start=1):
        part = slice(start, start + BATCH)
        payloads = [b'{"i":%d}' % i for i in ids[part].tolist()]
        store.apply_many([(lsn, UpsertBatch(int_keys(ids[part]), vectors[part], payloads))])
    deleted = ids[:1000]
    store.apply_many([(N // BATCH + 1, DeleteBatch(int_keys(deleted)))])
    store.checkpoint()
    store.close()

    store = CollectionStore.open(tmp_path / "c", DIM, settings)
    assert store.live_count() == N - 1000
    assert store.slot_count() == N
    sample = rng.choice(N - 1000, 500, replace=False) + 1000
    slots = store.slots_of(int_keys(ids[sample]))
    assert bool(np.all(slots >= 0))
    got = store.vectors_of_slots(slots)
    assert got.tobytes() == vectors[sample].tobytes()
    assert store.payloads_of_slots(slots[:3]) == [b'{"i":%d}' % i for i in ids[sample[:3]]]
    assert bool(np.all(store.slots_of(int_keys(deleted)) == -1))
    first, following = store.scroll(None, 100)
    expected = sorted(set(range(200)) - set(deleted.tolist()))[:100]
    assert ids_of(first) == expected
    assert following is not None
    assert len(store.live_slots()) == N - 1000
    store.close()
