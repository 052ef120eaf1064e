"""CollectionStore: one collection's files on disk, and the in-memory index over them.

    <collection>/meta                   checkpoint record (meta.py), replaced atomically
    <collection>/source/vectors[.<n>]   dense vector n: float32 rows, one per slot (vectors.py)
    <collection>/source/present.<n>     dense vector n: which slots carry it (columns.py)
    <collection>/source/sparse.<n>      sparse vector n: records of the slots carrying it
    <collection>/source/multi.<n>       multivector n: a matrix record per slot carrying it
    <collection>/source/payloads        payload records with CRC (payloads.py)
    <collection>/index/slots            slot -> key, payload offset, length (slots.py)
    <collection>/index/points.<gen>     sorted key -> slot as of checkpoint <gen> (points_file.py)
    <collection>/files.<k>/...          the same source/ and index/ files, renumbered by
                                        compaction (file generation k >= 1, named by meta;
                                        see compaction.py and docs/compaction.md)

A slot is a row number. Every upsert appends a new slot, so files only grow between checkpoints
and a slot below `checkpointed_slots` never changes; the slot it replaced becomes garbage. A
point carries any subset of the collection's vectors, which the store knows by number only
(see Layout): the names live in the catalog.

Durability is the WAL's job: apply writes without fsync. A checkpoint makes the files durable,
writes the point index under a new generation, and then commits by replacing meta. Open reads
meta, cuts every append-only file back to the checkpointed length and loads the index with bulk
reads, so the state is exactly that of the last checkpoint; the caller re-applies later WAL
records. Apply is deterministic (slots are numbered in append order: batch after batch, and
within a batch in the order of each key's last occurrence), so re-applying gives the very same
slots.

Threads: apply and reads run on one thread (the actor's); `checkpoint` may run on a worker
thread while no apply runs. It only swaps in a merged point index (one reference assignment,
same content), so reads may go on meanwhile.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from zoro.errors import (
    CorruptionError,
    FollowerBehind,
    StorageError,
    SwitchUncertain,
    storage_error,
)
from zoro.fsutil import fsync_dir
from zoro.sparse.vectors import SparseBatch
from zoro.types import KEY_DTYPE, KEY_SIZE, full_key

from . import columns, points_file
from . import meta as meta_file
from ._growable import Growable
from ._plan import Layout, Upsert, plan
from .columns import DenseVectors, MultiVectors, SparseVectors, Vectors, create_vectors
from .compaction import Compaction
from .generations import (
    INDEX,
    META,
    PAYLOADS,
    SLOTS,
    SOURCE,
    files_root,
    remove_other_generations,
)
from .meta import CollectionMeta
from .payloads import PayloadFile, encode_records
from .point_index import PointIndex
from .records import ApplyResult, PointRecord, StoreStats, VectorChange
from .slots import SlotTable

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    import numpy.typing as npt

    from zoro.settings import StorageSettings
    from zoro.types import Keys, WriteOp


T = TypeVar("T", bound=np.generic)


class CollectionStore:
    """The storage engine of one collection. Blocking, synchronous, single writer."""

    def __init__(
        self,
        directory: Path,
        settings: StorageSettings,
        meta: CollectionMeta,
        files: tuple[PayloadFile, SlotTable],
        vectors: Vectors,
        index: PointIndex,
        live: npt.NDArray[np.bool_],
    ) -> None:
        self._dir = directory
        self._root = files_root(directory, meta.files)  # where this generation's files are
        self._settings = settings
        self._meta = meta  # as of the last checkpoint
        self._payloads, self._slots = files
        self._dense, self._sparse, self._multi = vectors
        self.layout = Layout(
            {n: d.rows.dimension for n, d in self._dense.items()},
            tuple(sorted(self._sparse)),
            {n: m.file.dimension for n, m in self._multi.items()},
        )
        self._index = index
        self._live: Growable[np.bool_] = Growable(np.dtype(np.bool_), live)
        self._live_count = meta.live
        self._applied_lsn = meta.checkpoint_lsn
        self._upserts_total = meta.upserts_total
        self._deletes_total = meta.deletes_total
        self._closed = False
        self._building: Path | None = None  # the file generation a compaction is writing
        self.follows = False  # a follower's store: reads and adopts, never writes (open)

    # ---------------------------------------------------------------- create / open / close

    @classmethod
    def create(
        cls, directory: Path, layout: Layout | int, settings: StorageSettings
    ) -> CollectionStore:
        """An empty collection in `directory`, durable (files and meta fsynced) on return.
        `layout`: the vectors it keeps (an int: one dense vector of that size, number 0).

        Raises StorageError if the directory already holds a collection, StorageFull/StorageError
        on I/O errors (a half-made directory is debris the catalog removes).
        """
        layout = Layout.single(layout) if isinstance(layout, int) else layout
        if min(layout.dense.values(), default=1) < 1:
            raise ValueError(f"dimensions must be positive, not {dict(layout.dense)}")
        if (directory / META).exists():
            raise StorageError(f"{directory} already holds a collection")
        no_keys, no_slots = np.empty(0, dtype=KEY_DTYPE), np.empty(0, dtype=np.int64)
        try:
            for sub in (SOURCE, INDEX):
                (directory / sub).mkdir(parents=True, exist_ok=True)
            with contextlib.ExitStack() as opened:
                payloads = PayloadFile.create(directory / PAYLOADS)
                opened.callback(payloads.close)
                slots = SlotTable.create(directory / SLOTS)
                opened.callback(slots.close)
                vectors = create_vectors(directory, layout, 0, opened)
                points_file.write(directory / INDEX / points_file.file_name(0), no_keys, no_slots)
                for sub in (SOURCE, INDEX, "."):
                    fsync_dir(directory / sub)
                fsync_dir(directory.parent)
                meta = CollectionMeta(
                    dense=dict(layout.dense),
                    generation=0,
                    checkpoint_lsn=0,
                    slots=0,
                    slots_crc32=0,
                    payload_bytes=payloads.end,
                    live=0,
                    upserts_total=0,
                    deletes_total=0,
                    sparse={n: v.end for n, v in vectors[1].items()},
                    multi={n: (m.file.dimension, m.end) for n, m in vectors[2].items()},
                )
                meta_file.write(directory / META, meta)  # the commit point of creation
                opened.pop_all()
        except OSError as exc:
            raise storage_error(exc, f"creating collection files in {directory}") from exc
        live = no_slots > 0
        return cls(
            directory,
            settings,
            meta,
            (payloads, slots),
            vectors,
            PointIndex(no_keys, no_slots),
            live,
        )

    @classmethod
    def open(
        cls,
        directory: Path,
        layout: Layout | int,
        settings: StorageSettings,
        *,
        follow: bool = False,
    ) -> CollectionStore:
        """The collection as of its last checkpoint; later bytes in its files are cut off.

        `follow`: a follower's store (docs/workers.md): every file is opened read-only and
        nothing is cut, created or removed; `apply_many` then checks that the files hold what
        it would have written (see _fileio.Adopted) instead of writing it. A follower cannot
        checkpoint or compact. Raises FollowerBehind for a vector declared since the
        checkpoint (the owner's next checkpoint names it).

        `layout` comes from the catalog, the truth about which vectors exist: a vector it
        declares that the checkpoint does not know (added since) starts with no slot carrying
        it; one the checkpoint knows and it does not (dropped since) is left out and its files
        removed. Raises CorruptionError (naming the file and offset) for a missing or damaged
        meta, file header or index file, or a vector whose size differs from the catalog's;
        StorageFull/StorageError for other I/O errors.
        """
        layout = Layout.single(layout) if isinstance(layout, int) else layout
        try:
            meta = meta_file.read(directory / META)
            for number, size in (*layout.dense.items(), *layout.multi.items()):
                known = meta.dense.get(number, meta.multi.get(number, (size, 0))[0])
                if known != size:
                    raise CorruptionError(
                        str(directory / META),
                        0,
                        f"vector {number} has size {known}, expected {size}",
                    )
            with contextlib.ExitStack() as opened:
                root = files_root(directory, meta.files)
                payloads = PayloadFile.open(root / PAYLOADS, meta.payload_bytes, follow=follow)
                opened.callback(payloads.close)
                slots = SlotTable.open(root / SLOTS, meta.slots, meta.slots_crc32, follow=follow)
                opened.callback(slots.close)
                vectors = _open_vectors(root, layout, meta, opened, follow=follow)
                index_path = root / INDEX / points_file.file_name(meta.generation)
                keys, point_slots = points_file.read(index_path)
                live = _check_index(index_path, keys, point_slots, slots, meta)
                opened.pop_all()
        except FileNotFoundError as exc:
            raise CorruptionError(str(exc.filename), 0, "file is missing") from exc
        except OSError as exc:
            raise storage_error(exc, f"opening the collection in {directory}") from exc
        files = (payloads, slots)
        store = cls(directory, settings, meta, files, vectors, PointIndex(keys, point_slots), live)
        store.follows = follow
        if follow:
            return store
        declared = {*layout.dense, *layout.sparse, *layout.multi}
        for number in {*meta.dense, *meta.sparse, *meta.multi} - declared:
            # dropped: meta forgets it at the next checkpoint
            columns.remove_files(store._root, number)
        store.remove_debris()
        return store

    def close(self) -> None:
        """Close the files (no checkpoint: the caller decides). Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._close_files()

    def _close_files(self) -> None:
        """Close the files of the generation in use."""
        for file in (self._payloads, self._slots):
            with contextlib.suppress(OSError):
                file.close()
        for vectors in self._vector_files():
            vectors.close()

    def _vector_files(self) -> list[DenseVectors | SparseVectors | MultiVectors]:
        return [*self._dense.values(), *self._sparse.values(), *self._multi.values()]

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError(f"the store in {self._dir} is closed")

    def superseded(self) -> bool:
        """Whether meta now names another file generation than the one open (a follower's
        question: the owner compacted, so this numbering is over). Reads meta."""
        return meta_file.read(self._dir / META).files != self._meta.files

    def _check_writer(self) -> None:
        self._check_open()
        if self.follows:
            raise StorageError(f"{self._dir}: a follower's store neither checkpoints nor compacts")

    # ---------------------------------------------------------------- state

    @property
    def dimension(self) -> int:
        """The size of dense vector 0 (the version-1 collection's one vector)."""
        return self.layout.dense[0]

    @property
    def checkpoint_lsn(self) -> int:
        return self._meta.checkpoint_lsn

    @property
    def applied_lsn(self) -> int:
        return self._applied_lsn

    @property
    def directory(self) -> Path:
        return self._dir

    def file_lengths(self) -> dict[str, int]:
        """How long each append-only file of the generation in use is as far as its data goes
        (path relative to the collection directory): files are preallocated past their data,
        so a copy of one (a snapshot) takes this many bytes. Right after a checkpoint these
        are the checkpoint's lengths."""
        prefix = self._root.relative_to(self._dir)
        lengths = {PAYLOADS: self._payloads.end, SLOTS: self._slots.file_bytes}
        for dense in self._dense.values():
            lengths.update(dense.file_lengths())
        for number, sparse in self._sparse.items():
            lengths[columns.sparse_name(number)] = sparse.end
        for number, multi in self._multi.items():
            lengths[columns.multi_name(number)] = multi.end
        return {(prefix / name).as_posix(): length for name, length in lengths.items()}

    @property
    def file_generation(self) -> int:
        """The file generation the slots are numbered in (each compaction makes a new one)."""
        return self._meta.files

    @property
    def checkpointed_slots(self) -> int:
        return self._meta.slots

    def slot_count(self) -> int:
        return len(self._slots)

    def live_count(self) -> int:
        return self._live_count

    def live_slots(self) -> npt.NDArray[np.int64]:
        return np.flatnonzero(self._live.view()).astype(np.int64)

    def live_mask(self) -> npt.NDArray[np.bool_]:
        """Is each slot live? A view: valid until the next apply; copy it to keep it."""
        return self._live.view()

    def vector_rows(self, number: int = 0) -> npt.NDArray[np.float32]:
        """Every slot's dense vector `number` as one read-only (slots, size) memory map (row =
        slot; zeros where a slot lacks it, see `present_mask`)."""
        return self._dense[number].rows.rows()

    def present_mask(self, number: int) -> npt.NDArray[np.bool_]:
        """Does each slot carry vector `number`? Dense: a view, valid until the next apply."""
        if number in self._dense:
            return self._dense[number].present()
        if number in self._sparse:
            return self._sparse[number].present()
        return self._multi[number].present()

    def stats(self) -> StoreStats:
        index = self._index
        return StoreStats(
            live=self._live_count,
            slots=self.slot_count(),
            garbage_slots=self.slot_count() - self._live_count,
            payload_bytes=self._payloads.end,
            checkpoint_lsn=self.checkpoint_lsn,
            applied_lsn=self._applied_lsn,
            index_delta=index.delta_size,
            index_tombstones=index.tombstones,
            memory_bytes=index.nbytes
            + self._slots.nbytes
            + self._live.nbytes
            + sum(v.nbytes for v in self._vector_files()),
            upserts_total=self._upserts_total,
            deletes_total=self._deletes_total,
        )

    # ---------------------------------------------------------------- writes

    def apply_many(self, items: Sequence[tuple[int, WriteOp]]) -> ApplyResult:
        """Apply WAL operations in lsn order; items at or below `applied_lsn` are skipped.

        Appends with one write per file and no fsync (the WAL holds the durable copy). Raises
        ValueError for malformed input (nothing applied), StorageFull/StorageError on I/O errors
        (files cut back, in-memory state unchanged: reopen to recover from the WAL).
        """
        self._check_open()
        first_slot = self.slot_count()
        steps, last_lsn = plan(items, self._applied_lsn, self.layout, first_slot)
        upserts = [s for s in steps if isinstance(s, Upsert)]
        added = sum(len(u.keys) for u in upserts)
        if added:
            self._append(upserts)
        # From here on nothing can fail: the files hold the new slots, now index them.
        self._live.extend(np.ones(added, dtype=np.bool_))
        live = self._live.view()
        removed: list[npt.NDArray[np.int64]] = []
        for step in steps:
            if isinstance(step, Upsert):
                old = self._index.upsert(step.index_keys, step.index_slots)
                self._upserts_total += len(step.keys)
                self._live_count += len(step.keys)
            else:
                old = self._index.delete(step.keys)
                self._deletes_total += int(np.count_nonzero(old >= 0))
            old = old[old >= 0]
            live[old] = False
            self._live_count -= len(old)
            removed.append(old)
        if self._index.needs_merge(self._settings.index_delta_max):
            self._index = self._index.merged()
        self._applied_lsn = last_lsn
        return self._result(live, first_slot, removed, upserts)

    def _append(self, upserts: list[Upsert]) -> None:
        """Write the new slots to every file, or to none of them (as far as memory goes)."""
        records, starts, lengths = encode_records([p for u in upserts for p in u.payloads])
        keys = _joined([u.keys for u in upserts], np.empty(0, KEY_DTYPE))
        slot_count = self.slot_count()
        marks = (
            slot_count,
            self._payloads.end,
            self._slots.crc,
            {n: v.end for n, v in self._sparse.items()}
            | {n: m.end for n, m in self._multi.items()},
        )
        try:
            offset = self._payloads.append(records)
            self._slots.append(keys, offset + starts, lengths)
            for step in upserts:
                for number, (present, rows) in step.dense.items():
                    self._dense[number].append(present, rows)
                for number, (present, sparse_rows) in step.sparse.items():
                    self._sparse[number].append(step.first_slot, present, sparse_rows)
                for number, (present, counts, matrices) in step.multi.items():
                    self._multi[number].append(step.first_slot, present, counts, matrices)
        except OSError as exc:
            self._undo_append(*marks)
            raise storage_error(exc, f"appending points in {self._dir}") from exc

    def _undo_append(
        self, slots: int, payload_end: int, crc: int, sparse_ends: dict[int, int]
    ) -> None:
        # Each truncate resets the in-memory length first; cutting the bytes is best effort
        # (the next write goes to the same offsets, and open cuts files back anyway).
        with contextlib.suppress(OSError):
            self._payloads.truncate(payload_end)
        with contextlib.suppress(OSError):
            self._slots.truncate(slots, crc)
        for dense in self._dense.values():
            dense.truncate(slots)
        for number, sparse in self._sparse.items():
            sparse.truncate(slots, sparse_ends[number])
        for number, multi in self._multi.items():
            multi.truncate(slots, sparse_ends[number])

    def _result(
        self,
        live: npt.NDArray[np.bool_],
        first_slot: int,
        removed: list[npt.NDArray[np.int64]],
        upserts: list[Upsert],
    ) -> ApplyResult:
        added = (np.flatnonzero(live[first_slot:]) + first_slot).astype(np.int64)
        gone = np.concatenate(removed) if removed else np.empty(0, dtype=np.int64)
        # a slot leaves the live set at most once, so there are no repeats to remove
        gone = np.sort(gone[gone < first_slot])
        changes: dict[int, VectorChange] = {}
        for number, dense in self._dense.items():
            present = dense.present()
            mine = added[present[added]]
            # the rows just written, from memory: step rows are in slot order from first_slot
            rows = _joined([u.dense[number][1] for u in upserts], np.empty((0, 0), "f4"))
            taken = rows[mine - first_slot] if len(mine) < len(rows) else rows
            changes[number] = VectorChange(mine, taken, None, gone[present[gone]])
        for number, sparse in self._sparse.items():
            present = sparse.present()
            mine = added[present[added]]
            batch = SparseBatch.concat([u.sparse[number][1] for u in upserts])
            carried = np.flatnonzero(present[first_slot:]) + first_slot  # rows of `batch`
            if len(mine) < len(carried):
                batch = batch.rows(np.searchsorted(carried, mine).astype(np.int64))
            changes[number] = VectorChange(mine, None, batch, gone[present[gone]])
        for number, multi in self._multi.items():
            present = multi.present()
            mine = added[present[added]]
            counts, matrices = _new_matrices([u.multi[number] for u in upserts], first_slot, mine)
            changes[number] = VectorChange(
                mine, None, None, gone[present[gone]], added_counts=counts, added_multi=matrices
            )
        written = [p for u in upserts for p in u.payloads]  # slot order from first_slot
        payloads = (
            written
            if len(added) == len(written)
            else [written[i] for i in (added - first_slot).tolist()]
        )
        return ApplyResult(
            added_slots=added, removed_slots=gone, vectors=changes, added_payloads=payloads
        )

    def checkpoint(self) -> int:
        """Make everything applied durable and record `applied_lsn` as the checkpoint; return it.

        Commit protocol: new point index generation file (fsynced), source files and slot table
        fsynced, then meta replaced atomically (the commit point), then the old generation
        deleted. A crash anywhere before the meta replace leaves the previous checkpoint whole.
        Runs on a worker thread while no apply runs. Raises StorageFull/StorageError.
        """
        self._check_writer()
        if self._applied_lsn == self._meta.checkpoint_lsn:
            return self._meta.checkpoint_lsn  # nothing applied since: the files are as recorded
        if self._index.delta_size or self._index.tombstones:
            self._index = self._index.merged()
        keys, point_slots = self._index.main_arrays()
        meta = CollectionMeta(
            dense=dict(self.layout.dense),
            sparse={n: v.end for n, v in self._sparse.items()},
            multi={n: (m.file.dimension, m.end) for n, m in self._multi.items()},
            files=self._meta.files,
            generation=self._meta.generation + 1,
            checkpoint_lsn=self._applied_lsn,
            slots=self.slot_count(),
            slots_crc32=self._slots.crc,
            payload_bytes=self._payloads.end,
            live=self._live_count,
            upserts_total=self._upserts_total,
            deletes_total=self._deletes_total,
        )
        index_dir = self._root / INDEX
        try:
            points_file.write(index_dir / points_file.file_name(meta.generation), keys, point_slots)
            fsync_dir(index_dir)
            self._payloads.sync()
            self._slots.sync()
            for vectors in self._vector_files():
                vectors.sync()
            meta_file.write(self._dir / META, meta)
        except OSError as exc:
            raise storage_error(exc, f"writing a checkpoint in {self._dir}") from exc
        self._meta = meta
        self.remove_debris()
        return meta.checkpoint_lsn

    # ---------------------------------------------------------------- compaction

    def begin_compaction(self) -> Compaction:
        """Start writing the live slots into the next file generation (the actor's thread:
        takes the cut, touches no file). See compaction.py for the steps.

        Raises StorageError if a compaction is already under way."""
        self._check_writer()
        if self._building is not None:
            raise StorageError(f"a compaction of {self._dir} is already under way")
        generation = self._meta.files + 1
        self._building = files_root(self._dir, generation)
        return Compaction(self, generation, self._building)

    def compaction_ended(self, compaction: Compaction) -> None:
        """`compaction` no longer writes its directory (switched to, or abandoned)."""
        if self._building == compaction.root:
            self._building = None

    def switch_to(self, compaction: Compaction) -> npt.NDArray[np.int64]:
        """`commit_compaction`, `install_compaction` and `remove_debris` in one go."""
        remap = self.install_compaction(self.commit_compaction(compaction))
        self.remove_debris()
        return remap

    def commit_compaction(self, compaction: Compaction) -> Switch:
        """Copy the slots appended since `compaction`'s last cut, then make its generation the
        collection's on disk, as a checkpoint at `applied_lsn`. The store in memory is not
        changed: `install_compaction` does that (on the actor's thread, with the indexes).

        Commit protocol: the new files and the new point index generation fsynced with their
        directories, then meta replaced (the commit point: it names the file generation). A
        crash before meta leaves the old checkpoint whole and the new directory is debris;
        after it, the old one is. Runs on a worker thread while no apply runs. Raises
        StorageError if the layout changed since the cut (then `abandon`), StorageFull or
        StorageError on I/O errors (the old generation stays in use; `abandon`), and
        SwitchUncertain when writing meta failed: then neither generation may be deleted, and
        the collection must be reopened to learn which one meta names.
        """
        self._check_open()
        if compaction.layout != self.layout:
            raise StorageError("the collection's vectors changed during the compaction")
        compaction.cut_more()
        try:
            compaction.copy()
        except OSError as exc:
            raise storage_error(exc, f"compacting {self._dir}") from exc
        remap = compaction.remap(self.slot_count())
        index = self._index.merged() if self._index.delta_size or self._index.tombstones else None
        keys, old_slots = (index or self._index).main_arrays()
        point_slots = remap[old_slots]
        if len(point_slots) and int(point_slots.min()) < 1:
            raise StorageError("compaction lost a live slot")  # a bug, never data: refuse
        files = compaction.files
        meta = CollectionMeta(
            dense=dict(self.layout.dense),
            sparse={n: v.end for n, v in files.sparse.items()},
            multi={n: (m.file.dimension, m.end) for n, m in files.multi.items()},
            files=compaction.generation,
            generation=self._meta.generation + 1,
            checkpoint_lsn=self._applied_lsn,
            slots=compaction.count,
            slots_crc32=files.slots.crc,
            payload_bytes=files.payloads.end,
            live=self._live_count,
            upserts_total=self._upserts_total,
            deletes_total=self._deletes_total,
        )
        try:
            points_file.write(
                compaction.root / INDEX / points_file.file_name(meta.generation), keys, point_slots
            )
            files.sync()
        except OSError as exc:
            raise storage_error(exc, f"switching {self._dir} to its compacted files") from exc
        try:
            meta_file.write(self._dir / META, meta)
        except OSError as exc:
            # meta may or may not have been replaced: only reopening knows which generation
            # the collection is in
            doing = f"writing the meta that switches {self._dir} to its compacted files"
            raise SwitchUncertain(storage_error(exc, doing).message) from exc
        return Switch(compaction, meta, keys, point_slots, remap)

    def install_compaction(self, switch: Switch) -> npt.NDArray[np.int64]:
        """Use the committed generation from now on; return the remap (the new slot of each old
        slot, -1 for one that is gone), which every slot-keyed index must apply before anyone
        reads again. No apply may run between the commit and this."""
        if switch.meta.checkpoint_lsn != self._applied_lsn:
            raise StorageError("writes were applied between a compaction's commit and install")
        self._close_files()
        files = switch.compaction.taken()
        self._payloads, self._slots = files.payloads, files.slots
        self._dense, self._sparse, self._multi = files.dense, files.sparse, files.multi
        self._root = switch.compaction.root
        self._meta = switch.meta
        self._index = PointIndex(switch.keys, switch.point_slots)
        live = np.zeros(switch.meta.slots, dtype=np.bool_)
        live[switch.point_slots] = True
        self._live = Growable(np.dtype(np.bool_), live)
        return switch.remap  # the old generation's files go at `remove_debris`

    def remove_debris(self) -> None:
        """Delete point index files of other generations (old, or from a checkpoint that never
        committed), file generations meta does not name (replaced, or from a compaction that
        never committed) and temp files. Best effort: what stays is removed on the next open.
        A follower's store removes nothing (the owner does)."""
        if self.follows:
            return
        remove_other_generations(self._dir, self._meta.files, self._building)
        keep = points_file.file_name(self._meta.generation)
        with contextlib.suppress(OSError):
            for entry in os.scandir(self._root / INDEX):
                generation = points_file.generation_of(entry.name)
                if (generation is not None and entry.name != keep) or entry.name.endswith(".tmp"):
                    os.unlink(entry.path)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._dir / (META + ".tmp"))  # an atomic_write of meta cut short

    # ---------------------------------------------------------------- reads

    def slots_of(self, keys: Keys) -> npt.NDArray[np.int64]:
        """Current live slot of each key; -1 if absent or deleted."""
        return self._index.lookup(np.asarray(keys, dtype=KEY_DTYPE))

    def get(self, keys: Keys, *, with_vector: bool, with_payload: bool) -> list[PointRecord | None]:
        """One record per key, in order; None for absent or deleted points."""
        keys = np.asarray(keys, dtype=KEY_DTYPE)
        slots = self.slots_of(keys)
        present = np.flatnonzero(slots >= 0)
        found = slots[present]
        vectors = self.vectors_of_slots(found) if with_vector else None
        payloads = self.payloads_of_slots(found) if with_payload else None
        out: list[PointRecord | None] = [None] * len(keys)
        for j, i in enumerate(present.tolist()):
            out[i] = PointRecord(
                key=full_key(keys[i]),
                vector=None if vectors is None else vectors[j],
                payload=None if payloads is None else payloads[j],
            )
        return out

    def scroll(self, start: bytes | None, limit: int) -> tuple[Keys, bytes | None]:
        """Live keys >= start (inclusive), ascending, at most `limit`; and the next start key,
        or None when there are no more."""
        if limit < 1:
            raise ValueError(f"limit must be positive, not {limit}")
        if start is not None:
            if len(start) > KEY_SIZE:
                raise ValueError(f"a start key has at most {KEY_SIZE} bytes")
            start = full_key(start)
        return self._index.scroll(start, limit)

    def keys_of_slots(self, slots: npt.NDArray[np.int64]) -> Keys:
        """The key each slot was written for (the FAISS id -> point id mapping)."""
        return self._slots.keys(self._checked(slots))

    def vectors_of_slots(
        self, slots: npt.NDArray[np.int64], number: int = 0
    ) -> npt.NDArray[np.float32]:
        """Dense vector `number` of each slot (zeros where a slot lacks it)."""
        return self._dense[number].rows.read(self._checked(slots))

    def sparse_rows(
        self, number: int, first_slot: int = 0
    ) -> Iterator[tuple[npt.NDArray[np.int64], SparseBatch]]:
        """Sparse vector `number` of every live slot from `first_slot` on carrying it, in
        (slots, rows) chunks read front to back from its file: what an inverted index is
        built (or caught up) from."""
        live = self._live.view()
        column = self._sparse[number]
        start = column.offset_from(first_slot)
        if start is None:
            return
        for slots, batch in column.file.scan(start=start):
            keep = live[slots]
            if bool(keep.all()):
                yield slots, batch
            elif keep.any():
                yield slots[keep], batch.rows(np.flatnonzero(keep).astype(np.int64))

    def multi_rows(
        self, number: int
    ) -> Iterator[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float32]]]:
        """Multivector `number` of every live slot carrying it, in (slots, counts, rows) chunks
        read front to back from its file: what its index is built from."""
        live = self._live.view()
        for slots, counts, rows in self._multi[number].file.scan():
            keep = live[slots]
            if bool(keep.all()):
                yield slots, counts, rows
            elif keep.any():
                owner = np.repeat(keep, counts)
                yield slots[keep], counts[keep], rows[owner]

    def multi_of_slots(
        self, slots: npt.NDArray[np.int64], number: int
    ) -> list[npt.NDArray[np.float32] | None]:
        """Multivector `number` of each slot (a matrix), None where a slot lacks it."""
        try:
            return self._multi[number].read(self._checked(slots))
        except OSError as exc:
            raise storage_error(exc, f"reading multivectors in {self._dir}") from exc

    def sparse_of_slots(
        self, slots: npt.NDArray[np.int64], number: int
    ) -> list[SparseBatch | None]:
        """Sparse vector `number` of each slot, None where a slot lacks it."""
        try:
            return self._sparse[number].read(self._checked(slots))
        except OSError as exc:
            raise storage_error(exc, f"reading sparse vectors in {self._dir}") from exc

    def payloads_of_slots(self, slots: npt.NDArray[np.int64]) -> list[bytes]:
        """Payload JSON bytes of each slot. Raises CorruptionError on a checksum mismatch."""
        offsets, lengths = self._slots.payload_locations(self._checked(slots))
        try:
            return self._payloads.read_many(offsets, lengths)
        except OSError as exc:
            raise storage_error(exc, f"reading payloads in {self._dir}") from exc

    def payload_records_of_slots(
        self, slots: npt.NDArray[np.int64]
    ) -> tuple[bytes, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """The payload records of these slots as stored (unchecked, see
        PayloadFile.raw_records), where each starts, and each body's length: a compaction
        copies them without decoding."""
        offsets, lengths = self._slots.payload_locations(self._checked(slots))
        try:
            records, starts = self._payloads.raw_records(offsets, lengths)
        except OSError as exc:
            raise storage_error(exc, f"reading payloads in {self._dir}") from exc
        return records, starts, lengths.astype(np.int64)

    def _checked(self, slots: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        slots = np.asarray(slots, dtype=np.int64)
        if len(slots) and (int(slots.min()) < 0 or int(slots.max()) >= self.slot_count()):
            raise IndexError(f"slot out of range 0..{self.slot_count() - 1}")
        return slots


@dataclass(frozen=True, slots=True)
class Switch:
    """A compaction committed to disk, not yet installed in memory (see commit_compaction)."""

    compaction: Compaction
    meta: CollectionMeta
    keys: Keys
    point_slots: npt.NDArray[np.int64]
    remap: npt.NDArray[np.int64]


def _joined(parts: list[npt.NDArray[T]], empty: npt.NDArray[T]) -> npt.NDArray[T]:
    """np.concatenate without the copy for the usual single part."""
    return parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else empty


def _open_vectors(
    directory: Path,
    layout: Layout,
    meta: CollectionMeta,
    opened: contextlib.ExitStack,
    *,
    follow: bool,
) -> Vectors:
    """Every vector of `layout` as of the checkpoint; those meta does not know yet (declared
    since) are created with no slot carrying them. A follower creates nothing: it is told to
    come back once a checkpoint names them."""
    added = Layout(
        {n: size for n, size in layout.dense.items() if n not in meta.dense},
        tuple(n for n in layout.sparse if n not in meta.sparse),
        {n: size for n, size in layout.multi.items() if n not in meta.multi},
    )
    if follow and (added.dense or added.sparse or added.multi):
        raise FollowerBehind(f"{directory.name}: a vector was declared since the checkpoint")
    dense, sparse, multi = create_vectors(directory, added, meta.slots, opened)
    if added.dense or added.sparse or added.multi:
        fsync_dir(directory / SOURCE)
    slots = meta.slots
    for number, size in layout.dense.items():
        if number not in dense:
            dense[number] = DenseVectors.open(
                directory, number, size, slots, presence_file=meta.presence_files, follow=follow
            )
            opened.callback(dense[number].close)
    for number in layout.sparse:
        if number not in sparse:
            end = meta.sparse[number]
            sparse[number] = SparseVectors.open(directory, number, end, slots, follow=follow)
            opened.callback(sparse[number].close)
    for number, size in layout.multi.items():
        if number not in multi:
            end = meta.multi[number][1]
            multi[number] = MultiVectors.open(directory, number, size, end, slots, follow=follow)
            opened.callback(multi[number].close)
    return dense, sparse, multi


def _new_matrices(
    steps: list[tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64], npt.NDArray[np.float32]]],
    first_slot: int,
    kept: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """The matrices just written for the new slots `kept` (those still live), from memory."""
    present = np.concatenate([p for p, _, _ in steps]) if steps else np.zeros(0, np.bool_)
    counts = np.concatenate([c for _, c, _ in steps]) if steps else np.zeros(0, np.int64)
    rows = np.concatenate([r for _, _, r in steps]) if steps else np.zeros((0, 0), np.float32)
    carried = np.flatnonzero(present) + first_slot  # slot of each matrix, ascending
    if len(kept) == len(carried):
        return counts, rows
    which = np.isin(carried, kept)
    return counts[which], rows[np.repeat(which, counts)]


def _check_index(
    path: Path,
    keys: Keys,
    slots: npt.NDArray[np.int64],
    table: SlotTable,
    meta: CollectionMeta,
) -> npt.NDArray[np.bool_]:
    """Check a loaded point index against meta and the slot table; return the live flags.

    Every check is one vectorised pass (about 60 ms for a million points), and together they
    make sure the index and the slot table tell the same story before anything is served.
    """
    n = len(keys)
    key_at = points_file.HEADER.size + 8 * n  # file offset of the first key
    if n != meta.live:
        raise CorruptionError(str(path), 8, f"{n} points, meta says {meta.live} are live")
    unsorted = np.flatnonzero(keys[1:] <= keys[:-1])
    if len(unsorted):
        raise CorruptionError(str(path), key_at + KEY_SIZE * (int(unsorted[0]) + 1), "key order")
    bad = np.flatnonzero((slots < 0) | (slots >= meta.slots))
    if len(bad):
        raise CorruptionError(str(path), points_file.HEADER.size + 8 * int(bad[0]), "bad slot")
    live = np.zeros(meta.slots, dtype=np.bool_)
    live[slots] = True
    if int(np.count_nonzero(live)) != n:
        raise CorruptionError(str(path), points_file.HEADER.size, "two points share a slot")
    mismatch = np.flatnonzero(table.keys(slots) != keys)
    if len(mismatch):
        offset = key_at + KEY_SIZE * int(mismatch[0])
        raise CorruptionError(str(path), offset, "key differs from the slot table")
    return live
