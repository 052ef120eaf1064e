"""The client's queries by example, by payload order and at random, against a real server (under
trio). Points lie on a line, so the expected answers can be worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from zoro.client import AsyncZoroClient, InvalidInput, NotFound, order_by


@pytest.fixture
async def line(client: AsyncZoroClient, name: str) -> str:
    """Points 0..9: point i at (i + 1, 1, 0, 0) (Dot), payload {"i": i, "price": 10 - i}."""
    await client.create_collection(name, 4, "Dot", engine="flat")
    vectors = np.zeros((10, 4))
    vectors[:, 0] = np.arange(10) + 1
    vectors[:, 1] = 1
    await client.upsert(name, range(10), vectors, [{"i": i, "price": 10.0 - i} for i in range(10)])
    await client.create_payload_index(name, "price", "float")
    return name


async def test_recommend(client: AsyncZoroClient, line: str) -> None:
    # average of points 8 and 9 ((9.5, 1, 0, 0)): Dot favours the largest first coordinate
    hits = await client.recommend(line, [8, 9], limit=3)
    assert [h.id for h in hits] == [7, 6, 5]  # the examples are left out
    # best_score against a vector pointing the other way: the smallest first coordinate wins
    hits = await client.recommend(line, [[-1.0, 0, 0, 0]], strategy="best_score", limit=2)
    assert [h.id for h in hits] == [0, 1]
    assert hits[0].score == pytest.approx(0.5 * (-1 / 2 + 1))  # half-sigmoid of -1
    hits = await client.recommend(line, negative=[0], strategy="sum_scores", limit=1)
    assert [h.id for h in hits] == [1]  # Dot with point 0 is smallest for point 1
    with pytest.raises(InvalidInput, match="strategy"):
        await client.recommend(line, [1], strategy="median")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="positive"):
        await client.recommend(line, negative=[1])
    with pytest.raises(NotFound):
        await client.recommend(line, [77])


async def test_discover_and_context(client: AsyncZoroClient, line: str) -> None:
    hits = await client.discover(line, target=5, context=[(9, 0)], limit=3)
    assert all(h.score > 1 for h in hits)  # all on the positive side of the pair
    assert 5 not in {h.id for h in hits}
    hits = await client.context_search(
        line, [(9, 0)], limit=10, filter={"must": [{"key": "i", "range": {"gte": 3}}]}
    )
    assert {h.id for h in hits} <= set(range(3, 9))
    with pytest.raises(InvalidInput, match="pair"):
        await client.context_search(line, [(1, 2, 3)])  # type: ignore[list-item]


async def test_ordered_sample_and_scroll_by_order(client: AsyncZoroClient, line: str) -> None:
    hits = await client.ordered(line, "price", limit=3)
    assert [(h.id, h.order_value) for h in hits] == [(9, 1.0), (8, 2.0), (7, 3.0)]
    hits = await client.ordered(line, "price", descending=True, start_from=5.0, limit=2)
    assert [h.id for h in hits] == [5, 6]
    page = await client.scroll_page(line, order_by=order_by("price", start_from=8.5), limit=5)
    assert [(p.id, p.order_value) for p in page.points] == [(1, 9.0), (0, 10.0)]
    assert page.next_offset is None
    sample = await client.sample(line, limit=4)
    assert len({h.id for h in sample}) == 4
    with pytest.raises(InvalidInput, match="index"):
        await client.ordered(line, "i")
    with pytest.raises(InvalidInput, match="offset"):
        await client.scroll_page(line, order_by="price", offset=3)
