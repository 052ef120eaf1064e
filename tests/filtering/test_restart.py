"""Payload indexes across restarts: SIGTERM, kill -9 under concurrent writers, kill -9 while an
index is being built, damaged index files, and dropped indexes. After every restart, filtered
counts and scrolls must equal the reference applied to what the server holds."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import trio

from tests.filtering.reference import (
    INDEXES_USUAL,
    Payload,
    PointId,
    count,
    create,
    create_index,
    is_number,
    kind,
    ok,
    parse_instant,
    random_payload,
    scroll_all,
    scroll_ids,
    selected,
    upsert,
    values_at,
    wait_indexes_ready,
)
from zoro.testing import ServerProcess

if TYPE_CHECKING:
    from pathlib import Path

DIM = 4
NAME = "r"

FILTERS: list[dict[str, Any]] = [
    {"must": {"key": "s", "match": {"value": "a"}}},
    {"must": {"key": "s", "match": {"any": ["a", "b", ""]}}},
    {"must": {"key": "s", "match": {"except": ["a"]}}},
    {"must": {"key": "tags", "match": {"value": "b"}}},
    {"must": {"key": "tags", "match": {"any": [0, 1]}}},
    {"must": {"key": "meta.lang", "match": {"any": ["a", "c"]}}},
    {"must": {"key": "offers[].kind", "match": {"value": "a"}}},
    {"must": {"key": "i", "range": {"gte": 1}}},
    {"must": {"key": "i", "match": {"value": 2}}},
    {"must": {"key": "meta.n", "match": {"except": [0, 1]}}},
    {"must": {"key": "f", "range": {"gt": 0.5, "lte": 2.5}}},
    {"must": {"key": "offers[].price", "range": {"lt": 1}}},
    {"must": {"key": "b", "match": {"value": True}}},
    {"must": {"key": "x", "match": {"value": "c"}}},
    {"must": {"key": "d", "range": {"gte": "2024-01-01T00:00:00Z", "lt": "2024-06-01T00:00:00Z"}}},
    {
        "should": [{"key": "s", "match": {"value": "b"}}, {"key": "i", "range": {"lt": 0}}],
        "must_not": {"key": "b", "match": {"value": False}},
    },
    {"must": [{"is_empty": {"key": "tags"}}], "must_not": [{"is_null": {"key": "x"}}]},
    {"must": {"key": "tags", "values_count": {"gte": 2}}},
    {
        "min_should": {
            "conditions": [
                {"key": "s", "match": {"value": "a"}},
                {"key": "f", "range": {"gte": 1}},
                {"key": "b", "match": {"value": True}},
            ],
            "min_count": 2,
        }
    },
]


def _vector(point_id: int, tag: int) -> list[float]:
    return [float(tag % 101), float(point_id % 97), 1.0, float((tag + point_id) % 13)]


def _payload(tag: int) -> Payload:
    return {**random_payload(random.Random(tag)), "tag": tag}


def _holds_indexed(value: Any, schema: str) -> bool:
    if schema == "keyword":
        return kind(value) is str
    if schema == "integer":
        return kind(value) is int
    if schema == "float":
        return is_number(value)
    if schema == "bool":
        return kind(value) is bool
    return parse_instant(value) is not None


def _check(http: httpx.Client, points: dict[PointId, Payload], indexes: dict[str, str]) -> None:
    """The declared indexes are ready with the right point counts, and every filter answers
    as the reference does over `points`."""
    info = wait_indexes_ready(http, NAME)
    schema = info["payload_schema"]
    assert set(schema) == set(indexes)
    for key, kind_name in indexes.items():
        assert info["zoro"]["payload_indexes"][key]["ready"], key
        assert schema[key]["data_type"] == kind_name
        expected = sum(
            any(_holds_indexed(v, kind_name) for v in values_at(p, key)) for p in points.values()
        )
        assert schema[key]["points"] == expected, key
    for flt in FILTERS:
        want = sorted(selected(flt, points))
        assert count(http, NAME, flt) == len(want), flt
        page = max(97, len(points) // 4)  # a few pages each (a filtered page costs a scan)
        assert scroll_ids(http, NAME, flt, limit=page) == want, flt


def _fill(http: httpx.Client, n: int, seed: int) -> dict[PointId, Payload]:
    tags = [seed * 1_000_000 + i for i in range(n)]
    points: dict[PointId, Payload] = {i: _payload(t) for i, t in enumerate(tags)}
    upsert(
        http,
        NAME,
        list(points),
        [_vector(i, t) for i, t in enumerate(tags)],
        list(points.values()),
        chunk=1000,
    )
    return points


def _restart(proc: ServerProcess, *, kill: bool) -> httpx.Client:
    if kill:
        proc.kill()
    else:
        assert proc.stop() == 0
    proc.start()
    proc.wait_ready()
    return httpx.Client(base_url=proc.url, timeout=60)


def _index_files(data: Path) -> list[Path]:
    return sorted(data.glob("collections/*/payload/*.npz"))


def test_indexes_survive_a_clean_restart(tmp_path: Path) -> None:
    proc = ServerProcess(tmp_path / "data").start()
    try:
        with httpx.Client(base_url=proc.url, timeout=60) as http:
            create(http, NAME, DIM)
            points = _fill(http, 400, 1)
            for key, schema in INDEXES_USUAL.items():
                create_index(http, NAME, key, schema)
            _check(http, points, INDEXES_USUAL)
        with _restart(proc, kill=False) as http:
            assert len(_index_files(tmp_path / "data")) == len(INDEXES_USUAL)
            _check(http, points, INDEXES_USUAL)
            more = _fill(http, 50, 2)  # the loaded indexes take new points too
            points.update(more)
            _check(http, points, INDEXES_USUAL)
    finally:
        proc.kill()


# --- kill -9 under concurrent writers ------------------------------------------------------------

CLIENTS = 4
IDS_PER_CLIENT = 120
MIN_ACKS = 20  # per cycle, before the kill


@dataclass
class Op:
    kind: str  # "upsert", "delete" or "delete_where"
    ids: list[int]
    tag: int
    flt: dict[str, Any] | None = None


@dataclass
class ClientModel:
    base: int
    state: dict[int, Payload | None] = field(default_factory=dict)
    in_flight: Op | None = None
    refused: list[int] = field(default_factory=list)  # statuses of refused requests
    acked: int = 0  # operations acknowledged since the last restart

    def own(self) -> list[int]:
        return list(range(self.base, self.base + IDS_PER_CLIENT))

    def apply(self, op: Op, state: dict[int, Payload | None]) -> None:
        if op.kind == "upsert":
            for offset, i in enumerate(op.ids):
                state[i] = _payload(op.tag + offset)
        elif op.kind == "delete":
            for i in op.ids:
                state[i] = None
        else:
            assert op.flt is not None
            live = {i: p for i, p in state.items() if p is not None}
            for i in selected(op.flt, live):
                state[int(i)] = None


async def _writer(url: str, model: ClientModel, rng: random.Random, tags: list[int]) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=20) as http:
        for _ in range(100_000):  # bounded; the kill ends it long before
            ids = sorted(rng.sample(model.own(), rng.randint(1, 8)))
            tags[0] += 100
            roll = rng.random()
            if roll < 0.7:
                op = Op("upsert", ids, tags[0])
            elif roll < 0.9:
                op = Op("delete", ids, tags[0])
            else:
                cond = rng.choice(FILTERS)
                op = Op("delete_where", [], tags[0], {"must": [{"has_id": model.own()}, cond]})
            model.in_flight = op
            try:
                if op.kind == "upsert":
                    r = await http.put(
                        f"/collections/{NAME}/points",
                        params={"wait": "true"},
                        json={
                            "points": [
                                {
                                    "id": i,
                                    "vector": _vector(i, op.tag + k),
                                    "payload": _payload(op.tag + k),
                                }
                                for k, i in enumerate(op.ids)
                            ]
                        },
                    )
                else:
                    body = {"points": op.ids} if op.kind == "delete" else {"filter": op.flt}
                    r = await http.post(
                        f"/collections/{NAME}/points/delete", params={"wait": "true"}, json=body
                    )
            except httpx.TransportError:
                return  # killed: this op stays in flight
            if r.status_code != 200:  # shutting down: not acknowledged, stays in flight
                model.refused.append(r.status_code)
                return
            model.apply(op, model.state)
            model.in_flight = None
            model.acked += 1


def _reconcile(models: list[ClientModel], actual: dict[PointId, Payload]) -> None:
    """Each client's ids hold what its acknowledged ops left, its in-flight op wholly applied
    or wholly absent."""
    for model in models:
        got = {i: actual.get(i) for i in model.own()}
        want = {i: model.state.get(i) for i in model.own()}
        if got != want and model.in_flight is not None:
            model.apply(model.in_flight, want)
            model.apply(model.in_flight, model.state)
        assert got == want, "acknowledged writes lost, or an operation is half applied"
        model.in_flight = None


# The default run kills once and ends with a clean stop under load; `-m slow` kills twice first
# (the former default: a kill-recovered server killed again).
@pytest.mark.parametrize("cycles", [2, pytest.param(3, marks=pytest.mark.slow)])
async def test_kill_9_under_writers_keeps_indexes_right(tmp_path: Path, cycles: int) -> None:
    rng = random.Random(99)
    proc = ServerProcess(tmp_path / "data").start()
    models = [ClientModel(base=c * IDS_PER_CLIENT) for c in range(CLIENTS)]
    try:
        with httpx.Client(base_url=proc.url, timeout=60) as http:
            create(http, NAME, DIM)
            for key, schema in INDEXES_USUAL.items():
                create_index(http, NAME, key, schema)
        # a clean restart first, so that index files exist and later restarts load them
        # and catch them up from the log
        _restart(proc, kill=False).close()
        tags = [0]
        last = cycles - 1
        for cycle in range(cycles):
            async with trio.open_nursery() as nursery:
                for model in models:
                    nursery.start_soon(_writer, proc.url, model, random.Random(rng.random()), tags)
                await trio.sleep(rng.uniform(0.5, 1.5))
                with trio.move_on_after(30):  # make sure each cycle acknowledges something
                    while sum(m.acked for m in models) < MIN_ACKS:  # noqa: ASYNC110
                        await trio.sleep(0.05)
                if cycle < last:
                    proc.kill()
                else:  # the last cycle ends with a clean stop under load
                    assert await trio.to_thread.run_sync(proc.stop) == 0
            acked = sum(m.acked for m in models)
            assert acked >= MIN_ACKS, f"cycle {cycle}: only {acked} operations acknowledged"
            for model in models:
                assert all(code >= 500 for code in model.refused), model.refused
                assert cycle == last or not model.refused, model.refused
                model.refused.clear()
                model.acked = 0
            proc.start()
            proc.wait_ready()
            with httpx.Client(base_url=proc.url, timeout=60) as http:
                actual = scroll_all(http, NAME)
                _reconcile(models, actual)
                assert actual
                _check(http, actual, INDEXES_USUAL)
    finally:
        proc.kill()


# --- builds interrupted by kill -9 ---------------------------------------------------------------


@pytest.mark.parametrize("delay", [0.0, 0.3])
def test_index_killed_before_or_while_building_is_rebuilt(tmp_path: Path, delay: float) -> None:
    proc = ServerProcess(tmp_path / "data").start()
    try:
        with httpx.Client(base_url=proc.url, timeout=60) as http:
            create(http, NAME, DIM)
            points = _fill(http, 6_000, 3)
            # declared (durably) without waiting for the build, then killed
            for key in ("s", "i", "d"):
                ok(
                    http.put(
                        f"/collections/{NAME}/index",
                        json={"field_name": key, "field_schema": INDEXES_USUAL[key]},
                    )
                )
        time.sleep(delay)
        with _restart(proc, kill=True) as http:
            _check(http, points, {k: INDEXES_USUAL[k] for k in ("s", "i", "d")})
    finally:
        proc.kill()


# --- damaged index files and dropped indexes -----------------------------------------------------


def test_damaged_index_files_are_rebuilt(tmp_path: Path) -> None:
    data = tmp_path / "data"
    proc = ServerProcess(data).start()
    try:
        with httpx.Client(base_url=proc.url, timeout=60) as http:
            create(http, NAME, DIM)
            points = _fill(http, 600, 4)
            for key, schema in INDEXES_USUAL.items():
                create_index(http, NAME, key, schema)
        assert proc.stop() == 0
        files = _index_files(data)
        assert len(files) == len(INDEXES_USUAL)
        rng = random.Random(5)
        for n, path in enumerate(files):
            raw = bytearray(path.read_bytes())
            if n % 3 == 0:
                for at in rng.sample(range(len(raw)), 8):  # flip bytes anywhere
                    raw[at] ^= 0xFF
            elif n % 3 == 1:
                raw = raw[: len(raw) // 2]  # torn
            else:
                raw[len(raw) // 2] ^= 0x01  # one bit in the middle
            path.write_bytes(bytes(raw))
        proc.start()
        proc.wait_ready()
        with httpx.Client(base_url=proc.url, timeout=60) as http:
            _check(http, points, INDEXES_USUAL)
            more = _fill(http, 40, 5)
            points.update(more)
            _check(http, points, INDEXES_USUAL)
        # and the rebuilt indexes are written again at the next clean stop
        with _restart(proc, kill=False) as http:
            _check(http, points, INDEXES_USUAL)
    finally:
        proc.kill()


@pytest.mark.parametrize("kill", [False, True])
def test_dropped_index_stays_dropped(tmp_path: Path, kill: bool) -> None:
    data = tmp_path / "data"
    proc = ServerProcess(data).start()
    try:
        with httpx.Client(base_url=proc.url, timeout=60) as http:
            create(http, NAME, DIM)
            points = _fill(http, 300, 6)
            for key in ("s", "f", "b"):
                create_index(http, NAME, key, INDEXES_USUAL[key])
        with _restart(proc, kill=False) as http:  # index files written
            assert len(_index_files(data)) == 3
            ok(http.delete(f"/collections/{NAME}/index/f", params={"wait": "true"}))
            ok(http.delete(f"/collections/{NAME}/index/b", params={"wait": "true"}))
            _check(http, points, {"s": "keyword"})
        with _restart(proc, kill=kill) as http:
            _check(http, points, {"s": "keyword"})
            assert "f" not in ok(http.get(f"/collections/{NAME}"))["payload_schema"]
        assert len(_index_files(data)) == 1  # the dropped indexes' files are gone
    finally:
        proc.kill()
