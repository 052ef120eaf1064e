"""Reading and removing points, and their payloads: count, scroll, retrieve, delete, and the
payload updates (set, overwrite, delete keys, clear)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from zoro.wire import filters, rules
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
                "filter": FILTER,  # (the component takes null)
                "shard_key": SHARD_KEY,
            }
        ),
        *filters.RULES,
    )


REQUESTS: Final = (
    WireRequest(
        "count_points",
        _count,
        root="",  # as the service wrote them: `filter.must[0]...`, `exact: ...`
        examples=({"exact": True, "filter": {"must": []}, "shard_key": None},),
        rule_examples=filters.rule_examples(),
    ),
)
