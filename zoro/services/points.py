"""Point operations: upsert, delete, retrieve, scroll, count — in Qdrant's shapes."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from zoro.actors.messages import DeleteWhere
from zoro.actors.numbering import reads
from zoro.actors.point_changes import PointChanges, Upsert
from zoro.errors import PointNotFound
from zoro.services import filters, ordering, shapes, validate, vectors
from zoro.types import KEY_DTYPE, DeleteBatch, UpsertBatch, full_key, id_of, key_of, keys_of
from zoro.wire import binary, rules
from zoro.wire.check import check, whole

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from zoro.actors import CollectionActor
    from zoro.actors.point_changes import UpdateMode
    from zoro.services.context import Context
    from zoro.settings import LimitSettings
    from zoro.types import Keys, PointId


async def upsert(ctx: Context, name: str, body: object, *, wait: bool) -> dict[str, Any]:
    actor = ctx.manager.serving(name)
    op = upsert_change(check("upsert_points", body, ctx.limits), actor, ctx.limits)
    return await _written(actor, op, wait)


async def upsert_binary(ctx: Context, name: str, body: bytes, *, wait: bool) -> dict[str, Any]:
    """upsert() for a body of application/vnd.zoro.points (zoro.wire.binary): the same batch,
    checked by the same rules, written the same way."""
    actor = ctx.manager.serving(name)
    points = binary.decode(body, ctx.limits)
    return await _written(actor, binary_change(points, actor, ctx.limits), wait)


async def _written(actor: CollectionActor, op: UpsertBatch | Upsert, wait: bool) -> dict[str, Any]:
    # a plain upsert needs nothing from the current state: it skips the resolution step
    lsn = await actor.write(op if isinstance(op, UpsertBatch) else PointChanges((op,)))
    return shapes.update_result(lsn, completed=wait)


def binary_change(
    points: binary.Points, actor: CollectionActor, limits: LimitSettings
) -> UpsertBatch | Upsert:
    """upsert_change() for a decoded binary body: its header is the batch form's ids and
    payloads (and update_filter, update_mode), its matrices the dense vectors."""
    header = points.header
    keys = checked_keys(header["ids"], "header.ids")
    payloads = _payloads_of(header.get("payloads"), len(keys), "header.payloads", limits)
    batch = vectors.dense_batch(keys, points.matrices, payloads, actor.vectors, "header.vectors")
    return _conditional(batch, header)


def upsert_change(
    body: Mapping[str, Any], actor: CollectionActor, limits: LimitSettings
) -> UpsertBatch | Upsert:
    """A checked upsert body (`points` or `batch`, with Qdrant's `update_filter` and
    `update_mode`): the plain batch, or an Upsert resolved against the points as they are."""
    if "points" in body:
        points = body["points"]
        payloads = payload_bytes([p.get("payload") for p in points], "points", ".payload", limits)
        batch = entries_batch(points, payloads, actor)
    else:
        batch = _batch_form(body["batch"], actor, limits)
    return _conditional(batch, body)


def _conditional(batch: UpsertBatch, body: Mapping[str, Any]) -> UpsertBatch | Upsert:
    """The batch as it is, or under the body's update_filter and update_mode."""
    condition = filters.parse(body.get("update_filter"), "update_filter", checked=True)
    mode: UpdateMode = body.get("update_mode") or "upsert"  # the schema's enum
    if condition is None and mode == "upsert":
        return batch
    return Upsert(batch, condition, mode)


def entries_batch(
    points: Sequence[Mapping[str, Any]], payloads: list[bytes], actor: CollectionActor
) -> UpsertBatch:
    """The UpsertBatch of a checked `points` list (objects with `id` and `vector`, as upsert and
    update_vectors send them) with these payloads."""
    keys = checked_keys([p["id"] for p in points], "points", ".id")
    values = [p["vector"] for p in points]
    where = vectors.FieldNames("points", len(points), ".vector")
    return vectors.upsert_batch(keys, values, payloads, actor.vectors, where)


def checked_keys(ids: Sequence[object], field: str, suffix: str = "") -> Keys:
    """The keys of ids the schema checked (integers in the u64 range, or strings): a string
    must read as a UUID (rules.POINT_ID_UUID), an integer be written whole
    (rules.WHOLE_INTEGERS)."""
    if all(type(i) is int for i in ids):
        return keys_of(ids)  # type: ignore[arg-type]
    return keys_of([checked_id(value, f"{field}[{i}]{suffix}") for i, value in enumerate(ids)])


def checked_id(value: object, field: str) -> PointId:
    """One id the schema checked: a UUID string (rules.POINT_ID_UUID) or a whole integer."""
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            raise rules.POINT_ID_UUID.error(field, f"{value!r} is not a valid UUID") from None
    return whole(value, field)


def payload_bytes(
    values: Sequence[object], field: str, suffix: str, limits: LimitSettings
) -> list[bytes]:
    """Checked payloads (objects or null) as the JSON bytes stored, each at most
    max_payload_bytes (rules.PAYLOAD_SIZE); an error names `{field}[i]{suffix}`."""
    high = limits.max_payload_bytes
    out: list[bytes] = []
    for i, value in enumerate(values):
        if value is None:
            out.append(b"{}")
            continue
        try:
            encoded = orjson.dumps(value)
        except orjson.JSONEncodeError as exc:
            where = f"{field}[{i}]{suffix}"
            detail = f"payload cannot be stored as JSON: {exc}"
            raise rules.PAYLOAD_SIZE.error(where, detail) from None
        if len(encoded) > high:
            where = f"{field}[{i}]{suffix}"
            raise rules.PAYLOAD_SIZE.error(where, f"payload is larger than {high} bytes")
        out.append(encoded)
    return out


def _batch_form(
    batch: Mapping[str, Any], actor: CollectionActor, limits: LimitSettings
) -> UpsertBatch:
    keys = checked_keys(batch["ids"], "batch.ids")
    n = len(keys)
    values, where = vectors.batch_values(batch["vectors"], n, "batch.vectors")
    payloads = _payloads_of(batch.get("payloads"), n, "batch.payloads", limits)
    return vectors.upsert_batch(keys, values, payloads, actor.vectors, where)


def _payloads_of(
    raw: Sequence[object] | None, n: int, field: str, limits: LimitSettings
) -> list[bytes]:
    """The batch form's checked `payloads` (null: every point's is empty), one per id."""
    if raw is None:
        return [b"{}"] * n
    if len(raw) != n:
        raise rules.BATCH_LENGTHS.error(field, f"{len(raw)} payloads for {n} ids")
    return payload_bytes(raw, field, "", limits)


async def delete(ctx: Context, name: str, body: object, *, wait: bool) -> dict[str, Any]:
    actor = ctx.manager.serving(name)
    body = check("delete_points", body, ctx.limits)
    if "filter" in body:
        condition = filters.parse(body["filter"], "filter", checked=True)
        if condition is None:  # the Filter component takes null; a delete needs points chosen
            detail = "must be an object (an empty one deletes every point)"
            raise rules.POINTS_OR_FILTER.error("filter", detail)
        lsn = await actor.write(DeleteWhere(condition))
    else:
        lsn = await actor.write(DeleteBatch(checked_keys(body["points"], "points")))
    return shapes.update_result(lsn, completed=wait)


def retrieve(ctx: Context, name: str, body: object) -> list[dict[str, Any]]:
    actor = ctx.manager.serving(name)
    body = check("retrieve_points", body, ctx.limits)
    keys = checked_keys(body["ids"], "ids")
    selector = shapes.payload_selector(body.get("with_payload"), "with_payload", default=True)
    with rules.WITH_VECTOR_NAMES.covering():
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


@reads
async def scroll(ctx: Context, name: str, body: object) -> dict[str, Any]:
    actor = await ctx.manager.reading(name)
    body = check("scroll_points", {} if body is None else body, ctx.limits)
    limit = 10 if body.get("limit") is None else whole(body["limit"], "limit")
    offset = body.get("offset")
    start = None if offset is None else key_of(checked_id(offset, "offset"))
    selector = shapes.payload_selector(body.get("with_payload"), "with_payload", default=True)
    with rules.WITH_VECTOR_NAMES.covering():
        with_vector = vectors.with_vector(body.get("with_vector"), actor.vectors, "with_vector")
    condition = filters.parse(body.get("filter"), checked=True)
    if body.get("order_by") is not None:
        if start is not None:
            detail = "not with order_by (page with order_by.start_from)"
            raise rules.ORDER_BY_OFFSET.error("offset", detail)
        with rules.START_FROM_DATETIME.covering():
            order = ordering.checked(body["order_by"], "order_by")
        with rules.ORDER_BY_INDEX.covering():
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


@reads
async def count(ctx: Context, name: str, body: object) -> dict[str, Any]:
    actor = await ctx.manager.reading(name)
    body = check("count_points", {} if body is None else body, ctx.limits)
    condition = filters.parse(body.get("filter"), checked=True)
    if condition is None:
        return {"count": actor.count()}
    return {"count": (await actor.select(condition)).count}
