"""SegmentedIndex: a collection's ANN index as appendable + frozen + sealed segments (Qdrant's
appendable / non-appendable split), so that ingest never waits for HNSW insertion.

    add()      -> the FRESH segment: a FlatBuffer, appended to on the event loop, searched exactly
    full fresh -> FROZEN (take_seal_job): same buffer, no more appends, still searched exactly
    SealJob    -> builds a SEALED segment (HNSW, or flat below the full-scan threshold or for
                  flat collections) from frozen/sealed inputs in a worker thread, writes its file
    install()  -> swaps the inputs out and the sealed segment in, on the event loop

Deletions are one collection-wide bitmap over slots. Every segment is searched with it; nothing
is removed from a segment in place (sealed ones are immutable), and a build leaves out the slots
deleted when it started. Per segment we count how many of its slots are deleted: that gives
len(), lets a segment with no deletions skip the selector, widens the HNSW beam where needed and
tells the planner which segment is worth rebuilding.

Threads. Everything here runs on the event loop except SealJob.run(), SearchView.search() and
CheckpointPlan.run(). What each touches:

- fresh FlatBuffer: appended only by add() (loop). Threads see `snapshot()`s: a view of the rows
  written so far (never rewritten) plus their own copy of the row -> slot table.
- frozen FlatBuffers and sealed engines: never mutated after they are frozen / installed; the
  loop, views and jobs read them concurrently (FAISS reads are safe together).
- deleted bitmap: mutated only by remove() (loop). Jobs and views get `copy()`s, taken on the loop
  together with the per-segment deleted counts, so the two agree.
- segment lists and counters: loop only. A view holds its own tuple of (segment, count).
- FAISS search params/selectors: cached per bitmap (see zoro.ann.bitmap), so each thread uses
  only the ones made from its own bitmap copy; their selectors are pre-translated so FAISS never
  writes into them.

OpenMP: search() runs FAISS with ONE OpenMP thread (set around the call, per thread, ~1.6 µs).
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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from zoro.ann import _faiss
from zoro.ann.bitmap import Bitmap
from zoro.ann.fresh import FlatBuffer
from zoro.ann.jobs import BuildSpec, SealJob, SealResult
from zoro.ann.load import load_engine
from zoro.ann.manifest import (
    CheckpointPlan,
    Manifest,
    ManifestEntry,
    next_seq,
    read_manifest,
    segment_file_name,
)
from zoro.ann.policy import pick_merge
from zoro.ann.scores import check_batch, check_k, check_queries, empty_result, from_faiss
from zoro.errors import StorageError
from zoro.types import Distance

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from zoro.ann.engine import F32, I64, Searchable
    from zoro.settings import AnnSettings

log = logging.getLogger(__name__)

ENGINES: Final = ("hnsw", "flat")  # a collection's engine setting
DEFAULT_MAX_SEALED: Final = 4


@dataclass(eq=False, slots=True)
class _Segment:
    """A frozen or sealed segment and the bookkeeping the event loop keeps about it."""

    engine: Searchable
    slots: I64  # held slots, ascending (for membership tests)
    file: str | None  # sealed segments only
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


@dataclass(frozen=True, slots=True)
class SegmentStats:
    kind: str  # "hnsw", "flat" or "buffer" (frozen, not yet sealed)
    points: int
    deleted: int
    file: str | None


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


# (engine, how many of its slots are deleted) — what one search asks
_Part = tuple["Searchable", int]


def _search_parts(
    parts: Sequence[_Part],
    deleted: Bitmap | None,
    queries: F32,
    k: int,
    ef: int,
    exact: bool,
    distance: Distance,
) -> tuple[F32, I64]:
    """Ask every part, merge, score. Each engine writes FAISS's raw output into its slice of
    one (parts, m, k) buffer and FAISS merges the sorted lists in one C call: the per-query cost
    beyond the FAISS searches is a handful of numpy calls, whatever the number of segments."""
    m = len(queries)
    if not parts or k == 0:
        return empty_result(m, k, distance)
    all_d = np.empty((len(parts), m, k), dtype=np.float32)
    all_l = np.empty((len(parts), m, k), dtype=np.int64)
    for i, (engine, dead) in enumerate(parts):
        engine.search_into(
            queries,
            k,
            all_d[i],
            all_l[i],
            deleted=deleted if dead else None,  # no deletions here: skip the selector
            ef=ef,
            exact=exact,
            deleted_count=dead,
        )
    if len(parts) == 1:
        distances, labels = all_d[0], all_l[0]
    else:
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
        threads: int = 1,
    ) -> tuple[F32, I64]:
        """As SegmentedIndex.search. `threads`: FAISS's OpenMP threads for this call.

        One by default: on 2 cores a second OpenMP thread takes the event loop's core, and when
        the machine is busy its barriers make a batch slower, not faster (bench/ann_engines.py,
        a batch of 100 over 200k points: 2 threads took from 0.6x to 3x the 1-thread time from
        run to run, as the other load varied). Several worker threads searching at once, one
        OpenMP thread each, use the cores more predictably.
        """
        q = check_queries(queries, self._dimension, normalise=self._distance is Distance.COSINE)
        ef = self._ef if ef is None else ef
        with _faiss.omp_threads(threads):
            return _search_parts(
                self._parts, self._deleted, q, check_k(k), ef, exact, self._distance
            )


@dataclass(eq=False)
class _Job:
    job: SealJob
    inputs: tuple[_Segment, ...]
    removed: list[I64] = field(default_factory=list)  # slots newly deleted while it ran


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
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.dimension = dimension
        self.distance = distance
        self.settings = settings
        self.engine = engine
        self.max_sealed_segments = max(1, max_sealed_segments)
        self._fresh = self._new_fresh()
        self._fresh_deleted = 0
        self._frozen: list[_Segment] = []
        self._sealed: list[_Segment] = []
        self._deleted = Bitmap()
        self._job: _Job | None = None
        self._max_slot = -1  # highest slot ever indexed: adds above it need no duplicate check
        self._next_seq = next_seq(directory)
        self._jobs_built = 0

    # --- writes (event loop) -------------------------------------------------------------------

    def add(self, slots: npt.ArrayLike, vectors: npt.ArrayLike) -> None:
        """Index new points (unit vectors for Cosine) in the fresh segment: O(batch).

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
        if not self._fresh.can_append(ids):
            self._freeze_fresh()  # rare (replay out of order): keep every buffer ascending
        self._fresh.add(ids, np.ascontiguousarray(vecs))
        self._max_slot = max(self._max_slot, int(ids[-1]))

    def remove(self, slots: npt.ArrayLike) -> None:
        """Mark slots deleted, wherever they are held: O(batch x segments)."""
        ids = np.unique(np.asarray(slots, dtype=np.int64).reshape(-1))
        if len(ids) and int(ids[0]) < 0:
            raise ValueError("slot numbers must be non-negative")
        new = ids[~self._deleted.test(ids)]
        if len(new) == 0:
            return
        self._deleted.set(new)
        if self._job is not None:
            self._job.removed.append(new)
        self._fresh_deleted += _count_in(self._fresh.slots, new)
        for seg in self._frozen + self._sealed:
            seg.deleted += _count_in(seg.slots, new)

    # --- search ------------------------------------------------------------------------------

    def search(
        self, queries: npt.ArrayLike, k: int, *, ef: int | None = None, exact: bool = False
    ) -> tuple[F32, I64]:
        """Best k slots per query over every segment, best first, as (scores, slots), (m, k).

        Inline on the event loop, single-threaded: meant for single queries and small batches
        (one query over a 50k HNSW and a 5k fresh segment is about 0.2 ms here). Missing
        results are slot -1 with the worst score. `exact=True` scans HNSW segments exactly too.
        """
        q = check_queries(queries, self.dimension, normalise=self.distance is Distance.COSINE)
        ef = self.settings.hnsw_ef_search if ef is None else ef
        with _faiss.omp_threads(1):  # see the module doc
            return _search_parts(
                self._parts(), self._deleted, q, check_k(k), ef, exact, self.distance
            )

    def thread_view(self) -> SearchView:
        """A SearchView for a big batch search in a worker thread (see SearchView).

        Cost on the event loop: a copy of the deleted bitmap (1 bit per slot ever used; skipped
        when no indexed point is deleted) and of the fresh segment's slot table (8 bytes a row).
        Vectors are shared, not copied.
        """
        parts: list[_Part] = [(s.engine, s.deleted) for s in self._frozen + self._sealed if s.live]
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

    def _parts(self) -> list[_Part]:
        parts: list[_Part] = [(s.engine, s.deleted) for s in self._sealed if s.live]
        parts.extend((s.engine, s.deleted) for s in self._frozen if s.live)
        if len(self._fresh) > self._fresh_deleted:
            parts.append((self._fresh, self._fresh_deleted))
        return parts

    # --- sealing -----------------------------------------------------------------------------

    def take_seal_job(self) -> SealJob | None:
        """Freeze a full fresh segment and return the next build, if one is due.

        Due, in this order: frozen segments to seal (into HNSW once the collection has
        `full_scan_threshold` points and the engine is "hnsw", else into a flat segment); flat
        segments to turn into HNSW; a sealed segment whose deleted share passed
        `rebuild_deleted_ratio`; sealed segments to merge (see zoro.ann.policy). At most one job
        is outstanding: None until it is installed or abandoned. Cheap (a bitmap copy).
        """
        if len(self._fresh) >= self.settings.fresh_segment_max_points:
            self._freeze_fresh()
        if self._job is not None:
            return None
        self._drop_dead_segments()
        planned = self._plan()
        if planned is None:
            return None
        inputs, kind = planned
        spec = BuildSpec(
            kind,
            self.dimension,
            self.distance,
            self.settings.hnsw_m,
            self.settings.hnsw_ef_construct,
            self.settings.hnsw_ef_search,
            self.settings.build_threads,
        )
        path = self.directory / segment_file_name(self._next_seq)
        job = SealJob(tuple(s.engine for s in inputs), spec, self._deleted.copy(), path)
        # Publish the job before moving the sequence on: a plan_checkpoint() running in a
        # thread that sees the new sequence number also sees the job (and keeps its file).
        self._job = _Job(job, tuple(inputs))
        self._next_seq += 1
        return job

    def install(self, result: SealResult) -> None:
        """Swap the job's inputs out and its segment in (O(slots deleted while it ran)).

        Slots deleted while the job ran are in the new segment but set in the live bitmap, so
        they stay excluded. Raises ValueError for a result that is not the outstanding job's.
        """
        running = self._job
        if running is None or result.job is not running.job:
            raise ValueError("this seal result is not the outstanding job's")
        gone = {id(s) for s in running.inputs}
        sealed = [s for s in self._sealed if id(s) not in gone]
        if result.engine is not None:
            removed = np.concatenate(running.removed) if running.removed else np.empty(0, np.int64)
            dead = _count_in(result.slots, removed)
            sealed.append(_Segment(result.engine, result.slots, result.file, dead))
        self._frozen = [s for s in self._frozen if id(s) not in gone]
        # Publish the new list whole, and before clearing the job: plan_checkpoint() relies on
        # this order when it runs in a thread.
        self._sealed = sealed
        self._job = None
        self._jobs_built += 1

    def abandon(self, job: SealJob) -> None:
        """Forget a job that failed or will not be installed; its inputs stay as they are and
        the next take_seal_job() plans again. Its file, if written, goes at a checkpoint."""
        if self._job is not None and self._job.job is job:
            self._job = None

    def _freeze_fresh(self) -> None:
        if len(self._fresh) == 0:
            return
        buffer = self._fresh.freeze()
        self._frozen.append(_Segment(buffer, buffer.slots, None, self._fresh_deleted))
        self._fresh = self._new_fresh()
        self._fresh_deleted = 0

    def _drop_dead_segments(self) -> None:
        # nothing live left: no build needed, just stop searching it (its file goes later)
        self._frozen = [s for s in self._frozen if s.live]
        self._sealed = [s for s in self._sealed if s.live]

    def _plan(self) -> tuple[list[_Segment], str] | None:
        big = len(self) >= self.settings.full_scan_threshold
        want = "hnsw" if self.engine == "hnsw" and big else "flat"
        flats = [s for s in self._sealed if s.kind == "flat"]
        if self._frozen:
            return list(self._frozen) + (flats if want == "hnsw" else []), want
        if want == "hnsw" and flats:
            return flats, "hnsw"
        ratio = self.settings.rebuild_deleted_ratio
        worn = [s for s in self._sealed if s.deleted > ratio * s.size]
        if worn:
            most = max(worn, key=lambda s: s.deleted / s.size)
            return [most], most.kind
        chosen = [
            self._sealed[i]
            for i in pick_merge([s.live for s in self._sealed], self.max_sealed_segments)
        ]
        if chosen:
            kind = "hnsw" if any(s.kind == "hnsw" for s in chosen) else want
            return chosen, kind
        return None

    # --- persistence ---------------------------------------------------------------------------

    def checkpoint_manifest(self, valid_slot_limit: int) -> None:
        """At the collection's checkpoint: write the manifest listing the sealed segments whose
        slots are all below `valid_slot_limit`, then delete segment files nothing uses.

        Blocking (a small file, two fsyncs): fine in a worker thread while the event loop keeps
        adding, searching, taking and installing jobs (see plan_checkpoint). Only one checkpoint
        at a time. Raises StorageError/StorageFull if the manifest cannot be written.
        """
        self.plan_checkpoint(valid_slot_limit).run()

    def plan_checkpoint(self, valid_slot_limit: int) -> CheckpointPlan:
        """What a checkpoint writes and deletes, as a plan whose run() does the I/O.

        Safe to call from a worker thread while the event loop runs take_seal_job()/install():
        it reads three attributes, each an atomic read, in an order that never lets a file in
        use be deleted. `_next_seq` first: a job taken after that writes a file numbered at or
        above it, which the plan never deletes (take_seal_job publishes a job before it moves
        the sequence on). Then the outstanding job (its file is kept), then the sealed list:
        install() publishes the new list before it clears the job, so if we missed the job we
        see its segment in the list.
        """
        below_seq = self._next_seq
        running = self._job
        sealed = self._sealed
        listed = tuple(
            ManifestEntry(s.file, s.kind, s.size, int(s.slots[0]), int(s.slots[-1]))
            for s in sealed
            if s.file is not None and s.size and int(s.slots[-1]) < valid_slot_limit
        )
        keep = frozenset(s.file for s in sealed if s.file is not None)
        building = running.job.path.name if running is not None else None
        manifest = Manifest(self.dimension, self.distance, valid_slot_limit, listed)
        return CheckpointPlan(self.directory, manifest, keep, building, below_seq)

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
        engine: str = "hnsw",
        max_sealed_segments: int = DEFAULT_MAX_SEALED,
    ) -> SegmentedIndex:
        """Rebuild the in-memory index at startup from the manifest and storage.

        Sealed segments in the manifest are loaded, not rebuilt. A segment file that is
        missing, damaged, for another dimension/distance, or holding a slot >= valid_slot_limit
        is discarded (logged). Slots a kept segment holds that are not in `live_slots` are marked
        deleted; live slots no kept segment holds are read with `vectors_of` (in chunks of
        `fresh_segment_max_points`) into frozen/fresh flat buffers, so they are searchable at
        once and the next take_seal_job() calls build them in the background.
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
        live = np.unique(np.asarray(live_slots, dtype=np.int64).reshape(-1))
        index._sealed = index._load_sealed(read_manifest(directory), valid_slot_limit)
        held = np.sort(np.concatenate([s.slots for s in index._sealed] + [np.empty(0, np.int64)]))
        for seg in index._sealed:
            dead = seg.slots[~_member(seg.slots, live)]
            index._deleted.set(dead)
            seg.deleted = len(dead)
        index._load_missing(live[~_member(live, held)], vectors_of)
        tops = [int(s.slots[-1]) for s in index._sealed + index._frozen if s.size]
        index._max_slot = max([*tops, int(index._fresh.slots[-1]) if len(index._fresh) else -1])
        return index

    def _load_sealed(self, manifest: Manifest | None, limit: int) -> list[_Segment]:
        if manifest is None:
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
            if _member(seg.slots, held).any():
                log.warning("ANN segment %s overlaps another; discarded", entry.file)
                continue
            kept.append(seg)
            held = np.union1d(held, seg.slots)
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
        return _Segment(engine, slots, entry.file)

    def _load_missing(
        self, missing: I64, vectors_of: Callable[[npt.NDArray[np.int64]], npt.NDArray[np.float32]]
    ) -> None:
        chunk = max(1, self.settings.fresh_segment_max_points)
        for start in range(0, len(missing), chunk):
            slots = missing[start : start + chunk]
            buffer = self._new_fresh()
            buffer.add(slots, vectors_of(slots))
            if len(slots) == chunk:
                self._frozen.append(_Segment(buffer.freeze(), buffer.slots, None))
            else:
                self._fresh = buffer

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
        )

    # --- helpers -------------------------------------------------------------------------------

    def _new_fresh(self) -> FlatBuffer:
        return FlatBuffer(
            self.dimension, self.distance, expected_rows=self.settings.fresh_segment_max_points
        )

    def _held(self, slots: I64) -> npt.NDArray[np.bool_]:
        held = _member(slots, self._fresh.slots)
        for seg in self._frozen + self._sealed:
            held |= _member(slots, seg.slots)
        return held


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
