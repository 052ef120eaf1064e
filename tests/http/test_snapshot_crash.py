"""A server that dies (as kill -9 leaves it) at each step of taking or restoring a snapshot:
after a restart every archive on disk verifies whole, nothing half-made is left, the source
collection is intact, and the restored collection is absent or complete
(tests/http/snapshot_child.py holds the crash points)."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import httpx
import pytest

from zoro.storage import snapshots
from zoro.testing import ServerProcess

if TYPE_CHECKING:
    from pathlib import Path

POINTS = 500


def _count(http: httpx.Client, name: str) -> int | None:
    r = http.post(f"/collections/{name}/points/count", json={"exact": True})
    if r.status_code == 404:
        return None
    assert r.status_code == 200, r.text
    return int(r.json()["result"]["count"])


def _seeded(data: Path) -> str:
    """Collection c with POINTS points and one snapshot of it; returns the snapshot's name."""
    rng = random.Random(14)
    with ServerProcess(data) as proc, httpx.Client(base_url=proc.url, timeout=60) as http:
        r = http.put("/collections/c", json={"vectors": {"size": 8, "distance": "Dot"}})
        assert r.status_code == 200, r.text
        points = [
            {"id": i, "vector": [rng.random() for _ in range(8)], "payload": {"i": i}}
            for i in range(POINTS)
        ]
        r = http.put("/collections/c/points?wait=true", json={"points": points})
        assert r.status_code == 200, r.text
        return str(http.post("/collections/c/snapshots").json()["result"]["name"])


@pytest.mark.parametrize(
    "step",
    [
        # the debris a crash leaves mid-snapshot is the same after the links as before the
        # rename: the default run takes the later one, -m slow both
        pytest.param("after_link", marks=pytest.mark.slow),
        "before_rename",
        "mid_unpack",
    ],
)
def test_a_crash_inside_a_snapshot_leaves_whole_states(tmp_path: Path, step: str) -> None:
    data = tmp_path / "data"
    first = _seeded(data)
    child = ServerProcess(
        data, module="tests.http.snapshot_child", env={"ZORO_TEST_CRASH_AT": step}
    )
    child.start()
    try:
        # /healthz answers before c has recovered; a request then is answered 503 (recovering)
        # and never reaches the crash point
        child.wait_ready()
        if step == "mid_unpack":
            call = ("PUT", "/collections/copy/snapshots/recover", {"location": f"c/{first}"})
        else:
            call = ("POST", "/collections/c/snapshots", None)
        with httpx.Client(base_url=child.url, timeout=60) as http, pytest.raises(httpx.HTTPError):
            http.request(call[0], call[1], json=call[2])
        assert child.process is not None
        assert child.process.wait(30) == 9  # it died where it was told to
    finally:
        child.kill()
    archives = data / "snapshots" / "c"
    with ServerProcess(data) as again, httpx.Client(base_url=again.url, timeout=60) as http:
        again.wait_ready()
        assert _count(http, "c") == POINTS
        assert _count(http, "copy") is None  # a half-restored collection is rolled back
        assert sorted(p.name for p in archives.iterdir()) == [first, first + ".checksum"]
        snapshots.verify(archives / first)
        # and both work again
        assert http.post("/collections/c/snapshots").status_code == 200
        r = http.put("/collections/copy/snapshots/recover", json={"location": f"c/{first}"})
        assert r.status_code == 200, r.text
        assert _count(http, "copy") == POINTS
