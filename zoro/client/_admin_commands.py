"""The `zoro` commands for aliases and collection settings (commands.py adds them):

zoro aliases list [--collection C]
zoro aliases create ALIAS COLLECTION     (moves ALIAS if it names another collection)
zoro aliases delete ALIAS
zoro aliases rename OLD NEW
zoro aliases switch ALIAS COLLECTION     (delete + create in one atomic change)
zoro collections update NAME [--metadata JSON] [--m N] [--ef-construct N] [--ef-search N]
                             [--deleted-threshold X] [--sparse NAME:idf|NAME:none ...]
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from zoro.client._admin import CreateAlias, DeleteAlias
from zoro.client._errors import InvalidInput

if TYPE_CHECKING:
    import argparse
    from collections.abc import Awaitable, Callable

    from zoro.client._client import AsyncZoroClient


def add_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    collections: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    group = commands.add_parser("aliases", help="list, create, delete, rename, switch aliases")
    actions = group.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", parents=[common], help="aliases and their collections")
    listing.add_argument("--collection", help="only the aliases of this collection")
    for verb, what in (
        ("create", "point ALIAS at COLLECTION"),
        ("switch", "move ALIAS to COLLECTION in one atomic change"),
    ):
        parser = actions.add_parser(verb, parents=[common], help=what)
        parser.add_argument("alias")
        parser.add_argument("collection")
    delete = actions.add_parser("delete", parents=[common], help="remove an alias")
    delete.add_argument("alias")
    rename = actions.add_parser("rename", parents=[common], help="rename an alias")
    rename.add_argument("old")
    rename.add_argument("new")

    update = collections.add_parser(
        "update", parents=[common], help="change a collection's settings or metadata"
    )
    update.add_argument("name", help="a collection or an alias")
    metadata_option(update, "merged into the collection's metadata (null removes a key)")
    update.add_argument("--m", type=int, help="HNSW links per node, for graphs built from now")
    update.add_argument("--ef-construct", type=int, help="HNSW build breadth, likewise")
    update.add_argument("--ef-search", type=int, help="default HNSW search breadth")
    update.add_argument(
        "--deleted-threshold", type=float, help="deleted share that has a segment rebuilt"
    )
    update.add_argument(
        "--sparse",
        action="append",
        default=[],
        metavar="NAME:idf|NAME:none",
        help="a sparse vector's modifier (repeat for more)",
    )


def metadata_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--metadata", metavar="JSON", help=f"{what}: a JSON object, or @FILE")


def parse_metadata(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    where = "--metadata"
    if text.startswith("@"):
        where = text[1:]
        try:
            text = Path(where).read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"--metadata {where}: {exc.strerror or exc}") from None
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"{where}: not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise InvalidInput(f'{where}: metadata is a JSON object, e.g. {{"team": "search"}}')
    return value


async def _list(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    for alias, collection in sorted((await client.list_aliases(args.collection)).items()):
        print(f"{alias} -> {collection}")
    return 0


async def _create(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    await client.create_alias(args.alias, args.collection)
    print(f"{args.alias} -> {args.collection}")
    return 0


async def _switch(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    await client.update_aliases([DeleteAlias(args.alias), CreateAlias(args.alias, args.collection)])
    print(f"{args.alias} -> {args.collection}")
    return 0


async def _delete(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    await client.delete_alias(args.alias)
    print(f"deleted alias {args.alias}")
    return 0


async def _rename(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    await client.rename_alias(args.old, args.new)
    print(f"renamed alias {args.old} to {args.new}")
    return 0


async def _update(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    modifiers: dict[str, str | None] = {}
    for spec in args.sparse:
        name, _, modifier = spec.rpartition(":")
        if not name or modifier.lower() not in ("idf", "none"):
            raise InvalidInput(f"--sparse {spec!r}: use NAME:idf or NAME:none")
        modifiers[name] = "idf" if modifier.lower() == "idf" else None
    await client.update_collection(
        args.name,
        metadata=parse_metadata(args.metadata),
        hnsw_m=args.m,
        hnsw_ef_construct=args.ef_construct,
        ef_search=args.ef_search,
        deleted_threshold=args.deleted_threshold,
        sparse_modifiers=modifiers or None,
    )
    print(f"updated {args.name}")
    return 0


HANDLERS: dict[str, Callable[[AsyncZoroClient, argparse.Namespace], Awaitable[int]]] = {
    "aliases list": _list,
    "aliases create": _create,
    "aliases switch": _switch,
    "aliases delete": _delete,
    "aliases rename": _rename,
    "collections update": _update,
}
