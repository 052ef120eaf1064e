"""The torture workload and its model: what the server was asked, and what it acknowledged.

Writers each own a range of point ids in one of the stable collections, and send one operation
at a time (upserts in both request forms, deletes by ids, deletes by a filter that only matches
their own points), so that per id the order is known. An admin task creates, fills and deletes
scratch collections and creates and drops payload indexes; a compacting task asks for one
compaction of a stable collection after another, so power is often cut inside one (a
compaction is not an acknowledged operation: the points it moves are the writers').
Every operation is recorded as acknowledged (a 200 came back) or in flight (no answer when
the server died): after a restart the acknowledged ones must all be there and each in-flight
one wholly there or wholly absent.

A point's vector and payload are both made from its (id, tag): a point that mixes two versions,
or that lost one of the two, is caught (`point_tag`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import httpx
import trio

DIM = 8
STABLE = ("a", "b")
WRITERS_PER_COLLECTION = 3
IDS_PER_WRITER = 150
GROUPS = 4  # payload "g" = tag % GROUPS, the field that deletes by filter and indexes use
INDEXED_FIELDS = ("g", "c")


class Violation(AssertionError):
    """The server broke a durability promise (not a harness or environment problem)."""


def vector(point_id: int, tag: int) -> list[float]:
    """Unique per (id, tag) up to tag 2**18, with small components: float32 distances stay
    exact enough to tell one version of a point from another."""
    parts = (tag % 64, tag // 64 % 64, tag // 4096 % 64, point_id % 64, point_id // 64, tag % 7)
    return [float(x) for x in (*parts, 1, 2)]


def payload(writer: int, tag: int) -> dict[str, Any]:
    return {"c": writer, "t": tag, "g": tag % GROUPS, "pad": "x" * (tag % 97)}


def point_tag(point: dict[str, Any], writer: int) -> int:
    """The tag a retrieved point was written with; Violation if its parts disagree."""
    body = point.get("payload") or {}
    tag = body.get("t")
    if not isinstance(tag, int) or body != payload(writer, tag):
        raise Violation(f"point {point['id']}: payload {body} is not one this writer wrote")
    if point.get("vector") != vector(point["id"], tag):
        raise Violation(
            f"point {point['id']}: vector {point.get('vector')} is not that of tag {tag}"
        )
    return tag


# ---------------------------------------------------------------------- operations


@dataclass(frozen=True)
class Upsert:
    ids: tuple[int, ...]
    tag: int
    batch_form: bool


@dataclass(frozen=True)
class Delete:
    ids: tuple[int, ...]


@dataclass(frozen=True)
class DeleteGroup:
    group: int  # delete this writer's points whose payload g == group (a filter)


PointOp = Upsert | Delete | DeleteGroup


def applied(state: dict[int, int], op: PointOp) -> dict[int, int]:
    """id -> tag after `op`."""
    out = dict(state)
    if isinstance(op, Upsert):
        out.update(dict.fromkeys(op.ids, op.tag))
    elif isinstance(op, Delete):
        for i in op.ids:
            out.pop(i, None)
    else:
        out = {i: t for i, t in out.items() if t % GROUPS != op.group}
    return out


@dataclass
class Writer:
    number: int
    collection: str
    base: int
    state: dict[int, int] = field(default_factory=dict)  # acknowledged: id -> tag
    in_flight: PointOp | None = None
    acked: int = 0
    history: list[tuple[int, PointOp]] = field(default_factory=list)

    @property
    def ids(self) -> range:
        return range(self.base, self.base + IDS_PER_WRITER)

    def next_op(self, rng: random.Random, tag: int) -> PointOp:
        roll = rng.random()
        if roll < 0.12:
            return Delete(tuple(sorted(rng.sample(self.ids, rng.randint(1, 10)))))
        if roll < 0.18:
            return DeleteGroup(rng.randrange(GROUPS))
        size = rng.randint(40, IDS_PER_WRITER) if roll > 0.95 else rng.randint(1, 12)
        ids = tuple(sorted(rng.sample(self.ids, size)))
        return Upsert(ids, tag, batch_form=rng.random() < 0.3)

    async def send(self, http: httpx.AsyncClient, op: PointOp) -> httpx.Response:
        where = f"/collections/{self.collection}/points"
        wait = {"wait": "true"}
        if isinstance(op, Upsert):
            if op.batch_form:
                batch = {
                    "ids": list(op.ids),
                    "vectors": [vector(i, op.tag) for i in op.ids],
                    "payloads": [payload(self.number, op.tag)] * len(op.ids),
                }
                return await http.put(where, params=wait, json={"batch": batch})
            points = [
                {"id": i, "vector": vector(i, op.tag), "payload": payload(self.number, op.tag)}
                for i in op.ids
            ]
            return await http.put(where, params=wait, json={"points": points})
        if isinstance(op, Delete):
            return await http.post(where + "/delete", params=wait, json={"points": list(op.ids)})
        must = [{"key": "c", "match": {"value": self.number}}]
        must.append({"key": "g", "match": {"value": op.group}})
        return await http.post(where + "/delete", params=wait, json={"filter": {"must": must}})

    def settle(self, found: dict[int, int]) -> None:
        """Adopt what the server holds after a restart, or raise Violation."""
        if found != self.state:
            after = applied(self.state, self.in_flight) if self.in_flight else None
            if found != after:
                raise Violation(
                    f"writer {self.number} in `{self.collection}`: "
                    f"{_diff(self.state, found, after)} (in flight: {self.in_flight}); "
                    f"{self._story(found)}"
                )
            self.state = found
        self.in_flight = None

    def acknowledge(self, op: PointOp, cycle: int) -> None:
        self.state = applied(self.state, op)
        self.in_flight = None
        self.acked += 1
        self.history.append((cycle, op))
        del self.history[:-HISTORY]

    def _story(self, found: dict[int, int]) -> str:
        """The acknowledged operations behind the first few points that differ."""
        differ = sorted(
            i for i in set(found) | set(self.state) if found.get(i) != self.state.get(i)
        )
        lines = []
        for i in differ[:3]:
            ops = [(c, op) for c, op in self.history if _touches(op, i)]
            lines.append(
                f"point {i}: expected tag {self.state.get(i)}, found {found.get(i)}; "
                f"acknowledged ops on it (cycle, op): {ops[-4:]}"
            )
        return " | ".join(lines)


HISTORY = 400  # acknowledged operations kept per writer, to explain a violation


def _touches(op: PointOp, point_id: int) -> bool:
    if isinstance(op, Upsert | Delete):
        return point_id in op.ids
    return True  # a delete by filter may have touched any of the writer's points


def _diff(expected: dict[int, int], found: dict[int, int], after: dict[int, int] | None) -> str:
    lost = sorted(i for i in expected if found.get(i) != expected[i])
    extra = sorted(i for i in found if i not in expected)
    parts = [f"{len(lost)} acknowledged points lost or changed (e.g. {lost[:5]})"] if lost else []
    if extra:
        parts.append(f"{len(extra)} points that no acknowledged write left (e.g. {extra[:5]})")
    if after is not None:
        half = sorted(i for i in set(after) | set(found) if after.get(i) != found.get(i))
        parts.append(f"not the in-flight write applied either ({len(half)} points differ)")
    return "; ".join(parts) or "states differ"


# ---------------------------------------------------------------------- collections, indexes


@dataclass
class Admin:
    """Scratch collections (created, filled, deleted) and payload indexes on the stable ones."""

    scratch: dict[str, bool] = field(default_factory=dict)  # name -> exists (acknowledged)
    filled: set[str] = field(default_factory=set)  # scratch ones whose upsert was acknowledged
    indexes: dict[str, set[str]] = field(default_factory=lambda: {c: set() for c in STABLE})
    in_flight: tuple[str, str, str] | None = None  # (verb, collection, field)
    made: int = 0
    acked: int = 0

    def next_op(self, rng: random.Random) -> tuple[str, str, str]:
        existing = sorted(n for n, e in self.scratch.items() if e)
        roll = rng.random()
        if roll < 0.35 and len(existing) < 3:
            self.made += 1
            return ("create", f"s{self.made}", "")
        if roll < 0.55 and existing:
            unfilled = [n for n in existing if n not in self.filled]
            if unfilled:
                return ("fill", rng.choice(unfilled), "")
        if roll < 0.7 and existing:
            return ("delete", rng.choice(existing), "")
        collection, key = rng.choice(STABLE), rng.choice(INDEXED_FIELDS)
        verb = "unindex" if key in self.indexes[collection] and rng.random() < 0.4 else "index"
        return (verb, collection, key)

    async def send(self, http: httpx.AsyncClient, op: tuple[str, str, str]) -> httpx.Response:
        verb, name, key = op
        where = f"/collections/{name}"
        if verb == "create":
            return await http.put(where, json={"vectors": {"size": DIM, "distance": "Dot"}})
        if verb == "fill":
            points = [{"id": i, "vector": vector(i, 1), "payload": {"s": name}} for i in range(5)]
            return await http.put(
                where + "/points", params={"wait": "true"}, json={"points": points}
            )
        if verb == "delete":
            return await http.delete(where)
        if verb == "index":
            return await http.put(
                where + "/index", json={"field_name": key, "field_schema": "integer"}
            )
        return await http.delete(f"{where}/index/{key}")

    def acknowledge(self, op: tuple[str, str, str]) -> None:
        verb, name, key = op
        if verb == "create":
            self.scratch[name] = True
        elif verb == "fill":
            self.filled.add(name)
        elif verb == "delete":
            self.scratch[name] = False
            self.filled.discard(name)
        elif verb == "index":
            self.indexes[name].add(key)
        else:
            self.indexes[name].discard(key)

    def settle(self, collections: set[str], schemas: dict[str, set[str]], filled: set[str]) -> None:
        """Adopt what the server holds after a restart, or raise Violation."""
        op = self.in_flight
        self.in_flight = None
        expected = {n for n, e in self.scratch.items() if e} | set(STABLE)
        found_scratch = collections - set(STABLE)
        if (
            op is not None
            and op[0] in ("create", "delete")
            and (op[1] in collections) != (op[1] in expected)
        ):
            self.acknowledge(op)  # the in-flight create or delete happened
            expected ^= {op[1]}
            op = None
        if collections != expected:
            lost = sorted(expected - collections)
            raise Violation(
                f"collections {lost} acknowledged as created are missing; "
                f"{sorted(collections - expected)} acknowledged as deleted (or never made) exist"
            )
        for name in found_scratch:
            if name in self.filled and name not in filled:
                if op == ("fill", name, ""):
                    continue
                raise Violation(f"scratch collection `{name}` lost its acknowledged points")
            if name in filled and name not in self.filled:
                if op != ("fill", name, ""):
                    raise Violation(f"scratch collection `{name}` holds points never written")
                self.acknowledge(op)
        for collection in STABLE:
            want, got = self.indexes[collection], schemas[collection]
            if got != want:
                if op is not None and op[1] == collection and op[0] in ("index", "unindex"):
                    self.acknowledge(op)
                    want = self.indexes[collection]
                if got != want:
                    raise Violation(
                        f"`{collection}` has payload indexes {sorted(got)}, "
                        f"acknowledged: {sorted(want)}"
                    )


# ---------------------------------------------------------------------- running it


@dataclass
class Workload:
    seed: int
    writers: list[Writer] = field(default_factory=list)
    admin: Admin = field(default_factory=Admin)
    tag: int = 0
    cycle: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        number = 0
        for collection in STABLE:
            for _ in range(WRITERS_PER_COLLECTION):
                self.writers.append(Writer(number, collection, number * IDS_PER_WRITER))
                number += 1

    def acked(self) -> int:
        return sum(w.acked for w in self.writers) + self.admin.acked

    async def next_ack(self) -> None:
        """Wait for the next acknowledgement (inside `run`)."""
        await self._ack.wait()

    def _note_ack(self) -> None:
        self._ack.set()
        self._ack = trio.Event()

    async def run(self, url: str, until: trio.Event) -> None:
        """Send operations until the server dies (or `until` is set)."""
        self._ack = trio.Event()
        async with trio.open_nursery() as nursery:
            for writer in self.writers:
                nursery.start_soon(self._write, url, writer, random.Random(self.rng.random()))
            nursery.start_soon(self._administer, url, random.Random(self.rng.random()))
            nursery.start_soon(self._compact, url, random.Random(self.rng.random()))
            await until.wait()
            nursery.cancel_scope.cancel()

    async def _write(self, url: str, writer: Writer, rng: random.Random) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            while True:
                self.tag += 1
                op = writer.next_op(rng, self.tag)
                writer.in_flight = op
                try:
                    r = await writer.send(http, op)
                except httpx.TransportError:
                    return  # the server died: this op stays in flight
                if r.status_code != 200:
                    raise Violation(f"writer {writer.number}: {op} -> {r.status_code} {r.text}")
                writer.acknowledge(op, self.cycle)
                self._note_ack()

    async def _compact(self, url: str, rng: random.Random) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            while True:
                await trio.sleep(rng.uniform(0.05, 0.3))
                try:
                    await http.post(f"/collections/{rng.choice(STABLE)}/compact")
                except httpx.TransportError:
                    return

    async def _administer(self, url: str, rng: random.Random) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            while True:
                await trio.sleep(rng.uniform(0.02, 0.2))
                op = self.admin.next_op(rng)
                self.admin.in_flight = op
                try:
                    r = await self.admin.send(http, op)
                except httpx.TransportError:
                    return
                if r.status_code != 200:
                    raise Violation(f"admin: {op} -> {r.status_code} {r.text}")
                self.admin.acknowledge(op)
                self.admin.in_flight = None
                self.admin.acked += 1
                self._note_ack()
