"""A client that gives up half-way through creating or deleting a collection (timeouts of a few
milliseconds, as qdrant-client's own tests use) never leaves the name stuck: afterwards the
collection exists and serves, or it does not exist and the name is free, and every route agrees.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import httpx

from zoro.testing import ServerProcess

TIMEOUTS_S = (0.001, 0.002, 0.003, 0.005, 0.01, 0.02)
BODY = {"vectors": {"size": 4, "distance": "Cosine"}}


def _settle(http: httpx.Client) -> None:
    """Catalog changes take turns: one of our own ends after any still under way."""
    assert http.put("/collections/probe", json=BODY).status_code == 200
    assert http.delete("/collections/probe").json()["result"] is True


def _agree(http: httpx.Client, name: str) -> bool:
    """exists, GET, and the listing tell the same story; returns whether it exists."""
    exists = http.get(f"/collections/{name}/exists").json()["result"]["exists"]
    info = http.get(f"/collections/{name}")
    listed = {c["name"] for c in http.get("/collections").json()["result"]["collections"]}
    assert info.status_code == (200 if exists else 404), info.text
    assert (name in listed) == exists
    return bool(exists)


def test_timed_out_creates_and_deletes_leave_no_stuck_name(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "data") as proc, httpx.Client(base_url=proc.url) as http:
        names = [f"c{i}" for i in range(len(TIMEOUTS_S))]
        for name, timeout in zip(names, TIMEOUTS_S, strict=True):
            with contextlib.suppress(httpx.TimeoutException):
                httpx.put(f"{proc.url}/collections/{name}", json=BODY, timeout=timeout)
        _settle(http)
        for name, timeout in zip(names, TIMEOUTS_S, strict=True):
            if not _agree(http, name):  # the request never got through: the name is free
                assert http.put(f"/collections/{name}", json=BODY).status_code == 200
            with contextlib.suppress(httpx.TimeoutException):
                httpx.delete(f"{proc.url}/collections/{name}", timeout=timeout)
        _settle(http)
        for name in names:
            if _agree(http, name):  # the delete never got through: it still works
                assert http.delete(f"/collections/{name}").json()["result"] is True
            assert not _agree(http, name)
            assert http.put(f"/collections/{name}", json=BODY).status_code == 200
            point = {"id": 1, "vector": [1, 0, 0, 0]}
            r = http.put(f"/collections/{name}/points?wait=true", json={"points": [point]})
            assert r.status_code == 200, r.text
