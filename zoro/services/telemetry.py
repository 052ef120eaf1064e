"""GET /telemetry in Qdrant's shape (TelemetryData), filled with Zoro's own figures.

    {"id", "app": {"name", "version", "startup"},
     "collections": {"number_of_collections", "collections"?: [...]},
     "requests": {"rest": {"responses": {"GET /collections": {"200": {count, ...}}}},
                  "grpc": {"responses": {}}}}

`details_level` as Qdrant reads it: 0 counts collections only; 1 adds each collection's points,
optimizer status and params (CollectionsAggregatedTelemetry); 2 and more its whole config and a
"zoro" part with its WAL and index figures. `anonymize` replaces collection names with hashes.
The request figures are the HTTP layer's (zoro.http.metrics), handed in shaped.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from zoro.actors import ActorState
from zoro.errors import BadRequest
from zoro.services import collections

if TYPE_CHECKING:
    from collections.abc import Mapping

    from zoro.services.context import Context


def parse_level(value: str | None) -> int:
    if value is None:
        return 0
    if not value.isdigit():
        raise BadRequest("details_level: must be a non-negative integer")
    return int(value)


def telemetry(
    ctx: Context,
    *,
    instance_id: str,
    app: Mapping[str, Any],
    requests: Mapping[str, Any],
    details_level: int,
    anonymize: bool,
) -> dict[str, Any]:
    names = ctx.manager.names()
    section: dict[str, Any] = {"number_of_collections": len(names)}
    if details_level >= 1:
        section["collections"] = [
            _collection(ctx, name, details_level, anonymize)
            for name in names
            if ctx.manager.actor(name).state is ActorState.READY
        ]
    return {
        "id": instance_id,
        "app": dict(app),
        "collections": section,
        "requests": {"rest": {"responses": dict(requests)}, "grpc": {"responses": {}}},
    }


def _collection(ctx: Context, name: str, level: int, anonymize: bool) -> dict[str, Any]:
    info = collections.info(ctx, name)
    if level == 1:
        return {
            "vectors": info["points_count"],
            "optimizers_status": info["optimizer_status"],
            "params": info["config"]["params"],
        }
    config = dict(info["config"])
    if anonymize:
        config.pop("metadata", None)
    return {
        "id": _hidden(name) if anonymize else name,
        "config": config,
        "zoro": {"status": info["status"], "points": info["points_count"], **info["zoro"]},
    }


def _hidden(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:16]
