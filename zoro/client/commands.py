"""The `zoro` admin commands, all through AsyncZoroClient:

    zoro collections list|create|info|delete
    zoro import COLLECTION FILE      (.npy, .jsonl, .parquet)
    zoro search COLLECTION --vector V | --text T | --id ID

Every command takes --url (ZORO_URL) and --api-key (ZORO_API_KEY). An error prints one line,
`zoro: error: ...`, on stderr and exits 1 (2 for a usage error, as argparse does).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import numpy as np
import orjson

from zoro.client._client import DEFAULT_URL, AsyncZoroClient
from zoro.client._errors import InvalidInput, NotFound, ZoroClientError
from zoro.client._models import DISTANCES
from zoro.client._progress import ProgressLine
from zoro.client._sources import FORMATS, open_source

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the admin subcommands to the `zoro` parser."""
    common = argparse.ArgumentParser(add_help=False)
    env = os.environ.get
    common.add_argument(
        "--url",
        default=env("ZORO_URL", DEFAULT_URL),
        help="server URL (env ZORO_URL; default %(default)s)",
    )
    common.add_argument(
        "--api-key",
        default=env("ZORO_API_KEY"),
        help="API key, sent as the api-key header (env ZORO_API_KEY)",
    )
    common.add_argument("--timeout", type=float, default=60.0, help="seconds per request")

    group = commands.add_parser("collections", help="list, create, describe, delete collections")
    actions = group.add_subparsers(dest="action", required=True)
    actions.add_parser("list", parents=[common], help="the names of all collections")
    create = actions.add_parser("create", parents=[common], help="create a collection")
    create.add_argument("name")
    create.add_argument("--dimension", "--dim", type=int, required=True)
    _collection_options(create)
    info = actions.add_parser("info", parents=[common], help="describe a collection")
    info.add_argument("name")
    info.add_argument("--json", action="store_true", help="print the description as JSON")
    delete = actions.add_parser("delete", parents=[common], help="delete a collection")
    delete.add_argument("name")

    load = commands.add_parser("import", parents=[common], help="upload points from a file")
    load.add_argument("collection")
    load.add_argument("file", type=Path, help="a .npy (ids 0..n-1), .jsonl or .parquet file")
    load.add_argument("--format", choices=FORMATS, help="instead of the file's extension")
    load.add_argument("--batch-size", type=int, default=1000)
    load.add_argument("--parallel", type=int, default=4)
    load.add_argument(
        "--create", action="store_true", help="create the collection first if it does not exist"
    )
    _collection_options(load)
    load.add_argument("--no-progress", action="store_true", help="no progress line on stderr")

    search = commands.add_parser("search", parents=[common], help="nearest neighbours")
    search.add_argument("collection")
    query = search.add_mutually_exclusive_group(required=True)
    query.add_argument("--vector", help="numbers, comma-separated or as a JSON list")
    query.add_argument("--text", help="a text, embedded with the built-in model")
    query.add_argument("--id", help="near a stored point (an integer or a UUID)")
    search.add_argument("--limit", type=int, default=10)
    search.add_argument("--with-vector", action="store_true")
    search.add_argument("--json", action="store_true", help="print the hits as JSON")


def _collection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--distance", choices=DISTANCES, default="Cosine")
    parser.add_argument("--engine", choices=("hnsw", "flat"), default="hnsw")
    parser.add_argument("--m", type=int, help="HNSW links per node")
    parser.add_argument("--ef-construct", type=int, help="HNSW build breadth")
    parser.add_argument("--ef-search", type=int, help="default HNSW search breadth")


def run_command(args: argparse.Namespace) -> int:
    """Run an admin command; returns the exit code."""
    handler = _HANDLERS[args.command if args.command != "collections" else args.action]

    async def main() -> int:
        async with AsyncZoroClient(args.url, api_key=args.api_key, timeout=args.timeout) as client:
            code: int = await handler(client, args)
            return code

    try:
        return anyio.run(main)
    except (ZoroClientError, OSError) as exc:
        print(f"zoro: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("zoro: interrupted", file=sys.stderr)
        return 130


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


async def _list(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    for name in sorted(await client.list_collections()):
        print(name)
    return 0


async def _create(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    await client.create_collection(args.name, args.dimension, **_settings(args))
    print(f"created {args.name} ({args.dimension} dimensions, {args.distance}, {args.engine})")
    return 0


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "distance": args.distance,
        "engine": args.engine,
        "hnsw_m": args.m,
        "hnsw_ef_construct": args.ef_construct,
        "ef_search": args.ef_search,
    }


async def _info(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    info = await client.get_collection(args.name)
    fields = {
        "name": info.name,
        "dimension": info.dimension,
        "distance": info.distance,
        "engine": info.engine,
        "status": info.status,
        "points": info.points_count,
        "indexed": info.indexed_vectors_count,
        "segments": info.segments_count,
        "hnsw_m": info.hnsw.m,
        "hnsw_ef_construct": info.hnsw.ef_construct,
        "full_scan_threshold": info.hnsw.full_scan_threshold,
    }
    if args.json:
        print(orjson.dumps(fields).decode())
    else:
        for key, value in fields.items():
            print(f"{key:20} {value}")
    return 0


async def _delete(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    if not await client.delete_collection(args.name):
        raise NotFound(f"Collection `{args.name}` doesn't exist!")
    print(f"deleted {args.name}")
    return 0


async def _import(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    source = open_source(args.file, args.format)
    if args.create and not await client.collection_exists(args.collection):
        if source.dimension is None:
            raise InvalidInput(f"{args.file}: cannot tell the dimension; create the collection")
        await client.create_collection(args.collection, source.dimension, **_settings(args))
        print(f"created {args.collection} ({source.dimension} dimensions, {args.distance})")
    line = None if args.no_progress else ProgressLine(source.total, label="importing: ")
    options: dict[str, Any] = {
        "batch_size": args.batch_size,
        "parallel": args.parallel,
        "progress": False if line is None else line.update,
    }
    try:
        if source.vectors is not None:
            ids = range(len(source.vectors))
            result = await client.upload(args.collection, ids, source.vectors, **options)
        else:
            assert source.points is not None
            result = await client.upload_points(args.collection, source.points, **options)
    finally:
        if line is not None:
            line.close(summary=False)
    print(
        f"imported {result.points:,} points into {args.collection} in {result.seconds:.1f} s "
        f"({result.points_per_s:,.0f} points/s)"
    )
    return 0


async def _search(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    options = {"limit": args.limit, "with_vector": args.with_vector}
    if args.vector is not None:
        hits = await client.search(args.collection, _parse_vector(args.vector), **options)
    elif args.id is not None:
        point_id: object = int(args.id) if args.id.isdigit() else args.id
        hits = await client.search_by_id(args.collection, point_id, **options)
    else:
        hits = await client.search_text(args.collection, args.text, limit=args.limit)
    if args.json:
        rows = [
            {"id": h.id, "score": h.score, "payload": h.payload, "vector": h.vector} for h in hits
        ]
        print(orjson.dumps(rows).decode())
        return 0
    for hit in hits:
        payload = "" if hit.payload is None else orjson.dumps(hit.payload).decode()
        print(f"{hit.id}\t{hit.score:.6g}\t{payload}")
    return 0


def _parse_vector(text: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    text = text.strip()
    try:
        if text.startswith("["):
            return np.asarray(orjson.loads(text), dtype=np.float64)
        return np.asarray([float(x) for x in text.split(",") if x.strip()], dtype=np.float64)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise InvalidInput(f"--vector {text[:40]!r}: give numbers, e.g. 0.1,0.2,0.3") from None


_HANDLERS: dict[str, Callable[[AsyncZoroClient, argparse.Namespace], Awaitable[int]]] = {
    "list": _list,
    "create": _create,
    "info": _info,
    "delete": _delete,
    "import": _import,
    "search": _search,
}
