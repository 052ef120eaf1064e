"""The `geo` payload index: every geo point at one key path, with the slot that holds it.

Points are kept as three parallel columns (longitude, latitude, slot) that only grow, like the
other indexes (see zoro.payload.field_index). A geo condition is answered by one vectorised pass
of zoro.payload.geo over the points inside the condition's latitude band, found by a binary
search over a latitude-sorted copy that is rebuilt once enough points arrived after it; the
scan path calls the same geometry on one payload's points, so both answer alike.

Only geo points are indexed (objects with `lon` and `lat` in range): nothing else can satisfy a
geo condition, so no slot is ever listed for scanning (`others` stays empty).
"""

from __future__ import annotations

import math
from array import array
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from zoro.payload.conditions import GeoBoundingBox, GeoPolygon, GeoRadius
from zoro.payload.field_index import FieldIndex
from zoro.payload.geo import MEAN_EARTH_RADIUS_M, geo_point

if TYPE_CHECKING:
    from zoro.payload.conditions import Condition, KeyPath

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]

# The latitude-sorted copy is rebuilt when the points added since outnumber this share of it.
_UNSORTED_SHARE: Final = 0.125
_UNSORTED_MIN: Final = 4096


class GeoIndex(FieldIndex):
    schema = "geo"

    def __init__(self, key: KeyPath) -> None:
        super().__init__(key)
        self._lon = array("d")
        self._lat = array("d")
        self._slots = array("q")
        # (lat, lon, slot) of the first `_sorted_count` points, sorted by latitude
        self._sorted: tuple[F64, F64, I64] = (np.empty(0), np.empty(0), np.empty(0, np.int64))
        self._sorted_count = 0

    def answers(self, condition: Condition) -> bool:
        return isinstance(condition, GeoBoundingBox | GeoRadius | GeoPolygon)

    def _take(self, value: Any) -> Any:
        return geo_point(value)

    def _could_match(self, value: Any) -> bool:
        return False  # only a geo point can be inside a shape

    def _store(self, slot: int, values: list[Any]) -> None:
        for lon, lat in values:
            self._lon.append(lon)
            self._lat.append(lat)
            self._slots.append(slot)

    def mask(self, condition: Condition, n: int) -> Mask:
        assert isinstance(condition, GeoBoundingBox | GeoRadius | GeoPolygon)
        lon, lat, slots = self._candidates(*_latitude_band(condition))
        out = np.zeros(n, dtype=np.bool_)
        held = slots[condition.inside(lon, lat)]
        out[held[held < n]] = True
        return out

    def estimate(self, condition: Condition) -> int:
        if not isinstance(condition, GeoBoundingBox | GeoRadius | GeoPolygon):
            return self.entries
        low, high = _latitude_band(condition)
        lat = self._sorted_view()[0]
        inside = int(np.searchsorted(lat, high, "right") - np.searchsorted(lat, low, "left"))
        return inside + len(self._slots) - self._sorted_count

    def _sorted_view(self) -> tuple[F64, F64, I64]:
        unsorted = len(self._slots) - self._sorted_count
        if unsorted > max(_UNSORTED_MIN, _UNSORTED_SHARE * self._sorted_count):
            lat, lon, slots = self._columns()
            order = np.argsort(lat, kind="stable")
            self._sorted = (lat[order], lon[order], slots[order])
            self._sorted_count = len(slots)
        return self._sorted

    def _candidates(self, low: float, high: float) -> tuple[F64, F64, I64]:
        """(lon, lat, slot) of the points that may lie in the band [low, high] of latitude:
        the band of the sorted copy, and every point added after it."""
        lat, lon, slots = self._sorted_view()
        start = int(np.searchsorted(lat, low, "left"))
        end = int(np.searchsorted(lat, high, "right"))
        all_lat, all_lon, all_slots = self._columns()
        rest = slice(self._sorted_count, None)
        return (
            np.concatenate([lon[start:end], all_lon[rest]]),
            np.concatenate([lat[start:end], all_lat[rest]]),
            np.concatenate([slots[start:end], all_slots[rest]]),
        )

    def _columns(self) -> tuple[F64, F64, I64]:
        if not len(self._slots):
            return np.empty(0), np.empty(0), np.empty(0, dtype=np.int64)
        return (
            np.frombuffer(self._lat, dtype=np.float64),
            np.frombuffer(self._lon, dtype=np.float64),
            np.frombuffer(self._slots, dtype=np.int64),
        )

    def memory_bytes(self) -> int:
        sorted_bytes = sum(a.nbytes for a in self._sorted)
        return 24 * len(self._slots) + sorted_bytes + 8 * (len(self._holders) + len(self._others))

    def arrays(self, keep: Mask) -> dict[str, npt.NDArray[Any]]:
        out = super().arrays(keep)
        lat, lon, slots = self._columns()
        kept = np.zeros(len(slots), dtype=np.bool_)
        inside = slots < len(keep)
        kept[inside] = keep[slots[inside]]
        out["lon"], out["lat"], out["slots"] = lon[kept].copy(), lat[kept].copy(), slots[kept]
        return out

    def load_arrays(self, data: dict[str, npt.NDArray[Any]]) -> None:
        super().load_arrays(data)
        self._lon = array("d", data["lon"].astype(np.float64).tobytes())
        self._lat = array("d", data["lat"].astype(np.float64).tobytes())
        self._slots = array("q", data["slots"].astype(np.int64).tobytes())
        if not len(self._lon) == len(self._lat) == len(self._slots):
            raise ValueError("geo index columns of different lengths")
        self._sorted_count = 0
        self._sorted = (np.empty(0), np.empty(0), np.empty(0, np.int64))
        self.entries = len(self._slots)


def _latitude_band(condition: GeoBoundingBox | GeoRadius | GeoPolygon) -> tuple[float, float]:
    """Latitudes outside [low, high] cannot be in the shape (a slightly wider band is fine)."""
    if isinstance(condition, GeoBoundingBox):
        return condition.bottom_right[1], condition.top_left[1]
    if isinstance(condition, GeoRadius):
        # a point within r meters lies within r / R radians of latitude of the center
        spread = math.degrees(condition.radius_m / MEAN_EARTH_RADIUS_M) * (1 + 1e-9) + 1e-9
        return condition.center[1] - spread, condition.center[1] + spread
    lats = [lat for _, lat in condition.exterior]
    return min(lats), max(lats)
