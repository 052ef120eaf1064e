"""A follower's collection manager (docs/workers.md) beside an owner's on the same data
directory, as in another worker process: it reads the catalog without writing it and follows
the owner's changes (collections created, deleted, changed, aliases, payload indexes), and its
read barrier makes every write the owner acknowledged visible."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pytest
import trio

from tests.actors.conftest import SMALL, Opened, clustered, upsert
from zoro.actors import CollectionManager
from zoro.actors.actor import ActorState
from zoro.actors.numbering import read_scope
from zoro.errors import Unavailable
from zoro.storage import CreateAlias
from zoro.types import Distance, VectorConfig, ids_of, int_keys

if TYPE_CHECKING:
    from pathlib import Path

DIM = 8


async def _settled(follower: CollectionManager, name: str) -> None:
    with trio.fail_after(10):
        while not follower.exists(name) or follower.actor(name).state is not ActorState.READY:  # noqa: ASYNC110
            await trio.sleep(0.01)


async def _same(owner: CollectionManager, follower: CollectionManager, name: str) -> None:
    await follower.caught_up(name, 10.0)
    mine, theirs = follower.serving(name), owner.serving(name)
    assert mine.count() == theirs.count()
    keys = int_keys(np.arange(300, dtype=np.uint64))
    a = mine.get(keys, with_vector=False, with_payload=True)
    b = theirs.get(keys, with_vector=False, with_payload=True)
    assert [p and p.payload for p in a] == [p and p.payload for p in b]
    queries = clustered(3, DIM, seed=9)
    answers = []
    for actor in (theirs, mine):
        async with read_scope(actor.gate):
            hits = await actor.search(queries, 5, exact=True)
        answers.append([ids_of(actor.keys_of_slots(row)) for row in hits.slots])
    assert answers[0] == answers[1]


async def test_a_follower_manager_follows_the_owners_catalog(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    run_dir = tmp_path / "run"
    owned = Opened(tmp_path / "data", nursery, SMALL, run_dir=run_dir)
    owner = await owned.open()
    config = VectorConfig.single(DIM, Distance.EUCLID)
    await owner.create("a", config, {"kind": "hnsw"})
    await owner.actor("a").write(upsert(range(200), clustered(200, DIM, seed=1)))
    catalog = (tmp_path / "data" / "catalog").read_bytes()

    follower = CollectionManager(tmp_path / "data", SMALL, follow_run_dir=run_dir)
    await nursery.start(follower.run)
    try:
        await _settled(follower, "a")
        await _same(owner, follower, "a")

        # writes after it started: the read barrier waits for them
        for r in range(3):
            await owner.actor("a").write(upsert(range(r * 50, 300), clustered(300 - r * 50, DIM)))
            await _same(owner, follower, "a")

        # a collection created later: visible to the next read (the barrier refreshes)
        await owner.create("b", config, {"kind": "hnsw"})
        await owner.actor("b").write(upsert(range(100), clustered(100, DIM, seed=2)))
        await follower.caught_up("b", 10.0)
        assert follower.exists("b")
        await _settled(follower, "b")
        await _same(owner, follower, "b")

        # aliases, and a change of metadata (adopted) or of the engine (reopened)
        await owner.change_aliases([CreateAlias("al", "b")])
        await follower.refresh()
        assert follower.aliases() == {"al": "b"}
        assert follower.resolve("al") == "b"
        before = follower.actor("b")
        await owner.update("b", lambda e: replace(e, metadata={"k": 1}))
        await follower.refresh()
        assert follower.actor("b") is before
        assert follower.actor("b").entry.metadata == {"k": 1}
        await owner.update("b", lambda e: replace(e, engine={**e.engine, "note": 1}))
        await follower.refresh()
        assert follower.actor("b") is not before
        await _settled(follower, "b")
        await _same(owner, follower, "b")

        # a payload index the owner adds (outside the WAL): the follower reopens its replica
        # and the read barrier waits for that replica, with the index built
        await owner.actor("a").change_payload_index("i", "integer")
        await owner.actor("a").payload_index_built("i")
        await follower.caught_up("a", 10.0)
        assert follower.actor("a").payload_schema("i") == "integer"
        assert follower.actor("a").payload_index("i") is not None
        await _same(owner, follower, "a")

        # a delete: gone from the follower too
        await owner.delete("a")
        await follower.refresh()
        assert not follower.exists("a")
        assert follower.names() == ["b"]

        # admin is the owner's
        with pytest.raises(Unavailable):
            await follower.create("c", config, {"kind": "hnsw"})
        with pytest.raises(Unavailable):
            await follower.serving("b").write(upsert([1], clustered(1, DIM)))
    finally:
        await follower.close()
    assert (tmp_path / "data" / "catalog").read_bytes() != catalog  # the owner's changes only
    await owned.close()


async def test_the_read_barrier_refuses_a_stale_answer(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    """A board that says more than the replica can reach: 503 after the timeout, not an old
    answer."""
    run_dir = tmp_path / "run"
    owned = Opened(tmp_path / "data", nursery, SMALL, run_dir=run_dir)
    owner = await owned.open()
    await owner.create("a", VectorConfig.single(DIM, Distance.EUCLID), {"kind": "hnsw"})
    follower = CollectionManager(tmp_path / "data", SMALL, follow_run_dir=run_dir)
    await nursery.start(follower.run)
    try:
        await _settled(follower, "a")
        actor = follower.actor("a")
        assert actor.following is not None
        real = actor.following._source
        # the replica reads no WAL past the owner's, so an LSN ahead of it is never reached
        actor.following._source = _Ahead(real)  # type: ignore[assignment]
        with pytest.raises(Unavailable, match="did not catch up"):
            await follower.caught_up("a", 0.2)
        actor.following._source = real
        await follower.caught_up("a", 5.0)
    finally:
        await follower.close()
    await owned.close()


class _Ahead:
    def __init__(self, real: object) -> None:
        self._real = real

    def applied_lsn(self) -> int:
        return 10**9

    def __getattr__(self, name: str) -> object:
        return getattr(self._real, name)
