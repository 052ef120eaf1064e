"""Payload updates (set, overwrite, delete keys, clear), batch updates and upsert's
update_filter / update_mode against a real server, answer for answer with qdrant-client's local
mode given the same calls: hand-picked cases, then random sequences of operations; payload
indexes answering by the new values at once; a restart keeping everything; bad input refused
with nothing changed."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from tests.http.compare import same_vectors
from zoro.testing import ServerProcess

N = 40
_names = itertools.count()
CONFIG = {
    "image": models.VectorParams(size=3, distance=models.Distance.COSINE),
    "text": models.VectorParams(size=2, distance=models.Distance.EUCLID),
}
SPARSE = {"words": models.SparseVectorParams()}
Clients = tuple[QdrantClient, QdrantClient]


def _match(key: str, value: Any) -> models.Filter:
    return models.Filter(
        must=[models.FieldCondition(key=key, match=models.MatchValue(value=value))]
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("payload-updates") / "data") as proc:
        yield proc


@pytest.fixture
def clients(server: ServerProcess) -> Iterator[Clients]:
    local = QdrantClient(":memory:")
    remote = QdrantClient(url=server.url, timeout=30, check_compatibility=False)
    yield local, remote
    remote.close()
    local.close()


def _vectors(rng: np.random.Generator) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if rng.random() < 0.8:
        out["image"] = rng.normal(size=3).round(3).tolist()
    if rng.random() < 0.7:
        out["text"] = rng.normal(size=2).round(3).tolist()
    if rng.random() < 0.5:
        indices = sorted(rng.choice(10, size=int(rng.integers(1, 4)), replace=False).tolist())
        out["words"] = models.SparseVector(
            indices=indices, values=rng.random(len(indices)).tolist()
        )
    return out


def _payload(rng: np.random.Generator, i: int) -> dict[str, Any]:
    return {
        "i": i,
        "g": int(rng.integers(0, 4)),
        "tag": str(rng.choice(["red", "green", "blue"])),
        "nest": {"a": int(rng.integers(0, 3)), "list": [{"x": 1}, {"x": 2}]},
    }


def _create(clients: Clients, seed: int = 3) -> str:
    name = f"pu{next(_names)}"
    rng = np.random.default_rng(seed)
    points = [
        models.PointStruct(id=i, vector=_vectors(rng), payload=_payload(rng, i)) for i in range(N)
    ]
    for client in clients:
        client.create_collection(name, vectors_config=CONFIG, sparse_vectors_config=SPARSE)
        client.upsert(name, points)
    return name


def _same_everything(name: str, local: QdrantClient, remote: QdrantClient) -> None:
    lp, rp = (c.scroll(name, limit=1000, with_vectors=True)[0] for c in (local, remote))
    assert [p.id for p in rp] == [p.id for p in lp]
    for a, b in zip(lp, rp, strict=True):
        assert b.payload == a.payload, a.id
        same_vectors(a.vector, b.vector)


def _both(clients: Clients, call: Any) -> str | None:
    """Run `call(client)` on both; both succeed, or both fail (returns the failure kind)."""
    outcomes = []
    for client in clients:
        try:
            call(client)
            outcomes.append(None)
        except KeyError:  # local mode's missing point
            outcomes.append("missing")
        except UnexpectedResponse as exc:
            outcomes.append("missing" if exc.status_code == 404 else f"http {exc.status_code}")
        except ValueError:  # local mode's bad request
            outcomes.append("http 400")
    assert outcomes[0] == outcomes[1], outcomes
    return outcomes[0]


def test_set_overwrite_delete_clear_by_ids_and_filter(clients: Clients) -> None:
    name = _create(clients)
    calls = [
        lambda c: c.set_payload(name, {"new": 1, "g": None}, points=[1, 2, 2]),
        lambda c: c.set_payload(name, {"flag": True}, points=_match("tag", "red")),
        lambda c: c.set_payload(name, {"deep": {"v": 1}}, points=[3], key="nest"),
        lambda c: c.set_payload(name, {"z": 9}, points=[4], key="nest.made.here"),
        lambda c: c.set_payload(name, {"y": 5}, points=[5], key="nest.list[]"),
        lambda c: c.set_payload(name, {"y": 6}, points=[6], key="nest.list[1]"),
        lambda c: c.set_payload(name, {"y": 7}, points=[7], key="i[0]"),
        lambda c: c.set_payload(name, {"q": 1}, points=[8], key='"odd key".x'),
        lambda c: c.overwrite_payload(name, {"only": "this"}, points=[9, 10]),
        lambda c: c.overwrite_payload(name, {"g": 100}, points=_match("g", 3)),
        lambda c: c.delete_payload(name, ["tag", "nest.a", "nest.list[].x"], points=[11, 12]),
        lambda c: c.delete_payload(name, ["nest"], points=_match("g", 1)),
        lambda c: c.clear_payload(name, points_selector=[13]),
        lambda c: c.clear_payload(
            name, points_selector=models.FilterSelector(filter=_match("g", 2))
        ),
        lambda c: c.set_payload(name, {"from": "filter"}, points=_match("g", 100)),
    ]
    for call in calls:
        assert _both(clients, call) is None
        _same_everything(name, *clients)


def test_missing_ids_write_the_rest_then_answer_404(clients: Clients) -> None:
    name = _create(clients)
    for call in (
        lambda c: c.set_payload(name, {"m": 1}, points=[0, 999, 1]),
        lambda c: c.overwrite_payload(name, {"m": 2}, points=[998, 2]),
        lambda c: c.delete_payload(name, ["i"], points=[3, 997]),
        lambda c: c.clear_payload(name, points_selector=[996, 4]),
    ):
        assert _both(clients, call) == "missing"
        _same_everything(name, *clients)
    _local, remote = clients
    with pytest.raises(UnexpectedResponse) as caught:
        remote.set_payload(name, {"m": 1}, points=[12345])
    assert "12345" in caught.value.content.decode()


def test_batch_applies_in_order_and_later_operations_see_earlier_ones(clients: Clients) -> None:
    name = _create(clients)
    rng = np.random.default_rng(9)
    ops: list[Any] = [
        models.UpsertOperation(
            upsert=models.PointsList(
                points=[models.PointStruct(id=100, vector=_vectors(rng), payload={"g": 7})]
            )
        ),
        models.SetPayloadOperation(
            set_payload=models.SetPayload(payload={"seen": True}, filter=_match("g", 7))
        ),
        models.OverwritePayloadOperation(
            overwrite_payload=models.SetPayload(payload={"g": 7, "o": 1}, points=[0, 1])
        ),
        models.DeletePayloadOperation(
            delete_payload=models.DeletePayload(keys=["o"], filter=_match("seen", True))
        ),
        models.DeleteOperation(delete=models.FilterSelector(filter=_match("tag", "blue"))),
        models.ClearPayloadOperation(clear_payload=models.PointIdsList(points=[2])),
        models.UpdateVectorsOperation(
            update_vectors=models.UpdateVectors(
                points=[models.PointVectors(id=100, vector={"text": [1.0, 2.0]})]
            )
        ),
        models.DeleteVectorsOperation(
            delete_vectors=models.DeleteVectors(vector=["image"], filter=_match("g", 7))
        ),
        models.UpsertOperation(
            upsert=models.PointsBatch(
                batch=models.Batch(ids=[101, 0], vectors={"text": [[0.5, 0.5], [1.0, 1.0]]}),
                update_mode=models.UpdateMode.INSERT_ONLY,
            )
        ),
        models.SetPayloadOperation(
            set_payload=models.SetPayload(payload={"last": 1}, filter=_match("g", 7))
        ),
    ]
    assert _both(clients, lambda c: c.batch_update_points(name, ops)) is None
    _same_everything(name, *clients)
    _local, remote = clients
    results = remote.batch_update_points(
        name, [models.ClearPayloadOperation(clear_payload=models.PointIdsList(points=[3]))] * 2
    )
    assert [r.status for r in results] == [models.UpdateStatus.COMPLETED] * 2


def test_batch_filters_see_vectors_changed_earlier_in_it(clients: Clients) -> None:
    name = _create(clients)
    has_image = models.Filter(must=[models.HasVectorCondition(has_vector="image")])
    ops: list[Any] = [
        models.DeleteVectorsOperation(
            delete_vectors=models.DeleteVectors(vector=["image"], points=[0, 1, 2])
        ),
        models.UpdateVectorsOperation(
            update_vectors=models.UpdateVectors(
                points=[models.PointVectors(id=3, vector={"image": [1.0, 0.0, 0.0]})]
            )
        ),
        models.SetPayloadOperation(
            set_payload=models.SetPayload(payload={"has_image": True}, filter=has_image)
        ),
        models.UpsertOperation(
            upsert=models.PointsList(
                points=[models.PointStruct(id=4, vector={"text": [0.0, 1.0]}, payload={"u": 1})],
                update_filter=has_image,
            )
        ),
    ]
    assert _both(clients, lambda c: c.batch_update_points(name, ops)) is None
    _same_everything(name, *clients)


def test_batch_stops_at_a_missing_point_keeping_what_came_before(clients: Clients) -> None:
    name = _create(clients)
    ops: list[Any] = [
        models.SetPayloadOperation(set_payload=models.SetPayload(payload={"a": 1}, points=[1])),
        models.SetPayloadOperation(
            set_payload=models.SetPayload(payload={"b": 1}, points=[2, 555])
        ),
        models.SetPayloadOperation(set_payload=models.SetPayload(payload={"c": 1}, points=[3])),
    ]
    assert _both(clients, lambda c: c.batch_update_points(name, ops)) == "missing"
    _same_everything(name, *clients)
    assert "c" not in clients[1].retrieve(name, [3])[0].payload  # type: ignore[operator]


def test_upsert_with_update_filter_and_update_mode(clients: Clients) -> None:
    name = _create(clients)
    rng = np.random.default_rng(11)

    def points(ids: list[int]) -> list[models.PointStruct]:
        return [models.PointStruct(id=i, vector=_vectors(rng), payload={"new": i}) for i in ids]

    cases = [
        (points([0, 1, 2, 3, 50]), {"update_filter": _match("g", 1)}),
        (points([4, 5, 51, 51]), {"update_mode": models.UpdateMode.INSERT_ONLY}),
        (points([6, 7, 52]), {"update_mode": models.UpdateMode.UPDATE_ONLY}),
        (
            points([8, 9, 53]),
            {"update_mode": models.UpdateMode.UPSERT, "update_filter": _match("tag", "red")},
        ),
        (
            points([10, 54]),
            {"update_mode": models.UpdateMode.UPDATE_ONLY, "update_filter": _match("g", 0)},
        ),
    ]
    for batch, options in cases:
        for client in clients:
            client.upsert(name, [p.model_copy(deep=True) for p in batch], **options)
        _same_everything(name, *clients)
    ids = [60, 61]
    batch_form = models.Batch(
        ids=ids, vectors={"text": [[1.0, 0.0], [0.0, 1.0]]}, payloads=[{"b": 1}, {"b": 2}]
    )
    for client in clients:
        client.upsert(name, batch_form, update_mode=models.UpdateMode.INSERT_ONLY)
        client.upsert(name, batch_form, update_filter=_match("b", 2))
    _same_everything(name, *clients)


def _random_call(rng: np.random.Generator, name: str) -> tuple[str, list[Any], dict[str, Any]]:
    """One random client call: (method, arguments after the collection name, keywords)."""
    ids = [int(i) for i in rng.integers(0, N + 5, size=int(rng.integers(1, 4)))]
    where = _match("g", int(rng.integers(0, 4)))
    selector: Any = ids if rng.random() < 0.5 else where
    value = {str(rng.choice(["g", "tag", "extra", "n"])): int(rng.integers(0, 4))}
    kind = int(rng.integers(0, 6))
    if kind == 0:
        key = str(rng.choice(["nest", "nest.list[]", "nest.new"])) if rng.random() < 0.3 else None
        return "set_payload", [value], {"points": selector, "key": key}
    if kind == 1:
        return "overwrite_payload", [value], {"points": selector}
    if kind == 2:
        keys = ["g", "tag", "nest", "nest.a", "nest.list[].x", "i", "extra"]
        return "delete_payload", [[str(k) for k in rng.choice(keys, size=2)]], {"points": selector}
    if kind == 3:
        return "clear_payload", [], {"points_selector": selector}
    if kind == 4:
        new = [models.PointStruct(id=i, vector=_vectors(rng), payload=value) for i in ids]
        mode = [None, *models.UpdateMode][int(rng.integers(0, 4))]
        flt = where if rng.random() < 0.5 else None
        return "upsert", [new], {"update_mode": mode, "update_filter": flt}
    one = models.PointStruct(id=ids[-1], vector=_vectors(rng), payload=value)
    ops = [
        models.SetPayloadOperation(set_payload=models.SetPayload(payload=value, filter=where)),
        models.DeleteOperation(delete=models.PointIdsList(points=ids[:1])),
        models.UpsertOperation(upsert=models.PointsList(points=[one])),
    ]
    return "batch_update_points", [ops], {}


def test_random_sequences_match_local_mode(clients: Clients) -> None:
    name = _create(clients, seed=21)
    rng = np.random.default_rng(5)
    for _ in range(60):
        method, args, kwargs = _random_call(rng, name)
        _both(clients, lambda c: getattr(c, method)(name, *args, **kwargs))  # noqa: B023
        _same_everything(name, *clients)


def test_a_payload_index_answers_by_the_new_values_at_once(
    clients: Clients, server: ServerProcess
) -> None:
    """Local mode keeps no payload index: the counts it gives are the truth to match."""
    name = _create(clients)
    _local, remote = clients
    for schema, key in (("keyword", "tag"), ("integer", "g")):
        remote.create_payload_index(name, key, schema, wait=True)
    deadline = time.monotonic() + 30
    with httpx.Client(base_url=server.url, timeout=30) as http:
        while True:  # the indexes are built in the background: wait until both serve
            zoro = http.get(f"/collections/{name}").json()["result"].get("zoro", {})
            fields = zoro.get("payload_indexes", {})
            if len(fields) == 2 and all(f["ready"] for f in fields.values()):
                break
            assert time.monotonic() < deadline, zoro
            time.sleep(0.05)

    def counts() -> list[int]:
        filters = [_match("tag", "red"), _match("tag", "violet"), _match("g", 3), _match("g", 42)]
        out = [c.count(name, count_filter=f).count for f in filters for c in clients]
        assert out[::2] == out[1::2]
        return out[::2]

    before = counts()
    for client in clients:
        client.set_payload(name, {"tag": "violet", "g": 42}, points=_match("tag", "red"), wait=True)
    after = counts()
    assert after == [0, before[0], after[2], after[3]]
    assert after[3] > 0
    _same_everything(name, *clients)


def test_changes_survive_a_restart(tmp_path: Path) -> None:
    local = QdrantClient(":memory:")
    with ServerProcess(tmp_path / "data") as proc:
        remote = QdrantClient(url=proc.url, timeout=30, check_compatibility=False)
        name = _create((local, remote))
        for client in (local, remote):
            client.set_payload(name, {"kept": 1}, points=_match("g", 1))
            client.batch_update_points(
                name,
                [
                    models.DeleteOperation(delete=models.PointIdsList(points=[0])),
                    models.OverwritePayloadOperation(
                        overwrite_payload=models.SetPayload(payload={"o": 1}, points=[1])
                    ),
                ],
            )
        remote.close()
    with ServerProcess(tmp_path / "data") as proc:
        remote = QdrantClient(url=proc.url, timeout=30, check_compatibility=False)
        _same_everything(name, local, remote)
        remote.close()


BAD = [
    ("post", "/points/payload", {"payload": {"a": 1}}),  # no points, no filter
    ("post", "/points/payload", {"payload": {"a": 1}, "points": []}),
    ("post", "/points/payload", {"payload": [1], "points": [1]}),
    ("post", "/points/payload", {"payload": {"a": 1}, "points": [-1]}),
    ("post", "/points/payload", {"payload": {"a": 1}, "points": [1], "key": "a..b"}),
    ("post", "/points/payload", {"payload": {"a": 1}, "points": [1], "nope": 1}),
    ("post", "/points/payload", {"payload": {"a": 1}, "filter": {"must": [{"bad": 1}]}}),
    ("put", "/points/payload", {"points": [1]}),
    ("post", "/points/payload/delete", {"points": [1]}),
    ("post", "/points/payload/delete", {"keys": [1], "points": [1]}),
    ("post", "/points/payload/clear", {}),
    ("post", "/points/batch", {}),
    ("post", "/points/batch", {"operations": [{"nope": {}}]}),
    ("post", "/points/batch", {"operations": [{"upsert": {"points": []}, "delete": {}}]}),
    (
        "post",
        "/points/batch",
        {
            "operations": [
                {"set_payload": {"payload": {"a": 1}, "points": [1]}},
                {"delete": {"points": ["not an id"]}},
            ]
        },
    ),
    ("put", "/points", {"points": [{"id": 1, "vector": [1, 2, 3]}], "update_mode": "sometimes"}),
    ("put", "/points", {"points": [{"id": 1, "vector": [1, 2, 3]}], "update_filter": {"x": 1}}),
]


@pytest.mark.parametrize(("method", "path", "body"), BAD)
def test_bad_input_is_refused_and_changes_nothing(
    server: ServerProcess, method: str, path: str, body: dict[str, Any]
) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        name = f"bad{next(_names)}"
        http.put(f"/collections/{name}", json={"vectors": {"size": 3, "distance": "Dot"}})
        http.put(
            f"/collections/{name}/points?wait=true",
            json={"points": [{"id": 1, "vector": [1, 0, 0], "payload": {"a": 0}}]},
        )
        before = http.post(f"/collections/{name}/points/scroll", json={}).json()["result"]
        r = http.request(method, f"/collections/{name}{path}?wait=true", json=body)
        assert r.status_code == 400, r.text
        assert r.json()["status"]["error"]
        after = http.post(f"/collections/{name}/points/scroll", json={}).json()["result"]
        assert after == before
