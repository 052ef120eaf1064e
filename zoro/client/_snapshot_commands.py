"""The `zoro` commands for snapshots (commands.py adds them):

zoro snapshot create COLLECTION [--download FILE]    take one (and fetch the archive)
zoro snapshot list COLLECTION
zoro snapshot download COLLECTION SNAPSHOT FILE
zoro snapshot delete COLLECTION SNAPSHOT
zoro restore COLLECTION LOCATION [--checksum SHA256]  replace or create COLLECTION from an
                                                      archive: an http(s) URL, or a path on
                                                      the server under its snapshots directory
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import anyio

if TYPE_CHECKING:
    import argparse
    from collections.abc import Awaitable, Callable

    from zoro.client._client import AsyncZoroClient
    from zoro.client._snapshots import SnapshotInfo


def add_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    group = commands.add_parser("snapshot", help="take, list, download, delete snapshots")
    actions = group.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", parents=[common], help="take a snapshot now")
    create.add_argument("collection")
    create.add_argument("--download", type=Path, metavar="FILE", help="and save the archive")
    listing = actions.add_parser("list", parents=[common], help="a collection's snapshots")
    listing.add_argument("collection")
    download = actions.add_parser("download", parents=[common], help="save an archive")
    download.add_argument("collection")
    download.add_argument("snapshot")
    download.add_argument("file", type=Path)
    delete = actions.add_parser("delete", parents=[common], help="delete a snapshot")
    delete.add_argument("collection")
    delete.add_argument("snapshot")
    restore = commands.add_parser(
        "restore", parents=[common], help="replace or create a collection from a snapshot"
    )
    restore.add_argument("collection")
    restore.add_argument(
        "location", help="an http(s) URL, or a path under the server's snapshots directory"
    )
    restore.add_argument("--checksum", help="the archive's SHA-256, checked first")


def _shown(info: SnapshotInfo) -> str:
    return f"{info.name}  {info.size:,} bytes  {info.creation_time}  sha256 {info.checksum}"


async def _save(client: AsyncZoroClient, collection: str, snapshot: str, file: Path) -> None:
    data = await client.download_snapshot(collection, snapshot)
    await anyio.Path(file).write_bytes(data)
    print(f"saved {snapshot} to {file} ({len(data):,} bytes)")


async def _create(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    info = await client.create_snapshot(args.collection)
    print(_shown(info))
    if args.download is not None:
        await _save(client, args.collection, info.name, args.download)
    return 0


async def _list(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    for info in await client.list_snapshots(args.collection):
        print(_shown(info))
    return 0


async def _download(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    await _save(client, args.collection, args.snapshot, args.file)
    return 0


async def _delete(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    await client.delete_snapshot(args.collection, args.snapshot)
    print(f"deleted {args.snapshot}")
    return 0


async def _restore(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    await client.recover_snapshot(args.collection, args.location, checksum=args.checksum)
    print(f"restored {args.collection} from {args.location}")
    return 0


HANDLERS: dict[str, Callable[[AsyncZoroClient, argparse.Namespace], Awaitable[int]]] = {
    "snapshot create": _create,
    "snapshot list": _list,
    "snapshot download": _download,
    "snapshot delete": _delete,
    "restore": _restore,
}
