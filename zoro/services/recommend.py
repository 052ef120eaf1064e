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

from zoro.actors.numbering import reads
from zoro.services import groups, prefetch
from zoro.wire import rules
from zoro.wire.check import check

if TYPE_CHECKING:
    from collections.abc import Mapping

    from zoro.services.context import Context

# The fields the requests share with the Query API, passed on as they are.
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
_EXAMPLE_FIELDS: Final = ("positive", "negative", "strategy")


def recommend_body(request: Mapping[str, Any]) -> dict[str, Any]:
    """A RecommendRequest its schema accepted, as a Query API body."""
    example = {k: request[k] for k in _EXAMPLE_FIELDS if k in request}
    return _query_body(request, {"recommend": example})


def recommend_groups_body(request: Mapping[str, Any]) -> dict[str, Any]:
    """A RecommendGroupsRequest its schema accepted, as a Query API groups body."""
    out = recommend_body(request)
    out.update((k, v) for k, v in request.items() if k in groups.GROUP_FIELDS)
    return out


def discover_body(request: Mapping[str, Any], where: str = "body") -> dict[str, Any]:
    """A DiscoverRequest its schema accepted, as a Query API body (a context query when it has
    no target)."""
    context = request.get("context")
    if request.get("target") is None:
        if not context:
            raise rules.EXAMPLE_COUNT.error(
                where, "discover needs a target, context pairs, or both"
            )
        return _query_body(request, {"context": context})
    return _query_body(
        request,
        {"discover": {"target": request["target"], "context": [] if context is None else context}},
    )


def _query_body(request: Mapping[str, Any], query: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in request.items() if k in _SHARED}
    out["query"] = query
    return out


async def recommend(ctx: Context, name: str, body: object) -> list[dict[str, Any]]:
    request = check("recommend_points", body, ctx.limits)
    with groups.named_as(groups.BY_EXAMPLE_RULES):
        return await _one(ctx, name, recommend_body(request))


async def recommend_groups(ctx: Context, name: str, body: object) -> dict[str, Any]:
    request = check("recommend_point_groups", body, ctx.limits)
    with groups.named_as(groups.BY_EXAMPLE_RULES):
        return await groups.query_groups(ctx, name, recommend_groups_body(request))


async def discover(ctx: Context, name: str, body: object) -> list[dict[str, Any]]:
    request = check("discover_points", body, ctx.limits)
    with groups.named_as(groups.BY_EXAMPLE_RULES):
        return await _one(ctx, name, discover_body(request))


async def recommend_batch(ctx: Context, name: str, body: object) -> list[list[dict[str, Any]]]:
    searches = check("recommend_batch_points", body, ctx.limits)["searches"]
    with groups.named_as(groups.BY_EXAMPLE_RULES):
        return await _many(ctx, name, [recommend_body(s) for s in searches])


async def discover_batch(ctx: Context, name: str, body: object) -> list[list[dict[str, Any]]]:
    searches = check("discover_batch_points", body, ctx.limits)["searches"]
    with groups.named_as(groups.BY_EXAMPLE_RULES):
        return await _many(
            ctx, name, [discover_body(s, f"searches[{i}]") for i, s in enumerate(searches)]
        )


@reads
async def _one(ctx: Context, name: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    actor = await ctx.manager.reading(name)
    return await prefetch.run(ctx, actor, prefetch.plan(actor, body, ctx))


@reads
async def _many(
    ctx: Context, name: str, bodies: list[dict[str, Any]]
) -> list[list[dict[str, Any]]]:
    """Every request checked before any runs, as a batch is."""
    actor = await ctx.manager.reading(name)
    trees = [prefetch.plan(actor, b, ctx, f"searches[{i}]") for i, b in enumerate(bodies)]
    return [await prefetch.run(ctx, actor, tree) for tree in trees]
