"""The owner's doorbell (zoro.actors.board): after a batch the owner rings each follower, an
idle follower looks at its board at once, and a busy one keeps batching what comes."""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING

import trio

from tests.actors.conftest import SMALL, Opened, clustered, upsert
from zoro.actors import CollectionManager
from zoro.actors.board import (
    BUSY_POLL_S,
    IDLE_POLL_S,
    RING_GAP_S,
    Bells,
    BoardSource,
    Doorbell,
    LsnBoard,
)
from zoro.types import Distance, VectorConfig

if TYPE_CHECKING:
    from pathlib import Path

DIM = 8


def _idle_source(tmp_path: Path) -> tuple[BoardSource, LsnBoard]:
    owner = LsnBoard(tmp_path / "c.lsn", writable=True)
    return BoardSource(LsnBoard(tmp_path / "c.lsn", writable=False)), owner


async def _wait_idle(source: BoardSource) -> None:
    """Wait until the source backs off past the busy poll (the board stopped moving)."""
    lsn = source.applied_lsn()
    for _ in range(6):  # 5 ms doubling to 320 ms
        await source.wait_past(lsn)


async def test_a_ring_wakes_an_idle_follower_at_once_and_a_busy_one_later(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    source, owner = _idle_source(tmp_path)
    doorbell = Doorbell(tmp_path)
    nursery.start_soon(doorbell.run, {"c": source})
    bells = Bells(tmp_path)
    ring = bells.ringer("c")
    await _wait_idle(source)

    # idle: the owner's ring ends the wait long before the idle poll would
    async def ring_soon() -> None:
        await trio.sleep(0.05)
        owner.publish_lsn(1)
        ring()

    nursery.start_soon(ring_soon)
    began = trio.current_time()
    await source.wait_past(0)
    assert trio.current_time() - began < 0.05 + 0.2
    assert IDLE_POLL_S > 0.25
    assert source.applied_lsn() == 1

    # busy (the board moved at the last look): a ring does not end the wait early, so what
    # comes meanwhile is applied as one batch
    await trio.sleep(RING_GAP_S)
    ring()
    began = trio.current_time()
    await source.wait_past(1)
    assert trio.current_time() - began >= BUSY_POLL_S * 0.9
    bells.close()


async def test_rings_are_spaced_and_a_gone_follower_is_forgotten(tmp_path: Path) -> None:
    received = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    received.bind(str(tmp_path / "bell-1-0.sock"))
    received.setblocking(False)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dead.bind(str(tmp_path / "bell-2-0.sock"))
    dead.close()  # its file stays: a follower killed with -9
    bells = Bells(tmp_path)
    ring = bells.ringer("c")
    ring()
    ring()  # within RING_GAP_S: not sent
    assert received.recv(64) == b"c"
    try:
        received.recv(64)
        raise AssertionError("a second datagram within the gap")
    except BlockingIOError:
        pass
    assert not (tmp_path / "bell-2-0.sock").exists()  # refused: removed
    await trio.sleep(RING_GAP_S)
    ring()
    assert received.recv(64) == b"c"
    bells.close()
    received.close()


async def test_an_idle_follower_applies_a_write_without_a_read(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    """No read kicks it: the doorbell brings the write to the replica well before the idle
    poll would have."""
    run_dir = tmp_path / "run"
    owned = Opened(tmp_path / "data", nursery, SMALL, run_dir=run_dir)
    owner = await owned.open()
    await owner.create("a", VectorConfig.single(DIM, Distance.EUCLID), {"kind": "flat"})
    await owner.actor("a").write(upsert(range(50), clustered(50, DIM, seed=1)))
    follower = CollectionManager(tmp_path / "data", SMALL, follow_run_dir=run_dir)
    await nursery.start(follower.run)
    try:
        await follower.caught_up("a", 10.0)
        assert any(p.name.startswith("bell-") for p in run_dir.iterdir())
        await trio.sleep(1.5)  # the poll backs off to 1.28 s and more
        for i in range(3):
            await owner.actor("a").write(upsert([100 + i], clustered(1, DIM, seed=2 + i)))
            target = owner.actor("a").store.applied_lsn
            began = trio.current_time()
            with trio.fail_after(5):
                while follower.actor("a").store.applied_lsn < target:  # noqa: ASYNC110
                    await trio.sleep(0.002)
            assert trio.current_time() - began < 0.5, i
            await trio.sleep(0.3)
    finally:
        await follower.close()
    with trio.fail_after(5):  # its task ends once the cancellation reaches it
        while any(p.name.startswith("bell-") for p in run_dir.iterdir()):  # noqa: ASYNC110
            await trio.sleep(0.01)
    await owned.close()
    assert os.listdir(run_dir)  # the boards stay for a restarted owner
