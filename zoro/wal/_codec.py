"""Pure encoders and decoders for WAL records: ops in, bytes out, and back (layout: _format.py).

Encoding gathers the pieces of every record (the numpy arrays' own buffers, the payload bytes)
and copies them once, into the batch's buffer, then fills in each record's CRC in place.

Decoding copies keys and vectors out of the body with numpy, never looping in Python over
values: decoded ops own aligned, writable arrays (FAISS and the storage files want aligned
float32, and a 17-byte key prefix leaves the vectors unaligned in the record) and keep no
reference to the buffer they were read from.

Empty batches (n = 0) are allowed: they round-trip like any other (an UpsertBatch keeps its
dimension) and cost one LSN. Refusing them is a rule for the services layer, not for the log.
"""

from __future__ import annotations

import itertools
import struct
import zlib
from typing import TYPE_CHECKING

import numpy as np

from zoro.sparse.vectors import SparseBatch
from zoro.types import (
    KEY_DTYPE,
    KEY_SIZE,
    DeleteBatch,
    DenseColumn,
    Keys,
    MultiColumn,
    SparseColumn,
    UpsertBatch,
    WriteGroup,
    WriteOp,
)
from zoro.wal._format import (
    COLUMN_HEAD,
    COLUMNS_COUNTS,
    CRC,
    DELETE_COUNT,
    GROUP_COUNT,
    GROUP_ITEM,
    KIND_DENSE,
    KIND_MULTI,
    KIND_SPARSE,
    RECORD,
    RECORD_VERSION,
    TYPE_DELETE,
    TYPE_GROUP,
    TYPE_UPSERT,
    TYPE_UPSERT_COLUMNS,
    U32_MAX,
    UPSERT_COUNTS,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from typing_extensions import Buffer


def encode_records(ops: Sequence[WriteOp], first_lsn: int) -> bytearray:
    """The records of `ops` with LSNs first_lsn, first_lsn + 1, ..., back to back: one batch
    (batch indexes 0, 1, ...), in the current format.

    Raises ValueError for an op whose arrays do not match its documented shape.
    """
    parts: list[Buffer] = []
    ends: list[int] = []
    size = 0
    for index, op in enumerate(ops):
        rtype, length, body = body_parts(op)
        parts.append(RECORD.pack(0, length, first_lsn + index, rtype, RECORD_VERSION, 0, index))
        parts += body
        size += RECORD.size + length
        ends.append(size)
    buf = bytearray().join(parts)
    view = memoryview(buf)
    start = 0
    for end in ends:
        CRC.pack_into(buf, start, zlib.crc32(view[start + CRC.size : end]))
        start = end
    return buf


def body_parts(op: WriteOp) -> tuple[int, int, list[Buffer]]:
    """(record type, body length, the body's pieces in order), without copying any array."""
    if isinstance(op, UpsertBatch):
        return _upsert_parts(op) if op.vectors is not None else _columns_parts(op)
    if isinstance(op, WriteGroup):
        return _group_parts(op)
    keys = _contiguous_keys(op.keys)
    return TYPE_DELETE, DELETE_COUNT.size + keys.nbytes, [DELETE_COUNT.pack(len(keys)), keys.data]


def encode_body(op: WriteOp) -> tuple[int, bytes]:
    """(record type, body) in one piece: for tests and tools; the writer uses body_parts."""
    rtype, _length, parts = body_parts(op)
    return rtype, b"".join(parts)


def decode_body(rtype: int, body: bytes) -> WriteOp:
    """The op a record body holds. Raises ValueError if its sizes do not add up exactly."""
    if rtype == TYPE_UPSERT:
        return _decode_upsert(body)
    if rtype == TYPE_DELETE:
        return _decode_delete(body)
    if rtype == TYPE_UPSERT_COLUMNS:
        return _decode_columns(body)
    if rtype == TYPE_GROUP:
        return _decode_group(body)
    raise ValueError(f"unknown record type {rtype}")


def _group_parts(group: WriteGroup) -> tuple[int, int, list[Buffer]]:
    parts: list[Buffer] = [GROUP_COUNT.pack(len(group.ops))]
    length = GROUP_COUNT.size
    for op in group.ops:
        if not isinstance(op, UpsertBatch | DeleteBatch):
            raise ValueError("a group holds upserts and deletes only")
        rtype, size, body = body_parts(op)
        parts += [GROUP_ITEM.pack(rtype, b"", size), *body]
        length += GROUP_ITEM.size + size
    if length > U32_MAX:
        raise ValueError(f"a group of {length} bytes does not fit in one WAL record")
    return TYPE_GROUP, length, parts


def _decode_group(body: bytes) -> WriteGroup:
    if len(body) < GROUP_COUNT.size:
        raise ValueError(f"group body of {len(body)} bytes is shorter than its count")
    (count,) = GROUP_COUNT.unpack_from(body)
    at = GROUP_COUNT.size
    ops: list[UpsertBatch | DeleteBatch] = []
    for _ in range(count):
        if at + GROUP_ITEM.size > len(body):
            raise ValueError("group cut short")
        rtype, reserved, size = GROUP_ITEM.unpack_from(body, at)
        at += GROUP_ITEM.size
        if reserved != bytes(3) or rtype == TYPE_GROUP or at + size > len(body):
            raise ValueError(f"group item of type {rtype} is malformed")
        op = decode_body(rtype, body[at : at + size])
        assert not isinstance(op, WriteGroup)
        ops.append(op)
        at += size
    if at != len(body):
        raise ValueError(f"group body of {len(body)} bytes has {len(body) - at} bytes left over")
    return WriteGroup(tuple(ops))


SMALL_BATCH = 32  # up to this many points, payload offsets are summed in plain Python


def _upsert_parts(op: UpsertBatch) -> tuple[int, int, list[Buffer]]:
    keys = _contiguous_keys(op.keys)
    n = len(keys)
    assert op.vectors is not None
    if op.vectors.dtype != np.float32 or op.vectors.ndim != 2 or op.vectors.shape[0] != n:
        raise ValueError(f"vectors must be float32 of shape ({n}, dim), not {op.vectors.shape}")
    vectors = np.ascontiguousarray(op.vectors, dtype="<f4")  # no copy for the usual input
    offsets, total = _payload_offsets(op.payloads, n)
    length = UPSERT_COUNTS.size + keys.nbytes + vectors.nbytes + 4 * (n + 1) + total
    if length > U32_MAX:
        raise ValueError(f"an upsert of {length} bytes does not fit in one WAL record")
    head = UPSERT_COUNTS.pack(n, vectors.shape[1])
    return TYPE_UPSERT, length, [head, keys.data, vectors.data, offsets, *op.payloads]


def _payload_offsets(payloads: Sequence[bytes], n: int) -> tuple[Buffer, int]:
    """The u32 offsets of n payloads laid end to end, and their total length."""
    if len(payloads) != n:
        raise ValueError(f"{len(payloads)} payloads for {n} points")
    if n <= SMALL_BATCH:
        # Group commits log many one-point writes: plain Python beats numpy's per-call cost.
        ends = [0, *itertools.accumulate(map(len, payloads))]
        total = ends[-1]
        return (struct.pack(f"<{n + 1}I", *ends) if total <= U32_MAX else b""), total
    cumulative = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, payloads), dtype=np.int64, count=n), out=cumulative[1:])
    return cumulative.astype("<u4").data, int(cumulative[-1])


def _columns_parts(op: UpsertBatch) -> tuple[int, int, list[Buffer]]:
    keys = _contiguous_keys(op.keys)
    n = len(keys)
    offsets, total = _payload_offsets(op.payloads, n)
    parts: list[Buffer] = [
        COLUMNS_COUNTS.pack(n, len(op.columns), 0),
        keys.data,
        offsets,
        *op.payloads,
    ]
    length = COLUMNS_COUNTS.size + keys.nbytes + 4 * (n + 1) + total
    for number, column in sorted(op.columns.items()):
        present = np.ascontiguousarray(column.present, dtype=np.bool_)
        m = int(np.count_nonzero(present))
        carried = len(column.counts) if isinstance(column, MultiColumn) else len(column.rows)
        if present.shape != (n,) or carried != m:
            raise ValueError(f"column {number}: {carried} vectors for {m} present points")
        if isinstance(column, DenseColumn):
            rows = np.ascontiguousarray(column.rows, dtype="<f4")
            if rows.ndim != 2:
                raise ValueError(f"column {number}: dense rows must be a matrix")
            pieces: list[Buffer] = [rows.data]
            head = COLUMN_HEAD.pack(number, KIND_DENSE, b"", rows.shape[1], m)
        elif isinstance(column, MultiColumn):
            rows = np.ascontiguousarray(column.rows, dtype="<f4")
            counts = np.ascontiguousarray(column.counts, dtype="<u4")
            if rows.ndim != 2 or int(counts.sum()) != len(rows):
                raise ValueError(f"column {number}: row counts do not add up to the rows")
            pieces = [counts.data, rows.data]
            head = COLUMN_HEAD.pack(number, KIND_MULTI, b"", rows.shape[1], m)
        else:
            batch = column.rows
            pieces = [
                np.ascontiguousarray(batch.indptr, dtype="<u4").data,
                np.ascontiguousarray(batch.indices, dtype="<u4").data,
                np.ascontiguousarray(batch.values, dtype="<f4").data,
            ]
            head = COLUMN_HEAD.pack(number, KIND_SPARSE, b"", batch.nnz, m)
        parts += [head, present.view(np.uint8).data, *pieces]
        length += COLUMN_HEAD.size + n + sum(memoryview(p).nbytes for p in pieces)
    if length > U32_MAX:
        raise ValueError(f"an upsert of {length} bytes does not fit in one WAL record")
    return TYPE_UPSERT_COLUMNS, length, parts


def _contiguous_keys(keys: Keys) -> Keys:
    if keys.dtype != KEY_DTYPE or keys.ndim != 1:
        raise ValueError(f"keys must be a 1-D array of {KEY_DTYPE}, not {keys.dtype}")
    return np.ascontiguousarray(keys)


def _decode_upsert(body: bytes) -> UpsertBatch:
    if len(body) < UPSERT_COUNTS.size:
        raise ValueError(f"upsert body of {len(body)} bytes is shorter than its counts")
    n, dim = UPSERT_COUNTS.unpack_from(body)
    vectors_at = UPSERT_COUNTS.size + KEY_SIZE * n
    offsets_at = vectors_at + 4 * n * dim
    payloads_at = offsets_at + 4 * (n + 1)
    if payloads_at > len(body):
        raise ValueError(
            f"upsert body of {len(body)} bytes is too short for {n} points of dimension {dim}"
        )
    offsets = np.frombuffer(body, dtype="<u4", count=n + 1, offset=offsets_at).astype(np.int64)
    total = int(offsets[-1])
    if offsets[0] != 0 or payloads_at + total != len(body) or (np.diff(offsets) < 0).any():
        raise ValueError(f"upsert payload offsets do not add up to the body's {len(body)} bytes")
    keys = np.frombuffer(body, dtype=KEY_DTYPE, count=n, offset=UPSERT_COUNTS.size).copy()
    vectors = np.frombuffer(body, dtype="<f4", count=n * dim, offset=vectors_at).reshape(n, dim)
    bounds = (offsets + payloads_at).tolist()
    payloads = [body[start:end] for start, end in itertools.pairwise(bounds)]
    return UpsertBatch(keys, vectors.astype(np.float32), payloads)  # astype copies


def _decode_delete(body: bytes) -> DeleteBatch:
    if len(body) < DELETE_COUNT.size:
        raise ValueError(f"delete body of {len(body)} bytes is shorter than its count")
    (n,) = DELETE_COUNT.unpack_from(body)
    if len(body) != DELETE_COUNT.size + KEY_SIZE * n:
        raise ValueError(f"delete body of {len(body)} bytes does not hold exactly {n} keys")
    keys = np.frombuffer(body, dtype=KEY_DTYPE, count=n, offset=DELETE_COUNT.size)
    return DeleteBatch(keys.copy())


def _decode_columns(body: bytes) -> UpsertBatch:
    if len(body) < COLUMNS_COUNTS.size:
        raise ValueError(f"upsert body of {len(body)} bytes is shorter than its counts")
    n, count, reserved = COLUMNS_COUNTS.unpack_from(body)
    if reserved:
        raise ValueError("reserved field of an upsert body is not zero")
    at = COLUMNS_COUNTS.size + KEY_SIZE * n
    if at + 4 * (n + 1) > len(body):
        raise ValueError(f"upsert body of {len(body)} bytes is too short for {n} points")
    keys = np.frombuffer(body, dtype=KEY_DTYPE, count=n, offset=COLUMNS_COUNTS.size).copy()
    offsets = np.frombuffer(body, dtype="<u4", count=n + 1, offset=at).astype(np.int64)
    payloads_at = at + 4 * (n + 1)
    end = payloads_at + int(offsets[-1])
    if offsets[0] != 0 or end > len(body) or (np.diff(offsets) < 0).any():
        raise ValueError(f"upsert payload offsets do not fit the body's {len(body)} bytes")
    bounds = (offsets + payloads_at).tolist()
    payloads = [body[start:stop] for start, stop in itertools.pairwise(bounds)]
    columns: dict[int, DenseColumn | SparseColumn | MultiColumn] = {}
    at = end
    for _ in range(count):
        if at + COLUMN_HEAD.size + n > len(body):
            raise ValueError("upsert column cut short")
        number, kind, pad, size, m = COLUMN_HEAD.unpack_from(body, at)
        at += COLUMN_HEAD.size
        present = np.frombuffer(body, dtype=np.uint8, count=n, offset=at)
        at += n
        if pad != bytes(3) or number in columns or int(np.count_nonzero(present)) != m:
            raise ValueError(f"upsert column {number} is malformed")
        if kind == KIND_DENSE:
            if at + 4 * m * size > len(body):
                raise ValueError(f"upsert column {number} cut short")
            rows = np.frombuffer(body, dtype="<f4", count=m * size, offset=at).reshape(m, size)
            at += 4 * m * size
            columns[number] = DenseColumn(present.astype(np.bool_), rows.astype(np.float32))
        elif kind == KIND_SPARSE:
            if at + 4 * (m + 1) + 8 * size > len(body):
                raise ValueError(f"upsert column {number} cut short")
            indptr = np.frombuffer(body, dtype="<u4", count=m + 1, offset=at).astype(np.int64)
            at += 4 * (m + 1)
            indices = np.frombuffer(body, dtype="<u4", count=size, offset=at).astype(np.uint32)
            at += 4 * size
            values = np.frombuffer(body, dtype="<f4", count=size, offset=at).astype(np.float32)
            at += 4 * size
            if indptr[0] != 0 or indptr[-1] != size or (np.diff(indptr) < 0).any():
                raise ValueError(f"upsert column {number}: row offsets do not add up")
            columns[number] = SparseColumn(
                present.astype(np.bool_), SparseBatch(indptr, indices, values)
            )
        elif kind == KIND_MULTI:
            if at + 4 * m > len(body):
                raise ValueError(f"upsert column {number} cut short")
            counts = np.frombuffer(body, dtype="<u4", count=m, offset=at).astype(np.int64)
            at += 4 * m
            total = int(counts.sum())
            if at + 4 * total * size > len(body):
                raise ValueError(f"upsert column {number} cut short")
            rows = np.frombuffer(body, dtype="<f4", count=total * size, offset=at)
            at += 4 * total * size
            columns[number] = MultiColumn(
                present.astype(np.bool_), counts, rows.reshape(total, size).astype(np.float32)
            )
        else:
            raise ValueError(f"upsert column {number} has unknown kind {kind}")
    if at != len(body):
        raise ValueError(f"upsert body of {len(body)} bytes has {len(body) - at} bytes left over")
    return UpsertBatch(keys, None, payloads, columns)
