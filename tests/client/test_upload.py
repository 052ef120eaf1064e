"""Bulk upload against a real server, under trio."""

from __future__ import annotations

import io

import numpy as np
import pytest

from zoro.client import AsyncZoroClient, InvalidInput, ProgressLine


async def test_upload_an_array_in_parallel_batches(
    client: AsyncZoroClient, collection: str
) -> None:
    vectors = np.random.default_rng(1).random((5_000, 4), dtype=np.float32)
    done: list[int] = []
    result = await client.upload(
        collection,
        range(5_000),
        vectors,
        ({"i": i} for i in range(5_000)),
        batch_size=700,
        parallel=3,
        progress=done.append,
    )
    assert (result.points, result.batches, result.retried_batches) == (5_000, 8, 0)
    assert sorted(done) == [100] + [700] * 7
    assert result.points_per_s > 0
    assert await client.count(collection) == 5_000
    (point,) = await client.retrieve(collection, [4321], with_vector=True)
    assert point.payload == {"i": 4321}
    assert point.vector == pytest.approx(tuple(vectors[4321].tolist()))


async def test_upload_from_iterators_with_generated_ids(
    client: AsyncZoroClient, collection: str
) -> None:
    rows = ([float(i), 0.0, 0.0, 1.0] for i in range(1_234))
    result = await client.upload(collection, None, rows, batch_size=500, parallel=2)
    assert result.points == 1_234
    ids = [p.id async for p in client.scroll(collection, page_size=1_000)]
    assert len(set(ids)) == 1_234
    assert all(isinstance(i, str) and len(i) == 36 for i in ids)


async def test_upload_points_one_by_one(client: AsyncZoroClient, collection: str) -> None:
    points = [
        (1, [1, 0, 0, 0]),
        (2, [0, 1, 0, 0], {"two": 2}),
        {"id": 3, "vector": [0, 0, 1, 0], "payload": {"three": 3}},
    ]
    result = await client.upload_points(collection, iter(points), batch_size=2)
    assert (result.points, result.batches) == (3, 2)
    got = await client.retrieve(collection, [1, 2, 3])
    assert [p.payload for p in got] == [{}, {"two": 2}, {"three": 3}]


async def test_ids_and_vectors_must_agree(client: AsyncZoroClient, collection: str) -> None:
    with pytest.raises(InvalidInput, match="4 ids for the 3 vectors from point 0"):
        await client.upload(collection, range(4), np.ones((3, 4)))
    with pytest.raises(InvalidInput, match="more ids than the 4 vectors"):
        await client.upload(collection, iter(range(5)), np.ones((4, 4)), batch_size=2)
    with pytest.raises(InvalidInput, match="1 payloads for the 2 vectors from point 2"):
        await client.upload(collection, range(4), np.ones((4, 4)), [{}] * 3, batch_size=2)
    with pytest.raises(InvalidInput, match=r"points\[1\]"):
        await client.upload_points(collection, [(1, [1, 1, 1, 1]), "nope"])


async def test_a_bad_batch_stops_the_upload_and_says_where(
    client: AsyncZoroClient, collection: str
) -> None:
    vectors = np.ones((1_000, 4))
    vectors[650] = np.inf
    with pytest.raises(InvalidInput, match="NaN or infinity") as caught:
        await client.upload(collection, range(1_000), vectors, batch_size=100, parallel=2)
    assert any("point 600" in note for note in caught.value.__notes__)
    assert await client.count(collection) <= 600  # earlier batches may be stored; later not


async def test_the_progress_line() -> None:
    out = io.StringIO()
    line = ProgressLine(1_000, stream=out, label="up: ")
    line._every_s = 0.0
    line.update(250)
    line.close()
    text = out.getvalue().splitlines()
    assert text[0].startswith("up: 250/1,000 points (25%)")
    assert text[1].startswith("up: 250 points in ")
    assert "points/s" in text[1]


async def test_progress_true_writes_to_stderr(
    client: AsyncZoroClient, collection: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await client.upload(collection, range(10), np.ones((10, 4)), progress=True)
    assert "10 points in" in capsys.readouterr().err
