"""Queries by example: recommend, discover and context, with Qdrant's scoring.

An example is a vector or a point id; an id stands for that point's vector, read from the
collection searched or from `lookup_from` (another collection, and there the vector `vector`, by
default the one named like `using`). Ids read from the collection searched are left out of the
answer. Examples are dense vectors of the `using` vector; a sparse `using` takes sparse examples
for average_vector only (and no lookup_from); multivectors are refused by name.

* `recommend` with `average_vector` (the default) is a plain nearest search for
  avg(positive) + avg(positive) - avg(negative), or avg(positive) with no negatives.
* The other queries score each candidate from its similarity s(x, e) to every example e, where s
  is the distance's own "larger is closer" measure: the dot product for Dot and Cosine (unit
  vectors), minus the squared distance for Euclid, minus the L1 distance for Manhattan. With
  sig(x) = x / (1 + |x|) and half(x) = (sig(x) + 1) / 2:
  - `best_score`: p = max s over positives, n = max over negatives (-inf without any);
    half(p) when p > n, else -half(n).
  - `sum_scores`: sum of s over positives minus the sum over negatives.
  - `discover`: for each context pair +1 if s(pos) > s(neg), -1 if below, 0 if equal; summed, plus
    half(s(target)).
  - `context`: the sum over pairs of sig(min(s(pos) - s(neg) - EPSILON, 0)) (0 at best).
  Their scores are always "larger is better", whatever the distance.

Cost: `sum_scores` for Dot and Cosine is linear in the examples, so it runs as one nearest search
(for the sum of the positives minus the sum of the negatives; see Summed), as cheap as any. The
others are scored exactly over every candidate the filter keeps (a scan, in worker threads when
large; zoro.services.prefetch), which gives local mode's answers exactly where Qdrant's HNSW
search with these scores is approximate, and costs time in proportion to the points scanned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np
import numpy.typing as npt

from zoro.errors import CollectionNotFound, NotFound, PointNotFound
from zoro.services import validate, vectors
from zoro.sparse.vectors import SparseBatch
from zoro.types import DenseSpec, Distance, keys_of
from zoro.wire import bounds, rules

if TYPE_CHECKING:
    from zoro.actors import CollectionActor
    from zoro.services.context import Context
    from zoro.types import PointId, SparseSpec

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

# The query kinds this module reads (the one key of a query object).
KINDS: Final = frozenset({"recommend", "discover", "context"})
STRATEGIES: Final = ("average_vector", "best_score", "sum_scores")
# Rust's f32::EPSILON, as Qdrant subtracts it in the context score
EPSILON: Final = 1.1920929e-7
# Each example costs a pass over every candidate: a bound on how many one query may give.
MAX_EXAMPLES: Final = bounds.QUERY_EXAMPLES_MAX
_LOOKUP_FIELDS: Final = frozenset({"collection", "vector", "shard_key"})
_RECOMMEND_FIELDS: Final = frozenset({"positive", "negative", "strategy"})
_PAIR_FIELDS: Final = frozenset({"positive", "negative"})


@dataclass(frozen=True, slots=True)
class Lookup:
    """Where example ids find their vectors."""

    actor: CollectionActor
    spec: DenseSpec
    same: bool  # the collection searched: its example points are left out of the answer


@dataclass(frozen=True, slots=True)
class Examples:
    """A query scored against examples (every score larger-is-better). `positive` and
    `negative` are (k, size) matrices; for discover and context row i of each is pair i."""

    kind: Literal["best_score", "sum_scores", "discover", "context"]
    distance: Distance
    positive: F32
    negative: F32
    target: F32 | None = None  # (size,) for discover

    def scores(self, rows: F32) -> F32:
        """Each row's score (rows: candidates' stored vectors of the `using` vector)."""
        pos = _similarities(self.distance, rows, self.positive)
        neg = _similarities(self.distance, rows, self.negative)
        if self.kind == "best_score":
            best_pos = pos.max(axis=1) if pos.shape[1] else np.full(len(rows), -np.inf)
            best_neg = neg.max(axis=1) if neg.shape[1] else np.full(len(rows), -np.inf)
            positive_side = best_pos > best_neg
            best = np.where(positive_side, best_pos, best_neg)  # finite: one side has examples
            out = np.where(positive_side, _half(best), -_half(best))
        elif self.kind == "sum_scores":
            out = pos.sum(axis=1) - neg.sum(axis=1)
        elif self.kind == "discover":
            assert self.target is not None
            near = _similarities(self.distance, rows, self.target[None, :])[:, 0]
            out = np.sign(pos - neg).sum(axis=1) + _half(near)
        else:
            out = _sigmoid(np.minimum(pos - neg - EPSILON, 0.0)).sum(axis=1)
        scores: F32 = out.astype(np.float32)
        return scores


@dataclass(frozen=True, slots=True)
class Summed:
    """A sum_scores recommendation for Dot or Cosine: the sum of dot products with the examples
    is the dot product with their sum q, so it is one nearest search for q; `vector` is q as
    searched (unit length for Cosine) and `scale` its length (1 for Dot), by which the
    search's scores are multiplied."""

    vector: F32
    scale: float


def _similarities(distance: Distance, rows: F32, examples: F32) -> F64:
    """(rows, examples) of "larger is closer" similarities: computed in float32 as Qdrant
    scores, returned as float64 for the sums and sigmoids that follow."""
    if distance is Distance.EUCLID or distance is Distance.MANHATTAN:
        out = np.empty((len(rows), len(examples)), dtype=np.float64)
        for i, example in enumerate(examples):
            diff = rows - example
            out[:, i] = -(
                np.einsum("ij,ij->i", diff, diff)
                if distance is Distance.EUCLID
                else np.abs(diff).sum(axis=1)
            )
        return out
    # einsum rather than BLAS: a few examples make a narrow product, where BLAS threads cost
    # more than they give (several times slower on a busy machine)
    product: F64 = np.einsum("ij,kj->ik", rows, examples).astype(np.float64)
    return product


def _sigmoid(x: F64) -> F64:
    out: F64 = x / (1.0 + np.abs(x))
    return out


def _half(x: F64) -> F64:
    return 0.5 * (_sigmoid(x) + 1.0)


# --- reading the wire shapes ------------------------------------------------------------------


def sparse_average(
    actor: CollectionActor,
    using: SparseSpec,
    value: object,
    field: str,
    mentioned: list[PointId],
) -> SparseBatch:
    """An average_vector recommendation by a sparse vector: avg(positive) + avg(positive) -
    avg(negative) index by index (an index a vector lacks counts 0 there), or avg(positive)
    without negatives, as one sparse row for a nearest search. Examples are sparse vectors or
    ids of this collection's points."""
    body: Mapping[str, Any] = value  # type: ignore[assignment]  # the schema's recommend object
    if (body.get("strategy") or "average_vector") != "average_vector":
        raise rules.QUERY_EXAMPLES.error(
            f"{field}.strategy",
            "a sparse vector is recommended by average_vector only "
            "(best_score and sum_scores are not supported for it)",
        )
    averages = []
    for side in ("positive", "negative"):
        items: list[Any] = body.get(side) or []
        if len(items) > MAX_EXAMPLES:
            raise rules.QUERY_EXAMPLES.error(
                f"{field}.{side}", f"a query takes at most {MAX_EXAMPLES} examples"
            )
        total: dict[int, float] = {}
        for i, item in enumerate(items):
            indices, values = _sparse_example(actor, using, item, f"{field}.{side}[{i}]", mentioned)
            for index, number in zip(indices.tolist(), values.tolist(), strict=True):
                total[index] = total.get(index, 0.0) + number
        averages.append({k: v / len(items) for k, v in total.items()})
    positive, negative = averages
    if not body.get("positive"):
        raise rules.QUERY_EXAMPLES.error(
            f"{field}.positive", "average_vector needs at least one positive example"
        )
    merged = positive
    if body.get("negative"):
        merged = {k: 2 * positive.get(k, 0.0) - negative.get(k, 0.0) for k in positive | negative}
    order = sorted(merged)
    return SparseBatch.from_lists([order], [[merged[k] for k in order]])


def _sparse_example(
    actor: CollectionActor, using: SparseSpec, value: object, field: str, mentioned: list[PointId]
) -> tuple[Any, Any]:
    """One sparse example's indices and values: as given, or a point's stored vector."""
    with rules.QUERY_VECTOR.covering():
        if isinstance(value, Mapping):
            return vectors.sparse_rows([value], [field]).row(0)
        point_id = validate.point_id(value, field)
    slots = actor.slots_of(keys_of([point_id]))
    if slots[0] < 0:
        raise PointNotFound(point_id)
    (row,) = actor.sparse_of_slots(slots, using.number)
    if row is None:
        raise rules.QUERY_VECTOR.error(
            field, f"point {point_id} has no vector of the kind searched"
        )
    mentioned.append(point_id)
    return row.row(0)


def dense(using: DenseSpec | SparseSpec, field: str, what: str) -> DenseSpec:
    """The `using` of a query by example, which must be a plain dense vector."""
    if not isinstance(using, DenseSpec) or using.multi:
        raise rules.QUERY_VECTOR.error(
            field,
            f"{what} needs a dense `using` vector (sparse and multivector ones are not supported)",
        )
    return using


def lookup(
    ctx: Context, actor: CollectionActor, value: object, using: DenseSpec, field: str
) -> Lookup:
    """`lookup_from` ({"collection", "vector"}; absent: the collection searched) for a query
    `using` this vector."""
    if value is None:
        return Lookup(actor, using, same=True)
    body: Mapping[str, Any] = value  # type: ignore[assignment]  # the schema's lookup_from
    name = body["collection"]
    try:
        other = ctx.manager.serving(name)
    except CollectionNotFound as exc:
        raise NotFound(f"{field}.collection: {exc.message}") from None
    vector = body.get("vector")
    if vector is None:  # the vector named like `using` there
        vector = next(n for n, s in actor.vectors.dense.items() if s == using)
    with rules.QUERY_USING.covering():
        spec = vectors.dense_or_sparse(other.vectors, vector, f"{field}.vector")
    if not isinstance(spec, DenseSpec) or spec.multi or spec.size != using.size:
        raise rules.QUERY_USING.error(
            f"{field}.vector",
            f"{vector!r} in collection {name!r} must be a dense vector of "
            f"size {using.size}, as the vector searched is",
        )
    return Lookup(other, spec, same=other is actor)


def example(
    source: Lookup, value: object, field: str, mentioned: list[PointId]
) -> npt.NDArray[np.float32]:
    """One example as a (size,) vector: as given (not normalised), or a point's stored one (its
    id is added to `mentioned` when it is a point of the collection searched)."""
    if isinstance(value, list):
        if value and isinstance(value[0], list):
            raise rules.QUERY_VECTOR.error(field, "multivector examples are not supported")
        # Distance.DOT: checked for size and finiteness, left as given (averaging comes first)
        with rules.QUERY_VECTOR.covering():
            row = validate.vector(value, field, source.spec.size, Distance.DOT)
        return row.reshape(-1)
    if isinstance(value, Mapping):
        raise rules.QUERY_VECTOR.error(
            field,
            "an example is a dense vector or a point id (sparse examples are not supported)",
        )
    with rules.QUERY_VECTOR.covering():
        point_id = validate.point_id(value, field)
    slots = source.actor.slots_of(keys_of([point_id]))
    if slots[0] < 0:
        raise PointNotFound(point_id)
    if not source.actor.present_mask(source.spec.number)[slots[0]]:
        raise rules.QUERY_VECTOR.error(
            field, f"point {point_id} has no vector of the kind searched"
        )
    if source.same:
        mentioned.append(point_id)
    return source.actor.vectors_of_slots(slots, source.spec.number).reshape(-1)


def _examples(
    source: Lookup, values: object, field: str, mentioned: list[PointId]
) -> npt.NDArray[np.float32]:
    items: list[Any] = [] if values is None else values  # type: ignore[assignment]  # an array
    return _stack(
        [example(source, v, f"{field}[{i}]", mentioned) for i, v in enumerate(items)],
        source.spec.size,
        field,
    )


def _stack(rows: list[F32], size: int, field: str) -> F32:
    if len(rows) > MAX_EXAMPLES:
        raise rules.QUERY_EXAMPLES.error(field, f"a query takes at most {MAX_EXAMPLES} examples")
    return np.stack(rows) if rows else np.empty((0, size), dtype=np.float32)


def unit(matrix: F32, distance: Distance) -> F32:
    """Rows scaled to unit length for Cosine (as stored vectors are), as they are otherwise."""
    if distance is not Distance.COSINE or not len(matrix):
        return matrix
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    out: F32 = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    return out


def recommend(
    source: Lookup, using: DenseSpec, value: object, field: str, mentioned: list[PointId]
) -> F32 | Summed | Examples:
    """`{"positive", "negative", "strategy"}`: the (1, size) query vector of an average_vector
    recommendation (normalised for Cosine), a sum_scores one for Dot or Cosine as a Summed
    vector, or the Examples of any other."""
    body: Mapping[str, Any] = value  # type: ignore[assignment]  # the schema's recommend object
    strategy = body.get("strategy") or "average_vector"  # one of STRATEGIES (the schema's enum)
    positive = _examples(source, body.get("positive"), f"{field}.positive", mentioned)
    negative = _examples(source, body.get("negative"), f"{field}.negative", mentioned)
    if len(positive) + len(negative) > MAX_EXAMPLES:
        raise rules.QUERY_EXAMPLES.error(field, f"a query takes at most {MAX_EXAMPLES} examples")
    if strategy == "average_vector":
        if not len(positive):
            raise rules.QUERY_EXAMPLES.error(
                f"{field}.positive", "average_vector needs at least one positive example"
            )
        mean = positive.mean(axis=0, dtype=np.float64)
        if len(negative):
            mean = mean + mean - negative.mean(axis=0, dtype=np.float64)
        return unit(mean.astype(np.float32)[None, :], using.distance)
    if not len(positive) and not len(negative):
        raise rules.QUERY_EXAMPLES.error(
            field, f"{strategy} needs at least one positive or negative example"
        )
    if strategy == "sum_scores" and using.distance in (Distance.DOT, Distance.COSINE):
        summed = unit(positive, using.distance).sum(axis=0, dtype=np.float64) - unit(
            negative, using.distance
        ).sum(axis=0, dtype=np.float64)
        if using.distance is Distance.DOT:
            return Summed(summed.astype(np.float32)[None, :], 1.0)
        length = float(np.linalg.norm(summed))
        return Summed(unit(summed.astype(np.float32)[None, :], using.distance), length)
    kind: Literal["best_score", "sum_scores"] = (
        "best_score" if strategy == "best_score" else "sum_scores"
    )
    return Examples(
        kind, using.distance, unit(positive, using.distance), unit(negative, using.distance)
    )


def pairs(source: Lookup, value: object, field: str, mentioned: list[PointId]) -> tuple[F32, F32]:
    """Context pairs (a list of {"positive", "negative"}, or one): their positives and
    negatives as two matrices, row i of each from pair i."""
    # the schema's pair, or list of pairs, each with both sides
    items: list[Any] = [value] if isinstance(value, Mapping) else list(value)  # type: ignore[call-overload]
    positives, negatives = [], []
    for i, pair in enumerate(items):
        where = f"{field}[{i}]" if not isinstance(value, Mapping) else field
        positives.append(example(source, pair["positive"], f"{where}.positive", mentioned))
        negatives.append(example(source, pair["negative"], f"{where}.negative", mentioned))
    size = source.spec.size
    return _stack(positives, size, field), _stack(negatives, size, field)


def discover(
    source: Lookup, using: DenseSpec, value: object, field: str, mentioned: list[PointId]
) -> Examples:
    """`{"target", "context"}`."""
    body: Mapping[str, Any] = value  # type: ignore[assignment]  # {target, context}: the schema's
    target = example(source, body["target"], f"{field}.target", mentioned)
    context = body.get("context")
    given = [] if context is None else context
    positive, negative = pairs(source, given, f"{field}.context", mentioned)
    return Examples(
        "discover",
        using.distance,
        unit(positive, using.distance),
        unit(negative, using.distance),
        target=unit(target[None, :], using.distance)[0],
    )


def context(
    source: Lookup, using: DenseSpec, value: object, field: str, mentioned: list[PointId]
) -> Examples:
    """A list of context pairs (or one pair)."""
    positive, negative = pairs(source, value, field, mentioned)  # at least one (the schema's)
    return Examples(
        "context", using.distance, unit(positive, using.distance), unit(negative, using.distance)
    )
