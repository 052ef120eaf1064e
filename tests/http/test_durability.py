"""kill -9 during a stream of acknowledged writes, and graceful shutdown under load."""

from __future__ import annotations

import random
import time
from pathlib import Path

import httpx
import pytest
import trio

from zoro.testing import ServerProcess

DIM = 8


def _vector(i: int) -> list[float]:
    return [float(i % 97), float(i // 97), 1.0, 0.5, 0.25, float(i % 7), 0.0, 1.0]


async def _writers(
    url: str, name: str, n_clients: int, acked: set[int], refused: list[int], stop: trio.Event
) -> None:
    """Concurrent clients upserting one point each with wait=true until stopped; the statuses
    of refused writes go to `refused`."""

    async def client(c: int) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            i = c
            while not stop.is_set():
                try:
                    r = await http.put(
                        f"/collections/{name}/points",
                        params={"wait": "true"},
                        json={"points": [{"id": i, "vector": _vector(i), "payload": {"i": i}}]},
                    )
                except httpx.TransportError:
                    return  # the server died under us: this write was never acknowledged
                if r.status_code == 200:
                    acked.add(i)
                else:
                    refused.append(r.status_code)
                i += n_clients

    async with trio.open_nursery() as nursery:
        for c in range(n_clients):
            nursery.start_soon(client, c)


def _create(url: str, name: str) -> None:
    r = httpx.put(f"{url}/collections/{name}", json={"vectors": {"size": DIM, "distance": "Dot"}})
    assert r.status_code == 200, r.text


def _check_all_there(url: str, name: str, acked: set[int]) -> None:
    ids = sorted(acked)
    with httpx.Client(base_url=url, timeout=30) as http:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            r = http.post(f"/collections/{name}/points", json={"ids": chunk, "with_vector": True})
            assert r.status_code == 200, r.text
            found = {p["id"]: p for p in r.json()["result"]}
            missing = [i for i in chunk if i not in found]
            assert not missing, f"acknowledged writes lost: {missing[:10]}"
            for i in chunk:
                assert found[i]["vector"] == _vector(i)
                assert found[i]["payload"] == {"i": i}


# The default run kills twice; `-m slow` three times (the former default).
@pytest.mark.parametrize("cycles", [2, pytest.param(3, marks=pytest.mark.slow)])
async def test_kill_9_under_concurrent_acked_writes_loses_nothing(
    tmp_path: Path, cycles: int
) -> None:
    rng = random.Random(1234)
    proc = ServerProcess(tmp_path / "data").start()
    try:
        _create(proc.url, "k")
        acked: set[int] = set()
        refused: list[int] = []
        for cycle in range(cycles):
            stop = trio.Event()
            before = len(acked)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_writers, proc.url, "k", 16, acked, refused, stop)
                await trio.sleep(rng.uniform(0.3, 1.0))
                with trio.move_on_after(30):  # a busy machine may need longer to ack some
                    while len(acked) < before + 10:  # noqa: ASYNC110 -- counting acks
                        await trio.sleep(0.01)
                proc.kill()
                stop.set()
            assert len(acked) - before >= 10, f"cycle {cycle}: {len(acked) - before} acks"
            assert set(refused) <= {429}, f"writes refused before the kill: {refused[:10]}"
            proc.start()
            proc.wait_ready()
            _check_all_there(proc.url, "k", acked)
    finally:
        proc.kill()


async def test_sigterm_under_load_exits_0_and_restart_replays_nothing(tmp_path: Path) -> None:
    proc = ServerProcess(tmp_path / "data").start()
    try:
        _create(proc.url, "g")
        acked: set[int] = set()
        refused: list[int] = []
        stop = trio.Event()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_writers, proc.url, "g", 8, acked, refused, stop)
            await trio.sleep(0.5)
            with trio.move_on_after(30):  # under load: SIGTERM only once writes are acked
                while len(acked) < 20:  # noqa: ASYNC110 -- counting acks
                    await trio.sleep(0.01)
            assert len(acked) >= 20, f"only {len(acked)} writes acknowledged before SIGTERM"
            started = time.monotonic()
            code = await trio.to_thread.run_sync(proc.stop)
            stop.set()
        assert code == 0
        assert time.monotonic() - started < 15
        assert set(refused) <= {429, 503}, f"refused with {sorted(set(refused))}"
        proc.start()
        proc.wait_ready()
        info = httpx.get(proc.url + "/collections/g").json()["result"]
        assert info["zoro"]["replayed_records"] == 0
        assert info["zoro"]["last_lsn"] == info["zoro"]["checkpoint_lsn"] >= len(acked)
        assert info["points_count"] >= len(acked)
        _check_all_there(proc.url, "g", acked)
    finally:
        proc.kill()
