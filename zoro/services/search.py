"""Nearest-neighbour search: Qdrant's query API (`/points/query[/batch]`) and the older search API.

Each search is priced by the collection's planner and runs inline on the event loop when cheap,
in a worker thread when not (zoro.actors.planner); a batch of plain queries that share their
parameters goes as one matrix.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import trio

from zoro.actors.numbering import reads
from zoro.errors import PointNotFound
from zoro.services import filters, prefetch, shapes, validate, vectors
from zoro.services.mmr import mmr_order
from zoro.sparse.vectors import SparseBatch
from zoro.types import DenseSpec, Distance, SparseSpec, keys_of
from zoro.wire import rules
from zoro.wire.check import check, whole

if TYPE_CHECKING:
    from zoro.actors import CollectionActor, Hits, Selection
    from zoro.payload.conditions import Filter
    from zoro.services.context import Context
    from zoro.types import Vectors
    from zoro.wire.rules import Rule


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


# Above this much arithmetic (picks x candidates x dimension) MMR runs in a worker thread.
_MMR_INLINE_WORK = 2_000_000
_DEFAULT_LIMIT = 10


def query_plan(
    actor: CollectionActor, body: Mapping[str, Any], ctx: Context, where: str = "body"
) -> Plan:
    """A query body checked against its schema (zoro.wire.query) with a nearest query and no
    prefetch (see prefetch.wanted), as a Plan: only the registered rules are left to check
    (the vector named and the query's fit to it, the filter)."""
    with rules.QUERY_USING.covering():
        using = vectors.dense_or_sparse(actor.vectors, body.get("using"), f"{where}.using")
    raw = body["query"]
    mmr = None
    if isinstance(raw, Mapping) and "nearest" in raw:
        mmr = raw.get("mmr")
        if mmr is not None and (isinstance(using, SparseSpec) or using.multi):
            raise rules.QUERY_VECTOR.error(
                f"{where}.query.mmr", "MMR needs a dense vector (not sparse, not multi)"
            )
    query, exclude = _query_vector(actor, raw, using, f"{where}.query")
    plan = _checked_plan(actor, body, where, using, query, exclude, rules.WITH_VECTOR_NAMES)
    if mmr is None:
        return plan
    return replace(plan, mmr=mmr_of(mmr, plan.limit, f"{where}.query.mmr"))


def _checked_plan(
    actor: CollectionActor,
    body: Mapping[str, Any],
    where: str,
    using: DenseSpec | SparseSpec,
    query: Vectors | SparseBatch,
    exclude: int,
    names_rule: Rule,
) -> Plan:
    """The Plan of a checked query or search body, its vector already read: the options the two
    share (limit, offset, threshold, payload and vector selection, params, filter)."""
    limit = body.get("limit")
    offset = body.get("offset")
    threshold = body.get("score_threshold")
    ef, exact = params_of(body.get("params"), f"{where}.params")
    return Plan(
        using=using,
        query=query,
        limit=_DEFAULT_LIMIT if limit is None else whole(limit, f"{where}.limit"),
        offset=0 if offset is None else whole(offset, f"{where}.offset"),
        score_threshold=None if threshold is None else float(threshold),
        selector=shapes.payload_selector(
            body.get("with_payload"), f"{where}.with_payload", default=False
        ),
        with_vector=_with_vector(actor, body, where, names_rule),
        ef=ef,
        exact=exact,
        exclude_slot=exclude,
        filter=filters.parse(body.get("filter"), f"{where}.filter", checked=True),
    )


def _with_vector(
    actor: CollectionActor, body: Mapping[str, Any], where: str, rule: Rule
) -> list[str]:
    with rule.covering():
        return vectors.with_vector(body.get("with_vector"), actor.vectors, f"{where}.with_vector")


def mmr_of(options: Mapping[str, Any], limit: int, field: str) -> Mmr:
    """A checked `mmr` object; Qdrant's defaults: diversity 0.5, candidates_limit the query's
    limit."""
    diversity = options.get("diversity")
    candidates = options.get("candidates_limit")
    return Mmr(
        0.5 if diversity is None else float(diversity),
        limit if candidates is None else whole(candidates, f"{field}.candidates_limit"),
    )


def params_of(value: Mapping[str, Any] | None, field: str) -> tuple[int | None, bool]:
    """A checked query's `params`: hnsw_ef and exact (the others are accepted and ignored)."""
    if value is None:
        return None, False
    ef = value.get("hnsw_ef")
    return None if ef is None else whole(ef, f"{field}.hnsw_ef"), value.get("exact") is True


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
    with rules.VECTOR_NAME.covering():
        using = vectors.dense_or_sparse(actor.vectors, name, f"{where}.vector.name")
    query = _given_vector(vector, using, f"{where}.vector", rules.VECTOR_SHAPE)
    return _checked_plan(actor, body, where, using, query, -1, rules.VECTOR_NAME)


def _query_vector(
    actor: CollectionActor, query: object, using: DenseSpec | SparseSpec, field: str
) -> tuple[Vectors | SparseBatch, int]:
    """A checked nearest query: a vector, a point id (search near that point's vector
    `using`), or {"nearest": either}."""
    rule = rules.QUERY_VECTOR
    if isinstance(query, Mapping) and "nearest" in query:
        return _query_vector(actor, query["nearest"], using, f"{field}.nearest")
    if isinstance(query, list) and isinstance(using, DenseSpec) and not using.multi:
        return _dense_query(query, using, field, rule), -1
    if isinstance(query, list | Mapping):
        return _given_vector(query, using, field, rule), -1
    with rule.covering():
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
    raise rule.error(field, f"point {point_id} has no vector {_name(actor, using)!r}")


def _dense_query(values: list[Any], using: DenseSpec, field: str, rule: Rule) -> Vectors:
    """A checked dense query vector (the schema's list of numbers) as a (1, size) float32
    matrix, normalised for Cosine: as validate.vector makes it, read once into float32. `rule`
    is the route's rule for a vector that does not fit the one searched."""
    if not values or isinstance(values[0], list):  # a matrix for a single vector
        with rule.covering():
            return validate.vector(values, field, using.size, using.distance)
    if len(values) != using.size:
        raise rule.error(field, f"expected dimension {using.size}, got {len(values)}")
    with np.errstate(over="ignore"):
        out = np.array(values, dtype=np.float32).reshape(1, -1)
    if not np.isfinite(out).all():
        raise rule.error(field, "vector 0 holds NaN or infinity (or a number too large)")
    if using.distance is Distance.COSINE:
        # np.linalg.norm's own sum, without its dispatch
        norms = np.sqrt(np.add.reduce(out * out, axis=1, keepdims=True))
        np.divide(out, norms, out=out, where=norms > 0)
    return out


def _given_vector(
    value: object, using: DenseSpec | SparseSpec, field: str, rule: Rule
) -> Vectors | SparseBatch:
    if isinstance(using, DenseSpec) and using.multi:
        with rule.covering():
            return vectors.matrix(value, using, field)
    if isinstance(using, DenseSpec):
        if isinstance(value, Mapping):
            raise rule.error(field, "the vector searched is dense: send a list of numbers")
        with rule.covering():
            return validate.vector(value, field, using.size, using.distance)
    if not isinstance(value, Mapping):
        raise rule.error(field, 'the vector searched is sparse: send {"indices", "values"}')
    with rule.covering():
        return vectors.sparse_rows([value], [field])


def _name(actor: CollectionActor, spec: DenseSpec | SparseSpec) -> str:
    names = actor.vectors.dense if isinstance(spec, DenseSpec) else actor.vectors.sparse
    return next(n for n, s in names.items() if s == spec)


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


@reads
async def query(ctx: Context, name: str, body: object) -> dict[str, Any]:
    actor = await ctx.manager.reading(name)
    body = check("query_points", body, ctx.limits)
    if prefetch.wanted(body):
        tree = prefetch.plan(actor, body, ctx)
        return {"points": await prefetch.run(ctx, actor, tree)}
    (points,) = await run(ctx, actor, [query_plan(actor, body, ctx)])
    return {"points": points}


@reads
async def query_batch(ctx: Context, name: str, body: object) -> list[dict[str, Any]]:
    actor = await ctx.manager.reading(name)
    searches = check("query_batch_points", body, ctx.limits)["searches"]
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


@reads
async def search(ctx: Context, name: str, body: object) -> list[dict[str, Any]]:
    actor = await ctx.manager.reading(name)
    (points,) = await run(ctx, actor, [search_plan(actor, body, ctx)])
    return points


@reads
async def search_batch(ctx: Context, name: str, body: object) -> list[list[dict[str, Any]]]:
    actor = await ctx.manager.reading(name)
    return await run(ctx, actor, search_batch_plans(actor, body, ctx))
