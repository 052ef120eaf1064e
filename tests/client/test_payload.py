"""Payload updates and batch updates through the async client, against a real server."""

from __future__ import annotations

import numpy as np
import pytest

from zoro.client import AsyncZoroClient, InvalidInput, NotFound

RED = {"must": [{"key": "color", "match": {"value": "red"}}]}


async def _payloads(client: AsyncZoroClient, collection: str) -> dict[object, object]:
    return {p.id: p.payload for p in await client.retrieve(collection, range(10))}


async def test_set_overwrite_delete_clear(client: AsyncZoroClient, collection: str) -> None:
    colors = [{"color": "red" if i % 2 else "blue", "n": {"a": i}} for i in range(4)]
    await client.upsert(collection, range(4), np.ones((4, 4)), colors)
    result = await client.set_payload(collection, {"hot": True}, filter=RED)
    assert result.status == "completed"
    await client.set_payload(collection, {"b": 2}, [0], key="n")
    await client.overwrite_payload(collection, {"only": 1}, [2])
    await client.delete_payload(collection, ["color", "n.a"], [0, 1])
    await client.clear_payload(collection, [3])
    assert await _payloads(client, collection) == {
        0: {"n": {"b": 2}},
        1: {"n": {}, "hot": True},
        2: {"only": 1},
        3: {},
    }


async def test_a_missing_point_is_not_found_after_the_rest(
    client: AsyncZoroClient, collection: str
) -> None:
    await client.upsert(collection, [1], np.ones((1, 4)))
    with pytest.raises(NotFound, match="77"):
        await client.set_payload(collection, {"x": 1}, [77, 1])
    assert (await client.get_point(collection, 1)).payload == {"x": 1}


async def test_batch_update_applies_in_order(client: AsyncZoroClient, collection: str) -> None:
    results = await client.batch_update(
        collection,
        [
            {
                "upsert": {
                    "points": [{"id": 5, "vector": [1, 2, 3, 4], "payload": {"color": "red"}}]
                }
            },
            {"set_payload": {"payload": {"seen": 1}, "filter": RED}},
            {"upsert": {"points": [{"id": 6, "vector": [1, 2, 3, 4]}]}},
            {"delete": {"points": [6]}},
        ],
    )
    assert [r.status for r in results] == ["completed"] * 4
    assert await _payloads(client, collection) == {5: {"color": "red", "seen": 1}}


async def test_bad_calls_are_refused_before_sending(
    client: AsyncZoroClient, collection: str
) -> None:
    with pytest.raises(InvalidInput, match="exactly one"):
        await client.set_payload(collection, {"a": 1})
    with pytest.raises(InvalidInput, match="exactly one"):
        await client.clear_payload(collection, [1], filter=RED)
    with pytest.raises(InvalidInput, match="JSON object"):
        await client.overwrite_payload(collection, [1, 2], [1])  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="keys"):
        await client.delete_payload(collection, "color", [1])
    with pytest.raises(InvalidInput, match="operations"):
        await client.batch_update(collection, [{"explode": {}}])
    with pytest.raises(InvalidInput, match="key"):  # the server's word on a bad path
        await client.set_payload(collection, {"a": 1}, [1], key="a..b")


async def test_conditional_upserts(client: AsyncZoroClient, collection: str) -> None:
    await client.upsert(collection, [1, 2], np.ones((2, 4)), [{"color": "red"}, {"color": "blue"}])
    await client.upsert(collection, [1, 2, 3], np.zeros((3, 4)), [{"v": 1}] * 3, update_filter=RED)
    assert await _payloads(client, collection) == {1: {"v": 1}, 2: {"color": "blue"}, 3: {"v": 1}}
    await client.upsert(
        collection, [3, 4], np.zeros((2, 4)), [{"v": 2}] * 2, update_mode="insert_only"
    )
    await client.upsert(
        collection, [4, 5], np.zeros((2, 4)), [{"v": 3}] * 2, update_mode="update_only"
    )
    assert await _payloads(client, collection) == {
        1: {"v": 1},
        2: {"color": "blue"},
        3: {"v": 1},
        4: {"v": 3},
    }
    with pytest.raises(InvalidInput, match="update_mode"):
        await client.upsert(collection, [1], np.zeros((1, 4)), update_mode="sometimes")
