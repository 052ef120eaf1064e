from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import numpy as np
import pytest
import trio

from zoro.actors import CollectionManager
from zoro.settings import AnnSettings, Settings
from zoro.types import UpsertBatch, int_keys

SMALL = Settings(ann=AnnSettings(fresh_segment_max_points=2_000, full_scan_threshold=1_000))


class Opened:
    """A running manager, and the means to restart it on the same data directory."""

    def __init__(
        self,
        data_dir: Path,
        nursery: trio.Nursery,
        settings: Settings,
        *,
        run_dir: Path | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.nursery = nursery
        self.settings = settings
        self.run_dir = run_dir  # where owners publish their LSN boards (zoro.actors.board)
        self.manager: CollectionManager
        self._scope: trio.CancelScope
        self._ended: trio.Event

    async def open(self) -> CollectionManager:
        self.manager = CollectionManager(self.data_dir, self.settings, run_dir=self.run_dir)
        self._scope, self._ended = await self.nursery.start(_run, self.manager)
        return self.manager

    async def close(self) -> None:
        """A clean shutdown: every actor drains and checkpoints."""
        await self.manager.close()

    async def crash(self) -> None:
        """Cancel everything at once: no drain, no checkpoint (the WAL must carry it all).

        Returns once the manager has stopped and let go of the data directory, as a dead
        process would have."""
        self._scope.cancel()
        await self._ended.wait()

    async def wait_ready(self, name: str) -> None:
        await self.manager.actor(name).settled.wait()


async def _run(
    manager: CollectionManager,
    *,
    task_status: trio.TaskStatus[tuple[trio.CancelScope, trio.Event]],
) -> None:
    """Run the manager under a cancel scope of its own, so a test can "crash" it alone; the
    event is set once it has wholly stopped."""
    ended = trio.Event()
    try:
        with trio.CancelScope() as scope:
            async with trio.open_nursery() as nursery:
                await nursery.start(manager.run)
                task_status.started((scope, ended))
    finally:
        ended.set()


@pytest.fixture
async def zoro(tmp_path: Path, nursery: trio.Nursery) -> AsyncIterator[Opened]:
    opened = Opened(tmp_path / "data", nursery, SMALL)
    await opened.open()
    yield opened
    await opened.manager.close()


def clustered(n: int, dim: int, *, seed: int = 0, clusters: int = 50) -> np.ndarray:
    """Points around fixed cluster centres (the same for every seed, so that queries drawn with
    one seed fall among the points drawn with another)."""
    centres = np.random.default_rng(12345).normal(size=(clusters, dim)).astype(np.float32) * 4
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, clusters, size=n)
    return (centres[labels] + rng.normal(size=(n, dim)).astype(np.float32)).astype(np.float32)


def upsert(
    ids: range | list[int], vectors: np.ndarray, payload: Callable[[int], bytes] | None = None
) -> UpsertBatch:
    ids = list(ids)
    payloads = [payload(i) if payload else b'{"i":%d}' % i for i in ids]
    keys = int_keys(np.array(ids, dtype=np.uint64))
    return UpsertBatch(keys, np.ascontiguousarray(vectors, dtype=np.float32), payloads)
