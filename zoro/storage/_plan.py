"""Turning a run of WAL operations into steps the store can apply (pure, no I/O).

Planning happens before anything is written or changed, so a bad batch (a programming error: the
services layer validates input) is refused whole, and the store knows every byte it will append
before it writes the first one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from zoro.sparse.vectors import SparseBatch
from zoro.types import (
    KEY_DTYPE,
    DeleteBatch,
    DenseColumn,
    MultiColumn,
    SparseColumn,
    UpsertBatch,
    WriteGroup,
)

from . import _keys

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import numpy.typing as npt

    from zoro.types import Keys, VectorConfig, Vectors, WriteOp

T = TypeVar("T", bound=np.generic)


@dataclass(frozen=True, slots=True)
class Layout:
    """The vectors a store keeps, by number (the store knows no names): dense number -> size,
    the sparse numbers, multivector number -> row size."""

    dense: Mapping[int, int]
    sparse: tuple[int, ...] = ()
    multi: Mapping[int, int] = field(default_factory=dict)

    @classmethod
    def single(cls, dimension: int) -> Layout:
        return cls({0: dimension})

    @classmethod
    def of(cls, config: VectorConfig) -> Layout:
        return cls(config.dense_numbers(), tuple(config.sparse_numbers()), config.multi_numbers())


@dataclass(frozen=True, slots=True, eq=False)
class Upsert:
    """Points to write, one new slot each, numbered from `first_slot` in batch order.

    A key repeated in the batch is written once, where its last occurrence stood. The index
    wants the same keys sorted: `index_keys` with `index_slots`. `dense[n]`: which points carry
    dense vector n and every point's row (zeros where absent); `sparse[n]`: which carry sparse
    vector n and their rows, in batch order.
    """

    keys: Keys
    payloads: list[bytes]
    first_slot: int
    index_keys: Keys  # sorted, unique
    index_slots: npt.NDArray[np.int64]
    dense: dict[int, tuple[npt.NDArray[np.bool_], Vectors]]
    sparse: dict[int, tuple[npt.NDArray[np.bool_], SparseBatch]]
    multi: dict[int, tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64], Vectors]]


@dataclass(frozen=True, slots=True, eq=False)
class Delete:
    keys: Keys  # sorted and unique


Step = Upsert | Delete


@dataclass(frozen=True, slots=True, eq=False)
class _Deduped:
    order: npt.NDArray[np.intp] | None  # sorts the batch by key; None: already ascending
    take: npt.NDArray[np.intp] | None  # positions of last occurrences, ascending; None: all


def _dedupe(keys: Keys) -> _Deduped:
    """How to sort a batch by key and which positions survive (the last of each key)."""
    if len(keys) < 2 or bool(np.all(keys[1:] > keys[:-1])):
        return _Deduped(None, None)  # the common case for integer ids: no sort, no gathers
    order = _keys.argsort(keys)  # equal keys stay in batch order, so the last one comes last
    ordered = keys[order]
    last = np.ones(len(keys), dtype=np.bool_)
    last[:-1] = ordered[1:] != ordered[:-1]
    if bool(last.all()):
        return _Deduped(order, None)
    return _Deduped(order[last], np.sort(order[last]))


def _keys_of(op: UpsertBatch | DeleteBatch) -> Keys:
    keys = np.asarray(op.keys, dtype=KEY_DTYPE)
    if keys.ndim != 1 or not _keys.valid(keys):
        raise ValueError("keys must be a 1-d array of point keys made by zoro.types")
    return keys


def _columns(
    run: list[UpsertBatch], layout: Layout
) -> tuple[
    dict[int, tuple[npt.NDArray[np.bool_], Vectors]],
    dict[int, tuple[npt.NDArray[np.bool_], SparseBatch]],
    dict[int, tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64], Vectors]],
]:
    """Every vector of `layout` over the joined run: dense rows full (zeros where absent),
    sparse rows compact. Columns of numbers the layout lacks (a vector dropped since the record
    was logged) are left out."""
    dense: dict[int, tuple[npt.NDArray[np.bool_], Vectors]] = {}
    for number, size in layout.dense.items():
        present, rows = [], []
        for op in run:
            column = op.column(number)
            n = len(op.keys)
            if column is None:
                present.append(np.zeros(n, dtype=np.bool_))
                rows.append(np.zeros((n, size), dtype=np.float32))
                continue
            if not isinstance(column, DenseColumn) or column.rows.shape[1:] != (size,):
                raise ValueError(f"vector {number}: expected dense rows of dimension {size}")
            mask = np.asarray(column.present, dtype=np.bool_)
            if mask.shape != (n,) or len(column.rows) != int(np.count_nonzero(mask)):
                raise ValueError(f"vector {number}: presence and rows do not match")
            if bool(mask.all()):
                full = np.asarray(column.rows, dtype=np.float32)
            else:
                full = np.zeros((n, size), dtype=np.float32)
                full[mask] = column.rows
            present.append(mask)
            rows.append(full)
        dense[number] = (_joined(present), _joined(rows))
    sparse: dict[int, tuple[npt.NDArray[np.bool_], SparseBatch]] = {}
    for number in layout.sparse:
        present, batches = [], []
        for op in run:
            column = op.column(number)
            if column is None:
                present.append(np.zeros(len(op.keys), dtype=np.bool_))
                continue
            if not isinstance(column, SparseColumn):
                raise ValueError(f"vector {number}: expected sparse rows")
            mask = np.asarray(column.present, dtype=np.bool_)
            if mask.shape != (len(op.keys),) or len(column.rows) != int(np.count_nonzero(mask)):
                raise ValueError(f"vector {number}: presence and rows do not match")
            present.append(mask)
            batches.append(column.rows)
        joined = SparseBatch.concat(batches) if batches else SparseBatch.empty()
        sparse[number] = (_joined(present), joined)
    multi: dict[int, tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64], Vectors]] = {}
    for number, size in layout.multi.items():
        present, counts, matrices = [], [], []
        for op in run:
            column = op.column(number)
            if column is None:
                present.append(np.zeros(len(op.keys), dtype=np.bool_))
                continue
            if not isinstance(column, MultiColumn) or column.rows.shape[1:] != (size,):
                raise ValueError(f"vector {number}: expected matrices of rows of size {size}")
            mask = np.asarray(column.present, dtype=np.bool_)
            sizes = np.asarray(column.counts, dtype=np.int64)
            if mask.shape != (len(op.keys),) or len(sizes) != int(np.count_nonzero(mask)):
                raise ValueError(f"vector {number}: presence and matrices do not match")
            if int(sizes.sum()) != len(column.rows) or (len(sizes) and int(sizes.min()) < 1):
                raise ValueError(f"vector {number}: row counts do not add up to the rows")
            present.append(mask)
            counts.append(sizes)
            matrices.append(np.asarray(column.rows, dtype=np.float32))
        multi[number] = (
            _joined(present),
            _joined(counts) if counts else np.empty(0, np.int64),
            _joined(matrices) if matrices else np.empty((0, size), np.float32),
        )
    return dense, sparse, multi


def _joined(parts: list[npt.NDArray[T]]) -> npt.NDArray[T]:
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _upsert(run: list[UpsertBatch], layout: Layout, first_slot: int) -> Upsert:
    """Consecutive upserts as one step. Applied together, "last occurrence wins" over the joined
    batch gives the state the upserts give one by one, and a group commit of many single-point
    writes then costs one index update and one check instead of one each. (`plan` joins
    upserts of different records only when no key repeats among them.)"""
    keys = _joined([_keys_of(op) for op in run])
    payloads = [p for op in run for p in op.payloads]
    if len(payloads) != len(keys):
        raise ValueError(f"upsert of {len(keys)} keys with {len(payloads)} payloads")
    dense, sparse, multi = _columns(run, layout)
    plan = _dedupe(keys)
    if plan.take is not None:  # repeats: keep the last occurrences, in batch order
        take = plan.take
        keys = keys[take]
        payloads = [payloads[i] for i in take.tolist()]
        dense = {n: (present[take], rows[take]) for n, (present, rows) in dense.items()}
        sparse = {n: _take_sparse(present, rows, take) for n, (present, rows) in sparse.items()}
        multi = {n: _take_multi(*column, take) for n, column in multi.items()}
    slots = np.arange(first_slot, first_slot + len(keys), dtype=np.int64)
    if plan.order is None:
        return Upsert(keys, payloads, first_slot, keys, slots, dense, sparse, multi)
    # plan.order indexes the original batch; map it to positions among the kept entries
    rank = plan.order if plan.take is None else np.searchsorted(plan.take, plan.order)
    return Upsert(keys, payloads, first_slot, keys[rank], slots[rank], dense, sparse, multi)


def _take_sparse(
    present: npt.NDArray[np.bool_], rows: SparseBatch, take: npt.NDArray[np.intp]
) -> tuple[npt.NDArray[np.bool_], SparseBatch]:
    row_of = np.cumsum(present) - 1  # batch position -> row among the present ones
    kept = take[present[take]]
    return present[take], rows.rows(row_of[kept].astype(np.int64))


def _take_multi(
    present: npt.NDArray[np.bool_],
    counts: npt.NDArray[np.int64],
    rows: Vectors,
    take: npt.NDArray[np.intp],
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64], Vectors]:
    matrix_of = np.cumsum(present) - 1  # batch position -> matrix among the present ones
    kept = matrix_of[take[present[take]]]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    picked = [rows[starts[j] : starts[j] + counts[j]] for j in kept.tolist()]
    stacked = np.concatenate(picked) if picked else np.empty((0, rows.shape[1]), np.float32)
    return present[take], counts[kept], stacked


def plan(
    items: Sequence[tuple[int, WriteOp]], applied_lsn: int, layout: Layout, next_slot: int
) -> tuple[list[Step], int]:
    """Steps for the items above `applied_lsn`, and the last lsn among them (or applied_lsn).

    Raises ValueError (and plans nothing) if the lsns do not increase or a batch is malformed.
    """
    steps: list[Step] = []
    last = applied_lsn
    previous: int | None = None
    run: list[UpsertBatch] = []  # consecutive upserts, planned as one (see _upsert)
    run_lsns: list[int] = []  # the LSN of each of them

    def flush() -> None:
        nonlocal next_slot
        if not run:
            return
        step = _upsert(run, layout, next_slot)
        if step.keys.shape[0] < sum(len(_keys_of(op)) for op in run) and len(set(run_lsns)) > 1:
            # A key repeats: plan record by record. Slots must not depend on how records are
            # grouped into calls (a follower applies the WAL in other groups than its owner
            # did, docs/workers.md), and joined, a repeat across records would take one slot
            # where record by record it takes two. Without repeats both number alike.
            groups: dict[int, list[UpsertBatch]] = {}
            for lsn, op in zip(run_lsns, run, strict=True):
                groups.setdefault(lsn, []).append(op)
            for ops in groups.values():
                step = _upsert(ops, layout, next_slot)
                next_slot += len(step.keys)
                steps.append(step)
        else:
            next_slot += len(step.keys)
            steps.append(step)
        run.clear()
        run_lsns.clear()

    for lsn, op in items:
        if previous is not None and lsn <= previous:
            raise ValueError(f"lsn {lsn} after {previous}: items must be in increasing lsn order")
        previous = lsn
        if lsn <= applied_lsn:
            continue  # already applied: replay after a crash, or a retry
        last = lsn
        for part in op.ops if isinstance(op, WriteGroup) else (op,):
            if isinstance(part, UpsertBatch):
                run.append(part)
                run_lsns.append(lsn)
                continue
            flush()
            keys = _keys_of(part)
            order = _dedupe(keys).order
            steps.append(Delete(keys if order is None else keys[order]))
    flush()
    return steps, last
