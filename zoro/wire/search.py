"""The routes older clients still send: search, recommend and discover, single, batch and
grouped."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from zoro.wire import bounds, filters, rules
from zoro.wire.common import (
    ANY_VECTOR,
    CONTEXT_PAIR,
    DENSE,
    EXAMPLE,
    LOOKUP_FROM,
    MULTI,
    PARAMS,
    POINT_ID,
    SHARD_KEY,
    SPARSE,
    STRATEGY,
    USING,
    WITH_PAYLOAD,
    WITH_VECTOR,
    group_fields,
)
from zoro.wire.points import FILTER
from zoro.wire.schema import (
    Builder,
    Schema,
    WireRequest,
    any_of,
    array,
    integer,
    nullable,
    number,
    obj,
    string,
)

if TYPE_CHECKING:
    from zoro.settings import LimitSettings

# --- the schemas ------------------------------------------------------------------------------

_SEARCH_VECTOR: Final = any_of(
    DENSE,
    MULTI,
    obj(
        {"name": string(about="a vector name of the collection"), "vector": ANY_VECTOR},
        required=("name", "vector"),
    ),
    about='a vector of the unnamed (or only dense) vector, or {"name": ..., "vector": ...}',
)
# a recommend example may also be sparse (average_vector over a sparse `using`)
_RECOMMEND_EXAMPLE: Final = any_of(
    DENSE,
    SPARSE,
    POINT_ID,
    about="a vector of the kind searched or the id of a point holding one",
)
_RECOMMEND_EXAMPLES: Final = nullable(
    array(_RECOMMEND_EXAMPLE, max_items=bounds.QUERY_EXAMPLES_MAX)
)

_SEARCH_RULES: Final = (rules.VECTOR_NAME, rules.VECTOR_SHAPE, *filters.RULES, rules.WHOLE_INTEGERS)
_BY_EXAMPLE_RULES: Final = (*_SEARCH_RULES, rules.EXAMPLE_COUNT, rules.EXAMPLE_VECTOR)
_GROUP_RULES: Final = (rules.GROUP_HITS, rules.GROUP_BY)


def _read_options(limits: LimitSettings) -> dict[str, Schema]:
    """The fields every search-like request has: which points, how many, what they show."""
    return {
        "filter": FILTER,
        "params": PARAMS,
        "limit": integer(low=0, high=limits.max_limit),
        "offset": nullable(integer(low=0, high=limits.max_limit, about="default 0")),
        "with_payload": WITH_PAYLOAD,
        "with_vector": WITH_VECTOR,
        "shard_key": SHARD_KEY,
    }


def _search_fields(limits: LimitSettings) -> dict[str, Schema]:
    return {
        "vector": _SEARCH_VECTOR,
        **_read_options(limits),
        "score_threshold": nullable(number()),
    }


def _recommend_fields(limits: LimitSettings) -> dict[str, Schema]:
    return {
        "positive": _RECOMMEND_EXAMPLES,
        "negative": _RECOMMEND_EXAMPLES,
        "strategy": STRATEGY,
        **_read_options(limits),
        "score_threshold": nullable(number()),
        "using": USING,
        "lookup_from": LOOKUP_FROM,
    }


def _discover_fields(limits: LimitSettings) -> dict[str, Schema]:
    return {
        "target": nullable(EXAMPLE),
        "context": nullable(array(CONTEXT_PAIR, max_items=bounds.QUERY_EXAMPLES_MAX)),
        **_read_options(limits),
        "using": USING,
        "lookup_from": LOOKUP_FROM,
    }


def _grouped(fields: dict[str, Schema], limits: LimitSettings) -> dict[str, Schema]:
    """A request's fields grouped: no offset (groups do not page), `limit` counts groups."""
    return {**{k: v for k, v in fields.items() if k != "offset"}, **group_fields(limits)}


def _search(limits: LimitSettings) -> Schema:
    return rules.with_rules(
        obj(_search_fields(limits), required=("vector", "limit")), *_SEARCH_RULES
    )


def _search_groups(limits: LimitSettings) -> Schema:
    return rules.with_rules(
        obj(
            _grouped(_search_fields(limits), limits),
            required=("vector", "group_by", "group_size", "limit"),
        ),
        *_SEARCH_RULES,
        *_GROUP_RULES,
    )


def _recommend(limits: LimitSettings) -> Schema:
    return rules.with_rules(obj(_recommend_fields(limits), required=("limit",)), *_BY_EXAMPLE_RULES)


def _recommend_groups(limits: LimitSettings) -> Schema:
    return rules.with_rules(
        obj(
            _grouped(_recommend_fields(limits), limits),
            required=("group_by", "group_size", "limit"),
        ),
        *_BY_EXAMPLE_RULES,
        *_GROUP_RULES,
    )


def _discover(limits: LimitSettings) -> Schema:
    return rules.with_rules(obj(_discover_fields(limits), required=("limit",)), *_BY_EXAMPLE_RULES)


def _batch(single: Builder) -> Builder:
    def build(limits: LimitSettings) -> Schema:
        one = single(limits)
        return rules.with_rules(
            obj(
                {"searches": array(one, max_items=limits.max_batch_searches)},
                required=("searches",),
            ),
            *(rule for rule in _ALL_RULES if rule.id in one["x-zoro-rules"]),
        )

    return build


_ALL_RULES: Final = (*_BY_EXAMPLE_RULES, *_GROUP_RULES)

# --- the examples -----------------------------------------------------------------------------
# The fixture's collection is 4-d; a sparse vector "zz_sparse" that no point holds is declared
# on it first (declaring it again changes nothing), so the sparse forms are served too.

_SPARSE_NAME: Final = "zz_sparse"
_PREPARE: Final[tuple[tuple[str, str, dict[str, Any] | None], ...]] = (
    ("PUT", f"/collections/{{collection}}/vectors/{_SPARSE_NAME}", {"sparse": {}}),
)
_V: Final = [0.5, 1.0, 0.0, -1.0]
_SPARSE_V: Final = {"indices": [0, 3], "values": [1.0, 0.5]}
_PARAMS: Final = {
    "hnsw_ef": 64,
    "exact": False,
    "quantization": None,
    "indexed_only": False,
    "acorn": None,
}
_READ: Final[dict[str, Any]] = {
    "filter": {"must": []},
    "params": _PARAMS,
    "limit": 3,
    "offset": 1,
    "with_payload": {"include": "color"},
    "with_vector": True,
    "shard_key": None,
}
_READ_SPARSE: Final[dict[str, Any]] = {
    "limit": 2,
    "with_payload": {"exclude": "color"},
    "with_vector": [_SPARSE_NAME],
}

_SEARCH_EXAMPLES: Final = (
    {"vector": _V, **_READ, "score_threshold": -100.0},
    {"vector": {"name": _SPARSE_NAME, "vector": _SPARSE_V}, **_READ_SPARSE},
)
# (an example list starts with a vector: the walk breaks its first item, and an id at the top
# of its range would name no point)
_RECOMMEND_BODIES: Final = (
    {
        "positive": [_V, 1],
        "negative": [[1.0, 0.0, 0.0, 0.0]],
        "strategy": "average_vector",
        **_READ,
        "score_threshold": -100.0,
        "using": None,
    },
    {
        "positive": [_SPARSE_V],
        "negative": [{"indices": [1], "values": [1.0]}],
        "strategy": None,
        "using": _SPARSE_NAME,
        **_READ_SPARSE,
    },
    {
        "positive": [_V],
        "strategy": "best_score",
        "limit": 2,
        "lookup_from": {"collection": "{collection}", "vector": ""},
    },
)
_DISCOVER_EXAMPLES: Final = (
    {
        "target": _V,
        "context": [{"positive": [1.0, 0.0, 0.0, 0.0], "negative": [0.0, 1.0, 0.0, 0.0]}],
        **_READ,
        "using": None,
        "lookup_from": {"collection": "{collection}", "vector": None},
    },
    {
        "target": None,
        "context": [{"positive": [1.0, 0.0, 0.0, 0.0], "negative": [0.0, 0.0, 1.0, 0.0]}],
        **_READ_SPARSE,
        "with_vector": False,
    },
)
_GROUP: Final = {"group_by": "color", "group_size": 2, "limit": 2}
_LOOKUPS: Final = (
    {"collection": "{collection}", "with_payload": {"include": "color"}, "with_vectors": False},
    {"collection": "{collection}", "with_payload": {"exclude": "color"}, "with_vectors": None},
)


def _grouped_examples(examples: tuple[dict[str, Any], ...]) -> tuple[dict[str, Any], ...]:
    out = []
    for i, example in enumerate(examples):
        body = {k: v for k, v in example.items() if k != "offset"}
        out.append({**body, **_GROUP, "with_lookup": _LOOKUPS[i % 2]})
    out.append({**out[0], "with_lookup": "{collection}"})  # the lookup by a name alone
    return tuple(out)


def _in_batches(examples: tuple[dict[str, Any], ...]) -> tuple[dict[str, Any], ...]:
    # (the walk breaks a list's first item only: one example search per batch)
    return tuple({"searches": [example]} for example in examples)


_SEARCH_RULE_EXAMPLES: Final = {
    "vector-name": {"vector": {"name": "zz_no_such", "vector": _V}, "limit": 3},
    "vector-shape": {"vector": [1.0, 2.0, 3.0], "limit": 3},
    **filters.rule_examples(vector=_V, limit=3),
    "whole-integers": {"vector": _V, "limit": 3.0},
}
_RECOMMEND_RULE_EXAMPLES: Final = {
    "vector-name": {"positive": [_V], "using": "zz_no_such", "limit": 3},
    "vector-shape": {"positive": [[1.0, 2.0, 3.0]], "limit": 3},
    **filters.rule_examples(positive=[_V], limit=3),
    "whole-integers": {"positive": [_V], "limit": 3.0},
    "example-count": {"negative": [_V], "limit": 3},
    "example-vector": {"positive": [_SPARSE_V], "limit": 3},
}
_DISCOVER_RULE_EXAMPLES: Final[dict[str, dict[str, Any]]] = {
    "vector-name": {"target": _V, "using": "zz_no_such", "limit": 3},
    "vector-shape": {"target": [1.0, 2.0, 3.0], "limit": 3},
    **filters.rule_examples(target=_V, limit=3),
    "whole-integers": {"target": _V, "limit": 3.0},
    "example-count": {"limit": 3},
    "example-vector": {"target": 1, "using": _SPARSE_NAME, "limit": 3},
}
_GROUP_RULE_EXAMPLES: Final = {
    "group-hits": {"group_by": "color", "group_size": 10_000, "limit": 11},
    "group-by": {"group_by": "color..zz", "group_size": 2, "limit": 2},
}


def _grouped_rules(examples: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out = {rule: {**body, **_GROUP} for rule, body in examples.items()}
    # a whole-integers break of the group count (the search's own limit is the group count)
    out["whole-integers"] = {**out["whole-integers"], "limit": 2.0}
    base = examples["filter-depth"]
    out.update(
        {
            rule: {**{k: v for k, v in base.items() if k != "filter"}, **body}
            for rule, body in _GROUP_RULE_EXAMPLES.items()
        }
    )
    return out


def _batched_rules(examples: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {rule: {"searches": [body]} for rule, body in examples.items()}


def _request(
    route: str,
    build: Builder,
    examples: tuple[dict[str, Any], ...],
    rule_examples: dict[str, dict[str, Any]],
    root: str = "body",
) -> WireRequest:
    return WireRequest(
        route, build, examples, rule_examples=rule_examples, root=root, prepare=_PREPARE
    )


REQUESTS: Final = (
    _request("search_points", _search, _SEARCH_EXAMPLES, _SEARCH_RULE_EXAMPLES),
    _request(
        "search_batch_points",
        _batch(_search),
        _in_batches(_SEARCH_EXAMPLES),
        _batched_rules(_SEARCH_RULE_EXAMPLES),
        root="",
    ),
    _request(
        "search_point_groups",
        _search_groups,
        _grouped_examples(_SEARCH_EXAMPLES),
        _grouped_rules(_SEARCH_RULE_EXAMPLES),
    ),
    _request("recommend_points", _recommend, _RECOMMEND_BODIES, _RECOMMEND_RULE_EXAMPLES),
    _request(
        "recommend_batch_points",
        _batch(_recommend),
        _in_batches(_RECOMMEND_BODIES),
        _batched_rules(_RECOMMEND_RULE_EXAMPLES),
        root="",
    ),
    _request(
        "recommend_point_groups",
        _recommend_groups,
        _grouped_examples(_RECOMMEND_BODIES),
        _grouped_rules(_RECOMMEND_RULE_EXAMPLES),
    ),
    _request("discover_points", _discover, _DISCOVER_EXAMPLES, _DISCOVER_RULE_EXAMPLES),
    _request(
        "discover_batch_points",
        _batch(_discover),
        _in_batches(_DISCOVER_EXAMPLES),
        _batched_rules(_DISCOVER_RULE_EXAMPLES),
        root="",
    ),
)
