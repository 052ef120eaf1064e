"""Every converted route's request description, gathered from the area modules, and the
shared components (`#/components/schemas/...`) their schemas refer to.

A route converted to `zoro.wire` is registered in its area module's `REQUESTS`: its service
checks bodies against the schema (`zoro.wire.check`), /openapi.json serves it, and the
constraint test (tests/http/test_wire_constraints.py) walks it."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, Final

from zoro.wire import (
    batch,
    collections,
    explore,
    filters,
    points,
    query,
    search,
    snapshots,
    writes,
)

if TYPE_CHECKING:
    from zoro.settings import LimitSettings
    from zoro.wire.schema import Builder, Schema, WireRequest

_AREAS: Final = (points, writes, batch, query, search, explore, collections, filters, snapshots)

REQUESTS: Final[dict[str, WireRequest]] = {
    request.route: request for area in _AREAS for request in area.REQUESTS
}
# The views the constraint test and the services read.
ROOTS: Final = {name: r.root for name, r in REQUESTS.items()}
EXAMPLES: Final[dict[str, list[dict[str, Any]]]] = {
    name: list(r.examples) for name, r in REQUESTS.items()
}
RULE_EXAMPLES: Final = {name: r.rule_examples for name, r in REQUESTS.items()}

# Bodies described and checked as the routes' are that no route takes as its JSON request, by
# name: (schema builder, where their error paths start). Not in /openapi.json's request bodies
# (the route's operation names them in an extension) nor walked by the constraint test.
BODIES: Final[dict[str, tuple[Builder, str]]] = {
    # the JSON header of an upsert sent as application/vnd.zoro.points (zoro.wire.binary)
    "upsert_points_binary": (writes.binary_header, "header"),
}


@cache
def request_schemas(limits: LimitSettings) -> dict[str, Schema]:
    """Every converted route's request schema for a server with these limits."""
    return {name: r.build(limits) for name, r in REQUESTS.items()}


@cache
def body_schemas(limits: LimitSettings) -> dict[str, Schema]:
    """The BODIES' schemas for a server with these limits."""
    return {name: build(limits) for name, (build, _) in BODIES.items()}


@cache
def components(limits: LimitSettings) -> dict[str, Schema]:
    """The shared schemas the requests refer to by `$ref`, by component name."""
    return {
        name: build(limits)
        for area in _AREAS
        for name, build in getattr(area, "COMPONENTS", {}).items()
    }
