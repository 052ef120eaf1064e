"""Collections, health and server information, against a real server, under trio."""

from __future__ import annotations

import httpx
import pytest

from zoro.client import AsyncZoroClient, CollectionInfo, Conflict, NotFound, Readiness
from zoro.testing import ServerProcess


async def test_create_get_list_exists_delete(client: AsyncZoroClient, name: str) -> None:
    assert await client.collection_exists(name) is False
    await client.create_collection(
        name, 8, "Dot", hnsw_m=8, hnsw_ef_construct=40, full_scan_threshold=500, ef_search=32
    )
    info = await client.get_collection(name)
    assert isinstance(info, CollectionInfo)
    assert (info.name, info.dimension, info.distance, info.engine) == (name, 8, "Dot", "hnsw")
    assert (info.hnsw.m, info.hnsw.ef_construct, info.hnsw.full_scan_threshold) == (8, 40, 500)
    assert (info.points_count, info.status) == (0, "green")
    assert name in await client.list_collections()
    assert await client.collection_exists(name) is True
    assert await client.delete_collection(name) is True
    assert await client.delete_collection(name) is False
    assert name not in await client.list_collections()


async def test_flat_engine_and_defaults(client: AsyncZoroClient, name: str) -> None:
    await client.create_collection(name, 3, engine="flat")
    info = await client.get_collection(name)
    assert (info.distance, info.engine) == ("Cosine", "flat")


async def test_errors_carry_the_servers_message(client: AsyncZoroClient, name: str) -> None:
    with pytest.raises(NotFound, match=f"Collection `{name}` doesn't exist") as caught:
        await client.get_collection(name)
    assert caught.value.status == 404
    await client.create_collection(name, 3)
    with pytest.raises(Conflict, match="already exists"):
        await client.create_collection(name, 3)


async def test_health_readiness_and_server_info(client: AsyncZoroClient) -> None:
    assert await client.health() is True
    assert await client.readiness() == Readiness(True, {}, "")
    info = await client.server_info()
    assert info.version == "1.20.0"
    assert info.zoro_version
    assert "zoro" in await client.metrics()


async def test_the_api_key_is_sent(tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp("keyed")
    with ServerProcess(root / "data", extra_args=("--api-key", "s3cret")) as keyed:
        async with AsyncZoroClient(keyed.url, api_key="s3cret") as good:
            await good.create_collection("k", 2)
            assert await good.list_collections() == ["k"]
        async with AsyncZoroClient(keyed.url, api_key="wrong") as bad:
            from zoro.client import AuthenticationError

            with pytest.raises(AuthenticationError) as caught:
                await bad.list_collections()
            assert caught.value.status == 403
        assert httpx.get(keyed.url + "/collections").status_code == 401


async def test_async_with_closes_the_pool(server: ServerProcess) -> None:
    client = AsyncZoroClient(server.url)
    async with client:
        assert await client.health()
    assert client._transport.is_closed
