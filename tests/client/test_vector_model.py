"""Qdrant's vector model through the client, against a real server: collections of named dense,
sparse and no vectors; points carrying any subset; upsert, upload and upload_points; records
parsed back by name; `using`, sparse queries and fusion. What is uploaded is what retrieve gives
back (dense vectors normalised for Cosine, sparse ones sorted by index, as the server stores
them)."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest

from zoro.client import (
    AsyncZoroClient,
    DimensionMismatch,
    HnswParams,
    InvalidInput,
    Prefetch,
    Record,
    SparseVector,
    SparseVectorParams,
    VectorParams,
)
from zoro.testing import ServerProcess

DENSE = VectorParams(3, "Cosine", HnswParams(m=8, ef_construct=32), on_disk=True)
EUCLID = VectorParams(2, "Euclid")
WORDS = SparseVectorParams(modifier="idf")


@pytest.fixture
async def named(client: AsyncZoroClient, name: str) -> str:
    """A collection with two named dense vectors ("dense", Cosine; "plane", Euclid) and two
    sparse ones ("words" with IDF, "tags" plain)."""
    await client.create_collection(
        name,
        vectors={"dense": DENSE, "plane": EUCLID},
        sparse_vectors={"words": WORDS, "tags": SparseVectorParams()},
        engine="flat",
    )
    return name


def cosine(vector: Any) -> tuple[float, ...]:
    row = np.asarray(vector, dtype=np.float32)
    return tuple((row / np.linalg.norm(row)).tolist())


def sorted_sparse(value: Any) -> SparseVector:
    pairs = sorted(zip(value["indices"], value["values"], strict=True))
    return SparseVector(tuple(i for i, _ in pairs), tuple(float(v) for _, v in pairs))


async def test_create_and_describe_named_sparse_and_none(
    client: AsyncZoroClient, named: str, name: str
) -> None:
    info = await client.get_collection(named)
    assert info.vectors == {"dense": DENSE, "plane": EUCLID}
    assert info.sparse_vectors == {"words": WORDS, "tags": SparseVectorParams()}
    assert (info.vector, info.dimension, info.distance) == (None, 0, "")
    assert info.params("dense") == DENSE
    assert info.params("") is None
    # the unnamed vector among named ones, and a collection of sparse vectors only
    await client.create_collection(
        name + "u", vectors={"": VectorParams(2, "Dot"), "other": VectorParams(4, "Manhattan")}
    )
    mixed = await client.get_collection(name + "u")
    assert (mixed.vector, mixed.dimension, mixed.distance) == (VectorParams(2, "Dot"), 2, "Dot")
    assert mixed.vectors == {"other": VectorParams(4, "Manhattan")}
    await client.create_collection(name + "s", sparse_vectors={"bm25": WORDS})
    only_sparse = await client.get_collection(name + "s")
    assert (only_sparse.vectors, only_sparse.vector) == ({}, None)
    assert only_sparse.sparse_vectors == {"bm25": WORDS}


async def test_a_collection_without_vectors_holds_payloads(
    client: AsyncZoroClient, name: str
) -> None:
    await client.create_collection(name)
    info = await client.get_collection(name)
    assert (info.vector, info.vectors, info.sparse_vectors) == (None, {}, {})
    await client.upsert(name, [1, 2], [None, {}], [{"a": 1}, {"a": 2}])
    await client.upsert_point(name, 3, {}, {"a": 3})
    points = await client.retrieve(name, [1, 2, 3])
    assert [(p.id, p.payload) for p in points] == [(1, {"a": 1}), (2, {"a": 2}), (3, {"a": 3})]
    assert await client.count(name, {"must": [{"key": "a", "range": {"gte": 2}}]}) == 2


async def test_points_carry_any_subset_and_come_back_by_name(
    client: AsyncZoroClient, named: str
) -> None:
    words = [{"indices": [7, 2], "values": [0.5, 1.5]}, None, {"indices": [], "values": []}]
    await client.upsert(
        named,
        [1, 2, 3],
        {"dense": [[1, 2, 2], None, [0, 0, 5]], "words": words, "plane": np.ones((3, 2))},
        [{"n": 1}, {"n": 2}, {"n": 3}],
    )
    await client.upsert(named, [4, 5], [{"tags": SparseVector((1,), (1.0,))}, {}])
    got = {p.id: p for p in await client.retrieve(named, range(1, 6), with_vector=True)}
    assert got[1].vectors == {
        "dense": pytest.approx(cosine([1, 2, 2])),
        "plane": (1.0, 1.0),
        "words": sorted_sparse(words[0]),
    }
    assert got[2].vectors == {"plane": (1.0, 1.0)}
    assert got[3].vectors is not None
    assert got[3].vectors["words"] == SparseVector((), ())
    assert got[4] == Record(4, {}, None, {"tags": SparseVector((1,), (1.0,))})
    assert got[5] == Record(5, {}, None, {})
    assert all(p.vector is None for p in got.values())  # no unnamed vector here
    # a selection of names, in scroll and get_point
    page = await client.scroll_page(named, with_vector=["words"], with_payload=False)
    assert [p.vectors for p in page.points][:2] == [{"words": sorted_sparse(words[0])}, {}]
    one = await client.get_point(named, 1)
    assert one.vectors is not None
    assert set(one.vectors) == {"dense", "plane", "words"}


async def test_searches_by_name_sparse_and_fused(client: AsyncZoroClient, named: str) -> None:
    await client.upsert(
        named,
        range(6),
        {
            "plane": [[float(i), 0.0] for i in range(6)],
            "words": [{"indices": [i, 100], "values": [1.0, 0.1]} for i in range(6)],
        },
        [{"i": i} for i in range(6)],
    )
    hits = await client.search(named, [2.2, 0], using="plane", limit=2, with_vector=["plane"])
    assert [(h.id, h.vectors) for h in hits] == [
        (2, {"plane": (2.0, 0.0)}),
        (3, {"plane": (3.0, 0.0)}),
    ]
    sparse = await client.search(named, SparseVector((4,), (1.0,)), using="words", limit=1)
    assert [h.id for h in sparse] == [4]
    near = await client.search_by_id(named, 0, using="plane", limit=1)
    assert [h.id for h in near] == [1]
    batch = await client.search_batch(
        named, [{"indices": [1], "values": [1]}, {"indices": [5], "values": [1]}], using="words"
    )
    assert [a[0].id for a in batch] == [1, 5]
    fused = await client.search_fused(
        named,
        [
            Prefetch([4.9, 0], using="plane", limit=3),
            Prefetch({"indices": [5], "values": [2.0]}, using="words", limit=3),
        ],
        limit=1,
    )
    assert [h.id for h in fused] == [5]
    with pytest.raises(DimensionMismatch, match=r"expected dimension 2, got 3"):
        await client.search(named, [1, 2, 3], using="plane")


async def test_upload_named_columns_in_batches(client: AsyncZoroClient, named: str) -> None:
    rng = np.random.default_rng(5)
    n = 2_500
    dense = rng.random((n, 3), dtype=np.float32) + 0.1
    words = [
        {"indices": [i % 97, 1000 + i], "values": [1.0, float(i)]} if i % 3 else None
        for i in range(n)
    ]
    done: list[int] = []
    result = await client.upload(
        named,
        range(n),
        {"dense": dense, "words": words},
        ({"i": i} for i in range(n)),
        batch_size=400,
        parallel=3,
        progress=done.append,
    )
    assert (result.points, result.batches, sum(done)) == (n, 7, n)
    assert await client.count(named) == n
    sample = [0, 1, 2, 1234, n - 1]
    for point in await client.retrieve(named, sample, with_vector=True):
        i = int(point.id)  # type: ignore[arg-type]
        assert point.payload == {"i": i}
        assert point.vectors is not None
        assert point.vectors["dense"] == pytest.approx(cosine(dense[i]), abs=1e-6)
        if words[i] is None:
            assert "words" not in point.vectors
        else:
            assert point.vectors["words"] == sorted_sparse(words[i])


async def test_upload_points_with_named_vectors(client: AsyncZoroClient, named: str) -> None:
    points = [
        {"id": 1, "vector": {"plane": [1, 2], "tags": {"indices": [3], "values": [1]}}},
        (2, {"dense": [0, 3, 4]}, {"two": 2}),
        (3, {}),
        {"id": 4, "vector": {"plane": [5, 6]}, "payload": {"four": 4}},
    ]
    result = await client.upload_points(named, iter(points), batch_size=3)
    assert (result.points, result.batches) == (4, 2)
    got = await client.retrieve(named, [1, 2, 3, 4], with_vector=True)
    assert [p.vectors for p in got] == [
        {"plane": (1.0, 2.0), "tags": SparseVector((3,), (1.0,))},
        {"dense": pytest.approx((0.0, 0.6, 0.8))},
        {},
        {"plane": (5.0, 6.0)},
    ]


async def test_the_unnamed_vector_beside_named_ones(client: AsyncZoroClient, name: str) -> None:
    await client.create_collection(
        name, vectors={"": VectorParams(2, "Euclid"), "n": VectorParams(2, "Dot")}
    )
    await client.upsert(name, [1, 2], [[1, 2], {"": [3, 4], "n": [5, 6]}])
    one, two = await client.retrieve(name, [1, 2], with_vector=True)
    assert (one.vector, one.vectors) == ((1.0, 2.0), None)  # "" alone: shown bare
    assert (two.vector, two.vectors) == ((3.0, 4.0), {"": (3.0, 4.0), "n": (5.0, 6.0)})
    hits = await client.search(name, [3, 4], limit=1)  # no `using`: the unnamed one
    assert hits[0].id == 2
    with pytest.raises(DimensionMismatch, match=r"vectors\['n'\]: expected dimension 2"):
        await client.upsert(name, [3], {"n": [[1, 2, 3]]})


BAD_POINTS: list[tuple[str, Any, str]] = [
    ("size", {"plane": [[1, 2, 3]]}, r"expected dimension 2, got 3"),
    ("nan", {"plane": [[1, float("nan")]]}, "NaN"),
    ("beyond f32", {"plane": [[1e39, 0]]}, "beyond float32"),
    ("repeated index", {"words": [{"indices": [1, 1], "values": [1, 2]}]}, "unique"),
    ("negative index", {"words": [{"indices": [-1], "values": [1]}]}, r"0..2\^32-1"),
    ("index past u32", {"words": [{"indices": [2**32], "values": [1]}]}, r"0..2\^32-1"),
    ("lengths", {"words": [{"indices": [1, 2], "values": [1]}]}, "2 indices for 1 values"),
    ("sparse inf", {"words": [{"indices": [1], "values": [float("inf")]}]}, "NaN or infinity"),
    ("bool value", {"words": [{"indices": [1], "values": [True]}]}, "values of numbers"),
]


@pytest.mark.parametrize(
    ("case", "vectors", "message"), BAD_POINTS, ids=[c for c, *_ in BAD_POINTS]
)
async def test_the_client_refuses_what_the_server_refuses(
    client: AsyncZoroClient,
    server: ServerProcess,
    named: str,
    case: str,
    vectors: Any,
    message: str,
) -> None:
    """Each bad vector is refused by the client before sending, and by the server when sent."""
    await client.get_collection(named)  # the client knows the sizes
    with pytest.raises(InvalidInput, match=message) as caught:
        await client.upsert(named, [1], vectors)
    assert caught.value.status is None
    # orjson cannot write NaN or infinity; Python's json writes them as the tokens JSON lacks,
    # so those cases are sent as the largest float instead (still not a finite float32)
    wire = {k: [_json_safe(v) for v in rows] for k, rows in vectors.items()}
    async with httpx.AsyncClient(base_url=server.url) as raw:
        answer = await raw.put(
            f"/collections/{named}/points",
            json={"batch": {"ids": [1], "vectors": wire}},
            params={"wait": "true"},
        )
    assert answer.status_code == 400, (case, answer.text)
    assert await client.count(named) == 0


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return 1e300
    return value


async def test_filters_on_which_vectors_a_point_has(client: AsyncZoroClient, named: str) -> None:
    """has_vector in count, scroll, search and delete by filter; and a payload index beside it."""
    await client.upsert(
        named,
        range(6),
        {"plane": [[float(i), 0.0] if i % 2 else None for i in range(6)], "dense": np.ones((6, 3))},
        [{"lang": "en" if i < 3 else "de"} for i in range(6)],
    )
    await client.create_payload_index(named, "lang", "keyword")
    has_plane = {"must": [{"has_vector": "plane"}]}
    assert await client.count(named, has_plane) == 3
    english_plane = {"must": [{"has_vector": "plane"}, {"key": "lang", "match": {"value": "en"}}]}
    assert [p.id async for p in client.scroll(named, filter=english_plane)] == [1]
    hits = await client.search(
        named, [1, 1, 1], using="dense", filter={"must_not": has_plane["must"]}
    )
    assert sorted(h.id for h in hits) == [0, 2, 4]
    await client.delete(named, filter=has_plane)
    assert [p.id async for p in client.scroll(named)] == [0, 2, 4]
