"""Grouped search: Qdrant's `/points/query/groups` and the older `/points/search/groups`.

A group search ranks points as a query does, then keeps the best `group_size` hits of each value
of the payload key `group_by`, for the `limit` groups whose best hit ranks highest. Qdrant's rules
for the key: its values are the values at the path (an array counts as its elements, so one point
may join several groups); only strings and integers make groups, and a point holding any other
value there (a float, a bool, null, an object) joins none, as a point without the key does.

`group` works over any ranking: a function giving the best `k` candidates of a query, optionally
restricted by one more filter (see `Ranking`); queries with prefetches, and any query kind the
query API grows, rank through `tree_ranking`. The answer is the one a ranking of every point would
give, found without ranking every point:

1. Discovery: rank `limit * group_size` candidates; while fewer than `limit` groups are known and
   the ranking was not exhausted, rank four times as many. Groups are ordered by their first hit,
   so once `limit` groups are known the best ones are fixed: any group found later ranks below.
2. Filling: a best group with fewer than `group_size` hits may have more members further down.
   When the key has a payload index (which answers the match cheaply), rank again only among the
   unfilled best groups' members (`match any` of their values); otherwise keep widening the
   ranking of step 1. Either stops when every best group is full or the ranking is exhausted.

Qdrant's server does the same in at most 5 + 5 rounds and may stop short; this goes on until
the answer is complete, each round's candidate count growing fourfold.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import orjson

from zoro.actors.numbering import reads
from zoro.errors import BadRequest
from zoro.payload.conditions import Filter, KeyPath, Match, parse_key
from zoro.services import prefetch, shapes, vectors

# reads a group's value as a point id (to look it up), refusing nothing: a value that is no id
# looks nothing up
from zoro.services.validate import point_id as as_point_id
from zoro.types import keys_of
from zoro.wire import rules
from zoro.wire.check import check, whole

if TYPE_CHECKING:
    from zoro.actors import CollectionActor
    from zoro.services.context import Context

GroupId = str | int

Ranking = Callable[[int, Filter | None], Awaitable[prefetch.Ranked]]
"""`ranking(k, extra)`: the best k candidates (slots, best first, with scores) of one query,
among the points that also pass `extra` when it is given. Fewer than k means no more exist."""

# The fields a group request adds to the query or search it groups.
GROUP_FIELDS: Final = frozenset({"group_by", "group_size", "limit", "with_lookup"})
_DEFAULT_GROUP_SIZE: Final = 3  # Qdrant's defaults
_DEFAULT_GROUPS: Final = 10
# Each widening round ranks this many times the candidates of the one before.
_GROWTH: Final = 4


@dataclass(frozen=True, slots=True)
class Lookup:
    """`with_lookup`: each group's id looked up as a point id in another collection."""

    collection: str
    selector: shapes.PayloadSelector
    with_vectors: object  # checked against that collection's vectors when it is read


@dataclass(frozen=True, slots=True)
class Spec:
    """How to group: by which key, how many hits per group, how many groups."""

    key: KeyPath
    size: int
    limit: int
    lookup: Lookup | None


@dataclass(slots=True)
class Group:
    id: GroupId
    slots: list[int]
    scores: list[float]


def parse_spec(body: Mapping[str, Any], ctx: Context, where: str = "body") -> Spec:
    """The group fields of a request (`group_by`, `group_size`, `limit`, `with_lookup`)."""
    try:
        key = parse_key(body["group_by"])  # a string: the schema requires it
    except ValueError as exc:
        raise rules.GROUP_BY.error(f"{where}.group_by", str(exc)) from None
    high = ctx.limits.max_limit
    size = _count(body.get("group_size"), _DEFAULT_GROUP_SIZE, f"{where}.group_size")
    limit = _count(body.get("limit"), _DEFAULT_GROUPS, f"{where}.limit")
    # the answer holds up to size x limit hits: at most ten times a plain query's limit
    if size * limit > high * 10:
        raise rules.GROUP_HITS.error(
            where, f"group_size x limit is {size * limit}; at most {high * 10} hits in all"
        )
    return Spec(key, size, limit, _lookup(body.get("with_lookup"), f"{where}.with_lookup"))


def _count(value: object, default: int, field: str) -> int:
    return default if value is None else whole(value, field)  # the schema bounds it


def _lookup(value: object, where: str) -> Lookup | None:
    if value is None:
        return None
    if isinstance(value, str):
        return Lookup(value, shapes.FULL_PAYLOAD, False)
    # the schema's {collection, with_payload, with_vectors}
    options: Mapping[str, Any] = value  # type: ignore[assignment]
    collection = options["collection"]
    selector = shapes.payload_selector(
        options.get("with_payload"), f"{where}.with_payload", default=True
    )
    return Lookup(collection, selector, options.get("with_vectors"))


# --- the requests ---------------------------------------------------------------------------

# The older search, recommend and discover routes are answered by the Query API's code, whose
# refusals name the Query API's rules: each names, on those routes, the rule their schemas list
# for the same thing.
SEARCH_RULES: Final = {
    rules.QUERY_USING.id: rules.VECTOR_NAME,
    rules.WITH_VECTOR_NAMES.id: rules.VECTOR_NAME,
    rules.QUERY_VECTOR.id: rules.VECTOR_SHAPE,
}
BY_EXAMPLE_RULES: Final = {
    **SEARCH_RULES,
    rules.QUERY_VECTOR.id: rules.EXAMPLE_VECTOR,
    rules.QUERY_EXAMPLES.id: rules.EXAMPLE_COUNT,
}


@contextmanager
def named_as(older: Mapping[str, rules.Rule]) -> Iterator[None]:
    """A refusal in the block naming a Query API rule names `older`'s rule for it instead."""
    try:
        yield
    except BadRequest as exc:
        named = rules.TAG.search(exc.message)
        if named and named.group(1) in older:
            exc.message = f"{exc.message[: named.start()]} [rule: {older[named.group(1)].id}]"
            exc.args = (exc.message,)
        raise


@reads
async def query_groups(ctx: Context, name: str, body: object) -> dict[str, Any]:
    actor = await ctx.manager.reading(name)
    body = check("query_points_groups", body, ctx.limits)
    spec = parse_spec(body, ctx)
    query = {k: v for k, v in body.items() if k not in GROUP_FIELDS}
    return await _answer(ctx, actor, query, spec)


@reads
async def search_groups(ctx: Context, name: str, body: object) -> dict[str, Any]:
    """The older search API's groups: its `vector` (plain, or `{"name", "vector"}`) becomes a
    query by that vector, so both requests rank alike."""
    actor = await ctx.manager.reading(name)
    body = check("search_point_groups", body, ctx.limits)
    spec = parse_spec(body, ctx)
    query = {k: v for k, v in body.items() if k not in GROUP_FIELDS and k != "vector"}
    vector = body["vector"]
    if isinstance(vector, dict):  # the schema's only object form: {"name", "vector"}
        query["using"], vector = vector["name"], vector["vector"]
    query["query"] = vector
    with named_as(SEARCH_RULES):
        return await _answer(ctx, actor, query, spec)


async def _answer(
    ctx: Context, actor: CollectionActor, query: dict[str, Any], spec: Spec
) -> dict[str, Any]:
    tree = prefetch.plan(actor, query, ctx)
    found = await group(actor, tree_ranking(actor, tree.root, spec.limit), spec)
    return {
        "groups": await render(ctx, actor, found, spec, tree.selector, tree.with_vector),
    }


def tree_ranking(actor: CollectionActor, root: prefetch.Node, groups: int) -> Ranking:
    """The ranking of a checked query (with or without prefetches). As on Qdrant's server, each
    prefetch ranks `groups` times its own limit, so its candidates can fill that many groups."""
    widened = _widen(root, groups, top=True)

    async def ranking(k: int, extra: Filter | None) -> prefetch.Ranked:
        node = dataclasses.replace(widened, limit=k, offset=0)
        if extra is not None:
            node = _restricted(node, extra)
        return await prefetch.ranked_node(actor, node)

    return ranking


def _widen(node: prefetch.Node, groups: int, *, top: bool = False) -> prefetch.Node:
    limit = node.limit if top else min(node.limit * groups, prefetch.MAX_CANDIDATES)
    children = tuple(_widen(c, groups) for c in node.children)
    return dataclasses.replace(node, limit=limit, children=children)


def _restricted(node: prefetch.Node, extra: Filter) -> prefetch.Node:
    """`node` with `extra` joined to its filter and to every filter below (filters flow down)."""
    return dataclasses.replace(
        node,
        filter=prefetch.merge(node.filter, extra),
        children=tuple(_restricted(c, extra) for c in node.children),
    )


# --- grouping -------------------------------------------------------------------------------


async def group(actor: CollectionActor, ranking: Ranking, spec: Spec) -> list[Group]:
    """The best `spec.limit` groups of `ranking`'s points, each with its best `spec.size` hits
    (see the module's docstring for the rounds)."""
    values = _GroupValues(actor, spec.key)
    live = max(1, actor.count())
    k = min(spec.limit * spec.size, live)
    index = actor.payload_index(spec.key.text)
    # an index answers the fill's `match any` from its postings; without one it would scan
    by_filter = index is not None and index.answers(Match(spec.key, "any", frozenset(), None))
    while True:
        ranked = await ranking(k, None)
        groups = _aggregate(ranked, values, spec.size, None)
        best = list(groups.values())[: spec.limit]
        exhausted = len(ranked.slots) < k or k >= live
        if exhausted or (len(groups) >= spec.limit and all(_full(g, spec) for g in best)):
            return best
        if len(groups) >= spec.limit and by_filter:
            break
        k = min(k * _GROWTH, live)
    return await _fill(best, ranking, values, spec)


async def _fill(
    best: list[Group], ranking: Ranking, values: _GroupValues, spec: Spec
) -> list[Group]:
    """Rank only among the unfilled best groups' members until they are full or exhausted."""
    unfilled = {g.id: g for g in best if not _full(g, spec)}
    k = 2 * spec.size * len(unfilled)
    while unfilled:
        ranked = await ranking(k, _members_of(spec.key, list(unfilled)))
        again = _aggregate(ranked, values, spec.size, set(unfilled))
        for gid, found in again.items():
            known = unfilled[gid]
            if len(found.slots) >= len(known.slots):  # a prefix of the group's own ranking
                known.slots, known.scores = found.slots, found.scores
        if len(ranked.slots) < k:
            break
        unfilled = {gid: g for gid, g in unfilled.items() if not _full(g, spec)}
        k *= _GROWTH
    return best


def _full(group: Group, spec: Spec) -> bool:
    return len(group.slots) >= spec.size


def _aggregate(
    ranked: prefetch.Ranked, values: _GroupValues, size: int, only: set[GroupId] | None
) -> dict[GroupId, Group]:
    """Groups in order of their first hit, each with its first `size` hits; `only`: just these
    groups."""
    groups: dict[GroupId, Group] = {}
    slots = ranked.slots.tolist()
    scores = ranked.scores.tolist()
    for slot, score, ids in zip(slots, scores, values.of(ranked.slots), strict=True):
        for gid in ids:
            if only is not None and gid not in only:
                continue
            found = groups.get(gid)
            if found is None:
                found = groups[gid] = Group(gid, [], [])
            if len(found.slots) < size:
                found.slots.append(slot)
                found.scores.append(score)
    return groups


def _members_of(key: KeyPath, ids: list[GroupId]) -> Filter:
    """The points holding any of these group ids at `key` (ints and strings matched apart)."""
    strings = frozenset(i for i in ids if isinstance(i, str))
    ints = frozenset(i for i in ids if isinstance(i, int))
    parts = [Match(key, "any", strings, str)] if strings else []
    if ints:
        parts.append(Match(key, "any", ints, int))
    return Filter(must=tuple(parts)) if len(parts) == 1 else Filter(should=tuple(parts))


class _GroupValues:
    """The group ids of each slot, read from its payload once per request."""

    def __init__(self, actor: CollectionActor, key: KeyPath) -> None:
        self._actor = actor
        self._key = key
        self._known: dict[int, tuple[GroupId, ...]] = {}

    def of(self, slots: np.ndarray[Any, Any]) -> list[tuple[GroupId, ...]]:
        known = self._known
        missing = [s for s in slots.tolist() if s not in known]
        if missing:
            payloads = self._actor.payloads_of_slots(np.array(missing, dtype=np.int64))
            for slot, raw in zip(missing, payloads, strict=True):
                known[slot] = group_ids(self._key, orjson.loads(raw))
        return [known[s] for s in slots.tolist()]


def group_ids(key: KeyPath, payload: Any) -> tuple[GroupId, ...]:
    """The groups a payload joins: its distinct string and integer values at `key`, in payload
    order; none when any value there is of another kind (as on Qdrant's server)."""
    if not isinstance(payload, dict):
        return ()
    found = key.values(payload)
    if any(type(v) is not str and type(v) is not int for v in found):
        return ()
    return tuple(dict.fromkeys(found))


# --- the answer -----------------------------------------------------------------------------


async def render(
    ctx: Context,
    actor: CollectionActor,
    groups: list[Group],
    spec: Spec,
    selector: shapes.PayloadSelector,
    with_vector: list[str],
) -> list[dict[str, Any]]:
    """Qdrant's PointGroup objects: `id`, `hits` (ScoredPoints) and, with `with_lookup`, the
    point whose id is the group's id in the lookup collection (left out when there is none)."""
    out = []
    for g in groups:
        hits = shapes.scored_points(
            actor,
            np.array(g.scores, dtype=np.float64),
            np.array(g.slots, dtype=np.int64),
            selector,
            with_vector,
        )
        out.append({"id": g.id, "hits": hits})
    if spec.lookup is not None and groups:
        _attach_lookups(ctx, out, spec.lookup)
    return out


def _attach_lookups(ctx: Context, groups: list[dict[str, Any]], lookup: Lookup) -> None:
    other = ctx.manager.serving(lookup.collection)
    with rules.WITH_VECTOR_NAMES.covering():
        with_vector = vectors.with_vector(
            lookup.with_vectors, other.vectors, "with_lookup.with_vectors"
        )
    for group in groups:
        try:
            point_id = as_point_id(group["id"], "id")
        except BadRequest:
            continue  # a group id that is no point id looks nothing up
        slots = other.slots_of(keys_of([point_id]))
        if slots[0] >= 0:
            group["lookup"] = shapes.records(other, slots, lookup.selector, with_vector)[0]
