"""The per-slot files of one declared vector, by number: what CollectionStore keeps per vector.

    source/vectors          dense vector 0 (the version-1 file, unchanged)
    source/vectors.<n>      dense vector n: one float32 row per slot, zeros where absent
    source/present.<n>      dense vector n: one byte per slot, 1 where the point carries it
    source/sparse.<n>       sparse vector n: one CRC'd record per slot that carries it
    source/multi.<n>        multivector n: one CRC'd record (a matrix) per slot that carries it

Dense files hold exactly one row per slot, so the slot count recorded at a checkpoint bounds
them; a sparse or multivector file's length is recorded in meta like the payload file's.
Presence there needs no file of its own: a slot has the vector when the file holds a record for
it, and open finds every record's offset in one scan.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING

import numpy as np

from zoro.errors import CorruptionError
from zoro.sparse.vectors import SparseBatch

from ._growable import Growable
from .generations import SOURCE
from .multi_rows import MultiRows
from .sparse_rows import SparseRowFile
from .vectors import PresenceFile, VectorFile

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path

    import numpy.typing as npt

    from ._plan import Layout

    I64 = npt.NDArray[np.int64]
    # writes records for these new slots and gives back each one's offset
    Placer = Callable[[I64], I64]


def dense_name(number: int) -> str:
    return f"{SOURCE}/vectors" if number == 0 else f"{SOURCE}/vectors.{number}"


def presence_name(number: int) -> str:
    return f"{SOURCE}/present.{number}"


def sparse_name(number: int) -> str:
    return f"{SOURCE}/sparse.{number}"


def multi_name(number: int) -> str:
    return f"{SOURCE}/multi.{number}"


def file_names(number: int) -> list[str]:
    """Every file vector `number` may have (to remove a dropped vector's files)."""
    return [dense_name(number), presence_name(number), sparse_name(number), multi_name(number)]


class DenseVectors:
    """Dense vector `number`: its rows (a VectorFile) and which slots carry it."""

    def __init__(
        self, number: int, rows: VectorFile, flags: PresenceFile, present: Growable[np.bool_]
    ) -> None:
        self.number = number
        self.rows = rows
        self._flags = flags
        self._present = present

    @classmethod
    def create(cls, directory: Path, number: int, size: int, slots: int) -> DenseVectors:
        """Files for a vector no slot has yet (`slots` rows of zeros). The caller syncs the
        directory. Raises OSError."""
        with contextlib.ExitStack() as opened:
            rows = VectorFile.create(directory / dense_name(number), size, slots)
            opened.callback(rows.close)
            flags = PresenceFile.create(directory / presence_name(number), 1, slots)
            opened.pop_all()
        return cls(number, rows, flags, Growable(np.dtype(np.bool_), np.zeros(slots, np.bool_)))

    @classmethod
    def open(
        cls,
        directory: Path,
        number: int,
        size: int,
        slots: int,
        *,
        presence_file: bool,
        follow: bool = False,
    ) -> DenseVectors:
        """Open with exactly `slots` rows. `presence_file` False: written by version 1, where
        every slot carries vector 0; the presence file is (re)written here, all ones (a
        follower finds it written by the owner's open). `follow`: read-only (a follower's)."""
        with contextlib.ExitStack() as opened:
            rows = VectorFile.open(directory / dense_name(number), size, slots, follow=follow)
            opened.callback(rows.close)
            path = directory / presence_name(number)
            if presence_file or follow:
                flags = PresenceFile.open(path, 1, slots, follow=follow)
                present = np.asarray(flags.rows()[:, 0], dtype=np.bool_).copy()
            else:
                flags = PresenceFile.create(path, 1, 0)
                opened.callback(flags.close)
                present = np.ones(slots, dtype=np.bool_)
                flags.append(present.view(np.uint8)[:, None])
                flags.sync()
            opened.pop_all()
        return cls(number, rows, flags, Growable(np.dtype(np.bool_), present))

    def __len__(self) -> int:
        return len(self.rows)

    def present(self) -> npt.NDArray[np.bool_]:
        """Does each slot carry this vector? A view: valid until the next append."""
        return self._present.view()

    def append(self, present: npt.NDArray[np.bool_], rows: npt.NDArray[np.float32]) -> None:
        """One row per new slot (zeros where absent). Raises OSError: then `truncate`."""
        self._flags.append(present.view(np.uint8)[:, None])
        self.rows.append(rows)
        self._present.extend(present)

    def truncate(self, slots: int) -> None:
        self._present.truncate(slots)
        with contextlib.suppress(OSError):
            self._flags.truncate(slots)
        with contextlib.suppress(OSError):
            self.rows.truncate(slots)

    def file_lengths(self) -> dict[str, int]:
        """Each file's length as far as its rows go (they are preallocated past them)."""
        return {
            dense_name(self.number): self.rows.nbytes,
            presence_name(self.number): self._flags.nbytes,
        }

    def sync(self) -> None:
        self._flags.sync()
        self.rows.sync()

    def close(self) -> None:
        for file in (self._flags, self.rows):
            with contextlib.suppress(OSError):
                file.close()

    @property
    def nbytes(self) -> int:
        return self._present.nbytes


class _RecordVectors:
    """A vector kept as one record per slot that carries it (sparse, multivector): the record
    file, and where each slot's record starts (-1: the slot does not carry it)."""

    def __init__(
        self, number: int, file: SparseRowFile | MultiRows, offsets: Growable[np.int64]
    ) -> None:
        self.number = number
        self.file = file
        self._offsets = offsets

    @staticmethod
    def _locate(path: Path, located: Iterable[tuple[I64, I64]], slots: int) -> Growable[np.int64]:
        """Every record's offset by slot, from (offsets, slots) chunks of one scan."""
        offsets = np.full(slots, -1, dtype=np.int64)
        for at, owners in located:
            if len(owners) and (int(owners.min()) < 0 or int(owners.max()) >= slots):
                raise CorruptionError(str(path), int(at[0]), "slot out of range")
            offsets[owners] = at
        return Growable(np.dtype(np.int64), offsets)

    def present(self) -> npt.NDArray[np.bool_]:
        return self._offsets.view() >= 0

    def offset_from(self, slot: int) -> int | None:
        """Where the first record of a slot >= `slot` starts (records follow slot order);
        None if no such slot carries the vector."""
        offsets = self._offsets.view()[slot:]
        carried = np.flatnonzero(offsets >= 0)
        return int(offsets[carried[0]]) if len(carried) else None

    @property
    def end(self) -> int:
        return self.file.end

    def _placed(self, first_slot: int, present: npt.NDArray[np.bool_], write: Placer) -> None:
        """Record the offsets `write(slots)` gives the new slots that carry the vector."""
        offsets = np.full(len(present), -1, dtype=np.int64)
        if present.any():
            offsets[present] = write(np.flatnonzero(present).astype(np.int64) + first_slot)
        self._offsets.extend(offsets)

    def truncate(self, slots: int, end: int) -> None:
        self._offsets.truncate(slots)
        with contextlib.suppress(OSError):
            self.file.truncate(end)

    def sync(self) -> None:
        self.file.sync()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.file.close()

    @property
    def nbytes(self) -> int:
        return self._offsets.nbytes


class SparseVectors(_RecordVectors):
    """Sparse vector `number` (source/sparse.<n>)."""

    file: SparseRowFile

    @classmethod
    def create(cls, directory: Path, number: int, slots: int) -> SparseVectors:
        file = SparseRowFile.create(directory / sparse_name(number))
        return cls(number, file, Growable(np.dtype(np.int64), np.full(slots, -1, np.int64)))

    @classmethod
    def open(
        cls, directory: Path, number: int, end: int, slots: int, *, follow: bool = False
    ) -> SparseVectors:
        """Open cut back to `end` bytes and find every record (one scan of the file)."""
        path = directory / sparse_name(number)
        file = SparseRowFile.open(path, end, follow=follow)
        try:
            located = ((at, owners) for at, owners, _ in file.scan_located())
            return cls(number, file, cls._locate(path, located, slots))
        except BaseException:
            file.close()
            raise

    def append(self, first_slot: int, present: npt.NDArray[np.bool_], rows: SparseBatch) -> None:
        """Records for the new slots that carry the vector. Raises OSError: then `truncate`."""
        self._placed(first_slot, present, lambda slots: self.file.append(slots, rows))

    def read(self, slots: npt.NDArray[np.int64]) -> list[SparseBatch | None]:
        """Each slot's vector, None where the slot does not carry it. Raises CorruptionError."""
        out: list[SparseBatch | None] = []
        for offset in self._offsets.view()[slots].tolist():
            if offset < 0:
                out.append(None)
                continue
            _, indices, values = self.file.read(offset)
            indptr = np.array([0, len(indices)], dtype=np.int64)
            out.append(SparseBatch(indptr, indices, values))
        return out


class MultiVectors(_RecordVectors):
    """Multivector `number` (source/multi.<n>): a matrix per slot that carries it."""

    file: MultiRows

    @classmethod
    def create(cls, directory: Path, number: int, size: int, slots: int) -> MultiVectors:
        file = MultiRows.create_with(directory / multi_name(number), size)
        return cls(number, file, Growable(np.dtype(np.int64), np.full(slots, -1, np.int64)))

    @classmethod
    def open(
        cls, directory: Path, number: int, size: int, end: int, slots: int, *, follow: bool = False
    ) -> MultiVectors:
        """Open cut back to `end` bytes and find every record (one scan of the file)."""
        path = directory / multi_name(number)
        file = MultiRows.open_with(path, end, size, follow=follow)
        try:
            located = ((at, owners) for at, owners, _, _ in file.scan_located())
            return cls(number, file, cls._locate(path, located, slots))
        except BaseException:
            file.close()
            raise

    def append(
        self,
        first_slot: int,
        present: npt.NDArray[np.bool_],
        counts: npt.NDArray[np.int64],
        rows: npt.NDArray[np.float32],
    ) -> None:
        """Records for the new slots that carry the vector. Raises OSError: then `truncate`."""
        self._placed(first_slot, present, lambda slots: self.file.append(slots, counts, rows))

    def read(self, slots: npt.NDArray[np.int64]) -> list[npt.NDArray[np.float32] | None]:
        """Each slot's matrix, None where the slot does not carry it."""
        return [
            None if offset < 0 else self.file.read(offset)[1]
            for offset in self._offsets.view()[slots].tolist()
        ]


def remove_files(directory: Path, number: int) -> None:
    """Delete vector `number`'s files, best effort (debris of a dropped vector)."""
    for name in file_names(number):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(directory / name)


Vectors = tuple[dict[int, DenseVectors], dict[int, SparseVectors], dict[int, MultiVectors]]


def create_vectors(
    directory: Path, layout: Layout, slots: int, opened: contextlib.ExitStack
) -> Vectors:
    """Files for every vector of `layout`, none of `slots` slots carrying any; closed by
    `opened` unless it is popped. The caller syncs the directory."""
    dense: dict[int, DenseVectors] = {}
    for number, size in layout.dense.items():
        dense[number] = DenseVectors.create(directory, number, size, slots)
        opened.callback(dense[number].close)
    sparse: dict[int, SparseVectors] = {}
    for number in layout.sparse:
        sparse[number] = SparseVectors.create(directory, number, slots)
        opened.callback(sparse[number].close)
    multi: dict[int, MultiVectors] = {}
    for number, size in layout.multi.items():
        multi[number] = MultiVectors.create(directory, number, size, slots)
        opened.callback(multi[number].close)
    return dense, sparse, multi
