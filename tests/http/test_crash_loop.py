"""Crash loop against the real server: concurrent upserts and deletes, SIGKILL, restart, compare.

Each client owns its own id range, so per id the operations are ordered; after every restart the
server's state must equal the model built from acknowledged operations, except that each
client's single unacknowledged in-flight operation may be wholly applied or wholly absent.

Every cycle must test something. The kill comes only once MIN_ACKS operations have been
acknowledged in that cycle (waiting up to ACK_WAIT_S for them, so a loaded machine slows the loop
down rather than emptying it), plus a random moment more, so that kills land anywhere in the
write path; a cycle with fewer acknowledgements fails. The check after each restart must have
compared ids that hold points, and by the end ids that were deleted too.
Default run: 5 kills; `pytest -m slow`: 10 (the former default); `pytest -m torture`: 200.
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
MIN_ACKS = 2 * CLIENTS
ACK_WAIT_S = 30.0
EXTRA_S = (0.0, 0.4)  # after MIN_ACKS acknowledgements, the kill comes this much later


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


@dataclass
class Cycle:
    """What the clients got acknowledged between one start and the next kill."""

    number: int
    acked: int = 0
    enough: trio.Event = field(default_factory=trio.Event)

    def ack(self) -> None:
        self.acked += 1
        if self.acked >= MIN_ACKS:
            self.enough.set()


async def _client(
    url: str, model: ClientModel, rng: random.Random, tags: list[int], cycle: Cycle
) -> None:
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
            cycle.ack()


def _server_state(url: str, ids: list[int]) -> dict[int, int | None]:
    r = httpx.post(
        f"{url}/collections/t/points", json={"ids": ids, "with_vector": True}, timeout=30
    )
    assert r.status_code == 200, r.text
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


@dataclass(frozen=True)
class Checked:
    ids: int  # compared with the model
    present: int  # of which hold a point
    deleted: int  # of which were written and deleted since


def _check(url: str, models: list[ClientModel], cycle: Cycle) -> Checked:
    ids_checked = present = deleted = 0
    for model in models:
        ids = list(range(model.base, model.base + IDS_PER_CLIENT))
        actual = _server_state(url, ids)
        expected = {i: model.state.get(i) for i in ids}
        op = model.in_flight
        if actual != expected and op is not None:
            with_op = dict(expected)
            model.apply(op, with_op)  # the in-flight op, wholly applied
            if actual == with_op:
                model.apply(op)
                expected = with_op
        wrong = sorted(i for i in ids if actual[i] != expected[i])
        assert not wrong, (
            f"cycle {cycle.number}: ids {wrong[:10]} differ from the acknowledged state (server "
            f"{[actual[i] for i in wrong[:10]]}, acknowledged {[expected[i] for i in wrong[:10]]}"
            f"; in flight: {op}): an acknowledged write was lost, a deleted point came back, or "
            "the in-flight operation is half applied"
        )
        model.in_flight = None
        ids_checked += len(ids)
        present += sum(tag is not None for tag in expected.values())
        deleted += sum(i in model.state and model.state[i] is None for i in ids)
    return Checked(ids_checked, present, deleted)


async def _run_clients(
    proc: ServerProcess, models: list[ClientModel], rng: random.Random, tags: list[int], n: int
) -> Cycle:
    """Write until MIN_ACKS operations are acknowledged and a random moment more; then kill."""
    cycle = Cycle(n)
    async with trio.open_nursery() as nursery:
        for model in models:
            client_rng = random.Random(rng.random())
            nursery.start_soon(_client, proc.url, model, client_rng, tags, cycle)
        with trio.move_on_after(ACK_WAIT_S):
            await cycle.enough.wait()
        await trio.sleep(rng.uniform(*EXTRA_S))
        proc.kill()
    return cycle


async def _crash_loop(tmp_path: Path, kills: int) -> None:
    rng = random.Random(2024)
    proc = ServerProcess(tmp_path / "data").start()
    try:
        r = httpx.put(
            proc.url + "/collections/t", json={"vectors": {"size": DIM, "distance": "Dot"}}
        )
        assert r.status_code == 200, r.text
        models = [ClientModel(base=c * IDS_PER_CLIENT) for c in range(CLIENTS)]
        tags = [0]
        acked: list[int] = []
        for n in range(kills):
            cycle = await _run_clients(proc, models, rng, tags, n)
            assert cycle.acked >= MIN_ACKS, (
                f"cycle {n}: only {cycle.acked} operations were acknowledged in {ACK_WAIT_S} s "
                "before the kill, so this cycle tested nothing"
            )
            proc.start()
            proc.wait_ready()
            checked = _check(proc.url, models, cycle)
            assert checked.ids == CLIENTS * IDS_PER_CLIENT
            assert checked.present > 0, f"cycle {n}: no id holds a point: nothing was compared"
            acked.append(cycle.acked)
        assert checked.deleted > 0, "no acknowledged delete was ever compared"
        print(f"acknowledged per cycle: {acked}; last check: {checked}")
    finally:
        proc.kill()


@pytest.mark.parametrize("kills", [5, pytest.param(10, marks=pytest.mark.slow)])
async def test_crash_loop_keeps_every_acknowledged_write(tmp_path: Path, kills: int) -> None:
    await _crash_loop(tmp_path, kills)


@pytest.mark.torture
async def test_crash_loop_torture(tmp_path: Path) -> None:
    await _crash_loop(tmp_path, 200)
