"""Crash safety with real processes: SIGKILL at random moments, reopen, check every acked write.

The default run does 10 kill cycles per test, `pytest -m slow` 25 (the former default) and
`pytest -m torture` 1,000.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson
import pytest

from tests.durability.crash_child import DIM, SETTINGS, payload_for, vector_for
from zoro.actors.recovery import open_durable
from zoro.storage import Catalog, CollectionStore
from zoro.types import int_keys

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Child:
    """A crash_child process whose stdout lines are collected by a reader thread."""

    process: subprocess.Popen[bytes]
    lines: list[dict[str, object]] = field(default_factory=list)
    reader: threading.Thread | None = None

    @classmethod
    def start(cls, mode: str, directory: Path, seed: int) -> Child:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.durability.crash_child", mode, str(directory), str(seed)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        child = cls(process)
        child.reader = threading.Thread(target=child._read, daemon=True)
        child.reader.start()
        return child

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            if raw.endswith(b"\n"):
                self.lines.append(orjson.loads(raw))

    def kill_after(self, acks: int, timeout_s: float = 30.0) -> list[dict[str, object]]:
        deadline = time.monotonic() + timeout_s
        while sum(1 for x in self.lines if x["event"] == "ack") < acks:
            if self.process.poll() is not None:
                assert self.process.stderr is not None
                raise AssertionError(f"child died: {self.process.stderr.read().decode()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError("child made no progress")
            time.sleep(0.001)
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()
        assert self.reader is not None
        self.reader.join()  # it has taken every complete line once the pipe closes
        for pipe in (self.process.stdout, self.process.stderr):
            assert pipe is not None
            pipe.close()
        return list(self.lines)


def _kill_points(rng: random.Random) -> Iterator[int]:
    while True:
        yield rng.choice([0, 1, 2, 5, 20, 60])


# ------------------------------------------------------------------------------ store + WAL


def _apply(model: dict[int, int | None], line: dict[str, object]) -> None:
    tag = int(line["tag"])  # type: ignore[call-overload]
    for i in line["ids"]:  # type: ignore[attr-defined]
        model[i] = None if line["kind"] == "delete" else tag


def _state_matches(store: CollectionStore, model: dict[int, int | None], ids: list[int]) -> bool:
    records = store.get(
        int_keys(np.array(ids, dtype=np.uint64)), with_vector=True, with_payload=True
    )
    for point_id, record in zip(ids, records, strict=True):
        tag = model.get(point_id)
        if tag is None:
            if record is not None:
                return False
            continue
        if record is None or record.payload != payload_for(point_id, tag):
            return False
        if not np.array_equal(record.vector, vector_for(point_id, tag)):
            return False
    return True


def _run_store_crashes(tmp_path: Path, cycles: int) -> None:
    directory = tmp_path / "coll"
    CollectionStore.create(directory, DIM, SETTINGS.storage).close()
    rng = random.Random(99)
    model: dict[int, int | None] = {}
    kills = _kill_points(rng)
    for cycle in range(cycles):
        lines = Child.start("store", directory, cycle + 1).kill_after(next(kills))
        begun: dict[int, dict[str, object]] = {}
        for line in lines:
            if line["event"] == "begin":
                begun[int(line["tag"])] = line  # type: ignore[call-overload]
            else:
                _apply(model, begun.pop(int(line["tag"])))  # type: ignore[call-overload]
        assert len(begun) <= 1
        durable = open_durable(directory, DIM, SETTINGS)
        try:
            ids = sorted(model)
            in_flight = next(iter(begun.values()), None)
            if in_flight is not None:
                ids = sorted(set(ids) | set(in_flight["ids"]))  # type: ignore[arg-type]
            if _state_matches(durable.store, model, ids):
                pass  # the in-flight write, if any, is wholly absent
            else:
                assert in_flight is not None, f"cycle {cycle}: acknowledged state lost"
                _apply(model, in_flight)
                assert _state_matches(durable.store, model, ids), (
                    f"cycle {cycle}: the in-flight write is half there"
                )
            assert durable.store.live_count() == sum(1 for t in model.values() if t is not None)
        finally:
            durable.close()
    # the comparisons covered points that exist and points that were deleted
    assert any(t is not None for t in model.values()), "no acknowledged upsert was compared"
    assert any(t is None for t in model.values()), "no acknowledged delete was compared"


@pytest.mark.parametrize("cycles", [10, pytest.param(25, marks=pytest.mark.slow)])
def test_store_and_wal_survive_kill_9(tmp_path: Path, cycles: int) -> None:
    _run_store_crashes(tmp_path, cycles)


@pytest.mark.torture
def test_store_and_wal_survive_kill_9_torture(tmp_path: Path) -> None:
    _run_store_crashes(tmp_path, 1000)


# ------------------------------------------------------------------------------ catalog


def _run_catalog_crashes(tmp_path: Path, cycles: int) -> None:
    data = tmp_path / "data"
    rng = random.Random(7)
    live: set[str] = set()
    acked = {"create": 0, "delete": 0}
    kills = _kill_points(rng)
    for cycle in range(cycles):
        lines = Child.start("catalog", data, cycle + 1).kill_after(next(kills))
        in_flight = None
        for line in lines:
            if line["event"] == "begin":
                in_flight = line
                continue
            assert in_flight is not None
            assert in_flight["name"] == line["name"]
            (live.discard if in_flight["kind"] == "delete" else live.add)(str(line["name"]))
            acked["delete" if in_flight["kind"] == "delete" else "create"] += 1
            in_flight = None
        catalog = Catalog.open(data)
        names = {e.name for e in catalog.entries()}
        allowed = {frozenset(live)}
        if in_flight is not None:
            name = str(in_flight["name"])
            allowed.add(
                frozenset(live - {name})
                if in_flight["kind"] == "delete"
                else frozenset(live | {name})
            )
        assert frozenset(names) in allowed, f"cycle {cycle}: catalog {names} vs acked {live}"
        live = names
        dirs = {p.name for p in (data / "collections").iterdir()}
        assert dirs == {e.id for e in catalog.entries()}, "orphaned or missing collection files"
        for entry in catalog.entries():
            CollectionStore.open(catalog.collection_dir(entry), DIM, SETTINGS.storage).close()
    assert min(acked.values()) > 0, f"acknowledged over the run: {acked}"


@pytest.mark.parametrize("cycles", [10, pytest.param(25, marks=pytest.mark.slow)])
def test_catalog_survives_kill_9_during_create_and_delete(tmp_path: Path, cycles: int) -> None:
    _run_catalog_crashes(tmp_path, cycles)


@pytest.mark.torture
def test_catalog_survives_kill_9_torture(tmp_path: Path) -> None:
    _run_catalog_crashes(tmp_path, 1000)
