"""The `zoro` command: `zoro serve` starts the server; the admin commands (collections, import,
search, count, scroll, delete-points, index) talk to a running one through the client
(zoro/client/commands.py)."""

from __future__ import annotations

import argparse
import dataclasses
import functools
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
    _serve_options(serve)
    env = os.environ.get
    serve.add_argument(
        "--workers",
        default=int(env("ZORO_WORKERS", "0")),
        type=int,
        help="worker processes: one owns the collections, the others serve reads from "
        "replicas (docs/workers.md); 0 (the default): one per core; 1: one process",
    )
    # a worker process, started by `zoro serve --workers N` (zoro/http/workers.py)
    worker = commands.add_parser("worker")
    _serve_options(worker)
    for name in ("--worker-index", "--listen-fd", "--lock-fd", "--parent-pid"):
        worker.add_argument(name, type=int, required=True)
    worker.add_argument("--run-dir", type=Path, required=True)
    add_commands(commands)
    return parser


def _serve_options(serve: argparse.ArgumentParser) -> None:
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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "worker":
        return _worker(args)
    return run_command(args)


def _settings(args: argparse.Namespace) -> Settings:
    """Raises ValueError for a bad --set."""
    server = ServerSettings(
        host=args.host,
        port=args.port,
        api_key=args.api_key or None,
        max_body_bytes=args.max_body_mb * 1024 * 1024,
    )
    return with_overrides(dataclasses.replace(Settings(), server=server), args.overrides)


def _worker_args(args: argparse.Namespace) -> list[str]:
    """The serve options a worker process takes (the API key goes in its environment)."""
    out = [
        "--data-dir", str(args.data_dir.resolve()),
        "--host", args.host,
        "--port", str(args.port),
        "--max-body-mb", str(args.max_body_mb),
        "--log-level", args.log_level,
    ]  # fmt: skip
    for assignment in args.overrides:
        out += ["--set", assignment]
    return out


def _worker(args: argparse.Namespace) -> int:
    import trio

    from zoro.dirlock import DataDirLock
    from zoro.http.server import serve
    from zoro.http.workers import die_with_parent, worker_claim

    die_with_parent(args.parent_pid)
    index = args.worker_index
    logging.basicConfig(
        level=args.log_level.upper(),
        format=f"%(asctime)s %(levelname)s [worker {index}] %(name)s: %(message)s",
    )
    settings = _settings(args)
    data_dir = args.data_dir.resolve()
    lock = DataDirLock(data_dir, args.lock_fd)
    claimed = worker_claim(index, args.run_dir, settings, args.listen_fd, lock)
    role = "owner" if index == 0 else "follower"
    logging.getLogger("zoro").info("worker %d (%s) pid %d", index, role, os.getpid())
    trio.run(functools.partial(serve, worker=index, run_dir=args.run_dir), data_dir,
             settings, claimed)  # fmt: skip
    return 0


def _serve(args: argparse.Namespace) -> int:
    import trio

    from zoro.http.server import StartupRefused, claim, serve

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = _settings(args)
    except ValueError as exc:
        print(f"zoro serve: --set {exc}", file=sys.stderr)
        return 2
    data_dir = args.data_dir.resolve()
    try:
        claimed = claim(data_dir, settings)
    except StartupRefused as exc:
        logging.getLogger("zoro").error("not starting: %s", exc)
        return 1
    workers = args.workers if args.workers > 0 else (os.cpu_count() or 1)
    logging.getLogger("zoro").info(
        "zoro-db %s serving %s on http://%s:%d (pid %d, %d worker(s))",
        __version__, data_dir, args.host, args.port, os.getpid(), workers,
    )  # fmt: skip
    if workers == 1:
        trio.run(serve, data_dir, settings, claimed)
        return 0
    from zoro.http.workers import Supervisor

    if args.api_key:
        os.environ["ZORO_API_KEY"] = args.api_key  # for the workers, not on their command line
    return Supervisor(data_dir, workers, claimed, _worker_args(args)).run()


if __name__ == "__main__":
    sys.exit(main())
