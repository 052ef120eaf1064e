"""A real server that dies during a compaction: after a restart the collection is in exactly one
file generation, whole, holding every acknowledged write.

Two harnesses:
* a crash at each step of a compaction (tests/durability/compaction_child.py holds the steps),
  on a collection at rest: the restart must give back exactly what was written;
* kill -9 at random moments while writers run and compactions follow one another: every
  acknowledged write must be there. The default run does 3 cycles; `-m torture` does 40.
"""

from __future__ import annotations

import random
import shutil
import threading
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from zoro.testing import ServerProcess

if TYPE_CHECKING:
    from pathlib import Path

DIM = 8
POINTS = 6000  # two copy chunks of live slots (mid_copy dies in the second)
CONFIG = {"vectors": {"size": DIM, "distance": "Euclid"}}
NO_AUTOMATIC = ("--set", "storage.compaction_garbage_ratio=0")


def _vector(i: int, version: int) -> list[float]:
    rng = random.Random(i * 1_000_003 + version)
    return [round(rng.uniform(-1, 1), 4) for _ in range(DIM)]


def _point(i: int, version: int) -> dict[str, Any]:
    return {"id": i, "vector": _vector(i, version), "payload": {"v": version, "g": i % 7}}


def _put(http: httpx.Client, points: list[dict[str, Any]]) -> None:
    r = http.put("/collections/c/points?wait=true", json={"points": points})
    assert r.status_code == 200, r.text


def _everything(http: httpx.Client) -> dict[int, tuple[list[float], dict[str, Any]]]:
    """Every point's vector and payload."""
    out: dict[int, tuple[list[float], dict[str, Any]]] = {}
    offset = None
    for _ in range(100):
        body: dict[str, Any] = {"limit": 5000, "with_vector": True, "with_payload": True}
        if offset is not None:
            body["offset"] = offset
        r = http.post("/collections/c/points/scroll", json=body)
        assert r.status_code == 200, r.text
        page = r.json()["result"]
        for p in page["points"]:
            out[p["id"]] = (p["vector"], p["payload"])
        offset = page["next_page_offset"]
        if offset is None:
            return out
    raise AssertionError("scroll did not end")


def _seeded(data: Path) -> dict[int, int]:
    """Collection c: POINTS points, half written twice, every tenth deleted, a payload index
    on g. Returns each live point's version."""
    with (
        ServerProcess(data, extra_args=NO_AUTOMATIC) as proc,
        httpx.Client(base_url=proc.url, timeout=60) as http,
    ):
        assert http.put("/collections/c", json=CONFIG).status_code == 200
        r = http.put(
            "/collections/c/index?wait=true", json={"field_name": "g", "field_schema": "integer"}
        )
        assert r.status_code == 200, r.text
        _put(http, [_point(i, 1) for i in range(POINTS)])
        _put(http, [_point(i, 2) for i in range(0, POINTS, 2)])
        doomed = list(range(0, POINTS, 10))
        r = http.post("/collections/c/points/delete?wait=true", json={"points": doomed})
        assert r.status_code == 200, r.text
    return {i: 2 if i % 2 == 0 else 1 for i in range(POINTS) if i % 10}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[int, int]]:
    """One seeded data directory for the module (each test works on a copy of it)."""
    data = tmp_path_factory.mktemp("seeded") / "data"
    return data, _seeded(data)


def _copy_of(seeded: tuple[Path, dict[int, int]], tmp_path: Path) -> tuple[Path, dict[int, int]]:
    source, versions = seeded
    data = tmp_path / "data"
    shutil.copytree(source, data)
    return data, dict(versions)


def _check(http: httpx.Client, versions: dict[int, int]) -> None:
    got = _everything(http)
    assert sorted(got) == sorted(versions)
    for i, version in versions.items():
        vector, payload = got[i]
        assert payload == {"v": version, "g": i % 7}, i
        assert vector == pytest.approx(_vector(i, version), abs=1e-6), i
    # the payload index answers as the payloads do
    r = http.post(
        "/collections/c/points/count",
        json={"filter": {"must": [{"key": "g", "match": {"value": 3}}]}, "exact": True},
    )
    assert r.json()["result"]["count"] == sum(1 for i in versions if i % 7 == 3)


def _generations(data: Path) -> set[str]:
    """The file generations on disk: "source" (generation 0) and "files.<k>"."""
    (collection,) = (data / "collections").iterdir()
    return {
        p.name for p in collection.iterdir() if p.name == "source" or p.name.startswith("files.")
    }


@pytest.mark.parametrize(
    ("step", "generation"),
    [("mid_copy", 0), ("before_meta", 0), ("after_meta", 1), ("before_debris", 1)],
)
def test_a_crash_at_each_step_of_a_compaction_leaves_one_whole_generation(
    tmp_path: Path, seeded: tuple[Path, dict[int, int]], step: str, generation: int
) -> None:
    data, versions = _copy_of(seeded, tmp_path)
    child = ServerProcess(
        data,
        module="tests.durability.compaction_child",
        env={"ZORO_TEST_CRASH_AT": step},
        extra_args=NO_AUTOMATIC,
    ).start()
    try:
        child.wait_ready()
        with pytest.raises(httpx.TransportError):
            httpx.post(f"{child.url}/collections/c/compact", timeout=60)
        assert child.process is not None
        assert child.process.wait(timeout=30) == 9
    finally:
        child.kill()
    with (
        ServerProcess(data, extra_args=NO_AUTOMATIC) as proc,
        httpx.Client(base_url=proc.url, timeout=60) as http,
    ):
        proc.wait_ready()
        info = http.get("/collections/c").json()["result"]
        assert info["zoro"]["storage"]["file_generation"] == generation
        assert _generations(data) == {"source" if generation == 0 else "files.1"}
        _check(http, versions)
        # and the next compaction runs to its end
        r = http.post("/collections/c/compact")
        assert r.status_code == 200, r.text
        assert r.json()["result"]["slots_after"] == len(versions) + 1
        _check(http, versions)
    assert _generations(data) == {f"files.{generation + 1}"}


def _kill_cycles(
    tmp_path: Path, seeded: tuple[Path, dict[int, int]], cycles: int, seed: int
) -> None:
    data, versions = _copy_of(seeded, tmp_path)
    rng = random.Random(seed)
    attempted: dict[int, set[int]] = {i: set() for i in range(POINTS)}  # unacknowledged versions
    version = 10
    lock = threading.Lock()
    for cycle in range(cycles):
        proc = ServerProcess(
            data,
            # paced, so that the kill often lands inside a copy; no automatic trigger, the
            # compacting thread asks for one compaction after another
            extra_args=(*NO_AUTOMATIC, "--set", "storage.compaction_bytes_per_s=300000"),
        ).start()
        stop = threading.Event()

        def writer(
            first_version: int, mine: list[int], proc: ServerProcess = proc, stop: Any = stop
        ) -> None:
            """Writes its own ids only: the order of two writers' answers to one id is not the
            order they were applied in."""
            own = first_version
            with httpx.Client(base_url=proc.url, timeout=30) as http:
                while not stop.is_set():
                    ids = rng.sample(mine, 40)
                    own += 1
                    with lock:
                        for i in ids:
                            attempted[i].add(own)
                    try:
                        _put(http, [_point(i, own) for i in ids])
                    except AssertionError:  # refused (503 while it reopens, say): not acked
                        time.sleep(0.05)
                        continue
                    except httpx.TransportError:
                        return
                    with lock:
                        for i in ids:
                            versions[i] = own
                            attempted[i].discard(own)

        def compacter(proc: ServerProcess = proc, stop: Any = stop) -> None:
            with httpx.Client(base_url=proc.url, timeout=60) as http:
                while not stop.is_set():
                    try:
                        http.post("/collections/c/compact")
                    except httpx.TransportError:
                        return

        proc.wait_ready()
        threads = [
            threading.Thread(
                target=writer,
                args=(version + 1_000_000 * k, list(range(k, POINTS, 2))),
                daemon=True,
            )
            for k in range(2)
        ] + [threading.Thread(target=compacter, daemon=True)]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.3, 2.0))
        proc.kill()
        stop.set()
        for t in threads:
            t.join(timeout=30)
        version += 10_000_000
        with (
            ServerProcess(data, extra_args=NO_AUTOMATIC) as again,
            httpx.Client(base_url=again.url, timeout=60) as http,
        ):
            again.wait_ready()
            got = _everything(http)
            for i, acknowledged in versions.items():
                assert i in got, (cycle, i)
                found = got[i][1]["v"]
                # the acknowledged version, or one sent after it that was never answered
                assert found == acknowledged or found in attempted[i], (cycle, i, found)
                versions[i] = found
                attempted[i].clear()
            assert len(_generations(data)) == 1, _generations(data)


def test_kill_9_during_compactions_under_writes_loses_no_acknowledged_write(
    tmp_path: Path, seeded: tuple[Path, dict[int, int]]
) -> None:
    _kill_cycles(tmp_path, seeded, 3, seed=1)


@pytest.mark.torture
def test_kill_9_during_compactions_torture(
    tmp_path: Path, seeded: tuple[Path, dict[int, int]]
) -> None:
    _kill_cycles(tmp_path, seeded, 40, seed=2)
