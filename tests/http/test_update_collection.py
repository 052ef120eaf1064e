"""PATCH /collections/{name} (update_collection) and a collection's metadata, on a real server:
compared with qdrant-client local mode where it implements them (metadata, sparse modifiers,
vector names), the settings Zoro acts on, refusals that change nothing, and a restart."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from tests.http.compare import same_hits
from zoro.testing import ServerProcess

if TYPE_CHECKING:
    from pathlib import Path

DIM = 4


def _fresh(client: QdrantClient, name: str, **extra: Any) -> None:
    client.delete_collection(name)
    client.create_collection(
        name,
        vectors_config={"v": models.VectorParams(size=DIM, distance=models.Distance.COSINE)},
        sparse_vectors_config={"words": models.SparseVectorParams()},
        **extra,
    )


def test_metadata_is_given_on_create_and_merged_by_update(server: ServerProcess) -> None:
    local = QdrantClient(":memory:")
    remote = QdrantClient(url=server.url, timeout=30)
    changes: list[dict[str, Any]] = [
        {"owner": "search", "tags": ["a", "b"]},
        {"owner": None, "limits": {"qps": 10}},  # null removes a key
        {"limits": {"burst": 2}},  # replaces the whole value: no deep merge
        {},
    ]
    for client in (local, remote):
        _fresh(client, "meta", metadata={"team": "core", "owner": "x"})
    assert remote.get_collection("meta").config.metadata == {"team": "core", "owner": "x"}
    for change in changes:
        for client in (local, remote):
            client.update_collection("meta", metadata=change)
        assert (
            remote.get_collection("meta").config.metadata
            == local.get_collection("meta").config.metadata
        ), change
    assert remote.get_collection("meta").config.metadata == {
        "team": "core",
        "tags": ["a", "b"],
        "limits": {"burst": 2},
    }
    for client in (local, remote):
        _fresh(client, "no_meta")
    assert remote.get_collection("no_meta").config.metadata is None
    assert local.get_collection("no_meta").config.metadata is None


def test_sparse_modifier_and_vector_names_as_local_mode(server: ServerProcess) -> None:
    local = QdrantClient(":memory:")
    remote = QdrantClient(url=server.url, timeout=30)
    points = [
        models.PointStruct(
            id=i,
            vector={
                "v": [1.0, float(i), 0.5, -1.0],
                "words": models.SparseVector(
                    indices=[i % 5, 7, 11 + i % 3], values=[1.0 + i / 64, 0.5, 2.0 - i / 32]
                ),
            },
        )
        for i in range(40)
    ]
    query = models.SparseVector(indices=[2, 7, 12], values=[1.0, 1.0, 1.0])
    for client in (local, remote):
        _fresh(client, "sparse_up")
        client.upsert("sparse_up", points=points, wait=True)
    for modifier in (models.Modifier.IDF, models.Modifier.NONE):
        for client in (local, remote):
            client.update_collection(
                "sparse_up",
                sparse_vectors_config={"words": models.SparseVectorParams(modifier=modifier)},
            )
        got = remote.query_points("sparse_up", query=query, using="words", limit=10)
        want = local.query_points("sparse_up", query=query, using="words", limit=10)
        same_hits(want.points, got.points)
    for bad in (
        {"sparse_vectors_config": {"nope": models.SparseVectorParams()}},
        {"vectors_config": {"nope": models.VectorParamsDiff(on_disk=True)}},
    ):
        for client in (local, remote):
            with pytest.raises((ValueError, UnexpectedResponse)):
                client.update_collection("sparse_up", **bad)  # type: ignore[arg-type]
    assert remote.get_collection("sparse_up").points_count == 40


def test_settings_zoro_acts_on_are_shown_and_persisted(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "data") as proc:
        client = QdrantClient(url=proc.url, timeout=30, check_compatibility=False)
        _fresh(client, "tuned")
        client.upsert(
            "tuned",
            points=[models.PointStruct(id=i, vector={"v": [1.0, i, 2.0, 3.0]}) for i in range(20)],
            wait=True,
        )
        assert client.update_collection(
            "tuned",
            hnsw_config=models.HnswConfigDiff(m=8, ef_construct=64, on_disk=False),
            optimizers_config=models.OptimizersConfigDiff(
                deleted_threshold=0.5, indexing_threshold=0, max_optimization_threads=2
            ),
            vectors_config={"v": models.VectorParamsDiff(hnsw_config=models.HnswConfigDiff(m=24))},
            metadata={"k": 1},
        )
        assert _shown(proc.url)[0]["optimizer_config"]["max_optimization_threads"] == 2
        r = httpx.patch(
            f"{proc.url}/collections/tuned",
            json={
                "zoro": {"ef_search": 77},
                "optimizers_config": {"max_optimization_threads": "auto"},
            },
        )
        assert r.status_code == 200, r.text
        before = _shown(proc.url)
    with ServerProcess(tmp_path / "data") as proc:
        assert _shown(proc.url) == before
        client = QdrantClient(url=proc.url, timeout=30, check_compatibility=False)
        assert client.get_collection("tuned").points_count == 20
    info, ef = before
    assert info["hnsw_config"] == {
        "m": 8,
        "ef_construct": 64,
        "full_scan_threshold": 10000,
        "on_disk": False,
    }
    assert info["optimizer_config"]["deleted_threshold"] == 0.5
    assert info["optimizer_config"]["indexing_threshold"] == 0
    assert "max_optimization_threads" not in info["optimizer_config"]  # "auto": unset again
    assert info["params"]["vectors"]["v"]["hnsw_config"] == {"m": 24}
    assert info["metadata"] == {"k": 1}
    assert ef == 77


def _shown(url: str) -> tuple[dict[str, Any], int]:
    result = httpx.get(f"{url}/collections/tuned").json()["result"]
    models.CollectionInfo.model_validate(result)  # the shape qdrant-client reads
    return result["config"], result["zoro"]["ef_search"]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"quantization_config": {"scalar": {"type": "int8"}}}, "quantization_config"),
        ({"strict_mode_config": {"enabled": True}}, "strict_mode_config"),
        ({"hnsw_config": {"payload_m": 16}}, "hnsw_config.payload_m"),
        ({"hnsw_config": {"m": "many"}}, "hnsw_config.m"),
        ({"hnsw_config": {"colour": 1}}, "colour"),
        ({"vectors": {"v": {"quantization_config": {}}}}, "quantization_config"),
        ({"vectors": {"v": {"hnsw_config": {"on_disk": True}}}}, "on_disk"),
        ({"vectors": {"nope": {"on_disk": True}}}, "nope"),
        ({"sparse_vectors": {"words": {"modifier": "bm25"}}}, "modifier"),
        ({"optimizers_config": {"deleted_threshold": 2}}, "deleted_threshold"),
        ({"optimizers_config": {"vacuum": 1}}, "vacuum"),
        ({"optimizers_config": {"indexing_threshold": "lots"}}, "indexing_threshold"),
        ({"optimizers_config": {"max_optimization_threads": "many"}}, "max_optimization"),
        ({"hnsw_config": {"on_disk": "yes"}}, "hnsw_config.on_disk"),
        ({"params": {"on_disk_payload": 1}}, "on_disk_payload"),
        ({"params": {"payload": {"storage_type": "mmap"}}}, "params.payload"),
        ({"params": {"shard_number": 3}}, "shard_number"),
        ({"metadata": [1, 2]}, "metadata"),
        ({"zoro": {"engine": "flat"}}, "engine"),
        ({"zoro": {"ef_search": 0}}, "ef_search"),
        ({"metadata": {"a": 1}, "init_from": "x"}, "init_from"),
    ],
)
def test_refusals_name_the_setting_and_change_nothing(
    server: ServerProcess, http: httpx.Client, body: dict[str, Any], named: str
) -> None:
    client = QdrantClient(url=server.url, timeout=30)
    _fresh(client, "refuse", metadata={"keep": True})
    before = http.get("/collections/refuse").json()["result"]["config"]
    r = http.patch("/collections/refuse", json=body)
    assert r.status_code == 400, r.text
    assert named in r.json()["status"]["error"]
    assert http.get("/collections/refuse").json()["result"]["config"] == before


def test_unknown_collection_is_a_404(http: httpx.Client) -> None:
    r = http.patch("/collections/nowhere", json={"metadata": {"a": 1}})
    assert r.status_code == 404


def test_create_refuses_metadata_that_is_not_an_object(http: httpx.Client) -> None:
    body = {"vectors": {"size": DIM, "distance": "Dot"}, "metadata": ["a"]}
    r = http.put("/collections/bad_meta", json=body)
    assert r.status_code == 400
    assert "metadata" in r.json()["status"]["error"]
    assert http.get("/collections/bad_meta/exists").json()["result"]["exists"] is False
