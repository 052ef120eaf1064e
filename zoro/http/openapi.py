"""The OpenAPI 3.1 document for every route in the route table (GET /openapi.json).

The request schemas of the routes converted to zoro.wire come from there (the same objects
their services validate with); the others are still written here (docs/wire-schema.md). Every
result schema and the error's come from zoro.wire.results."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from zoro import __version__
from zoro.http.routes import ROUTES, Route
from zoro.wire.requests import components, request_schemas
from zoro.wire.results import ERROR, RESULTS
from zoro.wire.schema import nullable

if TYPE_CHECKING:
    from zoro.settings import LimitSettings

_ID = {
    "anyOf": [
        {"type": "integer", "minimum": 0, "maximum": 2**64 - 1},
        {"type": "string", "format": "uuid"},
    ]
}
_VECTOR = {"type": "array", "items": {"type": "number"}}


_SPARSE = {
    "type": "object",
    "properties": {
        "indices": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "values": {"type": "array", "items": {"type": "number"}},
    },
    "required": ["indices", "values"],
    "additionalProperties": False,
}
_MATRIX = {"type": "array", "items": _VECTOR, "minItems": 1}
# One vector of any kind: dense, sparse or a multivector (a matrix).
_ANY_VECTOR = {"anyOf": [_VECTOR, _SPARSE, _MATRIX]}
# A point's vectors: the unnamed one bare, or {name: vector} (any subset; {} is none; null
# where a client leaves one out).
_VECTOR_STRUCT = {
    "anyOf": [
        _VECTOR,
        {"type": "object", "additionalProperties": {**_ANY_VECTOR, "nullable": True}},
    ]
}
_VECTOR_PARAMS = {
    "type": "object",
    "properties": {
        "size": {"type": "integer", "minimum": 1},
        "distance": {"type": "string", "enum": ["Cosine", "Euclid", "Dot", "Manhattan"]},
        "hnsw_config": {"type": "object", "nullable": True},
        "on_disk": {"type": "boolean", "nullable": True},
        "multivector_config": {
            "type": "object",
            "properties": {"comparator": {"type": "string", "enum": ["max_sim"]}},
            "nullable": True,
        },
    },
    "required": ["size", "distance"],
}
_SPARSE_PARAMS = {
    "type": "object",
    "properties": {
        "modifier": {"type": "string", "enum": ["none", "idf"], "nullable": True},
        "index": {"type": "object", "nullable": True},
    },
    "nullable": True,
}
_WITH_VECTOR = {"anyOf": [{"type": "boolean"}, {"type": "array", "items": {"type": "string"}}]}
_USING = {"type": "string", "nullable": True}
_MMR = {
    "type": "object",
    "properties": {
        "diversity": {"type": "number", "minimum": 0, "maximum": 1, "nullable": True},
        "candidates_limit": {
            "type": "integer",
            "minimum": 0,
            "maximum": 16384,
            "nullable": True,
        },
    },
    "additionalProperties": False,
}
_PAYLOAD = {"type": "object", "nullable": True}
_WITH_PAYLOAD = {
    "anyOf": [
        {"type": "boolean"},
        {"type": "array", "items": {"type": "string"}},
        {"type": "object"},
    ]
}
_FILTER_REF = {"$ref": "#/components/schemas/Filter"}
_CONDITIONS = {
    "anyOf": [
        {"$ref": "#/components/schemas/Condition"},
        {"type": "array", "items": {"$ref": "#/components/schemas/Condition"}},
    ],
    "nullable": True,
}
_BOUNDS = {
    "type": "object",
    "properties": {
        b: {"anyOf": [{"type": "number"}, {"type": "string"}]} for b in ("gt", "gte", "lt", "lte")
    },
    "additionalProperties": False,
}
# Full text (zoro/payload/tokenize.py): the match modes, and a text index's params.
_TEXT_MATCHES = [
    {"type": "object", "properties": {mode: {"type": "string"}}, "required": [mode]}
    for mode in ("text", "text_any", "phrase")
]
_LANGUAGE = {"type": "string", "description": "a Qdrant stopword language, e.g. english"}
_TEXT_INDEX_PARAMS = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "enum": ["text"]},
        "tokenizer": {"type": "string", "enum": ["word", "whitespace", "prefix", "multilingual"]},
        "lowercase": {"type": "boolean"},
        "ascii_folding": {"type": "boolean"},
        "min_token_len": {"type": "integer", "minimum": 0},
        "max_token_len": {"type": "integer", "minimum": 0},
        "phrase_matching": {"type": "boolean"},
        "stopwords": {
            "anyOf": [
                _LANGUAGE,
                {
                    "type": "object",
                    "properties": {
                        "languages": {"type": "array", "items": _LANGUAGE},
                        "custom": {"type": "array", "items": {"type": "string"}},
                    },
                    "additionalProperties": False,
                },
            ]
        },
        "stemmer": {
            "anyOf": [
                {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string", "enum": ["snowball"]},
                        "language": {"type": "string"},
                    },
                    "required": ["type", "language"],
                },
                {
                    "type": "object",
                    "properties": {"type": {"type": "string", "enum": ["none"]}},
                    "required": ["type"],
                },
            ]
        },
        "on_disk": {"type": "boolean"},
        "memory": {"type": "string", "enum": ["cold", "cached", "pinned"]},
        "enable_hnsw": {"type": "boolean"},
    },
    "required": ["type"],
    "additionalProperties": False,
}

# Geo conditions (filters area): a point, and the three shapes.
_GEO_POINT = {
    "type": "object",
    "properties": {
        "lon": {"type": "number", "minimum": -180, "maximum": 180},
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
    },
    "required": ["lon", "lat"],
    "additionalProperties": False,
}
_GEO_RING = {
    "type": "object",
    "description": "at least 4 points, the first and the last equal",
    "properties": {"points": {"type": "array", "items": _GEO_POINT, "minItems": 4}},
    "required": ["points"],
    "additionalProperties": False,
}
_GEO_CONDITIONS = {
    "geo_bounding_box": {
        "type": "object",
        "properties": {"top_left": _GEO_POINT, "bottom_right": _GEO_POINT},
        "required": ["top_left", "bottom_right"],
        "additionalProperties": False,
    },
    "geo_radius": {
        "type": "object",
        "properties": {
            "center": _GEO_POINT,
            "radius": {"type": "number", "minimum": 0, "description": "meters"},
        },
        "required": ["center", "radius"],
        "additionalProperties": False,
    },
    "geo_polygon": {
        "type": "object",
        "properties": {
            "exterior": _GEO_RING,
            "interiors": {"type": "array", "items": _GEO_RING},
        },
        "required": ["exterior"],
        "additionalProperties": False,
    },
}
# `nested`: the filter holds for one object of the array at `key` (no has_id/has_vector inside)
_NESTED_CONDITION = {
    "type": "object",
    "properties": {
        "nested": {
            "type": "object",
            "properties": {"key": {"type": "string"}, "filter": _FILTER_REF},
            "required": ["key", "filter"],
            "additionalProperties": False,
        }
    },
    "required": ["nested"],
}
# The filter language (Qdrant's): a filter, and the conditions it is made of (filters nest).
_COMPONENTS: dict[str, Any] = {
    "Filter": {
        "type": "object",
        "properties": {
            "must": _CONDITIONS,
            "should": _CONDITIONS,
            "must_not": _CONDITIONS,
            "min_should": {
                "type": "object",
                "properties": {
                    "conditions": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/Condition"},
                    },
                    "min_count": {"type": "integer", "minimum": 1},
                },
                "required": ["conditions", "min_count"],
            },
        },
        "additionalProperties": False,
    },
    "Condition": {
        "anyOf": [
            {
                "type": "object",
                "properties": {
                    "key": {"type": "string"},
                    "match": {
                        "anyOf": [
                            {
                                "type": "object",
                                "properties": {
                                    "value": {
                                        "anyOf": [
                                            {"type": "string"},
                                            {"type": "integer"},
                                            {"type": "boolean"},
                                        ]
                                    }
                                },
                                "required": ["value"],
                            },
                            {
                                "type": "object",
                                "properties": {"any": {"type": "array"}},
                                "required": ["any"],
                            },
                            {
                                "type": "object",
                                "properties": {"except": {"type": "array"}},
                                "required": ["except"],
                            },
                            *_TEXT_MATCHES,
                        ]
                    },
                    "range": _BOUNDS,
                    "values_count": _BOUNDS,
                    "is_empty": {"type": "boolean"},
                    "is_null": {"type": "boolean"},
                    **_GEO_CONDITIONS,
                },
                "required": ["key"],
            },
            {
                "type": "object",
                "properties": {"has_id": {"type": "array", "items": _ID}},
                "required": ["has_id"],
            },
            {
                "type": "object",
                "properties": {"has_vector": {"type": "string"}},
                "required": ["has_vector"],
            },
            {
                "type": "object",
                "properties": {
                    "is_empty": {"type": "object", "properties": {"key": {"type": "string"}}}
                },
                "required": ["is_empty"],
            },
            {
                "type": "object",
                "properties": {
                    "is_null": {"type": "object", "properties": {"key": {"type": "string"}}}
                },
                "required": ["is_null"],
            },
            _NESTED_CONDITION,
            _FILTER_REF,
        ]
    },
}
_PARAMS = {
    "type": "object",
    "properties": {"hnsw_ef": {"type": "integer", "minimum": 1}, "exact": {"type": "boolean"}},
    "additionalProperties": False,
}
# What `query` may be: a vector or point id (nearest), {"nearest": ..., "mmr": ...}, or, over
# prefetches, a fusion: {"fusion": "rrf"|"dbsf"} or {"rrf": {"k": ..., "weights": [...]}}.
_QUERY_INTERFACE = {
    "anyOf": [
        _VECTOR,
        _SPARSE,
        _MATRIX,
        _ID,
        {
            "type": "object",
            "properties": {"nearest": {"anyOf": [_VECTOR, _SPARSE, _MATRIX, _ID]}, "mmr": _MMR},
            "required": ["nearest"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {"fusion": {"type": "string", "enum": ["rrf", "dbsf"]}},
            "required": ["fusion"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {
                "rrf": {
                    "type": "object",
                    "properties": {
                        "k": {"type": "integer", "minimum": 1, "nullable": True},
                        "weights": {
                            "type": "array",
                            "items": {"type": "number"},
                            "nullable": True,
                        },
                    },
                    "additionalProperties": False,
                }
            },
            "required": ["rrf"],
            "additionalProperties": False,
        },
        *(
            {"type": "object", "properties": {kind: shape}, "required": [kind]}
            for kind, shape in (
                ("recommend", {"$ref": "#/components/schemas/RecommendInput"}),
                ("discover", {"$ref": "#/components/schemas/DiscoverInput"}),
                ("context", {"$ref": "#/components/schemas/ContextInput"}),
                ("order_by", {"$ref": "#/components/schemas/OrderBy"}),
                ("sample", {"type": "string", "enum": ["random"]}),
            )
        ),
    ]
}
# --- queries by example, order_by, sample (zoro.services.examples, .ordering, .recommend) ---
_EXAMPLE = {"anyOf": [_VECTOR, _ID]}  # a dense vector, or the id of a point holding one
_EXAMPLES = {"type": "array", "items": _EXAMPLE, "nullable": True}
_COMPONENTS["ContextPair"] = {
    "type": "object",
    "properties": {"positive": _EXAMPLE, "negative": _EXAMPLE},
    "required": ["positive", "negative"],
    "additionalProperties": False,
}
_PAIR_REF = {"$ref": "#/components/schemas/ContextPair"}
_COMPONENTS["ContextInput"] = {"anyOf": [_PAIR_REF, {"type": "array", "items": _PAIR_REF}]}
_STRATEGY = {
    "type": "string",
    "enum": ["average_vector", "best_score", "sum_scores"],
    "nullable": True,
}
_COMPONENTS["RecommendInput"] = {
    "type": "object",
    "properties": {"positive": _EXAMPLES, "negative": _EXAMPLES, "strategy": _STRATEGY},
    "additionalProperties": False,
}
_COMPONENTS["DiscoverInput"] = {
    "type": "object",
    "properties": {
        "target": _EXAMPLE,
        "context": {"anyOf": [{"$ref": "#/components/schemas/ContextInput"}, {"nullable": True}]},
    },
    "required": ["target"],
    "additionalProperties": False,
}
# order_by: a payload key with an integer, float or datetime index, or {key, direction, start_from}
_COMPONENTS["OrderBy"] = {
    "anyOf": [
        {"type": "string"},
        {
            "type": "object",
            "properties": {
                "key": {"type": "string"},
                "direction": {"type": "string", "enum": ["asc", "desc"], "nullable": True},
                "start_from": {"anyOf": [{"type": "number"}, {"type": "string"}]},
            },
            "required": ["key"],
            "additionalProperties": False,
        },
    ]
}
_LOOKUP = {
    "type": "object",
    "properties": {"collection": {"type": "string"}, "vector": _USING},
    "required": ["collection"],
    "additionalProperties": False,
    "nullable": True,
}
_BY_EXAMPLE_SHARED = {
    "filter": _FILTER_REF,
    "params": _PARAMS,
    "limit": {"type": "integer", "minimum": 0},
    "offset": {"type": "integer", "minimum": 0},
    "with_payload": _WITH_PAYLOAD,
    "with_vector": _WITH_VECTOR,
    "using": _USING,
    "lookup_from": _LOOKUP,
}
_RECOMMEND = {
    "type": "object",
    "properties": {
        **_BY_EXAMPLE_SHARED,
        "positive": _EXAMPLES,
        "negative": _EXAMPLES,
        "strategy": _STRATEGY,
        "score_threshold": {"type": "number", "nullable": True},
    },
    "required": ["limit"],
    "additionalProperties": False,
}
_DISCOVER = {
    "type": "object",
    "properties": {
        **_BY_EXAMPLE_SHARED,
        "target": {"anyOf": [_EXAMPLE, {"nullable": True}]},
        "context": {"type": "array", "items": _PAIR_REF, "nullable": True},
    },
    "required": ["limit"],
    "additionalProperties": False,
}
_PREFETCH_REF = {"$ref": "#/components/schemas/Prefetch"}
_PREFETCHES = {"anyOf": [_PREFETCH_REF, {"type": "array", "items": _PREFETCH_REF}]}
_QUERY = {
    "type": "object",
    "properties": {
        "query": _QUERY_INTERFACE,
        "prefetch": _PREFETCHES,
        "limit": {"type": "integer", "minimum": 0},
        "offset": {"type": "integer", "minimum": 0},
        "score_threshold": {"type": "number"},
        "with_payload": _WITH_PAYLOAD,
        "with_vector": _WITH_VECTOR,
        "using": _USING,
        "params": _PARAMS,
        "filter": _FILTER_REF,
        "lookup_from": _LOOKUP,
    },
    "additionalProperties": False,
}
# A prefetch: a search (or a fusion of its own prefetches) whose answer feeds the query above;
# prefetches nest (zoro.services.prefetch bounds the depth and total work).
_COMPONENTS["Prefetch"] = {
    "type": "object",
    "properties": {
        "prefetch": _PREFETCHES,
        "query": {**_QUERY_INTERFACE, "nullable": True},
        "using": _USING,
        "filter": _FILTER_REF,
        "params": _PARAMS,
        "score_threshold": {"type": "number", "nullable": True},
        "limit": {"type": "integer", "minimum": 1, "nullable": True},
        "lookup_from": _LOOKUP,
    },
    "additionalProperties": False,
}
_SEARCH = {
    "type": "object",
    "properties": {
        "vector": {
            "anyOf": [
                _VECTOR,
                {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "vector": _ANY_VECTOR},
                    "required": ["name", "vector"],
                    "additionalProperties": False,
                },
            ]
        },
        "limit": {"type": "integer", "minimum": 0},
        "offset": {"type": "integer", "minimum": 0},
        "score_threshold": {"type": "number"},
        "with_payload": _WITH_PAYLOAD,
        "with_vector": _WITH_VECTOR,
        "params": _PARAMS,
        "filter": _FILTER_REF,
    },
    "required": ["vector", "limit"],
    "additionalProperties": False,
}


_REQUESTS: dict[str, dict[str, Any]] = {
    "create_collection": {
        "type": "object",
        "properties": {
            # bare params (the unnamed vector), or {name: params} ("" is the unnamed one)
            "vectors": {
                "anyOf": [
                    _VECTOR_PARAMS,
                    {"type": "object", "additionalProperties": _VECTOR_PARAMS},
                ]
            },
            "sparse_vectors": {
                "type": "object",
                "additionalProperties": _SPARSE_PARAMS,
                "nullable": True,
            },
            "hnsw_config": {
                "type": "object",
                "properties": {
                    "m": {"type": "integer"},
                    "ef_construct": {"type": "integer"},
                    "full_scan_threshold": {"type": "integer"},
                },
            },
            "zoro": {
                "type": "object",
                "properties": {
                    "engine": {"type": "string", "enum": ["hnsw", "flat"]},
                    "ef_search": {"type": "integer", "minimum": 1},
                },
            },
        },
        "required": ["vectors"],
    },
    "upsert_points": {
        "type": "object",
        "properties": {
            "points": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"id": _ID, "vector": _VECTOR_STRUCT, "payload": _PAYLOAD},
                    "required": ["id", "vector"],
                    "additionalProperties": False,
                },
            },
            "batch": {
                "type": "object",
                "properties": {
                    "ids": {"type": "array", "items": _ID},
                    "vectors": {
                        "anyOf": [
                            {"type": "array", "items": _VECTOR},
                            {
                                "type": "object",
                                "additionalProperties": {"type": "array", "items": _ANY_VECTOR},
                            },
                        ]
                    },
                    "payloads": {"type": "array", "items": _PAYLOAD, "nullable": True},
                },
                "required": ["ids", "vectors"],
                "additionalProperties": False,
            },
            "update_filter": _FILTER_REF,
            "update_mode": {"type": "string", "enum": ["upsert", "insert_only", "update_only"]},
        },
        "additionalProperties": False,
    },
    "retrieve_points": {
        "type": "object",
        "properties": {
            "ids": {"type": "array", "items": _ID},
            "with_payload": _WITH_PAYLOAD,
            "with_vector": _WITH_VECTOR,
        },
        "required": ["ids"],
        "additionalProperties": False,
    },
    "delete_points": {
        "type": "object",
        "properties": {"points": {"type": "array", "items": _ID}, "filter": _FILTER_REF},
        "additionalProperties": False,
    },
    "update_vectors": {
        "type": "object",
        "properties": {
            "points": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {"id": _ID, "vector": _VECTOR_STRUCT},
                    "required": ["id", "vector"],
                    "additionalProperties": False,
                },
            },
            "update_filter": _FILTER_REF,
        },
        "required": ["points"],
        "additionalProperties": False,
    },
    "delete_vectors": {
        "type": "object",
        "properties": {
            "points": {"type": "array", "items": _ID, "minItems": 1},
            "filter": _FILTER_REF,
            "vector": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        },
        "required": ["vector"],
        "additionalProperties": False,
    },
    "create_vector_name": {
        "anyOf": [
            {
                "type": "object",
                "properties": {
                    "dense": {
                        "type": "object",
                        "properties": {
                            "size": {"type": "integer", "minimum": 1, "maximum": 65536},
                            "distance": {
                                "type": "string",
                                "enum": ["Cosine", "Euclid", "Dot", "Manhattan"],
                            },
                            "datatype": {"type": "string", "nullable": True},
                        },
                        "required": ["size", "distance"],
                        "additionalProperties": False,
                    }
                },
                "required": ["dense"],
                "additionalProperties": False,
            },
            {
                "type": "object",
                "properties": {
                    "sparse": {
                        "type": "object",
                        "properties": {
                            "modifier": {
                                "type": "string",
                                "enum": ["idf", "none"],
                                "nullable": True,
                            },
                            "datatype": {"type": "string", "nullable": True},
                        },
                        "additionalProperties": False,
                    }
                },
                "required": ["sparse"],
                "additionalProperties": False,
            },
        ]
    },
    "create_field_index": {
        "type": "object",
        "properties": {
            "field_name": {"type": "string"},
            "field_schema": {
                "anyOf": [
                    {
                        "type": "string",
                        "enum": [
                            "keyword",
                            "integer",
                            "float",
                            "bool",
                            "uuid",
                            "datetime",
                            "geo",
                            "text",
                        ],
                    },
                    {
                        "type": "object",
                        "properties": {"type": {"type": "string"}},
                        "required": ["type"],
                    },
                    _TEXT_INDEX_PARAMS,
                ]
            },
        },
        "required": ["field_name", "field_schema"],
    },
    "scroll_points": {
        "type": "object",
        "properties": {
            "offset": {"anyOf": [_ID, {"nullable": True}]},
            "limit": {"type": "integer", "minimum": 1},
            "with_payload": _WITH_PAYLOAD,
            "with_vector": _WITH_VECTOR,
            "filter": _FILTER_REF,
            "order_by": {"anyOf": [{"$ref": "#/components/schemas/OrderBy"}, {"nullable": True}]},
        },
        "additionalProperties": False,
    },
    "query_points": _QUERY,
    "query_batch_points": {
        "type": "object",
        "properties": {"searches": {"type": "array", "items": _QUERY}},
        "required": ["searches"],
    },
    "search_points": _SEARCH,
    "search_batch_points": {
        "type": "object",
        "properties": {"searches": {"type": "array", "items": _SEARCH}},
        "required": ["searches"],
    },
    # -- collection-level API: aliases, update_collection
    "update_collection": {
        "type": "object",
        "description": "quantization_config, strict_mode_config and memory placement are "
        "refused (400); optimizers_config fields other than deleted_threshold, params, and "
        "hnsw_config on_disk / max_indexing_threads are recorded and shown, with no effect",
        "properties": {
            "hnsw_config": {
                "type": "object",
                "properties": {
                    "m": {"type": "integer"},
                    "ef_construct": {"type": "integer"},
                    "full_scan_threshold": {"type": "integer"},
                    "on_disk": {"type": "boolean"},
                    "max_indexing_threads": {"type": "integer"},
                },
                "additionalProperties": False,
            },
            "vectors": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "properties": {
                        "hnsw_config": {"type": "object"},
                        "on_disk": {"type": "boolean"},
                    },
                },
            },
            "sparse_vectors": {"type": "object", "additionalProperties": _SPARSE_PARAMS},
            "optimizers_config": {"type": "object"},
            "params": {"type": "object"},
            "metadata": {
                "type": "object",
                "description": "merged into the collection's metadata; null removes a key",
            },
            "zoro": {
                "type": "object",
                "properties": {"ef_search": {"type": "integer", "minimum": 1}},
            },
        },
        "additionalProperties": False,
    },
    # queries by example: the older routes
    "recommend_points": _RECOMMEND,
    "recommend_batch_points": {
        "type": "object",
        "properties": {"searches": {"type": "array", "items": _RECOMMEND}},
        "required": ["searches"],
    },
    "discover_points": _DISCOVER,
    "discover_batch_points": {
        "type": "object",
        "properties": {"searches": {"type": "array", "items": _DISCOVER}},
        "required": ["searches"],
    },
}
# --- groups, facets and the distance matrix
_GROUP_FIELDS = {
    "group_by": {"type": "string"},
    "group_size": {"type": "integer", "minimum": 1},
    "limit": {"type": "integer", "minimum": 1},
    "with_lookup": {
        "anyOf": [
            {"type": "string"},
            {
                "type": "object",
                "properties": {
                    "collection": {"type": "string"},
                    "with_payload": _WITH_PAYLOAD,
                    "with_vectors": _WITH_VECTOR,
                },
                "required": ["collection"],
                "additionalProperties": False,
            },
        ]
    },
}
_QUERY_GROUPS = {
    **_QUERY,
    "properties": {
        **{k: v for k, v in _QUERY["properties"].items() if k != "offset"},  # type: ignore[attr-defined]
        **_GROUP_FIELDS,
    },
    "required": ["group_by"],
}
_SEARCH_GROUPS = {
    **_SEARCH,
    "properties": {
        **{k: v for k, v in _SEARCH["properties"].items() if k != "offset"},  # type: ignore[attr-defined]
        **_GROUP_FIELDS,
    },
    "required": ["vector", "group_by", "group_size", "limit"],
}
# the older route's recommend request, grouped (answered as a query/groups recommend query)
_RECOMMEND_GROUPS = {
    **_RECOMMEND,
    "properties": {
        **{k: v for k, v in _RECOMMEND["properties"].items() if k != "offset"},  # type: ignore[attr-defined]
        **_GROUP_FIELDS,
    },
    "required": ["group_by", "group_size", "limit"],
}
_REQUESTS["query_points_groups"] = _QUERY_GROUPS
_REQUESTS["search_point_groups"] = _SEARCH_GROUPS
_REQUESTS["recommend_point_groups"] = _RECOMMEND_GROUPS
# --- payload and batch updates (issue 13)
_PATH = {"type": "string", "description": 'a payload key path: a.b, a[0].b, a[].b, "a.b"'}
_IDS = {"type": "array", "items": _ID, "minItems": 1}


def _by_points_or_filter(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """A payload update's body: its own fields and `points` (ids) or `filter`."""
    return {
        "type": "object",
        "properties": {**properties, "points": _IDS, "filter": _FILTER_REF},
        "required": required,
        "additionalProperties": False,
        "description": "needs points or filter (points win when both are given)",
    }


_SET_PAYLOAD = _by_points_or_filter({"payload": _PAYLOAD, "key": _PATH}, ["payload"])
_OVERWRITE_PAYLOAD = _by_points_or_filter({"payload": _PAYLOAD}, ["payload"])
_DELETE_PAYLOAD = _by_points_or_filter({"keys": {"type": "array", "items": _PATH}}, ["keys"])
_POINTS_SELECTOR = _by_points_or_filter({}, [])


def _one_operation(name: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: body},
        "required": [name],
        "additionalProperties": False,
    }


_REQUESTS.update(
    {
        "set_payload": _SET_PAYLOAD,
        "overwrite_payload": _OVERWRITE_PAYLOAD,
        "delete_payload": _DELETE_PAYLOAD,
        "clear_payload": _POINTS_SELECTOR,
        "batch_update": {
            "type": "object",
            "properties": {
                "operations": {
                    "type": "array",
                    "items": {
                        "anyOf": [
                            _one_operation("upsert", _REQUESTS["upsert_points"]),
                            _one_operation("delete", _POINTS_SELECTOR),
                            _one_operation("set_payload", _SET_PAYLOAD),
                            _one_operation("overwrite_payload", _OVERWRITE_PAYLOAD),
                            _one_operation("delete_payload", _DELETE_PAYLOAD),
                            _one_operation("clear_payload", _POINTS_SELECTOR),
                            _one_operation("update_vectors", _REQUESTS["update_vectors"]),
                            _one_operation("delete_vectors", _REQUESTS["delete_vectors"]),
                        ]
                    },
                }
            },
            "required": ["operations"],
            "additionalProperties": False,
            "description": "applied in order and logged as one record: all or nothing",
        },
    }
)
_ERROR_RESPONSE = {
    "description": "error",
    "content": {"application/json": {"schema": ERROR}},
}

_WAITS = frozenset(
    {
        "upsert_points",
        "delete_points",
        "create_field_index",
        "delete_field_index",
        "update_vectors",
        "delete_vectors",
        "create_vector_name",
        "delete_vector_name",
        # payload and batch updates (issue 13)
        "set_payload",
        "overwrite_payload",
        "delete_payload",
        "clear_payload",
        "batch_update",
    }
)


# query parameters other than `wait`, by route
_QUERIES: dict[str, list[tuple[str, dict[str, Any]]]] = {
    # -- collection-level API: optimizations, telemetry
    "get_optimizations": [
        ("with", {"type": "string", "description": "any of queued, completed, idle_segments"}),
        ("completed_limit", {"type": "integer", "minimum": 0}),
    ],
    "telemetry": [
        ("details_level", {"type": "integer", "minimum": 0}),
        ("anonymize", {"type": "boolean"}),
    ],
}


# Routes whose request body may be left out (or sent as `null`), as Qdrant's are.
OPTIONAL_BODY: Final = frozenset(
    {"scroll_points", "count_points", "search_matrix_pairs", "search_matrix_offsets"}
)


def document(limits: LimitSettings) -> dict[str, Any]:
    """The document for a server with these limits (the converted routes' schemas, from
    zoro.wire, state them)."""
    requests = {**_as_31(_REQUESTS), **request_schemas(limits)}
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, requests)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Zoro-DB",
            "version": __version__,
            "description": "Qdrant-compatible REST API of Zoro-DB",
        },
        "paths": paths,
        "components": {"schemas": {**_as_31(_COMPONENTS), **components(limits)}},
    }


def _as_31(schema: Any) -> Any:
    """A schema written here in OpenAPI 3.0's form (`nullable`) as 3.1's JSON Schema. Goes with
    the last route moved to zoro.wire."""
    if isinstance(schema, list):
        return [_as_31(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _as_31(value) for key, value in schema.items() if key != "nullable"}
    if schema.get("nullable") is True:
        out = nullable(out)
    return out


def _operation(route: Route, requests: dict[str, dict[str, Any]]) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": route.name, "responses": {"default": _ERROR_RESPONSE}}
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in route.pattern.groupindex
    ]
    if route.name in _WAITS:
        params.append(
            {"name": "wait", "in": "query", "required": False, "schema": {"type": "boolean"}}
        )
    params += [
        {"name": name, "in": "query", "required": False, "schema": schema}
        for name, schema in _QUERIES.get(route.name, ())
    ]
    if params:
        op["parameters"] = params
    if route.name in requests:
        op["requestBody"] = {
            "required": route.name not in OPTIONAL_BODY,
            "content": {"application/json": {"schema": requests[route.name]}},
        }
    if route.enveloped:
        result = RESULTS.get(route.name, {})
        schema = {
            "type": "object",
            "properties": {
                "result": result,
                "status": {"type": "string"},
                "time": {"type": "number"},
            },
        }
        op["responses"]["200"] = {
            "description": "ok",
            "content": {"application/json": {"schema": schema}},
        }
    else:
        op["responses"]["200"] = {"description": "ok"}
    return op
