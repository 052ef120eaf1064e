"""Compaction: a collection's live slots written again, in slot order, as a new file generation.

The new generation (`files.<k>/`, the same files and formats as the old) numbers the copied
slots from 1; slot 0 is the void slot, never live, so that an index which cannot drop an entry
(a sealed HNSW graph) can point the entries of vanished slots at it (docs/compaction.md).

    compaction = store.begin_compaction()   event loop: the cut (the slots live now)
    compaction.copy(pace)                   worker thread, while writes go on
    compaction.cut_more()                   event loop, optional: the live slots appended since
    compaction.copy(pace)                   ... and copy those (repeat while the tail is long)
    remap = store.switch_to(compaction)     worker thread, no apply running: copies the rest and
                                            commits (meta names the generation), see CollectionStore
    compaction.abandon()                    on any failure before the switch: deletes the files

The files are created by the first `copy`, in its thread: creating them fsyncs.

Slots below a cut never change (the files are append-only, and a failed append cuts back only to
the slot count at its own start), so `copy` reads them beside the applying actor safely.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from typing import TYPE_CHECKING, Final

import numpy as np

from zoro.fsutil import fsync_dir
from zoro.sparse.vectors import SparseBatch
from zoro.types import KEY_DTYPE, KEY_SIZE

from .columns import DenseVectors, MultiVectors, SparseVectors, Vectors, create_vectors
from .generations import INDEX, PAYLOADS, SLOTS, SOURCE
from .payloads import PayloadFile, encode_records
from .slots import SlotTable

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    import numpy.typing as npt

    from ._plan import Layout
    from .store import CollectionStore

    I64 = npt.NDArray[np.int64]

VOID_SLOT: Final = 0
VOID_KEY: Final = bytes(KEY_SIZE)  # kind byte 0: no point id encodes to it
VOID_PAYLOAD: Final = b"{}"
CHUNK_SLOTS: Final = 4096  # slots copied per step: a few MB at 128-d, paced in between


class Pacer:
    """Keeps a copy at or under `bytes_per_s` by sleeping in the copying thread; 0 = no limit."""

    def __init__(self, bytes_per_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = bytes_per_s
        self._clock = clock
        self._start = clock()
        self._done = 0

    def __call__(self, written: int) -> None:
        self._done += written
        if self._rate <= 0:
            return
        ahead = self._done / self._rate - (self._clock() - self._start)
        if ahead > 0:
            time.sleep(ahead)


class Compaction:
    """One compaction of one store: the new generation's files and which old slots they hold.

    Made by `CollectionStore.begin_compaction` on the actor's thread; `copy` runs in a worker
    thread, one at a time; `cut_more` on the actor's thread between copies.
    """

    def __init__(self, store: CollectionStore, generation: int, root: Path) -> None:
        self._store = store
        self.generation = generation
        self.root = root
        self.layout = store.layout
        self._files: _Files | None = None  # created by the first copy, in its thread
        self._copied: list[I64] = []  # the old slot of each new row, in order (void: -1)
        self.count = 0  # rows written to the new files
        self.bytes_copied = 0
        self._cut_end = 0  # old slots below this were looked at
        self._pending = np.empty(0, dtype=np.int64)  # old slots of the last cut, not copied yet
        self.cut_more()

    def cut_more(self) -> int:
        """Take the slots live now from the last cut's end to the store's end (the actor's
        thread, or while no apply runs); return how many there are to copy."""
        live = self._store.live_mask()
        start, self._cut_end = self._cut_end, len(live)
        taken = np.flatnonzero(live[start:]).astype(np.int64) + start
        self._pending = np.concatenate([self._pending, taken])
        return len(self._pending)

    def copy(self, pace: Callable[[int], None] | None = None) -> None:
        """Copy the cut's slots, chunk by chunk, calling `pace(bytes)` after each. Raises
        OSError (then `abandon`) and CorruptionError for a damaged source record."""
        files = self.files
        pending, self._pending = self._pending, np.empty(0, dtype=np.int64)
        for start in range(0, len(pending), CHUNK_SLOTS):
            written = self._copy(files, pending[start : start + CHUNK_SLOTS])
            if pace is not None:
                pace(written)

    def remap(self, old_slots: int) -> I64:
        """New slot of each of the store's `old_slots` slots; -1 where a slot was not copied.
        The void slot's old number is not a slot: its entry is left out."""
        copied = np.concatenate(self._copied)
        remap = np.full(old_slots, -1, dtype=np.int64)
        remap[copied[1:]] = np.arange(1, len(copied), dtype=np.int64)
        return remap

    @property
    def files(self) -> _Files:
        """The new generation's open files (created, with the void slot, on first use)."""
        if self._files is None:
            self._files = _Files.create(self.root, self.layout)
            self._append(
                self._files,
                np.array([VOID_KEY], dtype=KEY_DTYPE),
                encode_records([VOID_PAYLOAD]),
                {
                    n: (np.zeros(1, np.bool_), np.zeros((1, size), np.float32))
                    for n, size in self.layout.dense.items()
                },
                {n: [None] for n in self.layout.sparse},
                {n: [None] for n in self.layout.multi},
            )
            self._copied.append(np.array([-1], dtype=np.int64))
        return self._files

    def taken(self) -> _Files:
        """Hand the files over to the store (at the switch): this object no longer closes them."""
        files = self.files
        self._files = None
        self._store.compaction_ended(self)
        return files

    def abandon(self) -> None:
        """Close and delete the new generation (before a switch; idempotent, best effort)."""
        if self._files is not None:
            self._files.close()
            self._files = None
        shutil.rmtree(self.root, ignore_errors=True)
        self._store.compaction_ended(self)

    def _copy(self, files: _Files, old: I64) -> int:
        store = self._store
        written = self._append(
            files,
            store.keys_of_slots(old),
            store.payload_records_of_slots(old),
            {
                n: (store.present_mask(n)[old], store.vectors_of_slots(old, n))
                for n in self.layout.dense
            },
            {n: store.sparse_of_slots(old, n) for n in self.layout.sparse},
            {n: store.multi_of_slots(old, n) for n in self.layout.multi},
        )
        self._copied.append(old)
        return written

    def _append(
        self,
        files: _Files,
        keys: npt.NDArray[np.bytes_],
        payloads: tuple[bytes, I64, I64],
        dense: dict[int, tuple[npt.NDArray[np.bool_], npt.NDArray[np.float32]]],
        sparse: dict[int, list[SparseBatch | None]],
        multi: dict[int, list[npt.NDArray[np.float32] | None]],
    ) -> int:
        """Append rows for these slots to every new file; return the bytes written.
        `payloads`: their records back to back, where each starts, each body's length."""
        first = self.count
        records, starts, lengths = payloads
        offset = files.payloads.append(records)
        files.slots.append(keys, offset + starts, lengths)
        written = len(records) + len(keys) * KEY_SIZE
        for number, (present, rows) in dense.items():
            files.dense[number].append(present, rows)
            written += rows.nbytes
        for number, batches in sparse.items():
            present = np.array([b is not None for b in batches], dtype=np.bool_)
            batch = SparseBatch.concat([b for b in batches if b is not None])
            files.sparse[number].append(first, present, batch)
            written += batch.values.nbytes * 2
        for number, matrices in multi.items():
            present = np.array([m is not None for m in matrices], dtype=np.bool_)
            kept = [m for m in matrices if m is not None]
            counts = np.array([len(m) for m in kept], dtype=np.int64)
            size = files.multi[number].file.dimension
            rows = np.concatenate(kept) if kept else np.empty((0, size), np.float32)
            files.multi[number].append(first, present, counts, rows)
            written += rows.nbytes
        self.count += len(keys)
        self.bytes_copied += written
        return written


class _Files:
    """Every per-slot file of one generation, open."""

    def __init__(self, root: Path, files: tuple[PayloadFile, SlotTable], vectors: Vectors) -> None:
        self.root = root
        self.payloads, self.slots = files
        self.dense, self.sparse, self.multi = vectors

    @classmethod
    def create(cls, root: Path, layout: Layout) -> _Files:
        """Empty files for `layout` under `root` (anything there before is debris). Raises
        OSError."""
        shutil.rmtree(root, ignore_errors=True)
        for sub in (SOURCE, INDEX):
            (root / sub).mkdir(parents=True)
        with contextlib.ExitStack() as opened:
            payloads = PayloadFile.create(root / PAYLOADS)
            opened.callback(payloads.close)
            slots = SlotTable.create(root / SLOTS)
            opened.callback(slots.close)
            vectors = create_vectors(root, layout, 0, opened)
            opened.pop_all()
        return cls(root, (payloads, slots), vectors)

    def vector_files(self) -> list[DenseVectors | SparseVectors | MultiVectors]:
        return [*self.dense.values(), *self.sparse.values(), *self.multi.values()]

    def sync(self) -> None:
        """Make the files and their directories durable (before meta names them)."""
        self.payloads.sync()
        self.slots.sync()
        for vectors in self.vector_files():
            vectors.sync()
        for sub in (SOURCE, INDEX, "."):
            fsync_dir(self.root / sub)
        fsync_dir(self.root.parent)

    def close(self) -> None:
        for file in (self.payloads, self.slots):
            with contextlib.suppress(OSError):
                file.close()
        for vectors in self.vector_files():
            vectors.close()
