"""A child process for the crash tests: writes through the WAL and the store as the actor does.

    python -m tests.durability.crash_child store DIR SEED
    python -m tests.durability.crash_child catalog DIR SEED

Each operation is announced on stdout ("begin") before it starts and reported ("ack") only after
it is durable, so the parent, which kills this process at a random moment, knows exactly which
operations were acknowledged and which single one may have been in flight.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
import orjson

from zoro.actors.recovery import open_durable
from zoro.settings import Settings, StorageSettings, WalSettings
from zoro.storage import Catalog, CollectionStore
from zoro.types import DeleteBatch, Distance, UpsertBatch, VectorConfig, int_keys

DIM = 8
ID_SPACE = 400
# small segments and index deltas so that rotation, merging and checkpoints all happen often
SETTINGS = Settings(
    wal=WalSettings(segment_max_bytes=64 * 1024), storage=StorageSettings(index_delta_max=64)
)


def vector_for(point_id: int, tag: int) -> np.ndarray:
    return (np.arange(DIM, dtype=np.float32) + np.float32(tag * 1000 + point_id)).astype(np.float32)


def payload_for(point_id: int, tag: int) -> bytes:
    return orjson.dumps({"id": point_id, "tag": tag})


def _say(**line: object) -> None:
    sys.stdout.write(orjson.dumps(line).decode() + "\n")
    sys.stdout.flush()


def run_store(directory: Path, seed: int) -> None:
    rng = random.Random(seed)
    durable = open_durable(directory, DIM, SETTINGS)
    store, wal = durable.store, durable.wal
    tag = seed * 100_000
    while True:
        tag += 1
        ids = sorted(rng.sample(range(ID_SPACE), rng.randint(1, 40)))
        keys = int_keys(np.array(ids, dtype=np.uint64))
        if rng.random() < 0.25:
            op: UpsertBatch | DeleteBatch = DeleteBatch(keys)
            kind = "delete"
        else:
            vectors = np.stack([vector_for(i, tag) for i in ids])
            op = UpsertBatch(keys, vectors, [payload_for(i, tag) for i in ids])
            kind = "upsert"
        _say(event="begin", kind=kind, ids=ids, tag=tag)
        lsn = wal.append([op])
        store.apply_many([(lsn, op)])
        _say(event="ack", tag=tag)
        if rng.random() < 0.05:
            checkpoint = store.checkpoint()
            wal.remove_segments_through(checkpoint)


def run_catalog(directory: Path, seed: int) -> None:
    rng = random.Random(seed)
    catalog = Catalog.open(directory)
    n = seed * 10_000
    while True:
        existing = [e.name for e in catalog.entries()]
        if existing and rng.random() < 0.4:
            name = rng.choice(existing)
            _say(event="begin", kind="delete", name=name)
            catalog.begin_delete(name)
            catalog.finish_delete(name)
        else:
            n += 1
            name = f"c{n}"
            _say(event="begin", kind="create", name=name)
            entry = catalog.begin_create(
                name, VectorConfig.single(DIM, Distance.DOT), {"kind": "flat"}
            )
            CollectionStore.create(catalog.collection_dir(entry), DIM, SETTINGS.storage).close()
            catalog.finish_create(name)
        _say(event="ack", name=name)


if __name__ == "__main__":
    mode, where, seed = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    {"store": run_store, "catalog": run_catalog}[mode](where, seed)
