"""The older routes `points/recommend[/batch]`, `points/recommend/groups` and
`points/discover[/batch]`.

Each request is rewritten as the Query API body that asks the same (`{"query": {"recommend":
...}}`, `{"discover": ...}` or, for a discover request without a target, `{"context": ...}`) and
answered by the Query API's own code (zoro.services.prefetch); only the shapes differ: these
routes answer with a bare list of ScoredPoints (a list of lists for a batch). A recommend groups
request becomes a `query/groups` body and is answered by zoro.services.groups, as that route is.
(Qdrant has no discover groups route.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from zoro.errors import BadRequest
from zoro.services import groups, prefetch, search, validate

if TYPE_CHECKING:
    from collections.abc import Mapping

    from zoro.services.context import Context

# The fields both request shapes share with the Query API, passed on as they are.
_SHARED: Final = frozenset(
    {
        "filter",
        "params",
        "limit",
        "offset",
        "with_payload",
        "with_vector",
        "score_threshold",
        "using",
        "lookup_from",
        "shard_key",
    }
)
_RECOMMEND_FIELDS: Final = _SHARED | {"positive", "negative", "strategy"}
# A RecommendGroupsRequest: no offset (groups do not page), and the group fields.
_RECOMMEND_GROUPS_FIELDS: Final = (_RECOMMEND_FIELDS - {"offset"}) | groups.GROUP_FIELDS
_DISCOVER_FIELDS: Final = (_SHARED - {"score_threshold"}) | {"target", "context"}


def recommend_body(body: object, where: str = "body") -> dict[str, Any]:
    """A RecommendRequest as a Query API body."""
    request = _request(body, _RECOMMEND_FIELDS, where)
    example = {k: request[k] for k in ("positive", "negative", "strategy") if k in request}
    return _query_body(request, {"recommend": example})


def recommend_groups_body(body: object, where: str = "body") -> dict[str, Any]:
    """A RecommendGroupsRequest as a Query API groups body."""
    request = _request(body, _RECOMMEND_GROUPS_FIELDS, where)
    groups.require_sizes(request, where)
    example = {k: request[k] for k in ("positive", "negative", "strategy") if k in request}
    out = _query_body(request, {"recommend": example})
    out.update((k, v) for k, v in request.items() if k in groups.GROUP_FIELDS)
    return out


def discover_body(body: object, where: str = "body") -> dict[str, Any]:
    """A DiscoverRequest as a Query API body (a context query when it has no target)."""
    request = _request(body, _DISCOVER_FIELDS, where)
    context = request.get("context")
    if request.get("target") is None:
        if not context:
            raise BadRequest(f"{where}: discover needs a target, context pairs, or both")
        return _query_body(request, {"context": context})
    return _query_body(
        request,
        {"discover": {"target": request["target"], "context": [] if context is None else context}},
    )


def _request(body: object, fields: frozenset[str], where: str) -> Mapping[str, Any]:
    request = validate.mapping(body, where)
    validate.only_fields(request, fields, where)
    if "limit" not in request:
        raise BadRequest(f"{where}.limit: missing")
    return request


def _query_body(request: Mapping[str, Any], query: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in request.items() if k in _SHARED}
    out["query"] = query
    return out


async def recommend(ctx: Context, name: str, body: object) -> list[dict[str, Any]]:
    return await _one(ctx, name, recommend_body(body))


async def recommend_groups(ctx: Context, name: str, body: object) -> dict[str, Any]:
    return await groups.query_groups(ctx, name, recommend_groups_body(body))


async def discover(ctx: Context, name: str, body: object) -> list[dict[str, Any]]:
    return await _one(ctx, name, discover_body(body))


async def recommend_batch(ctx: Context, name: str, body: object) -> list[list[dict[str, Any]]]:
    searches = search.batch_searches(body, ctx)
    return await _many(
        ctx, name, [recommend_body(s, f"searches[{i}]") for i, s in enumerate(searches)]
    )


async def discover_batch(ctx: Context, name: str, body: object) -> list[list[dict[str, Any]]]:
    searches = search.batch_searches(body, ctx)
    return await _many(
        ctx, name, [discover_body(s, f"searches[{i}]") for i, s in enumerate(searches)]
    )


async def _one(ctx: Context, name: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    actor = ctx.manager.serving(name)
    return await prefetch.run(ctx, actor, prefetch.plan(actor, body, ctx))


async def _many(
    ctx: Context, name: str, bodies: list[dict[str, Any]]
) -> list[list[dict[str, Any]]]:
    """Every request checked before any runs, as a batch is."""
    actor = ctx.manager.serving(name)
    trees = [prefetch.plan(actor, b, ctx, f"searches[{i}]") for i, b in enumerate(bodies)]
    return [await prefetch.run(ctx, actor, tree) for tree in trees]
