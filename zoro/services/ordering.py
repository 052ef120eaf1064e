"""Points ordered by a payload value: `order_by` in scroll and in the Query API (Qdrant's rules).

Qdrant orders only by a key that has a payload index answering ranges (integer, float or
datetime), and reads the values from that index: a value of another kind at the key is not
ordered by. A point holding several values appears once per distinct value, each time with that
value as its `order_value`. Ascending (the default) starts at the lowest value, or at the first
value >= `start_from`; descending at the highest, or at the first <= `start_from`. Equal values
keep slot order (the order points were last written). There is no next page: callers page with
`start_from` (and skip the points already seen at that value). A datetime key's values are shown
and compared as microseconds since the epoch: `start_from` may be that number or an RFC 3339
string.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt
import trio

from zoro.errors import Unavailable
from zoro.payload.conditions import number_of, parse_datetime
from zoro.wire import rules

if TYPE_CHECKING:
    from collections.abc import Mapping

    from zoro.actors import CollectionActor

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

# The schemas whose index answers ranges, so can order (Qdrant's rule).
RANGE_SCHEMAS: Final = ("integer", "float", "datetime")
_MICROS: Final = 1_000_000
# Above this many (value, slot) pairs, choosing the first ones runs in a worker thread.
_INLINE_PAIRS: Final = 65_536


@dataclass(frozen=True, slots=True)
class OrderBy:
    key: str
    descending: bool
    start_from: float | None  # a number as given, a datetime string as UTC seconds
    start_is_datetime: bool = False


@dataclass(frozen=True, slots=True)
class Ordered:
    """Slots in order, each with the value it was ordered by (as Qdrant shows it)."""

    slots: I64
    values: list[int | float]


def parse(value: str | Mapping[str, Any], field: str) -> OrderBy:
    """An `order_by` its request's schema checked (`"key"` or `{"key", "direction",
    "start_from"}`); a string `start_from` is read here, as an RFC 3339 datetime (rule
    start-from-datetime)."""
    if isinstance(value, str):
        return OrderBy(value, descending=False, start_from=None)
    start = value.get("start_from")
    return OrderBy(
        value["key"],
        descending=value.get("direction") == "desc",
        start_from=_start(start, f"{field}.start_from"),
        start_is_datetime=isinstance(start, str),
    )


# scroll's name for the same reading
checked = parse


def _start(value: object, field: str) -> float | None:
    if value is None:
        return None
    number = number_of(value)
    if number is not None:
        return float(number)
    if isinstance(value, str):
        seconds = parse_datetime(value)
        if seconds is not None:
            return seconds
    raise rules.START_FROM_DATETIME.error(field, "must be a number or an RFC 3339 datetime string")


def check(actor: CollectionActor, order: OrderBy, field: str) -> None:
    """Refuse an order Qdrant refuses: no range-capable index on the key."""
    schema, index = actor.payload_schema(order.key), actor.payload_index(order.key)
    if schema not in RANGE_SCHEMAS:
        have = "no payload index" if schema is None else f"a {schema} index"
        raise rules.ORDER_BY_INDEX.error(
            field,
            f"cannot order by {order.key!r}: it has {have}; order_by needs an integer, "
            f"float or datetime payload index on the key (PUT /collections/{{name}}/index)",
        )
    if index is None:
        raise Unavailable(f"{field}: the payload index on {order.key!r} is still being built")


async def ordered(actor: CollectionActor, order: OrderBy, allowed: I64 | None, end: int) -> Ordered:
    """The first `end` (slot, value) pairs in order among the live slots in `allowed` (None:
    every live slot). Call `check` first. The index's pairs are copied on the event loop (the
    index changes there); choosing among many of them goes to a worker thread."""
    schema, index = actor.payload_schema(order.key), actor.payload_index(order.key)
    assert index is not None and schema in RANGE_SCHEMAS
    keep = actor.store.live_mask().copy()
    if allowed is not None:
        chosen = np.zeros(len(keep), dtype=np.bool_)
        chosen[allowed[allowed < len(keep)]] = True
        keep &= chosen
    arrays = index.arrays(keep)  # copies of the (value, slot) pairs of kept slots
    values: npt.NDArray[Any] = arrays["values"]
    slots: I64 = arrays["slots"].astype(np.int64)
    if schema == "datetime":  # held as UTC seconds, shown (and compared) as microseconds
        values = np.round(values * _MICROS).astype(np.int64)
    order = _in_shown_units(order)
    if len(values) > _INLINE_PAIRS:
        values, slots = await trio.to_thread.run_sync(_first, order, values, slots, end)
    else:
        values, slots = _first(order, values, slots, end)
    return Ordered(slots, _shown(values))


def _in_shown_units(order: OrderBy) -> OrderBy:
    """start_from in the units of the order values shown: a datetime string as microseconds
    since the epoch (as a datetime key's values are shown, so a page can start from the last
    value seen), a number as it is."""
    if order.start_from is None or not order.start_is_datetime:
        return order
    return OrderBy(order.key, order.descending, float(round(order.start_from * _MICROS)))


def _first(
    order: OrderBy, values: npt.NDArray[Any], slots: I64, end: int
) -> tuple[npt.NDArray[Any], I64]:
    """The first `end` distinct (value, slot) pairs in order: by value (reversed for desc),
    then by slot."""
    if order.start_from is not None:
        start = order.start_from
        inside = values <= start if order.descending else values >= start
        values, slots = values[inside], slots[inside]
    key = -values.astype(np.float64) if order.descending else values
    want = end
    while True:
        # only pairs up to the want-th key (ties included) can be among the first `end`
        if len(key) > 2 * want > 0:
            bound = np.partition(key, want - 1)[want - 1]
            near = np.flatnonzero(key <= bound)
        else:
            near = np.arange(len(key))
        picked = near[np.lexsort((slots[near], key[near]))]
        v, s = values[picked], slots[picked]
        if len(s) > 1:  # a slot holding one value twice counts once
            first = np.ones(len(s), dtype=np.bool_)
            first[1:] = (v[1:] != v[:-1]) | (s[1:] != s[:-1])
            v, s = v[first], s[first]
        if len(s) >= end or len(near) == len(key):
            return v[:end], s[:end]
        want *= 2  # duplicates were dropped: look further


def _shown(values: npt.NDArray[Any]) -> list[int | float]:
    """Order values as Qdrant gives them: integers for an integer index, microseconds since
    the epoch for a datetime one (converted by `ordered`), floats for a float one."""
    out: list[int | float] = values.tolist()
    return out
