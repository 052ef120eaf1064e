"""Geometry of Qdrant's geo filters, on arrays of points (numpy), for the scan and the geo index.

A geo point is a payload object with finite numbers `lon` in [-180, 180] and `lat` in [-90, 90]
(other keys beside them are ignored). Qdrant's server refuses coordinates out of those ranges,
so such a value is no geo point here and never matches a geo condition (qdrant-client's local
mode takes any finite numbers; we follow the server).

The three shapes answer as Qdrant does:

* a bounding box holds the points strictly inside it; when its top-left longitude is greater
  than its bottom-right one, the box crosses the antimeridian;
* a radius holds the points whose haversine distance from the center, on a sphere of Earth's
  mean radius, is strictly less than the radius in meters;
* a polygon holds the points strictly inside its exterior ring and outside (and off the edges
  of) every interior ring: a point on any edge is not held.

Both the scan path (one payload's points at a time) and the geo index (every indexed point at
once) call the same functions, so the two answer alike to the last bit.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]
LonLat = tuple[float, float]
Ring = tuple[LonLat, ...]

MEAN_EARTH_RADIUS_M: Final = 6_371_008.8  # the IUGG mean radius, as Qdrant's haversine uses
MIN_RING_POINTS: Final = 4


def geo_point(value: object) -> LonLat | None:
    """`value` as (lon, lat) when it is a geo point, else None."""
    if not isinstance(value, dict):
        return None
    lon, lat = value.get("lon"), value.get("lat")
    if type(lon) not in (int, float) or type(lat) not in (int, float):
        return None
    try:
        lon_f, lat_f = float(lon), float(lat)  # type: ignore[arg-type]
    except OverflowError:  # an integer too big for a float
        return None
    if not (math.isfinite(lon_f) and math.isfinite(lat_f)):
        return None
    if not (-180.0 <= lon_f <= 180.0 and -90.0 <= lat_f <= 90.0):
        return None
    return lon_f, lat_f


def coordinates(values: Iterable[object]) -> tuple[F64, F64]:
    """The geo points among `values`, as (lons, lats) arrays."""
    points = [p for p in map(geo_point, values) if p is not None]
    if not points:
        return np.empty(0), np.empty(0)
    array = np.array(points, dtype=np.float64)
    return array[:, 0], array[:, 1]


def in_box(lon: F64, lat: F64, top_left: LonLat, bottom_right: LonLat) -> Mask:
    """Strictly inside the box (across the antimeridian when its left edge is east of its
    right one)."""
    left, top = top_left
    right, bottom = bottom_right
    crosses_antimeridian = left > right
    lon_ok = (lon > left) | (lon < right) if crosses_antimeridian else (lon > left) & (lon < right)
    result: Mask = lon_ok & (lat > bottom) & (lat < top)
    return result


def haversine_m(lon: F64, lat: F64, center: LonLat) -> F64:
    """Great-circle distance in meters from `center` to each point."""
    lon1, lat1 = np.radians(lon), np.radians(lat)
    lon2, lat2 = math.radians(center[0]), math.radians(center[1])
    half = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * math.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    distance: F64 = MEAN_EARTH_RADIUS_M * (2 * np.arcsin(np.sqrt(np.minimum(half, 1.0))))
    return distance


def in_radius(lon: F64, lat: F64, center: LonLat, radius_m: float) -> Mask:
    result: Mask = haversine_m(lon, lat, center) < radius_m
    return result


def in_polygon(lon: F64, lat: F64, exterior: Ring, interiors: Sequence[Ring]) -> Mask:
    """Strictly inside the exterior ring and outside every interior ring (edges excluded)."""
    inside, on_edge = _ring(lon, lat, exterior)
    held = inside & ~on_edge
    for ring in interiors:
        if not held.any():
            break
        hole, hole_edge = _ring(lon, lat, ring)
        held &= ~(hole | hole_edge)
    return held


def _ring(x: F64, y: F64, ring: Ring) -> tuple[Mask, Mask]:
    """(inside by the crossing rule, on an edge) for each point, over a closed ring."""
    inside = np.zeros(len(x), dtype=np.bool_)
    on_edge = np.zeros(len(x), dtype=np.bool_)
    vertices = ring[:-1] if ring[0] == ring[-1] else ring
    count = len(vertices)
    for i in range(count):
        ax, ay = vertices[i - 1]
        bx, by = vertices[i]
        # on the segment: collinear (a zero cross product) and within its bounding box
        cross = (bx - ax) * (y - ay) - (by - ay) * (x - ax)
        between = ((ax - x) * (bx - x) <= 0) & ((ay - y) * (by - y) <= 0)
        on_edge |= (cross == 0) & between
        # a horizontal ray to the east crosses this edge
        straddles = (ay > y) != (by > y)
        if by != ay:
            crossing_x = ax + (bx - ax) * (y - ay) / (by - ay)
            inside ^= straddles & (x < crossing_x)
    return inside, on_edge
