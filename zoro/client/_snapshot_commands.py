"""The `zoro` commands for snapshots (commands.py adds them):

zoro snapshot create COLLECTION [--download FILE]    take one (and fetch the archive)
zoro snapshot list COLLECTION
zoro snapshot download COLLECTION SNAPSHOT FILE
zoro snapshot delete COLLECTION SNAPSHOT
zoro restore COLLECTION LOCATION [--checksum SHA256]  replace or create COLLECTION from an
                                                      archive: a local file (uploaded), an
                                                      http(s) URL, or a path on the server
                                                      under its snapshots directory
zoro snapshot create --all [--download FILE]         a full-storage snapshot (every collection
zoro snapshot list --all                             and the aliases), and so on
zoro snapshot download --all SNAPSHOT FILE
zoro snapshot delete --all SNAPSHOT
zoro restore --all FILE [--checksum SHA256]           restore every collection and alias in a
                                                      full-storage snapshot (uploaded)
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
    _target(create)
    create.add_argument("--download", type=Path, metavar="FILE", help="and save the archive")
    _target(actions.add_parser("list", parents=[common], help="the snapshots kept"))
    download = actions.add_parser("download", parents=[common], help="save an archive")
    _target(download)
    download.add_argument("snapshot")
    download.add_argument("file", type=Path)
    delete = actions.add_parser("delete", parents=[common], help="delete a snapshot")
    _target(delete)
    delete.add_argument("snapshot")
    restore = commands.add_parser(
        "restore", parents=[common], help="replace or create collections from a snapshot"
    )
    _target(restore)
    restore.add_argument(
        "location",
        help="a local file (uploaded), an http(s) URL, or a path under the server's snapshots "
        "directory; with --all, a local full-storage snapshot",
    )
    restore.add_argument("--checksum", help="the archive's SHA-256, checked first")


def _target(parser: argparse.ArgumentParser) -> None:
    """COLLECTION, or --all for full-storage snapshots."""
    parser.add_argument("collection", nargs="?", help="the collection (or --all)")
    parser.add_argument(
        "--all", action="store_true", help="full-storage: every collection and the aliases"
    )


def _collection(args: argparse.Namespace) -> str | None:
    """The collection named, or None for --all; exits with a usage message for neither."""
    if args.all == (args.collection is not None):
        raise SystemExit("name a collection, or give --all (not both)")
    return None if args.all else str(args.collection)


def _shown(info: SnapshotInfo) -> str:
    return f"{info.name}  {info.size:,} bytes  {info.creation_time}  sha256 {info.checksum}"


async def _save(client: AsyncZoroClient, collection: str | None, snapshot: str, file: Path) -> None:
    if collection is None:
        size = await client.download_full_snapshot(snapshot, file)
    else:
        size = await client.download_snapshot(collection, snapshot, file)
    print(f"saved {snapshot} to {file} ({size:,} bytes)")


async def _create(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    collection = _collection(args)
    if collection is None:
        info = await client.create_full_snapshot()
    else:
        info = await client.create_snapshot(collection)
    print(_shown(info))
    if args.download is not None:
        await _save(client, collection, info.name, args.download)
    return 0


async def _list(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    collection = _collection(args)
    if collection is None:
        found = await client.list_full_snapshots()
    else:
        found = await client.list_snapshots(collection)
    for info in found:
        print(_shown(info))
    return 0


async def _download(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    await _save(client, _collection(args), args.snapshot, args.file)
    return 0


async def _delete(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    collection = _collection(args)
    if collection is None:
        await client.delete_full_snapshot(args.snapshot)
    else:
        await client.delete_snapshot(collection, args.snapshot)
    print(f"deleted {args.snapshot}")
    return 0


async def _restore(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    collection = _collection(args)
    local = Path(args.location)
    if collection is None:
        done = await client.upload_full_snapshot(local, checksum=args.checksum)
        print(f"restored {', '.join(done['collections'])} from {local}")
    elif await anyio.Path(local).is_file():
        await client.upload_snapshot(collection, local, checksum=args.checksum)
        print(f"restored {collection} from {local} (uploaded)")
    else:
        await client.recover_snapshot(collection, args.location, checksum=args.checksum)
        print(f"restored {collection} from {args.location}")
    return 0


HANDLERS: dict[str, Callable[[AsyncZoroClient, argparse.Namespace], Awaitable[int]]] = {
    "snapshot create": _create,
    "snapshot list": _list,
    "snapshot download": _download,
    "snapshot delete": _delete,
    "restore": _restore,
}
