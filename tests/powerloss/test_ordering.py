"""Nothing is acknowledged, readable or searchable before the WAL sync that makes it durable.

The real server runs on powerfs with its fsync gate closed: the WAL's fsync cannot return. A
write with wait=true and one with wait=false must then get no reply, and no read (retrieve,
scroll, count, query) may see either, however long we look; once the gate opens, both are
acknowledged and every read sees them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from tests.powerloss.mount import mounted
from zoro.testing import ServerProcess

# Nothing but the WAL syncs while the gate is closed: no checkpoint comes due.
QUIET = ("actor.idle_checkpoint_s=1000", "actor.checkpoint_interval_s=1000")
HOLD_S = 1.0


def _vector(i: int) -> list[float]:
    return [float(i), 1.0, 0.0, 0.0]


async def _seen(http: httpx.AsyncClient) -> dict[str, Any]:
    """Whether points 1 and 2 show up through each kind of read."""
    base = "/collections/o/points"
    retrieved = (await http.post(base, json={"ids": [1, 2]})).json()["result"]
    scrolled = (await http.post(base + "/scroll", json={"limit": 10})).json()["result"]
    count = (await http.post(base + "/count", json={"exact": True})).json()["result"]["count"]
    found = set()
    for i in (1, 2):
        body = {"query": _vector(i), "limit": 10, "params": {"exact": True}}
        found |= {
            p["id"]
            for p in (await http.post(base + "/query", json=body)).json()["result"]["points"]
        }
        found |= {
            p["id"]
            for p in (await http.post(base + "/query", json={**body, "params": {}})).json()[
                "result"
            ]["points"]
        }
    one = (await http.get(base + "/1")).status_code
    return {
        "retrieve": sorted(p["id"] for p in retrieved),
        "scroll": sorted(p["id"] for p in scrolled["points"]),
        "count": count,
        "query": sorted(found),
        "get": one,
    }


BEFORE = {"retrieve": [], "scroll": [0], "count": 1, "query": [0], "get": 404}
AFTER = {"retrieve": [1, 2], "scroll": [0, 1, 2], "count": 3, "query": [0, 1, 2], "get": 200}


@pytest.mark.usefixtures("fuse")
async def test_no_reply_and_no_read_before_the_wal_sync(tmp_path: Path) -> None:
    with mounted(tmp_path) as disk:
        flags = tuple(x for s in QUIET for x in ("--set", s))
        server = ServerProcess(disk.path / "data", extra_args=flags, log_path=tmp_path / "log")
        with server:
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
                body = {"vectors": {"size": 4, "distance": "Euclid"}}
                assert (await http.put("/collections/o", json=body)).status_code == 200
                point = {"points": [{"id": 0, "vector": _vector(0)}]}
                r = await http.put("/collections/o/points", params={"wait": "true"}, json=point)
                assert r.status_code == 200
                syncs = disk.stats()["fsyncs"]
                disk.close_gate()
                replies: dict[int, int] = {}

                async def upsert(i: int, wait: str) -> None:
                    async with httpx.AsyncClient(base_url=server.url, timeout=30) as own:
                        body = {"points": [{"id": i, "vector": _vector(i), "payload": {"i": i}}]}
                        r = await own.put("/collections/o/points", params={"wait": wait}, json=body)
                        replies[i] = r.status_code

                try:
                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(upsert, 1, "true")
                        assert await trio.to_thread.run_sync(disk.wait_held, 1)
                        nursery.start_soon(upsert, 2, "false")
                        deadline = trio.current_time() + HOLD_S
                        while trio.current_time() < deadline:
                            assert await _seen(http) == BEFORE
                            assert replies == {}
                        assert disk.stats()["fsyncs"] == syncs  # the gate really held the sync
                        disk.open_gate()
                finally:
                    disk.open_gate()
                assert replies == {1: 200, 2: 200}
                assert await _seen(http) == AFTER
        disk.check_no_errors()
