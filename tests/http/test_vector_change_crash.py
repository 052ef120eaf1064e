"""A crash at each step of adding or dropping a vector (PUT / DELETE /collections/{c}/vectors/
{name}), then a restart: the collection comes back whole, with the old vectors or the new ones,
never a mix, and every acknowledged point is there with its vectors.

The server that crashes is tests/http/vector_change_child.py: `zoro serve` that calls os._exit
at the chosen step (what kill -9 leaves: no drain, no close, no checkpoint)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from zoro import checked_json
from zoro.testing import ServerProcess, free_port

N = 40


def _vectors(i: int) -> dict[str, Any]:
    out: dict[str, Any] = {"a": [float(i), 1.0, 0.5]}
    if i % 3:
        out["b"] = [float(i % 7), -1.0]
    return out


def _start_child(data_dir: Path, step: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = (data_dir.parent / f"child-{step}.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.http.vector_change_child", "serve", "--data-dir",
         str(data_dir), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"],  # the crash is patched into this process only
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "ZORO_TEST_CRASH_AT": step},
    )  # fmt: skip
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "the child server exited at start"
        try:
            if httpx.get(url + "/healthz", timeout=1.0).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.02)
    process.kill()
    raise AssertionError("the child server did not start")


def _check_points(http: httpx.Client, names: set[str]) -> None:
    r = http.post("/collections/c/points/scroll", json={"limit": 1000, "with_vector": True})
    assert r.status_code == 200, r.text
    points = {p["id"]: p for p in r.json()["result"]["points"]}
    assert sorted(points) == list(range(N))
    for i, point in points.items():
        expected = {k: v for k, v in _vectors(i).items() if k in names}
        kept = {k: v for k, v in point["vector"].items() if k in names}
        assert kept == expected, i
        assert set(point["vector"]) - names <= {"new"}
        assert point["payload"] == {"i": i}


def _collection_dir(data_dir: Path) -> Path:
    doc = checked_json.read(data_dir / "catalog")
    entries = doc["collections"]
    assert isinstance(entries, list)
    return data_dir / "collections" / entries[0]["id"]


@pytest.mark.parametrize(
    ("step", "change"),
    [
        ("before_catalog", "add"),
        ("after_catalog", "add"),
        ("reopen_add", "add"),
        ("before_catalog", "drop"),
        ("after_catalog", "drop"),
        ("reopen_drop", "drop"),
    ],
)
def test_a_crash_while_changing_vectors_leaves_old_or_new(
    tmp_path: Path, step: str, change: str
) -> None:
    data_dir = tmp_path / "data"
    child, url = _start_child(data_dir, step)
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            vectors = {"a": {"size": 3, "distance": "Dot"}, "b": {"size": 2, "distance": "Euclid"}}
            assert http.put("/collections/c", json={"vectors": vectors}).status_code == 200
            points = [{"id": i, "vector": _vectors(i), "payload": {"i": i}} for i in range(N)]
            r = http.put("/collections/c/points?wait=true", json={"points": points})
            assert r.status_code == 200, r.text
            if change == "add":
                params = {"dense": {"size": 4, "distance": "Dot"}}
                request = http.build_request("PUT", "/collections/c/vectors/new", json=params)
            else:
                request = http.build_request("DELETE", "/collections/c/vectors/b")
            with pytest.raises(httpx.TransportError):
                http.send(request)
        assert child.wait(timeout=30) == 9
    finally:
        child.kill()
        child.wait()
    directory = _collection_dir(data_dir)
    changed = step != "before_catalog"
    names = {"a", "b"} if change == "add" or not changed else {"a"}
    for restart in range(2):  # once after the crash, once more after a clean stop
        with (
            ServerProcess(data_dir) as server,
            httpx.Client(base_url=server.url, timeout=30) as http,
        ):
            server.wait_ready()
            info = http.get("/collections/c").json()["result"]
            declared = set(info["config"]["params"]["vectors"])
            assert declared == names | ({"new"} if change == "add" and changed else set())
            _check_points(http, names)
            if change == "drop" and changed:
                assert not (directory / "source" / "vectors.1").exists()
                assert not (directory / "source" / "present.1").exists()
                r = http.post("/collections/c/points/query", json={"query": [1, 1], "using": "b"})
                assert r.status_code == 400
            if change == "add" and changed and restart == 0:
                # no old point carries it; a new one can, and search by it finds only that one
                r = http.post(
                    "/collections/c/points/query", json={"query": [1, 0, 0, 0], "using": "new"}
                )
                assert r.json()["result"]["points"] == []
                r = http.put(
                    "/collections/c/points/vectors?wait=true",
                    json={"points": [{"id": 5, "vector": {"new": [1, 2, 3, 4]}}]},
                )
                assert r.status_code == 200, r.text
            if change == "add" and changed:
                r = http.post(
                    "/collections/c/points/query", json={"query": [1, 0, 0, 0], "using": "new"}
                )
                assert [p["id"] for p in r.json()["result"]["points"]] == [5]
            r = http.post("/collections/c/points/query", json={"query": [1, 0, 0], "using": "a"})
            assert [p["id"] for p in r.json()["result"]["points"]][:3] == [39, 38, 37]
