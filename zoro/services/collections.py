"""Collection operations: create, delete, list, describe, in Qdrant's shapes."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from zoro.actors import ActorState
from zoro.payload.tokenize import TextParams, parse_params
from zoro.services import shapes, validate, vectors
from zoro.wire import rules
from zoro.wire.check import check, whole

if TYPE_CHECKING:
    from zoro.actors import CollectionActor, FieldInfo
    from zoro.services.context import Context


def engine_settings(body: Mapping[str, Any]) -> dict[str, Any]:
    """The engine part of a checked create request, as stored in the catalog (each vector's own
    hnsw_config goes with that vector, see zoro.services.vectors)."""
    engine: dict[str, Any] = {"kind": "hnsw"}
    engine.update(vectors.hnsw_overrides(body.get("hnsw_config"), "hnsw_config"))
    zoro = body.get("zoro")
    if zoro is not None:
        engine["kind"] = zoro.get("engine", "hnsw")
        if zoro.get("ef_search") is not None:
            engine["hnsw_ef_search"] = whole(zoro["ef_search"], "zoro.ef_search")
    return engine


async def create(ctx: Context, name: str, body: object) -> bool:
    """PUT /collections/{name}: Qdrant's CreateCollection; the settings of one shard on one
    node are accepted and ignored (zoro.wire "create_collection")."""
    with rules.COLLECTION_NAME.covering():  # the path's name: no body breaks it
        validate.collection_name(name, ctx.limits)
    body = check("create_collection", body, ctx.limits)
    # without dense vectors the config can only lack vectors; with them, only reuse a name
    named = rules.VECTORS_OR_SPARSE if "vectors" not in body else rules.SPARSE_NAME
    with named.covering():
        config = vectors.parse_config(body)
    metadata = body.get("metadata")
    if metadata is not None:
        with rules.METADATA_SIZE.covering():
            validate.payload(metadata, "metadata", ctx.limits)
    await ctx.manager.create(name, config, engine_settings(body), metadata)
    return True


async def delete(ctx: Context, name: str) -> bool:
    """Qdrant answers `false` (not 404) when deleting a collection that does not exist."""
    return await ctx.manager.delete(name)


def list_all(ctx: Context) -> dict[str, Any]:
    return {"collections": [{"name": name} for name in ctx.manager.names()]}


def exists(ctx: Context, name: str) -> dict[str, Any]:
    return {"exists": ctx.manager.exists(name)}


def info(ctx: Context, name: str) -> dict[str, Any]:
    actor = ctx.manager.serving(name)
    stats = actor.statistics()
    indexed = stats.indexed
    engine = dict(actor.entry.engine)
    recorded = actor.entry.config
    ann = ctx.settings.ann
    # The small fresh segment is always searched exactly (that is its job): the collection is
    # yellow only while frozen segments wait for, or a build runs in, the background indexer.
    unindexed = int(indexed.get("fresh_points", 0)) + int(indexed.get("frozen_points", 0))
    payload = actor.payload_info()
    unindexed_keys = actor.unindexed_filter_keys()
    busy = (
        int(indexed.get("frozen_points", 0)) > 0
        or bool(indexed.get("job_running"))
        or not all(f.ready for f in payload)
    )
    compacting = bool(stats.compacting)  # yellow while a compaction runs, as Qdrant's vacuum
    return {
        "status": _status(actor, busy, compacting),
        "optimizer_status": "ok",
        "segments_count": len(indexed.get("sealed", ())) + 1,
        "points_count": stats.live_points,
        "indexed_vectors_count": max(stats.live_points - unindexed, 0),
        "config": {
            "params": {
                **vectors.config_json(actor.vectors, ann),
                "shard_number": 1,
                "replication_factor": 1,
                "write_consistency_factor": 1,
                "on_disk_payload": True,
                **_section(recorded, "params"),
            },
            "hnsw_config": {
                "m": engine.get("hnsw_m", ann.hnsw_m),
                "ef_construct": engine.get("hnsw_ef_construct", ann.hnsw_ef_construct),
                "full_scan_threshold": engine.get("full_scan_threshold", ann.full_scan_threshold),
                **_section(recorded, "hnsw_config"),
            },
            "optimizer_config": {
                "deleted_threshold": engine.get("rebuild_deleted_ratio", ann.rebuild_deleted_ratio),
                "default_segment_number": 0,
                "flush_interval_sec": 5,
                **_section(recorded, "optimizers_config"),
            },
            "wal_config": {
                "wal_capacity_mb": ctx.settings.wal.segment_max_bytes // (1024 * 1024),
                "wal_segments_ahead": 0,
            },
            **({} if actor.entry.metadata is None else {"metadata": dict(actor.entry.metadata)}),
        },
        "payload_schema": {
            f.key: {"data_type": f.schema, "params": f.params, "points": f.points} for f in payload
        },
        "warnings": [
            {"message": f"Filtered key `{key}` has no payload index: filters on it scan payloads"}
            for key in unindexed_keys
        ],
        "zoro": {
            "payload_indexes": {
                f.key: {"ready": f.ready, "entries": f.entries, "memory_bytes": f.memory_bytes}
                for f in payload
            },
            "unindexed_filter_keys": unindexed_keys,
            "engine": engine.get("kind", "hnsw"),
            "ef_search": engine.get("hnsw_ef_search", ann.hnsw_ef_search),
            "created_at": actor.entry.created_at,
            "wal_syncs": stats.wal_syncs,
            "wal_records": stats.wal_records,
            "last_lsn": stats.last_lsn,
            "checkpoint_lsn": stats.checkpoint_lsn,
            "replayed_records": stats.replayed_records,
            "storage": {
                "slots": stats.slots,
                "garbage_slots": stats.garbage_slots,
                "file_generation": stats.file_generation,
                "compacting": compacting,
                "compactions": stats.compactions,
            },
            "index": indexed,
            # the dashboard's table (Zoro's own): what the collection holds on disk and in memory
            "disk_bytes": _disk_bytes(ctx, actor),
            "memory_bytes": _memory_bytes(indexed, payload),
        },
    }


async def compact(ctx: Context, name: str) -> dict[str, Any]:
    """Compact the collection now (after the compaction under way, if any); answers once
    done."""
    report = await ctx.manager.serving(name).compact()
    return {
        "slots_before": report.slots_before,
        "slots_after": report.slots_after,
        "bytes_copied": report.bytes_copied,
        "seconds": round(report.seconds, 6),
    }


def _disk_bytes(ctx: Context, actor: CollectionActor) -> int:
    """Bytes allocated (st_blocks) under the collection's directory, <data>/collections/<id>:
    append-only files are preallocated past their data, and those blocks are as gone from the
    disk as written ones. A few dozen files: cheap enough to walk on each GET."""
    if ctx.data_dir is None:
        return 0
    total = 0
    for dirpath, _dirnames, filenames in os.walk(ctx.data_dir / "collections" / actor.entry.id):
        for filename in filenames:
            try:
                total += os.lstat(os.path.join(dirpath, filename)).st_blocks * 512
            except FileNotFoundError:  # removed while walking: a checkpoint's debris
                continue
    return total


def _memory_bytes(indexed: Mapping[str, Any], payload: list[FieldInfo]) -> int:
    """Memory the vector indexes (every dense vector's) and the payload indexes hold."""
    each = indexed.get("vectors")
    dense = each.values() if isinstance(each, Mapping) else [indexed]
    return sum(int(v.get("memory_bytes", 0)) for v in dense) + sum(f.memory_bytes for f in payload)


def _section(recorded: Mapping[str, object], name: str) -> dict[str, object]:
    """One section of the Qdrant settings recorded by PATCH (collection_update.py)."""
    section = recorded.get(name)
    return dict(section) if isinstance(section, Mapping) else {}


def _status(actor: CollectionActor, busy: bool, compacting: bool) -> str:
    if actor.state is ActorState.FAILED:
        return "red"
    # yellow: some points are still searched exactly while the background indexer builds them
    # in, or a compaction runs
    indexing = busy and actor.entry.engine.get("kind") != "flat"
    return "yellow" if indexing or compacting else "green"


async def create_payload_index(
    ctx: Context, name: str, body: object, *, wait: bool
) -> dict[str, Any]:
    """PUT /collections/{name}/index: {"field_name": key, "field_schema": type or {"type": ...}}
    (zoro.wire "create_field_index"). With wait=true, answers once the index is built;
    otherwise once it is declared (durably). The key path is checked by the payload indexes
    (rules.PAYLOAD_KEY)."""
    actor = ctx.manager.serving(name)
    body = check("create_field_index", body, ctx.limits)
    schema = body["field_schema"] if "field_schema" in body else body.get("field_type")
    if schema is None:
        raise rules.INDEX_SCHEMA.error(
            "field_schema",
            "missing; one of keyword, integer, float, bool, uuid, datetime, geo, text",
        )
    kind = schema if isinstance(schema, str) else schema["type"]
    params = _text_params(schema) if kind == "text" else None
    with rules.PAYLOAD_KEY.covering():  # the schema and type are checked: only the key is left
        lsn = await actor.change_payload_index(body["field_name"], kind, params)
    if wait:
        await actor.payload_index_built(body["field_name"])
    return shapes.update_result(lsn, completed=wait)


def _text_params(schema: str | Mapping[str, Any]) -> TextParams:
    """A checked text schema's settings (`"text"` or Qdrant's TextIndexParams); what its schema
    cannot say is refused here: a stopword language without a list, a length written
    with a fraction, or min above max."""
    try:
        return parse_params(schema)
    except ValueError as exc:
        field, detail = str(exc).split(": ", 1)
        if field.startswith("field_schema.stopwords"):
            raise rules.STOPWORD_LISTS.error(field, detail) from None
        if "whole number" in detail:  # 2.0 passes the schema's integer
            raise rules.WHOLE_INTEGERS.error(field, detail) from None
        raise rules.TOKEN_LENGTHS.error(field, detail) from None


async def delete_payload_index(ctx: Context, name: str, key: str, *, wait: bool) -> dict[str, Any]:
    actor = ctx.manager.serving(name)
    lsn = await actor.change_payload_index(key, None)
    return shapes.update_result(lsn, completed=wait)
