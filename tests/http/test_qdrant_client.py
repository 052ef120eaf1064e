"""The real qdrant-client (1.20, sync and async) against a real Zoro-DB server."""

from __future__ import annotations

import uuid
import warnings

import numpy as np
from qdrant_client import AsyncQdrantClient, QdrantClient, models

from zoro.testing import ServerProcess

DIM = 8
N = 300


def _data() -> tuple[np.ndarray, list[int | str]]:
    vectors = np.random.default_rng(11).normal(size=(N, DIM)).astype(np.float32)
    ids: list[int | str] = [i if i % 3 else str(uuid.UUID(int=i + 1)) for i in range(N)]
    return vectors, ids


def _exact(vectors: np.ndarray, ids: list[int | str], q: np.ndarray, k: int) -> list[int | str]:
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = unit @ (q / np.linalg.norm(q))
    return [ids[i] for i in np.argsort(-scores, kind="stable")[:k]]


def test_sync_client_end_to_end(server: ServerProcess) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the version check must not warn
        client = QdrantClient(url=server.url, timeout=30)
    vectors, ids = _data()
    name = "qc_sync"
    assert not client.collection_exists(name)
    client.create_collection(
        name, vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE)
    )
    assert client.collection_exists(name)
    assert name in [c.name for c in client.get_collections().collections]
    half = N // 2
    client.upsert(
        name,
        points=[
            models.PointStruct(id=ids[i], vector=vectors[i].tolist(), payload={"i": i})
            for i in range(half)
        ],
        wait=True,
    )
    client.upsert(
        name,
        points=models.Batch(
            ids=ids[half:],
            vectors=vectors[half:].tolist(),
            payloads=[{"i": i} for i in range(half, N)],
        ),
        wait=True,
    )
    info = client.get_collection(name)
    assert info.points_count == N
    assert info.config.params.vectors.size == DIM  # type: ignore[union-attr]
    got = client.retrieve(name, ids=[ids[1], ids[3]], with_vectors=True)
    assert {p.id for p in got} == {ids[1], ids[3]}
    assert all(p.payload is not None and "i" in p.payload for p in got)
    for q in vectors[:5] + 0.01:
        result = client.query_points(name, query=q.tolist(), limit=5)
        assert [p.id for p in result.points] == _exact(vectors, ids, q, 5)
    batch = client.query_batch_points(
        name,
        requests=[
            models.QueryRequest(query=vectors[7].tolist(), limit=3),
            models.QueryRequest(query=vectors[8].tolist(), limit=2),
        ],
    )
    assert [len(r.points) for r in batch] == [3, 2]
    assert batch[0].points[0].id == ids[7]
    seen, offset = [], None
    while True:
        page, offset = client.scroll(name, limit=64, offset=offset, with_payload=False)
        seen += [p.id for p in page]
        if offset is None:
            break
    assert sorted(map(str, seen)) == sorted(map(str, ids))
    assert client.count(name, exact=True).count == N
    client.delete(name, points_selector=models.PointIdsList(points=[ids[0], ids[1]]), wait=True)
    assert client.count(name).count == N - 2
    assert client.delete_collection(name)
    assert not client.collection_exists(name)


async def test_async_client_end_to_end(server: ServerProcess) -> None:
    # AsyncQdrantClient runs on asyncio; drive it from a thread so the trio test loop is not used
    import asyncio

    import trio

    async def scenario() -> list[object]:
        # The version check runs in a daemon thread of its own that nothing waits for: on a busy
        # machine it can outlive the module's server and fail at teardown. The synchronous test
        # above checks that it passes without a warning.
        client = AsyncQdrantClient(url=server.url, timeout=30, check_compatibility=False)
        name = "qc_async"
        await client.create_collection(
            name, vectors_config=models.VectorParams(size=DIM, distance=models.Distance.EUCLID)
        )
        vectors, ids = _data()
        await client.upsert(
            name,
            points=[models.PointStruct(id=ids[i], vector=vectors[i].tolist()) for i in range(N)],
            wait=True,
        )
        result = await client.query_points(name, query=vectors[4].tolist(), limit=1)
        count = await client.count(name)
        await client.delete_collection(name)
        await client.close()
        return [result.points[0].id, count.count, ids[4]]

    found_id, count, expected = await trio.to_thread.run_sync(lambda: asyncio.run(scenario()))
    assert found_id == expected
    assert count == N
