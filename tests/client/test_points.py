"""Point operations against a real server, under trio."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from zoro.client import AsyncZoroClient, NotFound, Record, UpdateResult


async def test_upsert_many_and_retrieve(client: AsyncZoroClient, collection: str) -> None:
    u = uuid.uuid4()
    vectors = np.arange(12, dtype=np.float32).reshape(3, 4)
    result = await client.upsert(collection, [1, 2, u], vectors, [{"a": 1}, None, {"b": [1, 2]}])
    assert isinstance(result, UpdateResult)
    assert result.status == "completed"
    assert result.operation_id is not None
    got = await client.retrieve(collection, [1, u, 99], with_vector=True)
    assert got == [
        Record(1, {"a": 1}, (0.0, 1.0, 2.0, 3.0)),
        Record(str(u), {"b": [1, 2]}, (8.0, 9.0, 10.0, 11.0)),
    ]
    bare = await client.retrieve(collection, [2], with_payload=False)
    assert bare == [Record(2, None, None)]


async def test_lists_and_arrays_are_both_vectors(client: AsyncZoroClient, collection: str) -> None:
    await client.upsert(collection, np.array([5, 6], dtype=np.uint64), [[1, 2, 3, 4], (4, 3, 2, 1)])
    await client.upsert_point(collection, 7, np.array([1.5, 0, 0, 0]), {"seven": True})
    point = await client.get_point(collection, 7)
    assert point == Record(7, {"seven": True}, (1.5, 0.0, 0.0, 0.0))
    assert await client.count(collection) == 3


async def test_upsert_replaces_by_id(client: AsyncZoroClient, collection: str) -> None:
    await client.upsert_point(collection, 1, [1, 1, 1, 1], {"v": 1})
    await client.upsert_point(collection, 1, [2, 2, 2, 2], {"v": 2})
    assert await client.count(collection) == 1
    assert (await client.get_point(collection, 1)).payload == {"v": 2}


async def test_delete_and_missing_points(client: AsyncZoroClient, collection: str) -> None:
    await client.upsert(collection, range(10), np.ones((10, 4)))
    result = await client.delete(collection, [0, 1, 2, 12345])
    assert result.status == "completed"
    assert await client.count(collection) == 7
    with pytest.raises(NotFound, match="No point with id 0"):
        await client.get_point(collection, 0)
    assert await client.retrieve(collection, [0, 1]) == []


async def test_scroll_walks_every_point_in_pages(client: AsyncZoroClient, collection: str) -> None:
    await client.upsert(collection, range(25), np.ones((25, 4)), [{"i": i} for i in range(25)])
    seen = [p async for p in client.scroll(collection, page_size=7)]
    assert [p.id for p in seen] == list(range(25))
    assert seen[3].payload == {"i": 3}
    page = await client.scroll_page(
        collection, offset=20, limit=3, with_payload=False, with_vector=True
    )
    assert [p.id for p in page.points] == [20, 21, 22]
    assert page.points[0].vector == (1.0, 1.0, 1.0, 1.0)
    assert page.next_offset == 23
    async for point in client.scroll(collection, page_size=5, offset=10):
        assert point.id == 10
        break  # leaving early is fine: no generator to finalise


async def test_missing_collection(client: AsyncZoroClient, name: str) -> None:
    with pytest.raises(NotFound):
        await client.count(name)
    with pytest.raises(NotFound):
        await client.upsert(name, [1], [[1, 2]])
