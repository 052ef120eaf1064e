"""Collection snapshots against real servers: take one while a writer runs, list, download,
recover into another server (by URL) and into the same one (by path), and refuse a damaged or
mismatched archive without touching the collection (zoro.services.snapshots)."""

from __future__ import annotations

import hashlib
import threading
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from zoro.testing import ServerProcess

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

CONFIG = {
    "vectors": {"d": {"size": 4, "distance": "Cosine"}},
    "sparse_vectors": {"s": {"modifier": "idf"}},
    "metadata": {"team": "snapshots"},
}


def _point(i: int) -> dict[str, Any]:
    return {
        "id": i,
        "vector": {
            "d": [1.0, i % 7, -(i % 3), 0.5],
            "s": {"indices": [i % 11, 20 + i % 5], "values": [1.0, 0.5]},
        },
        "payload": {"color": ["red", "green", "blue"][i % 3], "n": i},
    }


def _all(http: httpx.Client, name: str) -> dict[int, Any]:
    body = {"limit": 10_000, "with_payload": True, "with_vector": True}
    r = http.post(f"/collections/{name}/points/scroll", json=body)
    assert r.status_code == 200, r.text
    return {p["id"]: (p["payload"], p["vector"]) for p in r.json()["result"]["points"]}


@pytest.fixture
def source(tmp_path: Path) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path / "source") as proc:
        yield proc


def _seeded(http: httpx.Client, name: str, ids: range) -> None:
    r = http.put(f"/collections/{name}", json=CONFIG)
    assert r.status_code == 200, r.text
    body = {"field_name": "color", "field_schema": "keyword"}
    assert http.put(f"/collections/{name}/index?wait=true", json=body).status_code == 200
    points = [_point(i) for i in ids]
    r = http.put(f"/collections/{name}/points?wait=true", json={"points": points})
    assert r.status_code == 200, r.text


def test_a_snapshot_restores_exactly_its_points_elsewhere(
    source: ServerProcess, tmp_path: Path
) -> None:
    with httpx.Client(base_url=source.url, timeout=60) as http:
        _seeded(http, "c", range(300))
        r = http.post("/collections/c/snapshots")
        assert r.status_code == 200, r.text
        taken = r.json()["result"]
        assert taken["name"].endswith(".snapshot")
        assert (
            http.put(  # after the snapshot: not in it
                "/collections/c/points?wait=true",
                json={"points": [_point(i) for i in range(300, 320)]},
            ).status_code
            == 200
        )
        expected = {i: p for i, p in _all(http, "c").items() if i < 300}
        listed = http.get("/collections/c/snapshots").json()["result"]
        assert [s["name"] for s in listed] == [taken["name"]]
        archive = http.get(f"/collections/c/snapshots/{taken['name']}")
        assert archive.status_code == 200
        assert hashlib.sha256(archive.content).hexdigest() == taken["checksum"]
        assert len(archive.content) == taken["size"]
        url = f"{source.url}/collections/c/snapshots/{taken['name']}"
    with (
        ServerProcess(tmp_path / "target") as target,
        httpx.Client(base_url=target.url, timeout=60) as other,
    ):
        body = {"location": url, "checksum": taken["checksum"]}
        r = other.put("/collections/copy/snapshots/recover", json=body)
        assert r.status_code == 200, r.text
        assert _all(other, "copy") == expected
        info = other.get("/collections/copy").json()["result"]
        assert info["payload_schema"]["color"]["data_type"] == "keyword"
        assert info["config"]["metadata"] == {"team": "snapshots"}
        query = {"query": [1.0, 2.0, -1.0, 0.5], "using": "d", "limit": 5, "filter": {
            "must": [{"key": "color", "match": {"value": "green"}}]}}  # fmt: skip
        hits = other.post("/collections/copy/points/query", json=query).json()["result"]
        assert hits["points"]
        assert all(p["id"] % 3 == 1 for p in hits["points"])
        sparse = {"query": {"indices": [3, 21], "values": [1.0, 1.0]}, "using": "s", "limit": 3}
        r = other.post("/collections/copy/points/query", json=sparse)
        assert r.status_code == 200, r.text
        assert r.json()["result"]["points"]


def test_a_snapshot_taken_while_a_writer_runs_is_a_cut(source: ServerProcess) -> None:
    """One writer upserts ids in order, one per acknowledged request: the snapshot holds
    exactly the ids 0..k-1 for some k, and every id acknowledged before it was asked for."""
    with httpx.Client(base_url=source.url, timeout=60) as http:
        _seeded(http, "w", range(0))
        acked: list[int] = []
        stop = threading.Event()

        def write() -> None:
            with httpx.Client(base_url=source.url, timeout=60) as writer:
                for i in range(5_000):
                    if stop.is_set():
                        return
                    r = writer.put("/collections/w/points?wait=true", json={"points": [_point(i)]})
                    assert r.status_code == 200, r.text
                    acked.append(i)

        thread = threading.Thread(target=write)
        thread.start()
        try:
            while len(acked) < 50:
                stop.wait(0.01)
            before = len(acked)
            taken = http.post("/collections/w/snapshots").json()["result"]
        finally:
            stop.set()
            thread.join(60)
        location = f"w/{taken['name']}"  # relative to the snapshots directory
        r = http.put("/collections/w2/snapshots/recover", json={"location": location})
        assert r.status_code == 200, r.text
        restored = sorted(_all(http, "w2"))
        assert restored == list(range(len(restored)))
        assert len(restored) >= before


def test_a_damaged_or_mismatched_archive_changes_nothing(source: ServerProcess) -> None:
    with httpx.Client(base_url=source.url, timeout=60) as http:
        _seeded(http, "d", range(50))
        taken = http.post("/collections/d/snapshots").json()["result"]
        before = _all(http, "d")
        wrong = {"location": f"d/{taken['name']}", "checksum": "0" * 64}
        r = http.put("/collections/d/snapshots/recover", json=wrong)
        assert r.status_code == 400
        assert "[rule: snapshot-checksum]" in r.json()["status"]["error"]
        path = source.data_dir / "snapshots" / "d" / taken["name"]
        raw = bytearray(path.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        path.write_bytes(bytes(raw))
        r = http.put("/collections/d/snapshots/recover", json={"location": str(path)})
        assert r.status_code == 400, r.text
        assert taken["name"] in r.json()["status"]["error"]
        assert _all(http, "d") == before  # refused before anything changed
        outside = {"location": "/etc/hostname"}
        r = http.put("/collections/d/snapshots/recover", json=outside)
        assert r.status_code == 400
        assert "[rule: snapshot-location]" in r.json()["status"]["error"]
        assert (
            http.put(
                "/collections/d/snapshots/recover", json={"location": "d/none.snapshot"}
            ).status_code
            == 404
        )
        assert http.delete(f"/collections/d/snapshots/{taken['name']}").json()["result"] is True
        assert http.delete(f"/collections/d/snapshots/{taken['name']}").status_code == 404
        assert http.get("/collections/d/snapshots").json()["result"] == []
        assert http.get("/collections/d/snapshots/..%2Fmeta").status_code == 404


def test_qdrant_client_takes_lists_and_recovers_snapshots(source: ServerProcess) -> None:
    from qdrant_client import QdrantClient

    with httpx.Client(base_url=source.url, timeout=60) as http:
        _seeded(http, "q", range(40))
    client = QdrantClient(url=source.url, timeout=60, check_compatibility=False)
    try:
        taken = client.create_snapshot("q", wait=True)
        assert taken is not None
        assert [s.name for s in client.list_snapshots("q")] == [taken.name]
        url = f"{source.url}/collections/q/snapshots/{taken.name}"
        assert client.recover_snapshot("q_copy", url, checksum=taken.checksum, wait=True)
        assert client.count("q_copy").count == 40
        assert client.delete_snapshot("q", taken.name, wait=True)
        assert client.list_snapshots("q") == []
    finally:
        client.close()


def test_an_uploaded_archive_restores_as_a_recovered_one(
    source: ServerProcess, tmp_path: Path
) -> None:
    """Downloaded in chunks, uploaded as a form (Qdrant's) or as the raw body: the same points;
    a wrong checksum or a damaged upload changes nothing."""
    with httpx.Client(base_url=source.url, timeout=60) as http:
        _seeded(http, "c", range(300))
        taken = http.post("/collections/c/snapshots").json()["result"]
        with http.stream("GET", f"/collections/c/snapshots/{taken['name']}") as r:
            assert r.status_code == 200
            assert int(r.headers["content-length"]) == taken["size"]
            archive = b"".join(r.iter_bytes())
        assert hashlib.sha256(archive).hexdigest() == taken["checksum"]
        expected = _all(http, "c")
    with (
        ServerProcess(tmp_path / "target") as target,
        httpx.Client(base_url=target.url, timeout=60) as http,
    ):
        r = http.post("/collections/formed/snapshots/upload", files={"snapshot": archive})
        assert r.status_code == 200, r.text
        assert _all(http, "formed") == expected
        query = {"checksum": taken["checksum"], "wait": "true", "priority": "snapshot"}
        r = http.post("/collections/raw/snapshots/upload", params=query, content=archive)
        assert r.status_code == 200, r.text
        assert _all(http, "raw") == expected
        # refused, and the collection of that name is left as it was
        r = http.post(
            "/collections/raw/snapshots/upload", params={"checksum": "0" * 64}, content=archive
        )
        assert r.status_code == 400, r.text
        assert "snapshot-checksum" in r.text
        damaged = archive[: len(archive) // 2] + bytes(64) + archive[len(archive) // 2 + 64 :]
        r = http.post("/collections/raw/snapshots/upload", files={"snapshot": damaged})
        assert r.status_code == 400, r.text
        assert "cannot be restored" in r.json()["status"]["error"]
        r = http.post("/collections/raw/snapshots/upload", files={"other": b"x"}, data={"a": "b"})
        assert r.status_code == 400, r.text
        assert _all(http, "raw") == expected
        assert not list((tmp_path / "target" / "snapshots").glob(".download-*")), "no leftovers"


def test_a_full_storage_snapshot_restores_every_collection_and_alias(
    source: ServerProcess, tmp_path: Path
) -> None:
    from qdrant_client import QdrantClient

    with httpx.Client(base_url=source.url, timeout=60) as http:
        _seeded(http, "one", range(50))
        _seeded(http, "two", range(100, 180))
        actions = [{"create_alias": {"collection_name": "two", "alias_name": "latest"}}]
        assert http.post("/collections/aliases", json={"actions": actions}).status_code == 200
        expected = {name: _all(http, name) for name in ("one", "two")}
    client = QdrantClient(url=source.url, timeout=60, check_compatibility=False)
    try:
        taken = client.create_full_snapshot(wait=True)
        assert taken is not None
        assert [s.name for s in client.list_full_snapshots()] == [taken.name]
        with httpx.Client(base_url=source.url, timeout=60) as http:
            archive = http.get(f"/snapshots/{taken.name}").content
        assert hashlib.sha256(archive).hexdigest() == taken.checksum
        assert client.delete_full_snapshot(taken.name, wait=True)
        assert client.list_full_snapshots() == []
    finally:
        client.close()
    with (
        ServerProcess(tmp_path / "target") as target,
        httpx.Client(base_url=target.url, timeout=60) as http,
    ):
        _seeded(http, "one", range(5))  # replaced by the snapshot's
        _seeded(http, "other", range(5))  # not in it: left alone
        r = http.post("/snapshots/upload", params={"checksum": taken.checksum}, content=archive)
        assert r.status_code == 200, r.text
        assert r.json()["result"] == {"collections": ["one", "two"], "aliases": {"latest": "two"}}
        for name, points in expected.items():
            assert _all(http, name) == points
        assert _all(http, "latest") == expected["two"]
        assert len(_all(http, "other")) == 5
        r = http.post("/snapshots/upload", content=archive[: len(archive) // 2])  # cut short
        assert r.status_code == 400, r.text
        assert "cannot be restored" in r.json()["status"]["error"]
