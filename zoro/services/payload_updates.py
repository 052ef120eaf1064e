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

from typing import TYPE_CHECKING, Any, Final

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
from zoro.actors.vector_changes import DeleteVectors, UpdateVectors
from zoro.errors import BadRequest
from zoro.payload.edits import parse_path
from zoro.services import filters, shapes, validate
from zoro.services import points as points_module
from zoro.services.vector_updates import vector_numbers
from zoro.wire.check import check

if TYPE_CHECKING:
    from collections.abc import Mapping

    from zoro.actors import CollectionActor
    from zoro.actors.point_changes import Operation
    from zoro.payload.edits import Path
    from zoro.services.context import Context
    from zoro.settings import LimitSettings

_SET_FIELDS: Final = frozenset({"payload", "points", "filter", "key", "shard_key"})
_OVERWRITE_FIELDS: Final = frozenset({"payload", "points", "filter", "shard_key"})
_DELETE_KEYS_FIELDS: Final = frozenset({"keys", "points", "filter", "shard_key"})
_SELECTOR_FIELDS: Final = frozenset({"points", "filter", "shard_key"})
_UPDATE_VECTORS_FIELDS: Final = frozenset({"points", "update_filter", "shard_key"})
_DELETE_VECTORS_FIELDS: Final = frozenset({"points", "filter", "vector", "shard_key"})
_VECTOR_POINT_FIELDS: Final = frozenset({"id", "vector"})
_BATCH_FIELDS: Final = frozenset({"operations"})


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
    """Every operation checked first; then all of them logged as one record. The answer is
    one result per operation (they share the record's LSN)."""
    actor = ctx.manager.serving(name)
    body = validate.mapping(body, "body")
    validate.only_fields(body, _BATCH_FIELDS, "body")
    if "operations" not in body:
        raise BadRequest('operations: missing; send {"operations": [{"upsert": {...}}, ...]}')
    items = validate.sequence(body["operations"], "operations")
    operations = tuple(
        _operation(item, f"operations[{i}]", actor, ctx.limits) for i, item in enumerate(items)
    )
    changes = PointChanges(operations)
    if len(changes) > ctx.limits.max_batch_points:
        raise BadRequest(f"operations: at most {ctx.limits.max_batch_points} points per request")
    if not operations:
        return []
    lsn = await actor.write(changes)
    return [shapes.update_result(lsn, completed=wait)] * len(operations)


async def _write(actor: CollectionActor, op: Operation, wait: bool) -> dict[str, Any]:
    lsn = await actor.write(PointChanges((op,)))
    return shapes.update_result(lsn, completed=wait)


# ---------------------------------------------------------------- one operation each


def _operation(
    item: object, where: str, actor: CollectionActor, limits: LimitSettings
) -> Operation:
    item = validate.mapping(item, where)
    if len(item) != 1:
        raise BadRequest(f'{where}: must hold exactly one operation, e.g. {{"upsert": {{...}}}}')
    ((kind, body),) = item.items()
    inner = f"{where}.{kind}"
    if kind == "upsert":
        op = points_module.upsert_operation(body, inner, actor, limits)
        return op if isinstance(op, Upsert) else Upsert(op)
    if kind == "delete":
        return DeletePoints(_points_selector(body, inner, limits))
    if kind == "set_payload":
        return _set(body, inner, limits)
    if kind == "overwrite_payload":
        return _overwrite(body, inner, limits)
    if kind == "delete_payload":
        return _delete_keys(body, inner, limits)
    if kind == "clear_payload":
        return ClearPayload(_points_selector(body, inner, limits))
    if kind == "update_vectors":
        return _update_vectors(body, inner, actor, limits)
    if kind == "delete_vectors":
        return _delete_vectors(body, inner, actor, limits)
    raise BadRequest(
        f"{where}: unknown operation {kind!r}; one of upsert, delete, set_payload, "
        "overwrite_payload, delete_payload, clear_payload, update_vectors, delete_vectors"
    )


# A batch's operations are checked by hand (the batch is not yet checked against a schema),
# then converted as the single routes' checked bodies are.


def _set(body: object, where: str, limits: LimitSettings) -> SetPayload:
    body = _checked(body, _SET_FIELDS, where)
    _check_payload(body, where)
    if body.get("key") is not None and not isinstance(body["key"], str):
        raise BadRequest(f"{where}.key: must be a payload key (a string)")
    _check_selector(body, where, limits)
    return _set_operation(body, where, limits)


def _overwrite(body: object, where: str, limits: LimitSettings) -> OverwritePayload:
    body = _checked(body, _OVERWRITE_FIELDS, where)
    _check_payload(body, where)
    _check_selector(body, where, limits)
    return _overwrite_operation(body, where, limits)


def _delete_keys(body: object, where: str, limits: LimitSettings) -> DeletePayload:
    body = _checked(body, _DELETE_KEYS_FIELDS, where)
    if "keys" not in body:
        raise BadRequest(f'{where}.keys: missing; the payload keys to delete, e.g. ["color"]')
    keys = validate.sequence(body["keys"], f"{where}.keys")
    for i, key in enumerate(keys):
        if not isinstance(key, str):
            raise BadRequest(f"{where}.keys[{i}]: must be a payload key (a string)")
    _check_selector(body, where, limits)
    return _delete_keys_operation(body, where)


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


def _update_vectors(
    body: object, where: str, actor: CollectionActor, limits: LimitSettings
) -> UpdateVectors:
    body = _checked(body, _UPDATE_VECTORS_FIELDS, where)
    if "points" not in body:
        raise BadRequest(f'{where}.points: missing; send {{"points": [{{"id", "vector"}}]}}')
    points = points_module.point_entries(body["points"], _VECTOR_POINT_FIELDS, limits)
    if not points:
        raise BadRequest(f"{where}.points: must specify points to update")
    changes = points_module.vector_batch(points, [b"{}"] * len(points), actor)
    return UpdateVectors(changes, filters.parse(body.get("update_filter"), "update_filter"))


def _delete_vectors(
    body: object, where: str, actor: CollectionActor, limits: LimitSettings
) -> DeleteVectors:
    body = _checked(body, _DELETE_VECTORS_FIELDS, where)
    selector = _selector(body, where, limits)
    numbers = vector_numbers(body.get("vector"), actor.vectors)
    return DeleteVectors(numbers, selector.keys, selector.condition)


# ---------------------------------------------------------------- pieces


def _checked(body: object, fields: frozenset[str], where: str) -> Mapping[str, Any]:
    body = validate.mapping(body, where)
    validate.only_fields(body, fields, where)
    validate.absent(body, "shard_key", "sharding")
    return body


def _selector(body: Mapping[str, Any], where: str, limits: LimitSettings) -> Selector:
    """`points` (ids; they win when a filter is given too) or `filter`, checked by hand."""
    _check_selector(body, where, limits)
    return _selection(body, where)


def _check_selector(body: Mapping[str, Any], where: str, limits: LimitSettings) -> None:
    """What the payload routes' schemas say of `points` and `filter`, for a batch's operations."""
    if body.get("points") is not None:
        ids = validate.sequence(body["points"], f"{where}.points")
        if len(ids) > limits.max_batch_points:
            raise BadRequest(f"{where}.points: at most {limits.max_batch_points} ids per request")
        if not ids:
            raise BadRequest(f"{where}.points: Empty update request: name at least one point")
    elif body.get("filter") is None:
        raise BadRequest(f'{where}: No filter or points provided; send "points" or "filter"')


def _selection(body: Mapping[str, Any], where: str) -> Selector:
    """The points a checked body names: by `points` (which win when a filter is given too), else
    by `filter` (rule points-or-filter: one of them; rule filter: parsed here)."""
    if body.get("points") is not None:
        return Selector(keys=points_module.checked_keys(body["points"], f"{where}.points"))
    condition = filters.parse(body.get("filter"), f"{where}.filter")
    if condition is None:
        raise BadRequest(f'{where}: No filter or points provided; send "points" or "filter"')
    return Selector(condition=condition)


def _points_selector(body: object, where: str, limits: LimitSettings) -> Selector:
    """Qdrant's PointsSelector: {"points": [ids]} or {"filter": {...}}."""
    return _selector(_checked(body, _SELECTOR_FIELDS, where), where, limits)


def _check_payload(body: Mapping[str, Any], where: str) -> None:
    if not isinstance(body.get("payload"), dict):
        raise BadRequest(f"{where}.payload: must be a JSON object")


def _payload(body: Mapping[str, Any], where: str, limits: LimitSettings) -> dict[str, Any]:
    """A checked body's payload, as our own copy, within the size limit (rule payload-size)."""
    encoded = validate.payload(body["payload"], f"{where}.payload", limits)
    decoded: dict[str, Any] = orjson.loads(encoded)
    return decoded


def _path(value: str, where: str) -> Path:
    """A payload key path (rule key-path)."""
    try:
        return parse_path(value)
    except ValueError as exc:
        raise BadRequest(f"{where}: {exc}") from None
