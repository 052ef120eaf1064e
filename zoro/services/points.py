"""Point operations: upsert, delete, retrieve, scroll, count — in Qdrant's shapes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from zoro.errors import BadRequest, PointNotFound
from zoro.services import shapes, validate
from zoro.types import DeleteBatch, UpsertBatch, id_of, key_of, keys_of

if TYPE_CHECKING:
    from zoro.actors import CollectionActor
    from zoro.services.context import Context
    from zoro.settings import LimitSettings

_UPSERT_FIELDS = frozenset({"points", "batch", "shard_key", "update_filter"})
_POINT_FIELDS = frozenset({"id", "vector", "payload"})
_BATCH_FIELDS = frozenset({"ids", "vectors", "payloads"})
_DELETE_FIELDS = frozenset({"points", "filter", "shard_key"})
_RETRIEVE_FIELDS = frozenset({"ids", "with_payload", "with_vector", "shard_key"})
_SCROLL_FIELDS = frozenset(
    {"offset", "limit", "filter", "with_payload", "with_vector", "order_by", "shard_key"}
)
_COUNT_FIELDS = frozenset({"filter", "exact", "shard_key"})


async def upsert(ctx: Context, name: str, body: object, *, wait: bool) -> dict[str, Any]:
    actor = ctx.manager.serving(name)
    body = validate.mapping(body, "body")
    validate.only_fields(body, _UPSERT_FIELDS, "body")
    validate.absent(body, "shard_key", "sharding")
    validate.absent(body, "update_filter", "update_filter")
    if ("points" in body) == ("batch" in body):
        raise BadRequest('body: send either "points": [...] or "batch": {...}')
    if "points" in body:
        op = _points_form(body["points"], actor, ctx.limits)
    else:
        op = _batch_form(body["batch"], actor, ctx.limits)
    lsn = await actor.write(op)
    return shapes.update_result(lsn, completed=wait)


def _points_form(value: object, actor: CollectionActor, limits: LimitSettings) -> UpsertBatch:
    points = validate.sequence(value, "points")
    _check_batch_size(len(points), "points", limits)
    ids, vectors, payloads = [], [], []
    for i, point in enumerate(points):
        point = validate.mapping(point, f"points[{i}]")
        validate.only_fields(point, _POINT_FIELDS, f"points[{i}]")
        if "id" not in point or "vector" not in point:
            raise BadRequest(f'points[{i}]: needs "id" and "vector"')
        ids.append(validate.point_id(point["id"], f"points[{i}].id"))
        vectors.append(point["vector"])
        payloads.append(validate.payload(point.get("payload"), f"points[{i}].payload", limits))
    matrix = _matrix(vectors, "points", "vector", actor)
    return UpsertBatch(keys_of(ids), matrix, payloads)


def _batch_form(value: object, actor: CollectionActor, limits: LimitSettings) -> UpsertBatch:
    batch = validate.mapping(value, "batch")
    validate.only_fields(batch, _BATCH_FIELDS, "batch")
    if "ids" not in batch or "vectors" not in batch:
        raise BadRequest('batch: needs "ids" and "vectors"')
    keys = validate.point_keys(batch["ids"], "batch.ids", limits)
    vectors = validate.sequence(batch["vectors"], "batch.vectors")
    if len(vectors) != len(keys):
        raise BadRequest(f"batch.vectors: {len(vectors)} vectors for {len(keys)} ids")
    raw_payloads = batch.get("payloads")
    if raw_payloads is None:
        payloads = [b"{}"] * len(keys)
    else:
        items = validate.sequence(raw_payloads, "batch.payloads")
        if len(items) != len(keys):
            raise BadRequest(f"batch.payloads: {len(items)} payloads for {len(keys)} ids")
        payloads = [
            validate.payload(p, f"batch.payloads[{i}]", limits) for i, p in enumerate(items)
        ]
    matrix = _matrix(vectors, "batch.vectors", None, actor)
    return UpsertBatch(keys, matrix, payloads)


def _matrix(rows: Sequence[Any], field: str, member: str | None, actor: CollectionActor) -> Any:
    """All vectors as one checked matrix; on error, find the first bad one to name it."""
    if not rows:
        return np.empty((0, actor.dimension), dtype=np.float32)
    try:
        return validate.vectors(rows, field, actor.dimension, actor.distance)
    except BadRequest:
        for i, row in enumerate(rows):
            where = f"{field}[{i}].{member}" if member else f"{field}[{i}]"
            validate.vector(row, where, actor.dimension, actor.distance)
        raise


def _check_batch_size(n: int, field: str, limits: LimitSettings) -> None:
    if n > limits.max_batch_points:
        raise BadRequest(f"{field}: at most {limits.max_batch_points} points per request")


async def delete(ctx: Context, name: str, body: object, *, wait: bool) -> dict[str, Any]:
    actor = ctx.manager.serving(name)
    body = validate.mapping(body, "body")
    validate.only_fields(body, _DELETE_FIELDS, "body")
    validate.absent(body, "shard_key", "sharding")
    validate.absent(body, "filter", "delete by filter (payload filtering)")
    if "points" not in body:
        raise BadRequest('body: send "points": [ids]')
    keys = validate.point_keys(body["points"], "points", ctx.limits)
    lsn = await actor.write(DeleteBatch(keys))
    return shapes.update_result(lsn, completed=wait)


def retrieve(ctx: Context, name: str, body: object) -> list[dict[str, Any]]:
    actor = ctx.manager.serving(name)
    body = validate.mapping(body, "body")
    validate.only_fields(body, _RETRIEVE_FIELDS, "body")
    validate.absent(body, "shard_key", "sharding")
    if "ids" not in body:
        raise BadRequest("ids: missing")
    keys = validate.point_keys(body["ids"], "ids", ctx.limits)
    selector = shapes.payload_selector(body.get("with_payload"), "with_payload", default=True)
    with_vector = _with_vector(body.get("with_vector"))
    slots = actor.slots_of(keys)
    return shapes.records(actor, slots[slots >= 0], selector, with_vector)


def get_point(ctx: Context, name: str, raw_id: str) -> dict[str, Any]:
    actor = ctx.manager.serving(name)
    # isascii: str.isdigit() is true for digits int() refuses ("²") or reads in other scripts
    digits = raw_id.isascii() and raw_id.isdigit()
    point_id = validate.point_id(int(raw_id) if digits else raw_id, "id")
    slots = actor.slots_of(keys_of([point_id]))
    if slots[0] < 0:
        raise PointNotFound(point_id)
    return shapes.records(actor, slots, shapes.FULL_PAYLOAD, True)[0]


def scroll(ctx: Context, name: str, body: object) -> dict[str, Any]:
    actor = ctx.manager.serving(name)
    body = validate.mapping({} if body is None else body, "body")
    validate.only_fields(body, _SCROLL_FIELDS, "body")
    validate.absent(body, "filter", "payload filtering")
    validate.absent(body, "order_by", "order_by")
    validate.absent(body, "shard_key", "sharding")
    limit = validate.integer(body.get("limit", 10), "limit", low=1, high=ctx.limits.max_limit)
    offset = body.get("offset")
    start = None if offset is None else key_of(validate.point_id(offset, "offset"))
    selector = shapes.payload_selector(body.get("with_payload"), "with_payload", default=True)
    with_vector = _with_vector(body.get("with_vector"))
    keys, next_key = actor.scroll(start, limit)
    points = shapes.records(actor, actor.slots_of(keys), selector, with_vector)
    return {"points": points, "next_page_offset": None if next_key is None else id_of(next_key)}


def count(ctx: Context, name: str, body: object) -> dict[str, Any]:
    actor = ctx.manager.serving(name)
    body = validate.mapping({} if body is None else body, "body")
    validate.only_fields(body, _COUNT_FIELDS, "body")
    validate.absent(body, "filter", "payload filtering")
    validate.absent(body, "shard_key", "sharding")
    if body.get("exact") is not None:
        validate.boolean(body["exact"], "exact")
    return {"count": actor.count()}


def _with_vector(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, list | Mapping):
        raise BadRequest("with_vector: named vectors are not supported; use true or false")
    raise BadRequest("with_vector: must be true or false")
