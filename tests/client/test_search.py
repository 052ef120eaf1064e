"""Search against a real server, under trio; and the dimension cache kept honest."""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np
import pytest

from zoro.client import AsyncZoroClient, DimensionMismatch, Prefetch, ScoredPoint
from zoro.testing import ServerProcess


@pytest.fixture
async def line(client: AsyncZoroClient, collection: str) -> str:
    """Points 0..9 on a line: point i at (i, 0, 0, 0)."""
    vectors = np.zeros((10, 4))
    vectors[:, 0] = np.arange(10)
    await client.upsert(collection, range(10), vectors, [{"i": i} for i in range(10)])
    return collection


async def test_search_finds_the_nearest(client: AsyncZoroClient, line: str) -> None:
    hits = await client.search(line, [3.2, 0, 0, 0], limit=3)
    assert [h.id for h in hits] == [3, 4, 2]
    assert isinstance(hits[0], ScoredPoint)
    assert hits[0].payload == {"i": 3}
    assert hits[0].score == pytest.approx(0.2, abs=1e-5)
    paged = await client.search(
        line, [3.2, 0, 0, 0], limit=2, offset=1, with_payload=False, with_vector=True, exact=True
    )
    assert [(h.id, h.payload, h.vector) for h in paged] == [
        (4, None, (4.0, 0.0, 0.0, 0.0)),
        (2, None, (2.0, 0.0, 0.0, 0.0)),
    ]
    near = await client.search(line, [3.2, 0, 0, 0], limit=10, score_threshold=1.0, hnsw_ef=32)
    assert sorted(h.id for h in near) == [3, 4]


async def test_search_by_id_and_batch(client: AsyncZoroClient, line: str) -> None:
    hits = await client.search_by_id(line, 5, limit=2)
    assert sorted(h.id for h in hits) == [4, 6]
    answers = await client.search_batch(line, [[0, 0, 0, 0], [9, 0, 0, 0]], limit=1)
    assert [[h.id for h in a] for a in answers] == [[0], [9]]


async def test_fused_search(client: AsyncZoroClient, line: str) -> None:
    """Two prefetches fused by rank (RRF, k = 2: rank r earns 1 / (r + 2)); equal fused scores
    keep the order their points were first met in."""
    near3, near7 = Prefetch([3.2, 0, 0, 0], limit=3), Prefetch([6.9, 0, 0, 0], limit=3)
    hits = await client.search_fused(line, [near3, near7], limit=6)
    assert [h.id for h in hits] == [3, 7, 4, 6, 2, 8]
    assert [h.score for h in hits] == pytest.approx([1 / 2, 1 / 2, 1 / 3, 1 / 3, 1 / 4, 1 / 4])
    assert hits[0].payload == {"i": 3}
    odd = {"must_not": [{"key": "i", "match": {"any": [0, 2, 4, 6, 8]}}]}
    hits = await client.search_fused(line, [near3, near7], filter=odd, fusion="dbsf", limit=2)
    assert {h.id for h in hits} <= {1, 3, 5, 7, 9}


async def test_a_recreated_collection_is_noticed(
    client: AsyncZoroClient, server_client: AsyncZoroClient, name: str
) -> None:
    await client.create_collection(name, 4, "Euclid")
    await client.upsert(name, [1], [[1, 2, 3, 4]])  # the client now believes: 4 dimensions
    await server_client.delete_collection(name)
    await server_client.create_collection(name, 2, "Euclid")
    # a 2-d write disagrees with the cache; the client asks again instead of refusing
    await client.upsert(name, [1], [[1, 2]])
    # and the other way: the cache says 2, the server now says 3; its 400 drops the entry
    await server_client.delete_collection(name)
    await server_client.create_collection(name, 3, "Euclid")
    with pytest.raises(DimensionMismatch, match="expected dimension 3") as caught:
        await client.search(name, [1, 2])
    assert caught.value.status == 400  # the server's verdict; the stale entry is dropped
    with pytest.raises(DimensionMismatch, match="expected dimension 3") as caught:
        await client.search(name, [1, 2])
    assert caught.value.status is None  # refetched, then refused before sending
    assert await client.search(name, [1, 2, 3]) == []


@pytest.fixture
async def server_client(server: ServerProcess) -> AsyncIterator[AsyncZoroClient]:
    """A second client, to change the server behind the first one's back."""
    async with AsyncZoroClient(server.url) as c:
        yield c
