"""A follower's replica of a collection (docs/workers.md) beside a real owner: opened read-only
from the owner's files, caught up with the WAL tail through the LSN the owner has applied, it
answers like the owner, across checkpoints and compactions (it opens the new generation). That
it writes no file is tested on the store (tests/storage/test_follow.py)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import orjson
import pytest
import trio

from tests.actors.conftest import SMALL, Opened, clustered, upsert
from zoro.actors import CollectionActor
from zoro.actors.board import BoardSource, LsnBoard, board_path
from zoro.actors.numbering import read_scope
from zoro.actors.recovery import Followed, open_follower
from zoro.errors import CorruptionError, FollowerBehind, Unavailable
from zoro.settings import WalSettings
from zoro.types import DeleteBatch, Distance, VectorConfig, ids_of, int_keys

if TYPE_CHECKING:
    from pathlib import Path


DIM = 8
N = 1500


def _payload(i: int) -> bytes:
    return orjson.dumps({"c": f"w{i % 10}"})


class _Follower:
    """What a follower does when the owner has applied more: read the tail and apply it, or
    open again when the owner's files moved on (a compaction) or its WAL did."""

    def __init__(self, actor: CollectionActor) -> None:
        self.actor = actor
        self.replica: Followed | None = None
        self.opens = 0

    def catch_up(self) -> Followed:
        actor, replica = self.actor, self.replica
        through = actor.store.applied_lsn
        if replica is not None and not replica.store.superseded():
            try:
                replica.apply(replica.tail.read_through(through))
                return replica
            except (FollowerBehind, CorruptionError):
                pass
        self.close()
        self.replica = open_follower(actor.entry, actor.store.directory, SMALL, through)
        self.opens += 1
        return self.replica

    def close(self) -> None:
        if self.replica is not None:
            self.replica.close()
            self.replica = None


async def _same_answers(actor: CollectionActor, replica: Followed) -> None:
    store = replica.store
    assert store.applied_lsn == actor.store.applied_lsn
    assert store.live_count() == actor.count()
    ids = list(range(N))
    keys = int_keys(np.array(ids, dtype=np.uint64))
    mine = store.get(keys, with_vector=True, with_payload=True)
    theirs = actor.get(keys, with_vector=True, with_payload=True)
    for a, b in zip(mine, theirs, strict=True):
        assert (a is None) == (b is None)
        if a is not None and b is not None:
            assert a.payload == b.payload
            np.testing.assert_array_equal(a.vector, b.vector)
    queries = clustered(5, DIM, seed=77)
    _, slots = replica.indexes[0].search(queries, 10, exact=True)
    async with read_scope(actor.gate):
        hits = await actor.search(queries, 10, exact=True)
    for row in range(len(queries)):
        got = ids_of(store.keys_of_slots(slots[row][slots[row] >= 0]))
        want = ids_of(actor.keys_of_slots(hits.slots[row][hits.slots[row] >= 0]))
        assert got == want
    _, approx = replica.indexes[0].search(queries, 10)
    assert store.live_mask()[approx[approx >= 0]].all()


async def test_a_follower_answers_like_the_owner_across_checkpoints_and_compactions(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    zoro = Opened(tmp_path / "data", nursery, SMALL)
    manager = await zoro.open()
    await manager.create("c", VectorConfig.single(DIM, Distance.EUCLID), {"kind": "hnsw"})
    actor = manager.actor("c")
    follower = _Follower(actor)
    generations = set()
    try:
        for r in range(6):
            await actor.write(upsert(range(N), clustered(N, DIM, seed=r), _payload))
            await actor.write(DeleteBatch(int_keys(np.arange(r, N, 13, dtype=np.uint64))))
            if r == 2:
                await actor.checkpoint()
            if r in (3, 5):
                await actor.compact()  # a new file generation: the follower opens it
            replica = await trio.to_thread.run_sync(follower.catch_up)
            generations.add(replica.store.file_generation)
            await _same_answers(actor, replica)
            again = await trio.to_thread.run_sync(follower.catch_up)  # nothing new
            assert again is replica
    finally:
        follower.close()
    assert generations == {0, 1, 2}
    assert follower.opens == 3  # the first open and one per compaction: the rest followed
    await manager.close()


async def test_a_follower_behind_a_checkpoint_opens_again(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    """The owner's checkpoint removed WAL segments the follower had not read yet: it opens the
    collection again from the files, which hold what those segments did."""
    settings = replace(SMALL, wal=WalSettings(segment_max_bytes=32 * 1024))
    zoro = Opened(tmp_path / "data", nursery, settings)
    manager = await zoro.open()
    await manager.create("c", VectorConfig.single(DIM, Distance.EUCLID), {"kind": "flat"})
    actor = manager.actor("c")
    follower = _Follower(actor)
    try:
        await actor.write(upsert(range(N), clustered(N, DIM, seed=1), _payload))
        await trio.to_thread.run_sync(follower.catch_up)
        for r in range(2, 6):
            await actor.write(upsert(range(N), clustered(N, DIM, seed=r), _payload))
        await actor.checkpoint()
        replica = await trio.to_thread.run_sync(follower.catch_up)
        assert follower.opens == 2
        await _same_answers(actor, replica)
    finally:
        follower.close()
    await manager.close()


async def test_a_follower_actor_serves_reads_and_swaps_replicas_at_a_compaction(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    """The follower's actor, following the owner's LSN board (as in another process): caught up
    by its own loop (reads wait for the LSN they need), it answers as the owner does, swaps in
    a new replica when the owner compacts, and refuses writes (they go to the owner)."""
    run_dir = tmp_path / "run"
    zoro = Opened(tmp_path / "data", nursery, SMALL, run_dir=run_dir)
    manager = await zoro.open()
    await manager.create("c", VectorConfig.single(DIM, Distance.EUCLID), {"kind": "hnsw"})
    owner = manager.actor("c")
    await owner.write(upsert(range(N), clustered(N, DIM, seed=0), _payload))
    source = BoardSource(LsnBoard(board_path(run_dir, owner.entry.id), writable=False))
    limiter = trio.CapacityLimiter(2)
    follower = CollectionActor(
        owner.entry,
        owner.store.directory,
        SMALL,
        io_limiter=limiter,
        ann_limiter=trio.CapacityLimiter(1),
        search_limiter=limiter,
        follow=source,
    )
    async with trio.open_nursery() as inner:
        await inner.start(follower.run)
        try:
            await _follow_the_owner(owner, follower)
        finally:
            follower.close()  # its run ends, and the nursery waits for that
    source.close()
    await manager.close()


async def _follow_the_owner(owner: CollectionActor, follower: CollectionActor) -> None:
    following = follower.following
    assert following is not None
    for r in range(1, 5):
        lsn = await owner.write(upsert(range(N), clustered(N, DIM, seed=r), _payload))
        await owner.write(DeleteBatch(int_keys(np.arange(r, N, 9, dtype=np.uint64))))
        with trio.fail_after(10):
            if r == 3:
                await owner.compact()
                while follower.store.file_generation != 1:  # noqa: ASYNC110 -- its loop
                    await trio.sleep(0.01)
            await following.reached(owner.store.applied_lsn)
        assert following.lsn >= lsn
        await _same_actor_answers(owner, follower)
    assert follower.store.file_generation == 1  # the replica of the compacted files
    with pytest.raises(Unavailable):
        await follower.write(upsert([1], clustered(1, DIM), _payload))


async def _same_actor_answers(owner: CollectionActor, follower: CollectionActor) -> None:
    """The same reads through both actors: count, points, exact and filtered searches."""
    assert follower.count() == owner.count()
    keys = int_keys(np.arange(N, dtype=np.uint64))
    for a, b in zip(
        follower.get(keys, with_vector=True, with_payload=True),
        owner.get(keys, with_vector=True, with_payload=True),
        strict=True,
    ):
        assert (a is None) == (b is None)
        if a is not None and b is not None:
            assert a.payload == b.payload
            np.testing.assert_array_equal(a.vector, b.vector)
    queries = clustered(4, DIM, seed=55)
    answers = []
    for actor in (owner, follower):
        async with read_scope(actor.gate):
            hits = await actor.search(queries, 10, exact=True)
            answers.append([ids_of(actor.keys_of_slots(row)) for row in hits.slots])
            approx = await actor.search(queries, 10)
            assert all(actor.store.live_mask()[row].all() for row in approx.slots)
    assert answers[0] == answers[1]
