"""The `zoro` command: `zoro serve` starts the server; the admin commands (collections, import,
search, count, scroll, delete-points, index) talk to a running one through the client
(zoro/client/commands.py)."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from pathlib import Path

from zoro import __version__
from zoro.client.commands import add_commands, run_command
from zoro.settings import ServerSettings, Settings, with_overrides


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zoro", description="Zoro-DB vector database")
    parser.add_argument("--version", action="version", version=f"zoro-db {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the server")
    env = os.environ.get
    serve.add_argument("--data-dir", default=env("ZORO_DATA_DIR", "./zoro-data"), type=Path)
    serve.add_argument("--host", default=env("ZORO_HOST", "127.0.0.1"))
    serve.add_argument("--port", default=int(env("ZORO_PORT", "6333")), type=int)
    serve.add_argument("--api-key", default=env("ZORO_API_KEY"))
    serve.add_argument(
        "--max-body-mb",
        default=int(env("ZORO_MAX_BODY_MB", "32")),
        type=int,
        help="largest request body accepted, in MiB",
    )
    serve.add_argument("--log-level", default=env("ZORO_LOG_LEVEL", "INFO"))
    serve.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="LAYER.FIELD=VALUE",
        help="override one setting of zoro/settings.py, as actor.checkpoint_interval_s=60 "
        "(repeatable)",
    )
    add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    return run_command(args)


def _serve(args: argparse.Namespace) -> int:
    import trio

    from zoro.http.server import StartupRefused, claim, serve

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    server = ServerSettings(
        host=args.host,
        port=args.port,
        api_key=args.api_key or None,
        max_body_bytes=args.max_body_mb * 1024 * 1024,
    )
    try:
        settings = with_overrides(dataclasses.replace(Settings(), server=server), args.overrides)
    except ValueError as exc:
        print(f"zoro serve: --set {exc}", file=sys.stderr)
        return 2
    data_dir = args.data_dir.resolve()
    try:
        claimed = claim(data_dir, settings)
    except StartupRefused as exc:
        logging.getLogger("zoro").error("not starting: %s", exc)
        return 1
    logging.getLogger("zoro").info(
        "zoro-db %s serving %s on http://%s:%d (pid %d)",
        __version__, data_dir, args.host, args.port, os.getpid(),
    )  # fmt: skip
    trio.run(serve, data_dir, settings, claimed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
