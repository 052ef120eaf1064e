"""After a restart: read everything back, hold it against the workload's model, adopt it.

Beyond the points themselves, the derived structures must agree with them: counts and scrolls
(point index), filtered counts (payload indexes, whether their files were loaded or rebuilt),
and searches (the persisted and rebuilt ANN segments: a hit's score must be that of the point's
vector as stored, and an exact search for a point's own vector must find it).
"""

from __future__ import annotations

import math
import random
from typing import Any

import httpx

from tests.powerloss.workload import (
    DIM,
    GROUPS,
    STABLE,
    Violation,
    Workload,
    point_tag,
    vector,
)


def check(url: str, workload: Workload, rng: random.Random) -> int:
    """Check the server at `url` against `workload` and adopt what it holds; return how many
    points were checked. Raises Violation."""
    with httpx.Client(base_url=url, timeout=60) as http:
        ready = _get(http, "/readyz")
        if ready["failed"]:
            raise Violation(f"collections failed to open after the power cut: {ready['failed']}")
        names = {c["name"] for c in _get(http, "/collections")["result"]["collections"]}
        schemas: dict[str, set[str]] = {}
        for collection in STABLE:
            if collection in names:
                info = _get(http, f"/collections/{collection}")["result"]
                schemas[collection] = set(info["payload_schema"])
        filled = {n for n in names - set(STABLE) if _scratch_filled(http, n)}
        workload.admin.settle(names, schemas, filled)
        checked = 0
        for collection in STABLE:
            writers = [w for w in workload.writers if w.collection == collection]
            live: dict[int, tuple[int, int]] = {}  # id -> (writer, tag)
            for writer in writers:
                found = _retrieve(http, collection, list(writer.ids), writer.number)
                writer.settle(found)
                live.update({i: (writer.number, t) for i, t in found.items()})
                checked += len(writer.ids)
            _check_derived(http, collection, live, rng)
    return checked


def _get(http: httpx.Client, path: str) -> Any:
    r = http.get(path)
    if r.status_code != 200:
        raise Violation(f"GET {path} -> {r.status_code} {r.text}")
    return r.json()


def _post(http: httpx.Client, path: str, body: dict[str, Any]) -> Any:
    r = http.post(path, json=body)
    if r.status_code != 200:
        raise Violation(f"POST {path} {body} -> {r.status_code} {r.text}")
    return r.json()["result"]


def _retrieve(http: httpx.Client, collection: str, ids: list[int], writer: int) -> dict[int, int]:
    body = {"ids": ids, "with_vector": True, "with_payload": True}
    points = _post(http, f"/collections/{collection}/points", body)
    return {p["id"]: point_tag(p, writer) for p in points}


def _scratch_filled(http: httpx.Client, name: str) -> bool:
    body = {"ids": list(range(5)), "with_payload": True}
    points = _post(http, f"/collections/{name}/points", body)
    if len(points) not in (0, 5) or any(p["payload"] != {"s": name} for p in points):
        raise Violation(f"scratch collection `{name}` holds a half-applied write: {points}")
    return len(points) == 5


def _scroll_ids(http: httpx.Client, collection: str, flt: dict[str, Any] | None) -> list[int]:
    ids: list[int] = []
    offset = None
    while True:
        body: dict[str, Any] = {"limit": 256, "with_payload": False, "offset": offset}
        if flt is not None:
            body["filter"] = flt
        page = _post(http, f"/collections/{collection}/points/scroll", body)
        ids += [p["id"] for p in page["points"]]
        offset = page["next_page_offset"]
        if offset is None:
            return ids


def _check_derived(
    http: httpx.Client, collection: str, live: dict[int, tuple[int, int]], rng: random.Random
) -> None:
    where = f"/collections/{collection}/points"
    count = _post(http, where + "/count", {"exact": True})["count"]
    if count != len(live):
        raise Violation(f"`{collection}` counts {count} points, {len(live)} are there")
    scrolled = _scroll_ids(http, collection, None)
    if scrolled != sorted(live):
        raise Violation(f"`{collection}`: scroll does not list exactly the points retrieved")
    for group in range(GROUPS):
        flt = {"must": [{"key": "g", "match": {"value": group}}]}
        want = sorted(i for i, (_, t) in live.items() if t % GROUPS == group)
        got = _post(http, where + "/count", {"exact": True, "filter": flt})["count"]
        if got != len(want) or _scroll_ids(http, collection, flt) != want:
            raise Violation(f"`{collection}`: filter g == {group} finds {got}, not {len(want)}")
    for point_id in rng.sample(sorted(live), min(12, len(live))):
        _check_search(http, collection, point_id, live)


def _check_search(
    http: httpx.Client, collection: str, point_id: int, live: dict[int, tuple[int, int]]
) -> None:
    query = vector(point_id, live[point_id][1])
    for exact in (True, False):
        body = {
            "query": query,
            "limit": 5,
            "with_vector": True,
            "with_payload": True,
            "params": {"exact": exact},
        }
        hits = _post(http, f"/collections/{collection}/points/query", body)["points"]
        if exact and (not hits or hits[0]["id"] != point_id):
            raise Violation(f"`{collection}`: an exact search for point {point_id} misses it")
        for hit in hits:
            if hit["id"] not in live:
                raise Violation(f"`{collection}`: search finds point {hit['id']}, not there")
            writer, tag = live[hit["id"]]
            if point_tag(hit, writer) != tag:
                raise Violation(f"`{collection}`: search returns an old version of {hit['id']}")
            distance = math.dist(query, hit["vector"])
            if abs(hit["score"] ** 2 - distance**2) > 0.05 + 1e-4 * distance**2:
                raise Violation(
                    f"`{collection}`: search scores point {hit['id']} {hit['score']}, its "
                    f"stored vector is at {distance} (the index holds another vector)"
                )
    assert len(query) == DIM
