"""Actor answers turned into Qdrant's response shapes (plain objects that orjson writes directly).

Stored payloads are already JSON, so a whole payload goes out as an `orjson.Fragment` without being
parsed and encoded again; only include/exclude selections decode it. Vectors go out as numpy rows
(orjson's OPT_SERIALIZE_NUMPY).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from zoro.services import vectors
from zoro.types import ids_of

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from zoro.actors import CollectionActor


@dataclass(frozen=True, slots=True)
class PayloadSelector:
    """What `with_payload` asks for: nothing, everything, or some top-level keys."""

    wanted: bool
    include: frozenset[str] | None = None
    exclude: frozenset[str] | None = None

    def render(self, payload: bytes) -> Any:
        if self.include is None and self.exclude is None:
            return orjson.Fragment(payload)
        data: dict[str, Any] = orjson.loads(payload)
        if self.include is not None:
            return {k: v for k, v in data.items() if k in self.include}
        assert self.exclude is not None
        return {k: v for k, v in data.items() if k not in self.exclude}


NO_PAYLOAD = PayloadSelector(False)
FULL_PAYLOAD = PayloadSelector(True)


def payload_selector(value: object, field: str, *, default: bool) -> PayloadSelector:
    """Qdrant's `with_payload` a schema checked: bool, a list of keys, or
    {"include"|"exclude": keys}."""
    if value is None:
        return FULL_PAYLOAD if default else NO_PAYLOAD
    if isinstance(value, bool):
        return FULL_PAYLOAD if value else NO_PAYLOAD
    if isinstance(value, list) and all(isinstance(k, str) for k in value):
        return PayloadSelector(True, include=frozenset(value))
    if isinstance(value, Mapping) and len(value) == 1:
        ((kind, keys),) = value.items()
        keys = [keys] if isinstance(keys, str) else keys
        # every key a string before hashing them: a key may be a list
        if (
            kind in ("include", "exclude")
            and isinstance(keys, list)
            and all(isinstance(k, str) for k in keys)
        ):
            names = frozenset(keys)
            if kind == "include":
                return PayloadSelector(True, include=names)
            return PayloadSelector(True, exclude=names)
    # zoro.wire.common.WITH_PAYLOAD, the schema every route checks it with, takes no other
    raise AssertionError(f"{field}: the schema lets through no with_payload {value!r}")


def scored_points(
    actor: CollectionActor,
    scores: npt.NDArray[np.float32] | npt.NDArray[np.float64],
    slots: npt.NDArray[np.int64],
    selector: PayloadSelector,
    with_vector: list[str],
) -> list[dict[str, Any]]:
    """ScoredPoint objects for one query's hits (already best first)."""
    ids = ids_of(actor.keys_of_slots(slots))
    points: list[dict[str, Any]] = [
        {"id": pid, "version": 0, "score": score}
        for pid, score in zip(ids, scores.tolist(), strict=True)
    ]
    _attach(actor, points, slots, selector, with_vector)
    return points


def records(
    actor: CollectionActor,
    slots: npt.NDArray[np.int64],
    selector: PayloadSelector,
    with_vector: list[str],
) -> list[dict[str, Any]]:
    """Record objects (retrieve, scroll) for live slots, in the order given."""
    ids = ids_of(actor.keys_of_slots(slots))
    points: list[dict[str, Any]] = [{"id": pid} for pid in ids]
    _attach(actor, points, slots, selector, with_vector)
    return points


def _attach(
    actor: CollectionActor,
    points: list[dict[str, Any]],
    slots: npt.NDArray[np.int64],
    selector: PayloadSelector,
    with_vector: list[str],
) -> None:
    if selector.wanted:
        for point, payload in zip(points, actor.payloads_of_slots(slots), strict=True):
            point["payload"] = selector.render(payload)
    if with_vector:
        for point, value in zip(points, vectors.render(actor, slots, with_vector), strict=True):
            point["vector"] = value


def update_result(lsn: int, *, completed: bool = True) -> dict[str, Any]:
    return {"operation_id": lsn, "status": "completed" if completed else "acknowledged"}
