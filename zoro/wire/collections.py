"""Collections and their configuration: create, update, vector names, payload indexes,
aliases."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from zoro.payload.tokenize import SNOWBALL_LANGUAGES, STOPWORD_LANGUAGES, TOKENIZERS
from zoro.wire import bounds, rules
from zoro.wire.common import payload
from zoro.wire.schema import (
    Schema,
    WireRequest,
    any_of,
    array,
    boolean,
    enum,
    integer,
    map_of,
    nullable,
    number,
    obj,
    one_of,
    string,
    unsupported,
)

if TYPE_CHECKING:
    from zoro.settings import LimitSettings

# -- vector and graph settings (create_collection, update_collection, create_vector_name)

_IGNORED: Final[Schema] = {"description": "accepted and ignored (one shard on one node)"}


def _setting_int() -> Schema:
    return nullable(integer(low=0, high=bounds.SETTING_INT_MAX))


def _hnsw(others: dict[str, Schema]) -> Schema:
    """Qdrant's HnswConfigDiff: the three the engine uses (for graphs built from then on),
    and `others`, Qdrant's remaining fields as the route takes them."""
    used = {
        "m": nullable(integer(low=bounds.HNSW_M_MIN, high=bounds.HNSW_PARAM_MAX)),
        "ef_construct": nullable(
            integer(low=bounds.HNSW_EF_CONSTRUCT_MIN, high=bounds.HNSW_PARAM_MAX)
        ),
        "full_scan_threshold": nullable(integer(low=0, high=bounds.HNSW_PARAM_MAX)),
    }
    return nullable(obj({**used, **others}))


# at create, Qdrant's other graph settings are accepted and have no effect
_HNSW_CREATE: Final = _hnsw(
    {
        "max_indexing_threads": _setting_int(),
        "on_disk": nullable(boolean("accepted; graphs are memory-mapped files")),
        "memory": {"description": "accepted and ignored"},
        "payload_m": nullable(integer(low=0, about="accepted and ignored")),
        "inline_storage": nullable(boolean("accepted and ignored")),
    }
)
_HNSW_UNSUPPORTED: Final = {
    "payload_m": unsupported("payload-aware HNSW graphs"),
    "inline_storage": unsupported("inline vector storage in the graph"),
    "memory": unsupported("memory placement"),
}
# an update records these two and shows them back in the collection info
_HNSW_UPDATE: Final = _hnsw(
    {
        "max_indexing_threads": _setting_int(),
        "on_disk": nullable(boolean("recorded and shown")),
        **_HNSW_UNSUPPORTED,
    }
)
_HNSW_VECTOR_UPDATE: Final = _hnsw(
    {
        "max_indexing_threads": unsupported("a vector's own graph placement"),
        "on_disk": unsupported("a vector's own graph placement"),
        **_HNSW_UNSUPPORTED,
    }
)
_DISTANCE: Final = enum(*bounds.DISTANCES)
_DATATYPE: Final = nullable(
    enum(*bounds.DATATYPES, about="accepted; vectors are stored as float32")
)
_MULTIVECTOR: Final = nullable(
    obj(
        {"comparator": enum("max_sim", about="Qdrant's one comparator")},
        required=("comparator",),
        about="each point holds a matrix of rows of the vector's size",
    )
)
_SPARSE_PARAMS: Final = nullable(
    obj(
        {
            "modifier": nullable(enum(*bounds.SPARSE_MODIFIERS, about="idf: weight by rarity")),
            "index": nullable(
                obj(
                    {
                        "full_scan_threshold": nullable(integer(low=0)),
                        "on_disk": nullable(boolean()),
                        "datatype": _DATATYPE,
                    },
                    about="accepted and ignored",
                )
            ),
        }
    )
)


def _vector_params(limits: LimitSettings) -> Schema:
    return obj(
        {
            "size": integer(low=1, high=limits.max_dimension),
            "distance": _DISTANCE,
            "hnsw_config": _HNSW_CREATE,
            "on_disk": nullable(boolean("accepted; vectors are memory-mapped files")),
            "quantization_config": {"description": "accepted and ignored: vectors stay float32"},
            "multivector_config": _MULTIVECTOR,
            "datatype": _DATATYPE,
        },
        required=("size", "distance"),
    )


def _create(limits: LimitSettings) -> Schema:
    params = _vector_params(limits)
    named = {
        "type": "object",
        # an object holding size or distance is the unnamed vector's params
        "propertyNames": {"not": {"enum": ["size", "distance"]}},
        "additionalProperties": params,
        "description": "named vectors: {name: params}",
    }
    return rules.with_rules(
        obj(
            {
                "vectors": any_of(
                    params,
                    named,
                    about='the one unnamed vector\'s {"size": N, "distance": ...}, or '
                    "{name: params}",
                ),
                "sparse_vectors": nullable(map_of(_SPARSE_PARAMS, about="{name: params}")),
                "hnsw_config": _HNSW_CREATE,
                "metadata": payload(limits),
                "zoro": nullable(
                    obj(
                        {
                            "engine": enum(*bounds.ENGINES, about="default hnsw"),
                            "ef_search": nullable(
                                integer(
                                    low=1,
                                    high=bounds.HNSW_EF_MAX,
                                    about="the ef of searches that name none",
                                )
                            ),
                        },
                        about="Zoro-DB's own settings",
                    )
                ),
                "init_from": unsupported("copying another collection"),
                **dict.fromkeys(
                    (
                        "shard_number",
                        "sharding_method",
                        "replication_factor",
                        "write_consistency_factor",
                        "on_disk_payload",
                        "optimizers_config",
                        "wal_config",
                        "quantization_config",
                        "strict_mode_config",
                    ),
                    _IGNORED,
                ),
            }
        ),
        rules.VECTORS_OR_SPARSE,
        rules.SPARSE_NAME,
        rules.METADATA_SIZE,
        rules.WHOLE_INTEGERS,
    )


def _update(limits: LimitSettings) -> Schema:
    threads = nullable(
        any_of(
            integer(low=0, high=bounds.SETTING_INT_MAX),
            enum("auto"),
            about='a number of threads or "auto"',
        )
    )
    optimizers = {
        "deleted_threshold": nullable(
            {
                **number(
                    high=1.0,
                    about="the share of deleted points that has a segment rebuilt, and of "
                    "garbage slots that starts a compaction",
                ),
                "exclusiveMinimum": 0,
            }
        ),
        **dict.fromkeys(
            (
                "vacuum_min_vector_number",
                "default_segment_number",
                "max_segment_size",
                "memmap_threshold",
                "indexing_threshold",
                "flush_interval_sec",
            ),
            _setting_int(),
        ),
        "max_optimization_threads": threads,
        "prevent_unoptimized": nullable(boolean()),
    }
    params = {
        **dict.fromkeys(
            ("write_consistency_factor", "read_fan_out_factor", "read_fan_out_delay_ms"),
            _setting_int(),
        ),
        "on_disk_payload": nullable(boolean()),
        "payload": unsupported("payload memory placement"),
        "id_tracker": unsupported("id tracker placement"),
    }
    vector_diff = obj(
        {
            "hnsw_config": _HNSW_VECTOR_UPDATE,
            "on_disk": nullable(boolean("recorded and shown")),
            "quantization_config": unsupported("quantization"),
            "memory": unsupported("memory placement"),
        }
    )
    return rules.with_rules(
        obj(
            {
                "vectors": nullable(map_of(vector_diff, about="{name: changes} of dense vectors")),
                "sparse_vectors": nullable(map_of(_SPARSE_PARAMS, about="{name: changes}")),
                "hnsw_config": _HNSW_UPDATE,
                "optimizers_config": nullable(
                    obj(optimizers, about="recorded and shown; deleted_threshold acted on")
                ),
                "params": nullable(obj(params, about="recorded and shown")),
                "quantization_config": unsupported("quantization"),
                "strict_mode_config": unsupported("strict mode"),
                "metadata": payload(limits),
                "zoro": nullable(
                    obj(
                        {
                            "ef_search": nullable(
                                integer(
                                    low=1,
                                    high=bounds.HNSW_EF_MAX,
                                    about="the ef of searches that name none",
                                )
                            )
                        }
                    )
                ),
            },
            about="only the fields given change; a null metadata value removes that key",
        ),
        rules.VECTOR_NAMES_KNOWN,
        rules.METADATA_SIZE,
        rules.WHOLE_INTEGERS,
    )


def _new_vector(limits: LimitSettings) -> Schema:
    dense = obj(
        {
            "size": integer(low=1, high=min(bounds.VECTOR_SIZE_MAX, limits.max_dimension)),
            "distance": _DISTANCE,
            "multivector_config": _MULTIVECTOR,
            "datatype": _DATATYPE,
        },
        required=("size", "distance"),
    )
    sparse = nullable(
        obj(
            {
                "modifier": nullable(enum(*bounds.SPARSE_MODIFIERS, about="idf: weight by rarity")),
                "datatype": _DATATYPE,
            }
        )
    )
    return rules.with_rules(
        obj({"dense": dense, "sparse": sparse}),
        rules.DENSE_OR_SPARSE,
        rules.WHOLE_INTEGERS,
    )


# -- payload indexes

_FLAG: Final = nullable(boolean())
_TEXT_PARAMS: Final = obj(
    {
        "type": enum("text"),
        "tokenizer": nullable(enum(*TOKENIZERS)),
        "lowercase": _FLAG,
        "ascii_folding": _FLAG,
        "phrase_matching": _FLAG,
        "min_token_len": nullable(integer(low=0, high=bounds.TOKEN_LEN_MAX)),
        "max_token_len": nullable(integer(low=0, high=bounds.TOKEN_LEN_MAX)),
        "stopwords": nullable(
            any_of(
                enum(*STOPWORD_LANGUAGES),
                obj(
                    {
                        "languages": nullable(array(enum(*STOPWORD_LANGUAGES))),
                        "custom": nullable(array(string())),
                    }
                ),
                about='a language, or {"languages": [...], "custom": [words]}',
            )
        ),
        "stemmer": nullable(
            one_of(
                obj(
                    {"type": enum("snowball"), "language": enum(*SNOWBALL_LANGUAGES)},
                    required=("type", "language"),
                ),
                obj({"type": enum("none")}, required=("type",)),
                about='{"type": "snowball", "language": ...} or {"type": "none"}',
            )
        ),
        "on_disk": _FLAG,
        "enable_hnsw": _FLAG,
        "memory": nullable(enum("cold", "cached", "pinned")),
        "scoring": unsupported("BM25 scoring over a text index"),
        "nested": unsupported("text indexes over the objects of an array"),
    },
    required=("type",),
    about="Qdrant's TextIndexParams; on_disk, enable_hnsw and memory are shown, not acted on",
)
_OTHER_PARAMS: Final = obj(
    {
        "type": enum(*(t for t in bounds.INDEX_TYPES if t != "text")),
        **dict.fromkeys(
            ("is_tenant", "is_principal", "lookup", "range", "on_disk", "enable_hnsw"), _FLAG
        ),
    },
    required=("type",),
    about="the type with Qdrant's settings for it, accepted and ignored",
)
_FIELD_SCHEMA: Final = nullable(
    any_of(
        enum(*bounds.INDEX_TYPES),
        _TEXT_PARAMS,
        _OTHER_PARAMS,
        about=f"an index type ({', '.join(bounds.INDEX_TYPES)}) or its params object",
    )
)


def _field_index(limits: LimitSettings) -> Schema:
    return rules.with_rules(
        obj(
            {
                "field_name": string(about="the payload key path to index, e.g. meta.lang"),
                "field_schema": _FIELD_SCHEMA,
                "field_type": nullable(
                    enum(*bounds.INDEX_TYPES, about="Qdrant's older field_schema: a type name")
                ),
            },
            required=("field_name",),
        ),
        rules.INDEX_SCHEMA,
        rules.PAYLOAD_KEY,
        rules.TOKEN_LENGTHS,
        rules.STOPWORD_LISTS,
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


# a metadata object larger than the default max_payload_bytes (1 MiB) once encoded
_BIG: Final = {"big": "x" * (1 << 20)}
_HNSW_EXAMPLE: Final = {"m": 16, "ef_construct": 100, "full_scan_threshold": 10}
_CREATE_EXAMPLE: Final[dict[str, Any]] = {
    "vectors": {
        "size": 4,
        "distance": "Cosine",
        "hnsw_config": {
            **_HNSW_EXAMPLE,
            "max_indexing_threads": 0,
            "on_disk": False,
            "memory": None,
            "payload_m": 0,
            "inline_storage": False,
        },
        "on_disk": False,
        "quantization_config": None,
        "multivector_config": {"comparator": "max_sim"},
        "datatype": "float32",
    },
    "sparse_vectors": {"s": {"modifier": "idf", "index": {"on_disk": False}}},
    "hnsw_config": {
        **_HNSW_EXAMPLE,
        "max_indexing_threads": None,
        "on_disk": None,
        "memory": "cached",
        "payload_m": None,
        "inline_storage": None,
    },
    "metadata": {"team": "wire"},
    "zoro": {"engine": "hnsw", "ef_search": 64},
    "init_from": None,
    "shard_number": 1,
    "sharding_method": None,
    "replication_factor": 1,
    "write_consistency_factor": 1,
    "on_disk_payload": True,
    "optimizers_config": {"indexing_threshold": 1000},
    "wal_config": None,
    "quantization_config": None,
    "strict_mode_config": None,
}
_UPDATE_EXAMPLE: Final[dict[str, Any]] = {
    "vectors": {"v": {"hnsw_config": {"m": 24}, "on_disk": True, "quantization_config": None}},
    "sparse_vectors": {"s": {"modifier": "idf"}},
    "hnsw_config": {
        **_HNSW_EXAMPLE,
        "max_indexing_threads": 2,
        "on_disk": False,
        "payload_m": None,
        "inline_storage": None,
        "memory": None,
    },
    "optimizers_config": {
        "deleted_threshold": 0.2,
        "vacuum_min_vector_number": 1000,
        "default_segment_number": 0,
        "max_segment_size": None,
        "memmap_threshold": None,
        "indexing_threshold": 20000,
        "flush_interval_sec": 5,
        "max_optimization_threads": 2,
        "prevent_unoptimized": False,
    },
    "params": {
        "write_consistency_factor": 1,
        "read_fan_out_factor": None,
        "read_fan_out_delay_ms": 0,
        "on_disk_payload": True,
        "payload": None,
        "id_tracker": None,
    },
    "quantization_config": None,
    "strict_mode_config": None,
    "metadata": {"team": "wire"},
    "zoro": {"ef_search": 64},
}
_INDEX: Final = "wire_idx"

REQUESTS: Final = (
    WireRequest(
        "create_collection",
        _create,
        root="",
        path="/collections/wire_new",
        prepare=(("DELETE", "/collections/wire_new", None),),
        examples=(
            _CREATE_EXAMPLE,
            {"vectors": {"image": {"size": 4, "distance": "Dot"}}},
            {"sparse_vectors": {"s": None}},
        ),
        rule_examples={
            "vectors-or-sparse": {"sparse_vectors": {}},
            "sparse-name": {
                "vectors": {"a": {"size": 4, "distance": "Dot"}},
                "sparse_vectors": {"a": {}},
            },
            "metadata-size": {"vectors": {"size": 4, "distance": "Dot"}, "metadata": _BIG},
            "whole-integers": {"vectors": {"size": 4.0, "distance": "Dot"}},
        },
    ),
    WireRequest(
        "update_collection",
        _update,
        root="",
        path="/collections/wire_upd",
        prepare=(
            (
                "PUT",
                "/collections/wire_upd",
                {"vectors": {"v": {"size": 4, "distance": "Dot"}}, "sparse_vectors": {"s": {}}},
            ),
        ),
        examples=(_UPDATE_EXAMPLE,),
        rule_examples={
            "vector-names-known": {"vectors": {"nope": {"on_disk": True}}},
            "metadata-size": {"metadata": _BIG},
            "whole-integers": {"hnsw_config": {"m": 16.0}},
        },
    ),
    WireRequest(
        "create_vector_name",
        _new_vector,
        root="",
        # a collection of its own: a new name turns the fixture's unnamed vector into a named one
        path="/collections/wire_vn/vectors/wire_v",
        prepare=(
            ("PUT", "/collections/wire_vn", {"vectors": {"d": {"size": 4, "distance": "Dot"}}}),
            ("DELETE", "/collections/wire_vn/vectors/wire_v", None),
        ),
        examples=(
            {
                "dense": {
                    "size": 4,
                    "distance": "Dot",
                    "multivector_config": {"comparator": "max_sim"},
                    "datatype": "float16",
                }
            },
            {"sparse": {"modifier": "idf", "datatype": "float32"}},
        ),
        rule_examples={
            "dense-or-sparse": {},
            "whole-integers": {"dense": {"size": 4.0, "distance": "Dot"}},
        },
    ),
    WireRequest(
        "create_field_index",
        _field_index,
        root="",
        prepare=(("DELETE", f"/collections/{{collection}}/index/{_INDEX}", None),),
        examples=(
            {
                "field_name": _INDEX,
                "field_schema": {
                    "type": "text",
                    "tokenizer": "word",
                    "lowercase": True,
                    "ascii_folding": False,
                    "phrase_matching": False,
                    "min_token_len": 0,
                    "stopwords": {"languages": ["english"], "custom": ["zz"]},
                    "stemmer": {"type": "snowball", "language": "english"},
                    "on_disk": False,
                    "enable_hnsw": None,
                    "memory": "cached",
                    "scoring": None,
                    "nested": None,
                },
            },
            {"field_name": _INDEX, "field_schema": {"type": "text", "max_token_len": 20}},
            {
                "field_name": _INDEX,
                "field_schema": {
                    "type": "keyword",
                    "is_tenant": False,
                    "is_principal": None,
                    "lookup": None,
                    "range": None,
                    "on_disk": None,
                    "enable_hnsw": None,
                },
            },
            {"field_name": _INDEX, "field_schema": "integer"},
            {"field_name": _INDEX, "field_type": "geo"},
        ),
        rule_examples={
            "index-schema": {"field_name": _INDEX},
            "payload-key": {"field_name": "a..b", "field_schema": "keyword"},
            "token-lengths": {
                "field_name": _INDEX,
                "field_schema": {"type": "text", "min_token_len": 5, "max_token_len": 2},
            },
            "stopword-lists": {
                "field_name": _INDEX,
                "field_schema": {"type": "text", "stopwords": "kazakh"},
            },
            "whole-integers": {
                "field_name": _INDEX,
                "field_schema": {"type": "text", "min_token_len": 2.0},
            },
        },
    ),
    WireRequest(
        "update_aliases",
        _aliases,
        root="",
        examples=(
            {
                "actions": [
                    {"create_alias": {"collection_name": "{collection}", "alias_name": "w1"}}
                ]
            },
            {"actions": [{"rename_alias": {"old_alias_name": "w1", "new_alias_name": "w2"}}]},
            {"actions": [{"delete_alias": {"alias_name": "w2"}}]},
        ),
        rule_examples={
            "collection-name": {
                "actions": [
                    {"create_alias": {"collection_name": "{collection}", "alias_name": "a/b"}}
                ]
            }
        },
    ),
)
