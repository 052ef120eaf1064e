"""SegmentedIndex: a collection's ANN index as appendable + frozen + sealed segments (Qdrant's
appendable / non-appendable split), so that ingest never waits for HNSW insertion.

    add()      -> the FRESH segment: a FlatBuffer, appended to on the event loop, searched exactly;
                  preallocated at `fresh_segment_max_points` rows and frozen by add() the moment
                  it is full, so it never grows past that and never copies on the event loop
    full fresh -> FROZEN: same buffer, no more appends, still searched exactly; several may wait
                  while a job runs, and the next job takes them all
    SealJob    -> builds a SEALED segment from frozen/sealed inputs in a worker thread
    install()  -> swaps the inputs out and the sealed segment in, on the event loop
    checkpoint -> CheckpointPlan.run() writes the sealed segments not yet on disk, the manifest,
                  and deletes files nothing refers to (in a worker thread)

Layout. An "hnsw" collection at or above `full_scan_threshold` points converges on ONE sealed
HNSW segment, plus the fresh segment and the frozen ones waiting for the next job. A job grows
the largest sealed HNSW segment (its base) incrementally: it clones it and adds the live points
of every frozen segment and every other sealed segment to the clone (see zoro.ann.jobs), so a
seal costs a memcpy of the base plus the new points' insertions, not a rebuild. Once the base's
deleted share passes `rebuild_deleted_ratio`, or when the job would at least double it (see
_outgrown), the job rebuilds from the live points instead.
One graph means one HNSW walk per query. Smaller collections and "flat" collections seal into
flat segments and merge them by size tiers (zoro.ann.policy), as inserting into a flat index is
a copy anyway.

Deletions are one collection-wide bitmap over slots. Every segment is searched with it; nothing
is removed from a segment in place (sealed ones are immutable), and a rebuild leaves out the
slots deleted when it started. Per segment we count how many of its slots are deleted: that
gives len(), lets a segment with no deletions skip the selector, widens the HNSW beam where
needed and tells the planner which segment is worth rebuilding.

Threads. Everything here runs on the event loop except SealJob.run(), SearchView.search(),
CheckpointPlan.run() and checkpoint_manifest() (plan_checkpoint() may run on either side).
What each touches:

- fresh FlatBuffer: appended only by add() (loop). Threads see `snapshot()`s: a view of the rows
  written so far (never rewritten) plus their own copy of the row -> slot table.
- frozen FlatBuffers and sealed engines: never mutated after they are frozen / installed; the
  loop, views, jobs (which clone a base, never add to it) and checkpoints (which serialise
  them) read them concurrently (FAISS reads are safe together).
- deleted bitmap: mutated only by remove() (loop). Jobs and views get `copy()`s, taken on the loop
  together with the per-segment deleted counts, so the two agree.
- segment tuples and counters: loop only, and `_sealed` is a tuple replaced whole, so a
  checkpoint (or a view) reads one consistent list with one attribute read.
- a sealed segment's disk record (`_Disk`): its file name is chosen on the loop at install; its
  `entry` is set once, by the checkpoint that made the file durable (checkpoints run one at a
  time), and read by later checkpoints and stats().
- FAISS search params/selectors: cached per bitmap (see zoro.ann.bitmap), so each thread uses
  only the ones made from its own bitmap copy; their selectors are pre-translated so FAISS never
  writes into them.

OpenMP: search() runs FAISS with ONE OpenMP thread (set around the call, per thread, ~0.2 µs).
HNSW itself does not go parallel for one query, but IndexIDMap translates the k result labels in
an `omp parallel for`: with 2 threads that is a team wake-up and a barrier per query, and when
the other core is busy (a seal job, another collection's fsync thread, another process) the
barrier waits for a descheduled thread. On this shared 2-core machine (bench/ann_engines.py,
IndexIDMap over a 50k HNSW) one run measured p50 / p99 77 / 3,739 µs with 1 thread against
100 / 16,107 µs with 2, another 72 / 131 against 69 / 107: it depends on what else runs, and
1 thread is never much worse. On the event loop a second OpenMP thread buys nothing anyway: it
would only take the core the worker threads need.
Builds run with `AnnSettings.build_threads` (1 by default, so a build leaves a core to the event
loop), set per worker thread; SearchView.search uses 1 thread unless given `threads=`.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from zoro.ann import _faiss
from zoro.ann.bitmap import Bitmap
from zoro.ann.flat import FlatEngine
from zoro.ann.fresh import FlatBuffer
from zoro.ann.hnsw import HnswEngine
from zoro.ann.jobs import BuildSpec, SealJob, SealResult
from zoro.ann.load import load_engine
from zoro.ann.manifest import (
    CheckpointPlan,
    Manifest,
    ManifestEntry,
    SegmentWrite,
    next_seq,
    read_manifest,
    segment_file_name,
)
from zoro.ann.policy import pick_merge
from zoro.ann.scores import check_batch, check_k, check_queries, empty_result, from_faiss
from zoro.errors import StorageError
from zoro.fsutil import make_dirs
from zoro.types import Distance

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from zoro.ann.engine import F32, I64, Searchable
    from zoro.settings import AnnSettings

log = logging.getLogger(__name__)

ENGINES: Final = ("hnsw", "flat")  # a collection's engine setting
VOID_SLOT: Final = 0  # from file generation 1 on, storage's never-live slot (renumber)
DEFAULT_MAX_SEALED: Final = 4  # flat segments only: HNSW ones are folded into one
COMPLETED_JOBS_KEPT: Final = 16  # finished builds remembered for the optimizations route


@dataclass(eq=False, slots=True)
class _Disk:
    """Where a sealed segment is, or will be, persisted.

    `name` is reserved on the event loop when the segment is installed. `entry` is set once:
    at open() for a loaded segment, or by the checkpoint that made the file durable (from its
    worker thread; one checkpoint at a time). `ancestors` are the records of the sealed segments
    this one replaced: while this one cannot be listed (it holds slots >= valid_slot_limit),
    a checkpoint lists their files instead, which still hold durable points only. Dropped once
    this one is on disk, so the chain stays short.
    """

    name: str
    entry: ManifestEntry | None = None
    ancestors: tuple[_Disk, ...] = ()

    def written(self, entry: ManifestEntry) -> None:
        self.entry = entry  # first: a reader that sees no ancestors then sees the entry
        self.ancestors = ()

    def fallback(self) -> list[ManifestEntry]:
        """The nearest persisted ancestors' entries (this record itself excluded)."""
        found: list[ManifestEntry] = []
        stack = list(self.ancestors)
        while stack:
            record = stack.pop()
            if record.entry is not None:
                found.append(record.entry)
            else:
                stack.extend(record.ancestors)
        return found


@dataclass(eq=False, slots=True)
class _Segment:
    """A frozen or sealed segment and the bookkeeping the event loop keeps about it."""

    engine: Searchable
    slots: I64  # held slots, ascending (for membership tests)
    disk: _Disk | None = None  # sealed segments only
    deleted: int = 0  # how many of `slots` are set in the deleted bitmap

    @property
    def size(self) -> int:
        return len(self.slots)

    @property
    def live(self) -> int:
        return len(self.slots) - self.deleted

    @property
    def kind(self) -> str:
        return str(getattr(self.engine, "kind", "buffer"))

    @property
    def file(self) -> str | None:
        """Its file, once a checkpoint (or open()) has it on disk."""
        entry = self.disk.entry if self.disk is not None else None
        return entry.file if entry is not None else None


def _outgrown(base: _Segment, others: Sequence[_Segment]) -> bool:
    """Whether a job should build its graph from scratch rather than grow `base`: when it would
    add at least as many points as the base holds. A graph built in one go (every upper-layer
    point first) routes queries better than one grown in steps: on bench/http.py's clustered
    200,000 x 128, recall@10 at ef 128 was 0.959-0.981 over nine builds at once (raw FAISS and
    SealJob, in different insertion orders) against 0.900-0.969 over seven grown in ten steps
    of 20,000, the gap mostly queries routed into the wrong cluster (bench/graph_growth.py).
    The rebuild at most doubles that job's work, and a bulk load, whose jobs each find several
    times their base waiting, ends with a graph built at once; points trickling in are still
    added to the graph they join."""
    return sum(s.live for s in others) >= base.live


@dataclass(frozen=True, slots=True)
class SegmentStats:
    kind: str  # "hnsw", "flat" or "buffer" (frozen, not yet sealed)
    points: int
    deleted: int
    file: str | None  # None until a checkpoint has written it


@dataclass(frozen=True, slots=True)
class JobStats:
    """One background build: the one running, or one of the last few done."""

    kind: str  # what it builds: "hnsw" or "flat"
    grows: bool  # adds to an HNSW segment rather than building a new one
    input_segments: tuple[int, ...]  # points held by each segment it replaces
    points_to_add: int
    points_done: int
    started_at: float | None  # unix seconds; None while it waits for a build thread
    finished_at: float | None


@dataclass(frozen=True, slots=True)
class IndexStats:
    live_points: int
    fresh_points: int
    frozen_points: int
    frozen_segments: int
    sealed: tuple[SegmentStats, ...]
    deleted_points: int  # held by some segment but deleted: excluded now, dropped at next build
    memory_bytes: int
    jobs_built: int
    job_running: bool
    job: JobStats | None = None
    completed_jobs: tuple[JobStats, ...] = ()  # the last few, oldest first
    waiting_segments: tuple[int, ...] = ()  # points of each frozen segment no job has taken


@dataclass(frozen=True, slots=True)
class PartShape:
    """One segment a search asks, as a query planner sees it (see SegmentedIndex.layout)."""

    kind: str  # "hnsw", "flat" or "buffer" (fresh or frozen)
    points: int  # rows held, deleted ones included
    deleted: int


# (engine, how many of its slots are deleted) — what one search asks
_Part = tuple["Searchable", int]


def _filtered(parts: tuple[_Part, ...], share: float) -> tuple[_Part, ...]:
    """The parts as a filtered search sees them: of each one's live points, only `share`."""
    return tuple(
        (engine, len(engine) - math.floor((len(engine) - dead) * share)) for engine, dead in parts
    )


def _search_parts(
    parts: Sequence[_Part],
    deleted: Bitmap | None,
    queries: F32,
    k: int,
    ef: int,
    exact: bool,
    distance: Distance,
) -> tuple[F32, I64]:
    """Ask every part, merge, score.

    One part (the steady state: one sealed segment, nothing fresh) writes straight into the
    result arrays. Several write FAISS's raw output into their slices of one (parts, m, k)
    buffer and FAISS merges the sorted lists in one C call: the per-query cost beyond the FAISS
    searches is a handful of numpy calls, whatever the number of segments.
    """
    m = len(queries)
    if not parts or k == 0:
        return empty_result(m, k, distance)
    if len(parts) == 1:
        engine, dead = parts[0]
        distances = np.empty((m, k), dtype=np.float32)
        labels = np.empty((m, k), dtype=np.int64)
        engine.search_into(
            queries,
            k,
            distances,
            labels,
            deleted=deleted if dead else None,  # no deletions here: skip the selector
            ef=ef,
            exact=exact,
            deleted_count=dead,
        )
        return from_faiss(distance, distances, labels), labels
    all_d = np.empty((len(parts), m, k), dtype=np.float32)
    all_l = np.empty((len(parts), m, k), dtype=np.int64)
    for i, (engine, dead) in enumerate(parts):
        engine.search_into(
            queries,
            k,
            all_d[i],
            all_l[i],
            deleted=deleted if dead else None,
            ef=ef,
            exact=exact,
            deleted_count=dead,
        )
    keep_max = distance.higher_is_better  # raw inner products: higher is better too
    distances, labels = _faiss.merge_sorted(all_d, all_l, keep_max=keep_max)
    return from_faiss(distance, distances, labels), labels


class SearchView:
    """A frozen picture of the index for searching from a worker thread.

    Holds only immutable structures: the sealed engines and frozen buffers as they were, a
    snapshot of the fresh segment (shared rows, no vector copy) and a copy of the deleted bitmap.
    Writes made after the view was taken are not visible in it. Safe to use from several threads.
    """

    def __init__(
        self,
        parts: tuple[_Part, ...],
        deleted: Bitmap | None,
        *,
        dimension: int,
        distance: Distance,
        ef: int,
    ) -> None:
        self._parts = parts
        self._deleted = deleted
        self._dimension = dimension
        self._distance = distance
        self._ef = ef

    def __len__(self) -> int:
        return sum(len(engine) - dead for engine, dead in self._parts)

    def search(
        self,
        queries: npt.ArrayLike,
        k: int,
        *,
        ef: int | None = None,
        exact: bool = False,
        excluded: Bitmap | None = None,
        share: float = 1.0,
        threads: int = 1,
    ) -> tuple[F32, I64]:
        """As SegmentedIndex.search. `threads`: FAISS's OpenMP threads for this call.
        `excluded` must be the caller's own bitmap (a copy), not one the event loop uses.

        One by default: on 2 cores a second OpenMP thread takes the event loop's core, and when
        the machine is busy its barriers make a batch slower, not faster (bench/ann_engines.py,
        a batch of 100 over 200k points: 2 threads took from 0.6x to 3x the 1-thread time from
        run to run, as the other load varied). Several worker threads searching at once, one
        OpenMP thread each, use the cores more predictably.
        """
        q = check_queries(queries, self._dimension, normalise=self._distance is Distance.COSINE)
        ef = self._ef if ef is None else ef
        parts, deleted = self._parts, self._deleted
        if excluded is not None:
            parts, deleted = _filtered(parts, share), excluded
        with _faiss.omp_threads(threads):
            return _search_parts(parts, deleted, q, check_k(k), ef, exact, self._distance)


@dataclass(eq=False)
class _Job:
    job: SealJob
    inputs: tuple[_Segment, ...]  # everything the result replaces, the base included
    base: _Segment | None  # grown, not rebuilt
    base_deleted: int  # base.deleted when the job was taken (as in the job's bitmap copy)
    removed: list[I64] = field(default_factory=list)  # slots newly deleted while it ran
    # Set once storage renumbered its slots while the job ran: the job's slot -> today's slot
    # (-1: gone), composed over every renumber since it was taken (see renumber()).
    remap: I64 | None = None

    def stats(self, finished_at: float | None = None) -> JobStats:
        job = self.job
        return JobStats(
            job.kind,
            self.base is not None,
            tuple(s.size for s in self.inputs),
            job.points_to_add,
            job.points_done,
            job.started_at,
            finished_at,
        )


class SegmentedIndex:
    """The collection's ANN index. Every method runs on the event loop unless its doc says
    otherwise; see the module doc for what may run in threads."""

    def __init__(
        self,
        directory: Path,
        dimension: int,
        distance: Distance,
        settings: AnnSettings,
        *,
        engine: str = "hnsw",
        max_sealed_segments: int = DEFAULT_MAX_SEALED,
    ) -> None:
        if engine not in ENGINES:
            raise ValueError(f"unknown ANN engine {engine!r} (expected 'hnsw' or 'flat')")
        make_dirs(directory)  # else a power cut can take every persisted segment with it
        self.directory = directory
        self.dimension = dimension
        self.distance = distance
        self.settings = settings
        self.engine = engine
        self.max_sealed_segments = max(1, max_sealed_segments)
        self._fresh_max = max(1, settings.fresh_segment_max_points)
        self._fresh = self._new_fresh()
        self._fresh_deleted = 0
        self._frozen: tuple[_Segment, ...] = ()
        self._sealed: tuple[_Segment, ...] = ()  # replaced whole, never changed in place
        self._deleted = Bitmap()
        self._job: _Job | None = None
        self._completed: deque[JobStats] = deque(maxlen=COMPLETED_JOBS_KEPT)
        self._max_slot = -1  # highest slot ever indexed: adds above it need no duplicate check
        self._next_seq = next_seq(directory)
        self._jobs_built = 0
        self._cosine = distance is Distance.COSINE
        self._one_thread = _faiss.omp_threads(1)  # search() only: the event loop's, not shared
        self._parts_cache: tuple[_Part, ...] | None = None  # cache; None after any change
        self._layout: tuple[PartShape, ...] = ()
        self._layout_of: tuple[_Part, ...] | None = None  # the parts `_layout` describes

    # --- writes (event loop) -------------------------------------------------------------------

    def add(self, slots: npt.ArrayLike, vectors: npt.ArrayLike) -> None:
        """Index new points (unit vectors for Cosine) in the fresh segment: O(batch).

        The fresh segment never holds more than `fresh_segment_max_points`: it is frozen as soon
        as it is full (a big batch fills several), to wait for the next seal job.
        Idempotent, for WAL replay: slots already indexed, or already deleted, are skipped.
        Raises DimensionMismatch, or ValueError for a batch that repeats a slot.
        """
        ids, vecs = check_batch(slots, vectors, self.dimension)
        if len(ids) == 0:
            return
        if int(ids.min()) <= self._max_slot:
            fresh = ~(self._held(ids) | self._deleted.test(ids))
            ids, vecs = ids[fresh], vecs[fresh]
            if len(ids) == 0:
                return
        if np.any(np.diff(ids) <= 0):
            order = np.argsort(ids, kind="stable")
            ids, vecs = ids[order], vecs[order]
            if np.any(np.diff(ids) == 0):
                raise ValueError("the same slot appears twice in one add")
        self._parts_cache = None
        if not self._fresh.can_append(ids):
            self._freeze_fresh()  # rare (replay out of order): keep every buffer ascending
        start = 0
        while start < len(ids):
            stop = start + self._fresh_max - len(self._fresh)
            self._fresh.add(ids[start:stop], vecs[start:stop])
            if len(self._fresh) >= self._fresh_max:
                self._freeze_fresh()
            start = stop
        self._max_slot = max(self._max_slot, int(ids[-1]))

    def remove(self, slots: npt.ArrayLike) -> None:
        """Mark slots deleted, wherever they are held: O(batch x segments)."""
        ids = _sorted_unique(np.asarray(slots, dtype=np.int64).reshape(-1))
        if len(ids) and int(ids[0]) < 0:
            raise ValueError("slot numbers must be non-negative")
        new = ids[~self._deleted.test(ids)]
        if len(new) == 0:
            return
        self._parts_cache = None
        self._deleted.set(new)
        if self._job is not None:
            self._job.removed.append(new)
        self._fresh_deleted += _count_in(self._fresh.slots, new)
        for seg in self._frozen + self._sealed:
            seg.deleted += _count_in(seg.slots, new)

    # --- search ------------------------------------------------------------------------------

    def search(
        self,
        queries: npt.ArrayLike,
        k: int,
        *,
        ef: int | None = None,
        exact: bool = False,
        excluded: Bitmap | None = None,
        share: float = 1.0,
    ) -> tuple[F32, I64]:
        """Best k slots per query over every segment, best first, as (scores, slots), (m, k).

        Inline on the event loop, single-threaded: meant for single queries and small batches
        (with one sealed segment and nothing fresh, a single query costs a few µs beyond FAISS's
        own search: bench/ann_engines.py). Missing results are slot -1 with the worst score.
        `exact=True` scans HNSW segments exactly too. For Cosine, queries are normalised into a
        copy; the caller's array is only read.

        A filtered search passes `excluded`: every slot the filter rejects, deleted ones
        included, and `share`, the part of the live points it keeps. To the engines a filter
        is a deletion set for one query: HNSW widens its beam by 1 / share and scans exactly
        when too little is left (zoro.ann.hnsw).
        """
        q = check_queries(queries, self.dimension, normalise=self._cosine)
        parts = self._parts_cache
        if parts is None:
            parts = self._parts_cache = self._parts()
        deleted = self._deleted
        if excluded is not None:
            parts, deleted = _filtered(parts, share), excluded
        with self._one_thread:  # see the module doc
            return _search_parts(
                parts,
                deleted,
                q,
                check_k(k),
                self.settings.hnsw_ef_search if ef is None else ef,
                exact,
                self.distance,
            )

    def layout(self) -> tuple[PartShape, ...]:
        """The segments a search asks now, for a planner to price the search (O(1) while
        nothing changes: made once per change of the parts)."""
        parts = self._parts_cache
        if parts is None:
            parts = self._parts_cache = self._parts()
        if self._layout_of is not parts:
            self._layout = tuple(
                PartShape(str(getattr(engine, "kind", "buffer")), len(engine), dead)
                for engine, dead in parts
            )
            self._layout_of = parts
        return self._layout

    def thread_view(self) -> SearchView:
        """A SearchView for a big batch search in a worker thread (see SearchView).

        Cost on the event loop: a copy of the deleted bitmap (1 bit per slot ever used; skipped
        when no indexed point is deleted) and of the fresh segment's slot table (8 bytes a row).
        Vectors are shared, not copied.
        """
        parts: list[_Part] = [(s.engine, s.deleted) for s in self._sealed + self._frozen if s.live]
        if len(self._fresh) > self._fresh_deleted:
            parts.append((self._fresh.snapshot(), self._fresh_deleted))
        any_deleted = any(dead for _, dead in parts)
        return SearchView(
            tuple(parts),
            self._deleted.copy() if any_deleted else None,
            dimension=self.dimension,
            distance=self.distance,
            ef=self.settings.hnsw_ef_search,
        )

    def _parts(self) -> tuple[_Part, ...]:
        parts: list[_Part] = [(s.engine, s.deleted) for s in self._sealed + self._frozen if s.live]
        if len(self._fresh) > self._fresh_deleted:
            parts.append((self._fresh, self._fresh_deleted))
        return tuple(parts)

    # --- sealing -----------------------------------------------------------------------------

    def take_seal_job(self) -> SealJob | None:
        """The next build, if one is due (None while another is outstanding).

        Due, in this order, for an "hnsw" collection of at least `full_scan_threshold` points:
        frozen segments, flat segments or other HNSW segments to fold into the largest sealed
        HNSW segment (grown incrementally; all of them, in one job), or that segment rebuilt
        from its live points once its deleted share passed `rebuild_deleted_ratio`. Otherwise
        (flat): frozen segments sealed into a flat segment, a worn segment rebuilt, or sealed
        segments merged (see zoro.ann.policy). At most one job is outstanding: None until it is
        installed or abandoned. Cheap (a bitmap copy).
        """
        if self._job is not None:
            return None
        self._drop_dead_segments()
        planned = self._plan()
        if planned is None:
            return None
        base, inputs, kind = planned
        spec = BuildSpec(
            kind,
            self.dimension,
            self.distance,
            self.settings.hnsw_m,
            self.settings.hnsw_ef_construct,
            self.settings.hnsw_ef_search,
            self.settings.build_threads,
        )
        base_engine = base.engine if base is not None else None
        assert base_engine is None or isinstance(base_engine, HnswEngine)
        job = SealJob(
            tuple(s.engine for s in inputs if s is not base),
            spec,
            self._deleted.copy(),
            base=base_engine,
            base_slots=base.slots if base is not None else None,
        )
        self._job = _Job(job, tuple(inputs), base, base.deleted if base is not None else 0)
        return job

    def install(self, result: SealResult) -> None:
        """Swap the job's inputs out and its segment in (O(slots deleted while it ran)).

        Slots deleted while the job ran are in the new segment but set in the live bitmap, so
        they stay excluded. A job that ran across a renumber built its segment in the old
        numbering: it gets today's ids here (O(its points)). Raises ValueError for a result
        that is not the outstanding job's. The new segment is written to disk by a later
        checkpoint.
        """
        running = self._job
        if running is None or result.job is not running.job:
            raise ValueError("this seal result is not the outstanding job's")
        gone = {id(s) for s in running.inputs}
        kept = tuple(s for s in self._sealed if id(s) not in gone)
        added: tuple[_Segment, ...] = ()
        base = running.base
        if base is not None and result.engine is running.job.base:
            added = (base,)  # nothing was added to it: the same segment, on disk or not
        elif result.engine is not None:
            engine, slots = result.engine, result.slots
            if running.remap is not None:
                engine, slots, dead = self._renumbered_engine(engine, running.remap)
            else:
                removed = running.removed
                dead = _count_in(slots, np.concatenate(removed)) if removed else 0
                if base is not None:
                    dead += running.base_deleted  # the base's deleted points are still in it
            ancestors = tuple(s.disk for s in running.inputs if s.disk is not None)
            disk = _Disk(segment_file_name(self._next_seq), ancestors=ancestors)
            self._next_seq += 1
            added = (_Segment(engine, slots, disk, dead),)
        self._frozen = tuple(s for s in self._frozen if id(s) not in gone)
        self._sealed = added + kept  # the biggest first: searched first
        self._parts_cache = None
        self._job = None
        self._jobs_built += 1
        self._completed.append(running.stats(finished_at=time.time()))

    def abandon(self, job: SealJob) -> None:
        """Forget a job that failed, was cancelled or will not be installed; its inputs stay as
        they are and the next take_seal_job() plans again."""
        if self._job is not None and self._job.job is job:
            self._job = None

    def renumber(self, remap: I64, live: npt.NDArray[np.bool_]) -> None:
        """Storage renumbered its slots (a compaction's switch, docs/compaction.md): slot s is
        now `remap[s]` (-1: gone), and `live` is the new live mask, whose slot 0 is the void
        slot (never live). Event loop only, with no search view or checkpoint plan in use.

        Nothing is changed in place, so a seal job may go on running in its thread: each
        sealed engine is replaced by a new one over the same FAISS index (an HNSW graph cannot
        drop a node) with new ids, rows of vanished slots getting the void slot, which the
        deleted bitmap always holds (they count as deleted points, and the rebuild policy
        reclaims them like any others). Frozen buffers are replaced by copies holding their
        live rows, the fresh one by a new buffer. The job's inputs are pointed at the
        replacements and its result is renumbered at install(). Sealed segments are written
        to disk again by the next checkpoint (their files number the old slots).
        """
        remap = np.asarray(remap, dtype=np.int64)
        live = np.asarray(live, dtype=np.bool_)
        self._deleted = Bitmap.from_mask(~live)
        replaced: dict[int, _Segment] = {}  # id(old segment) -> its replacement
        for seg in self._sealed:
            engine = seg.engine
            assert isinstance(engine, FlatEngine | HnswEngine)
            renumbered, slots, dead = self._renumbered_engine(engine, remap)
            disk = _Disk(segment_file_name(self._next_seq))
            self._next_seq += 1
            replaced[id(seg)] = _Segment(renumbered, slots, disk, dead)
        for seg in self._frozen:
            assert isinstance(seg.engine, FlatBuffer)
            buffer = self._new_buffer(len(seg.engine))
            _copy_live_rows(seg.engine, buffer, remap, live)
            replaced[id(seg)] = _Segment(buffer.freeze(), buffer.slots)
        fresh, self._fresh = self._fresh, self._new_fresh()
        _copy_live_rows(fresh, self._fresh, remap, live)
        self._fresh_deleted = 0
        self._sealed = tuple(replaced[id(s)] for s in self._sealed)
        self._frozen = tuple(replaced[id(s)] for s in self._frozen)
        job = self._job
        if job is not None:
            job.inputs = tuple(replaced[id(s)] for s in job.inputs)
            job.base = replaced[id(job.base)] if job.base is not None else None
            job.remap = remap if job.remap is None else _composed(job.remap, remap)
            job.removed.clear()  # install() counts the dead from the bitmap instead
        held = [s.slots[-1] for s in (*self._sealed, *self._frozen) if s.size]
        if len(self._fresh):
            held.append(self._fresh.slots[-1])
        self._max_slot = int(max(held, default=-1))
        self._parts_cache = None
        self._layout_of = None

    def _renumbered_engine(
        self, engine: Searchable, remap: I64
    ) -> tuple[FlatEngine | HnswEngine, I64, int]:
        """A sealed engine under the numbering `remap` leads to: (the new engine, its slots
        ascending, how many of them are deleted now). Vanished rows get the void slot."""
        assert isinstance(engine, FlatEngine | HnswEngine)
        ids = remap[engine.ids()]
        ids[ids < 0] = VOID_SLOT
        slots = np.sort(ids)
        dead = int(np.count_nonzero(self._deleted.test(slots)))
        return engine.renumbered(ids), slots, dead

    def freeze_fresh(self, min_points: int) -> bool:
        """Freeze the fresh segment now if it holds at least `min_points` (event loop only), so
        that the next seal job indexes it. For when writes pause: every query scans the fresh
        segment exactly, which costs hundreds of microseconds at 10,000 points of 128 dims."""
        if self.engine != "hnsw" or len(self._fresh) < min_points:
            return False
        self._freeze_fresh()
        return True

    def _freeze_fresh(self) -> None:
        if len(self._fresh) == 0:
            return
        buffer = self._fresh.freeze()
        self._frozen += (_Segment(buffer, buffer.slots, None, self._fresh_deleted),)
        self._fresh = self._new_fresh()
        self._fresh_deleted = 0
        self._parts_cache = None

    def _drop_dead_segments(self) -> None:
        # nothing live left: no build needed, just stop searching it (its file goes later)
        if any(not s.live for s in self._frozen + self._sealed):
            self._frozen = tuple(s for s in self._frozen if s.live)
            self._sealed = tuple(s for s in self._sealed if s.live)
            self._parts_cache = None

    def _plan(self) -> tuple[_Segment | None, list[_Segment], str] | None:
        """(base to grow or None, every input including the base, kind), or None."""
        ratio = self.settings.rebuild_deleted_ratio
        big = len(self) >= self.settings.full_scan_threshold
        if self.engine == "hnsw" and big:
            graphs = [s for s in self._sealed if s.kind == "hnsw"]
            base = max(graphs, key=lambda s: s.size) if graphs else None
            others = [s for s in self._sealed if s is not base] + list(self._frozen)
            worn = base is not None and base.deleted > ratio * base.size
            if base is not None and worn:
                return None, [base, *others], "hnsw"  # rebuilt from the live points
            if not others:
                return None
            if base is None:
                return None, others, "hnsw"
            if _outgrown(base, others):
                return None, [base, *others], "hnsw"  # built again, in one go
            return base, [base, *others], "hnsw"
        # Flat: a small collection, or a "flat" one. (An "hnsw" collection that shrank below
        # the threshold keeps its HNSW segments; new points seal flat until it grows again.)
        if self._frozen:
            return None, list(self._frozen), "flat"
        worn_segments = [s for s in self._sealed if s.deleted > ratio * s.size]
        if worn_segments:
            most = max(worn_segments, key=lambda s: s.deleted / s.size)
            return None, [most], most.kind
        chosen = [
            self._sealed[i]
            for i in pick_merge([s.live for s in self._sealed], self.max_sealed_segments)
        ]
        if chosen:
            kind = "hnsw" if any(s.kind == "hnsw" for s in chosen) else "flat"
            return None, chosen, kind
        return None

    # --- persistence ---------------------------------------------------------------------------

    def checkpoint_manifest(self, valid_slot_limit: int, files: int = 0) -> None:
        """At the collection's checkpoint: plan_checkpoint(valid_slot_limit).run().

        Blocking (writes the sealed segments not yet on disk: seconds for a big one, then a
        small manifest): meant for a worker thread while the event loop keeps adding,
        searching, taking and installing jobs (see plan_checkpoint). Only one checkpoint at a
        time. Raises StorageError/StorageFull if a file cannot be written.
        """
        self.plan_checkpoint(valid_slot_limit, files).run()

    def plan_checkpoint(self, valid_slot_limit: int, files: int = 0) -> CheckpointPlan:
        """What a checkpoint writes and deletes, as a plan whose run() does the I/O. `files`:
        the storage file generation the slots are numbered in (recorded in the manifest).

        Listed: every sealed segment whose slots are all below `valid_slot_limit` (those not on
        disk yet are written by run(); those already on disk are not rewritten). A segment with
        a slot at or above the limit is not written; the files of the segments it replaced, if
        any, are listed in its place. Kept besides the listed files: every file of a segment
        still in memory. Everything else is deleted after the manifest is written.

        Cheap; callable on the event loop (then run the plan in a thread) or from the worker
        thread itself. Either way it reads `_sealed` once (a tuple the loop replaces whole)
        and uses only what that tuple holds: sealed engines, never mutated after install
        (jobs grow clones), and their slot arrays, never mutated either. So run() serialises
        engines that the loop and jobs only ever read (FAISS reads may overlap), and a
        segment installed after the read is simply not seen: its file is written next time,
        and the files its inputs came from are in this plan's manifest or `keep`.
        """
        sealed = self._sealed  # one read: everything below comes from this tuple
        listed: dict[str, ManifestEntry] = {}
        writes: list[SegmentWrite] = []
        keep: set[str] = set()
        for seg in sealed:
            disk = seg.disk
            if disk is None or seg.size == 0:
                continue
            entry = disk.entry
            if entry is not None:
                keep.add(entry.file)
            if int(seg.slots[-1]) < valid_slot_limit:
                if entry is None:
                    engine = seg.engine
                    assert isinstance(engine, FlatEngine | HnswEngine)
                    lo, hi = int(seg.slots[0]), int(seg.slots[-1])
                    entry = ManifestEntry(disk.name, engine.kind, seg.size, lo, hi)
                    writes.append(SegmentWrite(engine, entry, disk.written))
                listed[entry.file] = entry
            else:
                for old in disk.fallback():
                    keep.add(old.file)
                    if old.max_slot < valid_slot_limit:
                        listed[old.file] = old
        manifest = Manifest(
            self.dimension, self.distance, valid_slot_limit, tuple(listed.values()), files
        )
        return CheckpointPlan(self.directory, manifest, tuple(writes), frozenset(keep))

    @classmethod
    def open(
        cls,
        directory: Path,
        dimension: int,
        distance: Distance,
        settings: AnnSettings,
        *,
        live_slots: npt.NDArray[np.int64],
        valid_slot_limit: int,
        vectors_of: Callable[[npt.NDArray[np.int64]], npt.NDArray[np.float32]],
        files: int = 0,
        engine: str = "hnsw",
        max_sealed_segments: int = DEFAULT_MAX_SEALED,
    ) -> SegmentedIndex:
        """Rebuild the in-memory index at startup from the manifest and storage.

        Sealed segments in the manifest are loaded, not rebuilt. A segment file that is
        missing, damaged, for another dimension/distance, or holding a slot >= valid_slot_limit
        is discarded (logged); so is every segment of a manifest written for another storage
        file generation than `files` (its slots are numbered differently). Slots a kept segment
        holds that are not in `live_slots` are marked deleted; live slots no kept segment holds
        are read with `vectors_of` (in chunks of `fresh_segment_max_points`) into frozen/fresh
        flat buffers, so they are searchable at once and the next take_seal_job() calls build
        them in the background.
        Blocking (seconds for a large index): run it in a worker thread.
        """
        index = cls(
            directory,
            dimension,
            distance,
            settings,
            engine=engine,
            max_sealed_segments=max_sealed_segments,
        )
        live = _sorted_unique(np.asarray(live_slots, dtype=np.int64).reshape(-1))
        sealed = index._load_sealed(read_manifest(directory), valid_slot_limit, files)
        sealed.sort(key=lambda s: -s.size)
        index._sealed = tuple(sealed)
        held = np.sort(np.concatenate([s.slots for s in index._sealed] + [np.empty(0, np.int64)]))
        for seg in index._sealed:
            dead = seg.slots[~_member(seg.slots, live)]
            index._deleted.set(dead)
            seg.deleted = len(dead)
        index._load_missing(live[~_member(live, held)], vectors_of)
        tops = [int(s.slots[-1]) for s in index._sealed + index._frozen if s.size]
        index._max_slot = max([*tops, int(index._fresh.slots[-1]) if len(index._fresh) else -1])
        index._parts_cache = None
        return index

    def _load_sealed(self, manifest: Manifest | None, limit: int, files: int) -> list[_Segment]:
        if manifest is None:
            return []
        if manifest.files != files:
            log.warning(
                "ANN manifest in %s numbers slots of file generation %d, storage is at %d; "
                "rebuilding",
                self.directory,
                manifest.files,
                files,
            )
            return []
        if (manifest.dimension, manifest.distance) != (self.dimension, self.distance):
            log.warning(
                "ANN manifest in %s is for another vector space; rebuilding", self.directory
            )
            return []
        kept: list[_Segment] = []
        held: I64 = np.empty(0, dtype=np.int64)
        for entry in manifest.segments:
            seg = self._load_segment(entry, limit)
            if seg is None:
                continue
            mine = seg.slots[seg.slots != VOID_SLOT] if files else seg.slots  # voids may repeat
            if _member(mine, held).any():
                log.warning("ANN segment %s overlaps another; discarded", entry.file)
                continue
            kept.append(seg)
            held = np.sort(np.concatenate([held, seg.slots]))  # disjoint: checked just above
        return kept

    def _load_segment(self, entry: ManifestEntry, limit: int) -> _Segment | None:
        path = self.directory / entry.file
        if entry.max_slot >= limit:
            log.info("ANN segment %s holds slots >= %d (not durable); discarded", path, limit)
            return None
        try:
            engine = load_engine(path)
        except StorageError as exc:  # CorruptionError included
            log.warning("%s; its points are rebuilt from storage", exc.message)
            return None
        slots = np.sort(engine.ids())
        if (engine.dimension, engine.distance) != (self.dimension, self.distance):
            log.warning("ANN segment %s is for another vector space; discarded", path)
            return None
        if len(slots) and int(slots[-1]) >= limit:
            log.warning("ANN segment %s holds slots >= %d; discarded", path, limit)
            return None
        return _Segment(engine, slots, _Disk(entry.file, entry))

    def _load_missing(
        self, missing: I64, vectors_of: Callable[[npt.NDArray[np.int64]], npt.NDArray[np.float32]]
    ) -> None:
        for start in range(0, len(missing), self._fresh_max):
            slots = missing[start : start + self._fresh_max]
            self.add(slots, vectors_of(slots))  # freezes every full chunk

    # --- introspection -------------------------------------------------------------------------

    def __len__(self) -> int:
        """Live indexed points."""
        return (
            len(self._fresh)
            - self._fresh_deleted
            + sum(s.live for s in self._frozen + self._sealed)
        )

    def stats(self) -> IndexStats:
        segments = self._frozen + self._sealed
        engines: list[Searchable] = [self._fresh, *(s.engine for s in segments)]
        return IndexStats(
            live_points=len(self),
            fresh_points=len(self._fresh),
            frozen_points=sum(s.size for s in self._frozen),
            frozen_segments=len(self._frozen),
            sealed=tuple(SegmentStats(s.kind, s.size, s.deleted, s.file) for s in self._sealed),
            deleted_points=self._fresh_deleted + sum(s.deleted for s in segments),
            memory_bytes=sum(e.memory_bytes() for e in engines) + self._deleted.nbytes(),
            jobs_built=self._jobs_built,
            job_running=self._job is not None,
            job=None if self._job is None else self._job.stats(),
            completed_jobs=tuple(self._completed),
            waiting_segments=tuple(s.size for s in self._frozen if not self._taken(s)),
        )

    def _taken(self, segment: _Segment) -> bool:
        return self._job is not None and any(s is segment for s in self._job.inputs)

    # --- helpers -------------------------------------------------------------------------------

    def _new_fresh(self) -> FlatBuffer:
        return FlatBuffer(
            self.dimension, self.distance, expected_rows=self._fresh_max, preallocate=True
        )

    def _new_buffer(self, rows: int) -> FlatBuffer:
        return FlatBuffer(self.dimension, self.distance, expected_rows=rows)

    def _held(self, slots: I64) -> npt.NDArray[np.bool_]:
        held = _member(slots, self._fresh.slots)
        for seg in self._frozen + self._sealed:
            held |= _member(slots, seg.slots)
        return held


def _copy_live_rows(
    source: FlatBuffer, target: FlatBuffer, remap: I64, live: npt.NDArray[np.bool_]
) -> None:
    """Append `source`'s rows whose slots survive a renumber, live, under their new slots
    (still ascending: a compaction keeps slot order)."""
    for slots, rows in source.export():
        new = remap[slots]
        keep = new >= 0
        keep[keep] = live[new[keep]]
        target.add(new[keep], rows[keep])


def _composed(first: I64, then: I64) -> I64:
    """The remap of two renumbers in a row: `then[first[s]]`, -1 staying -1."""
    out = np.full(len(first), -1, dtype=np.int64)
    kept = first >= 0
    out[kept] = then[first[kept]]
    return out


def _sorted_unique(values: I64) -> I64:
    """np.unique for int64, by sort and mask: np.unique of 1M slots took 0.75 s here against
    0.02 s for this (numpy 2.4), and it runs on every open (bench/restart.py's profile)."""
    if len(values) < 2:
        return values.copy()
    ordered = np.sort(values)
    keep = np.empty(len(ordered), dtype=np.bool_)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def _member(values: I64, sorted_pool: I64) -> npt.NDArray[np.bool_]:
    """For each value: is it in `sorted_pool` (ascending)? O(len(values) log len(pool))."""
    if len(sorted_pool) == 0 or len(values) == 0:
        return np.zeros(len(values), dtype=np.bool_)
    pos = np.minimum(np.searchsorted(sorted_pool, values), len(sorted_pool) - 1)
    return np.asarray(sorted_pool[pos] == values)


def _count_in(sorted_pool: I64, values: I64) -> int:
    if len(sorted_pool) == 0 or len(values) == 0:
        return 0
    if int(values.max()) < int(sorted_pool[0]) or int(values.min()) > int(sorted_pool[-1]):
        return 0
    return int(np.count_nonzero(_member(values, sorted_pool)))
