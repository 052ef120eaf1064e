"""Collection create and delete run to completion or roll back, whatever the caller does.

A caller cancelled at any moment (a client that goes away, a timeout) must leave the name in one
of two states, the same in memory, in the catalog file and on disk, before and after a restart:
a serving collection, or none at all (and the name free). The cancellation points are swept:
after k passes through the scheduler and after short wall-clock delays, since the steps run in
worker threads.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trio

from tests.actors.conftest import Opened, upsert
from zoro.actors import manager as manager_module
from zoro.errors import CollectionExists, StorageFull
from zoro.types import Distance, VectorConfig

DIM = 4
# k scheduler passes, then wall-clock delays in seconds: together they land everywhere from
# "before the catalog is touched" to "after the actor serves"
YIELDS = range(0, 24, 3)
DELAYS = (0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.05)


async def _cancel_after(how: int | float, work: object) -> None:
    """Run `work()` and cancel it after `how` yields (int) or seconds (float)."""
    async with trio.open_nursery() as nursery:

        async def run() -> None:
            await work()  # type: ignore[operator]
            nursery.cancel_scope.cancel()

        nursery.start_soon(run)
        if isinstance(how, int):
            for _ in range(how):
                await trio.lowlevel.checkpoint()
        else:
            await trio.sleep(how)
        nursery.cancel_scope.cancel()


def _on_disk(zoro: Opened) -> dict[str, tuple[str, bool]]:
    """name -> (catalog state, whether its directory exists), from the files."""
    catalog = json.loads((zoro.data_dir / "catalog").read_text())["data"]["collections"]
    collections = zoro.data_dir / "collections"
    return {e["name"]: (e["state"], (collections / e["id"]).is_dir()) for e in catalog}


async def _settle(zoro: Opened, probe: str) -> None:
    """Wait until any create or delete under way has ended: a catalog change of our own queues
    behind it (they take turns)."""
    await zoro.manager.create(probe, VectorConfig.single(DIM, Distance.DOT), {"kind": "flat"})
    assert await zoro.manager.delete(probe)


async def _check_whole(zoro: Opened, name: str) -> bool:
    """The name is a serving collection everywhere, or absent everywhere; returns which."""
    disk = _on_disk(zoro)
    if zoro.manager.exists(name):
        assert disk[name] == ("ready", True)
        actor = zoro.manager.actor(name)
        await actor.settled.wait()
        actor.check_serving()
        return True
    assert name not in disk, f"{name} left in the catalog as {disk.get(name)}"
    return False


@pytest.mark.parametrize("how", [*YIELDS, *DELAYS])
async def test_a_cancelled_create_leaves_a_whole_collection_or_none(
    zoro: Opened, how: float
) -> None:
    await _cancel_after(
        how, lambda: zoro.manager.create("c", VectorConfig.single(DIM, Distance.DOT), {})
    )
    await _settle(zoro, "probe")
    created = await _check_whole(zoro, "c")
    assert not any(p.name.endswith(".tmp") for p in zoro.data_dir.iterdir())
    if created:
        with pytest.raises(CollectionExists):
            await zoro.manager.create("c", VectorConfig.single(DIM, Distance.DOT), {})
    else:  # the name is free
        await zoro.manager.create("c", VectorConfig.single(DIM, Distance.DOT), {})
    await zoro.manager.serving("c").write(upsert([1], [[1, 2, 3, 4]]))
    await zoro.close()
    await zoro.open()
    assert await _check_whole(zoro, "c")
    assert zoro.manager.serving("c").count() == 1


@pytest.mark.parametrize("how", [*YIELDS, *DELAYS])
async def test_a_cancelled_delete_leaves_the_collection_whole_or_gone(
    zoro: Opened, how: float
) -> None:
    await zoro.manager.create("c", VectorConfig.single(DIM, Distance.DOT), {})
    await zoro.manager.serving("c").write(upsert(range(10), [[1, 2, 3, 4]] * 10))
    await _cancel_after(how, lambda: zoro.manager.delete("c"))
    await _settle(zoro, "probe")
    if await _check_whole(zoro, "c"):
        assert zoro.manager.serving("c").count() == 10
        assert await zoro.manager.delete("c")
    else:
        assert not await zoro.manager.delete("c")  # already gone: Qdrant's `false`
    await zoro.crash()  # and the files agree after a restart
    await zoro.open()
    assert not await _check_whole(zoro, "c")


async def test_a_create_that_fails_on_disk_rolls_back_and_frees_the_name(
    zoro: Opened, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(directory: Path, *args: object) -> None:
        directory.mkdir(parents=True)
        (directory / "half-made").write_bytes(b"x")
        raise StorageFull("No space left on device while creating a collection")

    monkeypatch.setattr(manager_module.CollectionStore, "create", full)
    with pytest.raises(StorageFull):
        await zoro.manager.create("c", VectorConfig.single(DIM, Distance.DOT), {})
    assert not await _check_whole(zoro, "c")
    assert list((zoro.data_dir / "collections").iterdir()) == []
    monkeypatch.undo()
    await zoro.manager.create(
        "c", VectorConfig.single(DIM, Distance.DOT), {}
    )  # the name is free again
    assert await _check_whole(zoro, "c")


async def test_close_lets_a_create_under_way_finish(zoro: Opened) -> None:
    async with trio.open_nursery() as nursery:
        nursery.start_soon(zoro.manager.create, "c", VectorConfig.single(DIM, Distance.DOT), {})
        with trio.fail_after(10):  # the catalog file says when the creation is half-way
            while _on_disk(zoro).get("c", ("",))[0] not in ("creating", "ready"):  # noqa: ASYNC110
                await trio.sleep(0.0002)
        await zoro.close()
    await zoro.open()
    assert await _check_whole(zoro, "c")
