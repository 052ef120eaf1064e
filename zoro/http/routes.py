"""The route table: every REST route once, with its handler. Both the Quart app and the lean path
for hot routes (see app.py) serve from this table through `respond`, so auth, the envelope,
error mapping and metrics are written once."""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from zoro import __version__
from zoro.errors import (
    BadRequest,
    Forbidden,
    NotFound,
    NotSupported,
    RouteNotSupported,
    Unauthorized,
    Unavailable,
    ZoroError,
)
from zoro.http import codec
from zoro.http.metrics import Metrics
from zoro.services import (
    Context,
    aliases,
    collection_update,
    collections,
    facets,
    groups,
    issues,
    matrix,
    optimizations,
    payload_updates,
    points,
    recommend,
    search,
    snapshots,
    telemetry,
    vector_updates,
)
from zoro.wire import binary

if TYPE_CHECKING:
    from pathlib import Path

log = logging.getLogger(__name__)

# The Qdrant REST API level served (qdrant-client accepts a server within one minor version).
QDRANT_API_VERSION = "1.20.0"

JSON = [(b"content-type", b"application/json")]


@dataclass(slots=True)
class Call:
    """One request as the handlers see it. A streaming route's body is not read up front: its
    handler reads `stream` (chunks as they arrive) and `body` is empty."""

    server: Server
    params: Mapping[str, str]
    args: Mapping[str, str]
    body: bytes
    stream: AsyncIterator[bytes] | None = None
    content_type: str = ""

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
    # True: served on the raw ASGI path; the handler reads the body from `call.stream`, and a
    # non-enveloped one may answer (content type, Path): that file, sent in chunks
    streams: bool = False
    public: bool = False  # served without the API key (health checks)
    # A read: a follower worker (docs/workers.md) answers it from its replicas, after the read
    # barrier; every other route it forwards to the owner worker.
    reads: bool = False
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
    instance_id: str = field(default_factory=lambda: str(uuid.uuid4()))  # GET /telemetry's id
    started_at: float = field(default_factory=time.time)

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
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes | Path]:
        """Run one route: auth, handler, envelope, error mapping, metrics."""
        started = time.perf_counter()
        status, extra = 200, JSON
        body: bytes | Path
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
            self.metrics.note_error(route.name, status, exc.message)
        except Exception as exc:
            log.exception("unexpected error on %s %s", route.method, route.path)
            message = f"Service internal error: {type(exc).__name__}"
            status, extra, body = 500, JSON, codec.error(message, time.perf_counter() - started)
            self.metrics.note_error(route.name, status, message)
        self.metrics.observe(route.name, status, time.perf_counter() - started)
        return status, extra, body


def error_response(
    exc: ZoroError, elapsed_s: float
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    headers = list(JSON)
    if isinstance(exc, NotSupported):
        headers.append((b"allow", ", ".join(exc.allow).encode()))
    if exc.retry_after_s is not None:
        headers.append((b"retry-after", str(max(1, round(exc.retry_after_s))).encode()))
    if exc.status >= 500 and exc.status != 503:
        log.error("%s", exc.message)
    return exc.status, headers, codec.error(exc.message, elapsed_s)


def not_found(path: str) -> ZoroError:
    return NotFound(f"Not found: no route for {path}")


def no_route(method: str, path: str) -> ZoroError:
    """Why nothing serves `method path`: 405 with the methods Zoro serves there (Allow), 501
    for a route of Qdrant's that Zoro does not serve at all, else 404."""
    if any(pattern.match(path) for pattern in _UNSERVED_QDRANT):
        return RouteNotSupported(
            f"Zoro-DB does not support {method} {path}: a Qdrant route for distributed "
            "deployments, shards or quotas, which Zoro does not serve (one node)"
        )
    allow = tuple(sorted({r.method for r in ROUTES if r.pattern.match(path)}))
    if allow:
        return NotSupported(
            f"Zoro-DB does not support {method} {path}: it serves {', '.join(allow)} there",
            allow,
        )
    return not_found(path)


# Qdrant routes for what Zoro has no part of: cluster membership, shards, quotas.
_UNSERVED_QDRANT = tuple(
    re.compile(p)
    for p in (
        r"^/cluster(/.*)?$",
        r"^/collections/[^/]+/cluster$",
        r"^/collections/[^/]+/shards(/.*)?$",
        r"^/quotas$",
    )
)


# ---------------------------------------------------------------------------- handlers


async def _root(call: Call) -> Any:
    return b"application/json", codec.plain(
        {
            "title": "zoro-db - vector search engine (Qdrant-compatible REST API)",
            "version": QDRANT_API_VERSION,
            "commit": None,
            "zoro_version": __version__,
            "qdrant_api": QDRANT_API_VERSION,
            # what the client reads to send its uploads as binary bodies (docs/binary-points.md)
            "zoro_points_body": {"media_type": binary.MEDIA_TYPE, "versions": [binary.VERSION]},
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

    return b"application/json", codec.plain(document(call.ctx.limits))


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
    # Qdrant's `ordering` (weak, medium, strong) is accepted and means nothing on one node
    wait = call.flag("wait", False)
    if binary.is_binary(call.content_type):
        return await points.upsert_binary(call.ctx, call.params["name"], call.body, wait=wait)
    return await points.upsert(call.ctx, call.params["name"], call.json(), wait=wait)


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


# --- groups, facets and the distance matrix (zoro.services.groups, .facets, .matrix)


async def _query_groups(call: Call) -> Any:
    return await groups.query_groups(call.ctx, call.params["name"], call.json())


async def _search_groups(call: Call) -> Any:
    return await groups.search_groups(call.ctx, call.params["name"], call.json())


async def _facet(call: Call) -> Any:
    return await facets.facet(call.ctx, call.params["name"], call.json())


async def _matrix_pairs(call: Call) -> Any:
    return await matrix.pairs(call.ctx, call.params["name"], call.json())


async def _matrix_offsets(call: Call) -> Any:
    return await matrix.offsets(call.ctx, call.params["name"], call.json())


# -- collection-level API: aliases, update_collection, optimizations, telemetry, issues


async def _update_aliases(call: Call) -> Any:
    return await aliases.update(call.ctx, call.json())


async def _list_aliases(call: Call) -> Any:
    return aliases.list_all(call.ctx)


async def _collection_aliases(call: Call) -> Any:
    return aliases.of_collection(call.ctx, call.params["name"])


async def _update_collection(call: Call) -> Any:
    return await collection_update.update_collection(call.ctx, call.params["name"], call.json())


async def _optimizations(call: Call) -> Any:
    return optimizations.optimizations(
        call.ctx, call.params["name"], call.args.get("with"), call.args.get("completed_limit")
    )


async def _telemetry(call: Call) -> Any:
    server = call.server
    return telemetry.telemetry(
        call.ctx,
        instance_id=server.instance_id,
        app={"name": "zoro-db", "version": __version__, "startup": _iso(server.started_at)},
        requests=_request_figures(server.metrics),
        details_level=telemetry.parse_level(call.args.get("details_level")),
        anonymize=call.flag("anonymize", False),
    )


def _request_figures(metrics: Metrics) -> dict[str, dict[str, dict[str, Any]]]:
    """Qdrant's WebApiTelemetry.responses: "METHOD /path" -> status -> duration figures."""
    by_name = {
        r.name: f"{r.method} {r.path.replace('{name}', '{collection_name}')}" for r in ROUTES
    }
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for (name, status), answers in sorted(metrics.responses().items()):
        out.setdefault(by_name.get(name, name), {})[str(status)] = {
            "count": answers.count,
            "fail_count": answers.count if status >= 500 else 0,
            "avg_duration_micros": answers.total_s / answers.count * 1e6,
            "min_duration_micros": answers.min_s * 1e6,
            "max_duration_micros": answers.max_s * 1e6,
            "total_duration_micros": round(answers.total_s * 1e6),
            "last_responded": _iso(answers.last_at),
        }
    return out


def _iso(unix_s: float) -> str:
    return dt.datetime.fromtimestamp(unix_s, dt.UTC).isoformat().replace("+00:00", "Z")


async def _recent_errors(call: Call) -> Any:
    return {
        "errors": [
            {"time": _iso(e.at), "route": e.route, "status": e.status, "message": e.message}
            for e in call.server.metrics.recent_errors()
        ]
    }


async def _issues(call: Call) -> Any:
    return issues.report(call.ctx)


async def _clear_issues(call: Call) -> Any:
    return issues.clear(call.ctx)


# --- the older recommend and discover routes (queries by example) ---


async def _recommend(call: Call) -> Any:
    return await recommend.recommend(call.ctx, call.params["name"], call.json())


async def _recommend_batch(call: Call) -> Any:
    return await recommend.recommend_batch(call.ctx, call.params["name"], call.json())


async def _recommend_groups(call: Call) -> Any:
    return await recommend.recommend_groups(call.ctx, call.params["name"], call.json())


async def _compact(call: Call) -> Any:
    return await collections.compact(call.ctx, call.params["name"])


# --- snapshots (zoro.services.snapshots)


async def _create_snapshot(call: Call) -> Any:
    return await snapshots.create(call.ctx, call.params["name"])


async def _list_snapshots(call: Call) -> Any:
    return await snapshots.list_all(call.ctx, call.params["name"])


async def _get_snapshot(call: Call) -> Any:
    return snapshots.download(call.ctx, call.params["name"], call.params["snapshot"])


async def _upload_snapshot(call: Call) -> Any:
    assert call.stream is not None
    name, checksum = call.params["name"], call.args.get("checksum")
    return await snapshots.upload(call.ctx, name, call.stream, call.content_type, checksum)


async def _create_full_snapshot(call: Call) -> Any:
    return await snapshots.create_full(call.ctx)


async def _list_full_snapshots(call: Call) -> Any:
    return await snapshots.list_full(call.ctx)


async def _get_full_snapshot(call: Call) -> Any:
    return snapshots.download_full(call.ctx, call.params["snapshot"])


async def _delete_full_snapshot(call: Call) -> Any:
    return await snapshots.delete_full(call.ctx, call.params["snapshot"])


async def _upload_full_snapshot(call: Call) -> Any:
    assert call.stream is not None
    checksum = call.args.get("checksum")
    return await snapshots.upload_full(call.ctx, call.stream, call.content_type, checksum)


async def _delete_snapshot(call: Call) -> Any:
    return await snapshots.delete(call.ctx, call.params["name"], call.params["snapshot"])


async def _recover_snapshot(call: Call) -> Any:
    return await snapshots.recover(call.ctx, call.params["name"], call.json())


async def _discover(call: Call) -> Any:
    return await recommend.discover(call.ctx, call.params["name"], call.json())


async def _discover_batch(call: Call) -> Any:
    return await recommend.discover_batch(call.ctx, call.params["name"], call.json())


C = "/collections/{name}"
ROUTES: tuple[Route, ...] = (
    Route("GET", "/", "root", _root, enveloped=False, public=True, reads=True),
    Route("GET", "/healthz", "healthz", _healthz, enveloped=False, public=True, reads=True),
    Route("GET", "/livez", "livez", _healthz, enveloped=False, public=True, reads=True),
    Route("GET", "/readyz", "readyz", _readyz, enveloped=False, public=True, reads=True),
    Route("GET", "/metrics", "metrics", _metrics, enveloped=False, reads=True),
    Route("GET", "/openapi.json", "openapi", _openapi, enveloped=False, public=True, reads=True),
    Route("GET", "/collections", "list_collections", _list_collections, reads=True),
    Route("GET", C, "get_collection", _get_collection, reads=True),
    Route("PUT", C, "create_collection", _create_collection),
    Route("DELETE", C, "delete_collection", _delete_collection),
    Route("GET", C + "/exists", "collection_exists", _collection_exists, reads=True),
    Route("PUT", C + "/index", "create_field_index", _create_index),
    Route("DELETE", C + "/index/{field}", "delete_field_index", _delete_index),
    Route("PUT", C + "/points", "upsert_points", _upsert),
    Route("POST", C + "/points", "retrieve_points", _retrieve, reads=True),
    Route("GET", C + "/points/{id}", "get_point", _get_point, reads=True),
    Route("POST", C + "/points/delete", "delete_points", _delete_points),
    Route("PUT", C + "/points/vectors", "update_vectors", _update_vectors),
    Route("POST", C + "/points/vectors/delete", "delete_vectors", _delete_vectors),
    Route("PUT", C + "/vectors/{vector}", "create_vector_name", _create_vector_name),
    Route("DELETE", C + "/vectors/{vector}", "delete_vector_name", _delete_vector_name),
    Route("POST", C + "/points/scroll", "scroll_points", _scroll, reads=True),
    Route("POST", C + "/points/count", "count_points", _count, reads=True),
    Route("POST", C + "/points/query", "query_points", _query, reads=True),
    Route("POST", C + "/points/query/batch", "query_batch_points", _query_batch, reads=True),
    Route("POST", C + "/points/search", "search_points", _search, reads=True),
    Route("POST", C + "/points/search/batch", "search_batch_points", _search_batch, reads=True),
    # groups, facets and the distance matrix
    Route("POST", C + "/points/query/groups", "query_points_groups", _query_groups, reads=True),
    Route("POST", C + "/points/search/groups", "search_point_groups", _search_groups, reads=True),
    Route("POST", C + "/facet", "facet", _facet, reads=True),
    Route(
        "POST", C + "/points/search/matrix/pairs", "search_matrix_pairs", _matrix_pairs, reads=True
    ),
    Route(
        "POST",
        C + "/points/search/matrix/offsets",
        "search_matrix_offsets",
        _matrix_offsets,
        reads=True,
    ),
    # -- collection-level API: aliases, update_collection, optimizations, telemetry, issues
    Route("POST", "/collections/aliases", "update_aliases", _update_aliases),
    Route("GET", "/aliases", "get_aliases", _list_aliases, reads=True),
    Route("GET", C + "/aliases", "get_collection_aliases", _collection_aliases, reads=True),
    Route("PATCH", C, "update_collection", _update_collection),
    Route("GET", C + "/optimizations", "get_optimizations", _optimizations),
    Route("POST", C + "/compact", "compact_collection", _compact),
    Route("GET", "/telemetry", "telemetry", _telemetry),
    Route("GET", "/issues", "get_issues", _issues),
    Route("DELETE", "/issues", "clear_issues", _clear_issues),
    Route("GET", "/errors", "recent_errors", _recent_errors),  # Zoro's own (the dashboard)
    # queries by example: the older recommend and discover routes
    Route("POST", C + "/points/recommend", "recommend_points", _recommend, reads=True),
    Route(
        "POST",
        C + "/points/recommend/batch",
        "recommend_batch_points",
        _recommend_batch,
        reads=True,
    ),
    Route(
        "POST",
        C + "/points/recommend/groups",
        "recommend_point_groups",
        _recommend_groups,
        reads=True,
    ),
    Route("POST", C + "/points/discover", "discover_points", _discover, reads=True),
    Route(
        "POST", C + "/points/discover/batch", "discover_batch_points", _discover_batch, reads=True
    ),
    # payload and batch updates (issue 13)
    Route("POST", C + "/points/payload", "set_payload", _set_payload),
    Route("PUT", C + "/points/payload", "overwrite_payload", _overwrite_payload),
    Route("POST", C + "/points/payload/delete", "delete_payload", _delete_payload),
    Route("POST", C + "/points/payload/clear", "clear_payload", _clear_payload),
    Route("POST", C + "/points/batch", "batch_update", _batch_update),
    Route("POST", C + "/snapshots", "create_snapshot", _create_snapshot),
    Route("GET", C + "/snapshots", "list_snapshots", _list_snapshots),
    Route("PUT", C + "/snapshots/recover", "recover_snapshot", _recover_snapshot),
    Route("POST", C + "/snapshots/upload", "upload_snapshot", _upload_snapshot, streams=True),
    Route(
        "GET",
        C + "/snapshots/{snapshot}",
        "get_snapshot",
        _get_snapshot,
        enveloped=False,
        streams=True,
    ),
    Route("DELETE", C + "/snapshots/{snapshot}", "delete_snapshot", _delete_snapshot),
    # full-storage snapshots; the upload (restore) is Zoro's own
    Route("POST", "/snapshots", "create_full_snapshot", _create_full_snapshot),
    Route("GET", "/snapshots", "list_full_snapshots", _list_full_snapshots),
    Route("POST", "/snapshots/upload", "upload_full_snapshot", _upload_full_snapshot, streams=True),
    Route(
        "GET",
        "/snapshots/{snapshot}",
        "get_full_snapshot",
        _get_full_snapshot,
        enveloped=False,
        streams=True,
    ),
    Route("DELETE", "/snapshots/{snapshot}", "delete_full_snapshot", _delete_full_snapshot),
)


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for a request, or None. (A handful of regexes: cheap next to JSON parsing.)"""
    for route in ROUTES:
        if route.method == method:
            found = route.pattern.match(path)
            if found:
                return route, found.groupdict()
    return None
