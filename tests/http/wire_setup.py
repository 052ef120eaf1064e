"""The stage the wire tests share (tests/http/test_wire_constraints.py, test_wire_results.py):
the collection their examples name as "{collection}", how an example is sent, and what the
server holds (`state`, to show that a refused request changed nothing). The `wire_http` fixture
(tests/http/conftest.py) builds the collection once per module."""

from __future__ import annotations

import json
from typing import Any

import httpx

from zoro.http.routes import ROUTES
from zoro.wire.requests import REQUESTS

COLLECTION = "wire_c"
# what the last `prepare` made that examples name: "{snapshot}", the snapshot it took
_prepared: dict[str, str] = {}


def seed(http: httpx.Client) -> None:
    """4-d, Dot, one unnamed vector; points 0..5 with payload {"color": "red"/"blue"} and a
    keyword index on "color". Examples leave it as they found it."""
    r = http.put(f"/collections/{COLLECTION}", json={"vectors": {"size": 4, "distance": "Dot"}})
    assert r.status_code == 200, r.text
    points = [
        {"id": i, "vector": [i, 1.0, 0.5, -1.0], "payload": {"color": ["red", "blue"][i % 2]}}
        for i in range(6)
    ]
    r = http.put(f"/collections/{COLLECTION}/points?wait=true", json={"points": points})
    assert r.status_code == 200, r.text
    r = http.put(
        f"/collections/{COLLECTION}/index?wait=true",
        json={"field_name": "color", "field_schema": "keyword"},
    )
    assert r.status_code == 200, r.text


def filled(example: Any) -> Any:
    """`example` with "{collection}" replaced by the stage's collection, and "{snapshot}" by
    the snapshot the last `prepare` took."""
    text = json.dumps(example).replace("{collection}", COLLECTION)
    return json.loads(text.replace("{snapshot}", _prepared.get("snapshot", "")))


def route_of(name: str) -> tuple[str, str]:
    """The method and path (on the stage's collection) of the route `name`."""
    route = next(r for r in ROUTES if r.name == name)
    path = REQUESTS[name].path if name in REQUESTS else ""  # (a create names what it makes)
    return route.method, filled(path) if path else route.path.replace("{name}", COLLECTION)


def prepare(http: httpx.Client, route: str) -> None:
    """The requests a route's examples need first (each may be refused: it only sets the
    stage, as deleting what a previous example created)."""
    for method, path, body in REQUESTS[route].prepare:
        r = http.request(method, filled(path), json=filled(body) if body is not None else None)
        if method == "POST" and path.endswith("/snapshots") and r.status_code == 200:
            _prepared["snapshot"] = r.json()["result"]["name"]


def state(http: httpx.Client) -> dict[str, Any]:
    """What the server holds: each collection's config, points (with payloads and vectors),
    payload indexes, last WAL position and snapshots, and the aliases. What background work
    moves on its own (status, segments, checkpoints, index builds) is left out, so two reads
    with no write between them are equal."""
    held: dict[str, Any] = {"aliases": http.get("/aliases").json()["result"]}
    for listed in http.get("/collections").json()["result"]["collections"]:
        name = listed["name"]
        info = http.get(f"/collections/{name}").json()["result"]
        scroll = {"limit": 10_000, "with_payload": True, "with_vector": True}
        page = http.post(f"/collections/{name}/points/scroll", json=scroll).json()["result"]
        assert page["next_page_offset"] is None, "the stage holds more points than one page"
        snapshots = http.get(f"/collections/{name}/snapshots").json()["result"]
        held[name] = {
            "config": info["config"],
            "points_count": info["points_count"],
            "payload_schema": info["payload_schema"],
            "last_lsn": info["zoro"]["last_lsn"],
            "points": page["points"],
            "snapshots": sorted(s["name"] for s in snapshots),
        }
    return held
