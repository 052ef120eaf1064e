"""The ASGI application: a quart-trio app serving every route of the route table, with a lean
path in front of it for the hot routes.

Why the lean path: a Quart request costs a nursery, two tasks, a Request and a Response object;
for a search answered in well under a millisecond that overhead is most of the time spent. The
lean path reads the body and writes the answer with raw ASGI messages and calls the same
`Server.respond` as the Quart views, so behaviour (auth, envelope, errors, metrics) is identical.
`lean_routes=frozenset()` serves everything through Quart (the benchmarks compare both).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from quart import Response, request
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from zoro.errors import PayloadTooLarge, ZoroError
from zoro.http import codec
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
    from pathlib import Path

    from hypercorn.typing import ASGIReceiveCallable as Receive
    from hypercorn.typing import ASGISendCallable as Send
    from hypercorn.typing import (
        HTTPResponseBodyEvent,
        HTTPResponseStartEvent,
        HTTPScope,
        Scope,
    )

    from zoro.dirlock import DataDirLock
    from zoro.settings import Settings

log = logging.getLogger(__name__)

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


class ZoroApp:
    """The ASGI callable handed to hypercorn."""

    def __init__(
        self,
        data_dir: Path,
        settings: Settings,
        *,
        lean_routes: frozenset[str] = HOT_ROUTES,
        lock: DataDirLock | None = None,
    ) -> None:
        """`lock`: the data directory's lock when the caller took it already (else the
        collection manager takes it when it starts)."""
        context = Context.open(data_dir, settings, lock=lock)
        self.manager = context.manager
        self.server = Server(context, Metrics(), settings.server.api_key)
        self.max_body = settings.server.max_body_bytes
        self.lean_routes = lean_routes
        self.quart = _quart_app(self)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            method, path = scope["method"], scope["path"]
            found = match(method, path)
            if found is not None and found[0].name in self.lean_routes:
                await self._lean(found[0], found[1], scope, receive, send)
                return
            # HEAD: Quart answers it for every GET route
            if found is None and not (method == "HEAD" and match("GET", path)):
                await self._unserved(scope, send)
                return
        await self.quart(scope, receive, send)

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
        await _send(send, status, extra, payload)

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
            call = Call(self.server, params, args, body)
            status, extra, payload = await self.server.respond(route, call, headers)
        await _send(send, status, extra, payload)


def _headers(scope: HTTPScope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": headers,
        "trailers": False,
    }
    await send(start)
    body_event: HTTPResponseBodyEvent = {
        "type": "http.response.body",
        "body": body,
        "more_body": False,
    }
    await send(body_event)


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

    @quart.after_serving
    async def stop() -> None:
        await manager.close()

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
        call = Call(server, params, request.args.to_dict(), body)
        headers = {k.lower(): v for k, v in request.headers.items()}
        status, extra, payload = await server.respond(route, call, headers)
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
