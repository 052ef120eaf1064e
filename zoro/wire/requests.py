"""The request schemas of the converted routes, by route name (the names of zoro.http.routes),
as functions of the server's limits, and one or more valid example bodies per route.

A route converted to `zoro.wire` is registered here: its service checks bodies against the
schema (`check`), /openapi.json serves it, and the constraint test walks it."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, Final

from zoro.wire import rules
from zoro.wire.schema import (
    Schema,
    array,
    boolean,
    integer,
    nullable,
    obj,
    one_of,
    ref,
    string,
    unsupported,
)

if TYPE_CHECKING:
    from zoro.settings import LimitSettings

_FILTER = ref("Filter")
_SHARD_KEY = unsupported("sharding")


def _count(limits: LimitSettings) -> Schema:
    return rules.with_rules(
        obj(
            {
                "exact": nullable(boolean("accepted; counts are always exact")),
                "filter": nullable(_FILTER),
                "shard_key": _SHARD_KEY,
            }
        ),
        rules.FILTER,
    )


def _facet(limits: LimitSettings) -> Schema:
    return rules.with_rules(
        obj(
            {
                "key": string(about='a payload key path: a.b, a[0].b, a[].b, "a.b"'),
                "limit": nullable(integer(low=1, high=limits.max_limit, about="default 10")),
                "filter": nullable(_FILTER),
                "exact": nullable(boolean("accepted; counts are always exact")),
                "shard_key": _SHARD_KEY,
            },
            required=("key",),
        ),
        rules.FACET_INDEX,
        rules.FILTER,
        rules.WHOLE_INTEGERS,
    )


def _matrix(limits: LimitSettings) -> Schema:
    return rules.with_rules(
        obj(
            {
                "sample": nullable(integer(low=2, high=limits.max_limit, about="default 10")),
                "limit": nullable(integer(low=1, high=limits.max_limit, about="default 3")),
                "using": nullable(string()),
                "filter": nullable(_FILTER),
                "shard_key": _SHARD_KEY,
            }
        ),
        rules.MATRIX_VECTOR,
        rules.FILTER,
        rules.WHOLE_INTEGERS,
    )


def _aliases(limits: LimitSettings) -> Schema:
    name = string(min_length=1, max_length=limits.max_name_length)

    def action(kind: str, *fields: str) -> Schema:
        return obj({kind: obj(dict.fromkeys(fields, name), required=fields)}, required=(kind,))

    item = one_of(
        action("create_alias", "collection_name", "alias_name"),
        action("delete_alias", "alias_name"),
        action("rename_alias", "old_alias_name", "new_alias_name"),
        about="one of create_alias, delete_alias, rename_alias, each its own object",
    )
    return rules.with_rules(
        obj(
            {"actions": array(item, about="applied all together, or (an error answered) none")},
            required=("actions",),
        ),
        rules.COLLECTION_NAME,
    )


_BUILDERS: Final = {
    "count_points": _count,
    "facet": _facet,
    "search_matrix_pairs": _matrix,
    "search_matrix_offsets": _matrix,
    "update_aliases": _aliases,
}

# Where a route's error paths start, when not at "body" (each as its service wrote it before).
ROOTS: Final = {"update_aliases": ""}

# Valid bodies, together touching every documented field (the constraint test breaks each one).
# They expect a collection "{collection}" with a 4-d vector and a keyword index on "color".
EXAMPLES: Final[dict[str, list[dict[str, Any]]]] = {
    "count_points": [{"exact": True, "filter": {"must": []}, "shard_key": None}],
    "facet": [
        {"key": "color", "limit": 10, "filter": {"must": []}, "exact": False, "shard_key": None}
    ],
    "search_matrix_pairs": [
        {"sample": 4, "limit": 2, "using": None, "filter": {"must": []}, "shard_key": None}
    ],
    "search_matrix_offsets": [
        {"sample": 4, "limit": 2, "using": None, "filter": {"must": []}, "shard_key": None}
    ],
    "update_aliases": [
        {"actions": [{"create_alias": {"collection_name": "{collection}", "alias_name": "w1"}}]},
        {"actions": [{"rename_alias": {"old_alias_name": "w1", "new_alias_name": "w2"}}]},
        {"actions": [{"delete_alias": {"alias_name": "w2"}}]},
    ],
}


# For each route, one body per registered rule its schema lists, breaking just that rule.
RULE_EXAMPLES: Final[dict[str, dict[str, dict[str, Any]]]] = {
    "count_points": {"filter": {"filter": {"must": [{"zz_unknown": 1}]}}},
    "facet": {
        "facet-index": {"key": "no_index_here"},
        "filter": {"key": "color", "filter": {"must": [{"zz_unknown": 1}]}},
        "whole-integers": {"key": "color", "limit": 10.0},
    },
    "search_matrix_pairs": {
        "matrix-vector": {"using": "no_such_vector"},
        "filter": {"filter": {"must": [{"zz_unknown": 1}]}},
        "whole-integers": {"sample": 4.0},
    },
    "search_matrix_offsets": {
        "matrix-vector": {"using": "no_such_vector"},
        "filter": {"filter": {"must": [{"zz_unknown": 1}]}},
        "whole-integers": {"limit": 2.0},
    },
    "update_aliases": {
        "collection-name": {
            "actions": [{"create_alias": {"collection_name": "{collection}", "alias_name": "a/b"}}]
        }
    },
}


@cache
def request_schemas(limits: LimitSettings) -> dict[str, Schema]:
    """Every converted route's request schema for a server with these limits."""
    return {route: build(limits) for route, build in _BUILDERS.items()}
