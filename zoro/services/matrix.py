"""Qdrant's distance matrix (`/points/search/matrix/pairs` and `/points/search/matrix/offsets`).

A random sample of `sample` points (among those that pass `filter` and carry the vector `using`),
and for each one its `limit` nearest neighbours among the other sampled points, scored by the
vector's distance. The sample is ordered by point id (as qdrant-client's local mode orders it),
and each point's neighbours best first. Fewer than two points to sample give an empty matrix.

Pairs lists (a, b, score) per neighbour; offsets gives the same as a sparse matrix over the
sampled ids: row and column offsets into `ids`, with the scores.

Scores are exact: the sample's vectors are scored against each other in bounded blocks of rows,
in a worker thread when the work is large. Dense single vectors only (not sparse, not multi).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt
import trio

from zoro.actors.numbering import reads
from zoro.services import filters, vectors
from zoro.services.prefetch import exact_scores
from zoro.types import DenseSpec, ids_of
from zoro.wire import rules
from zoro.wire.check import check, whole

if TYPE_CHECKING:
    from zoro.services.context import Context

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

_DEFAULT_SAMPLE: Final = 10
_DEFAULT_LIMIT: Final = 3
# Scores are computed this many floats of the score matrix at a time.
_BLOCK_FLOATS: Final = 1 << 20
# Above this many multiply-adds (sample x sample x dimension) the scoring runs in a thread.
_INLINE_WORK: Final = 4_000_000


async def pairs(ctx: Context, name: str, body: object) -> dict[str, Any]:
    ids, rows, cols, scores = await _matrix(ctx, name, body)
    return {
        "pairs": [
            {"a": ids[r], "b": ids[c], "score": s}
            for r, c, s in zip(rows.tolist(), cols.tolist(), scores.tolist(), strict=True)
        ]
    }


async def offsets(ctx: Context, name: str, body: object) -> dict[str, Any]:
    ids, rows, cols, scores = await _matrix(ctx, name, body)
    return {
        "offsets_row": rows.tolist(),
        "offsets_col": cols.tolist(),
        "scores": scores.tolist(),
        "ids": ids,
    }


@reads
async def _matrix(ctx: Context, name: str, body: object) -> tuple[list[Any], I64, I64, F32]:
    actor = await ctx.manager.reading(name)
    # pairs and offsets take the same body (one schema, registered under both names)
    body = check("search_matrix_pairs", {} if body is None else body, ctx.limits)
    sample = body.get("sample")
    sample = _DEFAULT_SAMPLE if sample is None else whole(sample, "body.sample")
    limit = body.get("limit")
    limit = _DEFAULT_LIMIT if limit is None else whole(limit, "body.limit")
    with rules.MATRIX_VECTOR.covering():
        using = vectors.dense_or_sparse(actor.vectors, body.get("using"), "body.using")
    if not isinstance(using, DenseSpec) or using.multi:
        raise rules.MATRIX_VECTOR.error(
            "body.using", "the distance matrix needs a dense vector (not sparse, not multi)"
        )
    condition = filters.parse(body.get("filter"), "body.filter", checked=True)
    chosen = np.array(actor.store.live_mask(), copy=True)
    present = actor.present_mask(using.number)
    chosen[len(present) :] = False
    chosen[: len(present)] &= present[: len(chosen)]
    if condition is not None:
        selected = (await actor.select(condition)).mask
        chosen[len(selected) :] = False
        chosen[: len(selected)] &= selected[: len(chosen)]
    slots = sampled(np.flatnonzero(chosen), sample)
    if len(slots) < 2:
        empty = np.empty(0, dtype=np.int64)
        return [], empty, empty, np.empty(0, dtype=np.float32)
    keys = actor.keys_of_slots(slots)
    order = np.argsort(keys, kind="stable")  # by point id
    slots = slots[order]
    rows = actor.vectors_of_slots(slots, using.number)
    work = len(slots) * len(slots) * using.size
    if work <= _INLINE_WORK:
        found = neighbours(rows, limit, using)
    else:
        found = await trio.to_thread.run_sync(neighbours, rows, limit, using)
    return ids_of(actor.keys_of_slots(slots)), *found


def sampled(candidates: I64, sample: int) -> I64:
    """A uniform random sample of `sample` candidates (all of them when there are no more)."""
    if len(candidates) <= sample:
        return candidates
    picked = np.random.default_rng().choice(len(candidates), size=sample, replace=False)
    return candidates[picked]


def neighbours(rows: F32, limit: int, using: DenseSpec) -> tuple[I64, I64, F32]:
    """For each row, its `limit` best-scoring other rows: (row offsets, column offsets, scores),
    row by row, each row's best first."""
    n = len(rows)
    take = min(limit, n - 1)
    higher_is_better = using.distance.higher_is_better
    block = max(1, _BLOCK_FLOATS // n)
    out_rows, out_cols, out_scores = [], [], []
    for start in range(0, n, block):
        part = np.arange(start, min(n, start + block))
        scores = _block_scores(using, rows, part)
        ranked = -scores if higher_is_better else scores.copy()
        ranked[np.arange(len(part)), part] = np.inf  # a point is not its own neighbour
        best = np.argsort(ranked, axis=1, kind="stable")[:, :take]
        out_rows.append(np.repeat(part, take))
        out_cols.append(best.ravel())
        out_scores.append(np.take_along_axis(scores, best, axis=1).ravel())
    return (
        np.concatenate(out_rows).astype(np.int64),
        np.concatenate(out_cols).astype(np.int64),
        np.concatenate(out_scores).astype(np.float32),
    )


def _block_scores(using: DenseSpec, rows: F32, part: I64) -> F32:
    """Scores of rows[part] against every row: one matrix product for similarities, row by
    row for distances (exactly as a search scores them)."""
    if using.distance.higher_is_better:
        out: F32 = rows[part] @ rows.T
        return out
    return np.stack([exact_scores(using.distance, rows, rows[i]) for i in part])
