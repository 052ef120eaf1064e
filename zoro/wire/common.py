"""Shapes several routes share: point ids, vectors, payloads and the read options
(`with_payload`, `with_vector`, `params`, `using`, `lookup_from`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from zoro.wire import bounds
from zoro.wire.schema import (
    Schema,
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

POINT_ID: Schema = any_of(
    integer(low=0, high=bounds.POINT_ID_MAX),
    string(about="a UUID: hyphenated, 32 hex digits, braced or urn:uuid:"),
    about="an unsigned 64-bit integer or a UUID string",
)
SHARD_KEY: Schema = unsupported("sharding")

DENSE: Schema = array(number(), about="a dense vector: as many numbers as the vector's size")
SPARSE: Schema = obj(
    {
        "indices": array(integer(low=0, high=bounds.SPARSE_INDEX_MAX)),
        "values": array(number()),
    },
    required=("indices", "values"),
    about="a sparse vector: unique indices and as many values",
)
MULTI: Schema = array(DENSE, min_items=1, about="a multivector: rows of the vector's size")
ANY_VECTOR: Schema = any_of(DENSE, SPARSE, MULTI)
# what a point carries: its one unnamed vector, or named vectors (null leaves one out)
VECTOR_STRUCT: Schema = any_of(
    DENSE, MULTI, map_of(nullable(ANY_VECTOR), about="named vectors: {name: vector}")
)

WITH_VECTOR: Schema = nullable(
    any_of(boolean(), array(string()), about="true/false or a list of vector names")
)
_KEYS = any_of(string(), array(string()))
WITH_PAYLOAD: Schema = nullable(
    any_of(
        boolean(),
        array(string()),
        one_of(
            obj({"include": _KEYS}, required=("include",)),
            obj({"exclude": _KEYS}, required=("exclude",)),
        ),
        about='true/false, a list of keys, or {"include": keys} / {"exclude": keys}',
    )
)
USING: Schema = nullable(string(about="a vector name of the collection (null: the first)"))
PARAMS: Schema = nullable(
    obj(
        {
            "hnsw_ef": nullable(integer(low=1, high=bounds.HNSW_EF_MAX)),
            "exact": nullable(boolean()),
            "quantization": {"description": "accepted and ignored: vectors stay float32"},
            "indexed_only": {"description": "accepted and ignored"},
            "acorn": {"description": "accepted and ignored"},
        }
    )
)
LOOKUP_FROM: Schema = nullable(
    obj(
        {"collection": string(), "vector": USING},
        required=("collection",),
        about="take example ids' vectors from this collection",
    )
)


def payload(limits: LimitSettings) -> Schema:
    return nullable(
        map_of({}, about=f"a JSON object, at most {limits.max_payload_bytes} bytes encoded")
    )


def point_ids(limits: LimitSettings, *, min_items: int | None = None) -> Schema:
    return array(POINT_ID, min_items=min_items, max_items=limits.max_batch_points)


# by-example queries: an example is a dense vector or the id of a point holding one
EXAMPLE: Schema = any_of(DENSE, POINT_ID, about="a dense vector or the id of a point holding one")
STRATEGY: Schema = nullable(
    enum(*bounds.STRATEGIES, about="how positive and negative examples combine")
)
CONTEXT_PAIR: Schema = obj(
    {"positive": EXAMPLE, "negative": EXAMPLE}, required=("positive", "negative")
)


def group_fields(limits: LimitSettings) -> dict[str, Schema]:
    """What a grouped request adds to the search it groups (`limit` then counts groups)."""
    count = nullable(integer(low=1, high=limits.max_limit))
    return {
        "group_by": string(about="a payload key path; its string and integer values make groups"),
        "group_size": count,
        "limit": count,
        "with_lookup": nullable(
            any_of(
                string(about="a collection name"),
                obj(
                    {
                        "collection": string(),
                        "with_payload": WITH_PAYLOAD,
                        "with_vectors": WITH_VECTOR,
                    },
                    required=("collection",),
                ),
                about='a collection name or {"collection": name, "with_payload", "with_vectors"}: '
                "each group shows the point of its id there",
            )
        ),
    }
