"""What each route answers in the envelope's `result` (and the error envelope), as the services
build it: /openapi.json serves these; the server does not validate its own answers against
them, but tests/http/test_wire_results.py checks every registered example's real answer.

Objects the services build field by field are closed (an undocumented field fails the test);
those that carry recorded settings or free-form figures are open and say so."""

from __future__ import annotations

from typing import Final

from zoro.wire import bounds
from zoro.wire.common import ANY_VECTOR, DENSE, MULTI, POINT_ID
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
    string,
)


def _open(
    properties: dict[str, Schema], *, required: tuple[str, ...] = (), about: str = ""
) -> Schema:
    """An object with these fields and possibly others (recorded settings, figures)."""
    out: Schema = {"type": "object", "properties": properties}
    if required:
        out["required"] = list(required)
    if about:
        out["description"] = about
    return out


_COUNT = integer(low=0)
_PAYLOAD = map_of({}, about="the point's payload, or the keys with_payload selected")
# a point's vectors as the server shows them: the unnamed dense vector bare, else {name: vector}
# of the vectors the point carries and with_vector asked for
_VECTORS = any_of(DENSE, MULTI, map_of(ANY_VECTOR, about="named vectors: {name: vector}"))
_ORDER_VALUE = number(about="an order_by query's or scroll's value for this point")

SCORED: Final = obj(
    {
        "id": POINT_ID,
        "version": integer(low=0),
        "score": number(),
        "payload": _PAYLOAD,
        "vector": _VECTORS,
        "order_value": _ORDER_VALUE,
    },
    required=("id", "version", "score"),
    about="a hit, best first",
)
RECORD: Final = obj(
    {"id": POINT_ID, "payload": _PAYLOAD, "vector": _VECTORS, "order_value": _ORDER_VALUE},
    required=("id",),
)
UPDATE: Final = obj(
    {
        "operation_id": integer(low=0),
        "status": enum(
            "acknowledged",
            "completed",
            about="completed: applied (wait=true); acknowledged: logged",
        ),
    },
    required=("operation_id", "status"),
)
_SCORED_LIST = array(SCORED)
GROUPS: Final = obj(
    {
        "groups": array(
            obj(
                {
                    "id": any_of(integer(), string(), about="the group's payload value"),
                    "hits": _SCORED_LIST,
                    "lookup": RECORD,
                },
                required=("id", "hits"),
            )
        )
    },
    required=("groups",),
)
_ALIASES = obj(
    {
        "aliases": array(
            obj(
                {"alias_name": string(), "collection_name": string()},
                required=("alias_name", "collection_name"),
            )
        )
    },
    required=("aliases",),
)

_HNSW = _open(
    {
        "m": integer(low=0),
        "ef_construct": integer(low=0),
        "full_scan_threshold": integer(low=0),
    }
)
_DENSE_PARAMS = obj(
    {
        "size": integer(low=1),
        "distance": enum(*bounds.DISTANCES),
        "hnsw_config": _HNSW,
        "on_disk": boolean(),
        "multivector_config": obj({"comparator": enum("max_sim")}, required=("comparator",)),
    },
    required=("size", "distance"),
)
_COLLECTION_INFO = obj(
    {
        "status": enum("green", "yellow", "red"),
        "optimizer_status": enum("ok"),
        "segments_count": _COUNT,
        "points_count": _COUNT,
        "indexed_vectors_count": _COUNT,
        "config": obj(
            {
                "params": _open(
                    {
                        "vectors": any_of(
                            _DENSE_PARAMS, map_of(_DENSE_PARAMS, about="named dense vectors")
                        ),
                        "sparse_vectors": map_of(
                            obj({"modifier": enum("idf")}), about="sparse vectors by name"
                        ),
                        "shard_number": integer(),
                        "replication_factor": integer(),
                        "write_consistency_factor": integer(),
                        "on_disk_payload": boolean(),
                    },
                    required=("vectors",),
                    about="and the params recorded by PATCH",
                ),
                "hnsw_config": _HNSW,
                "optimizer_config": _open({}, about="and the optimizers_config recorded by PATCH"),
                "wal_config": _open({}),
                "metadata": map_of({}, about="the collection's metadata, when it has some"),
            },
            required=("params", "hnsw_config", "optimizer_config", "wal_config"),
        ),
        "payload_schema": map_of(
            obj(
                {"data_type": string(), "params": map_of({}), "points": _COUNT},
                required=("data_type", "params", "points"),
            ),
            about="payload indexes by key",
        ),
        "warnings": array(obj({"message": string()}, required=("message",))),
        "zoro": _open(
            {
                "engine": enum("hnsw", "flat"),
                "ef_search": integer(low=1),
                "created_at": number(about="unix seconds"),
                "unindexed_filter_keys": array(string()),
                "disk_bytes": {**_COUNT, "description": "bytes allocated under its directory"},
                "memory_bytes": {
                    **_COUNT,
                    "description": "bytes its vector and payload indexes hold in memory",
                },
                "payload_indexes": map_of(
                    obj(
                        {"ready": boolean(), "entries": _COUNT, "memory_bytes": _COUNT},
                        required=("ready", "entries", "memory_bytes"),
                    )
                ),
            },
            about="Zoro-DB's own figures (WAL, index statistics)",
        ),
    },
    required=(
        "status",
        "optimizer_status",
        "segments_count",
        "points_count",
        "indexed_vectors_count",
        "config",
        "payload_schema",
    ),
    about="Qdrant's CollectionInfo",
)

_SEGMENT = obj({"uuid": string(), "points_count": _COUNT}, required=("uuid", "points_count"))
_OPTIMIZATION = obj(
    {
        "uuid": string(),
        "optimizer": enum("indexing", "merge"),
        "status": enum("optimizing", "done"),
        "segments": array(_SEGMENT),
        "progress": obj(
            {
                "name": string(),
                "done": _COUNT,
                "total": _COUNT,
                "children": array({"type": "object"}),
                "started_at": string(),
                "finished_at": string(),
                "duration_sec": number(low=0),
            },
            required=("name", "done", "total", "children"),
        ),
    },
    required=("uuid", "optimizer", "status", "segments", "progress"),
)
_OPTIMIZATIONS = obj(
    {
        "summary": obj(
            {
                "queued_optimizations": _COUNT,
                "queued_segments": _COUNT,
                "queued_points": _COUNT,
                "idle_segments": _COUNT,
            },
            required=("queued_optimizations", "queued_segments", "queued_points", "idle_segments"),
        ),
        "running": array(_OPTIMIZATION),
        "queued": array(
            obj(
                {"optimizer": string(), "segments": array(_SEGMENT)},
                required=("optimizer", "segments"),
            )
        ),
        "completed": array(_OPTIMIZATION),
        "idle_segments": array(_SEGMENT),
    },
    required=("summary", "running"),
    about="Qdrant's OptimizationsResponse",
)
_ANSWERS = obj(
    {
        "count": _COUNT,
        "fail_count": _COUNT,
        "avg_duration_micros": number(),
        "min_duration_micros": number(),
        "max_duration_micros": number(),
        "total_duration_micros": integer(),
        "last_responded": string(),
    },
    required=("count", "fail_count"),
)
_TELEMETRY = obj(
    {
        "id": string(),
        "app": obj(
            {"name": string(), "version": string(), "startup": string()},
            required=("name", "version", "startup"),
        ),
        "collections": obj(
            {
                "number_of_collections": _COUNT,
                "collections": array(_open({}), about="with details_level >= 1"),
            },
            required=("number_of_collections",),
        ),
        "requests": obj(
            {
                "rest": obj(
                    {
                        "responses": map_of(
                            map_of(_ANSWERS, about="by status"), about='by "METHOD /path"'
                        )
                    },
                    required=("responses",),
                ),
                "grpc": obj({"responses": map_of({})}, required=("responses",)),
            },
            required=("rest", "grpc"),
        ),
    },
    required=("id", "app", "collections", "requests"),
    about="Qdrant's TelemetryData",
)
_ISSUES = obj(
    {
        "issues": array(
            obj(
                {
                    "id": string(),
                    "description": string(),
                    "solution": obj({"refactor": string()}, required=("refactor",)),
                    "related_collection": string(),
                    "timestamp": string(),
                },
                required=("id", "description", "solution", "related_collection", "timestamp"),
            )
        )
    },
    required=("issues",),
)
_FACET = obj(
    {
        "hits": array(
            obj(
                {
                    "value": any_of(string(), integer(), boolean()),
                    "count": _COUNT,
                },
                required=("value", "count"),
            ),
            about="by count, highest first, then by value",
        )
    },
    required=("hits",),
)
_IDS = array(POINT_ID)
_SNAPSHOT = obj(
    {
        "name": string(),
        "creation_time": nullable(string(about="UTC, ISO 8601 without a zone, as Qdrant's")),
        "size": integer(low=0, about="bytes"),
        "checksum": nullable(string(about="SHA-256 of the archive, hex")),
    },
    required=("name", "creation_time", "size", "checksum"),
)

RESULTS: Final[dict[str, Schema]] = {
    "recent_errors": obj(
        {
            "errors": array(
                obj(
                    {
                        "time": string(about="RFC 3339, UTC"),
                        "route": string(about="the route's name, as in /metrics"),
                        "status": integer(low=400, high=599),
                        "message": string(about="the error message the client was answered"),
                    },
                    required=("time", "route", "status", "message"),
                ),
                about="the last 100 error answers, newest first",
            )
        },
        required=("errors",),
        about="Zoro's own: the error answers this server process gave lately",
    ),
    "list_collections": obj(
        {"collections": array(obj({"name": string()}, required=("name",)))},
        required=("collections",),
    ),
    "get_collection": _COLLECTION_INFO,
    "create_collection": boolean(),
    "delete_collection": boolean("false when there was no such collection"),
    "collection_exists": obj({"exists": boolean()}, required=("exists",)),
    "upsert_points": UPDATE,
    "delete_points": UPDATE,
    "update_vectors": UPDATE,
    "delete_vectors": UPDATE,
    "create_vector_name": UPDATE,
    "delete_vector_name": UPDATE,
    "create_field_index": UPDATE,
    "delete_field_index": UPDATE,
    "retrieve_points": array(RECORD, about="the points found, in the order asked"),
    "get_point": RECORD,
    "scroll_points": obj(
        {
            "points": array(RECORD),
            "next_page_offset": nullable(
                {**POINT_ID, "description": "the next page's offset; null on the last page"}
            ),
        },
        required=("points", "next_page_offset"),
    ),
    "count_points": obj({"count": _COUNT}, required=("count",)),
    "query_points": obj({"points": _SCORED_LIST}, required=("points",)),
    "query_batch_points": array(obj({"points": _SCORED_LIST}, required=("points",))),
    "search_points": _SCORED_LIST,
    "search_batch_points": array(_SCORED_LIST),
    "query_points_groups": GROUPS,
    "search_point_groups": GROUPS,
    "facet": _FACET,
    "search_matrix_pairs": obj(
        {
            "pairs": array(
                obj(
                    {"a": POINT_ID, "b": POINT_ID, "score": number()},
                    required=("a", "b", "score"),
                )
            )
        },
        required=("pairs",),
    ),
    "search_matrix_offsets": obj(
        {
            "offsets_row": array(integer(low=0)),
            "offsets_col": array(integer(low=0)),
            "scores": array(number()),
            "ids": _IDS,
        },
        required=("offsets_row", "offsets_col", "scores", "ids"),
    ),
    "update_aliases": boolean(),
    "compact_collection": obj(
        {
            "slots_before": integer(low=0),
            "slots_after": integer(
                low=0, about="live points, the void slot, and those that died during the copy"
            ),
            "bytes_copied": integer(low=0),
            "seconds": number(),
        },
        required=("slots_before", "slots_after", "bytes_copied", "seconds"),
    ),
    "create_snapshot": _SNAPSHOT,
    "list_snapshots": array(_SNAPSHOT, about="oldest first"),
    "delete_snapshot": boolean(),
    "recover_snapshot": boolean(),
    "upload_snapshot": boolean(),
    "create_full_snapshot": _SNAPSHOT,
    "list_full_snapshots": array(_SNAPSHOT, about="oldest first"),
    "delete_full_snapshot": boolean(),
    "upload_full_snapshot": obj(
        {
            "collections": array(string(), about="the collections restored"),
            "aliases": _open({}, about="alias -> collection, as set"),
        },
        required=("collections", "aliases"),
    ),
    "get_aliases": _ALIASES,
    "get_collection_aliases": _ALIASES,
    "update_collection": boolean(),
    "get_optimizations": _OPTIMIZATIONS,
    "telemetry": _TELEMETRY,
    "get_issues": _ISSUES,
    "clear_issues": boolean(),
    "recommend_points": _SCORED_LIST,
    "recommend_batch_points": array(_SCORED_LIST),
    "recommend_point_groups": GROUPS,
    "discover_points": _SCORED_LIST,
    "discover_batch_points": array(_SCORED_LIST),
    "set_payload": UPDATE,
    "overwrite_payload": UPDATE,
    "delete_payload": UPDATE,
    "clear_payload": UPDATE,
    "batch_update": array(UPDATE, about="one per operation"),
}

# every error: 4xx and 5xx alike
ERROR: Final = obj(
    {
        "status": obj({"error": string()}, required=("error",)),
        "time": number(low=0),
        "result": {"type": "null"},
    },
    required=("status", "time"),
)
