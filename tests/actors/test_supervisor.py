"""The manager reopens a collection whose batch failed to apply after its WAL sync: the writer
hears the write is logged, the collection recovers by replay on its own and serves the write;
a reopening that fails on a passing I/O error is retried; one that keeps needing replays is
left failed with its reason."""

from __future__ import annotations

import numpy as np
import pytest
import trio

from tests.actors.conftest import Opened, clustered, upsert
from zoro.actors import ActorState, supervisor
from zoro.actors import recovery as recovery_module
from zoro.actors.commit import Committer
from zoro.errors import LoggedNotApplied, StorageFull
from zoro.types import Distance, UpsertBatch, VectorConfig, WriteOp, ids_of, int_keys

DIM = 8
POISON = 666  # a live batch holding this id fails half-way through apply (after the store
# took it, before the index did); replay goes through other code and succeeds


@pytest.fixture
def poisoned(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The poisoned applies seen so far."""
    calls: list[int] = []
    real = Committer._apply

    def apply(self: Committer, items: list[tuple[int, WriteOp]]) -> None:
        poisoned = any(isinstance(op, UpsertBatch) and POISON in ids_of(op.keys) for _, op in items)
        if poisoned:
            calls.append(1)
            self._store.apply_many(items)  # half applied: the store has it, the index not
            raise MemoryError("injected: apply failed half-way")
        real(self, items)

    monkeypatch.setattr(Committer, "_apply", apply)
    monkeypatch.setattr(supervisor, "RETRY_FIRST_S", 0.01)
    return calls


def _poison() -> np.ndarray:
    vector = clustered(1, DIM, seed=9)
    vector[0][0] = POISON
    return vector


async def _reopened(zoro: Opened, old: object) -> None:
    with trio.fail_after(30):
        while not _serving_anew(zoro, old):  # noqa: ASYNC110 -- the supervisor's own pace
            await trio.sleep(0.01)


def _serving_anew(zoro: Opened, old: object) -> bool:
    actor = zoro.manager.actor("c")
    return actor is not old and actor.state is ActorState.READY


async def test_a_batch_logged_but_not_applied_is_replayed_and_served(
    zoro: Opened, poisoned: list[int]
) -> None:
    await zoro.manager.create("c", VectorConfig.single(DIM, Distance.EUCLID), {})
    actor = zoro.manager.serving("c")
    await actor.write(upsert(range(5), clustered(5, DIM)))
    with pytest.raises(LoggedNotApplied):
        await actor.write(upsert([POISON], _poison()))
    await _reopened(zoro, actor)
    again = zoro.manager.serving("c")
    assert again.count() == 6
    (record,) = again.get(
        int_keys(np.array([POISON], dtype=np.uint64)), with_vector=True, with_payload=False
    )
    assert record is not None
    assert record.vector[0] == POISON
    await again.write(upsert([7], clustered(1, DIM, seed=2)))  # and it takes writes again
    assert again.count() == 7
    assert poisoned == [1]


async def test_a_reopening_that_fails_on_io_is_retried(
    zoro: Opened, poisoned: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    await zoro.manager.create("c", VectorConfig.single(DIM, Distance.EUCLID), {})
    actor = zoro.manager.serving("c")
    real = recovery_module.open_durable
    failures = [2]

    def disk_still_full(*args: object, **kwargs: object) -> object:
        if failures[0]:
            failures[0] -= 1
            raise StorageFull("No space left on device while replaying the WAL")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(recovery_module, "open_durable", disk_still_full)
    with pytest.raises(LoggedNotApplied):
        await actor.write(upsert([POISON], _poison()))
    await _reopened(zoro, actor)
    assert failures == [0]
    assert zoro.manager.serving("c").count() == 1


async def test_a_collection_that_keeps_needing_replays_is_left_failed(
    zoro: Opened, poisoned: list[int]
) -> None:
    await zoro.manager.create("c", VectorConfig.single(DIM, Distance.EUCLID), {})
    for _ in range(supervisor.REPLAYS_ALLOWED + 1):
        actor = zoro.manager.serving("c")
        with pytest.raises(LoggedNotApplied):
            await actor.write(upsert([POISON], _poison()))
        if len(poisoned) <= supervisor.REPLAYS_ALLOWED:
            await _reopened(zoro, actor)
    with trio.fail_after(30):
        while "not reopened again" not in (zoro.manager.actor("c").failure or ""):  # noqa: ASYNC110
            await trio.sleep(0.01)
    assert zoro.manager.actor("c").state is ActorState.FAILED
    assert await zoro.manager.delete("c")  # a failed collection can still be deleted
