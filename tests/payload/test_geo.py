"""Geo geometry and the geo index.

The geometry is checked against qdrant-client's local mode, the reference (its functions are
called, point by point); the index is checked against the scan definition
(zoro.payload.conditions.matches) on enough points that its latitude-sorted copy is used, and
again after a save and load of its arrays.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from qdrant_client.local import geo as reference

from zoro.payload import GeoBoundingBox, GeoPolygon, GeoRadius, matches, parse_key
from zoro.payload.geo import coordinates, geo_point, in_box, in_polygon, in_radius
from zoro.payload.geo_index import GeoIndex

KEY = parse_key("loc")
SQUARE = ((0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (0.0, 4.0), (0.0, 0.0))
HOLE = ((1.0, 1.0), (2.0, 1.0), (2.0, 2.0), (1.0, 2.0), (1.0, 1.0))


def _arrays(points: list[tuple[float, float]]) -> tuple[Any, Any]:
    array = np.array(points, dtype=np.float64).reshape(-1, 2)
    return array[:, 0], array[:, 1]


def test_geo_points_are_objects_with_coordinates_in_range() -> None:
    assert geo_point({"lon": 13.4, "lat": 52.5}) == (13.4, 52.5)
    assert geo_point({"lon": 1, "lat": 2, "name": "x"}) == (1.0, 2.0)  # extra keys are ignored
    for bad in (
        {"lon": 181, "lat": 0},
        {"lon": 0, "lat": -90.5},
        {"lon": 0},
        {"lon": "1", "lat": 2},
        {"lon": True, "lat": 2},
        {"lon": float("nan"), "lat": 2},
        {"lon": 10**400, "lat": 2},
        [1, 2],
        "1,2",
        None,
    ):
        assert geo_point(bad) is None, bad


def test_edges_are_outside() -> None:
    lon, lat = _arrays([(2, 0), (0, 0), (3, 3), (1.5, 1), (1.5, 1.5), (0.5, 0.5), (5, 5)])
    assert in_polygon(lon, lat, SQUARE, (HOLE,)).tolist() == [0, 0, 1, 0, 0, 1, 0]
    box = in_box(lon, lat, (0.0, 4.0), (4.0, 0.0))
    assert box.tolist() == [0, 0, 1, 1, 1, 1, 0]


def test_a_box_may_cross_the_antimeridian() -> None:
    lon, lat = _arrays([(179.5, 0), (-179.5, 0), (0, 0), (179.5, 2)])
    assert in_box(lon, lat, (179.0, 1.0), (-179.0, -1.0)).tolist() == [1, 1, 0, 0]


def test_radius_is_the_haversine_distance() -> None:
    berlin, moscow = (13.4050, 52.5200), (37.6173, 55.7558)
    lon, lat = _arrays([moscow, berlin])
    assert in_radius(lon, lat, berlin, 1_650_000).tolist() == [1, 1]
    assert in_radius(lon, lat, berlin, 1_600_000).tolist() == [0, 1]
    assert in_radius(lon, lat, berlin, 0.0).tolist() == [0, 0]  # strictly less than


def _random_points(rng: random.Random, n: int) -> list[tuple[float, float]]:
    """Grid points (edges and vertices get hit) and arbitrary ones."""
    out = []
    for _ in range(n):
        if rng.random() < 0.5:
            out.append((float(rng.randint(-5, 5)), float(rng.randint(-5, 5))))
        else:
            out.append((rng.uniform(-180, 180), rng.uniform(-90, 90)))
    return out


def _random_ring(rng: random.Random) -> tuple[tuple[float, float], ...]:
    ring = [
        (float(rng.randint(-5, 5)), float(rng.randint(-5, 5))) for _ in range(rng.randint(3, 6))
    ]
    return (*ring, ring[0])


def test_the_geometry_agrees_with_the_reference() -> None:
    rng = random.Random(7)
    for _ in range(200):
        points = _random_points(rng, 60)
        lon, lat = _arrays(points)
        exterior, hole = _random_ring(rng), _random_ring(rng)
        got = in_polygon(lon, lat, exterior, (hole,)).tolist()
        swap = [[(y, x) for x, y in r] for r in (exterior, hole)]  # the reference takes (lat, lon)
        want = [reference.boolean_point_in_polygon((y, x), swap[0], [swap[1]]) for x, y in points]
        assert got == want, (exterior, hole)
        center = points[0]
        radius = rng.choice([1.0, 50_000.0, 150_000.0, 3_000_000.0])
        got = in_radius(lon, lat, center, radius).tolist()
        want = [reference.geo_distance(x, y, center[0], center[1]) < radius for x, y in points]
        assert got == want


def _payloads(rng: random.Random, n: int) -> list[dict[str, Any]]:
    def one() -> Any:
        roll = rng.random()
        if roll < 0.6:
            lon, lat = _random_points(rng, 1)[0]
            return {"lon": lon, "lat": lat}
        if roll < 0.85:
            return [{"lon": x, "lat": y} for x, y in _random_points(rng, rng.randint(0, 3))]
        return rng.choice([None, "x", 3, {"lon": 1}, [None, {"lat": 1, "lon": 200}]])

    return [{"loc": one()} if rng.random() < 0.9 else {} for _ in range(n)]


CONDITIONS = [
    GeoBoundingBox(KEY, (-3.0, 3.0), (3.0, -3.0)),
    GeoBoundingBox(KEY, (170.0, 10.0), (-170.0, -10.0)),
    GeoRadius(KEY, (0.0, 0.0), 350_000.0),
    GeoRadius(KEY, (2.0, 89.0), 400_000.0),
    GeoRadius(KEY, (1.0, 1.0), 0.0),
    GeoPolygon(KEY, SQUARE, (HOLE,)),
    GeoPolygon(KEY, ((-5.0, -5.0), (5.0, -2.0), (0.0, 5.0), (-5.0, -5.0))),
]


@pytest.mark.parametrize("split", [0, 3000, 7999])
def test_the_index_answers_as_the_scan(split: int) -> None:
    """`split` points are added after the sorted copy was last made (all, or some, or none)."""
    payloads = _payloads(random.Random(split), 8000)
    index = GeoIndex(KEY)
    slots = list(range(len(payloads)))
    index.add(slots[: len(payloads) - split], payloads[: len(payloads) - split])
    for condition in CONDITIONS:
        index.estimate(condition)  # makes the sorted copy of what is there
    index.add(slots[len(payloads) - split :], payloads[len(payloads) - split :])
    loaded = GeoIndex(KEY)
    loaded.load_arrays(index.arrays(np.ones(len(payloads), dtype=np.bool_)))
    for condition in CONDITIONS:
        want = [i for i, p in enumerate(payloads) if matches(condition, p, b"")]
        assert np.flatnonzero(index.mask(condition, len(payloads))).tolist() == want, condition
        assert np.flatnonzero(loaded.mask(condition, len(payloads))).tolist() == want, condition
        assert index.estimate(condition) >= len(want)
    assert len(index.others()) == 0


def test_coordinates_skip_what_is_not_a_point() -> None:
    lon, lat = coordinates([{"lon": 1, "lat": 2}, None, "x", {"lon": 3, "lat": 4}])
    assert lon.tolist() == [1.0, 3.0]
    assert lat.tolist() == [2.0, 4.0]
