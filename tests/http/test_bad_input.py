"""Bad input gets a clear 4xx JSON error naming the problem; nothing is written; serving goes on."""

from __future__ import annotations

import httpx
import pytest

GOOD = [0.1, 0.2, 0.3, 0.4]

# (what, body as raw bytes, expected status, text the message must contain)
UPSERT_CASES = [
    ("wrong dimension", b'{"points":[{"id":1,"vector":[1,2,3]}]}', 400, "dimension 4"),
    ("NaN as a token", b'{"points":[{"id":1,"vector":[NaN,1,2,3]}]}', 400, "invalid JSON"),
    ("huge number", b'{"points":[{"id":1,"vector":[1e39,1,2,3]}]}', 400, "infinity"),
    ("number as string", b'{"points":[{"id":1,"vector":["1",2,3,4]}]}', 400, "vector"),
    (
        "non-object payload",
        b'{"points":[{"id":1,"vector":[1,2,3,4],"payload":[1]}]}',
        400,
        "points[0].payload: must be a JSON object",
    ),
    ("negative id", b'{"points":[{"id":-1,"vector":[1,2,3,4]}]}', 400, "points[0].id"),
    ("float id", b'{"points":[{"id":1.5,"vector":[1,2,3,4]}]}', 400, "points[0].id"),
    ("too large id", b'{"points":[{"id":18446744073709551616,"vector":[1,2,3,4]}]}', 400, "id"),
    ("malformed uuid", b'{"points":[{"id":"not-a-uuid","vector":[1,2,3,4]}]}', 400, "UUID"),
    ("missing vector", b'{"points":[{"id":1}]}', 400, "vector"),
    ("wrong type", b'{"points":{"id":1}}', 400, "points: must be a list"),
    ("unknown field", b'{"points":[],"colour":"red"}', 400, "colour"),
    ("empty body", b"", 400, "body"),
    ("invalid JSON", b'{"points": [', 400, "invalid JSON"),
    (
        "invalid UTF-8",
        b'{"points":[{"id":1,"vector":[1,2,3,4],"payload":{"a":"\xff"}}]}',
        400,
        "invalid JSON",
    ),
    (
        "ragged batch",
        b'{"batch":{"ids":[1,2],"vectors":[[1,2,3,4],[1,2]]}}',
        400,
        "batch.vectors[1]",
    ),
    (
        "ids and vectors differ",
        b'{"batch":{"ids":[1,2],"vectors":[[1,2,3,4]]}}',
        400,
        "1 vectors for 2 ids",
    ),
    ("both forms", b'{"points":[],"batch":{"ids":[],"vectors":[]}}', 400, "either"),
    (
        "deep nesting",
        b'{"points":[{"id":1,"vector":[1,2,3,4],"payload":{"a":'
        + b"[" * 2000
        + b"]" * 2000
        + b"}}]}",
        400,
        "JSON",
    ),
]


@pytest.mark.parametrize(
    ("what", "body", "status", "text"), UPSERT_CASES, ids=[c[0] for c in UPSERT_CASES]
)
def test_bad_upserts_are_refused_and_write_nothing(
    http: httpx.Client, collection: str, what: str, body: bytes, status: int, text: str
) -> None:
    r = http.put(
        f"/collections/{collection}/points?wait=true",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert r.status_code == status, r.text
    error = r.json()["status"]["error"]
    assert text in error, error
    count = http.post(f"/collections/{collection}/points/count", json={})
    assert count.json()["result"]["count"] == 0


def test_a_body_over_the_limit_gets_413_quickly(http: httpx.Client, collection: str) -> None:
    body = b'{"points":[' + b" " * (100 * 1024 * 1024) + b"]}"
    r = http.put(
        f"/collections/{collection}/points",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413
    assert "too large" in r.json()["status"]["error"]


@pytest.mark.parametrize("name", ["a%2Fb", "..", "a..b", "a%00b", "x" * 10_000, "sp%20ace"])
def test_bad_collection_names(http: httpx.Client, name: str) -> None:
    r = http.put(f"/collections/{name}", json={"vectors": {"size": 4, "distance": "Dot"}})
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["status"]["error"]


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"vectors": {"size": 0, "distance": "Dot"}}, "vectors.size"),
        ({"vectors": {"size": 4, "distance": "Hamming"}}, "distance"),
        ({"vectors": {"a": {"size": 4}}}, "vectors.a.distance: missing"),
        ({"vectors": {"a": {"size": 4, "distance": "Dot"}}, "sparse_vectors": {"a": {}}}, "name"),
        ({"vectors": {}, "sparse_vectors": {"s": {"modifier": "bm25"}}}, "modifier"),
        ({}, "vectors"),
    ],
)
def test_bad_collection_bodies(http: httpx.Client, body: dict[str, object], text: str) -> None:
    r = http.put("/collections/badbody", json=body)
    assert r.status_code == 400
    assert text in r.json()["status"]["error"]


@pytest.mark.parametrize(
    ("path", "body", "status", "text"),
    [
        ("/points/query", {"query": [1, 2]}, 400, "dimension"),
        ("/points/query", {"query": [1, 2, 3, 4], "limit": -1}, 400, "limit"),
        ("/points/query", {"query": {"recommend": {}}}, 400, "positive"),
        ("/points/query", {"query": 424242}, 404, "424242"),
        ("/points/query", {"query": {"formula": {}}, "limit": 3}, 400, "one of the query objects"),
        ("/points/search", {"vector": [1, 2, 3, 4]}, 400, "limit"),
        ("/points/scroll", {"limit": 0}, 400, "limit"),
        ("/points/delete", {"points": [True]}, 400, "points[0]"),
        ("/points", {"ids": "1"}, 400, "ids"),
    ],
)
def test_bad_reads_and_deletes(
    http: httpx.Client, collection: str, path: str, body: object, status: int, text: str
) -> None:
    r = http.post(f"/collections/{collection}{path}", json=body)
    assert r.status_code == status, r.text
    assert text in r.json()["status"]["error"]


def test_missing_collection_is_404_everywhere(http: httpx.Client) -> None:
    for method, path, body in [
        ("GET", "", None),
        ("PUT", "/points", {"points": []}),
        ("POST", "/points/query", {"query": [1]}),
        ("POST", "/points/count", {}),
    ]:
        r = http.request(method, f"/collections/nope{path}", json=body)
        assert r.status_code == 404, (method, path)
        assert "nope" in r.json()["status"]["error"]


def test_unknown_route_is_a_json_404(http: httpx.Client) -> None:
    r = http.get("/no/such/route")
    assert r.status_code == 404
    assert r.json()["status"]["error"]


def test_server_still_serves_after_all_that(http: httpx.Client, collection: str) -> None:
    r = http.put(
        f"/collections/{collection}/points?wait=true", json={"points": [{"id": 1, "vector": GOOD}]}
    )
    assert r.status_code == 200
