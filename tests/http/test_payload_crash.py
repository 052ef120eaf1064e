"""kill -9 of a real server while writers send payload updates and batches, then a restart:
nothing acknowledged is lost, and every batch is there whole or not at all.

Each writer owns a group of points: half named by id, half found by a filter on their group.
Its k-th request gives all of them {"k": k} — as one batch of two set_payload operations (ids,
then filter), or as one set_payload by filter, alternately — and also deletes and re-creates
its marker point inside the batch. After any crash, all points of a group must hold the same k
(a batch half applied would split them), at least the last k acknowledged, at most the last sent.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import httpx
import pytest

from zoro.testing import ServerProcess

WRITERS = 4
GROUP = 10


def _points() -> list[dict[str, object]]:
    return [
        {"id": w * GROUP + j, "vector": [1.0, float(j)], "payload": {"group": w, "k": 0}}
        for w in range(WRITERS)
        for j in range(GROUP)
    ]


def _request(w: int, k: int) -> tuple[str, dict[str, object]]:
    by_group = {"must": [{"key": "group", "match": {"value": w}}]}
    if k % 2:
        return "/points/payload", {"payload": {"k": k}, "filter": by_group}
    marker = 1000 + w
    ids = [w * GROUP + j for j in range(GROUP // 2)]
    return "/points/batch", {
        "operations": [
            {"set_payload": {"payload": {"k": k}, "points": ids}},
            {"delete": {"points": [marker]}},
            {"upsert": {"points": [{"id": marker, "vector": [0.0, 1.0], "payload": {"k": k}}]}},
            {"set_payload": {"payload": {"k": k}, "filter": by_group}},
        ]
    }


def _writer(
    url: str, w: int, start: int, acked: list[int], sent: list[int], stop: threading.Event
) -> None:
    k = start
    with httpx.Client(base_url=url, timeout=10) as http:
        while not stop.is_set():
            k += 1
            path, body = _request(w, k)
            sent[w] = k
            try:
                r = http.post(f"/collections/c{path}", params={"wait": "true"}, json=body)
            except httpx.TransportError:
                return  # the server died: not acknowledged
            assert r.status_code == 200, r.text
            acked[w] = k


def _check(url: str, acked: list[int], sent: list[int]) -> list[int]:
    """Each group holds one k between the last acked and the last sent; returns them."""
    r = httpx.post(f"{url}/collections/c/points/scroll", json={"limit": 1000}, timeout=30)
    assert r.status_code == 200, r.text
    points = r.json()["result"]["points"]
    found = []
    for w in range(WRITERS):
        ks = {p["payload"]["k"] for p in points if p["payload"].get("group") == w}
        assert len(ks) == 1, f"group {w} split across a batch: {ks}"
        (k,) = ks
        assert acked[w] <= k <= sent[w], (w, k, acked[w], sent[w])
        marker = [p for p in points if p["id"] == 1000 + w]
        if marker:  # written by the batches (even k): the latest batch's k, never a later one
            assert marker[0]["payload"]["k"] <= k
        found.append(k)
    return found


# The default run kills twice; `-m slow` four times (the former default).
@pytest.mark.parametrize("cycles", [2, pytest.param(4, marks=pytest.mark.slow)])
def test_kill_during_payload_updates_loses_nothing_acknowledged(
    tmp_path: Path, cycles: int
) -> None:
    rng = random.Random(13)
    data = tmp_path / "data"
    server = ServerProcess(data).start()
    try:
        r = httpx.put(
            f"{server.url}/collections/c", json={"vectors": {"size": 2, "distance": "Dot"}}
        )
        assert r.status_code == 200, r.text
        r = httpx.put(f"{server.url}/collections/c/points?wait=true", json={"points": _points()})
        assert r.status_code == 200, r.text
        start = [0] * WRITERS  # each writer's next k follows every k sent before
        found = [0] * WRITERS  # what the last restart showed
        for _ in range(cycles):
            acked, sent = list(found), list(start)
            stop = threading.Event()
            threads = [
                threading.Thread(target=_writer, args=(server.url, w, start[w], acked, sent, stop))
                for w in range(WRITERS)
            ]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.3, 1.2))
            server.kill()
            stop.set()
            for t in threads:
                t.join()
            assert sum(acked) > sum(found), "no write was acknowledged before the kill"
            server = ServerProcess(data).start()
            server.wait_ready()
            found = _check(server.url, acked, sent)
            start = list(sent)
    finally:
        server.kill()
