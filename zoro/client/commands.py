"""The `zoro` admin commands, all through AsyncZoroClient:

    zoro collections list|create|info|delete|update
    zoro collections create NAME --dimension D | --vector NAME:SIZE[:DISTANCE][:multi]...
                                 [--sparse NAME[:idf]...] [--metadata JSON]
    zoro aliases list|create|switch|delete|rename        (see _admin_commands.py)
    zoro snapshot create|list|download|delete; zoro restore   (see _snapshot_commands.py)
    zoro import COLLECTION FILE      (.npy, .npz, .jsonl, .parquet; see _sources.py)
                                 (binary bodies to a server that reads them; --json-body)
    zoro search COLLECTION --vector V | --sparse S | --text T | --id ID  [--using NAME]
                                 [--filter JSON]
    zoro search COLLECTION --recommend IDS [--negative IDS] [--strategy S]  (by example)
    zoro count COLLECTION [--filter JSON]
    zoro scroll COLLECTION [--filter JSON]               (one JSON object per line)
    zoro scroll COLLECTION --order-by KEY [--desc]       (by a payload value, one page)
    zoro delete-points COLLECTION --ids IDS | --filter JSON
    zoro index create COLLECTION FIELD SCHEMA | index delete COLLECTION FIELD
    zoro groups COLLECTION KEY --vector V | --sparse S [--using NAME] [--group-size N]
                                 [--limit GROUPS] [--filter JSON] [--lookup COLLECTION]
    zoro groups COLLECTION KEY --recommend IDS [--negative IDS] [--strategy S] ...
    zoro facet COLLECTION KEY [--limit N] [--filter JSON]
    zoro matrix COLLECTION [--sample N] [--limit N] [--using NAME] [--filter JSON] [--offsets]

A filter is Qdrant's filter JSON, given inline or as @FILE.

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

from zoro.client import _admin_commands as admin
from zoro.client import _snapshot_commands as snapshot_commands
from zoro.client._client import DEFAULT_URL, AsyncZoroClient
from zoro.client._errors import InvalidInput, NotFound, ZoroClientError
from zoro.client._examples import order_by
from zoro.client._models import DISTANCES, SparseVectorParams, VectorParams
from zoro.client._progress import ProgressLine
from zoro.client._sources import FORMATS, open_source

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from zoro.client._models import Record, ScoredPoint
    from zoro.client._sources import Source


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
    create.add_argument(
        "--dimension", "--dim", type=int, help="the unnamed dense vector's size (with --distance)"
    )
    _collection_options(create)
    admin.metadata_option(create, "kept with the collection")
    info = actions.add_parser("info", parents=[common], help="describe a collection")
    info.add_argument("name")
    info.add_argument("--json", action="store_true", help="print the description as JSON")
    delete = actions.add_parser("delete", parents=[common], help="delete a collection")
    delete.add_argument("name")

    load = commands.add_parser(
        "import",
        parents=[common],
        help="upload points from a file",
        description=_IMPORT_FORMATS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    load.add_argument("collection")
    load.add_argument("file", type=Path, help="a .npy (ids 0..n-1), .npz, .jsonl or .parquet file")
    load.add_argument("--format", choices=FORMATS, help="instead of the file's extension")
    load.add_argument(
        "--vector-name",
        metavar="NAME",
        help="store an array file's unnamed vectors (.npy, or .npz 'vector') under this name",
    )
    load.add_argument("--batch-size", type=int, default=1000)
    load.add_argument("--parallel", type=int, default=4)
    load.add_argument(
        "--json-body",
        action="store_true",
        help="send the batches as JSON, not as the binary body a Zoro server reads "
        "(docs/binary-points.md)",
    )
    load.add_argument(
        "--create", action="store_true", help="create the collection first if it does not exist"
    )
    _collection_options(load)
    load.add_argument("--no-progress", action="store_true", help="no progress line on stderr")

    search = commands.add_parser("search", parents=[common], help="nearest neighbours")
    search.add_argument("collection")
    query = search.add_mutually_exclusive_group(required=True)
    query.add_argument(
        "--vector",
        help="numbers, comma-separated or as a JSON list; a JSON list of rows is a multivector",
    )
    query.add_argument(
        "--sparse",
        metavar="SPARSE",
        help='a sparse vector: INDEX:VALUE pairs ("3:0.5,17:1") or JSON {"indices", "values"}',
    )
    query.add_argument("--text", help="a text, embedded with the built-in model")
    query.add_argument("--id", help="near a stored point (an integer or a UUID)")
    query.add_argument(
        "--recommend", metavar="IDS", help="like these stored points (comma-separated ids)"
    )
    search.add_argument(
        "--negative", metavar="IDS", help="with --recommend: and unlike these stored points"
    )
    search.add_argument(
        "--strategy",
        choices=["average_vector", "best_score", "sum_scores"],
        default="average_vector",
        help="with --recommend: how the examples score a point",
    )
    search.add_argument("--using", metavar="NAME", help='the named vector to search ("" unnamed)')
    search.add_argument("--limit", type=int, default=10)
    search.add_argument("--with-vector", action="store_true")
    search.add_argument("--json", action="store_true", help="print the hits as JSON")
    _filter_option(search, "only points the filter keeps")

    count = commands.add_parser("count", parents=[common], help="count points")
    count.add_argument("collection")
    _filter_option(count, "count the points the filter keeps")
    count.add_argument("--approx", action="store_true", help="an estimate will do")

    scroll = commands.add_parser(
        "scroll", parents=[common], help="print points in id order, one JSON object per line"
    )
    scroll.add_argument("collection")
    _filter_option(scroll, "only points the filter keeps")
    scroll.add_argument("--limit", type=int, help="at most this many points (default: all)")
    scroll.add_argument("--offset", help="start at this id (an integer or a UUID)")
    scroll.add_argument("--page-size", type=int, default=256, help="points per request")
    scroll.add_argument("--with-vector", action="store_true")
    scroll.add_argument("--no-payload", action="store_true")
    scroll.add_argument(
        "--order-by",
        metavar="KEY",
        help="order by this payload key (it needs an integer, float or datetime index): "
        "prints one page of --limit points (default --page-size)",
    )
    scroll.add_argument("--desc", action="store_true", help="with --order-by: highest first")

    remove = commands.add_parser(
        "delete-points", parents=[common], help="delete points by id or by filter"
    )
    remove.add_argument("collection")
    which = remove.add_mutually_exclusive_group(required=True)
    which.add_argument("--ids", help="ids, comma-separated or as a JSON list")
    _filter_option(which, "delete every point the filter keeps ('{}': all of them)")

    index = commands.add_parser("index", help="create or delete payload indexes")
    index_actions = index.add_subparsers(dest="action", required=True)
    build = index_actions.add_parser("create", parents=[common], help="index a payload key")
    build.add_argument("collection")
    build.add_argument("field", help='a payload key, e.g. "lang", "meta.lang" or "tags[]"')
    build.add_argument(
        "schema",
        help="keyword, integer, float, bool, uuid, datetime, geo, text, or Qdrant's params as "
        'JSON, e.g. \'{"type": "text", "tokenizer": "prefix", "stopwords": "english"}\'',
    )
    build.add_argument(
        "--no-wait", action="store_true", help="return once declared, not once built"
    )
    drop = index_actions.add_parser("delete", parents=[common], help="drop a payload index")
    drop.add_argument("collection")
    drop.add_argument("field")
    admin.add_commands(commands, actions, common)  # aliases, collections update
    snapshot_commands.add_commands(commands, common)
    _add_group_commands(commands, common)
    _add_payload_commands(commands, common)


# --- groups, facets and the distance matrix


def _add_group_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    groups = commands.add_parser(
        "groups", parents=[common], help="nearest neighbours grouped by a payload key"
    )
    groups.add_argument("collection")
    groups.add_argument("key", help="the payload key to group by")
    query = groups.add_mutually_exclusive_group(required=True)
    query.add_argument("--vector", help="numbers, comma-separated or as a JSON list")
    query.add_argument("--sparse", metavar="SPARSE", help="a sparse vector, as for search")
    query.add_argument("--recommend", metavar="IDS", help="like these stored points, as search")
    groups.add_argument("--negative", metavar="IDS", help="with --recommend, as for search")
    groups.add_argument(
        "--strategy",
        choices=["average_vector", "best_score", "sum_scores"],
        default="average_vector",
        help="with --recommend, as for search",
    )
    groups.add_argument("--using", metavar="NAME", help="the named vector to search")
    groups.add_argument("--group-size", type=int, default=3, help="hits per group")
    groups.add_argument("--limit", type=int, default=10, help="groups")
    groups.add_argument("--lookup", metavar="COLLECTION", help="look group ids up there")
    groups.add_argument("--json", action="store_true", help="print the groups as JSON")
    _filter_option(groups, "only points the filter keeps")

    facet = commands.add_parser(
        "facet", parents=[common], help="count the values of an indexed payload key"
    )
    facet.add_argument("collection")
    facet.add_argument("key")
    facet.add_argument("--limit", type=int, default=10, help="values, most common first")
    _filter_option(facet, "count only the points the filter keeps")

    matrix = commands.add_parser(
        "matrix", parents=[common], help="nearest neighbours within a random sample of points"
    )
    matrix.add_argument("collection")
    matrix.add_argument("--sample", type=int, default=10, help="points sampled")
    matrix.add_argument("--limit", type=int, default=3, help="neighbours per sampled point")
    matrix.add_argument("--using", metavar="NAME", help="the named vector to compare")
    matrix.add_argument("--offsets", action="store_true", help="print offsets JSON, not pairs")
    _filter_option(matrix, "sample only points the filter keeps")


async def _groups(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    options: dict[str, Any] = {
        "group_size": args.group_size,
        "limit": args.limit,
        "using": args.using,
        "filter": _parse_filter(args.filter),
        "with_lookup": args.lookup,
    }
    if args.negative is not None and args.recommend is None:
        raise InvalidInput("--negative: only with --recommend")
    if args.recommend is not None:
        found = await client.recommend_groups(
            args.collection,
            args.key,
            _parse_ids(args.recommend),  # type: ignore[arg-type]  # checked by the client
            [] if args.negative is None else _parse_ids(args.negative),  # type: ignore[arg-type]
            strategy=args.strategy,
            **options,
        )
    else:
        query = _parse_vector(args.vector) if args.sparse is None else _parse_sparse(args.sparse)
        found = await client.search_groups(args.collection, query, args.key, **options)
    if args.json:
        rows = [
            {
                "id": g.id,
                "hits": [{"id": h.id, "score": h.score, "payload": h.payload} for h in g.hits],
                "lookup": None
                if g.lookup is None
                else {"id": g.lookup.id, "payload": g.lookup.payload},
            }
            for g in found
        ]
        print(orjson.dumps(rows).decode())
        return 0
    for g in found:
        for hit in g.hits:
            payload = "" if hit.payload is None else orjson.dumps(hit.payload).decode()
            print(f"{g.id}\t{hit.id}\t{hit.score:.6g}\t{payload}")
    return 0


async def _facet(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    for hit in await client.facet(
        args.collection, args.key, filter=_parse_filter(args.filter), limit=args.limit
    ):
        print(f"{orjson.dumps(hit.value).decode()}\t{hit.count}")
    return 0


async def _matrix(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    options: dict[str, Any] = {
        "sample": args.sample,
        "limit": args.limit,
        "filter": _parse_filter(args.filter),
        "using": args.using,
    }
    if args.offsets:
        m = await client.distance_matrix_offsets(args.collection, **options)
        out = {"ids": m.ids, "offsets_row": m.rows, "offsets_col": m.cols, "scores": m.scores}
        print(orjson.dumps(out).decode())
        return 0
    for pair in await client.distance_matrix(args.collection, **options):
        print(f"{pair.a}\t{pair.b}\t{pair.score:.6g}")
    return 0


def _add_payload_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    payload = commands.add_parser("payload", help="set, overwrite, delete or clear payloads")
    actions = payload.add_subparsers(dest="action", required=True)
    for action, text in (
        ("set", "merge JSON into the payloads (null removes a key)"),
        ("overwrite", "replace the whole payloads"),
        ("delete", "remove payload keys"),
        ("clear", "empty the payloads"),
    ):
        parser = actions.add_parser(action, parents=[common], help=text)
        parser.add_argument("collection")
        if action in ("set", "overwrite"):
            parser.add_argument("payload", metavar="JSON", help="a JSON object, or @FILE")
        if action == "delete":
            parser.add_argument("keys", help="payload keys (paths), comma-separated")
        if action == "set":
            parser.add_argument("--key", help="merge into the object at this path, e.g. meta.a")
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--ids", help="ids, comma-separated or as a JSON list")
        _filter_option(which, "the points the filter keeps")
    batch = commands.add_parser(
        "batch", parents=[common], help="apply update operations in order, as one write"
    )
    batch.add_argument("collection")
    batch.add_argument(
        "operations",
        metavar="JSON",
        help='Qdrant\'s operation list (or {"operations": [...]}), or @FILE holding it',
    )


_IMPORT_FORMATS = """Upload points from a file, in batches (named vectors: any subset per point).

  .npy      a 2-D array, ids 0..n-1: the unnamed vector (or --vector-name NAME)
  .npz      arrays "vector" (unnamed), "vector.NAME" ((n, d) dense, (n, rows, d) multi),
            optional "id" (n integers)
  .jsonl    one point a line: {"id": 1, "vector": V, "payload": {...}}, V a list of numbers,
            a list of rows (multivector) or {"NAME": dense | rows | {"indices", "values"}}
  .parquet  columns "id", optional "payload" (struct or JSON string), and "vector" (list,
            list of rows, or a struct of named vectors) and/or "vector.NAME" columns (list,
            list of rows, or a sparse {indices, values} struct; null where absent)

With --create, the collection is declared by --vector/--sparse, else from the file: the arrays
of .npy and .npz (--distance for all), or a .jsonl file's bare vectors (by its first line).

Batches of dense vectors go as the binary body application/vnd.zoro.points when the server
says it reads it (a Zoro server does), else as JSON; --json-body always sends JSON."""


def _filter_option(
    parser: argparse.ArgumentParser | argparse._MutuallyExclusiveGroup, what: str
) -> None:
    parser.add_argument(
        "--filter", metavar="JSON", help=f"{what}: Qdrant's filter JSON, or @FILE holding it"
    )


def _collection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--vector",
        action="append",
        default=[],
        metavar="NAME:SIZE[:DISTANCE][:multi]",
        help="a named dense vector (repeat for more; DISTANCE defaults to --distance; "
        "':multi' makes it a multivector compared by MaxSim; an empty NAME is the unnamed one)",
    )
    parser.add_argument(
        "--sparse",
        action="append",
        default=[],
        metavar="NAME[:idf]",
        help="a sparse vector (repeat for more; ':idf' weighs indices by inverse document "
        "frequency)",
    )
    parser.add_argument("--distance", choices=DISTANCES, default="Cosine")
    parser.add_argument("--engine", choices=("hnsw", "flat"), default="hnsw")
    parser.add_argument("--m", type=int, help="HNSW links per node")
    parser.add_argument("--ef-construct", type=int, help="HNSW build breadth")
    parser.add_argument("--ef-search", type=int, help="default HNSW search breadth")


def run_command(args: argparse.Namespace) -> int:
    """Run an admin command; returns the exit code."""
    action = getattr(args, "action", None)
    handler = _HANDLERS[args.command if action is None else f"{args.command} {action}"]

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
    dense, sparse = _declarations(args, args.dimension)
    if args.dimension is None and not dense and not sparse:
        raise InvalidInput("collections create: give --dimension, --vector or --sparse")
    if dense is None:
        await client.create_collection(
            args.name,
            args.dimension,
            metadata=admin.parse_metadata(args.metadata),
            **_settings(args),
        )
        print(f"created {args.name} ({args.dimension} dimensions, {args.distance}, {args.engine})")
        return 0
    await client.create_collection(
        args.name,
        vectors=dense,
        sparse_vectors=sparse,
        metadata=admin.parse_metadata(args.metadata),
        **_settings(args),
    )
    print(f"created {args.name} ({_describe(dense, sparse)}, {args.engine})")
    return 0


def _declarations(
    args: argparse.Namespace, dimension: int | None
) -> tuple[dict[str, VectorParams] | None, dict[str, SparseVectorParams]]:
    """--vector and --sparse as declarations (dense None: neither given, the plain form); a
    --dimension beside them declares the unnamed vector too."""
    sparse = dict(_parse_sparse_spec(spec) for spec in args.sparse)
    if not args.vector and not sparse:
        return None, {}
    dense = dict(_parse_vector_spec(spec, args.distance) for spec in args.vector)
    if dimension is not None:
        if "" in dense:
            raise InvalidInput("--dimension and --vector ':SIZE' both declare the unnamed vector")
        dense = {"": VectorParams(dimension, args.distance), **dense}
    return dense, sparse


def _describe(dense: dict[str, VectorParams], sparse: dict[str, SparseVectorParams]) -> str:
    parts = [
        f"{name or '(unnamed)'} {p.size} {p.distance}{' multi' if p.multivector else ''}"
        for name, p in dense.items()
    ]
    parts += [f"{name} sparse{' idf' if p.modifier else ''}" for name, p in sparse.items()]
    return ", ".join(parts) if parts else "no vectors"


def _parse_vector_spec(spec: str, distance: str) -> tuple[str, VectorParams]:
    """NAME:SIZE[:DISTANCE][:multi], read from the right (a name may hold ':')."""
    parts = spec.split(":")
    multi = len(parts) > 2 and parts[-1].lower() == "multi"
    if multi:
        parts.pop()
    by_name = {d.lower(): d for d in DISTANCES}
    if len(parts) > 2 and parts[-1].lower() in by_name:
        distance = by_name[parts.pop().lower()]
    size = parts.pop() if len(parts) > 1 else ""
    if not size.isascii() or not size.isdigit():
        raise InvalidInput(
            f"--vector {spec!r}: use NAME:SIZE[:DISTANCE][:multi], e.g. text:384:Cosine "
            f"or colbert:128:Dot:multi (distances: {', '.join(DISTANCES)})"
        )
    return ":".join(parts), VectorParams(int(size), distance, multivector=multi)


def _parse_sparse_spec(spec: str) -> tuple[str, SparseVectorParams]:
    name, _, modifier = spec.rpartition(":")
    if not name or modifier.lower() not in ("idf", "none"):
        name, modifier = spec, ""
    if not name:
        raise InvalidInput(f"--sparse {spec!r}: use NAME or NAME:idf")
    return name, SparseVectorParams("idf" if modifier.lower() == "idf" else None)


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
    fields: dict[str, Any] = {
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
    if info.ef_search is not None:
        fields["ef_search"] = info.ef_search
    named = {k: _params_fields(v) for k, v in info.vectors.items()}
    if info.vector is not None and (named or info.sparse_vectors):
        named = {"": _params_fields(info.vector), **named}
    if named:
        fields["vectors"] = named
    if info.sparse_vectors:
        fields["sparse_vectors"] = {
            k: {"modifier": v.modifier} if v.modifier else {}
            for k, v in info.sparse_vectors.items()
        }
    if info.metadata is not None:
        fields["metadata"] = info.metadata
    if args.json:
        print(orjson.dumps(fields).decode())
    else:
        for key, value in fields.items():
            if isinstance(value, dict):
                for name, params in value.items():
                    print(f"{key + '[' + repr(name) + ']':20} {orjson.dumps(params).decode()}")
            else:
                print(f"{key:20} {value}")
    return 0


def _params_fields(params: VectorParams) -> dict[str, Any]:
    out: dict[str, Any] = {"size": params.size, "distance": params.distance}
    if params.multivector:
        out["multivector"] = "max_sim"
    if params.on_disk is not None:
        out["on_disk"] = params.on_disk
    if params.hnsw_config is not None:
        out["hnsw_config"] = params.hnsw_config.to_json()
    return out


async def _delete(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    if not await client.delete_collection(args.name):
        raise NotFound(f"Collection `{args.name}` doesn't exist!")
    print(f"deleted {args.name}")
    return 0


async def _import(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    source = open_source(args.file, args.format)
    vectors = _renamed(source, args.vector_name, args.file)
    if args.create and not await client.collection_exists(args.collection):
        await _create_for(client, args, source, vectors)
    line = None if args.no_progress else ProgressLine(source.total, label="importing: ")
    options: dict[str, Any] = {
        "batch_size": args.batch_size,
        "parallel": args.parallel,
        "progress": False if line is None else line.update,
        "encoding": "json" if args.json_body else "auto",
    }
    try:
        if vectors is not None:
            n = source.total or 0
            ids = range(n) if source.ids is None else source.ids
            result = await client.upload(args.collection, ids, vectors, **options)
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


def _renamed(source: Source, name: str | None, path: Path) -> Any:
    """An array file's vectors, the unnamed ones under `--vector-name` if given."""
    if name is None:
        return source.vectors
    if isinstance(source.vectors, dict) and "" in source.vectors:
        rest = {k: v for k, v in source.vectors.items() if k != ""}
        return {name: source.vectors[""], **rest}
    if source.vectors is None or isinstance(source.vectors, dict):
        raise InvalidInput(
            f"--vector-name: {path} holds no unnamed vector array (only .npy files and .npz "
            "'vector' arrays are renamed; name vectors inside .jsonl and .parquet files)"
        )
    return {name: source.vectors}


async def _create_for(
    client: AsyncZoroClient, args: argparse.Namespace, source: Source, vectors: object
) -> None:
    """import --create: the vectors --vector/--sparse declare, else an array file's arrays
    (named ones included), else the file's unnamed vectors."""
    dense, sparse = _declarations(args, None)
    if dense is None and isinstance(vectors, dict):
        dense = {
            name: VectorParams(int(array.shape[-1]), args.distance, multivector=array.ndim == 3)
            for name, array in vectors.items()
        }
    if dense is not None:
        await client.create_collection(
            args.collection, vectors=dense, sparse_vectors=sparse, **_settings(args)
        )
        print(f"created {args.collection} ({_describe(dense, sparse)})")
        return
    if source.dimension is None:
        raise InvalidInput(
            f"{args.file}: cannot tell the vectors; give --vector/--sparse, or create the "
            "collection first"
        )
    await client.create_collection(args.collection, source.dimension, **_settings(args))
    print(f"created {args.collection} ({source.dimension} dimensions, {args.distance})")


async def _search(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    query_filter = _parse_filter(args.filter)
    options: dict[str, Any] = {
        "limit": args.limit,
        "with_vector": args.with_vector,
        "filter": query_filter,
        "using": args.using,
    }
    if args.negative is not None and args.recommend is None:
        raise InvalidInput("--negative: only with --recommend")
    if args.recommend is not None:
        hits = await client.recommend(
            args.collection,
            _parse_ids(args.recommend),  # type: ignore[arg-type]  # checked by the client
            [] if args.negative is None else _parse_ids(args.negative),  # type: ignore[arg-type]
            strategy=args.strategy,
            **options,
        )
    elif args.vector is not None or args.sparse is not None:
        query = _parse_vector(args.vector) if args.sparse is None else _parse_sparse(args.sparse)
        hits = await client.search(args.collection, query, **options)
    elif args.id is not None:
        hits = await client.search_by_id(args.collection, _parse_id(args.id), **options)
    else:
        hits = await client.search_text(
            args.collection, args.text, limit=args.limit, filter=query_filter, using=args.using
        )
    if args.json:
        rows = [
            {"id": h.id, "score": h.score, "payload": h.payload, "vector": _vector_json(h)}
            for h in hits
        ]
        print(orjson.dumps(rows).decode())
        return 0
    for hit in hits:
        payload = "" if hit.payload is None else orjson.dumps(hit.payload).decode()
        print(f"{hit.id}\t{hit.score:.6g}\t{payload}")
    return 0


def _vector_json(point: Record | ScoredPoint) -> object:
    """A point's vectors as Qdrant writes them: bare when unnamed, else {name: vector} (a
    SparseVector dataclass encodes as its fields, a multivector as a list of rows)."""
    return point.vector if point.vectors is None else point.vectors


async def _count(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    print(await client.count(args.collection, _parse_filter(args.filter), exact=not args.approx))
    return 0


async def _scroll(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    limit = args.limit
    if limit is not None and limit < 1:
        raise InvalidInput("--limit: must be at least 1")
    if args.order_by is not None:
        return await _scroll_ordered(client, args)
    if args.desc:
        raise InvalidInput("--desc: only with --order-by")
    page_size = args.page_size if limit is None else min(args.page_size, limit)
    points = client.scroll(
        args.collection,
        page_size=page_size,
        offset=None if args.offset is None else _parse_id(args.offset),
        filter=_parse_filter(args.filter),
        with_payload=not args.no_payload,
        with_vector=args.with_vector,
    )
    printed = 0
    async for point in points:
        row: dict[str, Any] = {"id": point.id}
        if point.payload is not None:
            row["payload"] = point.payload
        if point.vector is not None or point.vectors is not None:
            row["vector"] = _vector_json(point)
        sys.stdout.write(orjson.dumps(row).decode() + "\n")
        printed += 1
        if printed == limit:
            break
    return 0


async def _scroll_ordered(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    """One page in payload order (order_by has no next page)."""
    if args.offset is not None:
        raise InvalidInput("--offset: not with --order-by")
    page = await client.scroll_page(
        args.collection,
        limit=args.page_size if args.limit is None else args.limit,
        filter=_parse_filter(args.filter),
        with_payload=not args.no_payload,
        with_vector=args.with_vector,
        order_by=order_by(args.order_by, descending=args.desc),
    )
    for point in page.points:
        row: dict[str, Any] = {"id": point.id, "order_value": point.order_value}
        if point.payload is not None:
            row["payload"] = point.payload
        if point.vector is not None or point.vectors is not None:
            row["vector"] = _vector_json(point)
        sys.stdout.write(orjson.dumps(row).decode() + "\n")
    return 0


async def _delete_points(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    if args.ids is not None:
        result = await client.delete(args.collection, _parse_ids(args.ids))
    else:
        result = await client.delete(args.collection, filter=_parse_filter(args.filter))
    print(f"deleted from {args.collection} (operation {result.operation_id}, {result.status})")
    return 0


async def _index_create(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    schema: str | dict[str, Any] = args.schema
    if args.schema.lstrip().startswith("{"):
        try:
            schema = orjson.loads(args.schema)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(f"schema: not JSON ({exc})") from None
    result = await client.create_payload_index(
        args.collection, args.field, schema, wait=not args.no_wait
    )
    state = "declared" if args.no_wait else "built"
    print(f"index on {args.field} ({args.schema}) {state} in {args.collection} ({result.status})")
    return 0


async def _index_delete(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    await client.delete_payload_index(args.collection, args.field)
    print(f"index on {args.field} dropped from {args.collection}")
    return 0


async def _payload(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    ids = None if args.ids is None else _parse_ids(args.ids)
    where: dict[str, Any] = {"filter": _parse_filter(args.filter)}
    if args.action == "set":
        value = _json_argument(args.payload, "payload")
        result = await client.set_payload(args.collection, value, ids, key=args.key, **where)
    elif args.action == "overwrite":
        value = _json_argument(args.payload, "payload")
        result = await client.overwrite_payload(args.collection, value, ids, **where)
    elif args.action == "delete":
        keys = [k.strip() for k in args.keys.split(",") if k.strip()]
        result = await client.delete_payload(args.collection, keys, ids, **where)
    else:
        result = await client.clear_payload(args.collection, ids, **where)
    print(f"payload {args.action} in {args.collection} ({result.status})")
    return 0


async def _batch(client: AsyncZoroClient, args: argparse.Namespace) -> int:
    value = _json_argument(args.operations, "operations")
    if isinstance(value, dict):
        value = value.get("operations")
    if not isinstance(value, list):
        raise InvalidInput('operations: a JSON list of operations, or {"operations": [...]}')
    results = await client.batch_update(args.collection, value)
    print(f"{len(results)} operations applied to {args.collection}")
    return 0


def _json_argument(text: str, what: str) -> Any:
    """A JSON argument given inline or as @FILE."""
    where = what
    if text.startswith("@"):
        where = text[1:]
        try:
            text = Path(where).read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"{what} {where}: {exc.strerror or exc}") from None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"{where}: not JSON ({exc})") from None


def _parse_filter(text: str | None) -> dict[str, Any] | None:
    """--filter's JSON (inline, or @FILE); the client checks its shape, the server the rest."""
    if text is None:
        return None
    value = _json_argument(text, "--filter")
    if not isinstance(value, dict):
        where = text[1:] if text.startswith("@") else "--filter"
        raise InvalidInput(f"{where}: a filter is a JSON object, e.g. " + _FILTER_EXAMPLE)
    return value


_FILTER_EXAMPLE = '{"must": [{"key": "lang", "match": {"value": "en"}}]}'


def _parse_id(text: str) -> object:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() else text


def _parse_ids(text: str) -> list[object]:
    text = text.strip()
    if text.startswith("["):
        try:
            ids = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise InvalidInput(f"--ids {text[:40]!r}: not a JSON list") from None
        if not isinstance(ids, list):
            raise InvalidInput("--ids: give a JSON list or comma-separated ids")
        return ids
    return [_parse_id(part) for part in text.split(",") if part.strip()]


def _parse_vector(text: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Numbers, comma-separated or a JSON list; a JSON list of rows is a multivector."""
    text = text.strip()
    try:
        if text.startswith("["):
            return np.asarray(orjson.loads(text), dtype=np.float64)
        return np.asarray([float(x) for x in text.split(",") if x.strip()], dtype=np.float64)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise InvalidInput(
            f"--vector {text[:40]!r}: give numbers, e.g. 0.1,0.2,0.3 (or a JSON list of rows "
            "for a multivector)"
        ) from None


def _parse_sparse(text: str) -> dict[str, Any]:
    """--sparse: INDEX:VALUE pairs, comma-separated, or Qdrant's JSON object."""
    text = text.strip()
    hint = f'--sparse {text[:40]!r}: give INDEX:VALUE pairs ("3:0.5,17:1") or JSON'
    if text.startswith("{"):
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise InvalidInput(f"{hint} (not JSON)") from None
        if not isinstance(value, dict):
            raise InvalidInput(hint)
        return value
    indices: list[int] = []
    values: list[float] = []
    for pair in filter(None, (p.strip() for p in text.split(","))):
        index, colon, number = pair.partition(":")
        try:
            if not colon:
                raise ValueError(pair)
            indices.append(int(index))
            values.append(float(number))
        except ValueError:
            raise InvalidInput(f"{hint}; {pair!r} is not INDEX:VALUE") from None
    return {"indices": indices, "values": values}


_HANDLERS: dict[str, Callable[[AsyncZoroClient, argparse.Namespace], Awaitable[int]]] = {
    "payload set": _payload,
    "payload overwrite": _payload,
    "payload delete": _payload,
    "payload clear": _payload,
    "batch": _batch,
    "collections list": _list,
    "collections create": _create,
    "collections info": _info,
    "collections delete": _delete,
    "import": _import,
    "search": _search,
    "groups": _groups,
    "facet": _facet,
    "matrix": _matrix,
    "count": _count,
    "scroll": _scroll,
    "delete-points": _delete_points,
    "index create": _index_create,
    "index delete": _index_delete,
    **admin.HANDLERS,
    **snapshot_commands.HANDLERS,
}
