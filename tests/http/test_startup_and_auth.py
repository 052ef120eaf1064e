"""Start-up isolates a damaged collection; the API key guards every route but health checks."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from zoro.testing import ServerProcess


def _make(url: str, name: str) -> None:
    httpx.put(f"{url}/collections/{name}", json={"vectors": {"size": 2, "distance": "Dot"}})
    r = httpx.put(
        f"{url}/collections/{name}/points",
        params={"wait": "true"},
        json={"points": [{"id": i, "vector": [i, 1]} for i in range(50)]},
    )
    assert r.status_code == 200


def _flip_middle_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_corrupt_collection_fails_alone_with_file_and_offset(tmp_path: Path) -> None:
    proc = ServerProcess(tmp_path / "data").start()
    try:
        _make(proc.url, "good")
        _make(proc.url, "bad")
        assert proc.stop() == 0
        catalog = json.loads((tmp_path / "data" / "catalog").read_text())
        entries = catalog["data"]["collections"]
        bad_dir = next(e["id"] for e in entries if e["name"] == "bad")
        (target,) = (tmp_path / "data" / "collections" / bad_dir / "index").glob("points.*")
        _flip_middle_byte(target)
        proc.start()
        proc.wait_ready()
        ready = httpx.get(proc.url + "/readyz").json()
        assert "bad" in ready["failed"]
        r = httpx.post(proc.url + "/collections/bad/points/count", json={})
        assert r.status_code == 503
        error = r.json()["status"]["error"]
        assert "points." in error
        assert "byte" in error
        r = httpx.post(proc.url + "/collections/good/points/count", json={})
        assert r.json()["result"]["count"] == 50
        info = httpx.get(proc.url + "/collections/bad")
        assert info.status_code == 503
    finally:
        proc.kill()


def test_api_key_guards_routes_but_not_health(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "data", extra_args=("--api-key", "s3cret")) as proc:
        assert httpx.get(proc.url + "/healthz").status_code == 200
        assert httpx.get(proc.url + "/readyz").status_code == 200
        assert httpx.get(proc.url + "/collections").status_code == 401
        assert httpx.get(proc.url + "/collections", headers={"api-key": "nope"}).status_code == 403
        ok = httpx.get(proc.url + "/collections", headers={"api-key": "s3cret"})
        assert ok.status_code == 200
        bearer = httpx.get(proc.url + "/collections", headers={"authorization": "Bearer s3cret"})
        assert bearer.status_code == 200
        hot = httpx.post(proc.url + "/collections/x/points/query", json={"query": [1, 2]})
        assert hot.status_code == 401
