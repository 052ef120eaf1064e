"""Grouped search, facets and the distance matrix through the client and the CLI, against a
real server. (Their answers are compared with Qdrant's local mode in tests/http.)"""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from tests.client.test_cli import zoro
from zoro.client import (
    AsyncZoroClient,
    FacetHit,
    InvalidInput,
    MatrixPair,
    NotFound,
    PointGroup,
)
from zoro.testing import ServerProcess


@pytest.fixture
async def line(client: AsyncZoroClient, collection: str) -> str:
    """Points 0..11 on a line at (i, 0, 0, 0), in colour i % 3, a keyword index on colour."""
    vectors = np.zeros((12, 4))
    vectors[:, 0] = np.arange(12)
    colours = ["red", "green", "blue"]
    await client.upsert(collection, range(12), vectors, [{"c": colours[i % 3]} for i in range(12)])
    await client.create_payload_index(collection, "c", "keyword")
    return collection


async def test_search_groups(client: AsyncZoroClient, line: str, name: str) -> None:
    found = await client.search_groups(line, [4.1, 0, 0, 0], "c", group_size=2, limit=2)
    assert found == [
        PointGroup("green", [_hit(found, 0, 0), _hit(found, 0, 1)]),
        PointGroup("blue", [_hit(found, 1, 0), _hit(found, 1, 1)]),
    ]
    assert [[h.id for h in g.hits] for g in found] == [[4, 7], [5, 2]]
    assert found[0].hits[0].payload == {"c": "green"}
    only_red = {"must": [{"key": "c", "match": {"value": "red"}}]}
    red = await client.search_groups(line, [4.1, 0, 0, 0], "c", filter=only_red, group_size=9)
    assert [(g.id, [h.id for h in g.hits]) for g in red] == [("red", [3, 6, 0, 9])]
    with pytest.raises(InvalidInput, match="group_size"):
        await client.search_groups(line, [0, 0, 0, 0], "c", group_size=0)
    with pytest.raises(NotFound):
        await client.search_groups(line, [0, 0, 0, 0], "c", with_lookup=f"{name}-none")


async def test_recommend_groups(client: AsyncZoroClient, line: str, name: str) -> None:
    # the average of point 4 and (4.4, 0, 0, 0) is (4.2, 0, 0, 0): nearest 5, 3, 6, 2 (4 left out)
    found = await client.recommend_groups(line, "c", [4, [4.4, 0, 0, 0]], group_size=2, limit=2)
    assert [(g.id, [h.id for h in g.hits]) for g in found] == [("blue", [5, 2]), ("red", [3, 6])]
    assert found[0].hits[0].score == pytest.approx(0.8)
    # best_score: like 0 and unlike 11, read in another collection (so not left out here)
    other = f"{name}-other"
    await client.create_collection(other, 4, "Euclid", engine="flat")
    await client.upsert(other, [0, 11], [[8.2, 0, 0, 0], [0.0, 0, 0, 0]], [{"c": "x"}] * 2)
    found = await client.recommend_groups(
        line,
        "c",
        [0],
        [11],
        strategy="best_score",
        lookup_from=other,
        group_size=1,
        limit=3,
        with_lookup=other,
        filter={"must_not": [{"has_id": [8]}]},
    )
    assert [(g.id, [h.id for h in g.hits]) for g in found] == [
        ("red", [9]),
        ("green", [7]),
        ("blue", [11]),
    ]
    assert all(g.lookup is None for g in found)  # no point there has a colour's id
    with pytest.raises(InvalidInput, match="strategy"):
        await client.recommend_groups(line, "c", [1], strategy="median")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="group_by"):
        await client.recommend_groups(line, "", [1])
    with pytest.raises(InvalidInput, match="positive"):
        await client.recommend_groups(line, "c", negative=[1])
    with pytest.raises(NotFound):
        await client.recommend_groups(line, "c", [77])


def _hit(found: list[PointGroup], group: int, hit: int) -> object:
    return found[group].hits[hit]


async def test_facet(client: AsyncZoroClient, line: str) -> None:
    await client.delete(line, ids=[0])
    assert await client.facet(line, "c") == [
        FacetHit("blue", 4),
        FacetHit("green", 4),
        FacetHit("red", 3),
    ]
    assert await client.facet(line, "c", limit=1, filter={"must": [{"has_id": [1, 2, 5]}]}) == [
        FacetHit("blue", 2)
    ]
    with pytest.raises(InvalidInput, match="No appropriate index"):
        await client.facet(line, "nothing")


async def test_distance_matrix(client: AsyncZoroClient, line: str) -> None:
    pairs = await client.distance_matrix(line, sample=12, limit=1)
    assert len(pairs) == 12
    assert pairs[0] == MatrixPair(0, 1, pytest.approx(1.0))  # type: ignore[arg-type]
    assert {(p.a, p.b) for p in pairs} >= {(5, 4), (11, 10)}
    offsets = await client.distance_matrix_offsets(line, sample=3, limit=2)
    assert len(offsets.ids) == 3
    assert offsets.rows == [0, 0, 1, 1, 2, 2]
    with pytest.raises(InvalidInput, match="sample"):
        await client.distance_matrix(line, sample=1)


async def test_cli(server: ServerProcess, line: str) -> None:
    grouped = zoro(server, "groups", line, "c", "--vector", "4.1,0,0,0", "--limit", "1")
    assert grouped.returncode == 0, grouped.stderr
    assert [row.split("\t")[:2] for row in grouped.stdout.splitlines()] == [
        ["green", "4"],
        ["green", "7"],
        ["green", "1"],
    ]
    counted = zoro(server, "facet", line, "c", "--limit", "2")
    assert counted.stdout.splitlines() == ['"blue"\t4', '"green"\t4']
    matrix = zoro(server, "matrix", line, "--sample", "4", "--limit", "1", "--offsets")
    assert len(orjson.loads(matrix.stdout)["ids"]) == 4
    liked = zoro(server, "groups", line, "c", "--recommend", "4", "--negative", "1", "--limit", "1")
    assert liked.returncode == 0, liked.stderr
    assert [row.split("\t")[:2] for row in liked.stdout.splitlines()] == [
        ["green", "7"],  # nearest to 4 + (4 - 1); 1 and 4 left out
        ["green", "10"],
    ]
    missing = zoro(server, "facet", line, "nothing")
    assert missing.returncode == 1
    assert "No appropriate index" in missing.stderr
