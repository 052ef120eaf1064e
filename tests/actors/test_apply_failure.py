"""A batch that is durable in the WAL but fails to apply: every writer hears that its write is
logged and will be applied, the collection stops serving from the memory it could not finish
changing, the actor's run ends with ReplayNeeded, and reopening the collection applies it."""

from __future__ import annotations

import errno
from collections.abc import Sized
from pathlib import Path

import numpy as np
import pytest
import trio
import trio.testing

from tests.actors.conftest import SMALL, clustered, upsert
from zoro.actors import ActorState, CollectionActor, CollectionManager
from zoro.actors.numbering import read_scope
from zoro.errors import CollectionFailed, LoggedNotApplied, ReplayNeeded
from zoro.storage import CollectionEntry
from zoro.types import Distance, VectorConfig, ids_of, int_keys

DIM = 8


class FullDiskVectors:
    """The store's vector file, except that appends fail as on a full disk."""

    def __init__(self, real: Sized) -> None:
        self._real = real

    def __len__(self) -> int:
        return len(self._real)

    def append(self, rows: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name: str) -> object:
        return getattr(self._real, name)


class BrokenIndexAdd:
    """Fails the ANN index's add after the store has applied the batch: a half-applied state."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, *args: object) -> None:
        self.calls += 1
        raise MemoryError("injected: index add failed")


async def _actor(tmp_path: Path, nursery: trio.Nursery) -> tuple[CollectionActor, list]:
    """A collection made by a manager, then run by hand so the test sees how run() ends."""
    manager = CollectionManager(tmp_path / "data", SMALL)
    await nursery.start(manager.run)
    await manager.create("c", VectorConfig.single(DIM, Distance.EUCLID), {"kind": "hnsw"})
    made = manager.actor("c")
    entry, directory = made.entry, made._directory
    await manager.close()
    return _start(entry, directory, nursery, [])


def _start(
    entry: CollectionEntry, directory: Path, nursery: trio.Nursery, ended: list
) -> tuple[CollectionActor, list]:
    actor = CollectionActor(
        entry,
        directory,
        SMALL,
        io_limiter=trio.CapacityLimiter(4),
        ann_limiter=trio.CapacityLimiter(1),
        search_limiter=trio.CapacityLimiter(2),
    )

    async def run() -> None:
        try:
            await actor.run()
        except Exception as exc:
            ended.append(exc)
        else:
            ended.append(None)

    nursery.start_soon(run)
    return actor, ended


@pytest.mark.parametrize("fault", ["vectors file full", "index add fails"])
async def test_a_batch_that_fails_after_its_wal_sync_is_reported_durable_and_replayed(
    tmp_path: Path, nursery: trio.Nursery, fault: str
) -> None:
    actor, ended = await _actor(tmp_path, nursery)
    await actor.settled.wait()
    vectors = clustered(30, DIM, seed=3)
    await actor.write(upsert(range(10), vectors[:10]))  # acknowledged before the fault
    store = actor.store
    if fault == "vectors file full":
        dense = store._dense[0]  # dense vector 0's files
        dense.rows = FullDiskVectors(dense.rows)  # type: ignore[assignment]
        expected_reason = "No space left on device"
    else:
        actor._opened.indexes[0].add = BrokenIndexAdd()  # type: ignore[method-assign,union-attr]
        expected_reason = "MemoryError: injected: index add failed"

    answers: list[BaseException] = []

    async def write(ids: range) -> None:
        try:
            await actor.write(upsert(ids, vectors[ids.start : ids.stop]))
        except BaseException as exc:
            answers.append(exc)

    async with trio.open_nursery() as writers:  # two writers, one group commit
        writers.start_soon(write, range(10, 20))
        writers.start_soon(write, range(20, 30))

    # 1. every writer of the batch: a 503 saying the write is durable and will be applied
    assert len(answers) == 2
    for exc in answers:
        assert isinstance(exc, LoggedNotApplied), exc
        assert exc.status == 503
        assert "logged this write durably" in exc.message
        assert "will be applied when the collection recovers" in exc.message
        assert expected_reason in exc.message
    # 2. the collection failed with that reason and serves nothing from this memory
    assert actor.state is ActorState.FAILED
    assert actor.failure is not None
    assert expected_reason in actor.failure
    keys = int_keys(np.arange(30, dtype=np.uint64))
    with pytest.raises(CollectionFailed):
        actor.get(keys, with_vector=False, with_payload=False)
    with pytest.raises(CollectionFailed):
        await actor.search(vectors[:1], 5)
    with pytest.raises(CollectionFailed):
        await actor.write(upsert([99], vectors[:1]))
    # 3. the run ended with ReplayNeeded, bare (not in an exception group), files closed
    with trio.fail_after(30):
        while not ended:  # noqa: ASYNC110 -- the actor task's end
            await trio.sleep(0.01)
    assert isinstance(ended[0], ReplayNeeded), ended
    assert expected_reason in ended[0].reason

    # 4. reopened: the logged batch is applied, everything agrees
    again, _ = _start(actor.entry, actor._directory, nursery, [])
    await again.settled.wait()
    assert again.state is ActorState.READY
    assert again.statistics().replayed_records >= 2
    assert again.count() == 30
    records = again.get(keys, with_vector=True, with_payload=True)
    for i, record in enumerate(records):
        assert record is not None, i
        np.testing.assert_array_equal(record.vector, vectors[i])
        assert record.payload == b'{"i":%d}' % i
    for i in (0, 15, 29):
        async with read_scope(again.gate):
            hits = await again.search(vectors[i : i + 1], 1, exact=True)
            assert ids_of(again.keys_of_slots(hits.slots[0])) == [i]
    await again.write(upsert([30], clustered(1, DIM, seed=4)))  # and it takes writes again
    assert again.count() == 31
    again.close()
    await trio.testing.wait_all_tasks_blocked()
