"""Alias changes survive restarts, and a crash in the middle of one leaves the old set of aliases
or the new one, never a mix: at each step of the catalog write (tests/http/alias_crash_child.py
dies there, as kill -9 would leave it), and at random moments of a stream of changes."""

from __future__ import annotations

import random
import threading
import time
from typing import TYPE_CHECKING

import httpx
import pytest

from zoro.testing import ServerProcess

if TYPE_CHECKING:
    from pathlib import Path

OLD = {"stay": "a", "moving": "a", "leaving": "b"}
# the change: one alias made, one moved, one renamed, one deleted, in one list
ACTIONS = [
    {"create_alias": {"collection_name": "b", "alias_name": "doomed_new"}},
    {"create_alias": {"collection_name": "b", "alias_name": "moving"}},
    {"rename_alias": {"old_alias_name": "stay", "new_alias_name": "stayed"}},
    {"delete_alias": {"alias_name": "leaving"}},
]
NEW = {"stayed": "a", "moving": "b", "doomed_new": "b"}


def _aliases(url: str) -> dict[str, str]:
    r = httpx.get(f"{url}/aliases", timeout=10)
    assert r.status_code == 200, r.text
    return {a["alias_name"]: a["collection_name"] for a in r.json()["result"]["aliases"]}


def _setup(url: str) -> None:
    for name in ("a", "b"):
        r = httpx.put(f"{url}/collections/{name}", json={"vectors": {"size": 2, "distance": "Dot"}})
        assert r.status_code == 200, r.text
    actions = [{"create_alias": {"collection_name": c, "alias_name": a}} for a, c in OLD.items()]
    r = httpx.post(f"{url}/collections/aliases", json={"actions": actions}, timeout=10)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        ("before_write", OLD),
        ("torn_temp", OLD),
        ("before_rename", OLD),
        ("after_rename", NEW),
    ],
)
def test_a_crash_in_the_catalog_write(tmp_path: Path, step: str, expected: dict[str, str]) -> None:
    data = tmp_path / "data"
    child = ServerProcess(
        data,
        module="tests.http.alias_crash_child",
        env={"ZORO_TEST_CRASH_AT": step},
    ).start()
    try:
        _setup(child.url)
        with pytest.raises(httpx.TransportError):
            httpx.post(f"{child.url}/collections/aliases", json={"actions": ACTIONS}, timeout=10)
        assert child.process is not None
        assert child.process.wait(timeout=10) == 9
    finally:
        child.kill()
    with ServerProcess(data) as server:
        server.wait_ready()
        assert _aliases(server.url) == expected
        # and the catalog is whole: the change can be made now, and it stays after a restart
        r = httpx.post(f"{server.url}/collections/aliases", json={"actions": ACTIONS[:2]})
        assert r.status_code == 200, r.text
        after = _aliases(server.url)
    with ServerProcess(data) as server:
        assert _aliases(server.url) == after


CYCLES = 3
MIN_ACKS = 3


def _set(n: int) -> dict[str, str]:
    """The aliases after change n: a few names that change with n, over both collections."""
    return {f"s{n}_{j}": "ab"[(n + j) % 2] for j in range(4)} | {"fixed": "ab"[n % 2]}


def _change(n: int) -> list[dict[str, object]]:
    """From set n - 1 to set n, in one list."""
    drop = [{"delete_alias": {"alias_name": a}} for a in _set(n - 1) if a != "fixed"]
    make = [{"create_alias": {"collection_name": c, "alias_name": a}} for a, c in _set(n).items()]
    return drop + make


def test_kill_at_random_moments_leaves_the_acked_or_the_next_set(tmp_path: Path) -> None:
    data = tmp_path / "data"
    rng = random.Random(13)
    server = ServerProcess(data).start()
    _setup(server.url)
    acked = 0
    try:
        for _cycle in range(CYCLES):
            acked = _stream_then_kill(server, acked, rng)
            server = ServerProcess(data).start()
            server.wait_ready()
            found = _aliases(server.url)
            sets = [_set(acked) | OLD, _set(acked + 1) | OLD]
            assert found in sets, (acked, found)
            if found == sets[1]:
                acked += 1  # the change in flight had reached the disk
    finally:
        server.stop()


def _stream_then_kill(server: ServerProcess, acked: int, rng: random.Random) -> int:
    """Send change after change to `server`, kill it (once MIN_ACKS more were acknowledged,
    then at a random moment) and return how many were acknowledged."""
    progress = {"acked": acked}

    def stream() -> None:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            while True:
                n = progress["acked"] + 1
                try:
                    r = http.post("/collections/aliases", json={"actions": _change(n)})
                except httpx.TransportError:
                    return  # killed
                assert r.status_code == 200, r.text
                progress["acked"] = n

    worker = threading.Thread(target=stream)
    worker.start()
    deadline = time.monotonic() + 10
    while progress["acked"] < acked + MIN_ACKS and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(rng.uniform(0.0, 0.2))
    server.kill()
    worker.join()
    assert progress["acked"] >= acked + MIN_ACKS, "too few changes before the kill"
    return progress["acked"]
