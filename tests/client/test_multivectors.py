"""Multivectors (Qdrant's `multivector_config: {"comparator": "max_sim"}`) through the client,
against a real server, in the server's shapes: a point carries a matrix (a list of rows of the
vector's size), a query may be a matrix, and a hit scores the MaxSim sum (for each query row,
its best similarity among the point's rows)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import pytest

from tests.client.test_cli import run
from zoro.client import (
    AsyncZoroClient,
    DimensionMismatch,
    InvalidInput,
    Prefetch,
    SparseVectorParams,
    VectorParams,
)

if TYPE_CHECKING:
    from pathlib import Path

    from zoro.testing import ServerProcess

COLBERT = VectorParams(4, "Dot", multivector=True)


def max_sim(query: Any, document: Any) -> float:
    return float((np.asarray(query) @ np.asarray(document).T).max(axis=1).sum())


def matrices(n: int, seed: int) -> list[list[list[float]]]:
    """n small matrices of 1..3 rows, values exact in float32 (multiples of 1/8)."""
    rng = np.random.default_rng(seed)
    return [(rng.integers(-8, 9, (int(rng.integers(1, 4)), 4)) / 8).tolist() for _ in range(n)]


@pytest.fixture
async def multi(client: AsyncZoroClient, name: str) -> str:
    """ "colbert" (a Dot multivector of 4-wide rows), "dense" (3, Cosine), "words" (sparse)."""
    await client.create_collection(
        name,
        vectors={"colbert": COLBERT, "dense": VectorParams(3, "Cosine")},
        sparse_vectors={"words": SparseVectorParams()},
    )
    return name


async def test_declared_and_described(client: AsyncZoroClient, multi: str) -> None:
    info = await client.get_collection(multi)
    assert info.vectors["colbert"] == COLBERT
    assert info.vectors["dense"].multivector is False


async def test_matrices_round_trip_optional_per_point(client: AsyncZoroClient, multi: str) -> None:
    docs = matrices(4, 1)
    await client.upsert(
        multi,
        [1, 2, 3, 4],
        {"colbert": [docs[0], None, docs[2], docs[3]], "dense": [None, [0, 3, 4], None, None]},
    )
    await client.upsert_point(multi, 5, {"colbert": np.asarray(docs[1]), "dense": [1, 0, 0]})
    got = {p.id: p.vectors for p in await client.retrieve(multi, range(1, 6), with_vector=True)}
    as_rows = [tuple(tuple(row) for row in doc) for doc in docs]
    assert got[1] == {"colbert": as_rows[0]}
    assert got[2] == {"dense": pytest.approx((0.0, 0.6, 0.8))}
    assert got[5] == {"colbert": as_rows[1], "dense": (1.0, 0.0, 0.0)}
    only = await client.retrieve(multi, [3], with_vector=["colbert"])
    assert only[0].vectors == {"colbert": as_rows[2]}


async def test_cosine_rows_come_back_normalised(client: AsyncZoroClient, name: str) -> None:
    await client.create_collection(name, vectors={"m": VectorParams(2, "Cosine", multivector=True)})
    await client.upsert(name, [1], {"m": [[[3, 4], [0, 2]]]})
    (point,) = await client.retrieve(name, [1], with_vector=True)
    assert point.vectors is not None
    assert point.vectors["m"] == (pytest.approx((0.6, 0.8)), pytest.approx((0.0, 1.0)))


async def test_search_by_matrix_scores_max_sim(client: AsyncZoroClient, multi: str) -> None:
    docs = matrices(30, 2)
    await client.upload(multi, range(30), {"colbert": docs}, batch_size=7)
    query = [[0.5, -0.25, 1.0, 0.0], [0.0, 0.75, -0.5, 0.25]]
    expected = sorted(range(30), key=lambda i: -max_sim(query, docs[i]))[:5]
    hits = await client.search(multi, query, using="colbert", limit=5, exact=True)
    assert [h.id for h in hits] == expected
    assert [h.score for h in hits] == pytest.approx([max_sim(query, docs[i]) for i in expected])
    batch = await client.search_batch(multi, np.asarray([query, query]), using="colbert", limit=1)
    assert [a[0].id for a in batch] == [expected[0]] * 2
    fused = await client.search_fused(
        multi, [Prefetch(query, using="colbert", limit=5), Prefetch(query, using="colbert")]
    )
    assert fused[0].id == expected[0]


async def test_upload_points_with_multivectors(client: AsyncZoroClient, multi: str) -> None:
    docs = matrices(5, 3)
    points = [{"id": i, "vector": {"colbert": doc}} for i, doc in enumerate(docs)]
    result = await client.upload_points(multi, points, batch_size=2)
    assert result.points == 5
    got = await client.retrieve(multi, [4], with_vector=True)
    assert got[0].vectors == {"colbert": tuple(tuple(row) for row in docs[4])}


async def test_multivector_faults_are_named_before_sending(
    client: AsyncZoroClient, name: str
) -> None:
    """The shape checks need no declaration and no server support: they fail before any
    request (the collection `name` does not even exist)."""
    cases: list[tuple[Any, str]] = [
        ({"colbert": [[[1, 2, 3, 4], [1, 2]]]}, "row 1 has 2 numbers, row 0 has 4"),
        ({"colbert": [[[]]]}, "at least one row"),
        ({"colbert": [[]]}, "empty vectors"),
        ({"colbert": [[[1, 2, 3, float("nan")]]]}, "row 0 holds NaN"),
        ({"colbert": [[[True, False, True, False]]]}, "holds true/false"),
        ({"colbert": [[[1, 2, 3, 4]], [[1, 2, 3]]]}, "different widths"),
        ({"colbert": [[[1, 2, 3, 4]], [1, 2, 3, 4]]}, "mixes dense and multi"),
    ]
    for vectors, message in cases:
        with pytest.raises(InvalidInput, match=message) as caught:
            await client.upsert(name, range(len(vectors["colbert"])), vectors)
        assert caught.value.status is None
    with pytest.raises(InvalidInput, match="row 1 has 1 numbers"):
        await client.search(name, [[1, 2], [3]], using="colbert")


async def test_declared_sizes_and_kinds_are_checked(client: AsyncZoroClient, multi: str) -> None:
    await client.get_collection(multi)
    with pytest.raises(DimensionMismatch, match=r"vectors\['colbert'\]: expected dimension 4"):
        await client.upsert(multi, [1], {"colbert": [[[1, 2, 3]]]})
    with pytest.raises(InvalidInput, match="'colbert' is a multivector: give a matrix"):
        await client.upsert(multi, [1], {"colbert": [[1, 2, 3, 4]]})
    with pytest.raises(InvalidInput, match="'dense' is a dense vector, not a multivector"):
        await client.search(multi, [[1, 2, 3]], using="dense")
    with pytest.raises(DimensionMismatch, match="expected dimension 4, got 2"):
        await client.search(multi, [[1, 2]], using="colbert")


def test_the_cli_declares_imports_and_searches_multivectors(
    server: ServerProcess,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def cli(*args: str) -> tuple[int, str, str]:
        return run(server, monkeypatch, capsys, *args)

    docs = matrices(20, 4)
    with (tmp_path / "docs.jsonl").open("wb") as out:
        for i, doc in enumerate(docs):
            out.write(orjson.dumps({"id": i, "vector": {"colbert": doc}}) + b"\n")
    created = cli("collections", "create", "cli_multi", "--vector", "colbert:4:Dot:multi")
    assert created == (0, "created cli_multi (colbert 4 Dot multi, hnsw)\n", "")
    info = orjson.loads(cli("collections", "info", "cli_multi", "--json")[1])
    assert info["vectors"] == {"colbert": {"size": 4, "distance": "Dot", "multivector": "max_sim"}}
    assert cli("import", "cli_multi", str(tmp_path / "docs.jsonl"), "--no-progress")[0] == 0
    query = [[0.5, 0.0, -0.5, 1.0]]
    best = max(range(20), key=lambda i: max_sim(query, docs[i]))
    code, out, _ = cli("search", "cli_multi", "--using", "colbert", "--vector", str(query))
    assert (code, out.split("\t")[0]) == (0, str(best))
    # a .npz (n, rows, d) array is declared a multivector by import --create
    np.savez(tmp_path / "m.npz", **{"vector.m": np.ones((3, 2, 5))})
    code, out, _ = cli("import", "cli_multi_npz", str(tmp_path / "m.npz"), "--create")
    assert "created cli_multi_npz (m 5 Cosine multi)" in out
