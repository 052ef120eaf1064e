"""Looking over a collection's data as a whole: payload facets and the distance matrix."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from zoro.wire import filters, rules
from zoro.wire.common import SHARD_KEY
from zoro.wire.points import FILTER
from zoro.wire.schema import Schema, WireRequest, boolean, integer, nullable, obj, string

if TYPE_CHECKING:
    from zoro.settings import LimitSettings


def _facet(limits: LimitSettings) -> Schema:
    return rules.with_rules(
        obj(
            {
                "key": string(about='a payload key path: a.b, a[0].b, a[].b, "a.b"'),
                "limit": nullable(integer(low=1, high=limits.max_limit, about="default 10")),
                "filter": FILTER,  # (the component takes null)
                "exact": nullable(boolean("accepted; counts are always exact")),
                "shard_key": SHARD_KEY,
            },
            required=("key",),
        ),
        rules.FACET_INDEX,
        *filters.RULES,
        rules.KEY_PATH,
    )


def _matrix(limits: LimitSettings) -> Schema:
    return rules.with_rules(
        obj(
            {
                "sample": nullable(integer(low=2, high=limits.max_limit, about="default 10")),
                "limit": nullable(integer(low=1, high=limits.max_limit, about="default 3")),
                "using": nullable(string()),
                "filter": FILTER,  # (the component takes null)
                "shard_key": SHARD_KEY,
            }
        ),
        rules.MATRIX_VECTOR,
        *filters.RULES,
    )


_MATRIX_EXAMPLE: Final[dict[str, object]] = {
    "sample": 4,
    "limit": 2,
    "using": None,
    "filter": {"must": []},
    "shard_key": None,
}


def _matrix_request(route: str, whole_example: dict[str, object]) -> WireRequest:
    return WireRequest(
        route,
        _matrix,
        examples=(_MATRIX_EXAMPLE,),
        rule_examples={
            **filters.rule_examples(),
            "matrix-vector": {"using": "no_such_vector"},
            "whole-integers": whole_example,
        },
    )


REQUESTS: Final = (
    WireRequest(
        "facet",
        _facet,
        examples=(
            {
                "key": "color",
                "limit": 10,
                "filter": {"must": []},
                "exact": False,
                "shard_key": None,
            },
        ),
        rule_examples={
            **filters.rule_examples(key="color"),
            "facet-index": {"key": "no_index_here"},
            "whole-integers": {"key": "color", "limit": 10.0},
            "key-path": {"key": "a..b"},
        },
    ),
    _matrix_request("search_matrix_pairs", {"sample": 4.0}),
    _matrix_request("search_matrix_offsets", {"limit": 2.0}),
)
