"""The same client under asyncio: plain (sync) tests that run their own asyncio loop."""

from __future__ import annotations

import asyncio
import uuid

import numpy as np
import pytest

from tests.client.conftest import FAST_RETRY
from zoro.client import AsyncZoroClient, Conflict, NotFound
from zoro.testing import ServerProcess


async def _tour(url: str, name: str) -> None:
    async with AsyncZoroClient(url, retry=FAST_RETRY) as client:
        assert await client.health()
        assert (await client.readiness()).ready
        assert (await client.server_info()).version
        await client.create_collection(name, 4, "Cosine", engine="hnsw", hnsw_m=8)
        with pytest.raises(Conflict):
            await client.create_collection(name, 4, "Cosine")
        assert await client.collection_exists(name)
        assert name in await client.list_collections()
        assert (await client.get_collection(name)).hnsw.m == 8
        u = uuid.uuid4()
        await client.upsert(name, [1, 2], np.eye(2, 4), [{"a": 1}, {"a": 2}])
        await client.upsert_point(name, u, [0, 0, 1, 0], {"u": True})
        assert await client.count(name) == 3
        assert (await client.get_point(name, u)).payload == {"u": True}
        assert [p.id for p in await client.retrieve(name, [2, 1])] == [2, 1]
        assert [p.id async for p in client.scroll(name, page_size=2)] == [1, 2, str(u)]
        assert (await client.search(name, [1, 0.1, 0, 0], limit=1))[0].id == 1
        assert (await client.search_by_id(name, 1, limit=1))[0].id in (2, str(u))
        batch = await client.search_batch(name, np.eye(2, 4), limit=1)
        assert [a[0].id for a in batch] == [1, 2]
        result = await client.upload(
            name, range(100, 2100), np.random.rand(2000, 4), batch_size=300, parallel=4
        )
        assert result.points == 2000
        await client.delete(name, [1, 2])
        assert await client.count(name) == 2001
        assert await client.delete_collection(name)
        with pytest.raises(NotFound):
            await client.get_collection(name)


def test_every_method_under_asyncio(server: ServerProcess) -> None:
    asyncio.run(_tour(server.url, "asyncio_tour"))


def test_two_loops_one_after_the_other(server: ServerProcess) -> None:
    """A client belongs to one loop; a new loop takes a new client."""

    async def ping() -> bool:
        async with AsyncZoroClient(server.url) as client:
            return await client.health()

    assert asyncio.run(ping())
    assert asyncio.run(ping())
