"""Serve the app with hypercorn's trio worker, with graceful shutdown on SIGINT/SIGTERM.

First signal: stop accepting, let in-flight requests finish (bounded by graceful_timeout_s), then
the lifespan shutdown closes every actor, which drains its mailbox and checkpoints. Second signal:
exit at once; the WAL already holds every acknowledged write.
"""

from __future__ import annotations

import logging
import os
import signal
from typing import TYPE_CHECKING

import trio
from hypercorn.config import Config
from hypercorn.trio import serve as hypercorn_serve

from zoro.http.app import ZoroApp

if TYPE_CHECKING:
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


async def serve(data_dir: Path, settings: Settings) -> None:
    app = ZoroApp(data_dir, settings)
    shutdown = trio.Event()

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
        await hypercorn_serve(
            app,
            hypercorn_config(settings),
            shutdown_trigger=shutdown.wait,
        )
        nursery.cancel_scope.cancel()
    log.info("stopped")
