"""The whole golden data directory (format version 1), opened by today's code, on a copy.

Opening it is a recovery: the catalog finishes the half-done delete of `doomed`, each store opens
as of its checkpoint and replays the WAL records logged after it, the ANN index loads the
persisted segment instead of rebuilding it, and the payload indexes load their files and catch up
with the replayed slots. After that every point, search and filter answers as the story says.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import trio

from tests.formats import golden_v1 as story
from tests.formats.golden_v1 import UUID_A, UUID_B, UUID_C, UUID_D, UUID_E
from zoro.actors import ActorState, CollectionManager
from zoro.actors.numbering import read_scope
from zoro.actors.recovery import open_durable
from zoro.ann import SegmentedIndex
from zoro.ann.segments import SegmentStats
from zoro.payload import Match, PayloadIndexes, parse_key
from zoro.settings import AnnSettings, Settings
from zoro.storage import Catalog
from zoro.testing import ServerProcess
from zoro.types import U64_MAX, PointId, ids_of, keys_of

GONE: dict[str, list[PointId]] = {"golden": [3, UUID_B, 4, UUID_A, 999], "flat": [11]}
# live ids in scroll order: integer ids ascending, then UUIDs by their bytes
SCROLL: dict[str, list[PointId]] = {
    "golden": [1, 2, 5, 6, U64_MAX, UUID_D, UUID_C],
    "flat": [10, 12, UUID_E],
}


def _vector(name: str, point_id: PointId) -> tuple[float, ...]:
    return story.stored_vector(name, story.final_points(name)[point_id].vector)


def test_recovery_replays_the_wal_onto_the_checkpoint(data: Path) -> None:
    catalog = Catalog.open(data)
    assert [e.name for e in catalog.entries()] == ["flat", "golden"]
    assert not story.collection_dir("doomed", data).exists()  # the delete was finished
    for name, replayed, slots, applied in (("golden", 2, 13, 5), ("flat", 1, 4, 3)):
        entry = catalog.get(name)
        assert entry is not None
        durable = open_durable(catalog.collection_dir(entry), entry.dimension, Settings())
        try:
            store = durable.store
            assert (durable.replayed_records, durable.truncated_bytes) == (replayed, 0)
            assert (store.checkpoint_lsn, store.applied_lsn) == (
                story.logged(name)[-1][0] - replayed,
                applied,
            )
            assert (store.slot_count(), store.live_count()) == (slots, len(SCROLL[name]))
            assert durable.wal.next_lsn == applied + 1
            keys, _ = store.scroll(None, 100)
            assert ids_of(keys) == SCROLL[name]
            final = story.final_points(name)
            records = store.get(keys_of(list(final)), with_vector=True, with_payload=True)
            for point, record in zip(final.values(), records, strict=True):
                assert record is not None
                assert record.vector is not None
                assert tuple(record.vector.tolist()) == story.stored_vector(name, point.vector)
                assert record.payload == story.payload_bytes(point)
            gone = store.get(keys_of(GONE[name]), with_vector=False, with_payload=False)
            assert gone == [None] * len(GONE[name])
        finally:
            durable.close()


def test_the_persisted_indexes_are_loaded_not_rebuilt(data: Path) -> None:
    catalog = Catalog.open(data)
    entry = catalog.get("golden")
    assert entry is not None
    directory = catalog.collection_dir(entry)
    durable = open_durable(directory, 4, Settings())
    try:
        store = durable.store
        index = SegmentedIndex.open(
            directory / "ann",
            4,
            entry.distance,
            AnnSettings(hnsw_m=8, hnsw_ef_construct=16, full_scan_threshold=4),
            live_slots=store.live_slots(),
            valid_slot_limit=store.checkpointed_slots,
            vectors_of=store.vectors_of_slots,
        )
        stats = index.stats()
        # slots 0 (id 1, replaced), 4 (A) and 9 (4) died in the replayed records
        assert stats.sealed == (SegmentStats("hnsw", 7, 3, "seg-0000000001.zann"),)
        assert (stats.fresh_points, stats.live_points, stats.jobs_built) == (3, 7, 0)
        queries = np.array([_vector("golden", i) for i in SCROLL["golden"]], dtype=np.float32)
        _, slots = index.search(queries, 1, exact=False)
        assert ids_of(store.keys_of_slots(slots[:, 0])) == SCROLL["golden"]

        payload = PayloadIndexes.open(directory, store.slot_count(), store)
        assert payload.pending() == []
        city = payload.ready_index("city")
        assert city is not None
        zurich = Match(parse_key("city"), "value", frozenset(["Zürich"]), str)
        mask = city.mask(zurich, store.slot_count()) & store.live_mask()
        assert set(ids_of(store.keys_of_slots(np.flatnonzero(mask)))) == {1, U64_MAX, UUID_C}
    finally:
        durable.close()


async def test_the_collection_manager_serves_it(data: Path) -> None:
    manager = CollectionManager(data, Settings())
    async with trio.open_nursery() as nursery:
        await nursery.start(manager.run)
        assert manager.names() == ["flat", "golden"]
        for name in manager.names():
            actor = manager.actor(name)
            with trio.fail_after(30):
                await actor.settled.wait()
            assert actor.state is ActorState.READY, actor.failure
            assert actor.count() == len(SCROLL[name])
            for point_id in SCROLL[name]:
                query = np.array([_vector(name, point_id)], dtype=np.float32)
                async with read_scope(actor.gate):
                    hits = await actor.search(query, 1)
                    assert ids_of(actor.keys_of_slots(hits.slots[0])) == [point_id]
        await manager.close()
        nursery.cancel_scope.cancel()


# ------------------------------------------------------------------------------- a real server


@pytest.fixture
def server(data: Path) -> Iterator[httpx.Client]:
    with (
        ServerProcess(data) as proc,
        httpx.Client(base_url=proc.url, timeout=30.0) as client,
    ):
        proc.wait_ready()
        yield client


def _result(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["result"]


def _wire(point_id: PointId) -> int | str:
    return str(point_id) if isinstance(point_id, uuid.UUID) else point_id


def test_a_real_server_serves_it(server: httpx.Client) -> None:
    listed = _result(server.get("/collections"))["collections"]
    assert sorted(c["name"] for c in listed) == ["flat", "golden"]
    assert server.get("/collections/doomed").status_code == 404

    info = _result(server.get("/collections/golden"))
    assert info["points_count"] == 7
    assert {k: v["data_type"] for k, v in info["payload_schema"].items()} == {
        "city": "keyword",
        "rank": "integer",
    }
    for name in ("golden", "flat"):
        final = story.final_points(name)
        wanted = [_wire(i) for i in [*final, *GONE[name]]]
        got = _result(
            server.post(
                f"/collections/{name}/points",
                json={"ids": wanted, "with_vector": True, "with_payload": True},
            )
        )
        assert {p["id"]: (p["vector"], p["payload"]) for p in got} == {
            _wire(i): (list(story.stored_vector(name, p.vector)), p.payload)
            for i, p in final.items()
        }
        scrolled = _result(server.post(f"/collections/{name}/points/scroll", json={"limit": 50}))
        assert [p["id"] for p in scrolled["points"]] == [_wire(i) for i in SCROLL[name]]

    hits = _result(
        server.post(
            "/collections/golden/points/search", json={"vector": [0, 0, -1, 0.5], "limit": 2}
        )
    )
    assert [(h["id"], h["score"]) for h in hits] == [(1, 0.5), (U64_MAX, pytest.approx(1.25**0.5))]
    tokyo = {"must": [{"key": "city", "match": {"value": "東京"}}]}
    hits = _result(
        server.post(
            "/collections/golden/points/search",
            json={"vector": [1, 0, 0, 0], "limit": 5, "filter": tokyo, "with_payload": True},
        )
    )
    assert [(h["id"], h["payload"]["rank"]) for h in hits] == [(str(UUID_D), 12)]
    ranked = {"must": [{"key": "rank", "range": {"gte": 9, "lt": 13}}]}
    counted = _result(
        server.post("/collections/golden/points/count", json={"filter": ranked, "exact": True})
    )
    assert counted["count"] == 3  # 5, 6 and D (ranks 9, 11, 12); 4 (rank 10) is deleted
    hits = _result(
        server.post("/collections/flat/points/search", json={"vector": [-5, 0, 0], "limit": 1})
    )
    assert [(h["id"], h["score"]) for h in hits] == [(12, pytest.approx(1.0))]
