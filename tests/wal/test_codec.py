"""The record codec alone: bytes in, ops out (zoro/wal/_codec.py, layout in _format.py)."""

from __future__ import annotations

import uuid
import zlib

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zoro.types import KEY_DTYPE, U64_MAX, DeleteBatch, PointId, UpsertBatch, keys_of
from zoro.wal._codec import decode_body, encode_body, encode_records
from zoro.wal._format import RECORD, TYPE_DELETE, TYPE_UPSERT

from .conftest import assert_same_op, delete, upsert

point_ids = st.one_of(
    st.sampled_from([0, 1, U64_MAX - 1, U64_MAX]), st.integers(0, U64_MAX), st.uuids()
)
payloads = st.one_of(
    st.just(b"{}"),
    st.binary(max_size=300),
    st.text(max_size=50).map(lambda s: orjson.dumps({"s": s})),  # unicode, as the API sends
)


@st.composite
def upserts(draw: st.DrawFn) -> UpsertBatch:
    ids: list[PointId] = draw(st.lists(point_ids, max_size=12))
    n, dim = len(ids), draw(st.integers(1, 300))
    raw = draw(st.binary(min_size=4 * n * dim, max_size=4 * n * dim))  # any float32 bits
    vectors = np.frombuffer(raw, dtype=np.float32).reshape(n, dim)
    return UpsertBatch(keys_of(ids), vectors, draw(st.lists(payloads, min_size=n, max_size=n)))


@settings(max_examples=60, deadline=None)
@given(upserts())
def test_upsert_round_trip_is_exact(op: UpsertBatch) -> None:
    rtype, body = encode_body(op)
    assert rtype == TYPE_UPSERT
    assert_same_op(decode_body(rtype, body), op)


@settings(max_examples=40, deadline=None)
@given(st.lists(point_ids, max_size=30))
def test_delete_round_trip_is_exact(ids: list[PointId]) -> None:
    op = DeleteBatch(keys_of(ids))
    rtype, body = encode_body(op)
    assert rtype == TYPE_DELETE
    assert_same_op(decode_body(rtype, body), op)


def test_ids_at_the_edges_survive() -> None:
    ids: list[PointId] = [0, U64_MAX, uuid.UUID(int=0), uuid.UUID(int=2**128 - 1), 7]
    got = decode_body(*encode_body(DeleteBatch(keys_of(ids))))
    assert got.keys.tobytes() == keys_of(ids).tobytes()


def test_empty_batches_are_allowed_and_keep_their_dimension() -> None:
    empty = UpsertBatch(np.empty(0, dtype=KEY_DTYPE), np.empty((0, 7), np.float32), [])
    got = decode_body(*encode_body(empty))
    assert isinstance(got, UpsertBatch)
    assert got.vectors.shape == (0, 7)
    assert len(decode_body(*encode_body(DeleteBatch(np.empty(0, dtype=KEY_DTYPE))))) == 0


def test_large_and_unicode_payloads_round_trip() -> None:
    big = b'{"t":"' + "é漢🙂".encode() * 100_000 + b'"}'
    op = UpsertBatch(keys_of([1, 2, 3]), np.ones((3, 2), np.float32), [b"{}", big, b""])
    assert_same_op(decode_body(*encode_body(op)), op)


def test_decoded_arrays_are_owned_aligned_and_writable() -> None:
    got = decode_body(*encode_body(upsert(3, dim=5)))  # 3 keys of 17 bytes: vectors unaligned
    assert isinstance(got, UpsertBatch)
    for array in (got.keys, got.vectors):
        assert array.flags.owndata
        assert array.flags.aligned
        assert array.flags.writeable
        assert array.flags.c_contiguous


def test_encode_records_frames_each_op_with_its_lsn_crc_and_place_in_the_batch() -> None:
    buf = bytes(encode_records([upsert(2), delete(9), delete(3)], 41))
    pos, lsns = 0, []
    while pos < len(buf):
        crc, length, lsn, rtype, version, reserved, index = RECORD.unpack_from(buf, pos)
        end = pos + RECORD.size + length
        assert zlib.crc32(buf[pos + 4 : end]) == crc
        assert (version, reserved) == (1, 0)
        lsns.append((lsn, rtype, index))
        pos = end
    assert lsns == [(41, TYPE_UPSERT, 0), (42, TYPE_DELETE, 1), (43, TYPE_DELETE, 2)]


@pytest.mark.parametrize("op", [upsert(2, dim=3), delete(1, 2)], ids=["upsert", "delete"])
def test_every_truncation_or_extra_byte_is_refused(op: UpsertBatch | DeleteBatch) -> None:
    rtype, body = encode_body(op)
    for cut in range(len(body)):
        with pytest.raises(ValueError, match="body"):
            decode_body(rtype, body[:cut])
    with pytest.raises(ValueError, match="body"):
        decode_body(rtype, body + b"\0")


def test_payload_offsets_that_go_backwards_are_refused() -> None:
    rtype, body = encode_body(upsert(2, dim=1))
    offsets_at = 8 + 2 * 17 + 2 * 4
    broken = bytearray(body)
    broken[offsets_at + 4 : offsets_at + 8] = (50).to_bytes(4, "little")  # 0, 50, 14
    with pytest.raises(ValueError, match="offsets"):
        decode_body(rtype, bytes(broken))


def test_an_unknown_record_type_is_named() -> None:
    with pytest.raises(ValueError, match="unknown record type 9"):
        decode_body(9, b"")


@pytest.mark.parametrize(
    ("vectors", "payloads", "match"),
    [
        (np.ones((2, 3), np.float64), [b"{}", b"{}"], "float32"),
        (np.ones((3, 3), np.float32), [b"{}", b"{}"], "shape"),
        (np.ones(6, np.float32), [b"{}", b"{}"], "shape"),
        (np.ones((2, 3), np.float32), [b"{}"], "payloads"),
    ],
)
def test_encode_refuses_ops_of_the_wrong_shape(
    vectors: np.ndarray, payloads: list[bytes], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        encode_body(UpsertBatch(keys_of([1, 2]), vectors, payloads))


def test_encode_refuses_keys_that_are_not_keys() -> None:
    with pytest.raises(ValueError, match="keys"):
        encode_body(DeleteBatch(np.array([1, 2], dtype=np.uint64)))
