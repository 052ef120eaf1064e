"""Nearest-neighbour search: Qdrant's query API (`/points/query[/batch]`) and the older search API.

Each search is priced by the collection's planner and runs inline on the event loop when cheap,
in a worker thread when not (zoro.actors.planner); a batch of plain queries that share their
parameters goes as one matrix.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import trio

from zoro.errors import BadRequest, PointNotFound
from zoro.services import filters, prefetch, shapes, validate, vectors
from zoro.services.mmr import mmr_order
from zoro.sparse.vectors import SparseBatch
from zoro.types import DenseSpec, SparseSpec, keys_of
from zoro.wire.check import check, whole

if TYPE_CHECKING:
    from zoro.actors import CollectionActor, Hits, Selection
    from zoro.payload.conditions import Filter
    from zoro.services.context import Context
    from zoro.types import Vectors

QUERY_FIELDS = frozenset(
    {
        "query",
        "prefetch",
        "using",
        "filter",
        "params",
        "score_threshold",
        "limit",
        "offset",
        "with_vector",
        "with_payload",
        "lookup_from",
        "shard_key",
    }
)
_PARAMS_FIELDS = frozenset({"hnsw_ef", "exact", "quantization", "indexed_only", "acorn"})


@dataclass(frozen=True, slots=True)
class Plan:
    """One parsed search: what to look for and how to shape the answer. `using`: the vector
    searched; `query` a (1, size) matrix for a dense one (normalised for Cosine), one sparse
    row for a sparse one."""

    using: DenseSpec | SparseSpec
    query: Vectors | SparseBatch
    limit: int
    offset: int
    score_threshold: float | None
    selector: shapes.PayloadSelector
    with_vector: list[str]
    ef: int | None
    exact: bool
    exclude_slot: int  # the query point itself when searching by id, else -1
    filter: Filter | None = None
    mmr: Mmr | None = None

    @property
    def k(self) -> int:
        wanted = self.offset + self.limit if self.mmr is None else self.mmr.candidates
        return wanted + (1 if self.exclude_slot >= 0 else 0)


@dataclass(frozen=True, slots=True)
class Mmr:
    """`{"nearest": v, "mmr": {...}}`: re-rank the `candidates` nearest for diversity."""

    diversity: float
    candidates: int


# Qdrant's bound on mmr.candidates_limit
_MMR_CANDIDATES_MAX = 16_384
# Above this much arithmetic (picks x candidates x dimension) MMR runs in a worker thread.
_MMR_INLINE_WORK = 2_000_000


def query_plan(actor: CollectionActor, body: object, ctx: Context, where: str = "body") -> Plan:
    body = validate.mapping(body, where)
    validate.only_fields(body, QUERY_FIELDS, where)
    # zoro.services.prefetch answers the rest (see prefetch.wanted): prefetches, queries other
    # than nearest, no query, lookup_from
    for field, what in (("lookup_from", "lookup_from"), ("shard_key", "sharding")):
        validate.absent(body, field, what)
    using = vectors.dense_or_sparse(actor.vectors, body.get("using"), f"{where}.using")
    if body.get("query") is None:
        raise BadRequest(f'{where}.query: missing; send a vector or {{"nearest": vector}}')
    raw = body["query"]
    mmr = None
    if isinstance(raw, Mapping) and set(raw) == {"nearest", "mmr"}:
        raw = {"nearest": raw["nearest"]}
        mmr = body["query"]["mmr"]
        if isinstance(using, SparseSpec) or using.multi:
            raise BadRequest(f"{where}.query.mmr: MMR needs a dense vector (not sparse, not multi)")
    query, exclude = _query_vector(actor, raw, using, f"{where}.query")
    plan = _plan(actor, body, ctx, where, using, query, exclude, default_payload=False)
    if mmr is None:
        return plan
    return dataclasses.replace(plan, mmr=_mmr(mmr, plan.limit, f"{where}.query.mmr"))


def _mmr(value: object, limit: int, field: str) -> Mmr:
    """Qdrant's defaults: diversity 0.5, candidates_limit the query's limit."""
    options = validate.mapping(value, field)
    validate.only_fields(options, frozenset({"diversity", "candidates_limit"}), field)
    diversity = options.get("diversity")
    diversity = 0.5 if diversity is None else validate.number(diversity, f"{field}.diversity")
    if not 0.0 <= diversity <= 1.0:
        raise BadRequest(f"{field}.diversity: must be between 0 and 1")
    candidates = options.get("candidates_limit")
    return Mmr(
        diversity,
        limit
        if candidates is None
        else validate.integer(
            candidates, f"{field}.candidates_limit", low=0, high=_MMR_CANDIDATES_MAX
        ),
    )


def search_plan(actor: CollectionActor, body: object, ctx: Context) -> Plan:
    """A search request (`points/search`) as the plan the actor runs."""
    return _search_plan(actor, check("search_points", body, ctx.limits), "body")


def search_batch_plans(actor: CollectionActor, body: object, ctx: Context) -> list[Plan]:
    """A search batch's plans, every search checked before any runs."""
    searches = check("search_batch_points", body, ctx.limits)["searches"]
    return [_search_plan(actor, s, f"searches[{i}]") for i, s in enumerate(searches)]


def _search_plan(actor: CollectionActor, body: Mapping[str, Any], where: str) -> Plan:
    """A search its route's schema accepted: what is left to do is read the vector by the
    collection's own (the registered rules) and convert."""
    vector = body["vector"]
    name = None
    if isinstance(vector, dict):  # Named(Sparse)Vector: the schema's only object form
        name, vector = vector["name"], vector["vector"]
    using = vectors.dense_or_sparse(actor.vectors, name, f"{where}.vector.name")
    offset = body.get("offset")
    threshold = body.get("score_threshold")
    params = body.get("params") or {}
    ef = params.get("hnsw_ef")
    return Plan(
        using=using,
        query=_given_vector(vector, using, f"{where}.vector"),
        limit=whole(body["limit"], f"{where}.limit"),
        offset=0 if offset is None else whole(offset, f"{where}.offset"),
        score_threshold=None if threshold is None else float(threshold),
        selector=shapes.payload_selector(
            body.get("with_payload"), f"{where}.with_payload", default=False
        ),
        with_vector=vectors.with_vector(
            body.get("with_vector"), actor.vectors, f"{where}.with_vector"
        ),
        ef=None if ef is None else whole(ef, f"{where}.params.hnsw_ef"),
        exact=params.get("exact") is True,
        exclude_slot=-1,
        filter=filters.parse(body.get("filter"), f"{where}.filter"),
    )


def _plan(
    actor: CollectionActor,
    body: Mapping[str, Any],
    ctx: Context,
    where: str,
    using: DenseSpec | SparseSpec,
    query: Vectors | SparseBatch,
    exclude: int,
    *,
    default_payload: bool,
) -> Plan:
    limits = ctx.limits
    limit = validate.integer(body.get("limit", 10), f"{where}.limit", low=0, high=limits.max_limit)
    offset = validate.integer(
        body.get("offset") or 0, f"{where}.offset", low=0, high=limits.max_limit
    )
    threshold = body.get("score_threshold")
    ef, exact = _params(body.get("params"), f"{where}.params")
    return Plan(
        using=using,
        query=query,
        limit=limit,
        offset=offset,
        score_threshold=None
        if threshold is None
        else validate.number(threshold, f"{where}.score_threshold"),
        selector=shapes.payload_selector(
            body.get("with_payload"), f"{where}.with_payload", default=default_payload
        ),
        with_vector=vectors.with_vector(
            body.get("with_vector"), actor.vectors, f"{where}.with_vector"
        ),
        ef=ef,
        exact=exact,
        exclude_slot=exclude,
        filter=filters.parse(body.get("filter"), f"{where}.filter"),
    )


def _query_vector(
    actor: CollectionActor, query: object, using: DenseSpec | SparseSpec, field: str
) -> tuple[Vectors | SparseBatch, int]:
    """A query is a vector, a point id (search near that point's vector `using`), or
    {"nearest": either}."""
    if isinstance(query, Mapping) and "indices" not in query:
        if set(query) != {"nearest"}:
            kinds = ", ".join(sorted(map(str, query)))
            raise BadRequest(
                f"{field}: unknown query {kinds}; use nearest, recommend, discover, context, "
                "order_by, sample, fusion or rrf"
            )
        return _query_vector(actor, query["nearest"], using, f"{field}.nearest")
    if isinstance(query, list | Mapping):
        return _given_vector(query, using, field), -1
    point_id = validate.point_id(query, field)
    slots = actor.slots_of(keys_of([point_id]))
    if slots[0] < 0:
        raise PointNotFound(point_id)
    if isinstance(using, DenseSpec) and using.multi:
        (matrix,) = actor.multi_of_slots(slots, using.number)
        if matrix is not None:
            return matrix, int(slots[0])
    elif isinstance(using, DenseSpec):
        if actor.present_mask(using.number)[slots[0]]:
            return actor.vectors_of_slots(slots, using.number), int(slots[0])
    else:
        (row,) = actor.sparse_of_slots(slots, using.number)
        if row is not None:
            return row, int(slots[0])
    raise BadRequest(f"{field}: point {point_id} has no vector {_name(actor, using)!r}")


def _given_vector(
    value: object, using: DenseSpec | SparseSpec, field: str
) -> Vectors | SparseBatch:
    if isinstance(using, DenseSpec) and using.multi:
        return vectors.matrix(value, using, field)
    if isinstance(using, DenseSpec):
        if isinstance(value, Mapping):
            raise BadRequest(f"{field}: the vector searched is dense: send a list of numbers")
        return validate.vector(value, field, using.size, using.distance)
    if not isinstance(value, Mapping):
        raise BadRequest(f'{field}: the vector searched is sparse: send {{"indices", "values"}}')
    return vectors.sparse_rows([value], [field])


def _name(actor: CollectionActor, spec: DenseSpec | SparseSpec) -> str:
    names = actor.vectors.dense if isinstance(spec, DenseSpec) else actor.vectors.sparse
    return next(n for n, s in names.items() if s == spec)


def _params(value: object, field: str) -> tuple[int | None, bool]:
    if value is None:
        return None, False
    params = validate.mapping(value, field)
    validate.only_fields(params, _PARAMS_FIELDS, field)
    ef = params.get("hnsw_ef")
    exact = params.get("exact")
    return (
        None if ef is None else validate.integer(ef, f"{field}.hnsw_ef", low=1, high=100_000),
        False if exact is None else validate.boolean(exact, f"{field}.exact"),
    )


async def run(
    ctx: Context, actor: CollectionActor, plans: list[Plan]
) -> list[list[dict[str, Any]]]:
    """Run plans (one query each) and shape each answer as a list of ScoredPoints."""
    if not plans:
        return []
    k = max(p.k for p in plans)
    first = plans[0]
    same = all(
        p.ef == first.ef
        and p.exact == first.exact
        and p.filter is None
        and p.using == first.using
        and isinstance(p.using, DenseSpec)
        and not p.using.multi
        for p in plans
    )
    if k == 0:
        return [[] for _ in plans]
    if len(plans) == 1 or not same:
        selections: dict[Filter, Selection] = {}  # a batch often repeats one filter
        hits = []
        for p in plans:
            only = None
            if p.filter is not None:
                only = selections.get(p.filter)
                if only is None:
                    only = selections[p.filter] = await actor.select(p.filter)
            hits.append(await _search(actor, p, only))
            # Each search is bounded (the planner sends dear ones to threads), but a batch of
            # up to max_batch_searches of them is not: let other requests in between.
            await trio.lowlevel.checkpoint()
        return [
            await _shape(actor, p, h.scores[0], h.slots[0])
            for p, h in zip(plans, hits, strict=True)
        ]
    queries = np.concatenate([p.query for p in plans])
    many = await actor.search(queries, k, using=first.using.number, ef=first.ef, exact=first.exact)
    return [
        await _shape(actor, p, scores, slots)
        for p, scores, slots in zip(plans, many.scores, many.slots, strict=True)
    ]


async def _search(actor: CollectionActor, plan: Plan, only: Selection | None) -> Hits:
    if isinstance(plan.using, SparseSpec):
        assert isinstance(plan.query, SparseBatch)
        return await actor.search_sparse(
            plan.using.number, plan.query, plan.k, idf=plan.using.idf, only=only
        )
    assert not isinstance(plan.query, SparseBatch)
    if plan.using.multi:
        return actor.search_multi(
            plan.using.number, plan.query, plan.k, exact=plan.exact, only=only
        )
    return await actor.search(
        plan.query, plan.k, using=plan.using.number, ef=plan.ef, exact=plan.exact, only=only
    )


async def _shape(
    actor: CollectionActor, plan: Plan, scores: Any, slots: Any
) -> list[dict[str, Any]]:
    scores, slots = await pick(actor, plan, scores, slots)
    return shapes.scored_points(actor, scores, slots, plan.selector, plan.with_vector)


async def pick(actor: CollectionActor, plan: Plan, scores: Any, slots: Any) -> tuple[Any, Any]:
    """The hits a plan answers with, from its candidates (best first): the query point left
    out, the score threshold, MMR, then the offset and limit."""
    if plan.exclude_slot >= 0:
        keep = slots != plan.exclude_slot
        scores, slots = scores[keep], slots[keep]
    if plan.score_threshold is not None:
        # Qdrant keeps only scores strictly better than the threshold
        if isinstance(plan.using, SparseSpec) or plan.using.distance.higher_is_better:
            keep = scores > plan.score_threshold
        else:
            keep = scores < plan.score_threshold
        scores, slots = scores[keep], slots[keep]
    end = plan.offset + plan.limit
    if plan.mmr is not None:
        assert isinstance(plan.using, DenseSpec)
        # MMR re-ranks the candidates, then the offset applies to its order (as in Qdrant);
        # each point keeps its own similarity score
        scores, slots = scores[: plan.mmr.candidates], slots[: plan.mmr.candidates]
        rows = actor.vectors_of_slots(slots, plan.using.number)
        order = await _mmr_order(plan, plan.using, rows, end)
        scores, slots = scores[order], slots[order]
    return scores[plan.offset : end], slots[plan.offset : end]


async def _mmr_order(plan: Plan, using: DenseSpec, candidates: Vectors, picks: int) -> Any:
    assert plan.mmr is not None and not isinstance(plan.query, SparseBatch)
    order = functools.partial(
        mmr_order, using.distance, plan.query[0], candidates, plan.mmr.diversity, picks
    )
    if picks * candidates.size <= _MMR_INLINE_WORK:
        return order()
    return await trio.to_thread.run_sync(order)


async def query(ctx: Context, name: str, body: object) -> dict[str, Any]:
    actor = ctx.manager.serving(name)
    if prefetch.wanted(body):
        tree = prefetch.plan(actor, body, ctx)
        return {"points": await prefetch.run(ctx, actor, tree)}
    (points,) = await run(ctx, actor, [query_plan(actor, body, ctx)])
    return {"points": points}


async def query_batch(ctx: Context, name: str, body: object) -> list[dict[str, Any]]:
    actor = ctx.manager.serving(name)
    searches = batch_searches(body, ctx)
    # every search is checked before any runs; those with a prefetch run on their own, the
    # rest together (one matrix when they can share it)
    plans: dict[int, Plan] = {}
    trees: dict[int, prefetch.Tree] = {}
    for i, s in enumerate(searches):
        if prefetch.wanted(s):
            trees[i] = prefetch.plan(actor, s, ctx, f"searches[{i}]")
        else:
            plans[i] = query_plan(actor, s, ctx, f"searches[{i}]")
    answers = dict(zip(plans, await run(ctx, actor, list(plans.values())), strict=True))
    for i, tree in trees.items():
        answers[i] = await prefetch.run(ctx, actor, tree)
    return [{"points": answers[i]} for i in range(len(searches))]


async def search(ctx: Context, name: str, body: object) -> list[dict[str, Any]]:
    actor = ctx.manager.serving(name)
    (points,) = await run(ctx, actor, [search_plan(actor, body, ctx)])
    return points


async def search_batch(ctx: Context, name: str, body: object) -> list[list[dict[str, Any]]]:
    actor = ctx.manager.serving(name)
    return await run(ctx, actor, search_batch_plans(actor, body, ctx))


def batch_searches(body: object, ctx: Context) -> list[Any]:
    """The `searches` list of a batch request, checked for shape and count."""
    body = validate.mapping(body, "body")
    validate.only_fields(body, frozenset({"searches"}), "body")
    searches = validate.sequence(body.get("searches"), "searches")
    if len(searches) > ctx.limits.max_batch_searches:
        raise BadRequest(f"searches: at most {ctx.limits.max_batch_searches} per request")
    return list(searches)
