"""Every route through a real server process, with Qdrant's shapes."""

from __future__ import annotations

import uuid

import httpx
import numpy as np

U = "550e8400-e29b-41d4-a716-446655440000"


def _points(n: int = 6) -> list[dict[str, object]]:
    return [{"id": i, "vector": [float(i), 0.0, 0.0, 0.0], "payload": {"i": i}} for i in range(n)]


def _upsert(http: httpx.Client, name: str, body: dict[str, object]) -> dict[str, object]:
    r = http.put(f"/collections/{name}/points", params={"wait": "true"}, json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_version_document_and_health(http: httpx.Client) -> None:
    doc = http.get("/").json()
    assert doc["version"].startswith("1.")
    assert "zoro_version" in doc
    assert http.get("/healthz").status_code == 200
    assert http.get("/readyz").status_code == 200
    assert "paths" in http.get("/openapi.json").json()


def test_collection_lifecycle(http: httpx.Client) -> None:
    assert http.get("/collections/life/exists").json()["result"] == {"exists": False}
    r = http.put(
        "/collections/life",
        json={"vectors": {"size": 3, "distance": "Cosine"}, "hnsw_config": {"m": 8}},
    )
    assert r.json()["result"] is True
    assert r.json()["status"] == "ok"
    assert (
        http.put(
            "/collections/life", json={"vectors": {"size": 3, "distance": "Cosine"}}
        ).status_code
        == 409
    )
    info = http.get("/collections/life").json()["result"]
    assert info["config"]["params"]["vectors"] == {"size": 3, "distance": "Cosine"}
    assert info["config"]["hnsw_config"]["m"] == 8
    assert info["points_count"] == 0
    assert {"name": "life"} in http.get("/collections").json()["result"]["collections"]
    assert http.get("/collections/life/exists").json()["result"] == {"exists": True}
    assert http.delete("/collections/life").json()["result"] is True
    assert http.get("/collections/life").status_code == 404
    assert http.delete("/collections/life").json()["result"] is False


def test_upsert_retrieve_get_and_delete(http: httpx.Client, collection: str) -> None:
    result = _upsert(http, collection, {"points": _points()})
    assert result["result"]["status"] == "completed"
    _upsert(
        http,
        collection,
        {
            "batch": {
                "ids": [100, U],
                "vectors": [[1, 2, 3, 4], [4, 3, 2, 1]],
                "payloads": [{"b": 1}, None],
            }
        },
    )
    r = http.post(
        f"/collections/{collection}/points", json={"ids": [1, U, 999], "with_vector": True}
    )
    got = {p["id"]: p for p in r.json()["result"]}
    assert set(got) == {1, U}
    assert got[1]["payload"] == {"i": 1}
    assert got[1]["vector"] == [1.0, 0.0, 0.0, 0.0]
    assert got[U]["payload"] == {}
    one = http.get(f"/collections/{collection}/points/100").json()["result"]
    assert one == {"id": 100, "payload": {"b": 1}, "vector": [1.0, 2.0, 3.0, 4.0]}
    assert http.get(f"/collections/{collection}/points/{U}").json()["result"]["id"] == U
    assert http.get(f"/collections/{collection}/points/12345").status_code == 404
    r = http.post(
        f"/collections/{collection}/points/delete", params={"wait": "true"}, json={"points": [1, U]}
    )
    assert r.json()["result"]["status"] == "completed"
    assert http.post(f"/collections/{collection}/points/count", json={"exact": True}).json()[
        "result"
    ] == {"count": 6}


def test_scroll_pages_through_everything_in_id_order(http: httpx.Client, collection: str) -> None:
    _upsert(http, collection, {"points": _points(25)})
    uuids = sorted(str(uuid.UUID(int=i + 1)) for i in range(3))
    _upsert(http, collection, {"batch": {"ids": uuids, "vectors": [[0, 0, 0, 0]] * 3}})
    seen: list[object] = []
    offset = None
    while True:
        body = {"limit": 7, "with_payload": False}
        if offset is not None:
            body["offset"] = offset
        result = http.post(f"/collections/{collection}/points/scroll", json=body).json()["result"]
        seen += [p["id"] for p in result["points"]]
        assert all("payload" not in p for p in result["points"])
        offset = result["next_page_offset"]
        if offset is None:
            break
    assert seen == [*range(25), *uuids]


def test_query_search_and_their_batches(http: httpx.Client, collection: str) -> None:
    _upsert(http, collection, {"points": _points(10)})
    base = f"/collections/{collection}/points"
    r = http.post(base + "/query", json={"query": [3.2, 0, 0, 0], "limit": 3, "with_payload": True})
    points = r.json()["result"]["points"]
    assert [p["id"] for p in points] == [3, 4, 2]
    assert points[0]["score"] == np.float32(0.2).item() or abs(points[0]["score"] - 0.2) < 1e-5
    assert points[0]["payload"] == {"i": 3}
    r = http.post(
        base + "/query", json={"query": {"nearest": [9, 0, 0, 0]}, "limit": 2, "offset": 1}
    )
    assert [p["id"] for p in r.json()["result"]["points"]] == [8, 7]
    r = http.post(base + "/query", json={"query": {"nearest": 5}, "limit": 2})
    assert [p["id"] for p in r.json()["result"]["points"]] in ([4, 6], [6, 4])
    r = http.post(
        base + "/query", json={"query": [0, 0, 0, 0], "limit": 10, "score_threshold": 2.5}
    )
    assert [p["id"] for p in r.json()["result"]["points"]] == [0, 1, 2]
    r = http.post(
        base + "/query/batch",
        json={
            "searches": [{"query": [0, 0, 0, 0], "limit": 1}, {"query": [9, 0, 0, 0], "limit": 2}]
        },
    )
    assert [[p["id"] for p in q["points"]] for q in r.json()["result"]] == [[0], [9, 8]]
    r = http.post(base + "/search", json={"vector": [1, 0, 0, 0], "limit": 1, "with_vector": True})
    assert r.json()["result"][0]["id"] == 1
    assert r.json()["result"][0]["vector"] == [1, 0, 0, 0]
    r = http.post(
        base + "/search/batch",
        json={
            "searches": [{"vector": [2, 0, 0, 0], "limit": 1}, {"vector": [7, 0, 0, 0], "limit": 1}]
        },
    )
    assert [[p["id"] for p in q] for q in r.json()["result"]] == [[2], [7]]
    r = http.post(
        base + "/query",
        json={"query": [2, 0, 0, 0], "limit": 1, "params": {"exact": True, "hnsw_ef": 32}},
    )
    assert r.json()["result"]["points"][0]["id"] == 2


def test_with_payload_selectors(http: httpx.Client, collection: str) -> None:
    _upsert(
        http,
        collection,
        {"points": [{"id": 1, "vector": [0, 0, 0, 0], "payload": {"a": 1, "b": 2, "c": 3}}]},
    )
    base = f"/collections/{collection}/points"
    cases = [
        (["a"], {"a": 1}),
        ({"include": ["b"]}, {"b": 2}),
        ({"exclude": ["a"]}, {"b": 2, "c": 3}),
        (True, {"a": 1, "b": 2, "c": 3}),
    ]
    for selector, expected in cases:
        r = http.post(base, json={"ids": [1], "with_payload": selector})
        assert r.json()["result"][0]["payload"] == expected, selector


def test_metrics_show_requests_and_group_commit(http: httpx.Client, collection: str) -> None:
    _upsert(http, collection, {"points": _points(3)})
    text = http.get("/metrics").text
    assert 'zoro_http_requests_total{route="upsert_points",status="200"}' in text
    assert f'zoro_wal_syncs_total{{collection="{collection}"}}' in text
    assert "zoro_http_request_seconds_bucket" in text
    assert f'zoro_actor_mailbox_depth{{collection="{collection}"}} 0' in text
    # a fresh collection had nothing to replay
    assert f'zoro_recovery_records_to_replay{{collection="{collection}"}} 0' in text
    assert f'zoro_recovery_records_replayed{{collection="{collection}"}} 0' in text


def test_metrics_show_each_payload_index_and_its_memory_per_value(
    http: httpx.Client, collection: str
) -> None:
    points = [
        {"id": i, "vector": [0.0, 0.0, 0.0, float(i)], "payload": {"k": f"v{i % 3}"}}
        for i in range(30)
    ]
    _upsert(http, collection, {"points": points})
    r = http.put(
        f"/collections/{collection}/index?wait=true",
        json={"field_name": "k", "field_schema": "keyword"},
    )
    assert r.status_code == 200, r.text
    text = http.get("/metrics").text
    labels = f'collection="{collection}",key="k",schema="keyword"'
    assert f"zoro_payload_index_points{{{labels}}} 30" in text
    assert f"zoro_payload_index_entries{{{labels}}} 30" in text
    per_value = next(
        line
        for line in text.splitlines()
        if line.startswith(f"zoro_payload_index_bytes_per_value{{{labels}}}")
    )
    assert float(per_value.split()[-1]) > 0


def test_collection_info_has_disk_and_memory(http: httpx.Client) -> None:
    """zoro.disk_bytes and zoro.memory_bytes: what the dashboard's collections table shows."""
    body = {"vectors": {"size": 4, "distance": "Dot"}}
    assert http.put("/collections/sized", json=body).status_code == 200
    points = [
        {"id": i, "vector": [1.0, 0.0, 0.0, float(i)], "payload": {"k": "a"}} for i in range(50)
    ]
    _upsert(http, "sized", {"points": points})
    before = http.get("/collections/sized").json()["result"]["zoro"]
    index = {"field_name": "k", "field_schema": "keyword"}
    assert http.put("/collections/sized/index?wait=true", json=index).status_code == 200
    after = http.get("/collections/sized").json()["result"]["zoro"]
    assert before["disk_bytes"] > 0
    assert before["memory_bytes"] >= 50 * 4 * 4  # at least the vectors themselves
    # a payload index's memory is counted in, beside the vectors
    held = after["payload_indexes"]["k"]["memory_bytes"]
    assert held > 0
    assert after["memory_bytes"] >= 50 * 4 * 4 + held


def test_recent_errors_keep_the_last_answers_with_their_messages(
    http: httpx.Client, collection: str
) -> None:
    bad = {"filter": {"must": [{"key": "k", "match": {"valeu": 1}}]}}
    for _ in range(105):  # more than are kept
        r = http.post(f"/collections/{collection}/points/count", json=bad)
        assert r.status_code == 400
    assert http.get("/collections/none_such").status_code == 404
    errors = http.get("/errors").json()["result"]["errors"]
    assert len(errors) == 100
    newest, before = errors[0], errors[1]
    assert (newest["route"], newest["status"]) == ("get_collection", 404)
    assert (before["route"], before["status"]) == ("count_points", 400)
    assert before["message"] == r.json()["status"]["error"]  # as the client was answered
    assert newest["time"].endswith("Z")
