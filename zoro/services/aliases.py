"""Collection aliases in Qdrant's shapes: POST /collections/aliases, GET /aliases and
GET /collections/{name}/aliases.

    {"actions": [{"create_alias": {"collection_name": c, "alias_name": a}},
                 {"delete_alias": {"alias_name": a}},
                 {"rename_alias": {"old_alias_name": a, "new_alias_name": b}}]}

The whole list is checked against its schema (zoro.wire), then applied by the catalog as one
durable change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zoro.actors import AliasAction, CreateAlias, DeleteAlias, RenameAlias
from zoro.errors import BadRequest
from zoro.services import validate
from zoro.wire import rules
from zoro.wire.check import check

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
    body = check("update_aliases", body, ctx.limits)
    return [_action(raw, f"actions[{i}]", ctx) for i, raw in enumerate(body["actions"])]


def _action(action: dict[str, dict[str, str]], where: str, ctx: Context) -> AliasAction:
    """One action the schema has shaped; the names' characters are a registered rule
    (rules.COLLECTION_NAME), checked here."""
    ((kind, params),) = action.items()
    names = []
    for field in _ACTIONS[kind]:
        try:
            names.append(validate.collection_name(params[field], ctx.limits))
        except BadRequest as exc:
            raise rules.COLLECTION_NAME.error(f"{where}.{kind}.{field}", exc.message) from None
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
