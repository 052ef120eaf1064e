"""Geo and nested conditions, and the value-counting conditions, through the real qdrant-client
(1.20) against a Zoro server, with local mode as the reference: the cases the issue names, the
examples of Qdrant's documentation, a geo index that is used by the planner and survives a
restart, and bad geo or nested filters refused with a 400 that changes nothing."""

from __future__ import annotations

import math
import random
import warnings
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from tests.filtering.reference import count, create, create_index, error_of, ok, upsert
from zoro.testing import ServerProcess

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

# The issue's cases for values_count / is_null / is_empty
COUNTED: dict[int, dict[str, Any]] = {
    1: {"field": None},
    2: {"field": []},
    3: {"field": [1, 2]},
    4: {"field": 3},
    5: {"field": [None, None]},
    6: {"nested": [{"x": 1}, {"x": 2}, {"x": 3}]},
    7: {"nested": [{"x": [1, 2]}, {"x": 3}]},
    8: {},
}
# Qdrant's documentation example for nested filters: dinosaurs and their diets
DIETS: dict[int, dict[str, Any]] = {
    1: {
        "dinosaur": "t-rex",
        "diet": [{"food": "leaves", "likes": False}, {"food": "meat", "likes": True}],
    },
    2: {
        "dinosaur": "diplodocus",
        "diet": [{"food": "leaves", "likes": True}, {"food": "meat", "likes": False}],
    },
    3: {"dinosaur": "ghost", "diet": {"food": "meat", "likes": True}},  # not an array
}


def _city(lon: float, lat: float) -> dict[str, float]:
    return {"lon": lon, "lat": lat}


CITIES: dict[int, dict[str, Any]] = {
    1: {"city": "Berlin", "at": _city(13.405, 52.52)},
    2: {"city": "Moscow", "at": _city(37.6173, 55.7558)},
    3: {"city": "London", "at": [_city(-0.1278, 51.5074), _city(-0.2, 51.4)]},
    4: {"city": "Fiji", "at": _city(179.9, -17.7)},
    5: {"city": "Samoa", "at": _city(-179.9, -17.7)},
    6: {"city": "nowhere", "at": _city(200.0, 0.0)},  # out of range: no geo point
    7: {"city": "text", "at": "52.52,13.405"},
    8: {"city": "none"},
}
BOX_EUROPE = models.GeoBoundingBox(
    top_left=models.GeoPoint(lon=-5.0, lat=60.0),
    bottom_right=models.GeoPoint(lon=20.0, lat=45.0),
)
BOX_ANTIMERIDIAN = models.GeoBoundingBox(
    top_left=models.GeoPoint(lon=179.0, lat=-10.0),
    bottom_right=models.GeoPoint(lon=-179.0, lat=-20.0),
)


def _ring(*points: tuple[float, float]) -> models.GeoLineString:
    return models.GeoLineString(points=[models.GeoPoint(lon=x, lat=y) for x, y in points])


POLYGON = models.GeoPolygon(
    exterior=_ring((-10, 40), (40, 40), (40, 60), (-10, 60), (-10, 40)),
    interiors=[_ring((10, 50), (15, 50), (15, 55), (10, 55), (10, 50))],  # Berlin's hole
)


def _field(key: str, **condition: Any) -> models.Filter:
    return models.Filter(must=[models.FieldCondition(key=key, **condition)])


BERLIN = models.GeoPoint(lon=13.4, lat=52.5)
GEO_FILTERS = [
    _field("at", geo_bounding_box=BOX_EUROPE),
    _field("at", geo_bounding_box=BOX_ANTIMERIDIAN),
    _field("at", geo_radius=models.GeoRadius(center=BERLIN, radius=5e3)),
    _field("at", geo_radius=models.GeoRadius(center=BERLIN, radius=2e6)),
    _field("at", geo_polygon=POLYGON),
    models.Filter(must_not=[models.FieldCondition(key="at", geo_polygon=POLYGON)]),
]


@pytest.fixture(scope="module")
def remote(server: ServerProcess) -> Iterator[QdrantClient]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client = QdrantClient(url=server.url, timeout=60)
    yield client
    client.close()


@pytest.fixture(scope="module")
def local() -> Iterator[QdrantClient]:
    client = QdrantClient(":memory:")
    yield client
    client.close()


def _load(clients: list[QdrantClient], name: str, points: dict[int, dict[str, Any]]) -> None:
    for client in clients:
        if client.collection_exists(name):
            continue
        client.create_collection(
            name, vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT)
        )
        structs = [
            models.PointStruct(id=i, vector=[1.0, 0.0], payload=p) for i, p in points.items()
        ]
        client.upsert(name, structs, wait=True)


def _ids(client: QdrantClient, name: str, flt: models.Filter) -> list[Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # local mode: "payload indexes have no effect"
        records, _ = client.scroll(name, scroll_filter=flt, limit=10_000, with_payload=False)
        assert client.count(name, count_filter=flt, exact=True).count == len(records)
    return [r.id for r in records]


def _same(remote: QdrantClient, local: QdrantClient, name: str, flt: models.Filter) -> list[Any]:
    want = _ids(local, name, flt)
    assert _ids(remote, name, flt) == want, flt
    return want


def test_values_count_is_null_and_is_empty_as_the_issue_states(
    remote: QdrantClient, local: QdrantClient
) -> None:
    _load([remote, local], "counted", COUNTED)

    def same(flt: models.Filter) -> list[Any]:
        return _same(remote, local, "counted", flt)

    # null -> 0, [] -> 0, a missing key -> 0: all below 2; [1, 2] and [null, null] hold two
    assert same(_field("field", values_count=models.ValuesCount(lt=2))) == [1, 2, 4, 6, 7, 8]
    assert same(_field("field", values_count=models.ValuesCount(gte=2))) == [3, 5]
    # each x found counts alone: 1, 2, 3 are one value each; [1, 2] is two
    assert same(_field("nested[].x", values_count=models.ValuesCount(lte=1))) == list(COUNTED)
    assert same(_field("nested[].x", values_count=models.ValuesCount(gt=1))) == [7]
    # Qdrant 1.19.1 on (qdrant#10101): an array holding a null is null, [null, null] too
    is_null = models.IsNullCondition(is_null=models.PayloadField(key="field"))
    assert same(models.Filter(must=[is_null])) == [1, 5]
    assert same(_field("field", is_null=True)) == [1, 5]
    is_empty = models.IsEmptyCondition(is_empty=models.PayloadField(key="field"))
    assert same(models.Filter(must=[is_empty])) == [1, 2, 6, 7, 8]
    is_empty = models.IsEmptyCondition(is_empty=models.PayloadField(key="nested[].x"))
    assert same(models.Filter(must=[is_empty])) == [1, 2, 3, 4, 5, 8]


def _nested(key: str, *must: models.Condition) -> models.NestedCondition:
    inner = models.Filter(must=list(must))
    return models.NestedCondition(nested=models.Nested(key=key, filter=inner))


def test_nested_conditions_hold_for_one_object(remote: QdrantClient, local: QdrantClient) -> None:
    _load([remote, local], "diets", DIETS)
    meat = models.FieldCondition(key="food", match=models.MatchValue(value="meat"))
    likes = models.FieldCondition(key="likes", match=models.MatchValue(value=True))
    # both on one object: only the t-rex likes meat; spread over the array, both match
    for key in ("diet", "diet[]"):
        assert _same(remote, local, "diets", models.Filter(must=[_nested(key, meat, likes)])) == [1]
    flat = models.Filter(
        must=[
            models.FieldCondition(key="diet[].food", match=models.MatchValue(value="meat")),
            models.FieldCondition(key="diet[].likes", match=models.MatchValue(value=True)),
        ]
    )
    assert _same(remote, local, "diets", flat) == [1, 2]  # the ghost's diet is no array
    not_both = models.Filter(must_not=[_nested("diet", meat, likes)])
    assert _same(remote, local, "diets", not_both) == [2, 3]
    named = models.FieldCondition(key="dinosaur", match=models.MatchValue(value="t-rex"))
    assert _same(remote, local, "diets", models.Filter(must=[_nested("diet", likes), named])) == [1]


def test_nested_refuses_has_id_and_changes_nothing(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        create(http, "refuse", 2)
        upsert(http, "refuse", [1, 2], [[1.0, 0.0], [0.0, 1.0]], [{"a": [{"b": 1}]}, {}])
        flt = {"must": [{"nested": {"key": "a", "filter": {"must": [{"has_id": [1]}]}}}]}
        r = http.post("/collections/refuse/points/delete?wait=true", json={"filter": flt})
        assert r.status_code == 400
        assert "filter.must[0].nested.filter.must[0].has_id" in error_of(r)
        assert count(http, "refuse", None) == 2


@pytest.mark.parametrize("index", [False, True], ids=["scan", "geo-index"])
def test_geo_conditions_match_local_mode(
    remote: QdrantClient, local: QdrantClient, server: ServerProcess, index: bool
) -> None:
    name = f"cities-{index}"
    _load([remote, local], name, CITIES)
    if index:
        remote.create_payload_index(name, "at", models.PayloadSchemaType.GEO, wait=True)
        with httpx.Client(base_url=server.url, timeout=30) as http:
            info = ok(http.get(f"/collections/{name}"))
        assert info["payload_schema"]["at"]["data_type"] == "geo"
    answers = [_ids(remote, name, flt) for flt in GEO_FILTERS]
    for flt, got in zip(GEO_FILTERS, answers, strict=True):
        want = _ids(local, name, flt)
        # local mode takes a longitude of 200 as a point; Qdrant's server refuses it
        assert [i for i in got if i != 6] == [i for i in want if i != 6], flt
    assert answers == [[1, 3], [4, 5], [1], [1, 2, 3], [2, 3], [1, 4, 5, 6, 7, 8]]


def _random_points(rng: random.Random, n: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(n):
        lat = math.degrees(math.asin(rng.uniform(-1, 1)))  # uniform over the sphere
        point = {"lon": rng.uniform(-180, 180), "lat": lat}
        out.append({"at": point if rng.random() < 0.8 else [point, {"lon": 0.0, "lat": 0.0}]})
    return out


def test_a_geo_index_is_used_and_survives_a_restart(tmp_path: Path) -> None:
    payloads = _random_points(random.Random(3), 6000)
    flts = [f.model_dump(exclude_none=True, by_alias=True) for f in GEO_FILTERS]
    wide = {"center": {"lon": 0, "lat": 0}, "radius": 3e6}
    flts.append({"must": [{"key": "at", "geo_radius": wide}]})
    local = QdrantClient(":memory:")
    _load([local], "g", dict(enumerate(payloads)))
    want = [len(_ids(local, "g", models.Filter.model_validate(f))) for f in flts]
    proc = ServerProcess(tmp_path / "data").start()
    try:
        with httpx.Client(base_url=proc.url, timeout=60) as http:
            create(http, "g", 2)
            upsert(http, "g", list(range(len(payloads))), [[1.0, 0.0]] * len(payloads), payloads)
            assert [count(http, "g", f) for f in flts] == want  # scanned
            create_index(http, "g", "at", "geo")
            assert [count(http, "g", f) for f in flts] == want  # from the index
        assert proc.stop() == 0
        proc.start()
        proc.wait_ready()
        with httpx.Client(base_url=proc.url, timeout=60) as http:
            assert list((tmp_path / "data").glob("collections/*/payload/*.npz"))
            assert [count(http, "g", f) for f in flts] == want
            info = ok(http.get("/collections/g"))
            assert info["payload_schema"]["at"]["points"] == len(payloads)
    finally:
        proc.stop()
        local.close()


def test_bad_geo_values_in_a_filter_are_refused_by_the_client_and_the_server(
    remote: QdrantClient, server: ServerProcess
) -> None:
    _load([remote], "cities-bad", CITIES)
    bad = {"must": [{"key": "at", "geo_radius": {"center": {"lon": 0, "lat": 95}, "radius": 1}}]}
    with httpx.Client(base_url=server.url, timeout=30) as http:
        r = http.post("/collections/cities-bad/points/delete?wait=true", json={"filter": bad})
        assert r.status_code == 400
        assert error_of(r) == "filter.must[0].geo_radius.center.lat: must be between -90 and 90"
        assert count(http, "cities-bad", None) == len(CITIES)
    with pytest.raises(UnexpectedResponse) as caught:
        remote.count("cities-bad", count_filter=models.Filter.model_validate(bad))
    assert caught.value.status_code == 400
