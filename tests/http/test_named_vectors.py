"""Named dense vectors, optional vectors and sparse vectors against a real server, answer for
answer with qdrant-client's local mode (Qdrant's in-process reference) on the same data.

Every point carries a random subset of three vectors (two dense of different sizes and
distances, one sparse with IDF); some carry none. The same writes (points form, batch form,
overwrites, deletes) go to both, then every query shape is compared, across a server restart.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from tests.http.compare import same_hits, same_vectors
from zoro.testing import ServerProcess

N = 150
_names = itertools.count()
CONFIG = {
    "image": models.VectorParams(size=5, distance=models.Distance.COSINE),
    "text": models.VectorParams(size=3, distance=models.Distance.EUCLID),
}
SPARSE = {"words": models.SparseVectorParams(modifier=models.Modifier.IDF)}


@pytest.fixture(scope="module")
def loaded(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[QdrantClient, QdrantClient, ServerProcess, str]]:
    root = tmp_path_factory.mktemp("named")
    local = QdrantClient(":memory:")
    with ServerProcess(root / "data") as server:
        remote = QdrantClient(url=server.url, timeout=30)
        name = f"nv{next(_names)}"
        for client in (local, remote):
            client.create_collection(name, vectors_config=CONFIG, sparse_vectors_config=SPARSE)
            _write(client, name)
        yield local, remote, server, name
        remote.close()
    local.close()


def _vectors(rng: np.random.Generator, i: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if rng.random() < 0.7:
        out["image"] = rng.normal(size=5).round(3).tolist()
    if rng.random() < 0.7:
        out["text"] = rng.normal(size=3).round(3).tolist()
    if rng.random() < 0.7:
        indices = sorted(rng.choice(30, size=int(rng.integers(1, 6)), replace=False).tolist())
        values = rng.random(len(indices)).round(3).tolist()
        out["words"] = models.SparseVector(indices=indices, values=values)
    return out


def _write(client: QdrantClient, name: str) -> None:
    rng = np.random.default_rng(11)
    points = [
        models.PointStruct(id=i, vector=_vectors(rng, i), payload={"i": i, "even": i % 2 == 0})
        for i in range(N)
    ]
    client.upsert(name, points[:100])
    client.upsert(name, points[100:])
    # overwrite some with other subsets (and one with no vector at all), delete a few
    again = [
        models.PointStruct(id=i, vector=_vectors(rng, i), payload={"i": i}) for i in range(0, 40, 3)
    ]
    again.append(models.PointStruct(id=7, vector={}, payload={"i": 7, "bare": True}))
    client.upsert(name, again)
    client.delete(name, models.PointIdsList(points=[1, 2, 50]))
    # the batch form with named columns
    client.upsert(
        name,
        models.Batch(
            ids=[500, 501],
            vectors={"image": [[1, 0, 0, 0, 0], [0, 1, 0, 0, 0]], "text": [[1, 2, 3], [3, 2, 1]]},
            payloads=[{"i": 500}, {"i": 501}],
        ),
    )


def _queries(name: str, local: QdrantClient, remote: QdrantClient) -> None:
    rng = np.random.default_rng(5)
    for _ in range(4):
        image = rng.normal(size=5).tolist()
        text = rng.normal(size=3).tolist()
        words = models.SparseVector(indices=[1, 4, 9, 17], values=[0.5, 1.0, 0.25, 2.0])
        for query, using in ((image, "image"), (text, "text"), (words, "words")):
            for flt in (
                None,
                models.Filter(
                    must=[models.FieldCondition(key="even", match=models.MatchValue(value=True))]
                ),
            ):
                answers = [
                    c.query_points(name, query, using=using, limit=12, query_filter=flt).points
                    for c in (local, remote)
                ]
                same_hits(*answers)
    # by point id: that point's own vector of `using`, the point itself left out
    for using in ("image", "text", "words"):
        point = next(
            p
            for p in local.scroll(name, limit=N, with_vectors=True)[0]
            if isinstance(p.vector, dict) and using in p.vector
        )
        same_hits(
            *(c.query_points(name, point.id, using=using, limit=5).points for c in (local, remote))
        )


def test_named_optional_and_sparse_vectors_match_local_mode(
    loaded: tuple[QdrantClient, QdrantClient, ServerProcess, str],
) -> None:
    local, remote, _server, name = loaded
    assert remote.count(name).count == local.count(name).count
    _queries(name, local, remote)
    ids = [0, 3, 5, 7, 8, 100, 149, 500]
    for with_vectors in (True, ["image"], ["words", "text"]):
        got = [c.retrieve(name, ids, with_vectors=with_vectors) for c in (local, remote)]
        for lp, rp in zip(*got, strict=True):
            assert rp.id == lp.id
            same_vectors(lp.vector, rp.vector)
    lp, rp = (c.scroll(name, limit=N + 10, with_vectors=True)[0] for c in (local, remote))
    assert [p.id for p in rp] == [p.id for p in lp]
    for a, b in zip(lp, rp, strict=True):
        same_vectors(a.vector, b.vector)
    info = remote.get_collection(name).config.params
    assert info.vectors == CONFIG
    assert info.sparse_vectors == SPARSE


def test_has_vector_matches_local_mode(
    loaded: tuple[QdrantClient, QdrantClient, ServerProcess, str],
) -> None:
    local, remote, _server, name = loaded
    has = models.HasVectorCondition
    unindexed = models.FieldCondition(key="i", range=models.Range(lt=60))
    filters = [
        models.Filter(must=[has(has_vector="text")]),
        models.Filter(must_not=[has(has_vector="words")]),
        models.Filter(must=[has(has_vector="image"), has(has_vector="words")]),
        # beside a condition no index answers: the scan of payloads sees has_vector too
        models.Filter(should=[has(has_vector="text"), unindexed]),
        models.Filter(
            min_should=models.MinShould(conditions=[has(has_vector="text"), unindexed], min_count=2)
        ),
    ]
    for flt in filters:
        assert (
            remote.count(name, count_filter=flt).count == local.count(name, count_filter=flt).count
        )
        lp, rp = (c.scroll(name, scroll_filter=flt, limit=N)[0] for c in (local, remote))
        assert [p.id for p in rp] == [p.id for p in lp]
        query = [0.1, 0.2, 0.3]
        same_hits(
            *(
                c.query_points(name, query, using="text", query_filter=flt, limit=10).points
                for c in (local, remote)
            )
        )
    with httpx.Client(base_url=_server.url, timeout=30) as http:
        body = {"filter": {"must": [{"has_vector": "nope"}]}}
        r = http.post(f"/collections/{name}/points/count", json=body)
        assert r.status_code == 400
        assert "no vector named 'nope'" in r.json()["status"]["error"]


def test_a_crash_and_restart_keep_every_vector(
    loaded: tuple[QdrantClient, QdrantClient, ServerProcess, str],
) -> None:
    local, _, server, name = loaded
    server.kill()  # kill -9: the last writes are in the WAL only, replayed on start
    server.start()
    server.wait_ready()  # every collection recovered
    remote = QdrantClient(url=server.url, timeout=30)
    try:
        _queries(name, local, remote)
        ids = list(range(0, N, 7))
        got = [c.retrieve(name, ids, with_vectors=True) for c in (local, remote)]
        for lp, rp in zip(*got, strict=True):
            same_vectors(lp.vector, rp.vector)
    finally:
        remote.close()


def test_sparse_only_collection_and_bad_vectors(
    loaded: tuple[QdrantClient, QdrantClient, ServerProcess, str],
) -> None:
    _, _, server, _ = loaded
    with httpx.Client(base_url=server.url, timeout=30) as http:
        r = http.put("/collections/sp", json={"vectors": {}, "sparse_vectors": {"s": {}}})
        assert r.status_code == 200, r.text
        points = [
            {"id": 1, "vector": {"s": {"indices": [3, 1], "values": [1.0, 2.0]}}},
            {"id": 2, "vector": {"s": {"indices": [], "values": []}}},
        ]
        r = http.put("/collections/sp/points?wait=true", json={"points": points})
        assert r.status_code == 200, r.text
        r = http.post(
            "/collections/sp/points/query",
            json={"query": {"indices": [1], "values": [2.0]}, "using": "s"},
        )
        assert r.json()["result"]["points"][0] == {
            "id": 1,
            "version": r.json()["result"]["points"][0]["version"],
            "score": 4.0,
        }
        r = http.post(
            "/collections/sp/points/query", json={"query": {"indices": [1], "values": [2.0]}}
        )
        assert r.status_code == 400
        assert "using" in r.json()["status"]["error"]
        for bad, text in (
            ({"s": {"indices": [1, 1], "values": [1.0, 2.0]}}, "points[0].vector['s']"),
            ({"s": {"indices": [1], "values": [1.0, 2.0]}}, "points[0].vector['s']"),
            ({"s": [1.0, 2.0]}, "sparse vector is"),
            ({"t": [1.0]}, "no vector named 't'"),
            ([1.0, 2.0], "no unnamed vector"),
        ):
            r = http.put("/collections/sp/points", json={"points": [{"id": 9, "vector": bad}]})
            assert r.status_code == 400, (bad, r.text)
            assert text in r.json()["status"]["error"], (bad, r.text)
        assert http.post("/collections/sp/points/count", json={}).json()["result"]["count"] == 2


@pytest.mark.parametrize(
    "distance",
    [
        models.Distance.COSINE,
        models.Distance.DOT,
        models.Distance.EUCLID,
        models.Distance.MANHATTAN,
    ],
)
def test_multivectors_match_local_mode(
    loaded: tuple[QdrantClient, QdrantClient, ServerProcess, str], distance: models.Distance
) -> None:
    """A multivector (MaxSim) beside a plain dense vector: plain queries, a dense prefetch
    re-scored by the multivector (the usual late-interaction rerank), retrieve, and a crash."""
    local, _, server, _ = loaded
    remote = QdrantClient(url=server.url, timeout=30)
    name = f"mv{next(_names)}"
    multi = models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM)
    config = {
        "colbert": models.VectorParams(size=4, distance=distance, multivector_config=multi),
        "dense": models.VectorParams(size=4, distance=models.Distance.DOT),
    }
    rng = np.random.default_rng(3)
    points = []
    for i in range(80):
        vector: dict[str, Any] = {"dense": rng.normal(size=4).round(3).tolist()}
        if i % 7:
            rows = int(rng.integers(1, 5))
            vector["colbert"] = rng.normal(size=(rows, 4)).round(3).tolist()
        points.append(models.PointStruct(id=i, vector=vector, payload={"i": i}))
    for client in (local, remote):
        client.create_collection(name, vectors_config=config)
        client.upsert(name, points)
    assert remote.get_collection(name).config.params.vectors == config
    try:
        for _ in range(2):
            query = rng.normal(size=(3, 4)).round(3).tolist()
            same_hits(
                *(
                    c.query_points(name, query, using="colbert", limit=10).points
                    for c in (local, remote)
                )
            )
            rerank = models.Prefetch(query=rng.normal(size=4).tolist(), using="dense", limit=30)
            same_hits(
                *(
                    c.query_points(name, query, using="colbert", prefetch=rerank, limit=5).points
                    for c in (local, remote)
                )
            )
        got = [c.retrieve(name, [0, 1, 2], with_vectors=True) for c in (local, remote)]
        for lp, rp in zip(*got, strict=True):
            same_vectors(lp.vector, rp.vector)
        server.kill()
        server.start()
        server.wait_ready()  # every collection recovered
        remote.close()
        remote = QdrantClient(url=server.url, timeout=30)
        query = rng.normal(size=(2, 4)).round(3).tolist()
        same_hits(
            *(
                c.query_points(name, query, using="colbert", limit=10).points
                for c in (local, remote)
            )
        )
        # update_vectors / delete_vectors keep the other vectors, multivectors included
        for c in (local, remote):
            c.update_vectors(
                name,
                [
                    models.PointVectors(id=1, vector={"dense": [1.0, 0.0, 0.0, 0.0]}),
                    models.PointVectors(id=3, vector={"colbert": [[0.5, 0.5, 0.0, 1.0]] * 2}),
                ],
            )
            c.delete_vectors(name, vectors=["colbert"], points=[2])
        got = [c.retrieve(name, [1, 2, 3], with_vectors=True) for c in (local, remote)]
        for lp, rp in zip(*got, strict=True):
            same_vectors(lp.vector, rp.vector)
        same_hits(
            *(
                c.query_points(name, query, using="colbert", limit=10).points
                for c in (local, remote)
            )
        )
        with httpx.Client(base_url=server.url, timeout=30) as http:
            bad = {"points": [{"id": 1, "vector": {"colbert": [[1.0, 2.0]]}}]}
            r = http.put(f"/collections/{name}/points", json=bad)
            assert r.status_code == 400
            assert "colbert" in r.json()["status"]["error"]
            r = http.put(
                f"/collections/{name}/points",
                json={"points": [{"id": 1, "vector": {"colbert": []}}]},
            )
            assert r.status_code == 400
            assert "non-empty" in r.json()["status"]["error"]
    finally:
        remote.close()
