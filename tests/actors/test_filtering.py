"""The actor's side of filtering: selection while writes land, index builds beside writes,
delete-by-filter in LSN order, and the three search plans against brute force."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import orjson
import pytest
import trio
import trio.lowlevel

from tests.actors.conftest import SMALL, Opened, clustered, upsert
from tests.actors.test_actor import _wait_indexed
from zoro.actors import CollectionActor, Selection, planner, reads
from zoro.actors.numbering import read_scope
from zoro.payload import Filter, Match, Range, parse_key
from zoro.types import Distance, VectorConfig, ids_of

CATEGORY = parse_key("c")
PRICE = parse_key("p")


def _payload(i: int) -> bytes:
    return orjson.dumps({"c": f"w{i % 10}", "p": float(i % 1000)})


def _ids(actor: CollectionActor, mask: np.ndarray) -> set[int]:
    return {int(i) for i in ids_of(actor.keys_of_slots(np.flatnonzero(mask)))}


async def test_selection_accounts_for_writes_made_while_it_scanned(
    zoro: Opened, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(planner, "INLINE_SCAN_SLOTS", 10)  # scan in a thread
    manager = zoro.manager
    await manager.create("s", VectorConfig.single(4, Distance.EUCLID), {"kind": "hnsw"})
    actor = manager.actor("s")
    await actor.write(upsert(range(500), clustered(500, 4), _payload))
    real_scan = reads.apply_scan

    def slow_scan(*args: object) -> np.ndarray:
        if threading.current_thread() is not threading.main_thread():
            time.sleep(0.3)  # the scan in the worker thread: writes land meanwhile
        return real_scan(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(reads, "apply_scan", slow_scan)
    cond = Match(CATEGORY, "value", frozenset(["w3"]), str)
    async with trio.open_nursery() as nursery:
        box: list[Selection] = []

        async def select() -> None:
            async with read_scope(actor.gate):
                box.append(await actor.select(cond))

        nursery.start_soon(select)
        await trio.sleep(0.05)
        # moves point 3 out, point 4 in, and adds 1003 (w3)
        await actor.write(
            upsert(
                [3, 4, 1003],
                clustered(3, 4, seed=1),
                lambda i: orjson.dumps({"c": "w3" if i != 3 else "x"}),
            )
        )
    expected = {i for i in range(500) if i % 10 == 3 and i != 3} | {4, 1003}
    assert _ids(actor, box[0].mask) == expected
    assert box[0].count == len(expected)


async def test_an_index_built_beside_writes_agrees_with_a_scan(zoro: Opened) -> None:
    manager = zoro.manager
    await manager.create("b", VectorConfig.single(4, Distance.EUCLID), {"kind": "hnsw"})
    actor = manager.actor("b")
    await actor.write(upsert(range(3000), clustered(3000, 4), _payload))
    conditions = [
        Match(CATEGORY, "any", frozenset(["w1", "w7"]), str),
        Range(PRICE, gte=100.0, lt=350.0),
        Filter(
            must=(Match(CATEGORY, "value", frozenset(["w2"]), str),),
            must_not=(Range(PRICE, lt=500.0),),
        ),
    ]
    async with read_scope(actor.gate):
        before = [_ids(actor, (await actor.select(c)).mask) for c in conditions]
        await actor.change_payload_index("c", "keyword")
        await actor.change_payload_index("p", "float")
        for i in range(5):  # writes while the builds run
            await actor.write(
                upsert(range(i * 100, i * 100 + 50), clustered(50, 4, seed=i), _payload)
            )
        with trio.fail_after(30):
            await actor.payload_index_built("c")
            await actor.payload_index_built("p")
        assert [f.ready for f in actor.payload_info()] == [True, True]
        after = [_ids(actor, (await actor.select(c)).mask) for c in conditions]
        assert after == before  # the rewrites kept every payload as it was
        await actor.write(
            upsert([1, 2], clustered(2, 4), lambda i: orjson.dumps({"c": "w7", "p": 120.0}))
        )
        now = _ids(actor, (await actor.select(conditions[0])).mask)
        assert {1, 2} <= now


async def test_delete_by_filter_sees_the_writes_queued_before_it(zoro: Opened) -> None:
    manager = zoro.manager
    await manager.create("d", VectorConfig.single(4, Distance.EUCLID), {"kind": "hnsw"})
    actor = manager.actor("d")
    await actor.write(upsert(range(100), clustered(100, 4), _payload))
    cond = Match(CATEGORY, "value", frozenset(["w5"]), str)
    from zoro.actors.messages import DeleteWhere

    async with trio.open_nursery() as nursery:
        # queued in this order: the rewrite of 6 to w5 must be deleted by the filter after it
        nursery.start_soon(actor.write, upsert([6], clustered(1, 4), lambda i: b'{"c": "w5"}'))
        await trio.lowlevel.checkpoint()
        nursery.start_soon(actor.write, DeleteWhere(cond))
    assert actor.count() == 100 - 10 - 1
    async with read_scope(actor.gate):
        assert (await actor.select(cond)).count == 0


@pytest.mark.parametrize("where", ["inline", "thread"])
@pytest.mark.parametrize("kept", [0.002, 0.05, 0.5])
async def test_filtered_search_matches_brute_force(
    tmp_path: Path,
    nursery: trio.Nursery,
    kept: float,
    where: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(planner, "EXACT_FILTER_POINTS", 200)  # 0.5 walks the graph
    inline_max_us = math.inf if where == "inline" else 0.0  # every search in a thread
    settings = replace(SMALL, actor=replace(SMALL.actor, inline_search_max_us=inline_max_us))
    zoro = Opened(tmp_path / "data", nursery, settings)
    manager = await zoro.open()
    n, dim = 6000, 8
    await manager.create("f", VectorConfig.single(dim, Distance.EUCLID), {"kind": "hnsw"})
    actor = manager.actor("f")
    vectors = clustered(n, dim)
    await actor.write(upsert(range(n), vectors, lambda i: orjson.dumps({"p": (i * 7919) % n / n})))
    await _wait_indexed(zoro, "f")  # so that the graph plan is the one used
    cond = Range(PRICE, lt=kept)
    async with read_scope(actor.gate):
        selection = await actor.select(cond)
        keep = np.array([(i * 7919) % n / n < kept for i in range(n)])
        queries = clustered(20, dim, seed=9)
        recall = []
        for q in queries:
            hits = await actor.search(q[None], 10, only=selection)
            got = [int(i) for i in ids_of(actor.keys_of_slots(hits.slots[0]))]
            d = np.linalg.norm(vectors - q, axis=1)
            d[~keep] = np.inf
            truth = [int(i) for i in np.argsort(d)[: min(10, int(keep.sum()))]]
            assert set(got) <= set(np.flatnonzero(keep).tolist())
            recall.append(len(set(got) & set(truth)) / len(truth))
    assert np.mean(recall) >= (1.0 if kept < 0.1 else 0.95)
    await manager.close()
