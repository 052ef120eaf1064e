"""A full disk against a real server on a small real filesystem (see ARCHITECTURE.md, promises):
the writes that hit it fail with a clear error, nothing acked is lost, reads keep working, writes
work again once space is back, and a kill -9 afterwards loses nothing that was acknowledged."""

from __future__ import annotations

import time

import httpx

from tests.torture.conftest import SmallFs
from zoro.testing import ServerProcess

DIM = 64
BATCH = 100
MAX_BATCHES = 2_000  # bounded: 16 MiB fills long before this
FILL_DEADLINE_S = 60.0
FILLER_BYTES = 10 * 1024 * 1024


def _vector(i: int) -> list[float]:
    # exact in float32 and in short decimal, so a round trip compares equal
    return [((i * 31 + k * 7) % 512 - 256) / 64 for k in range(DIM)]


def _point(i: int) -> dict[str, object]:
    return {"id": i, "vector": _vector(i), "payload": {"i": i, "tag": f"p{i}", "pad": "x" * 200}}


def _batch(start: int) -> list[dict[str, object]]:
    return [_point(i) for i in range(start, start + BATCH)]


def _upsert(http: httpx.Client, points: list[dict[str, object]]) -> httpx.Response:
    return http.put("/collections/full/points?wait=true", json={"points": points})


def _check_reads(http: httpx.Client, acked: list[int]) -> None:
    r = http.post("/collections/full/points/count", json={"exact": True})
    assert r.status_code == 200, r.text
    assert r.json()["result"]["count"] >= len(acked)
    sample = acked[:: max(1, len(acked) // 50)] + acked[-3:]
    r = http.post(
        "/collections/full/points", json={"ids": sample, "with_vector": True, "with_payload": True}
    )
    assert r.status_code == 200, r.text
    got = {p["id"]: p for p in r.json()["result"]}
    for i in sample:
        assert got[i]["vector"] == _vector(i), i
        assert got[i]["payload"] == _point(i)["payload"], i
    r = http.post(
        "/collections/full/points/query",
        json={"query": _vector(acked[-1]), "limit": 3, "with_payload": True},
    )
    assert r.status_code == 200, r.text
    assert r.json()["result"]["points"], r.text


def _check_all(http: httpx.Client, acked: list[int]) -> None:
    for start in range(0, len(acked), 500):
        ids = acked[start : start + 500]
        r = http.post(
            "/collections/full/points", json={"ids": ids, "with_vector": True, "with_payload": True}
        )
        assert r.status_code == 200, r.text
        got = {p["id"]: p for p in r.json()["result"]}
        missing = [i for i in ids if i not in got]
        assert not missing, f"acked points lost: {missing[:10]}... ({len(missing)})"
        for i in ids:
            assert got[i]["vector"] == _vector(i), i
            assert got[i]["payload"] == _point(i)["payload"], i


def _check_failed_whole(http: httpx.Client, failed: list[list[int]]) -> None:
    """A write that was not acked is wholly there or wholly absent, never half."""
    for ids in failed:
        r = http.post(
            "/collections/full/points", json={"ids": ids, "with_vector": True, "with_payload": True}
        )
        assert r.status_code == 200, r.text
        got = r.json()["result"]
        assert len(got) in (0, len(ids)), f"half a failed write: {len(got)} of {len(ids)}"
        for p in got:
            assert p["vector"] == _vector(p["id"]), p["id"]
            assert p["payload"] == _point(p["id"])["payload"], p["id"]


def test_disk_full_fails_clearly_keeps_acked_data_and_recovers(small_fs: SmallFs) -> None:
    filler = small_fs.path / "filler"
    filler.write_bytes(b"\0" * FILLER_BYTES)  # freed later: "space comes back"
    data = small_fs.path / "data"
    log_path = small_fs.path.parent / "server.log"  # not on the small fs
    server = ServerProcess(data, log_path=log_path)
    try:
        server.start()
        with httpx.Client(base_url=server.url, timeout=30.0) as http:
            r = http.put("/collections/full", json={"vectors": {"size": DIM, "distance": "Dot"}})
            assert r.status_code == 200, r.text

            # 1. fill the disk with acknowledged batches until writes fail; go on until three
            # fail in a row (a failed write may give back space that a later one fits in).
            # A write fails in one of two ways: 507 when the WAL could not log it (so it is
            # not there), or 503 "logged durably" when the WAL took it and applying it failed
            # (so it is there once the collection has recovered; until then the collection
            # answers 503 and the writes after it are refused).
            acked: list[int] = []
            failed: list[list[int]] = []
            logged: list[list[int]] = []
            statuses: list[int] = []
            deadline = time.monotonic() + FILL_DEADLINE_S
            next_id = 0
            in_a_row = 0
            for _ in range(MAX_BATCHES):
                if in_a_row == 3:
                    break
                assert time.monotonic() < deadline, "disk never filled up: " + server.log()
                batch = _batch(next_id)
                ids = list(range(next_id, next_id + BATCH))
                next_id += BATCH
                r = _upsert(http, batch)
                statuses.append(r.status_code)
                if r.status_code == 200:
                    assert r.json()["result"]["status"] == "completed", r.text
                    acked += ids
                    in_a_row = 0
                    continue
                error = r.json()["status"]["error"]
                if r.status_code == 503 and "logged this write durably" in error:
                    assert "No space left on device" in error, error
                    logged.append(ids)
                else:
                    # a clear JSON error: 507 naming the full disk, or 503 while the
                    # collection recovers from a logged batch it could not apply
                    assert r.status_code in (503, 507), (r.status_code, r.text, server.log())
                    if r.status_code == 507:
                        assert "No space left on device" in error, error
                    failed.append(ids)
                in_a_row += 1
            assert in_a_row == 3, statuses
            assert acked, "the very first write failed"
            first = min(i for i, status in enumerate(statuses) if status != 200)
            print(f"filled after {len(acked)} acked points; statuses after:", statuses[first:])

            # 2. while the disk is full: reads keep working unless a logged batch could not be
            # applied (then the collection refuses reads until it has replayed its WAL, which
            # needs the space back); no failed write is half-applied
            assert http.get("/healthz").status_code == 200
            if not logged:
                _check_reads(http, acked)
                _check_failed_whole(http, failed)

            # 3. space comes back: writes work again (after the collection has recovered)
            filler.unlink()
            recovered_by = time.monotonic() + 60.0
            while True:
                r = _upsert(http, _batch(next_id))
                if r.status_code == 200 or time.monotonic() > recovered_by:
                    break
                assert r.status_code == 503, (r.text, server.log())
                time.sleep(0.2)
            assert r.status_code == 200, (r.text, server.log())
            acked += list(range(next_id, next_id + BATCH))
            next_id += BATCH
            r = _upsert(http, _batch(next_id))
            assert r.status_code == 200, (r.text, server.log())
            acked += list(range(next_id, next_id + BATCH))
            _check_all(http, acked)
            _check_all(http, [i for ids in logged for i in ids])  # logged: there, whole
            _check_failed_whole(http, failed)

        # 4. kill -9 and restart on the same directory: every acked point, exactly
        server.kill()
        server = ServerProcess(data, log_path=log_path)
        server.start()
        server.wait_ready(timeout_s=60)
        with httpx.Client(base_url=server.url, timeout=30.0) as http:
            _check_all(http, acked)
            # the failed (unacked) batch is wholly there or wholly absent, never half
            _check_failed_whole(http, failed)
            _check_all(http, [i for ids in logged for i in ids])
            info = http.get("/collections/full").json()["result"]
            assert info["status"] in ("green", "yellow"), info
    finally:
        server.kill()
