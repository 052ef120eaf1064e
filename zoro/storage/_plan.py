"""Turning a run of WAL operations into steps the store can apply (pure, no I/O).

Planning happens before anything is written or changed, so a bad batch (a programming error: the
services layer validates input) is refused whole, and the store knows every byte it will append
before it writes the first one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from zoro.types import KEY_DTYPE, UpsertBatch

from . import _keys

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt

    from zoro.types import Keys, Vectors, WriteOp


@dataclass(frozen=True, slots=True, eq=False)
class Upsert:
    """Points to write, one new slot each, numbered from `first_slot` in batch order.

    A key repeated in the batch is written once, where its last occurrence stood. The index
    wants the same keys sorted: `index_keys` with `index_slots`.
    """

    keys: Keys
    vectors: Vectors
    payloads: list[bytes]
    first_slot: int
    index_keys: Keys  # sorted, unique
    index_slots: npt.NDArray[np.int64]


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


def _keys_of(op: WriteOp) -> Keys:
    keys = np.asarray(op.keys, dtype=KEY_DTYPE)
    if keys.ndim != 1 or not _keys.valid(keys):
        raise ValueError("keys must be a 1-d array of point keys made by zoro.types")
    return keys


def _upsert(op: UpsertBatch, dimension: int, first_slot: int) -> Upsert:
    keys = _keys_of(op)
    vectors = np.asarray(op.vectors, dtype=np.float32)
    if vectors.shape != (len(keys), dimension) or len(op.payloads) != len(keys):
        raise ValueError(
            f"upsert of {len(keys)} keys with vectors {vectors.shape} and "
            f"{len(op.payloads)} payloads, dimension {dimension}"
        )
    plan = _dedupe(keys)
    payloads = list(op.payloads)
    if plan.take is not None:  # repeats: keep the last occurrences, in batch order
        keys, vectors = keys[plan.take], vectors[plan.take]
        payloads = [payloads[i] for i in plan.take.tolist()]
    slots = np.arange(first_slot, first_slot + len(keys), dtype=np.int64)
    if plan.order is None:
        return Upsert(keys, vectors, payloads, first_slot, keys, slots)
    # plan.order indexes the original batch; map it to positions among the kept entries
    rank = plan.order if plan.take is None else np.searchsorted(plan.take, plan.order)
    return Upsert(keys, vectors, payloads, first_slot, keys[rank], slots[rank])


def plan(
    items: Sequence[tuple[int, WriteOp]], applied_lsn: int, dimension: int, next_slot: int
) -> tuple[list[Step], int]:
    """Steps for the items above `applied_lsn`, and the last lsn among them (or applied_lsn).

    Raises ValueError (and plans nothing) if the lsns do not increase or a batch is malformed.
    """
    steps: list[Step] = []
    last = applied_lsn
    previous: int | None = None
    run: list[UpsertBatch] = []  # consecutive upserts, planned as one (see _joined_upserts)

    def flush() -> None:
        nonlocal next_slot
        if run:
            step = _upsert(_joined_upserts(run), dimension, next_slot)
            next_slot += len(step.keys)
            steps.append(step)
            run.clear()

    for lsn, op in items:
        if previous is not None and lsn <= previous:
            raise ValueError(f"lsn {lsn} after {previous}: items must be in increasing lsn order")
        previous = lsn
        if lsn <= applied_lsn:
            continue  # already applied: replay after a crash, or a retry
        last = lsn
        if isinstance(op, UpsertBatch):
            run.append(op)
            continue
        flush()
        keys = _keys_of(op)
        order = _dedupe(keys).order
        steps.append(Delete(keys if order is None else keys[order]))
    flush()
    return steps, last


def _joined_upserts(run: list[UpsertBatch]) -> UpsertBatch:
    """Consecutive upserts as one batch. Applied together, "last occurrence wins" over the joined
    batch gives the state the upserts give one by one, and a group commit of many single-point
    writes then costs one index update and one check instead of one each."""
    if len(run) == 1:
        return run[0]
    keys = np.concatenate([np.asarray(op.keys, dtype=KEY_DTYPE) for op in run])
    vectors = np.concatenate([np.asarray(op.vectors, dtype=np.float32) for op in run])
    payloads = [p for op in run for p in op.payloads]
    return UpsertBatch(keys, vectors, payloads)
