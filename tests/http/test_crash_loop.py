"""Crash loop against the real server: concurrent upserts and deletes, SIGKILL, restart, compare.

Each client owns its own id range, so per id the operations are ordered; after every restart the
server's state must equal the model built from acknowledged operations, except that each
client's single unacknowledged in-flight operation may be wholly applied or wholly absent.
Default run: 10 kills; `pytest -m torture`: 200.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import trio

from zoro.testing import ServerProcess

DIM = 4
CLIENTS = 6
IDS_PER_CLIENT = 200


def _vector(point_id: int, tag: int) -> list[float]:
    return [float(tag), float(point_id), float(tag % 7), 1.0]


@dataclass
class Op:
    kind: str  # "upsert" or "delete"
    ids: list[int]
    tag: int


@dataclass
class ClientModel:
    base: int
    state: dict[int, int | None] = field(default_factory=dict)  # id -> tag, None = deleted
    in_flight: Op | None = None

    def apply(self, op: Op, state: dict[int, int | None] | None = None) -> None:
        target = self.state if state is None else state
        for i in op.ids:
            target[i] = op.tag if op.kind == "upsert" else None


async def _client(url: str, model: ClientModel, rng: random.Random, tags: list[int]) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        while True:
            tags[0] += 1
            ids = sorted(
                rng.sample(range(model.base, model.base + IDS_PER_CLIENT), rng.randint(1, 20))
            )
            op = Op("delete" if rng.random() < 0.3 else "upsert", ids, tags[0])
            model.in_flight = op
            try:
                if op.kind == "upsert":
                    r = await http.put(
                        "/collections/t/points",
                        params={"wait": "true"},
                        json={
                            "points": [
                                {"id": i, "vector": _vector(i, op.tag), "payload": {"t": op.tag}}
                                for i in ids
                            ]
                        },
                    )
                else:
                    r = await http.post(
                        "/collections/t/points/delete",
                        params={"wait": "true"},
                        json={"points": ids},
                    )
            except httpx.TransportError:
                return  # killed: this op stays in flight
            assert r.status_code == 200, r.text
            model.apply(op)
            model.in_flight = None


def _server_state(url: str, ids: list[int]) -> dict[int, int | None]:
    r = httpx.post(
        f"{url}/collections/t/points", json={"ids": ids, "with_vector": True}, timeout=30
    )
    found = {p["id"]: p for p in r.json()["result"]}
    state: dict[int, int | None] = {}
    for i in ids:
        point = found.get(i)
        if point is None:
            state[i] = None
            continue
        tag = point["payload"]["t"]
        assert point["vector"] == _vector(i, tag), f"point {i}: vector does not match its payload"
        state[i] = tag
    return state


def _check(url: str, models: list[ClientModel]) -> int:
    checked = 0
    for model in models:
        ids = list(range(model.base, model.base + IDS_PER_CLIENT))
        actual = _server_state(url, ids)
        expected = {i: model.state.get(i) for i in ids}
        if actual != expected and model.in_flight is not None:
            model.apply(model.in_flight, expected)  # the in-flight op, wholly applied
            model.apply(model.in_flight)
        assert actual == expected, "acknowledged state lost, or an operation is half applied"
        model.in_flight = None
        checked += len(ids)
    return checked


async def _crash_loop(tmp_path: Path, kills: int) -> None:
    rng = random.Random(2024)
    proc = ServerProcess(tmp_path / "data").start()
    try:
        httpx.put(proc.url + "/collections/t", json={"vectors": {"size": DIM, "distance": "Dot"}})
        models = [ClientModel(base=c * IDS_PER_CLIENT) for c in range(CLIENTS)]
        tags = [0]
        checked = 0
        for _ in range(kills):
            async with trio.open_nursery() as nursery:
                for model in models:
                    nursery.start_soon(_client, proc.url, model, random.Random(rng.random()), tags)
                await trio.sleep(rng.uniform(0.05, 0.6))
                proc.kill()
            proc.start()
            proc.wait_ready()
            checked += _check(proc.url, models)
        assert checked == kills * CLIENTS * IDS_PER_CLIENT
    finally:
        proc.kill()


async def test_crash_loop_keeps_every_acknowledged_write(tmp_path: Path) -> None:
    await _crash_loop(tmp_path, 10)


@pytest.mark.torture
async def test_crash_loop_torture(tmp_path: Path) -> None:
    await _crash_loop(tmp_path, 200)
