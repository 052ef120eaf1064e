"""The ASGI application: a quart-trio app serving every route of the route table, with a lean
path in front of it for the hot routes.

Why the lean path: a Quart request costs a nursery, two tasks, a Request and a Response object;
for a search answered in well under a millisecond that overhead is most of the time spent. The
lean path reads the body and writes the answer with raw ASGI messages and calls the same
`Server.respond` as the Quart views, so behaviour (auth, envelope, errors, metrics) is identical.
`lean_routes=frozenset()` serves everything through Quart (the benchmarks compare both).

Streaming routes (snapshot uploads and downloads, `Route.streams`) are served on the raw path
too: the handler reads the body chunk by chunk as it arrives, and a file answer is sent in
chunks, so neither is ever whole in memory and neither is bound by `max_body_bytes`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio
from quart import Response, request
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from zoro.errors import PayloadTooLarge, ZoroError, storage_error
from zoro.http import codec, dashboard
from zoro.http.asgi import body_event, send_whole, start_event
from zoro.http.forward import Forwarder, body_chunks
from zoro.http.metrics import Metrics
from zoro.http.routes import (
    ROUTES,
    Call,
    Route,
    Server,
    error_response,
    match,
    no_route,
    not_found,
)
from zoro.services import Context

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from hypercorn.typing import ASGIReceiveCallable as Receive
    from hypercorn.typing import ASGISendCallable as Send
    from hypercorn.typing import (
        HTTPScope,
        Scope,
    )

    from zoro.dirlock import DataDirLock
    from zoro.settings import Settings

log = logging.getLogger(__name__)

FILE_CHUNK = 1 << 20  # bytes per body message of a file answer

HOT_ROUTES = frozenset(
    {
        "query_points",
        "query_batch_points",
        "search_points",
        "search_batch_points",
        "upsert_points",
        "retrieve_points",
        "delete_points",
        "get_point",
    }
)

# Writes of points: forwarded by a follower worker with no catalog refresh after them (every
# other forwarded route may change the catalog or a payload index).
POINT_WRITES = frozenset(
    {
        "upsert_points",
        "delete_points",
        "update_vectors",
        "delete_vectors",
        "set_payload",
        "overwrite_payload",
        "delete_payload",
        "clear_payload",
        "batch_update",
    }
)
WORKER_HEADER = b"x-zoro-worker"  # which worker process took the connection (tests, benches)


class ZoroApp:
    """The ASGI callable handed to hypercorn."""

    def __init__(
        self,
        data_dir: Path,
        settings: Settings,
        *,
        lean_routes: frozenset[str] = HOT_ROUTES,
        lock: DataDirLock | None = None,
        run_dir: Path | None = None,
        owner_socket: Path | None = None,
        worker: int | None = None,
    ) -> None:
        """`lock`: the data directory's lock when the caller took it already (else the
        collection manager takes it when it starts). Worker processes (docs/workers.md):
        `run_dir` where the owner publishes its LSN boards; `owner_socket` given, this is a
        follower that follows the boards in `run_dir` and forwards what it does not serve
        there; `worker` its number, sent back in the x-zoro-worker header."""
        follower = owner_socket is not None
        context = Context.open(
            data_dir,
            settings,
            lock=lock,
            run_dir=None if follower else run_dir,
            follow_run_dir=run_dir if follower else None,
        )
        self.manager = context.manager
        self.server = Server(context, Metrics(), settings.server.api_key)
        self.max_body = settings.server.max_body_bytes
        self.lean_routes = lean_routes
        self.barrier_timeout_s = settings.server.read_barrier_timeout_s
        self.forwarder = Forwarder(owner_socket) if owner_socket is not None else None
        self.worker_tag = None if worker is None else str(worker).encode()
        self.serving = trio.Event()  # the lifespan started: the manager runs
        self.dashboard = dashboard.Dashboard(self.server.metrics)
        self.quart = _quart_app(self)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if self.worker_tag is not None:
                send = _tagged(send, self.worker_tag)
            method, path = scope["method"], scope["path"]
            if dashboard.owns(path):  # static files, the same in every worker
                await self.dashboard.serve(scope, send)
                return
            found = match(method, path)
            if self.forwarder is not None:
                if found is None or not found[0].reads:
                    await self._forward(self.forwarder, found, scope, receive, send)
                    return
                try:
                    await self._barrier(found[1])
                except ZoroError as exc:
                    await send_whole(send, *error_response(exc, 0.0))
                    return
            if found is not None and found[0].streams:
                await self._streamed(found[0], found[1], scope, receive, send)
                return
            if found is not None and found[0].name in self.lean_routes:
                await self._lean(found[0], found[1], scope, receive, send)
                return
            # HEAD: Quart answers it for every GET route
            if found is None and not (method == "HEAD" and match("GET", path)):
                await self._unserved(scope, send)
                return
        await self.quart(scope, receive, send)

    async def _barrier(self, params: dict[str, str]) -> None:
        """A follower's read barrier (docs/workers.md): whatever the owner acknowledged before
        this read is visible to it, or it is refused (503)."""
        name = params.get("name")
        if name is None:
            await self.manager.refresh_if_changed()
        else:
            await self.manager.caught_up(name, self.barrier_timeout_s)

    async def _forward(
        self,
        forwarder: Forwarder,
        found: tuple[Route, dict[str, str]] | None,
        scope: HTTPScope,
        receive: Receive,
        send: Send,
    ) -> None:
        async def settle(status: int) -> None:
            if status < 300 and (found is None or found[0].name not in POINT_WRITES):
                # an admin change: the catalog the owner wrote before answering, taken here
                # before the client hears of it
                await self.manager.refresh()

        try:
            await forwarder.forward(scope, receive, send, settle)
        except ZoroError as exc:  # the owner did not answer: nothing was sent yet
            await send_whole(send, *error_response(exc, 0.0))

    async def _unserved(self, scope: HTTPScope, send: Send) -> None:
        """No route serves the request: say why (routes.no_route), to a caller with the API
        key as to any other request, without reading the body."""
        try:
            self.server.authorize(_headers(scope))
            error = no_route(scope["method"], scope["path"])
        except ZoroError as exc:
            error = exc
        status, extra, payload = error_response(error, 0.0)
        self.server.metrics.observe("unserved", status, 0.0)
        await send_whole(send, status, extra, payload)

    async def _lean(
        self, route: Route, params: dict[str, str], scope: HTTPScope, receive: Receive, send: Send
    ) -> None:
        headers = _headers(scope)
        body = await _read_body(receive, headers, self.max_body)
        if body is None:
            status, extra, payload = error_response(_too_large(self.max_body), 0.0)
            self.server.metrics.observe(route.name, status, 0.0)
        else:
            args = _query_args(scope.get("query_string", b""))
            content_type = headers.get("content-type", "")
            call = Call(self.server, params, args, body, content_type=content_type)
            status, extra, answer = await self.server.respond(route, call, headers)
            assert isinstance(answer, bytes)  # a file answer comes only from a streaming route
            payload = answer
        await send_whole(send, status, extra, payload)

    async def _streamed(
        self, route: Route, params: dict[str, str], scope: HTTPScope, receive: Receive, send: Send
    ) -> None:
        headers = _headers(scope)
        args = _query_args(scope.get("query_string", b""))
        call = Call(
            self.server,
            params,
            args,
            b"",
            stream=body_chunks(receive),
            content_type=headers.get("content-type", ""),
        )
        status, extra, payload = await self.server.respond(route, call, headers)
        if isinstance(payload, Path):
            await _send_file(send, status, extra, payload)
        else:
            await send_whole(send, status, extra, payload)


async def _send_file(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], path: Path
) -> None:
    """A file as the answer, in chunks. Opened before the headers go out, so a file deleted
    meanwhile is still sent whole; one that cannot be opened answers its error instead."""
    try:
        file = await trio.open_file(path, "rb")
    except FileNotFoundError:
        await send_whole(send, *error_response(not_found(path.name), 0.0))
        return
    except OSError as exc:
        await send_whole(send, *error_response(storage_error(exc, f"reading {path.name}"), 0.0))
        return
    async with file:
        length = os.fstat(file.fileno()).st_size
        await send(start_event(status, [*headers, (b"content-length", str(length).encode())]))
        left = length
        while True:
            chunk = await file.read(min(FILE_CHUNK, left)) if left else b""
            left -= len(chunk)
            # a file cut short under us ends the body early: the client sees it is short
            more = bool(chunk) and left > 0
            await send(body_event(chunk, more=more))
            if not more:
                return


def _tagged(send: Send, tag: bytes) -> Send:
    """`send` with the worker's x-zoro-worker header on the answer (replacing the owner's on
    a forwarded one)."""

    async def tagged(message: Any) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message["headers"] if k.lower() != WORKER_HEADER]
            message = {**message, "headers": [*headers, (WORKER_HEADER, tag)]}
        await send(message)

    return tagged


def _headers(scope: HTTPScope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


async def _read_body(receive: Receive, headers: dict[str, str], limit: int) -> bytes | None:
    """The whole request body, or None as soon as it is known to exceed `limit`."""
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b""  # the client went away; nothing to answer
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _query_args(raw: bytes) -> dict[str, str]:
    if not raw:
        return {}
    from urllib.parse import parse_qsl

    return dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True))


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Payload too large: the request body exceeds {limit} bytes")


def _quart_app(app: ZoroApp) -> QuartTrio:
    quart = QuartTrio("zoro")
    quart.config["MAX_CONTENT_LENGTH"] = app.max_body
    quart.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    server, manager = app.server, app.manager

    @quart.before_serving
    async def start() -> None:
        await quart.nursery.start(manager.run)
        app.serving.set()

    @quart.after_serving
    async def stop() -> None:
        await manager.close()
        if app.forwarder is not None:
            await app.forwarder.aclose()

    for route in ROUTES:
        quart.add_url_rule(
            route.path.replace("{", "<").replace("}", ">"),
            endpoint=route.name,
            view_func=_view(server, route),
            methods=[route.method],
        )

    @quart.errorhandler(HTTPException)
    async def http_error(exc: HTTPException) -> Response:
        if isinstance(exc, RequestEntityTooLarge):
            status, headers, body = error_response(_too_large(app.max_body), 0.0)
        elif exc.code == 404:
            status, headers, body = error_response(not_found(request.path), 0.0)
        else:
            status = exc.code or 500
            headers, body = [], codec.error(f"{exc.name}: {exc.description}", 0.0)
        return _response(status, headers, body)

    return quart


def _view(server: Server, route: Route) -> Callable[..., Awaitable[Response]]:
    async def view(**params: str) -> Response:
        body = await request.get_data(cache=False)
        assert isinstance(body, bytes)
        headers = {k.lower(): v for k, v in request.headers.items()}
        content_type = headers.get("content-type", "")
        call = Call(server, params, request.args.to_dict(), body, content_type=content_type)
        status, extra, payload = await server.respond(route, call, headers)
        assert isinstance(payload, bytes)  # a file answer comes only from a streaming route
        return _response(status, extra, payload)

    view.__name__ = route.name
    return view


def _response(status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> Response:
    response = Response(body, status=status)
    for name, value in headers:
        response.headers[name.decode("latin-1")] = value.decode("latin-1")
    if not headers:
        response.headers["content-type"] = "application/json"
    return response
