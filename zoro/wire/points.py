"""Reading and removing points, and their payloads: count, scroll, retrieve, delete, and the
payload updates (set, overwrite, delete keys, clear)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from zoro.wire import rules
from zoro.wire.common import SHARD_KEY
from zoro.wire.schema import Schema, WireRequest, boolean, nullable, obj, ref

if TYPE_CHECKING:
    from zoro.settings import LimitSettings

FILTER: Final = ref("Filter")


def _count(limits: LimitSettings) -> Schema:
    return rules.with_rules(
        obj(
            {
                "exact": nullable(boolean("accepted; counts are always exact")),
                "filter": nullable(FILTER),
                "shard_key": SHARD_KEY,
            }
        ),
        rules.FILTER,
    )


REQUESTS: Final = (
    WireRequest(
        "count_points",
        _count,
        examples=({"exact": True, "filter": {"must": []}, "shard_key": None},),
        rule_examples={"filter": {"filter": {"must": [{"zz_unknown": 1}]}}},
    ),
)
