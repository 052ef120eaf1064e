"""A collection that failed to open shows as failed with its reason, beside one that serves:
in the collections table, on the Health page and among the issues."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.dashboard import browser
from tests.dashboard.page import Page
from zoro.testing import ServerProcess

FOUND = browser.find()
pytestmark = pytest.mark.skipif(isinstance(FOUND, str), reason=str(FOUND))


def _make(http: httpx.Client, name: str) -> None:
    body = {"vectors": {"size": 2, "distance": "Dot"}}
    assert http.put(f"/collections/{name}", json=body).status_code == 200
    points = [{"id": i, "vector": [i, 1]} for i in range(50)]
    r = http.put(f"/collections/{name}/points?wait=true", json={"points": points})
    assert r.status_code == 200


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server with `good` and `bad`, restarted after a byte of bad's point index was
    flipped (as tests/http/test_startup_and_auth.py does)."""
    data = tmp_path_factory.mktemp("dashboard-failed") / "data"
    proc = ServerProcess(data).start()
    try:
        with httpx.Client(base_url=proc.url, timeout=30) as http:
            _make(http, "good")
            _make(http, "bad")
        assert proc.stop() == 0
        entries = json.loads((data / "catalog").read_text())["data"]["collections"]
        bad = next(e["id"] for e in entries if e["name"] == "bad")
        (target,) = (data / "collections" / bad / "index").glob("points.*")
        raw = bytearray(target.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        target.write_bytes(bytes(raw))
        proc.start()
        proc.wait_ready()
        yield proc
    finally:
        proc.kill()


def test_the_failed_collection_shows_its_reason(page: Page, server: ServerProcess) -> None:
    reason = httpx.get(server.url + "/readyz").json()["failed"]["bad"]
    page.go("collections")
    row = page.text("tr[data-collection=bad]", "failed")
    assert reason in row
    assert "green" in page.text("tr[data-collection=good]", "50")
    page.shot("20-failed-collection")
    page.go("health")
    page.text("#collection-states", "1 failed")
    page.text("#recent-errors", "bad")
    page.shot("21-failed-health")
    # the info of the failed collection is refused (503) on purpose, and asked for quietly
    page.console_clean("status of 503")
