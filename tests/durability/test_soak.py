"""Soak: a real server under overwrite churn for minutes, compacting on its own.

Writers overwrite and delete their own points without pause while readers search and filter;
the server's automatic trigger compacts whenever garbage passes the ratio. At the end every
acknowledged write must be there exactly, the disk must have stayed within what the garbage
ratio allows and shrunk back after a last compaction, and memory must have levelled off.

The disk is measured like with like: the first round's points are written again at the end, so
both measures hold the same 12,000 points and spread the same fixed costs over them (each
append-only file is preallocated a megabyte ahead, ~87 B a point per file here, and the deletes
leave about a fifth fewer points live during the churn), each at rest after a compaction asked
for once writes stopped, as bench/churn.py measures after its compactions.

Opt-in: `pytest -m soak` (ZORO_SOAK_SECONDS, default 600, bounds the churn).
"""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from zoro.settings import StorageSettings, WalSettings
from zoro.testing import ServerProcess, disk_usage

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
# Between compactions up to this share of the slots is garbage by design: 1 / (1 - ratio) times
# the slots of a compacted collection (2x), each file with up to an eighth more preallocated.
GARBAGE_RATIO = StorageSettings().compaction_garbage_ratio
CHURNED_MAX = 1 / (1 - GARBAGE_RATIO) * 9 / 8
COMPACTED_MAX = 1.5
# After a checkpoint the WAL's active segment stays until it holds this much: a fixed cost
# (~87 B a point here) whatever the churn's length, so it is bounded apart from the per-point
# measure (twice: file systems such as XFS preallocate ahead of an open file's appends).
WAL_MAX = 2 * WalSettings().retire_active_bytes


def _vector(i: int, version: int) -> list[float]:
    rng = random.Random(i * 7_919 + version)
    return [round(rng.uniform(-1, 1), 4) for _ in range(DIM)]


def _at_rest(http: httpx.Client, data: Path, timeout_s: float = 120.0) -> dict[str, Any]:
    """Wait until the collection is at rest and return its info: green (no index build or
    compaction under way), every applied write checkpointed, and nothing written under `data`
    for a second (the persisters write the indexes after a checkpoint or a switch)."""
    deadline = time.monotonic() + timeout_s
    before = None
    while True:
        info: dict[str, Any] = http.get("/collections/c").json()["result"]
        zoro = info["zoro"]
        settled = info["status"] == "green" and zoro["checkpoint_lsn"] >= zoro["last_lsn"]
        usage = disk_usage(data) if settled else None
        if usage is not None and usage == before:
            return info
        assert time.monotonic() < deadline, ("not at rest", info["status"], zoro)
        before = usage
        time.sleep(1.0)


def _disk(data: Path, info: dict[str, Any]) -> tuple[float, int]:
    """Bytes allocated per live point to what grows with the points, and the WAL's bytes.
    The ANN graphs are left out: an accelerator written when the persister gets to it, and what
    compaction reclaims is the rest; the WAL is a fixed cost, bounded apart (WAL_MAX)."""
    usage = disk_usage(data)
    per_point = (usage["total"] - usage["ann"] - usage["wal"]) / max(info["points_count"], 1)
    return per_point, usage["wal"]


def _compacted(http: httpx.Client, data: Path) -> tuple[float, int]:
    """`_disk` after a compaction that began once writes stopped (at rest first: the one
    under way, if any, took its cut before the last writes)."""
    _at_rest(http, data)
    r = http.post("/collections/c/compact")
    assert r.status_code == 200, r.text
    info = _at_rest(http, data)
    assert info["zoro"]["storage"]["garbage_slots"] == 0, info["zoro"]["storage"]
    return _disk(data, info)


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
        # the first round, compacted and at rest, to measure the end against
        disk_first, wal_first = _compacted(http, data)
        assert wal_first <= WAL_MAX, wal_first

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
            scroll: dict[str, Any] = {"limit": 5000, "with_payload": True, "with_vector": True}
            if offset is not None:
                scroll["offset"] = offset
            page = http.post("/collections/c/points/scroll", json=scroll).json()["result"]
            for p in page["points"]:
                assert p["vector"] == pytest.approx(_vector(p["id"], p["payload"]["v"]), abs=1e-6)
                got[p["id"]] = p["payload"]["v"]
            offset = page["next_page_offset"]
            if offset is None:
                break
        assert got == live

        # the first round's points written again as they were: the end holds what round 1
        # did, so the disk compares like with like
        for start in range(0, len(first), 1000):
            r = http.put(
                "/collections/c/points?wait=true", json={"points": first[start : start + 1000]}
            )
            assert r.status_code == 200, r.text
        # as the churn left it, the automatic trigger's compactions alone: garbage within the
        # ratio; then compacted once more, and back to round 1's
        disk_churned, wal_churned = _disk(data, _at_rest(http, data))
        disk_last, wal_last = _compacted(http, data)
        figures = {
            "B/pt first": round(disk_first),
            "B/pt churned": round(disk_churned),
            "B/pt last": round(disk_last),
            "WAL bytes first": wal_first,
            "WAL bytes churned": wal_churned,
            "WAL bytes last": wal_last,
        }
        print(figures)
        assert disk_churned <= CHURNED_MAX * disk_first, figures
        assert disk_last <= COMPACTED_MAX * disk_first, figures
        assert max(wal_churned, wal_last) <= WAL_MAX, figures
        compactions = samples[-1][2]
        assert compactions >= 3, samples
        # memory levels off: the last sample within 1.3x of the one a fifth of the way in
        early = samples[len(samples) // 5][1]
        assert samples[-1][1] <= 1.3 * early, [(round(t), rss >> 20) for t, rss, _ in samples]
