"""The route table: every REST route once, with its handler. Both the Quart app and the lean path
for hot routes (see app.py) serve from this table through `respond`, so auth, the envelope,
error mapping and metrics are written once."""

from __future__ import annotations

import hmac
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from zoro import __version__
from zoro.errors import BadRequest, Forbidden, NotFound, Unauthorized, Unavailable, ZoroError
from zoro.http import codec
from zoro.http.metrics import Metrics
from zoro.services import (
    Context,
    collections,
    payload_updates,
    points,
    search,
    vector_updates,
)

log = logging.getLogger(__name__)

# The Qdrant REST API level served (qdrant-client accepts a server within one minor version).
QDRANT_API_VERSION = "1.20.0"

JSON = [(b"content-type", b"application/json")]


@dataclass(slots=True)
class Call:
    """One request as the handlers see it."""

    server: Server
    params: Mapping[str, str]
    args: Mapping[str, str]
    body: bytes

    @property
    def ctx(self) -> Context:
        return self.server.ctx

    def json(self) -> Any:
        return codec.parse(self.body)

    def flag(self, name: str, default: bool) -> bool:
        value = self.args.get(name)
        if value is None:
            return default
        if value.lower() in ("true", "1", ""):
            return True
        if value.lower() in ("false", "0"):
            return False
        raise BadRequest(f"query parameter {name}: use true or false")


Handler = Callable[[Call], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str  # with {name}-style parameters
    name: str
    handler: Handler
    enveloped: bool = True  # False: the handler returns (content type, bytes) as they are
    public: bool = False  # served without the API key (health checks)
    pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.path)
        object.__setattr__(self, "pattern", re.compile(f"^{regex}$"))


@dataclass(slots=True)
class Server:
    """What the routes share: the service context, metrics, readiness and the API key."""

    ctx: Context
    metrics: Metrics = field(default_factory=Metrics)
    api_key: str | None = None

    def authorize(self, headers: Mapping[str, str]) -> None:
        if self.api_key is None:
            return
        given = headers.get("api-key")
        if given is None:
            auth = headers.get("authorization", "")
            given = auth[7:] if auth.lower().startswith("bearer ") else None
        if given is None:
            raise Unauthorized("Must provide an API key or an Authorization bearer token")
        if not hmac.compare_digest(given.encode(), self.api_key.encode()):
            raise Forbidden("Invalid API key or token")

    async def respond(
        self, route: Route, call: Call, headers: Mapping[str, str]
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Run one route: auth, handler, envelope, error mapping, metrics."""
        started = time.perf_counter()
        status, extra = 200, JSON
        try:
            if not route.public:
                self.authorize(headers)
            result = await route.handler(call)
            if route.enveloped:
                body = codec.ok(result, time.perf_counter() - started)
            else:
                content_type, body = result
                extra = [(b"content-type", content_type)]
        except ZoroError as exc:
            status, extra, body = error_response(exc, time.perf_counter() - started)
        except Exception as exc:
            log.exception("unexpected error on %s %s", route.method, route.path)
            status, extra, body = (
                500,
                JSON,
                codec.error(
                    f"Service internal error: {type(exc).__name__}", time.perf_counter() - started
                ),
            )
        self.metrics.observe(route.name, status, time.perf_counter() - started)
        return status, extra, body


def error_response(
    exc: ZoroError, elapsed_s: float
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    headers = list(JSON)
    if exc.retry_after_s is not None:
        headers.append((b"retry-after", str(max(1, round(exc.retry_after_s))).encode()))
    if exc.status >= 500 and exc.status != 503:
        log.error("%s", exc.message)
    return exc.status, headers, codec.error(exc.message, elapsed_s)


def not_found(path: str) -> ZoroError:
    return NotFound(f"Not found: no route for {path}")


# ---------------------------------------------------------------------------- handlers


async def _root(call: Call) -> Any:
    return b"application/json", codec.plain(
        {
            "title": "zoro-db - vector search engine (Qdrant-compatible REST API)",
            "version": QDRANT_API_VERSION,
            "commit": None,
            "zoro_version": __version__,
            "qdrant_api": QDRANT_API_VERSION,
        }
    )


async def _healthz(call: Call) -> Any:
    return b"text/plain", b"healthz check passed"


async def _readyz(call: Call) -> Any:
    statuses = call.ctx.manager.statuses()
    recovering = [s.name for s in statuses if s.state.value == "recovering"]
    failed = {s.name: s.failure for s in statuses if s.state.value == "failed"}
    if recovering:
        raise Unavailable(f"Not ready: still recovering {', '.join(recovering)}")
    return b"application/json", codec.plain({"ready": True, "failed": failed})


async def _metrics(call: Call) -> Any:
    return b"text/plain; version=0.0.4", call.server.metrics.render(call.ctx).encode()


async def _openapi(call: Call) -> Any:
    from zoro.http.openapi import document  # it reads ROUTES, defined below

    return b"application/json", codec.plain(document())


async def _list_collections(call: Call) -> Any:
    return collections.list_all(call.ctx)


async def _get_collection(call: Call) -> Any:
    return collections.info(call.ctx, call.params["name"])


async def _collection_exists(call: Call) -> Any:
    return collections.exists(call.ctx, call.params["name"])


async def _create_collection(call: Call) -> Any:
    return await collections.create(call.ctx, call.params["name"], call.json())


async def _delete_collection(call: Call) -> Any:
    return await collections.delete(call.ctx, call.params["name"])


async def _upsert(call: Call) -> Any:
    return await points.upsert(
        call.ctx, call.params["name"], call.json(), wait=call.flag("wait", False)
    )


async def _delete_points(call: Call) -> Any:
    return await points.delete(
        call.ctx, call.params["name"], call.json(), wait=call.flag("wait", False)
    )


async def _retrieve(call: Call) -> Any:
    return points.retrieve(call.ctx, call.params["name"], call.json())


async def _get_point(call: Call) -> Any:
    return points.get_point(call.ctx, call.params["name"], call.params["id"])


async def _scroll(call: Call) -> Any:
    return await points.scroll(call.ctx, call.params["name"], call.json())


async def _count(call: Call) -> Any:
    return await points.count(call.ctx, call.params["name"], call.json())


async def _create_index(call: Call) -> Any:
    return await collections.create_payload_index(
        call.ctx, call.params["name"], call.json(), wait=call.flag("wait", False)
    )


async def _delete_index(call: Call) -> Any:
    return await collections.delete_payload_index(
        call.ctx, call.params["name"], call.params["field"], wait=call.flag("wait", False)
    )


async def _update_vectors(call: Call) -> Any:
    return await vector_updates.update_vectors(
        call.ctx, call.params["name"], call.json(), wait=call.flag("wait", False)
    )


async def _delete_vectors(call: Call) -> Any:
    return await vector_updates.delete_vectors(
        call.ctx, call.params["name"], call.json(), wait=call.flag("wait", False)
    )


async def _create_vector_name(call: Call) -> Any:
    return await vector_updates.create_vector_name(
        call.ctx,
        call.params["name"],
        call.params["vector"],
        call.json(),
        wait=call.flag("wait", True),
    )


async def _delete_vector_name(call: Call) -> Any:
    return await vector_updates.delete_vector_name(
        call.ctx, call.params["name"], call.params["vector"], wait=call.flag("wait", True)
    )


# --- payload and batch updates (issue 13)


def _updating(
    service: Callable[..., Awaitable[Any]],
) -> Handler:
    """A handler for a write that takes a body and `?wait=` (false by default, as Qdrant)."""

    async def handler(call: Call) -> Any:
        return await service(
            call.ctx, call.params["name"], call.json(), wait=call.flag("wait", False)
        )

    return handler


_set_payload = _updating(payload_updates.set_payload)
_overwrite_payload = _updating(payload_updates.overwrite_payload)
_delete_payload = _updating(payload_updates.delete_payload)
_clear_payload = _updating(payload_updates.clear_payload)
_batch_update = _updating(payload_updates.batch_update)


async def _query(call: Call) -> Any:
    return await search.query(call.ctx, call.params["name"], call.json())


async def _query_batch(call: Call) -> Any:
    return await search.query_batch(call.ctx, call.params["name"], call.json())


async def _search(call: Call) -> Any:
    return await search.search(call.ctx, call.params["name"], call.json())


async def _search_batch(call: Call) -> Any:
    return await search.search_batch(call.ctx, call.params["name"], call.json())


C = "/collections/{name}"
ROUTES: tuple[Route, ...] = (
    Route("GET", "/", "root", _root, enveloped=False, public=True),
    Route("GET", "/healthz", "healthz", _healthz, enveloped=False, public=True),
    Route("GET", "/livez", "livez", _healthz, enveloped=False, public=True),
    Route("GET", "/readyz", "readyz", _readyz, enveloped=False, public=True),
    Route("GET", "/metrics", "metrics", _metrics, enveloped=False),
    Route("GET", "/openapi.json", "openapi", _openapi, enveloped=False, public=True),
    Route("GET", "/collections", "list_collections", _list_collections),
    Route("GET", C, "get_collection", _get_collection),
    Route("PUT", C, "create_collection", _create_collection),
    Route("DELETE", C, "delete_collection", _delete_collection),
    Route("GET", C + "/exists", "collection_exists", _collection_exists),
    Route("PUT", C + "/index", "create_field_index", _create_index),
    Route("DELETE", C + "/index/{field}", "delete_field_index", _delete_index),
    Route("PUT", C + "/points", "upsert_points", _upsert),
    Route("POST", C + "/points", "retrieve_points", _retrieve),
    Route("GET", C + "/points/{id}", "get_point", _get_point),
    Route("POST", C + "/points/delete", "delete_points", _delete_points),
    Route("PUT", C + "/points/vectors", "update_vectors", _update_vectors),
    Route("POST", C + "/points/vectors/delete", "delete_vectors", _delete_vectors),
    Route("PUT", C + "/vectors/{vector}", "create_vector_name", _create_vector_name),
    Route("DELETE", C + "/vectors/{vector}", "delete_vector_name", _delete_vector_name),
    Route("POST", C + "/points/scroll", "scroll_points", _scroll),
    Route("POST", C + "/points/count", "count_points", _count),
    Route("POST", C + "/points/query", "query_points", _query),
    Route("POST", C + "/points/query/batch", "query_batch_points", _query_batch),
    Route("POST", C + "/points/search", "search_points", _search),
    Route("POST", C + "/points/search/batch", "search_batch_points", _search_batch),
    # payload and batch updates (issue 13)
    Route("POST", C + "/points/payload", "set_payload", _set_payload),
    Route("PUT", C + "/points/payload", "overwrite_payload", _overwrite_payload),
    Route("POST", C + "/points/payload/delete", "delete_payload", _delete_payload),
    Route("POST", C + "/points/payload/clear", "clear_payload", _clear_payload),
    Route("POST", C + "/points/batch", "batch_update", _batch_update),
)


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for a request, or None. (A handful of regexes: cheap next to JSON parsing.)"""
    for route in ROUTES:
        if route.method == method:
            found = route.pattern.match(path)
            if found:
                return route, found.groupdict()
    return None
