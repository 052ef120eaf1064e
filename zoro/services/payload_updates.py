"""Payload updates and batch updates, in Qdrant's shapes.

    POST /collections/{c}/points/payload         set: {"payload", "points" | "filter", "key"?}
    PUT  /collections/{c}/points/payload         overwrite: {"payload", "points" | "filter"}
    POST /collections/{c}/points/payload/delete  {"keys": [paths], "points" | "filter"}
    POST /collections/{c}/points/payload/clear   {"points": [ids]} | {"filter": {...}}
    POST /collections/{c}/points/batch           {"operations": [{"upsert": ...},
                                                   {"delete": ...}, {"set_payload": ...}, ...]}

Each request is resolved against the points as they are when it is logged and logged as ONE
record (zoro.actors.point_changes): all of it survives a crash or none. A point named by id that
does not exist does not stop the others: as in Qdrant, the rest of that operation is written
(and, in a batch, the operations before it), then the answer is 404 naming the first missing
one. Anything else wrong with a request — in any operation of a batch — is refused (400) before
anything is written. Given both ids and a filter, the ids are used (as qdrant-client's local
mode does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from zoro.actors.point_changes import (
    ClearPayload,
    DeletePayload,
    DeletePoints,
    OverwritePayload,
    PointChanges,
    Selector,
    SetPayload,
    Upsert,
)
from zoro.errors import BadRequest
from zoro.payload.edits import parse_path
from zoro.services import filters, shapes, validate, vector_updates
from zoro.services import points as points_module
from zoro.wire import rules
from zoro.wire.check import check

if TYPE_CHECKING:
    from collections.abc import Mapping

    from zoro.actors import CollectionActor
    from zoro.actors.point_changes import Operation
    from zoro.payload.edits import Path
    from zoro.services.context import Context
    from zoro.settings import LimitSettings


async def set_payload(ctx: Context, name: str, body: object, *, wait: bool) -> dict[str, Any]:
    actor = ctx.manager.serving(name)
    body = check("set_payload", body, ctx.limits)
    return await _write(actor, _set_operation(body, "body", ctx.limits), wait)


async def overwrite_payload(ctx: Context, name: str, body: object, *, wait: bool) -> dict[str, Any]:
    actor = ctx.manager.serving(name)
    body = check("overwrite_payload", body, ctx.limits)
    return await _write(actor, _overwrite_operation(body, "body", ctx.limits), wait)


async def delete_payload(ctx: Context, name: str, body: object, *, wait: bool) -> dict[str, Any]:
    actor = ctx.manager.serving(name)
    body = check("delete_payload", body, ctx.limits)
    return await _write(actor, _delete_keys_operation(body, "body"), wait)


async def clear_payload(ctx: Context, name: str, body: object, *, wait: bool) -> dict[str, Any]:
    actor = ctx.manager.serving(name)
    body = check("clear_payload", body, ctx.limits)
    return await _write(actor, ClearPayload(_selection(body, "body")), wait)


async def batch_update(
    ctx: Context, name: str, body: object, *, wait: bool
) -> list[dict[str, Any]]:
    """Every operation checked and converted first; then all of them logged as one record. The
    answer is one result per operation (they share the record's LSN)."""
    actor = ctx.manager.serving(name)
    items = check("batch_update", body, ctx.limits)["operations"]
    operations = tuple(
        _operation(item, f"operations[{i}]", actor, ctx.limits) for i, item in enumerate(items)
    )
    changes = PointChanges(operations)
    if len(changes) > ctx.limits.max_batch_points:
        detail = f"at most {ctx.limits.max_batch_points} points per request"
        raise rules.BATCH_POINTS.error("operations", detail)
    if not operations:
        return []
    lsn = await actor.write(changes)
    return [shapes.update_result(lsn, completed=wait)] * len(operations)


async def _write(actor: CollectionActor, op: Operation, wait: bool) -> dict[str, Any]:
    lsn = await actor.write(PointChanges((op,)))
    return shapes.update_result(lsn, completed=wait)


# ---------------------------------------------------------------- one operation each


def _operation(
    item: Mapping[str, Any], where: str, actor: CollectionActor, limits: LimitSettings
) -> Operation:
    """A checked operation ({name: the body of that name's single route}) as its change; an
    error the conversion words from the single route's root is named under `where`."""
    ((kind, body),) = item.items()
    inner = f"{where}.{kind}"
    try:
        return _convert(kind, body, inner, actor, limits)
    except BadRequest as exc:
        # the same refusal (its rule's tag kept), renamed from the single route's root:
        # "body.x: ..." or "x: ..." -> "operations[i].upsert.x: ..."
        text = exc.message
        if not text.startswith(inner):
            rest = text[len("body") :] if text.startswith(("body.", "body:")) else f".{text}"
            exc.message = inner + rest
            exc.args = (exc.message,)
        raise


def _convert(
    kind: str, body: Mapping[str, Any], where: str, actor: CollectionActor, limits: LimitSettings
) -> Operation:
    match kind:
        case "upsert":
            op = points_module.upsert_change(body, actor, limits)
            return op if isinstance(op, Upsert) else Upsert(op)
        case "delete":
            return DeletePoints(_selection(body, where))
        case "set_payload":
            return _set_operation(body, where, limits)
        case "overwrite_payload":
            return _overwrite_operation(body, where, limits)
        case "delete_payload":
            return _delete_keys_operation(body, where)
        case "clear_payload":
            return ClearPayload(_selection(body, where))
        case "update_vectors":
            return vector_updates.update_vectors_change(body, actor)
        case "delete_vectors":
            return vector_updates.delete_vectors_change(body, actor)
    raise AssertionError(f"the batch's schema lets through no operation {kind!r}")


def _set_operation(body: Mapping[str, Any], where: str, limits: LimitSettings) -> SetPayload:
    path = None if body.get("key") is None else _path(body["key"], f"{where}.key")
    return SetPayload(_payload(body, where, limits), _selection(body, where), path)


def _overwrite_operation(
    body: Mapping[str, Any], where: str, limits: LimitSettings
) -> OverwritePayload:
    return OverwritePayload(_payload(body, where, limits), _selection(body, where))


def _delete_keys_operation(body: Mapping[str, Any], where: str) -> DeletePayload:
    paths = tuple(_path(k, f"{where}.keys[{i}]") for i, k in enumerate(body["keys"]))
    return DeletePayload(paths, _selection(body, where))


def _selection(body: Mapping[str, Any], where: str) -> Selector:
    """The points a checked body names: by `points` (which win when a filter is given too), else
    by `filter` (rule points-or-filter: one of them; rule filter: parsed here)."""
    if body.get("points") is not None:
        return Selector(keys=points_module.checked_keys(body["points"], f"{where}.points"))
    condition = filters.parse(body.get("filter"), f"{where}.filter", checked=True)
    if condition is None:
        detail = 'No filter or points provided; send "points" or "filter"'
        raise rules.POINTS_OR_FILTER.error(where, detail)
    return Selector(condition=condition)


def _payload(body: Mapping[str, Any], where: str, limits: LimitSettings) -> dict[str, Any]:
    """A checked body's payload, as our own copy, within the size limit (rule payload-size)."""
    with rules.PAYLOAD_SIZE.covering():
        encoded = validate.payload(body["payload"], f"{where}.payload", limits)
    decoded: dict[str, Any] = orjson.loads(encoded)
    return decoded


def _path(value: str, where: str) -> Path:
    """A payload key path (rule key-path)."""
    try:
        return parse_path(value)
    except ValueError as exc:
        raise rules.KEY_PATH.error(where, str(exc)) from None
