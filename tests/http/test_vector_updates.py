"""update_vectors, delete_vectors, create_vector_name and delete_vector_name against a real
server, answer for answer with qdrant-client's local mode (Qdrant's in-process reference) given
the same calls, across restarts and kill -9."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from tests.http.compare import same_vectors
from zoro import checked_json
from zoro.testing import ServerProcess

N = 60
_names = itertools.count()
CONFIG = {
    "image": models.VectorParams(size=4, distance=models.Distance.COSINE),
    "text": models.VectorParams(size=3, distance=models.Distance.EUCLID),
}
SPARSE = {"words": models.SparseVectorParams(modifier=models.Modifier.IDF)}
EVEN = models.Filter(must=[models.FieldCondition(key="even", match=models.MatchValue(value=True))])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("vecops") / "data") as proc:
        yield proc


@pytest.fixture
def clients(server: ServerProcess) -> Iterator[tuple[QdrantClient, QdrantClient]]:
    local = QdrantClient(":memory:")
    remote = QdrantClient(url=server.url, timeout=30, check_compatibility=False)
    yield local, remote
    remote.close()
    local.close()


def _random_vectors(rng: np.random.Generator) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if rng.random() < 0.8:
        out["image"] = rng.normal(size=4).round(3).tolist()
    if rng.random() < 0.8:
        out["text"] = rng.normal(size=3).round(3).tolist()
    if rng.random() < 0.6:
        indices = sorted(rng.choice(20, size=int(rng.integers(1, 5)), replace=False).tolist())
        out["words"] = models.SparseVector(
            indices=indices, values=rng.random(len(indices)).tolist()
        )
    return out


def _create(clients: tuple[QdrantClient, QdrantClient]) -> str:
    name = f"vu{next(_names)}"
    rng = np.random.default_rng(3)
    points = [
        models.PointStruct(id=i, vector=_random_vectors(rng), payload={"i": i, "even": i % 2 == 0})
        for i in range(N)
    ]
    for client in clients:
        client.create_collection(name, vectors_config=CONFIG, sparse_vectors_config=SPARSE)
        client.upsert(name, points)
    return name


def _same_everything(name: str, local: QdrantClient, remote: QdrantClient) -> None:
    """Every point with every vector and payload, then queries by each vector, with and without
    a filter, by value and by point id."""
    lp, rp = (c.scroll(name, limit=1000, with_vectors=True)[0] for c in (local, remote))
    assert [p.id for p in rp] == [p.id for p in lp]
    for a, b in zip(lp, rp, strict=True):
        same_vectors(a.vector, b.vector)
        assert a.payload == b.payload
    rng = np.random.default_rng(8)
    queries: dict[str, Any] = {
        "image": rng.normal(size=4).tolist(),
        "text": rng.normal(size=3).tolist(),
        "words": models.SparseVector(indices=[1, 3, 7, 11], values=[1.0, 0.5, 2.0, 1.0]),
    }
    for using, query in queries.items():
        for flt in (None, EVEN):
            got = [
                c.query_points(name, query, using=using, limit=15, query_filter=flt).points
                for c in (local, remote)
            ]
            assert [p.id for p in got[1]] == [p.id for p in got[0]], (using, flt)
            np.testing.assert_allclose(
                [p.score for p in got[1]], [p.score for p in got[0]], rtol=1e-4, atol=1e-4
            )


def _both(clients: tuple[QdrantClient, QdrantClient], call: str, *args: Any, **kw: Any) -> None:
    for client in clients:
        getattr(client, call)(*args, **kw)


def test_update_vectors_matches_local_mode(clients: tuple[QdrantClient, QdrantClient]) -> None:
    name = _create(clients)
    local, remote = clients
    rng = np.random.default_rng(21)
    updates = [
        models.PointVectors(id=i, vector=_random_vectors(rng)) for i in rng.choice(N, 25).tolist()
    ]
    # the same point twice: the second keeps what the first set, vector by vector
    updates += [
        models.PointVectors(id=5, vector={"image": [1.0, 0.0, 0.0, 0.0]}),
        models.PointVectors(id=5, vector={"words": models.SparseVector(indices=[1], values=[9])}),
        models.PointVectors(id=6, vector={}),
    ]
    _both(clients, "update_vectors", name, updates, wait=True)
    _same_everything(name, local, remote)
    # update_filter: only the even points among these change
    filtered = [models.PointVectors(id=i, vector={"text": [1.0, 2.0, 3.0]}) for i in range(10)]
    _both(clients, "update_vectors", name, filtered, update_filter=EVEN)
    _same_everything(name, local, remote)
    for point in remote.retrieve(name, list(range(10)), with_vectors=["text"]):
        assert isinstance(point.vector, dict)
        assert (point.vector.get("text") == [1.0, 2.0, 3.0]) == (point.id % 2 == 0)
    # a point that does not exist: the others are written, then 404 (local mode: KeyError)
    missing = [
        models.PointVectors(id=11, vector={"text": [7.0, 7.0, 7.0]}),
        models.PointVectors(id=999, vector={"text": [7.0, 7.0, 7.0]}),
    ]
    with pytest.raises(KeyError):
        local.update_vectors(name, missing)
    with pytest.raises(UnexpectedResponse) as caught:
        remote.update_vectors(name, missing)
    assert caught.value.status_code == 404
    assert "999" in caught.value.content.decode()
    _same_everything(name, local, remote)


def test_delete_vectors_matches_local_mode(clients: tuple[QdrantClient, QdrantClient]) -> None:
    name = _create(clients)
    local, remote = clients
    _both(clients, "delete_vectors", name, ["image"], models.PointIdsList(points=[0, 1, 2, 3]))
    _both(clients, "delete_vectors", name, ["text", "words"], models.FilterSelector(filter=EVEN))
    _both(clients, "delete_vectors", name, ["words"], [40, 41, 41])
    _same_everything(name, local, remote)
    assert remote.count(name).count == N  # the points stay, bare of those vectors
    with pytest.raises(KeyError):
        local.delete_vectors(name, ["image"], [50, 1000])
    with pytest.raises(UnexpectedResponse) as caught:
        remote.delete_vectors(name, ["image"], [50, 1000])
    assert caught.value.status_code == 404
    _same_everything(name, local, remote)
    # a filter that matches nothing changes nothing
    nobody = models.Filter(must=[models.FieldCondition(key="i", range=models.Range(gt=10**6))])
    _both(clients, "delete_vectors", name, ["image"], nobody)
    _same_everything(name, local, remote)


def test_bad_bodies_are_400_and_change_nothing(
    server: ServerProcess, clients: tuple[QdrantClient, QdrantClient]
) -> None:
    name = _create(clients)
    local, remote = clients
    c = f"/collections/{name}"
    bad: list[tuple[str, str, dict[str, Any], str]] = [
        ("PUT", "/points/vectors", {"points": []}, "points: must hold at least 1 item"),
        ("PUT", "/points/vectors", {}, "points: missing"),
        ("PUT", "/points/vectors", {"points": [{"id": 1, "vector": {"nope": [1.0]}}]}, "'nope'"),
        ("PUT", "/points/vectors", {"points": [{"id": 1, "vector": {"text": [1.0]}}]}, "text"),
        ("PUT", "/points/vectors", {"points": [{"id": 1, "vector": [1.0, 2.0, 3.0]}]}, "unnamed"),
        ("PUT", "/points/vectors", {"points": [{"id": -1, "vector": {}}]}, "points[0].id"),
        ("PUT", "/points/vectors", {"points": [{"id": 1}]}, "points[0].vector: missing"),
        (
            "PUT",
            "/points/vectors",
            {"points": [{"id": 1, "vector": {"words": {"indices": [1, 1], "values": [1, 2]}}}]},
            "words",
        ),
        ("PUT", "/points/vectors", {"points": [{"id": 1, "vector": {}}], "bogus": 1}, "bogus"),
        (
            "POST",
            "/points/vectors/delete",
            {"points": [1], "vector": []},
            "vector: must hold at least 1",
        ),
        ("POST", "/points/vectors/delete", {"points": [1], "vector": ["nope"]}, "'nope'"),
        ("POST", "/points/vectors/delete", {"points": [1]}, "vector: missing"),
        ("POST", "/points/vectors/delete", {"vector": ["text"]}, "either"),
        (
            "POST",
            "/points/vectors/delete",
            {"points": [], "vector": ["text"]},
            "points: must hold at least 1",
        ),
        ("PUT", "/vectors/new", {}, "either"),
        ("PUT", "/vectors/new", {"dense": {"size": 0, "distance": "Dot"}}, "dense.size"),
        ("PUT", "/vectors/new", {"dense": {"size": 3, "distance": "Far"}}, "distance"),
        ("PUT", "/vectors/new", {"dense": {"size": 3}}, "distance"),
        ("PUT", "/vectors/new", {"sparse": {"modifier": "bm25"}}, "modifier"),
        ("PUT", "/vectors/a*b", {"sparse": {}}, "cannot contain"),
        ("PUT", "/vectors/text", {"dense": {"size": 4, "distance": "Dot"}}, "different"),
        ("PUT", "/vectors/text", {"sparse": {}}, "dense vector has that name"),
        (
            "PUT",
            "/vectors/multi",
            {
                "dense": {
                    "size": 4,
                    "distance": "Dot",
                    "multivector_config": {"comparator": "sum"},
                }
            },
            "max_sim",
        ),
    ]
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for method, path, body, text in bad:
            r = http.request(method, c + path, json=body)
            assert r.status_code == 400, (path, body, r.text)
            assert text in r.json()["status"]["error"], (path, body, r.text)
        r = http.put(
            "/collections/nowhere/points/vectors", json={"points": [{"id": 1, "vector": {}}]}
        )
        assert r.status_code == 404
        # the same params again: nothing to do, as in Qdrant
        r = http.put(c + "/vectors/text", json={"dense": {"size": 3, "distance": "Euclid"}})
        assert r.status_code == 200, r.text
        # deleting a vector that does not exist: nothing to do, as in Qdrant
        assert http.delete(c + "/vectors/nothing").status_code == 200
    assert remote.get_collection(name).config.params.vectors == CONFIG
    _same_everything(name, local, remote)


def test_an_acknowledged_update_survives_kill_9(
    server: ServerProcess, clients: tuple[QdrantClient, QdrantClient]
) -> None:
    name = _create(clients)
    local = clients[0]
    update = [models.PointVectors(id=i, vector={"text": [i, 0.5, -1.0]}) for i in range(0, N, 4)]
    _both(clients, "update_vectors", name, update, wait=True)
    _both(clients, "delete_vectors", name, ["image"], [1, 2], wait=True)
    server.kill()  # right after the acks: the changes are in the WAL only
    server.start()
    server.wait_ready()
    again = QdrantClient(url=server.url, timeout=30, check_compatibility=False)
    try:
        _same_everything(name, local, again)
        for point in again.retrieve(name, list(range(0, N, 4)), with_vectors=["text"]):
            assert isinstance(point.vector, dict)
            assert point.vector["text"] == [float(point.id), 0.5, -1.0]
    finally:
        again.close()


def _collection_dir(server: ServerProcess, name: str) -> Path:
    doc = checked_json.read(server.data_dir / "catalog")
    assert isinstance(doc, dict)
    ids = [e["id"] for e in doc["collections"] if e["name"] == name]
    assert len(ids) == 1, ids
    return server.data_dir / "collections" / ids[0]


def test_add_a_vector_to_a_collection_with_points(
    server: ServerProcess, clients: tuple[QdrantClient, QdrantClient]
) -> None:
    name = _create(clients)
    local, remote = clients
    dense = models.DenseVectorNameConfig(
        dense=models.DenseVectorConfig(size=2, distance=models.Distance.DOT)
    )
    sparse = models.SparseVectorNameConfig(sparse=models.SparseVectorConfig())
    _both(clients, "create_vector_name", name, "extra", dense)
    _both(clients, "create_vector_name", name, "tags", sparse)
    info = remote.get_collection(name).config.params
    assert info.vectors == local.get_collection(name).config.params.vectors
    assert info.sparse_vectors == local.get_collection(name).config.params.sparse_vectors
    old = remote.retrieve(name, [0, 1, 2], with_vectors=True)
    assert all(isinstance(p.vector, dict) and "extra" not in p.vector for p in old)
    # new points carry it, old ones get it by update_vectors
    new = [
        models.PointStruct(id=100 + i, vector={"extra": [i, 1.0], "text": [1.0, i, 0.0]})
        for i in range(5)
    ]
    _both(clients, "upsert", name, new)
    given = [models.PointVectors(id=i, vector={"extra": [-i, 2.0]}) for i in range(3)]
    given.append(
        models.PointVectors(id=7, vector={"tags": models.SparseVector(indices=[2], values=[1.0])})
    )
    _both(clients, "update_vectors", name, given)
    for client in clients:
        hits = client.query_points(name, [1.0, 0.0], using="extra", limit=20).points
        assert [p.id for p in hits][:3] == [104, 103, 102]
        assert len(hits) == 8  # only the points that carry it
    _same_everything(name, local, remote)
    extra = [local.query_points(name, [0.7, 1.0], using="extra", limit=20).points]
    for restart in (server.stop, server.kill):
        restart()
        server.start()
        server.wait_ready()
        again = QdrantClient(url=server.url, timeout=30, check_compatibility=False)
        try:
            got = again.query_points(name, [0.7, 1.0], using="extra", limit=20).points
            assert [p.id for p in got] == [p.id for p in extra[0]]
            _same_everything(name, local, again)
            assert again.get_collection(name).config.params.vectors == (
                local.get_collection(name).config.params.vectors
            )
        finally:
            again.close()


def test_drop_a_vector(server: ServerProcess, clients: tuple[QdrantClient, QdrantClient]) -> None:
    name = _create(clients)
    local, remote = clients
    directory = _collection_dir(server, name)
    numbers = {"image": 0, "text": 1, "words": 2}
    assert (directory / "source" / "vectors.1").exists()
    _both(clients, "delete_vector_name", name, "text")
    _both(clients, "delete_vector_name", name, "words")
    assert not (directory / "source" / f"vectors.{numbers['text']}").exists()
    assert not (directory / "source" / f"present.{numbers['text']}").exists()
    assert not (directory / f"ann.{numbers['text']}").exists()
    assert not (directory / "source" / f"sparse.{numbers['words']}").exists()
    assert (directory / "source" / "vectors").exists()  # "image" is vector 0
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for query in ({"query": [1.0, 2.0, 3.0], "using": "text"}, {"query": [1.0], "using": "x"}):
            r = http.post(f"/collections/{name}/points/query", json=query)
            assert r.status_code == 400, r.text
            assert "no vector named" in r.json()["status"]["error"]
        r = http.put(
            f"/collections/{name}/points",
            json={"points": [{"id": 1, "vector": {"text": [1.0, 2.0, 3.0]}}]},
        )
        assert r.status_code == 400
    assert remote.get_collection(name).config.params.vectors == {"image": CONFIG["image"]}
    assert not remote.get_collection(name).config.params.sparse_vectors

    def check(client: QdrantClient) -> None:
        lp, rp = (c.scroll(name, limit=1000, with_vectors=True)[0] for c in (local, client))
        for a, b in zip(lp, rp, strict=True):
            same_vectors(a.vector, b.vector)
        query = [0.1, 0.2, 0.3, 0.4]
        got = [c.query_points(name, query, using="image", limit=10).points for c in (local, client)]
        assert [p.id for p in got[1]] == [p.id for p in got[0]]

    check(remote)
    for restart in (server.stop, server.kill):
        restart()
        server.start()
        server.wait_ready()
        again = QdrantClient(url=server.url, timeout=30, check_compatibility=False)
        try:
            check(again)
            assert again.get_collection(name).config.params.vectors == {"image": CONFIG["image"]}
            assert not (directory / "source" / "vectors.1").exists()
        finally:
            again.close()
    # the name again: a new vector, which no old point carries
    dense = models.DenseVectorNameConfig(
        dense=models.DenseVectorConfig(size=3, distance=models.Distance.EUCLID)
    )
    _both(clients, "create_vector_name", name, "text", dense)
    assert (directory / "source" / "vectors.3").exists()
    _same_everything_but_words(name, local, remote)


def _same_everything_but_words(name: str, local: QdrantClient, remote: QdrantClient) -> None:
    lp, rp = (c.scroll(name, limit=1000, with_vectors=True)[0] for c in (local, remote))
    for a, b in zip(lp, rp, strict=True):
        same_vectors(a.vector, b.vector)
    assert not remote.query_points(name, [1.0, 1.0, 1.0], using="text", limit=5).points


def test_update_and_add_on_a_collection_with_bare_params(
    clients: tuple[QdrantClient, QdrantClient],
) -> None:
    local, remote = clients
    name = f"vu{next(_names)}"
    points = [models.PointStruct(id=i, vector=[i, 1.0, 0.5], payload={"i": i}) for i in range(8)]
    for client in clients:
        client.create_collection(name, vectors_config=models.VectorParams(size=3, distance="Dot"))
        client.upsert(name, points)
    _both(clients, "update_vectors", name, [models.PointVectors(id=2, vector=[9.0, 9.0, 9.0])])
    _both(clients, "delete_vectors", name, [""], [3])
    dense = models.DenseVectorNameConfig(dense=models.DenseVectorConfig(size=2, distance="Dot"))
    _both(clients, "create_vector_name", name, "more", dense)
    _both(clients, "update_vectors", name, [models.PointVectors(id=4, vector={"more": [1.0, 2.0]})])
    got = [c.retrieve(name, list(range(8)), with_vectors=True) for c in clients]
    for a, b in zip(*got, strict=True):
        same_vectors(a.vector, b.vector)
    for using in ("", "more"):
        query = [1.0, 1.0, 1.0] if using == "" else [1.0, 1.0]
        hits = [c.query_points(name, query, using=using, limit=10).points for c in clients]
        assert [p.id for p in hits[1]] == [p.id for p in hits[0]]
    assert remote.get_collection(name).config.params.vectors == (
        local.get_collection(name).config.params.vectors
    )
