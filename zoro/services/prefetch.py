"""Qdrant's universal query with `prefetch`: a tree of searches whose answers feed the query above.

A request (or a prefetch inside it) with prefetches is a node; its prefetches are its children,
nested to any depth (up to MAX_DEPTH levels and MAX_NODES nodes). Each node has its own query,
`using`, filter, params, score_threshold and limit (10 by default). Qdrant's rules, as its client's
local mode follows them:

- Filters flow down: each node's filter is merged (Qdrant's `Filter::merge_opts`: the clauses of
  both joined field by field) with the filters of every node above it, so a prefetch's limit counts
  only points that pass them all. A query by point id (`{"nearest": 7}`, or the examples of a
  recommend, discover or context query) leaves those points out of its own node and of the whole
  subtree below it, unless `lookup_from` reads them from another collection.
- A node without prefetches is a plain search (or, with no query, the first points by id that
  pass its filter, each scored 1.0). Its query may also be by example (recommend, discover,
  context: zoro.services.examples), a payload order (`order_by`: zoro.services.ordering, each
  point scored 1.0 with its `order_value`) or `{"sample": "random"}` (scored 1.0).
- A node with prefetches needs a query, and answers from the union of its children's answers:
  `{"fusion": "rrf"}`, `{"rrf": {"k": k, "weights": [...]}}` and `{"fusion": "dbsf"}` fuse their
  rankings (zoro.services.fusion) and the fused score becomes the point's score; a nearest query
  (with or without `mmr`) scores exactly the candidates that pass the node's filter, and so do a
  query by example, an order and a sample.
- The score threshold keeps fused scores at or above it, the scores of a query by example above
  it (larger is better there, whatever the distance), and other scores as a plain search does.
  The top-level offset applies after the threshold; nested nodes have none.

The work a tree may ask for is bounded: the limits of all its nodes (and MMR candidate counts)
together at most MAX_CANDIDATES, so one request cannot ask for an unbounded number of candidates.

Each node searches or re-scores by its own `using` (a dense or a sparse vector); a fusion node
uses none. `ranked_points` answers a checked tree as ranked slots, for callers that shape the
answer their own way (groups).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np
import numpy.typing as npt
import trio

from zoro.actors import Selection
from zoro.payload.conditions import Filter, HasId, MinShould
from zoro.services import (
    examples,
    filters,
    fusion,
    ordering,
    points,
    search,
    shapes,
    validate,
    vectors,
)
from zoro.sparse.vectors import SparseBatch
from zoro.types import KEY_DTYPE, DenseSpec, Distance, SparseSpec, key_of
from zoro.wire import bounds, rules
from zoro.wire.check import whole

if TYPE_CHECKING:
    from zoro.actors import CollectionActor
    from zoro.services.context import Context
    from zoro.types import PointId, Vectors

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

# How deep prefetches may nest (the request's own prefetches are level 0, as zoro.client counts),
# how many nodes a tree may have, and how many candidates (the sum of every node's limit and MMR
# candidate count) one query may ask for in all.
MAX_DEPTH: Final = bounds.PREFETCH_MAX_DEPTH
MAX_NODES: Final = bounds.PREFETCH_MAX_NODES
MAX_CANDIDATES: Final = bounds.PREFETCH_MAX_CANDIDATES
# Rescoring reads and scores candidates' vectors this many floats at a time (4 MiB, about a
# millisecond of work), so memory stays bounded whatever the dimension and the loop stays free.
_RESCORE_CHUNK_FLOATS: Final = 1 << 20
# Above this much arithmetic per chunk (rows x examples x dimension), a query by examples
# scores its chunks in a worker thread.
_INLINE_SCORE_WORK: Final = 4_000_000
# A node that only leaves out up to this many named points searches that many more instead.
_LEFT_OUT_MAX: Final = 256
# Fusion is a Python loop over the sources' points: above this many it runs in a worker thread.
_FUSE_INLINE_POINTS: Final = 4_096
_DEFAULT_LIMIT: Final = 10


@dataclass(frozen=True, slots=True)
class Nearest:
    """Nearest-neighbour query by the node's `using`: a dense (1, size) matrix, normalised for
    Cosine, or one sparse row."""

    vector: Vectors | SparseBatch
    mmr: search.Mmr | None = None
    scale: float = 1.0  # scores are multiplied by it (see examples.Summed)


@dataclass(frozen=True, slots=True)
class Fuse:
    method: Literal["rrf", "dbsf"]
    k: int = fusion.DEFAULT_RRF_K
    weights: tuple[float, ...] | None = None


@dataclass(frozen=True, slots=True)
class Sample:
    """`{"sample": "random"}`: points in random order, each scored 1.0."""


SAMPLE: Final = Sample()
# What a node may query by: besides nearest and fusion, a query by examples, a payload order,
# a random sample, or nothing (points in id order).
Query = Nearest | Fuse | examples.Examples | ordering.OrderBy | Sample


@dataclass(frozen=True, slots=True)
class Node:
    query: Query | None
    using: DenseSpec | SparseSpec | None  # None: a fusion, an order, a sample or no query
    filter: Filter | None  # this node's own, merged with every filter above it
    limit: int
    offset: int
    score_threshold: float | None
    ef: int | None
    exact: bool
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Tree:
    """A checked query with prefetches: its root node and how to shape the answer."""

    root: Node
    selector: shapes.PayloadSelector
    with_vector: list[str]


@dataclass(frozen=True, slots=True)
class Ranked:
    """One node's answer: slots best first, with their scores."""

    slots: I64
    scores: F64
    order_values: list[int | float] | None = None  # an order_by query's values, slot by slot


# The query objects besides nearest and fusion, by their one key.
_KINDS: Final = examples.KINDS | {"order_by", "sample"}


def wanted(body: object) -> bool:
    """Is this query body for this module rather than the plain search path: has it
    prefetches (absent, null and [] mean none), a query other than nearest (a fusion, by
    examples, an order, a sample), no query at all, or a `lookup_from`?"""
    if not isinstance(body, Mapping):
        return False
    query = body.get("query")
    return (
        query is None
        or (isinstance(query, Mapping) and ("fusion" in query or "rrf" in query))
        or _kind(query) is not None
        or body.get("prefetch") not in (None, [])
        or body.get("lookup_from") is not None
    )


def _kind(query: object) -> str | None:
    """The kind of a query object other than nearest and fusion ("recommend", ...), or None."""
    if isinstance(query, Mapping) and len(query) == 1:
        (key,) = query
        if key in _KINDS:
            return str(key)
    return None


class _Budget:
    def __init__(self) -> None:
        self.nodes = 0
        self.candidates = 0

    def spend(self, candidates: int, where: str) -> None:
        self.nodes += 1
        self.candidates += candidates
        if self.nodes > MAX_NODES:
            raise rules.PREFETCH_TREE.error(
                where, f"a query may have at most {MAX_NODES} prefetches in all"
            )
        if self.candidates > MAX_CANDIDATES:
            raise rules.PREFETCH_TREE.error(
                where,
                "the limits of a query and all its prefetches add up to more than "
                f"{MAX_CANDIDATES} candidates",
            )


def plan(
    actor: CollectionActor, body: Mapping[str, Any], ctx: Context, where: str = "body"
) -> Tree:
    """A query body checked against its schema (zoro.wire.query), with prefetches, as a Tree;
    raises BadRequest naming the JSON path at fault for a registered rule it breaks."""
    limit = body.get("limit")
    limit = _DEFAULT_LIMIT if limit is None else whole(limit, f"{where}.limit")
    offset = body.get("offset")
    offset = 0 if offset is None else whole(offset, f"{where}.offset")
    root = _node(ctx, actor, body, where, None, 0, _Budget(), limit=limit, offset=offset)
    return Tree(
        root=root,
        selector=shapes.payload_selector(
            body.get("with_payload"), f"{where}.with_payload", default=False
        ),
        with_vector=vectors.with_vector(
            body.get("with_vector"), actor.vectors, f"{where}.with_vector"
        ),
    )


def _node(
    ctx: Context,
    actor: CollectionActor,
    body: Mapping[str, Any],
    where: str,
    above: Filter | None,
    depth: int,
    budget: _Budget,
    *,
    limit: int,
    offset: int,
) -> Node:
    own = merge(above, filters.parse(body.get("filter"), f"{where}.filter", checked=True))
    query, using, own = _query(ctx, actor, body, f"{where}.query", own, limit)
    children = _children(body.get("prefetch"))
    if query is None and children:
        raise rules.FUSION.error(
            f"{where}.query", "missing; a query is needed to merge the prefetches"
        )
    if query is None and body.get("score_threshold") is not None:
        raise rules.FUSION.error(f"{where}.score_threshold", "needs a query to score by")
    if isinstance(query, Fuse):
        if body.get("using") is not None:
            raise rules.FUSION.error(f"{where}.using", "a fusion query does not use a vector")
        if not children:
            raise rules.FUSION.error(f"{where}.query", "fusion needs prefetches to fuse")
        if query.weights is not None and len(query.weights) != len(children):
            raise rules.RRF_WEIGHTS.error(
                f"{where}.query.rrf.weights",
                f"{len(query.weights)} weights for {len(children)} prefetches "
                "(give one per prefetch)",
            )
    extra = query.mmr.candidates if isinstance(query, Nearest) and query.mmr else 0
    budget.spend(offset + limit + extra, where)
    if children and depth > MAX_DEPTH:
        raise rules.PREFETCH_TREE.error(
            f"{where}.prefetch",
            f"prefetches nest at most {MAX_DEPTH} levels below the request's own",
        )
    ef, exact = search.params_of(body.get("params"), f"{where}.params")
    threshold = body.get("score_threshold")
    return Node(
        query=query,
        using=using,
        filter=own,
        limit=limit,
        offset=offset,
        score_threshold=None if threshold is None else float(threshold),
        ef=ef,
        exact=exact,
        children=tuple(
            _prefetch(ctx, actor, child, f"{where}.prefetch{suffix}", own, depth + 1, budget)
            for suffix, child in children
        ),
    )


def _children(value: object) -> list[tuple[str, Mapping[str, Any]]]:
    """A prefetch is one object or a list of them; each with its JSON path suffix."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [("", value)]
    assert isinstance(value, list)  # the schema's
    return [(f"[{i}]", item) for i, item in enumerate(value)]


def _prefetch(
    ctx: Context,
    actor: CollectionActor,
    body: Mapping[str, Any],
    where: str,
    above: Filter | None,
    depth: int,
    budget: _Budget,
) -> Node:
    raw_limit = body.get("limit")
    limit = _DEFAULT_LIMIT if raw_limit is None else whole(raw_limit, f"{where}.limit")
    return _node(ctx, actor, body, where, above, depth, budget, limit=limit, offset=0)


def _query(
    ctx: Context,
    actor: CollectionActor,
    body: Mapping[str, Any],
    field: str,
    own: Filter | None,
    limit: int,
) -> tuple[Query | None, DenseSpec | SparseSpec | None, Filter | None]:
    """A node's query, the vector it uses, and its filter (the points a query names by id in
    the collection searched are left out)."""
    raw = body.get("query")
    if raw is None:
        return None, None, own
    if isinstance(raw, Mapping) and ("fusion" in raw or "rrf" in raw):
        return _fuse(raw, field), None, own
    kind = _kind(raw)
    if kind == "order_by":
        assert isinstance(raw, Mapping)
        order = ordering.parse(raw["order_by"], f"{field}.order_by")
        with rules.ORDER_BY_INDEX.covering():
            ordering.check(actor, order, f"{field}.order_by")
        return order, None, own
    if kind == "sample":  # the schema's only sample: "random"
        return SAMPLE, None, own
    where = field.removesuffix(".query")
    with rules.QUERY_USING.covering():
        using = vectors.dense_or_sparse(actor.vectors, body.get("using"), f"{where}.using")
    if kind is not None:
        assert isinstance(raw, Mapping)
        return _by_examples(ctx, actor, body, kind, raw[kind], field, using, own)
    mmr = None
    if isinstance(raw, Mapping) and "nearest" in raw:
        if raw.get("mmr") is not None:
            if isinstance(using, SparseSpec) or using.multi:
                raise rules.QUERY_VECTOR.error(
                    f"{field}.mmr", "MMR needs a dense vector (not sparse, not multi)"
                )
            mmr = search.mmr_of(raw["mmr"], limit, f"{field}.mmr")
        raw = {"nearest": raw["nearest"]}
    point = raw["nearest"] if isinstance(raw, Mapping) and "nearest" in raw else raw
    if body.get("lookup_from") is not None:  # checked even when the query names no point
        with rules.QUERY_VECTOR.covering():
            dense = examples.dense(using, f"{where}.using", "lookup_from")
        with rules.QUERY_USING.covering():
            source = examples.lookup(ctx, actor, body["lookup_from"], dense, f"{where}.lookup_from")
        if isinstance(point, list | Mapping):
            return _nearest(actor, raw, using, field, own, mmr)
        # a point id whose vector is read from the lookup collection
        mentioned: list[PointId] = []
        with rules.QUERY_VECTOR.covering():
            row = examples.example(source, point, field, mentioned)
        looked_up = examples.unit(row[None, :], dense.distance)
        return Nearest(looked_up, mmr), using, _leave_out(own, mentioned)
    return _nearest(actor, raw, using, field, own, mmr)


def _nearest(
    actor: CollectionActor,
    raw: object,
    using: DenseSpec | SparseSpec,
    field: str,
    own: Filter | None,
    mmr: search.Mmr | None,
) -> tuple[Nearest, DenseSpec | SparseSpec, Filter | None]:
    """A nearest query by a vector, or by a point of this collection (left out)."""
    with rules.QUERY_VECTOR.covering():
        vector, exclude = search._query_vector(actor, raw, using, field)
    if exclude >= 0:
        point = raw["nearest"] if isinstance(raw, Mapping) else raw
        with rules.QUERY_VECTOR.covering():
            own = _leave_out(own, [validate.point_id(point, field)])
    return Nearest(vector, mmr), using, own


def _by_examples(
    ctx: Context,
    actor: CollectionActor,
    body: Mapping[str, Any],
    kind: str,
    value: object,
    field: str,
    using: DenseSpec | SparseSpec,
    own: Filter | None,
) -> tuple[Query, DenseSpec | SparseSpec, Filter | None]:
    """recommend, discover or context (zoro.services.examples); an average_vector
    recommendation becomes a nearest query."""
    where = field.removesuffix(".query")
    if kind == "recommend" and isinstance(using, SparseSpec):
        if body.get("lookup_from") is not None:
            raise rules.QUERY_USING.error(f"{where}.lookup_from", "reads dense vectors only")
        mentioned: list[PointId] = []
        row = examples.sparse_average(actor, using, value, f"{field}.{kind}", mentioned)
        return Nearest(row), using, _leave_out(own, mentioned)
    with rules.QUERY_VECTOR.covering():
        dense = examples.dense(using, f"{where}.using", f"a {kind} query")
    with rules.QUERY_USING.covering():
        source = examples.lookup(ctx, actor, body.get("lookup_from"), dense, f"{where}.lookup_from")
    mentioned = []
    inner = f"{field}.{kind}"
    built: F32 | examples.Summed | examples.Examples
    if kind == "recommend":
        built = examples.recommend(source, dense, value, inner, mentioned)
    elif kind == "discover":
        built = examples.discover(source, dense, value, inner, mentioned)
    else:
        built = examples.context(source, dense, value, inner, mentioned)
    query: Query
    if isinstance(built, np.ndarray):
        query = Nearest(built)
    elif isinstance(built, examples.Summed):
        query = Nearest(built.vector, scale=built.scale)
    else:
        query = built
    return query, dense, _leave_out(own, mentioned)


def _leave_out(own: Filter | None, ids: list[PointId]) -> Filter | None:
    """The node's filter, also refusing these points."""
    if not ids:
        return own
    return merge(own, Filter(must_not=(HasId(frozenset(key_of(i) for i in ids)),)))


def _fuse(raw: Mapping[str, Any], field: str) -> Fuse:
    """A checked fusion: {"fusion": "rrf"|"dbsf"} or {"rrf": {"k", "weights"}}."""
    if "fusion" in raw:
        return Fuse("rrf" if raw["fusion"] == "rrf" else "dbsf")
    options = raw["rrf"]
    k = options.get("k")
    weights = options.get("weights")
    return Fuse(
        "rrf",
        fusion.DEFAULT_RRF_K if k is None else whole(k, f"{field}.rrf.k"),
        None if weights is None else tuple(float(w) for w in weights),
    )


def merge(outer: Filter | None, inner: Filter | None) -> Filter | None:
    """Qdrant's filter merge for prefetches: each clause of both, joined field by field (so the
    `should` of both become alternatives of one another, as on the server)."""
    if outer is None or inner is None:
        return inner if outer is None else outer
    min_should = outer.min_should or inner.min_should
    if outer.min_should is not None and inner.min_should is not None:
        min_should = MinShould(
            outer.min_should.conditions + inner.min_should.conditions,
            max(outer.min_should.min_count, inner.min_should.min_count),
        )
    return Filter(
        must=outer.must + inner.must,
        should=outer.should + inner.should,
        must_not=outer.must_not + inner.must_not,
        min_should=min_should,
    )


# --- running a tree ---------------------------------------------------------------------------


async def run(ctx: Context, actor: CollectionActor, tree: Tree) -> list[dict[str, Any]]:
    """Answer a checked tree as a list of ScoredPoints."""
    ranked = await ranked_points(actor, tree)
    found = shapes.scored_points(
        actor, ranked.scores, ranked.slots, tree.selector, tree.with_vector
    )
    if ranked.order_values is not None:
        for point, value in zip(found, ranked.order_values, strict=True):
            point["order_value"] = value
    return found


async def ranked_points(actor: CollectionActor, tree: Tree) -> Ranked:
    """A checked tree's answer as ranked slots and scores (best first), before shaping."""
    return await ranked_node(actor, tree.root)


async def ranked_node(actor: CollectionActor, node: Node) -> Ranked:
    """One checked node's answer (its prefetches run first) as ranked slots and scores."""
    return await _Run(actor).node(node)


class _Run:
    """One tree's run: the selections of its filters are made once each."""

    def __init__(self, actor: CollectionActor) -> None:
        self.actor = actor
        self.selections: dict[Filter, Selection] = {}

    async def select(self, condition: Filter | None) -> Selection | None:
        if condition is None:
            return None
        found = self.selections.get(condition)
        if found is None:
            found = self.selections[condition] = await self.actor.select(condition)
        return found

    async def node(self, node: Node) -> Ranked:
        if not node.children:
            if isinstance(node.query, Nearest):
                return await self.nearest(node, node.query, None)
            if node.query is None:
                return await self.by_id(node)
            assert not isinstance(node.query, Fuse)  # checked by plan(): fusion needs prefetches
            return await self.among(node, node.query, None)
        sources = []
        for child in node.children:
            sources.append(await self.node(child))
            await trio.lowlevel.checkpoint()
        if isinstance(node.query, Fuse):
            if sum(len(r.slots) for r in sources) <= _FUSE_INLINE_POINTS:
                return _fused(node, node.query, sources)
            return await trio.to_thread.run_sync(_fused, node, node.query, sources)
        assert node.query is not None  # checked by plan()
        if isinstance(node.query, Nearest):
            return await self.nearest(node, node.query, _union(sources))
        return await self.among(node, node.query, _union(sources))

    async def among(
        self,
        node: Node,
        query: examples.Examples | ordering.OrderBy | Sample,
        candidates: I64 | None,
    ) -> Ranked:
        """A query by examples, an order or a sample, over these candidates (those the node's
        filter keeps) or, with None, over every point the filter keeps."""
        if candidates is None:
            candidates = await self.every(node)
        else:
            candidates = await self.kept(node, candidates)
        end = node.offset + node.limit
        if isinstance(query, ordering.OrderBy):
            got = await ordering.ordered(self.actor, query, candidates, end)
            slots = got.slots[node.offset :]
            return Ranked(slots, np.ones(len(slots)), got.values[node.offset :])
        if isinstance(query, Sample):
            size = min(end, len(candidates))
            picked = np.random.default_rng().choice(candidates, size, replace=False)
            return Ranked(picked[node.offset :], np.ones(len(picked[node.offset :])))
        assert isinstance(node.using, DenseSpec)
        width = 1 + len(query.positive) + len(query.negative)
        scores = await self.scores(node.using, candidates, query.scores, width)
        if node.score_threshold is not None:  # larger is better, whatever the distance
            keep = scores > node.score_threshold
            scores, candidates = scores[keep], candidates[keep]
        order = _best_first(scores, end)
        return Ranked(
            candidates[order][node.offset :], scores[order][node.offset :].astype(np.float64)
        )

    async def every(self, node: Node) -> I64:
        """Every live slot the node's filter keeps (that carries the node's dense vector)."""
        selection = await self.select(node.filter)
        keep = self.actor.store.live_mask().copy()
        if isinstance(node.using, DenseSpec):
            present = self.actor.present_mask(node.using.number)
            keep[len(present) :] = False
            keep[: len(present)] &= present[: len(keep)]
        if selection is not None:
            n = min(len(keep), len(selection.mask))
            keep[n:] = False
            keep[:n] &= selection.mask[:n]
        return np.flatnonzero(keep).astype(np.int64)

    async def nearest(self, node: Node, query: Nearest, candidates: I64 | None) -> Ranked:
        """A nearest query: searched (no candidates), or scored over the candidates."""
        if query.scale == 1.0:
            if candidates is None:
                return await self.leaf(node, query)
            return await self.rescore(node, query, candidates)
        # scores scale by query.scale, and the threshold applies to scaled scores (larger is
        # better: Dot and Cosine only); the offset and limit commute with the threshold
        plain = dataclasses.replace(node, score_threshold=None)
        if candidates is None:
            ranked = await self.leaf(plain, query)
        else:
            ranked = await self.rescore(plain, query, candidates)
        scores = ranked.scores * query.scale
        if node.score_threshold is None:
            return Ranked(ranked.slots, scores)
        keep = scores > node.score_threshold
        return Ranked(ranked.slots[keep], scores[keep])

    async def leaf(self, node: Node, query: Nearest) -> Ranked:
        p = _plan(node, query)
        left_out = _only_left_out(node.filter)
        if left_out is not None and p.mmr is None:
            # The node refuses only the few points its query named: a plain search for that
            # many more hits, without them, costs less than a filtered search.
            refused = self.actor.slots_of(np.array(sorted(left_out), dtype=KEY_DTYPE))
            wider = dataclasses.replace(p, limit=p.limit + len(left_out))
            hits = await search._search(self.actor, wider, None)
            scores, slots = hits.scores[0], hits.slots[0]
            keep = ~np.isin(slots, refused)
            scores, slots = await search.pick(self.actor, p, scores[keep], slots[keep])
            return Ranked(slots, scores.astype(np.float64))
        only = await self.select(node.filter)
        hits = await search._search(self.actor, p, only)
        scores, slots = await search.pick(self.actor, p, hits.scores[0], hits.slots[0])
        return Ranked(slots, scores.astype(np.float64))

    async def rescore(self, node: Node, query: Nearest, candidates: I64) -> Ranked:
        """The node's query over exactly these candidates (those its filter keeps)."""
        candidates = await self.kept(node, candidates)
        if not len(candidates):
            return _EMPTY
        using = node.using
        if isinstance(using, SparseSpec):
            assert isinstance(query.vector, SparseBatch)
            return await self.rescore_sparse(node, using, query, candidates)
        assert isinstance(using, DenseSpec) and not isinstance(query.vector, SparseBatch)
        if using.multi:
            hits = self.actor.rescore_multi(using.number, query.vector, candidates)
            picked, slots = await search.pick(
                self.actor, _plan(node, query), hits.scores[0], hits.slots[0]
            )
            return Ranked(slots, picked.astype(np.float64))
        vector = query.vector[0]
        scores = await self.scores(
            using, candidates, lambda rows: exact_scores(using.distance, rows, vector)
        )
        higher_is_better = using.distance.higher_is_better
        order = np.argsort(-scores if higher_is_better else scores, kind="stable")
        picked, slots = await search.pick(
            self.actor, _plan(node, query), scores[order], candidates[order]
        )
        return Ranked(slots, picked.astype(np.float64))

    async def scores(
        self, using: DenseSpec, slots: I64, score: Callable[[F32], F32], width: int = 0
    ) -> F32:
        """Scores of these slots' vectors, read and scored a bounded chunk at a time on the
        event loop (vectors are read there only), letting other tasks in between. A slot
        lacking the vector is no candidate: the caller keeps only those that carry it. `width`:
        the floats of scratch `score` takes per row besides the row (one per example)."""
        rows = max(1, _RESCORE_CHUNK_FLOATS // (using.size + width))
        # scoring against many examples is dear: the chunks (copies) are scored in a thread
        threaded = rows * width * using.size > _INLINE_SCORE_WORK and len(slots) > rows
        parts = []
        for start in range(0, len(slots), rows):
            rows_read = self.actor.vectors_of_slots(slots[start : start + rows], using.number)
            if threaded:
                parts.append(await trio.to_thread.run_sync(score, rows_read))
            else:
                parts.append(score(rows_read))
                await trio.lowlevel.checkpoint()
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.float32)

    async def rescore_sparse(
        self, node: Node, using: SparseSpec, query: Nearest, candidates: I64
    ) -> Ranked:
        """A sparse query over exactly these candidates: the inverted index's own exact search
        restricted to them (so IDF weighs as in any sparse search)."""
        assert isinstance(query.vector, SparseBatch)
        allowed = np.zeros(int(candidates.max()) + 1, dtype=np.bool_)
        allowed[candidates] = True
        only = Selection(allowed, len(candidates))
        p = _plan(node, query)
        hits = await self.actor.search_sparse(
            using.number, query.vector, len(candidates), idf=using.idf, only=only
        )
        scores, slots = await search.pick(self.actor, p, hits.scores[0], hits.slots[0])
        return Ranked(slots, scores.astype(np.float64))

    async def by_id(self, node: Node) -> Ranked:
        """No query and no prefetches: the first points in id order that pass the node's filter,
        each scored 1.0 (Qdrant's answer to a query-less prefetch)."""
        end = node.offset + node.limit
        if end == 0:  # limit 0: nothing asked for (a scroll of no points is not a thing)
            return Ranked(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64))
        selection = await self.select(node.filter)
        if selection is None:
            keys, _ = self.actor.scroll(None, end)
        else:
            keys, _ = points._scroll_selected(self.actor, selection.mask, None, end)
        slots = self.actor.slots_of(keys)[node.offset : end]
        return Ranked(slots, np.ones(len(slots), dtype=np.float64))

    async def kept(self, node: Node, candidates: I64) -> I64:
        """The candidates still live (each still its point's slot) that the node's filter keeps."""
        selection = await self.select(node.filter)
        current = self.actor.slots_of(self.actor.keys_of_slots(candidates)) == candidates
        candidates = candidates[current]
        if isinstance(node.using, DenseSpec):  # only points carrying the vector are scored
            candidates = candidates[self.actor.present_mask(node.using.number)[candidates]]
        if selection is not None:
            inside = candidates < len(selection.mask)
            inside[inside] = selection.mask[candidates[inside]]
            candidates = candidates[inside]
        return candidates


def _only_left_out(condition: Filter | None) -> frozenset[bytes] | None:
    """The keys of a filter that only leaves named points out (what a query by point ids adds
    to a node without a filter of its own), else None."""
    if (
        condition is None
        or condition.must
        or condition.should
        or condition.min_should is not None
        or len(condition.must_not) != 1
        or not isinstance(condition.must_not[0], HasId)
        or len(condition.must_not[0].keys) > _LEFT_OUT_MAX
    ):
        return None
    return condition.must_not[0].keys


def _best_first(scores: F32, end: int) -> I64:
    """The positions of the `end` best (largest) scores, best first."""
    if len(scores) > 2 * end:
        top = np.argpartition(-scores, end - 1)[:end] if end else np.empty(0, dtype=np.int64)
        return top[np.argsort(-scores[top], kind="stable")]
    return np.argsort(-scores, kind="stable")


_EMPTY = Ranked(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64))


def _plan(node: Node, query: Nearest) -> search.Plan:
    """The plain-search plan of one node (its filter is applied by the caller)."""
    assert node.using is not None
    return search.Plan(
        using=node.using,
        query=query.vector,
        limit=node.limit,
        offset=node.offset,
        score_threshold=node.score_threshold,
        selector=shapes.NO_PAYLOAD,
        with_vector=[],
        ef=node.ef,
        exact=node.exact,
        exclude_slot=-1,
        mmr=query.mmr,
    )


def _union(sources: list[Ranked]) -> I64:
    if not sources:
        return _EMPTY.slots
    return np.unique(np.concatenate([s.slots for s in sources]))


def _fused(node: Node, query: Fuse, sources: list[Ranked]) -> Ranked:
    end = node.offset + node.limit
    if query.method == "rrf":
        slots, scores = fusion.rrf(
            [s.slots.tolist() for s in sources], limit=end, k=query.k, weights=query.weights
        )
    else:
        slots, scores = fusion.dbsf(
            [(s.slots.tolist(), s.scores.tolist()) for s in sources], limit=end
        )
    kept = np.asarray(slots, dtype=np.int64)
    fused = np.asarray(scores, dtype=np.float64)
    if node.score_threshold is not None:
        keep = fused >= node.score_threshold
        kept, fused = kept[keep], fused[keep]
    return Ranked(kept[node.offset :], fused[node.offset :])


def exact_scores(distance: Distance, vectors: F32, query: F32) -> F32:
    """Each row's score against the query, with Qdrant's meaning (Cosine on unit vectors)."""
    if distance is Distance.EUCLID:
        diff = vectors - query
        out: F32 = np.sqrt(np.einsum("ij,ij->i", diff, diff, dtype=np.float32))
    elif distance is Distance.MANHATTAN:
        out = np.abs(vectors - query).sum(axis=1, dtype=np.float32)
    else:
        out = vectors @ query
    return out
