"""The Query API: query and query batch, with groups, the prefetch tree and the query kinds
(nearest, recommend, discover, context, fusion, order_by, sample)."""

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
from zoro.wire.schema import (
    Builder,
    Schema,
    WireRequest,
    any_of,
    array,
    enum,
    integer,
    nullable,
    number,
    obj,
    ref,
    string,
)

if TYPE_CHECKING:
    from zoro.settings import LimitSettings

FILTER: Final = ref("Filter")
PREFETCH: Final = ref("Prefetch")

# lookup_from as Qdrant's LookupLocation: its shard_key may come, as null
_LOOKUP: Schema = {
    **LOOKUP_FROM,
    "properties": {**LOOKUP_FROM["properties"], "shard_key": SHARD_KEY},
}
_MMR: Schema = obj(
    {
        "diversity": nullable(number(low=0, high=1, about="default 0.5")),
        "candidates_limit": nullable(
            integer(low=0, high=bounds.MMR_CANDIDATES_MAX, about="default: the query's limit")
        ),
    },
    about="re-rank the nearest candidates for diversity (maximal marginal relevance)",
)
# recommend takes sparse examples too (average_vector, for a sparse `using`)
_RECOMMEND_EXAMPLE: Schema = any_of(
    DENSE, SPARSE, POINT_ID, about="a vector or the id of a point holding one"
)
_EXAMPLES: Schema = nullable(array(_RECOMMEND_EXAMPLE))
_PAIRS: Schema = any_of(
    CONTEXT_PAIR,
    array(CONTEXT_PAIR),
    about="a context pair {positive, negative} or a list of them",
)
_ORDER_BY: Schema = any_of(
    string(min_length=1),
    obj(
        {
            "key": string(min_length=1),
            "direction": nullable(enum("asc", "desc", about="default asc")),
            "start_from": nullable(
                any_of(number(), string(), about="a number or an RFC 3339 datetime")
            ),
        },
        required=("key",),
    ),
    about="a payload key, or {key, direction, start_from}",
)


def _kind(name: str, shape: Schema, about: str) -> Schema:
    return obj({name: shape}, required=(name,), about=about)


QUERY: Schema = any_of(
    DENSE,
    SPARSE,
    MULTI,
    POINT_ID,
    obj(
        {"nearest": any_of(ANY_VECTOR, POINT_ID), "mmr": nullable(_MMR)},
        required=("nearest",),
        about="nearest to a vector or to a point's vector, optionally re-ranked by MMR",
    ),
    _kind(
        "recommend",
        obj({"positive": _EXAMPLES, "negative": _EXAMPLES, "strategy": STRATEGY}),
        "by positive and negative examples",
    ),
    _kind(
        "discover",
        obj(
            {"target": EXAMPLE, "context": nullable(_PAIRS)},
            required=("target",),
        ),
        "near the target, within the context pairs",
    ),
    _kind(
        "context",
        any_of(
            CONTEXT_PAIR,
            array(CONTEXT_PAIR, min_items=1),
            about="a context pair {positive, negative} or a non-empty list of them",
        ),
        "within the context pairs",
    ),
    _kind("order_by", _ORDER_BY, "by a payload value (needs a range payload index)"),
    _kind("sample", enum("random"), "in random order"),
    _kind("fusion", enum(*bounds.FUSIONS), "the prefetches' answers fused"),
    _kind(
        "rrf",
        obj(
            {
                "k": nullable(integer(low=1, high=bounds.RRF_K_MAX, about="default 2")),
                "weights": nullable(array(number(), about="one per prefetch")),
            }
        ),
        "the prefetches' answers fused by reciprocal rank",
    ),
    about=(
        "a vector, a point id, or one of the query objects nearest, recommend, discover, "
        "context, order_by, sample, fusion, rrf"
    ),
)
_PREFETCHES: Schema = nullable(
    any_of(PREFETCH, array(PREFETCH), about="a prefetch object or a list of them")
)


def _prefetch(limits: LimitSettings) -> Schema:
    """A search (or a fusion of its own prefetches) whose answer feeds the query above."""
    return obj(
        {
            "prefetch": _PREFETCHES,
            "query": nullable(QUERY),
            "using": USING,
            "filter": FILTER,
            "params": PARAMS,
            "score_threshold": nullable(number()),
            "limit": nullable(
                integer(low=1, high=bounds.PREFETCH_MAX_CANDIDATES, about="default 10")
            ),
            "lookup_from": _LOOKUP,
        },
        about="a search whose answer feeds the query above it",
    )


COMPONENTS: Final[dict[str, Builder]] = {"Prefetch": _prefetch}

# What the schema cannot say about a query (each also holds in every prefetch).
_RULES: Final = (
    rules.WHOLE_INTEGERS,
    *filters.RULES,
    rules.QUERY_VECTOR,
    rules.QUERY_USING,
    rules.PREFETCH_TREE,
    rules.FUSION,
    rules.RRF_WEIGHTS,
    rules.QUERY_EXAMPLES,
    rules.ORDER_BY_INDEX,
    rules.START_FROM_DATETIME,
    rules.WITH_VECTOR_NAMES,
)


def _query_fields(limits: LimitSettings) -> dict[str, Schema]:
    return {
        "query": nullable(QUERY),
        "prefetch": _PREFETCHES,
        "using": USING,
        "filter": FILTER,
        "params": PARAMS,
        "score_threshold": nullable(number()),
        "limit": nullable(integer(low=0, high=limits.max_limit, about="default 10")),
        "offset": nullable(integer(low=0, high=limits.max_limit, about="default 0")),
        "with_vector": WITH_VECTOR,
        "with_payload": WITH_PAYLOAD,
        "lookup_from": _LOOKUP,
        "shard_key": SHARD_KEY,
    }


def _query(limits: LimitSettings) -> Schema:
    return obj(_query_fields(limits))


def query_request(limits: LimitSettings) -> Schema:
    return rules.with_rules(_query(limits), *_RULES)


def _batch(limits: LimitSettings) -> Schema:
    return rules.with_rules(
        obj(
            {"searches": array(_query(limits), max_items=limits.max_batch_searches)},
            required=("searches",),
            about="every search is checked before any runs",
        ),
        *_RULES,
    )


def _groups(limits: LimitSettings) -> Schema:
    fields = {k: v for k, v in _query_fields(limits).items() if k != "offset"}
    return rules.with_rules(
        obj({**fields, **group_fields(limits)}, required=("group_by",)),
        *_RULES,
        rules.GROUP_BY,
        rules.GROUP_HITS,
    )


_V: Final = [1.0, 0.5, 0.25, -1.0]  # a vector of the fixture's 4 dimensions
_SPARSE_V: Final = {"indices": [1, 7], "values": [1.0, 0.5]}
# The fixture's collection gains what some examples need: a sparse vector, a multivector and
# an integer payload index (no point holds any of them), and a point at the largest id (an id's
# own bound must be accepted: a query by it finds it).
_PREPARE: Final[tuple[tuple[str, str, dict[str, Any] | None], ...]] = (
    (
        "PUT",
        "/collections/{collection}/points?wait=true",
        {"points": [{"id": bounds.POINT_ID_MAX, "vector": [0.0, 0.0, 0.0, 1.0]}]},
    ),
    ("PUT", "/collections/{collection}/vectors/zz_sparse", {"sparse": {}}),
    (
        "PUT",
        "/collections/{collection}/vectors/zz_multi",
        {
            "dense": {
                "size": 4,
                "distance": "Dot",
                "multivector_config": {"comparator": "max_sim"},
            }
        },
    ),
    (
        "PUT",
        "/collections/{collection}/index?wait=true",
        {"field_name": "zz_n", "field_schema": "integer"},
    ),
)
_LOOKUP_SELF: Final = {"collection": "{collection}", "vector": None, "shard_key": None}
# The first prefetch holds every field of a prefetch (the constraint test walks the first);
# nothing else counts against the tree's candidates, so its limit may reach the maximum.
_PREFETCH_FIRST: Final[dict[str, Any]] = {
    "prefetch": [],
    "query": {"recommend": {"positive": [1], "negative": [_V], "strategy": "best_score"}},
    "using": None,
    "filter": {"must": []},
    "params": {"hnsw_ef": 16, "exact": True},
    "score_threshold": -100.0,
    "limit": 5,
    "lookup_from": _LOOKUP_SELF,
}
_QUERIES: Final[tuple[dict[str, Any], ...]] = (
    {
        "query": {"nearest": _V, "mmr": {"diversity": 0.5, "candidates_limit": 4}},
        "prefetch": None,
        "using": None,
        "filter": {"must": []},
        "params": {
            "hnsw_ef": 64,
            "exact": False,
            "quantization": None,
            "indexed_only": False,
            "acorn": None,
        },
        "score_threshold": -100.0,
        "limit": 3,
        "offset": 1,
        "with_vector": True,
        "with_payload": {"include": ["color"]},
        "shard_key": None,
    },
    {"query": _V, "with_payload": {"exclude": "color"}, "with_vector": [""]},
    {"query": 1, "with_payload": ["color"]},
    {"query": [_V, _V], "using": "zz_multi"},
    {"query": _SPARSE_V, "using": "zz_sparse"},
    {"query": {"nearest": _SPARSE_V}, "using": "zz_sparse"},
    {"query": {"nearest": 2}},
    {
        "query": {"recommend": {"positive": [1, _V], "negative": [2], "strategy": None}},
        "lookup_from": _LOOKUP_SELF,
    },
    {
        "query": {"recommend": {"positive": [_SPARSE_V], "negative": [_SPARSE_V]}},
        "using": "zz_sparse",
    },
    {"query": {"discover": {"target": _V, "context": [{"positive": 1, "negative": _V}]}}},
    {"query": {"discover": {"target": 1, "context": {"positive": 2, "negative": 3}}}},
    {"query": {"context": [{"positive": 1, "negative": 2}]}},
    {"query": {"context": {"positive": _V, "negative": 2}}},
    {"query": {"order_by": "zz_n"}},
    {"query": {"order_by": {"key": "zz_n", "direction": "desc", "start_from": 10}}},
    {"query": {"sample": "random"}, "limit": 2},
    {"prefetch": _PREFETCH_FIRST, "query": {"fusion": "rrf"}, "limit": 0},
    {
        "prefetch": [{"query": _V}, {"prefetch": {"query": 1}, "query": {"fusion": "dbsf"}}],
        "query": {"rrf": {"k": 60, "weights": [1.0, 0.5]}},
    },
    {
        "prefetch": [
            {"query": {"context": {"positive": 1, "negative": 2}}},
            {"query": {"order_by": "zz_n"}},
            {"query": {"sample": "random"}},
            {"query": None, "filter": {"must": []}},
        ],
        "query": {"fusion": "dbsf"},
    },
    {"query": None},
)
_RULE_EXAMPLES: Final[dict[str, dict[str, Any]]] = {
    "whole-integers": {"query": _V, "limit": 3.0},
    **filters.rule_examples(query=_V),
    "query-vector": {"query": [1.0, 2.0, 3.0]},
    "query-using": {"query": _V, "using": "no_such_vector"},
    "prefetch-tree": {
        "prefetch": [{"query": _V, "limit": 10_000}] * 6,
        "query": {"fusion": "rrf"},
    },
    "fusion": {"query": {"fusion": "rrf"}},
    "rrf-weights": {"prefetch": {"query": _V}, "query": {"rrf": {"weights": [1.0, 2.0]}}},
    "query-examples": {"query": {"recommend": {"negative": [1]}}},
    "order-by-index": {"query": {"order_by": "color"}},
    "start-from-datetime": {"query": {"order_by": {"key": "zz_n", "start_from": "soon"}}},
    "with-vector-names": {"query": _V, "with_vector": ["no_such_vector"]},
}


def _grouped(query: dict[str, Any]) -> dict[str, Any]:
    """A query example as a groups body: no offset; its own limit becomes the groups' count; a
    first prefetch without a limit (the groups widen each prefetch's)."""
    out = {k: v for k, v in query.items() if k not in ("offset", "limit")}
    first = out.get("prefetch")
    if isinstance(first, dict):
        out["prefetch"] = {k: v for k, v in first.items() if k != "limit"}
    return {**out, "group_by": "color"}


_GROUPS: Final = (
    {
        **_grouped(_QUERIES[0]),
        "group_size": 2,
        "limit": 2,
        "with_lookup": {"collection": "{collection}", "with_payload": True, "with_vectors": False},
    },
    {**_grouped(_QUERIES[1]), "group_size": None, "limit": None, "with_lookup": "{collection}"},
    {
        **_grouped(_QUERIES[2]),
        "with_lookup": {"collection": "{collection}", "with_payload": {"include": "color"}},
    },
    {
        **_grouped(_QUERIES[2]),
        "with_lookup": {"collection": "{collection}", "with_payload": {"exclude": ["color"]}},
    },
    *(_grouped(q) for q in _QUERIES[2:]),
)

REQUESTS: Final = (
    WireRequest(
        "query_points",
        query_request,
        examples=_QUERIES,
        rule_examples=_RULE_EXAMPLES,
        prepare=_PREPARE,
    ),
    WireRequest(
        "query_batch_points",
        _batch,
        examples=tuple({"searches": [q]} for q in _QUERIES),
        rule_examples={
            rule: {"searches": [{"query": _V}, q]} for rule, q in _RULE_EXAMPLES.items()
        },
        root="",
        prepare=_PREPARE,
    ),
    WireRequest(
        "query_points_groups",
        _groups,
        examples=_GROUPS,
        rule_examples={
            **{rule: {**q, "group_by": "color"} for rule, q in _RULE_EXAMPLES.items()},
            "group-by": {"query": _V, "group_by": "a["},
            "group-hits": {"query": _V, "group_by": "color", "group_size": 10_000, "limit": 11},
        },
        prepare=_PREPARE,
    ),
)
