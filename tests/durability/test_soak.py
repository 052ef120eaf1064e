"""Soak: a real server under overwrite churn for minutes, compacting on its own.

Writers overwrite and delete their own points without pause while readers search and filter;
the server's automatic trigger compacts whenever garbage passes the ratio. At the end every
acknowledged write must be there exactly, the files must have shrunk back (disk per live point
after a last compaction near the first round's), and memory must have levelled off.

Opt-in: `pytest -m soak` (ZORO_SOAK_SECONDS, default 600, bounds the churn).
"""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

import httpx
import pytest

from zoro.testing import ServerProcess

SECONDS = float(os.environ.get("ZORO_SOAK_SECONDS", "600"))
# the churn, then the final checks and compaction (the suite's default timeout is 300 s)
pytestmark = [pytest.mark.soak, pytest.mark.timeout(SECONDS + 600)]

DIM = 16
WRITERS = 3
IDS_PER_WRITER = 4000
SETTINGS = (
    "storage.compaction_min_slots=2000",
    "actor.checkpoint_interval_s=2",
    "actor.idle_checkpoint_s=1",
)


def _vector(i: int, version: int) -> list[float]:
    rng = random.Random(i * 7_919 + version)
    return [round(rng.uniform(-1, 1), 4) for _ in range(DIM)]


def _disk_bytes(path: Path) -> int:
    """Bytes allocated to the data directory's files, the ANN graphs' left out: those are an
    accelerator written when the persister gets to it (a first round measured before its graph
    is written would flatter the end), and what compaction reclaims is the rest."""
    return sum(
        os.stat(os.path.join(d, f)).st_blocks * 512
        for d, _, files in os.walk(path)
        if "ann" not in Path(d).relative_to(path).parts
        for f in files
    )


def _rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_overwrite_churn_keeps_every_write_and_levels_off(tmp_path: Path) -> None:
    seconds = SECONDS
    data = tmp_path / "data"
    flags = tuple(x for s in SETTINGS for x in ("--set", s))
    model: dict[int, tuple[int, bool]] = {}  # id -> (version, live), acknowledged
    lock = threading.Lock()
    stop = threading.Event()
    failures: list[str] = []
    with (
        ServerProcess(data, extra_args=flags) as proc,
        httpx.Client(base_url=proc.url, timeout=60) as http,
    ):
        assert proc.process is not None
        pid = proc.process.pid
        config = {"vectors": {"size": DIM, "distance": "Euclid"}}
        assert http.put("/collections/c", json=config).status_code == 200
        body = {"field_name": "w", "field_schema": "integer"}
        assert http.put("/collections/c/index?wait=true", json=body).status_code == 200
        first = [
            {"id": i, "vector": _vector(i, 0), "payload": {"w": i % WRITERS, "v": 0}}
            for i in range(WRITERS * IDS_PER_WRITER)
        ]
        for start in range(0, len(first), 1000):
            r = http.put(
                "/collections/c/points?wait=true", json={"points": first[start : start + 1000]}
            )
            assert r.status_code == 200, r.text
        model.update(dict.fromkeys(range(len(first)), (0, True)))
        # the first round, indexed and checkpointed, to measure the end against
        for _ in range(600):
            if http.get("/collections/c").json()["result"]["status"] == "green":
                break
            time.sleep(0.1)
        assert http.post("/collections/c/compact").status_code == 200
        disk_first = _disk_bytes(data) / len(first)

        def writer(w: int) -> None:
            rng = random.Random(w)
            mine = list(range(w, WRITERS * IDS_PER_WRITER, WRITERS))
            version = 0
            with httpx.Client(base_url=proc.url, timeout=60) as own:
                while not stop.is_set():
                    version += 1
                    ids = rng.sample(mine, 200)
                    if version % 5 == 0:
                        r = own.post("/collections/c/points/delete?wait=true", json={"points": ids})
                        live = False
                    else:
                        points = [
                            {
                                "id": i,
                                "vector": _vector(i, version),
                                "payload": {"w": w, "v": version},
                            }
                            for i in ids
                        ]
                        r = own.put("/collections/c/points?wait=true", json={"points": points})
                        live = True
                    if r.status_code != 200:
                        failures.append(f"writer {w}: {r.status_code} {r.text[:300]}")
                        return
                    with lock:
                        model.update(dict.fromkeys(ids, (version, live)))

        def reader() -> None:
            rng = random.Random(99)
            with httpx.Client(base_url=proc.url, timeout=60) as own:
                while not stop.is_set():
                    w = rng.randrange(WRITERS)
                    body = {
                        "query": _vector(rng.randrange(10**6), 1),
                        "limit": 10,
                        "filter": {"must": [{"key": "w", "match": {"value": w}}]},
                        "with_payload": True,
                    }
                    r = own.post("/collections/c/points/query", json=body)
                    if r.status_code != 200:
                        failures.append(f"reader: {r.status_code} {r.text[:300]}")
                        return
                    for hit in r.json()["result"]["points"]:
                        # a hit is a point of the filtered writer, with its own payload
                        if hit["id"] % WRITERS != w or hit["payload"]["w"] != w:
                            failures.append(f"reader: {hit} for writer {w}")
                            return

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
        threads += [threading.Thread(target=reader) for _ in range(2)]
        for t in threads:
            t.start()
        samples: list[tuple[float, int, int]] = []  # (elapsed, rss, compactions)
        started = time.monotonic()
        try:
            while time.monotonic() - started < seconds and not failures:
                time.sleep(min(10.0, seconds / 10))
                info = http.get("/collections/c").json()["result"]
                samples.append(
                    (
                        time.monotonic() - started,
                        _rss_bytes(pid),
                        int(info["zoro"]["storage"]["compactions"]),
                    )
                )
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=120)
        assert not failures, failures[:3]

        # every acknowledged write is there, exactly
        live = {i: v for i, (v, alive) in model.items() if alive}
        got: dict[int, int] = {}
        offset = None
        for _ in range(100):
            body = {"limit": 5000, "with_payload": True, "with_vector": True}
            if offset is not None:
                body["offset"] = offset
            page = http.post("/collections/c/points/scroll", json=body).json()["result"]
            for p in page["points"]:
                assert p["vector"] == pytest.approx(_vector(p["id"], p["payload"]["v"]), abs=1e-6)
                got[p["id"]] = p["payload"]["v"]
            offset = page["next_page_offset"]
            if offset is None:
                break
        assert got == live

        compactions = samples[-1][2]
        assert compactions >= 3, samples
        r = http.post("/collections/c/compact")
        assert r.status_code == 200, r.text
        # the index persister writes the renumbered segments and drops the old files behind
        # the switch: give it a moment to settle
        for _ in range(300):
            disk_last = _disk_bytes(data) / max(len(live), 1)
            if disk_last <= 1.5 * disk_first:
                break
            time.sleep(0.1)
        assert disk_last <= 1.5 * disk_first, (disk_first, disk_last)
        # memory levels off: the last sample within 1.3x of the one a fifth of the way in
        early = samples[len(samples) // 5][1]
        assert samples[-1][1] <= 1.3 * early, [(round(t), rss >> 20) for t, rss, _ in samples]
