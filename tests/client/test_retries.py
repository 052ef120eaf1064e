"""Retries through a fault-injecting proxy in front of the real server: dropped connections,
lost answers, timeouts, 429/503 with Retry-After. The client gets through within its budget,
never does non-idempotent work twice, and gives up with a clear error when the budget is spent."""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np
import pytest
import trio

from tests.client.conftest import FAST_RETRY
from tests.client.faults import DROP, LOSE, Delay, FaultProxy, Status
from zoro.client import (
    AsyncZoroClient,
    Conflict,
    ConnectionFailed,
    InvalidInput,
    Overloaded,
    RetryPolicy,
    SparseVectorParams,
    Timeouts,
    Unavailable,
    VectorParams,
)
from zoro.testing import ServerProcess, free_port


@pytest.fixture
async def proxy(server: ServerProcess, nursery: trio.Nursery) -> FaultProxy:
    proxy = FaultProxy(server.url)
    await nursery.start(proxy.run)
    return proxy


@pytest.fixture
async def via(proxy: FaultProxy) -> AsyncIterator[AsyncZoroClient]:
    async with AsyncZoroClient(proxy.url, retry=FAST_RETRY, timeout=10.0) as c:
        yield c


async def test_upsert_survives_drops_lost_answers_503_and_429(
    via: AsyncZoroClient, proxy: FaultProxy, client: AsyncZoroClient, collection: str
) -> None:
    await via.get_collection(collection)
    proxy.add(
        "PUT", f"/collections/{collection}/points", DROP, Status(503, "0"), LOSE, Status(429, "1")
    )
    started = trio.current_time()
    result = await via.upsert(collection, [1, 2, 3], np.eye(3, 4), [{"a": 1}, {"a": 2}, None])
    assert result.status == "completed"
    assert trio.current_time() - started >= 1.0  # the 429's Retry-After: 1 was honoured
    assert proxy.count("PUT", f"/collections/{collection}/points") == 5
    # the LOSE attempt was applied and the last one applied again: same ids, same points
    assert await client.count(collection) == 3


async def test_a_lost_create_is_settled_by_the_409_that_follows(
    via: AsyncZoroClient, proxy: FaultProxy, client: AsyncZoroClient, name: str
) -> None:
    proxy.add("PUT", f"/collections/{name}", LOSE)
    await via.create_collection(name, 4, "Dot")  # no Conflict: the lost attempt made it
    assert [m for m, p, _ in proxy.seen if p == f"/collections/{name}"] == ["PUT", "PUT", "GET"]
    assert (await client.get_collection(name)).dimension == 4
    assert (await client.list_collections()).count(name) == 1


async def test_a_lost_create_meeting_a_different_collection_is_a_conflict(
    via: AsyncZoroClient, proxy: FaultProxy, client: AsyncZoroClient, name: str
) -> None:
    await client.create_collection(name, 8, "Cosine")
    proxy.add("PUT", f"/collections/{name}", LOSE)
    with pytest.raises(Conflict, match="dimension 8"):
        await via.create_collection(name, 4, "Cosine")


async def test_a_create_that_finds_the_collection_at_once_is_a_conflict(
    via: AsyncZoroClient, proxy: FaultProxy, client: AsyncZoroClient, name: str
) -> None:
    await client.create_collection(name, 4, "Dot")
    with pytest.raises(Conflict, match="already exists") as caught:
        await via.create_collection(name, 4, "Dot")
    assert caught.value.status == 409
    assert proxy.count("PUT") == 1


async def test_create_is_retried_after_refusals_and_made_once(
    via: AsyncZoroClient, proxy: FaultProxy, client: AsyncZoroClient, name: str
) -> None:
    proxy.add("PUT", f"/collections/{name}", DROP, Status(503, "0"), Status(429, "0"))
    await via.create_collection(name, 4, "Dot")
    assert proxy.count("PUT") == 4
    assert (await client.list_collections()).count(name) == 1


async def test_a_timed_out_search_is_retried(
    proxy: FaultProxy, collection: str, client: AsyncZoroClient
) -> None:
    await client.upsert(collection, [1], [[1, 2, 3, 4]])
    proxy.add("POST", f"/collections/{collection}/points/query", Delay(1.0))
    timeouts = Timeouts(connect_s=2.0, read_s=0.3, write_s=2.0, pool_s=2.0)
    async with AsyncZoroClient(proxy.url, retry=FAST_RETRY, timeout=timeouts) as c:
        hits = await c.search(collection, [1, 2, 3, 4], limit=1)
    assert [h.id for h in hits] == [1]
    assert proxy.count("POST", f"/collections/{collection}/points/query") == 2


async def test_a_request_that_is_not_idempotent_is_not_resent_after_a_lost_answer(
    via: AsyncZoroClient, proxy: FaultProxy, collection: str
) -> None:
    path = f"/collections/{collection}/points/count"
    proxy.add("POST", path, LOSE, DROP)
    with pytest.raises(ConnectionFailed) as caught:
        await via._transport.call("POST", path, body=b"{}", idempotent=False)
    assert caught.value.attempts == 1
    assert proxy.count("POST", path) == 1
    # (a DROP looks the same from here: the request went out, no answer came back)
    # a connection that could not be made is safe to retry even so: nothing was sent
    policy = RetryPolicy(max_attempts=3, backoff_initial_s=0.01)
    async with AsyncZoroClient(f"http://127.0.0.1:{free_port()}", retry=policy) as c:
        with pytest.raises(ConnectionFailed) as refused:
            await c._transport.call("POST", path, body=b"{}", idempotent=False)
    assert refused.value.attempts == 3


async def test_it_gives_up_when_attempts_run_out(
    proxy: FaultProxy, collection: str, client: AsyncZoroClient
) -> None:
    await client.get_collection(collection)
    proxy.add("POST", f"/collections/{collection}/points/count", *[Status(503, "0")] * 10)
    policy = RetryPolicy(max_attempts=3, backoff_initial_s=0.01)
    async with AsyncZoroClient(proxy.url, retry=policy) as c:
        with pytest.raises(Unavailable, match=r"injected 503 \(gave up after 3 attempts") as caught:
            await c.count(collection)
    assert caught.value.attempts == 3
    assert proxy.count("POST") == 3


async def test_it_gives_up_at_once_when_retry_after_passes_the_time_budget(
    proxy: FaultProxy, collection: str
) -> None:
    proxy.add("POST", f"/collections/{collection}/points/count", Status(429, "30"))
    policy = RetryPolicy(max_attempts=5, max_total_s=2.0)
    async with AsyncZoroClient(proxy.url, retry=policy) as c:
        started = trio.current_time()
        with pytest.raises(Overloaded, match="injected 429") as caught:
            await c.count(collection)
    assert trio.current_time() - started < 1.0
    assert caught.value.retry_after_s == 30.0
    assert caught.value.attempts == 1


async def test_errors_that_will_not_change_are_not_retried(
    via: AsyncZoroClient, proxy: FaultProxy, collection: str
) -> None:
    proxy.add("POST", f"/collections/{collection}/points/count", Status(400))
    with pytest.raises(InvalidInput, match="injected 400") as caught:
        await via.count(collection)
    assert caught.value.attempts == 1
    assert proxy.count("POST") == 1


async def test_an_unreachable_server_is_a_connection_error_after_the_budget() -> None:
    policy = RetryPolicy(max_attempts=3, backoff_initial_s=0.01)
    async with AsyncZoroClient(f"http://127.0.0.1:{free_port()}", retry=policy) as c:
        assert await c.health() is False
        with pytest.raises(ConnectionFailed, match="gave up after 3 attempts") as caught:
            await c.list_collections()
    assert caught.value.status is None


async def test_upload_retries_failed_batches(nursery: trio.Nursery) -> None:
    fake = FaultProxy(None)  # answers every upsert itself
    await nursery.start(fake.run)
    fake.add("PUT", "/collections/c/points", DROP, Status(503, "0"), LOSE, Status(429, "0"))
    policy = RetryPolicy(max_attempts=5, backoff_initial_s=0.01)
    async with AsyncZoroClient(fake.url) as c:
        c._vector_params["c"] = {"": VectorParams(4, "Cosine")}  # no GET on the fake
        result = await c.upload(
            "c", range(1000), np.ones((1000, 4)), batch_size=100, parallel=3, retry=policy
        )
    assert (result.points, result.batches) == (1000, 10)
    assert 1 <= result.retried_batches <= 4
    assert fake.count("PUT") == 14


async def test_upload_stops_when_a_batch_keeps_failing(nursery: trio.Nursery) -> None:
    fake = FaultProxy(None)
    await nursery.start(fake.run)
    fake.add("PUT", "/collections/c/points", *[Status(503, "0")] * 50)
    policy = RetryPolicy(max_attempts=2, backoff_initial_s=0.01)
    async with AsyncZoroClient(fake.url) as c:
        c._vector_params["c"] = {"": VectorParams(4, "Cosine")}
        with pytest.raises(Unavailable) as caught:
            await c.upload(
                "c", range(1000), np.ones((1000, 4)), batch_size=100, parallel=2, retry=policy
            )
    assert any("uploading again is safe" in note for note in caught.value.__notes__)
    assert fake.count("PUT") <= 2 * 3  # at most the batches in flight, twice each


async def test_a_lost_create_of_named_vectors_is_settled_or_a_conflict(
    via: AsyncZoroClient, proxy: FaultProxy, client: AsyncZoroClient, name: str
) -> None:
    """After a lost answer, a 409 is settled by comparing the whole declaration: dense names,
    sizes, distances, multivector or not, sparse names and modifiers."""
    dense = {"a": VectorParams(4, "Dot"), "b": VectorParams(2, "Euclid")}
    sparse = {"w": SparseVectorParams("idf")}
    proxy.add("PUT", f"/collections/{name}", LOSE)
    await via.create_collection(name, vectors=dense, sparse_vectors=sparse)
    assert [m for m, p, _ in proxy.seen if p == f"/collections/{name}"] == ["PUT", "PUT", "GET"]
    for other in (
        {"vectors": dense, "sparse_vectors": {"w": SparseVectorParams()}},
        {"vectors": {"a": VectorParams(4, "Dot")}, "sparse_vectors": sparse},
        {"vectors": {**dense, "a": VectorParams(4, "Cosine")}, "sparse_vectors": sparse},
    ):
        proxy.add("PUT", f"/collections/{name}", LOSE)
        with pytest.raises(Conflict, match="already exists with other vectors"):
            await via.create_collection(name, **other)  # type: ignore[arg-type]
    assert (await client.get_collection(name)).sparse_vectors == sparse
