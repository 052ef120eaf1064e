"""Filters, payload indexes and delete-by-filter through the real qdrant-client (1.20)."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from tests.filtering.reference import selected
from zoro.testing import ServerProcess

DIM = 6
N = 240
BASE = datetime(2024, 5, 1, tzinfo=UTC)


def _id(i: int) -> int | str:
    return i if i % 4 else str(uuid.UUID(int=10_000 + i))


def _payload(i: int) -> dict[str, Any]:
    p: dict[str, Any] = {
        "lang": ["en", "de", "fr"][i % 3],
        "n": i % 17,
        "price": (i % 23) / 2,
        "ok": i % 2 == 0,
        "at": (BASE + timedelta(hours=i)).isoformat(),
        "tags": [f"t{i % 5}", f"t{i % 7}"][: i % 3],
        "meta": {"src": "web" if i % 6 else "app", "depth": i % 4},
    }
    if i % 10 == 0:
        p["maybe"] = None
    elif i % 10 == 1:
        p["maybe"] = [1, None]
    elif i % 10 == 2:
        p["maybe"] = 5
    return p


POINTS: dict[int | str, dict[str, Any]] = {_id(i): _payload(i) for i in range(N)}
VECTORS = np.random.default_rng(5).normal(size=(N, DIM))


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Iterator[QdrantClient]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        qc = QdrantClient(url=server.url, timeout=60)
    yield qc
    qc.close()


def _fill(client: QdrantClient, name: str) -> None:
    client.create_collection(
        name, vectors_config=models.VectorParams(size=DIM, distance=models.Distance.EUCLID)
    )
    client.upsert(
        name,
        points=[
            models.PointStruct(id=pid, vector=VECTORS[i].tolist(), payload=POINTS[pid])
            for i, pid in enumerate(POINTS)
        ],
        wait=True,
    )


def _filters() -> list[tuple[models.Filter, dict[str, Any]]]:
    """(client model, the same filter as JSON for the reference)."""
    lo, hi = BASE + timedelta(hours=20), BASE + timedelta(hours=60)
    some_ids: list[Any] = [_id(i) for i in (0, 3, 4, 8, 9)]
    return [
        (
            models.Filter(
                must=[models.FieldCondition(key="lang", match=models.MatchValue(value="de"))]
            ),
            {"must": [{"key": "lang", "match": {"value": "de"}}]},
        ),
        (
            models.Filter(
                must=[models.FieldCondition(key="n", match=models.MatchAny(any=[1, 2, 3]))]
            ),
            {"must": [{"key": "n", "match": {"any": [1, 2, 3]}}]},
        ),
        (
            models.Filter(
                must=[
                    models.FieldCondition(
                        key="tags", match=models.MatchExcept(**{"except": ["t1", "t2"]})
                    )
                ]
            ),
            {"must": [{"key": "tags", "match": {"except": ["t1", "t2"]}}]},
        ),
        (
            models.Filter(
                must=[models.FieldCondition(key="price", range=models.Range(gte=2.5, lt=7))]
            ),
            {"must": [{"key": "price", "range": {"gte": 2.5, "lt": 7}}]},
        ),
        (
            models.Filter(must=[models.HasIdCondition(has_id=some_ids)]),
            {"must": [{"has_id": some_ids}]},
        ),
        (
            models.Filter(must=[models.IsEmptyCondition(is_empty=models.PayloadField(key="tags"))]),
            {"must": [{"is_empty": {"key": "tags"}}]},
        ),
        (
            models.Filter(must=[models.IsNullCondition(is_null=models.PayloadField(key="maybe"))]),
            {"must": [{"is_null": {"key": "maybe"}}]},
        ),
        (
            models.Filter(
                must=[models.FieldCondition(key="at", range=models.DatetimeRange(gt=lo, lte=hi))]
            ),
            {"must": [{"key": "at", "range": {"gt": lo.isoformat(), "lte": hi.isoformat()}}]},
        ),
        (
            models.Filter(
                must=[models.FieldCondition(key="tags", values_count=models.ValuesCount(gte=2))]
            ),
            {"must": [{"key": "tags", "values_count": {"gte": 2}}]},
        ),
        (
            models.Filter(
                should=[
                    models.Filter(
                        must=[
                            models.FieldCondition(
                                key="meta.src", match=models.MatchValue(value="app")
                            ),
                            models.FieldCondition(key="ok", match=models.MatchValue(value=True)),
                        ]
                    ),
                    models.Filter(
                        must_not=[models.FieldCondition(key="meta.depth", range=models.Range(lt=3))]
                    ),
                ]
            ),
            {
                "should": [
                    {
                        "must": [
                            {"key": "meta.src", "match": {"value": "app"}},
                            {"key": "ok", "match": {"value": True}},
                        ]
                    },
                    {"must_not": [{"key": "meta.depth", "range": {"lt": 3}}]},
                ]
            },
        ),
        (
            models.Filter(
                min_should=models.MinShould(
                    conditions=[
                        models.FieldCondition(key="lang", match=models.MatchValue(value="en")),
                        models.FieldCondition(key="ok", match=models.MatchValue(value=False)),
                        models.FieldCondition(key="n", range=models.Range(gt=10)),
                    ],
                    min_count=2,
                )
            ),
            {
                "min_should": {
                    "conditions": [
                        {"key": "lang", "match": {"value": "en"}},
                        {"key": "ok", "match": {"value": False}},
                        {"key": "n", "range": {"gt": 10}},
                    ],
                    "min_count": 2,
                }
            },
        ),
    ]


def _ids(items: list[Any]) -> set[str]:
    return {str(p.id) for p in items}


def _scroll(client: QdrantClient, name: str, flt: models.Filter) -> list[Any]:
    seen: list[Any] = []
    offset = None
    for _ in range(1000):
        page, offset = client.scroll(name, scroll_filter=flt, limit=17, offset=offset)
        seen += page
        if offset is None:
            return seen
    raise AssertionError("scroll did not end")


def _check_all(client: QdrantClient, name: str) -> None:
    for flt, as_json in _filters():
        expected = {str(i) for i in selected(as_json, POINTS)}
        assert client.count(name, count_filter=flt, exact=True).count == len(expected), as_json
        assert _ids(_scroll(client, name, flt)) == expected, as_json
        q = VECTORS[7] + 0.05
        result = client.query_points(
            name, query=q.tolist(), query_filter=flt, limit=8, with_payload=True
        )
        allowed = [i for i, pid in enumerate(POINTS) if str(pid) in expected]
        dist = np.linalg.norm(VECTORS[allowed] - q, axis=1)
        want = [str(list(POINTS)[allowed[j]]) for j in np.argsort(dist, kind="stable")[:8]]
        assert [str(p.id) for p in result.points] == want, as_json


def test_filters_scroll_count_query(client: QdrantClient) -> None:
    _fill(client, "qf")
    _check_all(client, "qf")


def test_payload_indexes_change_nothing_but_the_schema(client: QdrantClient) -> None:
    name = "qfi"
    _fill(client, name)
    schemas = {
        "lang": models.PayloadSchemaType.KEYWORD,
        "n": models.PayloadSchemaType.INTEGER,
        "price": models.PayloadSchemaType.FLOAT,
        "ok": models.PayloadSchemaType.BOOL,
        "at": models.PayloadSchemaType.DATETIME,
        "tags": models.PayloadSchemaType.KEYWORD,
        "meta.src": models.PayloadSchemaType.KEYWORD,
    }
    for key, schema in schemas.items():
        client.create_payload_index(name, field_name=key, field_schema=schema, wait=True)
    info = client.get_collection(name)
    assert set(info.payload_schema) == set(schemas)
    assert info.payload_schema["lang"].data_type == models.PayloadSchemaType.KEYWORD
    assert info.payload_schema["lang"].points == N
    assert info.payload_schema["tags"].points == sum(bool(p["tags"]) for p in POINTS.values())
    _check_all(client, name)
    client.delete_payload_index(name, field_name="lang", wait=True)
    client.delete_payload_index(name, field_name="tags", wait=True)
    assert set(client.get_collection(name).payload_schema) == set(schemas) - {"lang", "tags"}
    _check_all(client, name)


def test_delete_by_filter_selector(client: QdrantClient) -> None:
    name = "qfd"
    _fill(client, name)
    client.create_payload_index(
        name, field_name="lang", field_schema=models.PayloadSchemaType.KEYWORD, wait=True
    )
    flt = models.Filter(
        must=[models.FieldCondition(key="lang", match=models.MatchValue(value="fr"))],
        must_not=[models.FieldCondition(key="n", range=models.Range(gte=12))],
    )
    as_json = {
        "must": [{"key": "lang", "match": {"value": "fr"}}],
        "must_not": [{"key": "n", "range": {"gte": 12}}],
    }
    gone = {str(i) for i in selected(as_json, POINTS)}
    assert gone
    client.delete(name, points_selector=models.FilterSelector(filter=flt), wait=True)
    assert client.count(name).count == N - len(gone)
    assert client.count(name, count_filter=flt).count == 0
    left = _scroll(client, name, models.Filter())
    assert _ids(left) == {str(i) for i in POINTS} - gone
    for p in left:
        assert p.payload == POINTS[p.id]
    assert client.get_collection(name).payload_schema["lang"].points == N - len(gone)
