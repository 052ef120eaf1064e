"""Serve the app with hypercorn's trio worker, with graceful shutdown on SIGINT/SIGTERM.

Start-up order (`claim`, before the event loop starts): bind the listening socket, then lock the
data directory, and only then open anything in it. A port clash therefore fails before any file
is touched, and so does a second server on a directory that another one owns; neither can
replay or cut the owner's WAL. The port is open from then on: /healthz answers while
collections recover.

First signal: stop accepting, let in-flight requests finish (bounded by graceful_timeout_s), then
the lifespan shutdown closes every actor, which drains its mailbox and checkpoints. Second signal:
exit at once; the WAL already holds every acknowledged write.
"""

from __future__ import annotations

import errno
import logging
import os
import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING

import trio
from hypercorn.config import Config, Sockets
from hypercorn.trio.run import worker_serve
from hypercorn.utils import wrap_app

from zoro.dirlock import DataDirLock
from zoro.errors import ZoroError
from zoro.http.app import ZoroApp
from zoro.http.forward import LinkServer

if TYPE_CHECKING:
    import socket
    from pathlib import Path

    from zoro.settings import Settings

log = logging.getLogger(__name__)


def hypercorn_config(settings: Settings) -> Config:
    config = Config()
    config.bind = [f"{settings.server.host}:{settings.server.port}"]
    config.graceful_timeout = settings.server.graceful_timeout_s
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.keep_alive_timeout = 75
    # hypercorn closes a connection after 1,000 requests by default: a reconnect per 1,000
    # requests for busy clients, and broken streams for HTTP/2 clients.
    config.keep_alive_max_requests = 10_000_000
    return config


class StartupRefused(Exception):
    """The server cannot start: the port is taken or the data directory is owned."""


@dataclass(frozen=True, slots=True)
class Claim:
    """What a server holds before it reads its data: the bound sockets and the lock."""

    config: Config
    sockets: Sockets
    lock: DataDirLock
    # the owner worker's local socket for its followers' requests (zoro.http.forward)
    link: socket.socket | None = None

    def release(self) -> None:
        for sock in self.sockets.insecure_sockets:
            sock.close()
        if self.link is not None:
            self.link.close()
        self.lock.release()


def claim(data_dir: Path, settings: Settings) -> Claim:
    """Bind the port, then lock the data directory; touch nothing else (blocking, at start-up).

    Raises StartupRefused with a message for a human: the address is in use or cannot be bound,
    or another process owns the directory (named with its PID).
    """
    config = hypercorn_config(settings)
    where = f"{settings.server.host}:{settings.server.port}"
    try:
        sockets = config.create_sockets()
        for sock in sockets.insecure_sockets:
            sock.listen(config.backlog)
    except OSError as exc:
        why = "address already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise StartupRefused(f"cannot listen on {where}: {why or exc}") from exc
    try:
        lock = DataDirLock.acquire(data_dir)
    except ZoroError as exc:
        for sock in sockets.insecure_sockets:
            sock.close()
        raise StartupRefused(exc.message) from exc
    return Claim(config, sockets, lock)


async def serve(
    data_dir: Path,
    settings: Settings,
    claimed: Claim | None = None,
    *,
    worker: int | None = None,
    run_dir: Path | None = None,
) -> None:
    """Serve until a signal; `claimed`: the sockets and lock from `claim` (made here if None).
    A worker process (zoro.http.workers): `worker` its number (0: the owner, which publishes
    its boards in `run_dir`; any other: a follower of the owner there)."""
    claimed = claimed or claim(data_dir, settings)
    owner_socket = None
    if worker is not None and worker > 0:
        assert run_dir is not None
        owner_socket = run_dir / "owner.sock"
    try:
        app = ZoroApp(
            data_dir,
            settings,
            lock=claimed.lock,
            run_dir=run_dir,
            owner_socket=owner_socket,
            worker=worker,
        )
        await _serve(app, claimed)
    finally:
        claimed.release()


async def _serve(app: ZoroApp, claimed: Claim) -> None:
    shutdown = trio.Event()
    link = None if claimed.link is None else LinkServer(app, claimed.link)

    async def serve_link() -> None:
        assert link is not None
        await app.serving.wait()
        await link.serve()

    async def stopping() -> None:
        """hypercorn's shutdown trigger: with a link, its requests under way are answered
        before hypercorn's own drain and the lifespan shutdown close the actors."""
        await shutdown.wait()
        if link is not None:
            await link.drain(claimed.config.graceful_timeout)

    async def watch_signals() -> None:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                if shutdown.is_set():
                    log.warning("second signal: exiting at once (the WAL keeps acked writes)")
                    os._exit(128 + signum)
                log.info("signal %d: shutting down gracefully", signum)
                shutdown.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(watch_signals)
        if link is not None:
            nursery.start_soon(serve_link)
        await worker_serve(
            wrap_app(app, claimed.config.wsgi_max_body_size, "asgi"),
            claimed.config,
            sockets=claimed.sockets,
            shutdown_trigger=stopping,
        )
        nursery.cancel_scope.cancel()
    log.info("stopped")
