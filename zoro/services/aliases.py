"""Collection aliases in Qdrant's shapes: POST /collections/aliases, GET /aliases and
GET /collections/{name}/aliases.

    {"actions": [{"create_alias": {"collection_name": c, "alias_name": a}},
                 {"delete_alias": {"alias_name": a}},
                 {"rename_alias": {"old_alias_name": a, "new_alias_name": b}}]}

The whole list is checked here for shape, then applied by the catalog as one durable change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zoro.actors import AliasAction, CreateAlias, DeleteAlias, RenameAlias
from zoro.errors import BadRequest
from zoro.services import validate

if TYPE_CHECKING:
    from zoro.services.context import Context

# action -> its fields
_ACTIONS: dict[str, tuple[str, ...]] = {
    "create_alias": ("alias_name", "collection_name"),
    "delete_alias": ("alias_name",),
    "rename_alias": ("old_alias_name", "new_alias_name"),
}


def parse_actions(body: object, ctx: Context) -> list[AliasAction]:
    """The `actions` of a request, as actions. Raises BadRequest naming the first bad one."""
    body = validate.mapping(body, "body")
    validate.only_fields(body, frozenset({"actions"}), "body")
    if "actions" not in body:
        raise BadRequest('actions: missing; send {"actions": [{"create_alias": {...}}, ...]}')
    return [
        _action(raw, f"actions[{i}]", ctx)
        for i, raw in enumerate(validate.sequence(body["actions"], "actions"))
    ]


def _action(raw: object, where: str, ctx: Context) -> AliasAction:
    action = validate.mapping(raw, where)
    if len(action) != 1 or next(iter(action)) not in _ACTIONS:
        raise BadRequest(f"{where}: must be one of {', '.join(_ACTIONS)}, each its own object")
    kind, params = next(iter(action.items()))
    where = f"{where}.{kind}"
    params = validate.mapping(params, where)
    fields = _ACTIONS[kind]
    validate.only_fields(params, frozenset(fields), where)
    names = []
    for field in fields:
        value = params.get(field)
        if not isinstance(value, str):
            raise BadRequest(f"{where}.{field}: missing; a collection or alias name (a string)")
        try:
            names.append(validate.collection_name(value, ctx.limits))
        except BadRequest as exc:
            raise BadRequest(f"{where}.{field}: {exc.message}") from None
    if kind == "create_alias":
        return CreateAlias(names[0], names[1])
    if kind == "delete_alias":
        return DeleteAlias(names[0])
    return RenameAlias(names[0], names[1])


async def update(ctx: Context, body: object) -> bool:
    await ctx.manager.change_aliases(parse_actions(body, ctx))
    return True


def list_all(ctx: Context) -> dict[str, Any]:
    return _described(ctx.manager.aliases())


def of_collection(ctx: Context, name: str) -> dict[str, Any]:
    """The aliases of collection `name` (none for a name that is no collection's, as qdrant-
    client's local mode answers)."""
    return _described({a: c for a, c in ctx.manager.aliases().items() if c == name})


def _described(aliases: dict[str, str]) -> dict[str, Any]:
    return {
        "aliases": [
            {"alias_name": alias, "collection_name": collection}
            for alias, collection in sorted(aliases.items())
        ]
    }
