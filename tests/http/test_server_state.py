"""GET /collections/{name}/optimizations, GET /telemetry, GET and DELETE /issues on a real server,
read with qdrant-client (its models are the shapes), filled with what the server really did; and
the answer for a route Zoro does not serve."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import httpx
import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from zoro.testing import ServerProcess

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

DIM = 16
N = 3000
FRESH = 500  # the fresh segment is frozen, then built into HNSW, every FRESH points


@pytest.fixture(scope="module")
def small_segments(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root: Path = tmp_path_factory.mktemp("state")
    settings = (f"ann.fresh_segment_max_points={FRESH}", "ann.full_scan_threshold=100")
    args = tuple(a for s in settings for a in ("--set", s))
    with ServerProcess(root / "data", extra_args=args) as proc:
        yield proc


def _wait_for(check: object, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_optimizations_show_the_background_builds(small_segments: ServerProcess) -> None:
    client = QdrantClient(url=small_segments.url, timeout=60)
    client.create_collection(
        "built", vectors_config=models.VectorParams(size=DIM, distance=models.Distance.EUCLID)
    )
    vectors = np.random.default_rng(3).normal(size=(N, DIM)).astype(np.float32)
    seen_running = False
    for start in range(0, N, FRESH):
        client.upsert(
            "built",
            points=models.Batch(
                ids=list(range(start, start + FRESH)),
                vectors=vectors[start : start + FRESH].tolist(),
            ),
            wait=True,
        )
        now = client.get_optimizations("built", with_=["queued", "completed", "idle_segments"])
        for running in now.running:
            seen_running = True
            assert running.status == models.TrackerStatusOneOf.OPTIMIZING
            assert running.optimizer == "indexing"
            assert running.progress.done is not None
            assert running.progress.total is not None
            assert running.progress.done <= running.progress.total
            assert running.progress.started_at is not None
        assert now.summary.queued_optimizations == len(now.queued or [])
        assert now.summary.idle_segments == len(now.idle_segments or [])

    def settled() -> bool:
        info = client.get_collection("built")
        return info.status == models.CollectionStatus.GREEN

    _wait_for(settled)
    done = client.get_optimizations("built", completed_limit=100, with_="idle_segments")
    assert done.running == []
    assert done.summary.queued_points == 0
    assert done.completed
    for build in done.completed:
        assert build.status == models.TrackerStatusOneOf.DONE
        assert build.progress.done == build.progress.total
        assert build.progress.duration_sec is not None
        assert build.progress.finished_at is not None
    # every point is in the one HNSW segment the builds grew
    assert sum(s.points_count for s in done.idle_segments or []) == N
    assert len(client.get_optimizations("built", completed_limit=1).completed or []) == 1
    plain = client.get_optimizations("built")
    assert plain.completed is None
    assert plain.queued is None
    print("running builds seen while writing:", seen_running)


def test_optimizations_refuse_bad_parameters(small_segments: ServerProcess) -> None:
    url = small_segments.url
    httpx.put(f"{url}/collections/opt_bad", json={"vectors": {"size": 2, "distance": "Dot"}})
    r = httpx.get(f"{url}/collections/opt_bad/optimizations", params={"with": "queued,everything"})
    assert r.status_code == 400
    assert "everything" in r.json()["status"]["error"]
    r = httpx.get(f"{url}/collections/opt_bad/optimizations", params={"completed_limit": "-1"})
    assert r.status_code == 400
    assert httpx.get(f"{url}/collections/nowhere/optimizations").status_code == 404


def test_telemetry_counts_collections_and_requests(server: ServerProcess) -> None:
    client = QdrantClient(url=server.url, timeout=30)
    client.create_collection(
        "tele", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT)
    )
    client.upsert("tele", points=[models.PointStruct(id=1, vector=[1.0, 2.0])], wait=True)
    for _ in range(3):
        client.get_collection("tele")
    httpx.get(f"{server.url}/collections/absent")  # a 404
    level0 = client.http.service_api.telemetry().result
    assert level0 is not None
    names = client.get_collections().collections
    assert level0.collections.number_of_collections == len(names)
    assert level0.collections.collections is None
    rest = level0.requests.rest.responses if level0.requests else {}
    fetched = rest["GET /collections/{collection_name}"]
    assert fetched["200"].count >= 3
    assert fetched["404"].count >= 1
    assert fetched["200"].avg_duration_micros is not None
    assert fetched["200"].avg_duration_micros > 0
    assert rest["PUT /collections/{collection_name}/points"]["200"].count >= 1
    level1 = client.http.service_api.telemetry(details_level=1).result
    assert level1 is not None
    assert level1.collections.collections is not None
    assert len(level1.collections.collections) == len(names)
    level2 = client.http.service_api.telemetry(details_level=2, anonymize=True).result
    assert level2 is not None
    shown = level2.collections.collections or []
    assert all(isinstance(c, models.CollectionTelemetry) for c in shown)
    assert "tele" not in {c.id for c in shown if isinstance(c, models.CollectionTelemetry)}
    assert level2.id == level0.id  # one server, one id
    r = httpx.get(f"{server.url}/telemetry", params={"details_level": "lots"})
    assert r.status_code == 400


def test_issues_report_unindexed_filter_keys_and_clear(server: ServerProcess) -> None:
    client = QdrantClient(url=server.url, timeout=30)
    client.create_collection(
        "noisy", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT)
    )
    client.upsert(
        "noisy", points=[models.PointStruct(id=1, vector=[1.0, 0.0], payload={"k": "x"})], wait=True
    )
    beta = client.http.beta_api

    def ids() -> set[str]:
        report = beta.get_issues()["result"]  # type: ignore[index]  # typed `object`
        return {i["id"] for i in report["issues"] if i["related_collection"] == "noisy"}

    assert ids() == set()
    flt = models.Filter(must=[models.FieldCondition(key="k", match=models.MatchValue(value="x"))])
    client.query_points("noisy", query=[1.0, 0.0], query_filter=flt)
    assert ids() == {"UNINDEXED_FIELD/noisy/k"}
    listed = beta.get_issues()["result"]["issues"]  # type: ignore[index]
    issue = next(i for i in listed if i["id"].endswith("/k"))
    assert "Unindexed field 'k'" in issue["description"]
    assert "refactor" in issue["solution"]
    assert issue["timestamp"].endswith("Z")
    assert beta.clear_issues().result is True
    assert ids() == set()  # cleared, while the condition lasts
    client.create_payload_index("noisy", "k", models.PayloadSchemaType.KEYWORD, wait=True)
    assert ids() == set()


@pytest.mark.parametrize(
    ("method", "path", "status", "allow"),
    [
        ("POST", "/collections/c0", 405, "DELETE, GET, PATCH, PUT"),
        ("DELETE", "/collections/c0/points", 405, "POST, PUT"),
        ("PUT", "/aliases", 405, "GET"),
        ("PATCH", "/issues", 405, "DELETE, GET"),
        ("GET", "/cluster", 501, None),
        ("GET", "/collections/c0/snapshots/upload", 404, None),
        ("PUT", "/snapshots/upload", 405, "DELETE, GET, POST"),
        ("PATCH", "/collections/c0/snapshots", 405, "GET, POST"),
        ("GET", "/collections/c0/shards", 501, None),
        ("GET", "/no/such/route", 404, None),
    ],
)
def test_a_route_zoro_does_not_serve_says_so(
    http: httpx.Client, method: str, path: str, status: int, allow: str | None
) -> None:
    r = http.request(method, path, json={"x": 1})
    assert r.status_code == status, r.text
    assert r.headers.get("allow") == allow
    message = r.json()["status"]["error"]
    if status != 404:
        assert f"Zoro-DB does not support {method} {path}" in message
    if allow:
        assert f"it serves {allow} there" in message


def test_the_answer_for_an_unserved_route_needs_the_api_key(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "data", extra_args=("--api-key", "s3cret")) as proc:
        assert httpx.post(proc.url + "/collections/x").status_code == 401
        assert httpx.get(proc.url + "/cluster", headers={"api-key": "nope"}).status_code == 403
        r = httpx.post(proc.url + "/collections/x", headers={"api-key": "s3cret"})
        assert r.status_code == 405
        assert r.headers["allow"] == "DELETE, GET, PATCH, PUT"
