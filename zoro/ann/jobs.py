"""Seal jobs: build a segment from frozen inputs in a worker thread, touching nothing shared.

A job is created on the event loop by SegmentedIndex.take_seal_job() with everything it reads:
the input segments (immutable: frozen flat buffers or sealed engines, which the event loop keeps
searching at the same time, read-only) and a private copy of the deleted bitmap. run() builds
the new engine from the inputs' live points and returns a SealResult, which
SegmentedIndex.install() swaps in on the event loop. A job writes no file: sealed segments are
persisted by the collection's checkpoint (zoro.ann.manifest.CheckpointPlan).

Incremental sealing. A job may have a `base`: a sealed HNSW engine to grow rather than rebuild.
run() clones it (a deep copy, about a memcpy; the original stays as it is, searched by the event
loop meanwhile: FAISS does not allow adding while searching) and adds the inputs' live points to
the clone. So a seal costs the clone plus inserting only the new points, where a rebuild would
insert every point again (HNSW inserts run at a few thousand vectors/s per core). Deleted points
of the base stay in the graph, excluded at search time by the bitmap; the segment layer rebuilds
a segment from its live points once their share passes `rebuild_deleted_ratio`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast

import numpy as np
import numpy.typing as npt

from zoro.ann import _faiss
from zoro.ann.flat import FlatEngine
from zoro.ann.hnsw import HnswEngine, draw_levels

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from zoro.ann.bitmap import Bitmap
    from zoro.ann.engine import F32, I64, AnnEngine, Searchable
    from zoro.types import Distance

# Flat builds add points in batches of this many bytes of vectors (see _live_batches): the
# memory a build needs beyond the new segment itself. A flat add is a memcpy, so even a full
# batch takes a fraction of a second.
ADD_BATCH_BYTES: Final = 256 * 1024 * 1024
# HNSW builds add points in batches of about this much work, counted as dimension x
# efConstruction x points: an insertion's cost grows with both. 2**25 is 2,621 points at 128
# dimensions and efConstruction 100: 0.3 s on one core here into a small graph (8,000-9,000
# inserts/s; 2,000/s at 768 dimensions, 1,000/s at 1,536), 0.7 s into a 200k graph with the
# machine busy (3,700/s), so cancel() is noticed well within a second.
# Small batches cost no recall at 200k (tests/ann/test_ann_recall.py, bench/ann_engines.py) but
# do at 1M, unless the upper-layer points go first: see SealJob._batches.
HNSW_BATCH_WORK: Final = 1 << 25
HNSW_BATCH_MIN: Final = 256
HNSW_BATCH_MAX: Final = 16_384


class SealCancelled(Exception):
    """SealJob.run() stopped because cancel() was called. Nothing shared was changed: the
    caller gives the job back with SegmentedIndex.abandon()."""


@dataclass(frozen=True, slots=True)
class BuildSpec:
    kind: str  # "hnsw" or "flat"
    dimension: int
    distance: Distance
    m: int
    ef_construct: int
    ef_search: int
    threads: int

    def new_engine(self) -> AnnEngine:
        if self.kind == "hnsw":
            return HnswEngine(
                self.dimension,
                self.distance,
                m=self.m,
                ef_construct=self.ef_construct,
                ef_search=self.ef_search,
            )
        return FlatEngine(self.dimension, self.distance)

    def batch_points(self) -> int:
        """How many points one add() call gets (see HNSW_BATCH_WORK and ADD_BATCH_BYTES)."""
        if self.kind == "hnsw":
            per_point = max(1, self.dimension) * max(1, self.ef_construct)
            return max(HNSW_BATCH_MIN, min(HNSW_BATCH_MAX, HNSW_BATCH_WORK // per_point))
        return max(1, ADD_BATCH_BYTES // (4 * max(1, self.dimension)))


@dataclass(eq=False)
class SealJob:
    """Build one segment. Run `run()` once, in a worker thread (or inline, in tests).

    The new segment holds the live points of `inputs` (as of `deleted`, the bitmap snapshot
    taken with the job) and, when `base` is set, every point of `base`: a clone of it is grown
    instead of building from scratch (see the module doc).

    Cancellation: `cancel()` may be called from any thread, at any time, any number of times.
    run() checks for it before it starts, after the clone and between add batches (each well
    under a second on one core: see HNSW_BATCH_WORK), and then raises SealCancelled. It has only
    built private structures by then, which it drops: nothing shared changed, and the caller
    gives the job back with SegmentedIndex.abandon(job); a later take_seal_job() plans again.
    This lets a caller wait for a cancelled run instead of abandoning a running FAISS thread
    (trio's `to_thread.run_sync(job.run)` with the default abandon_on_cancel=False, and
    `job.cancel()` from the task being cancelled).
    """

    inputs: tuple[Searchable, ...]
    spec: BuildSpec
    deleted: Bitmap  # a snapshot taken at take time; the job's own
    base: HnswEngine | None = None
    base_slots: I64 | None = None  # the base's slots, ascending (immutable, shared)
    input_points: int = field(init=False)
    # progress, for GET /collections/{name}/optimizations: written by run()'s thread, read by
    # the event loop (plain attribute stores; a read sees the old or the new value)
    started_at: float | None = field(init=False, default=None)  # unix seconds, once run() runs
    points_done: int = field(init=False, default=0)  # points added so far, of `points_to_add`
    points_to_add: int = field(init=False)
    _cancelled: threading.Event = field(init=False, repr=False)

    def __post_init__(self) -> None:
        base = len(self.base) if self.base is not None else 0
        self.points_to_add = sum(len(engine) for engine in self.inputs)
        self.input_points = base + self.points_to_add
        self._cancelled = threading.Event()
        if (self.base is None) != (self.base_slots is None):
            raise ValueError("a base needs its slots, and only a base has them")

    @property
    def kind(self) -> str:
        return self.spec.kind

    def cancel(self) -> None:
        """Ask run() to stop at its next check (thread-safe; a no-op once run() returned)."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def run(self) -> SealResult:
        """Build the segment. Blocking (seconds to minutes). Raises SealCancelled if cancel()
        was called; the caller then abandons the job."""
        started = time.perf_counter()
        self.started_at = time.time()
        self._check()
        batches = self._batches()
        engine: AnnEngine | None
        with _faiss.omp_threads(self.spec.threads):
            if self.base is not None and self.base_slots is not None:
                engine, slots = self._grow(self.base, self.base_slots, batches)
            else:
                engine, slots = self._build(batches)
        if engine is None:  # everything was deleted: the inputs just go
            return SealResult(self, None, np.empty(0, dtype=np.int64), 0.0)
        return SealResult(self, engine, slots, time.perf_counter() - started)

    def _batches(self) -> Iterator[tuple[I64, F32, npt.NDArray[np.int32] | None]]:
        """What to add, batch by batch. For HNSW, every point that reaches an upper layer comes
        first (highest first), then the bottom-layer points: one FAISS add() orders a batch so
        by itself, and small batches otherwise lose that across the job. Measured at 1M x 128
        (clustered, M=16, efC=100, ef 128): one add 0.965 recall@10, batches of 4,096 0.923,
        upper layers first then batches 0.950. Levels are drawn from the slots (draw_levels),
        so the two passes over the inputs agree without holding them."""
        batch = self.spec.batch_points()
        if self.spec.kind != "hnsw":
            for slots, vectors in _live_batches(self.inputs, self.deleted, batch):
                yield slots, vectors, None
            return
        upper: list[tuple[I64, F32, npt.NDArray[np.int32]]] = []
        for slots, vectors in _live_batches(self.inputs, self.deleted, batch):
            self._check()
            levels = draw_levels(slots, self.spec.m)
            up = levels > 0
            if up.any():
                upper.append((slots[up], vectors[up], levels[up]))
        if upper:
            slots = np.concatenate([u[0] for u in upper])
            vectors = np.concatenate([u[1] for u in upper])
            levels = np.concatenate([u[2] for u in upper])
            order = np.argsort(-levels, kind="stable")
            for start in range(0, len(order), batch):
                part = order[start : start + batch]
                yield slots[part], vectors[part], levels[part]
        for slots, vectors in _live_batches(self.inputs, self.deleted, batch):
            levels = draw_levels(slots, self.spec.m)
            bottom = levels == 0
            if bottom.any():
                yield slots[bottom], vectors[bottom], levels[bottom]

    def _build(
        self, batches: Iterator[tuple[I64, F32, npt.NDArray[np.int32] | None]]
    ) -> tuple[AnnEngine | None, I64]:
        engine = self.spec.new_engine()
        for slots, vectors, levels in batches:
            self._check()
            if levels is not None and isinstance(engine, HnswEngine):
                engine.add(slots, vectors, levels)
            else:
                engine.add(slots, vectors)
            self.points_done += len(slots)
        self._check()
        if len(engine) == 0:
            return None, np.empty(0, dtype=np.int64)
        return engine, np.sort(engine.ids())

    def _grow(
        self,
        base: HnswEngine,
        base_slots: I64,
        batches: Iterator[tuple[I64, F32, npt.NDArray[np.int32] | None]],
    ) -> tuple[AnnEngine, I64]:
        engine: HnswEngine | None = None
        added: list[I64] = []
        for slots, vectors, levels in batches:
            if engine is None:  # only once there is something to add
                engine = base.clone()
            self._check()
            engine.add(slots, vectors, levels)
            added.append(slots)
            self.points_done += len(slots)
        self._check()
        if engine is None:  # nothing live to add: the base is the result, uncopied
            return base, base_slots
        # Two ascending runs (new slots are usually all above the base's): a stable sort (a
        # merge sort) of their concatenation merges them in about one pass.
        new = np.sort(np.concatenate(added))
        return engine, np.sort(np.concatenate([base_slots, new]), kind="stable")

    def _check(self) -> None:
        if self._cancelled.is_set():
            raise SealCancelled("seal job cancelled")


def _live_batches(
    sources: Sequence[Searchable], deleted: Bitmap, batch: int
) -> Iterator[tuple[I64, F32]]:
    """The sources' live points, in batches of exactly `batch` points (the last one shorter),
    across source boundaries.

    Small batches, for HNSW, keep every add() call short (cancellation is checked between
    calls). FAISS inserts a batch level by level, upper layers first; across small batches that
    order is lost, which costs recall on big graphs, so HNSW jobs reorder (SealJob._batches).
    """
    pending_slots: list[I64] = []
    pending_vectors: list[F32] = []
    held = 0
    for source in sources:
        for chunk_slots, chunk_vectors in source.export(batch):
            keep = ~deleted.test(chunk_slots)
            if not keep.all():
                chunk_slots, chunk_vectors = chunk_slots[keep], chunk_vectors[keep]
            if not len(chunk_slots):
                continue
            pending_slots.append(chunk_slots)
            pending_vectors.append(chunk_vectors)
            held += len(chunk_slots)
            if held >= batch:  # chunks are at most `batch` rows: at most one batch is ready
                slots, vectors = _joined(pending_slots), _joined(pending_vectors)
                yield slots[:batch], vectors[:batch]
                pending_slots, pending_vectors = [slots[batch:]], [vectors[batch:]]
                held -= batch
    if held:
        yield _joined(pending_slots), _joined(pending_vectors)


_A = TypeVar("_A", bound="np.ndarray[Any, Any]")


def _joined(parts: list[_A]) -> _A:
    return parts[0] if len(parts) == 1 else cast("_A", np.concatenate(parts))


@dataclass(frozen=True, eq=False)
class SealResult:
    job: SealJob
    engine: AnnEngine | None  # None: nothing live was left; the job's base itself: unchanged
    slots: I64  # the slots the new segment holds, ascending
    build_seconds: float
