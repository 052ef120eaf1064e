"""Nothing is acknowledged, and nothing is readable, before the WAL sync returns.

The server runs in this process (real sockets, real HTTP), with the process's fdatasync and
fsync held on a gate: while a write's sync is held, neither its wait=true nor its wait=false
reply may arrive, and no read route may see it. Once the gate opens, both replies arrive and
every read sees the writes. (tests/powerloss holds the same syncs inside a file system.)
"""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
import trio

from zoro.http.server import claim, serve
from zoro.settings import ServerSettings, Settings
from zoro.testing import free_port

HELD_S = 0.5  # how long the replies must stay away while the sync is held


class SyncGate:
    """Holds every fdatasync/fsync of this process while closed (worker threads block)."""

    def __init__(self) -> None:
        self.closed = False
        self.open_event = threading.Event()
        self.held = threading.Event()  # a sync is being held now

    def wrap(self, real: Callable[[int], None]) -> Callable[[int], None]:
        def gated(fd: int) -> None:
            if self.closed:
                self.held.set()
                if not self.open_event.wait(timeout=30):
                    raise OSError("the test never opened the sync gate")
            real(fd)

        return gated


@pytest.fixture
async def server(
    tmp_path: Path, nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[httpx.AsyncClient, SyncGate]]:
    gate = SyncGate()
    monkeypatch.setattr(os, "fdatasync", gate.wrap(os.fdatasync))
    monkeypatch.setattr(os, "fsync", gate.wrap(os.fsync))
    port = free_port()
    settings = Settings(server=ServerSettings(host="127.0.0.1", port=port))
    data = tmp_path / "data"
    nursery.start_soon(serve, data, settings, claim(data, settings))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        with trio.fail_after(30):
            while True:
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await trio.sleep(0.02)
        yield http, gate
    gate.open_event.set()
    nursery.cancel_scope.cancel()


def _point(i: int) -> dict[str, object]:
    return {"id": i, "vector": [float(i), 1.0, 0.0, 0.0], "payload": {"i": i}}


async def _visible(http: httpx.AsyncClient) -> dict[str, object]:
    """What each read route shows of points 2 and 3."""
    got = await http.post("/collections/c/points", json={"ids": [2, 3]})
    count = await http.post("/collections/c/points/count", json={"exact": True})
    scroll = await http.post("/collections/c/points/scroll", json={"limit": 10})
    query = await http.post(
        "/collections/c/points/query", json={"query": [2.0, 1.0, 0.0, 0.0], "limit": 10}
    )
    by_id = await http.get("/collections/c/points/2")
    return {
        "retrieve": sorted(p["id"] for p in got.json()["result"]),
        "count": count.json()["result"]["count"],
        "scroll": sorted(p["id"] for p in scroll.json()["result"]["points"]),
        "query": sorted(p["id"] for p in query.json()["result"]["points"]),
        "get": by_id.status_code,
    }


async def test_no_reply_and_no_read_before_the_wal_sync(
    server: tuple[httpx.AsyncClient, SyncGate],
) -> None:
    http, gate = server
    body = {"vectors": {"size": 4, "distance": "Euclid"}}
    assert (await http.put("/collections/c", json=body)).status_code == 200
    r = await http.put("/collections/c/points?wait=true", json={"points": [_point(1)]})
    assert r.status_code == 200

    replies: dict[str, httpx.Response] = {}
    gate.closed = True
    async with trio.open_nursery() as nursery:

        async def put(i: int, wait: str) -> None:
            replies[wait] = await http.put(
                f"/collections/c/points?wait={wait}", json={"points": [_point(i)]}
            )

        nursery.start_soon(put, 2, "true")
        nursery.start_soon(put, 3, "false")
        with trio.fail_after(10):
            await trio.to_thread.run_sync(gate.held.wait)
        await trio.sleep(HELD_S)
        assert replies == {}, "a write was acknowledged before its WAL sync returned"
        before = await _visible(http)
        assert before == {"retrieve": [], "count": 1, "scroll": [1], "query": [1], "get": 404}
        assert replies == {}
        gate.closed = False
        gate.open_event.set()

    assert replies["true"].status_code == 200, replies["true"].text
    assert replies["false"].status_code == 200, replies["false"].text
    after = await _visible(http)
    assert after == {
        "retrieve": [2, 3],
        "count": 3,
        "scroll": [1, 2, 3],
        "query": [1, 2, 3],
        "get": 200,
    }
