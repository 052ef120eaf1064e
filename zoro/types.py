"""Domain types shared by every layer: point ids and their keys, distances, write operations.

Point ids are what Qdrant allows: unsigned 64-bit integers or UUIDs. Inside the engine every id is a
fixed 17-byte *key* so that whole batches live in one numpy array and sort with one call:

    byte 0      kind: 1 = integer id, 2 = UUID
    bytes 1..16 the id, big-endian (integers: 8 zero bytes, then the u64)

Big-endian fixed-width keys compare as bytes in numeric order (ZODB's trick), so the sorted point
index and the scroll order are "all integer ids ascending, then all UUIDs ascending".
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from zoro.sparse.vectors import SparseBatch

KEY_SIZE: Final = 17
KEY_DTYPE: Final = np.dtype(f"S{KEY_SIZE}")
_KEY_FIELDS: Final = np.dtype([("kind", "u1"), ("hi", ">u8"), ("lo", ">u8")])
assert _KEY_FIELDS.itemsize == KEY_SIZE

KIND_INT: Final = 1
KIND_UUID: Final = 2
U64_MAX: Final = 2**64 - 1

PointId = int | uuid.UUID
Keys = npt.NDArray[np.bytes_]
Vectors = npt.NDArray[np.float32]


class Distance(StrEnum):
    """Qdrant's distance names; the score of each keeps Qdrant's meaning."""

    COSINE = "Cosine"  # cosine similarity, higher is better (vectors are normalised on write)
    DOT = "Dot"  # inner product, higher is better
    EUCLID = "Euclid"  # L2 distance (not squared), lower is better
    MANHATTAN = "Manhattan"  # L1 distance, lower is better

    @property
    def higher_is_better(self) -> bool:
        return self in (Distance.COSINE, Distance.DOT)


def key_of(point_id: PointId) -> bytes:
    """The 17-byte key of one id. Raises ValueError for ids Qdrant does not accept."""
    if isinstance(point_id, uuid.UUID):
        return bytes([KIND_UUID]) + point_id.bytes
    if isinstance(point_id, bool) or not isinstance(point_id, int):
        raise ValueError(f"point id must be an unsigned integer or a UUID, not {point_id!r}")
    if not 0 <= point_id <= U64_MAX:
        raise ValueError(f"point id {point_id} is outside the unsigned 64-bit range")
    return bytes([KIND_INT]) + point_id.to_bytes(16, "big")


def keys_of(point_ids: Iterable[PointId]) -> Keys:
    """Keys for a sequence of ids, as one array (order kept, duplicates kept)."""
    ids = list(point_ids)
    if ids and all(type(i) is int for i in ids):
        try:
            return int_keys(np.array(ids, dtype=np.uint64))
        except OverflowError:
            pass  # a negative or too-large id: let key_of name it
    return np.array([key_of(i) for i in ids], dtype=KEY_DTYPE)


def int_keys(ids: npt.NDArray[np.uint64]) -> Keys:
    """Keys for integer ids held in a numpy array, without a Python loop."""
    fields = np.zeros(len(ids), dtype=_KEY_FIELDS)
    fields["kind"] = KIND_INT
    fields["lo"] = ids
    return fields.view(KEY_DTYPE)


def full_key(key: bytes | np.bytes_) -> bytes:
    """A key as its 17 bytes: numpy strips trailing NULs from scalars of an S17 array."""
    return bytes(key).ljust(KEY_SIZE, b"\0")


def id_of(key: bytes) -> PointId:
    """The id a key stands for."""
    raw = full_key(key)
    if raw[0] == KIND_INT:
        return int.from_bytes(raw[9:], "big")
    if raw[0] == KIND_UUID:
        return uuid.UUID(bytes=raw[1:])
    raise ValueError(f"not a point key: {raw.hex()}")


def ids_of(keys: Keys) -> list[PointId]:
    """Ids for an array of keys; integer keys are decoded without a Python loop."""
    fields = np.ascontiguousarray(keys).view(_KEY_FIELDS)
    if len(fields) and bool(np.all(fields["kind"] == KIND_INT)):
        return list(fields["lo"].tolist())
    return [id_of(k) for k in keys.tolist()]


# ---------------------------------------------------------------- the vectors a collection declares

UNNAMED: Final = ""  # Qdrant's name for the one vector of a collection created with bare params


@dataclass(frozen=True, slots=True)
class DenseSpec:
    """A dense vector a collection declares. `number` names its files and WAL column: numbers
    are given out in order and never reused, so a dropped and re-added name never meets the
    old one's data."""

    number: int
    size: int
    distance: Distance
    options: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    multi: bool = False  # a multivector (a matrix per point, scored by MaxSim)


@dataclass(frozen=True, slots=True)
class SparseSpec:
    """A sparse vector a collection declares; `idf`: Qdrant's `modifier: "idf"`."""

    number: int
    idf: bool = False


@dataclass(frozen=True, slots=True)
class VectorConfig:
    """Every vector of a collection, by name. `unnamed`: created with bare params (Qdrant then
    shows the config without a name and points carry a bare list), the one dense vector being
    named "". Dense and sparse names never clash."""

    dense: Mapping[str, DenseSpec]
    sparse: Mapping[str, SparseSpec]
    unnamed: bool
    # no number below this is given out again: a dropped vector's number stays taken
    first_free: int = field(default=0, compare=False)

    @classmethod
    def single(cls, size: int, distance: Distance) -> VectorConfig:
        """The version-1 collection: one unnamed dense vector, number 0."""
        return cls(
            MappingProxyType({UNNAMED: DenseSpec(0, size, distance)}), MappingProxyType({}), True
        )

    @property
    def next_number(self) -> int:
        numbers = [s.number for s in self.dense.values()] + [s.number for s in self.sparse.values()]
        return max(max(numbers, default=-1) + 1, self.first_free)

    def dense_numbers(self) -> dict[int, int]:
        """number -> size of every dense vector (one row per point): the store's view (it
        knows no names)."""
        return {s.number: s.size for s in self.dense.values() if not s.multi}

    def multi_numbers(self) -> dict[int, int]:
        """number -> row size of every multivector."""
        return {s.number: s.size for s in self.dense.values() if s.multi}

    def sparse_numbers(self) -> list[int]:
        return sorted(s.number for s in self.sparse.values())

    def is_single(self) -> bool:
        """Exactly one dense vector, number 0, and nothing else: the version-1 shape."""
        if self.sparse or len(self.dense) != 1:
            return False
        only = next(iter(self.dense.values()))
        return only.number == 0 and not only.multi

    @property
    def first_dense(self) -> tuple[str, DenseSpec] | None:
        """The default vector of a query without `using`: "" if declared, else the only one."""
        if UNNAMED in self.dense:
            return UNNAMED, self.dense[UNNAMED]
        if len(self.dense) == 1:
            return next(iter(self.dense.items()))
        return None


# ---------------------------------------------------------------- write operations


@dataclass(frozen=True, slots=True, eq=False)
class DenseColumn:
    """One dense vector's rows for the points of a batch that carry it: `present[i]` says
    whether point i does; `rows` holds theirs, in batch order (present count x size)."""

    present: npt.NDArray[np.bool_]
    rows: Vectors


@dataclass(frozen=True, slots=True, eq=False)
class SparseColumn:
    """One sparse vector's rows for the points of a batch that carry it (see DenseColumn)."""

    present: npt.NDArray[np.bool_]
    rows: SparseBatch


@dataclass(frozen=True, slots=True, eq=False)
class MultiColumn:
    """One multivector's matrices for the points of a batch that carry it: `counts[j]` rows of
    `rows` (all matrices stacked, in batch order) belong to the j-th point that carries it."""

    present: npt.NDArray[np.bool_]
    counts: npt.NDArray[np.int64]
    rows: Vectors


Column = DenseColumn | SparseColumn | MultiColumn


@dataclass(frozen=True, slots=True, eq=False)
class UpsertBatch:
    """Insert or replace points. Within one batch the last occurrence of a key wins.

    Two forms. The version-1 form: `vectors` holds vector number 0 of every point, C-contiguous
    float32 (n, size), already normalised for Cosine, and `columns` is empty. The general form:
    `vectors` is None and `columns` holds, by vector number, the vectors the points carry (a
    point carries any subset; a number missing from `columns` is absent from every point).
    `payloads[i]` is the JSON encoding (orjson) of point i's payload object.
    """

    keys: Keys
    vectors: Vectors | None
    payloads: Sequence[bytes]
    columns: Mapping[int, Column] = field(default_factory=lambda: MappingProxyType({}))

    def __len__(self) -> int:
        return len(self.keys)

    def column(self, number: int) -> Column | None:
        """Vector `number` of the batch in the general form, whichever form the batch has."""
        if self.vectors is not None:
            if number != 0:
                return None
            return DenseColumn(np.ones(len(self.keys), dtype=np.bool_), self.vectors)
        return self.columns.get(number)


@dataclass(frozen=True, slots=True, eq=False)
class DeleteBatch:
    """Delete points by key; keys that do not exist are ignored."""

    keys: Keys

    def __len__(self) -> int:
        return len(self.keys)


@dataclass(frozen=True, slots=True, eq=False)
class WriteGroup:
    """Writes logged as ONE WAL record, so that a crash keeps all of them or none (a batch
    update, resolved into the points it deletes and the whole points it writes). Applied in
    order, as if logged one after another under the same LSN."""

    ops: tuple[UpsertBatch | DeleteBatch, ...]

    def __len__(self) -> int:
        return sum(len(op) for op in self.ops)


WriteOp = UpsertBatch | DeleteBatch | WriteGroup
