"""Point operations: upsert, delete, retrieve, scroll, count — in Qdrant's shapes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from zoro.actors.messages import DeleteWhere
from zoro.actors.point_changes import PointChanges, Upsert
from zoro.errors import BadRequest, PointNotFound
from zoro.services import filters, ordering, shapes, validate, vectors
from zoro.types import KEY_DTYPE, DeleteBatch, UpsertBatch, full_key, id_of, key_of, keys_of
from zoro.wire import rules
from zoro.wire.check import check

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from zoro.actors import CollectionActor
    from zoro.services.context import Context
    from zoro.settings import LimitSettings

_UPSERT_FIELDS = frozenset({"points", "batch", "shard_key", "update_filter", "update_mode"})
_UPDATE_MODES = ("upsert", "insert_only", "update_only")
_POINT_FIELDS = frozenset({"id", "vector", "payload"})
_BATCH_FIELDS = frozenset({"ids", "vectors", "payloads"})
_DELETE_FIELDS = frozenset({"points", "filter", "shard_key"})
_RETRIEVE_FIELDS = frozenset({"ids", "with_payload", "with_vector", "shard_key"})
_SCROLL_FIELDS = frozenset(
    {"offset", "limit", "filter", "with_payload", "with_vector", "order_by", "shard_key"}
)


async def upsert(ctx: Context, name: str, body: object, *, wait: bool) -> dict[str, Any]:
    actor = ctx.manager.serving(name)
    op = upsert_operation(body, "body", actor, ctx.limits)
    # a plain upsert needs nothing from the current state: it skips the resolution step
    lsn = await actor.write(op if isinstance(op, UpsertBatch) else PointChanges((op,)))
    return shapes.update_result(lsn, completed=wait)


def upsert_operation(
    body: object, where: str, actor: CollectionActor, limits: LimitSettings
) -> UpsertBatch | Upsert:
    """An upsert request (`points` or `batch`, with Qdrant's `update_filter` and
    `update_mode`): the plain batch, or an Upsert resolved against the points as they are."""
    body = validate.mapping(body, where)
    validate.only_fields(body, _UPSERT_FIELDS, where)
    validate.absent(body, "shard_key", "sharding")
    if ("points" in body) == ("batch" in body):
        raise BadRequest(f'{where}: send either "points": [...] or "batch": {{...}}')
    if "points" in body:
        batch = _points_form(body["points"], actor, limits)
    else:
        batch = _batch_form(body["batch"], actor, limits)
    condition = filters.parse(body.get("update_filter"), "update_filter")
    mode = body.get("update_mode")
    if mode is not None and mode not in _UPDATE_MODES:
        raise BadRequest(f"update_mode: one of {', '.join(_UPDATE_MODES)}, not {mode!r}")
    if condition is None and mode in (None, "upsert"):
        return batch
    return Upsert(batch, condition, mode or "upsert")


def _points_form(value: object, actor: CollectionActor, limits: LimitSettings) -> UpsertBatch:
    points = point_entries(value, _POINT_FIELDS, limits)
    payloads = [
        validate.payload(p.get("payload"), f"points[{i}].payload", limits)
        for i, p in enumerate(points)
    ]
    return vector_batch(points, payloads, actor)


def point_entries(
    value: object, fields: frozenset[str], limits: LimitSettings
) -> list[Mapping[str, Any]]:
    """The `points` list of an upsert or update_vectors: objects with `id` and `vector`."""
    points = validate.sequence(value, "points")
    _check_batch_size(len(points), "points", limits)
    checked = []
    for i, point in enumerate(points):
        point = validate.mapping(point, f"points[{i}]")
        validate.only_fields(point, fields, f"points[{i}]")
        if "id" not in point or "vector" not in point:
            raise BadRequest(f'points[{i}]: needs "id" and "vector"')
        checked.append(point)
    return checked


def vector_batch(
    points: Sequence[Mapping[str, Any]], payloads: list[bytes], actor: CollectionActor
) -> UpsertBatch:
    """The UpsertBatch of checked point entries (see `point_entries`) with these payloads."""
    ids = [validate.point_id(p["id"], f"points[{i}].id") for i, p in enumerate(points)]
    values = [p["vector"] for p in points]
    where = [f"points[{i}].vector" for i in range(len(points))]
    return vectors.upsert_batch(keys_of(ids), values, payloads, actor.vectors, where)


def _batch_form(value: object, actor: CollectionActor, limits: LimitSettings) -> UpsertBatch:
    batch = validate.mapping(value, "batch")
    validate.only_fields(batch, _BATCH_FIELDS, "batch")
    if "ids" not in batch or "vectors" not in batch:
        raise BadRequest('batch: needs "ids" and "vectors"')
    keys = validate.point_keys(batch["ids"], "batch.ids", limits)
    values, where = vectors.batch_values(batch["vectors"], len(keys), "batch.vectors")
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
    return vectors.upsert_batch(keys, values, payloads, actor.vectors, where)


def _check_batch_size(n: int, field: str, limits: LimitSettings) -> None:
    if n > limits.max_batch_points:
        raise BadRequest(f"{field}: at most {limits.max_batch_points} points per request")


async def delete(ctx: Context, name: str, body: object, *, wait: bool) -> dict[str, Any]:
    actor = ctx.manager.serving(name)
    body = validate.mapping(body, "body")
    validate.only_fields(body, _DELETE_FIELDS, "body")
    validate.absent(body, "shard_key", "sharding")
    if ("points" in body) == ("filter" in body):
        raise BadRequest('body: send either "points": [ids] or "filter": {...}')
    if "filter" in body:
        condition = filters.parse(body["filter"], "filter")
        if condition is None:
            raise BadRequest("filter: must be an object (an empty one deletes every point)")
        lsn = await actor.write(DeleteWhere(condition))
    else:
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
    with_vector = vectors.with_vector(body.get("with_vector"), actor.vectors, "with_vector")
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
    every = vectors.with_vector(True, actor.vectors, "with_vector")
    return shapes.records(actor, slots, shapes.FULL_PAYLOAD, every)[0]


async def scroll(ctx: Context, name: str, body: object) -> dict[str, Any]:
    actor = ctx.manager.serving(name)
    body = validate.mapping({} if body is None else body, "body")
    validate.only_fields(body, _SCROLL_FIELDS, "body")
    validate.absent(body, "shard_key", "sharding")
    limit = validate.integer(body.get("limit", 10), "limit", low=1, high=ctx.limits.max_limit)
    offset = body.get("offset")
    start = None if offset is None else key_of(validate.point_id(offset, "offset"))
    selector = shapes.payload_selector(body.get("with_payload"), "with_payload", default=True)
    with_vector = vectors.with_vector(body.get("with_vector"), actor.vectors, "with_vector")
    condition = filters.parse(body.get("filter"))
    if body.get("order_by") is not None:
        if start is not None:
            raise BadRequest("offset: not with order_by (page with order_by.start_from)")
        order = ordering.parse(body["order_by"], "order_by")
        ordering.check(actor, order, "order_by")
        allowed = None
        if condition is not None:
            allowed = np.flatnonzero((await actor.select(condition)).mask).astype(np.int64)
        got = await ordering.ordered(actor, order, allowed, limit)
        points = shapes.records(actor, got.slots, selector, with_vector)
        for point, value in zip(points, got.values, strict=True):
            point["order_value"] = value
        return {"points": points, "next_page_offset": None}
    if condition is None:
        keys, next_key = actor.scroll(start, limit)
    else:
        selection = await actor.select(condition)
        keys, next_key = _scroll_selected(actor, selection.mask, start, limit)
    points = shapes.records(actor, actor.slots_of(keys), selector, with_vector)
    return {"points": points, "next_page_offset": None if next_key is None else id_of(next_key)}


# A filtered scroll whose filter keeps at most this many points sorts their ids; one that keeps
# more walks the id order in chunks and keeps the points the filter kept.
_SORT_SELECTED_MAX = 50_000


def _scroll_selected(
    actor: CollectionActor, mask: Any, start: bytes | None, limit: int
) -> tuple[Any, bytes | None]:
    """A page of the selected points in id order: ids >= start, at most `limit`, and the next."""
    count = int(np.count_nonzero(mask))
    if count <= _SORT_SELECTED_MAX:
        keys = np.sort(actor.keys_of_slots(np.flatnonzero(mask)).astype(KEY_DTYPE))
        if start is not None:
            keys = keys[keys >= np.array(full_key(start), dtype=KEY_DTYPE)]
        page = keys[: limit + 1]
    else:
        chunk = max(256, 2 * limit * max(1, len(mask) // max(1, count)))
        found: list[Any] = []
        have = 0
        cursor = start
        while have <= limit:
            keys, cursor = actor.scroll(cursor, chunk)
            slots = actor.slots_of(keys)
            inside = (slots >= 0) & (slots < len(mask))
            inside[inside] = mask[slots[inside]]
            found.append(keys[inside])
            have += int(np.count_nonzero(inside))
            if cursor is None:
                break
        page = np.concatenate(found)[: limit + 1]
    if len(page) > limit:
        return page[:limit], full_key(page[limit])
    return page, None


async def count(ctx: Context, name: str, body: object) -> dict[str, Any]:
    actor = ctx.manager.serving(name)
    body = check("count_points", {} if body is None else body, ctx.limits)
    with rules.FILTER.covering():
        condition = filters.parse(body.get("filter"))
        if condition is None:
            return {"count": actor.count()}
        return {"count": (await actor.select(condition)).count}
