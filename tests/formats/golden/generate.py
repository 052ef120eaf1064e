"""Write the golden data directory with TODAY's code. Run on purpose, never from the tests:

    python -m tests.formats.golden.generate --out scratch/golden-check  # look, compare
    python -m tests.formats.golden.generate                             # tests/formats/golden/v1

It refuses to touch an output that exists; `--force` replaces it. Never use `--force` on a
version that is committed: those bytes are the contract that later code must still read (see
README.md). A new format version gets a new directory, a new story module and, if needed, a
copy of this script made for it.

The story (tests/formats/golden_v1.py) is played through the same components, in the same order,
as the collection manager and actor play it: catalog entry, empty store, WAL append then apply,
seal jobs, payload index builds, a checkpoint (store, WAL trim, ANN manifest, payload index
files), and then a "crash" after logging more writes. The clock and the collection ids are
pinned, so two runs write identical bytes.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from unittest import mock

from tests.formats import golden_v1 as story
from zoro.actors.recovery import Durable, open_durable
from zoro.ann import SegmentedIndex
from zoro.payload import PayloadIndexes, build_index
from zoro.services import validate
from zoro.settings import AnnSettings, LimitSettings, Settings, WalSettings
from zoro.storage import Catalog, CollectionStore
from zoro.types import DeleteBatch, Distance, UpsertBatch, VectorConfig, WriteOp, keys_of

HERE = Path(__file__).resolve().parent


class _Clock:
    """time.time() while generating: what the story says it is (the catalog and the payload
    index zip members record the time)."""

    def __init__(self) -> None:
        self.now = story.CREATED_AT["golden"]

    def __call__(self) -> float:
        return self.now


def _op(name: str, op: story.Op) -> WriteOp:
    """The WAL op the services layer makes of a request (vectors checked and normalised)."""
    if isinstance(op, story.Delete):
        return DeleteBatch(keys_of(op.ids))
    dimension, distance = story.DIMENSIONS[name], Distance(story.DISTANCES[name])
    vectors = validate.vectors([list(p.vector) for p in op.points], "v", dimension, distance)
    payloads = [validate.payload(p.payload, "p", LimitSettings()) for p in op.points]
    return UpsertBatch(keys_of([p.id for p in op.points]), vectors, payloads)


class _Collection:
    """A collection opened the way CollectionActor._recover opens it, driven step by step."""

    def __init__(self, catalog: Catalog, name: str, settings: Settings) -> None:
        entry = catalog.get(name)
        assert entry is not None
        self.name = name
        directory = catalog.collection_dir(entry)
        self.durable: Durable = open_durable(directory, entry.dimension, settings)
        store = self.durable.store
        overrides = {k: v for k, v in entry.engine.items() if k != "kind"}
        self.index = SegmentedIndex.open(
            directory / "ann",
            entry.dimension,
            entry.distance,
            dataclasses.replace(settings.ann, **overrides),  # as CollectionActor._ann_settings
            engine=str(entry.engine["kind"]),
            live_slots=store.live_slots(),
            valid_slot_limit=store.checkpointed_slots,
            vectors_of=store.vectors_of_slots,
        )
        self.payload = PayloadIndexes.open(directory, store.slot_count(), store)

    def write(self, op: story.Op) -> None:
        """Log, then apply (CollectionActor._commit and _apply)."""
        logged = _op(self.name, op)
        lsn = self.durable.wal.append([logged])
        result = self.durable.store.apply_many([(lsn, logged)])
        if len(result.removed_slots):
            self.index.remove(result.removed_slots)
        if len(result.added_slots):
            self.index.add(result.added_slots, result.added_vectors)
            if self.payload.any_ready():
                slots = result.added_slots
                self.payload.add(slots, self.durable.store.payloads_of_slots(slots))

    def log_only(self, op: story.Op) -> None:
        """Logged and synced, then the crash: nothing else gets written."""
        self.durable.wal.append([_op(self.name, op)])

    def declare_and_build(self, key: str, schema: str) -> None:
        """CollectionActor._change_payload_index, then _payload_index_builder."""
        assert self.payload.change(key, schema) is not None
        self.payload.write_schema()
        store = self.durable.store
        built = build_index(schema, key, store.slot_count(), store)
        assert self.payload.install(key, schema, built)

    def seal(self) -> None:
        """What the index builder does once writes pause (freeze the fresh segment, build)."""
        self.index.freeze_fresh(1)
        while (job := self.index.take_seal_job()) is not None:
            self.index.install(job.run())

    def checkpoint(self) -> None:
        """CollectionActor._checkpoint(persist_index_now=True)."""
        store = self.durable.store
        lsn = store.checkpoint()
        self.durable.wal.remove_segments_through(lsn)
        self.index.checkpoint_manifest(store.checkpointed_slots)
        live = store.live_mask()[: store.checkpointed_slots]
        self.payload.write_snapshot(self.payload.snapshot(live))

    def crash(self) -> None:
        self.durable.close()


def _settings(name: str) -> Settings:
    if name == "golden":
        return Settings(wal=WalSettings(segment_max_bytes=story.GOLDEN_WAL_SEGMENT_BYTES))
    # `flat` seals its fresh segment as soon as the first upsert fills it
    return Settings(ann=AnnSettings(fresh_segment_max_points=3))


def generate(data: Path) -> None:
    clock = _Clock()
    ids = iter(uuid.UUID(hex=story.COLLECTION_IDS[n]) for n in ("golden", "flat", "doomed"))
    with ExitStack() as patches:
        patches.enter_context(mock.patch.object(time, "time", clock))
        patches.enter_context(mock.patch.object(uuid, "uuid4", side_effect=ids))
        catalog = Catalog.open(data)
        for name in ("golden", "flat", "doomed"):  # CollectionManager.create
            clock.now = story.CREATED_AT[name]
            distance = Distance(story.DISTANCES[name])
            dimension = story.DIMENSIONS[name]
            entry = catalog.begin_create(
                name, VectorConfig.single(dimension, distance), story.ENGINES[name]
            )
            CollectionStore.create(catalog.collection_dir(entry), dimension, Settings().storage)
            catalog.finish_create(name)

        clock.now += 60
        for name in ("golden", "flat"):
            checkpointed, wal_only = story.OPS[name]
            collection = _Collection(catalog, name, _settings(name))
            for op in checkpointed:
                collection.write(op)
            if name == "golden":
                for key, schema in story.PAYLOAD_INDEXES:
                    collection.declare_and_build(key, schema)
            collection.seal()
            collection.checkpoint()
            for op in wal_only:
                collection.log_only(op)
            collection.crash()
            _trim(catalog, name)

        doomed = _Collection(catalog, "doomed", Settings())  # started, closed cleanly ...
        doomed.checkpoint()
        doomed.crash()
        catalog.begin_delete("doomed")  # ... and half deleted
    _check(data)


def _trim(catalog: Catalog, name: str) -> None:
    """Open the store again, as the next start would: it cuts the source files back to their
    checkpointed length (appends preallocate disk space past the end of the data)."""
    entry = catalog.get(name)
    assert entry is not None
    CollectionStore.open(catalog.collection_dir(entry), entry.dimension, Settings().storage).close()


def _check(data: Path) -> None:
    """The directory tells the story it should (LSN 4 of `golden` starts a second segment)."""
    wal = data / "collections" / story.COLLECTION_IDS["golden"] / "wal"
    names = sorted(p.name for p in wal.iterdir())
    assert names == [f"{1:020d}.log", f"{4:020d}.log"], names
    too_big = [p for p in data.rglob("*") if p.is_file() and p.stat().st_size > 16 * 1024]
    assert not too_big, too_big


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / story.VERSION)
    parser.add_argument("--force", action="store_true", help="replace an existing output")
    args = parser.parse_args(argv)
    out: Path = args.out
    if out.exists():
        if not args.force:
            print(f"{out} exists; golden files are never regenerated (see README.md)")
            return 1
        shutil.rmtree(out)
    os.environ["TZ"] = "UTC"  # zip members record local time
    time.tzset()
    generate(out / "data")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
