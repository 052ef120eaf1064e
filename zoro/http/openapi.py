"""The OpenAPI 3.1 document for every route in the route table (GET /openapi.json): the
routes, their parameters and envelopes, around the request, result and component schemas of
zoro.wire (the same objects the services validate with)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from zoro import __version__
from zoro.http.routes import ROUTES, Route
from zoro.wire import binary
from zoro.wire.requests import body_schemas, components, request_schemas
from zoro.wire.results import ERROR, RESULTS

if TYPE_CHECKING:
    from zoro.settings import LimitSettings

_ERROR_RESPONSE = {
    "description": "error",
    "content": {"application/json": {"schema": ERROR}},
}

_WAITS = frozenset(
    {
        "upsert_points",
        "delete_points",
        "create_field_index",
        "delete_field_index",
        "update_vectors",
        "delete_vectors",
        "create_vector_name",
        "delete_vector_name",
        # payload and batch updates (issue 13)
        "set_payload",
        "overwrite_payload",
        "delete_payload",
        "clear_payload",
        "batch_update",
        # snapshots (issue 14): accepted; the answer always comes once it is done
        "create_snapshot",
        "delete_snapshot",
        "recover_snapshot",
    }
)


# query parameters other than `wait`, by route
_QUERIES: dict[str, list[tuple[str, dict[str, Any]]]] = {
    # -- collection-level API: optimizations, telemetry
    "get_optimizations": [
        ("with", {"type": "string", "description": "any of queued, completed, idle_segments"}),
        ("completed_limit", {"type": "integer", "minimum": 0}),
    ],
    "telemetry": [
        ("details_level", {"type": "integer", "minimum": 0}),
        ("anonymize", {"type": "boolean"}),
    ],
}


# Routes that also read a binary body (its Content-Type says so) -> its header's schema. Stated
# in an extension, not as a second requestBody media type: the layout is bytes no JSON Schema
# describes (docs/binary-points.md), and the JSON header is its one described part.
_BINARY_BODIES: Final = {"upsert_points": binary.SCHEMA}

# Routes whose request body may be left out (or sent as `null`), as Qdrant's are.
OPTIONAL_BODY: Final = frozenset(
    {"scroll_points", "count_points", "search_matrix_pairs", "search_matrix_offsets"}
)


def document(limits: LimitSettings) -> dict[str, Any]:
    """The document for a server with these limits (the schemas state them)."""
    requests = request_schemas(limits)
    headers = body_schemas(limits)
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        op = _operation(route, requests)
        if route.name in _BINARY_BODIES:
            op["x-zoro-binary-body"] = {
                "mediaType": binary.MEDIA_TYPE,
                "version": binary.VERSION,
                "description": (
                    f"The same upsert as {binary.MEDIA_TYPE}: a {binary.FRAME_SIZE}-byte frame "
                    "(magic ZPTS, version, flags, the JSON header's length, the vectors' "
                    "length), the JSON header, then one little-endian float32 matrix per "
                    "dense vector it names (docs/binary-points.md)"
                ),
                "header": headers[_BINARY_BODIES[route.name]],
            }
        paths.setdefault(route.path, {})[route.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Zoro-DB",
            "version": __version__,
            "description": "Qdrant-compatible REST API of Zoro-DB",
        },
        "paths": paths,
        "components": {"schemas": components(limits)},
    }


def _operation(route: Route, requests: dict[str, dict[str, Any]]) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": route.name, "responses": {"default": _ERROR_RESPONSE}}
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in route.pattern.groupindex
    ]
    if route.name in _WAITS:
        params.append(
            {"name": "wait", "in": "query", "required": False, "schema": {"type": "boolean"}}
        )
    params += [
        {"name": name, "in": "query", "required": False, "schema": schema}
        for name, schema in _QUERIES.get(route.name, ())
    ]
    if params:
        op["parameters"] = params
    if route.name in requests:
        op["requestBody"] = {
            "required": route.name not in OPTIONAL_BODY,
            "content": {"application/json": {"schema": requests[route.name]}},
        }
    if route.enveloped:
        result = RESULTS.get(route.name, {})
        schema = {
            "type": "object",
            "properties": {
                "result": result,
                "status": {"type": "string"},
                "time": {"type": "number"},
            },
        }
        op["responses"]["200"] = {
            "description": "ok",
            "content": {"application/json": {"schema": schema}},
        }
    else:
        op["responses"]["200"] = {"description": "ok"}
    return op
