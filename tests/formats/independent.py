"""Decoders for the version 1 formats, written from the layout tables in the format modules'
docstrings and nothing else: no zoro import, no struct format or constant taken from zoro.

They are deliberately plain (a `struct` format string per table, explicit offsets, zlib.crc32
over the byte ranges the tables name), so that a change of layout, byte order or CRC coverage
shows up here even when zoro's encoder and decoder change together and still agree.

Every check that fails raises Mismatch naming the offset and what was expected.
"""

from __future__ import annotations

import ast
import functools
import io
import json
import struct
import uuid
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

PointId = int | uuid.UUID
P = ParamSpec("P")
R = TypeVar("R")


class Mismatch(Exception):
    """The bytes do not follow the documented layout."""


def _decoder(decode: Callable[P, R]) -> Callable[P, R]:
    """Whatever goes wrong while decoding (a short buffer, bad JSON, a bad zip) is a Mismatch."""

    @functools.wraps(decode)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return decode(*args, **kwargs)
        except (struct.error, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise Mismatch(f"{type(exc).__name__}: {exc}") from exc

    return checked


def expect(ok: bool, what: str) -> None:
    if not ok:
        raise Mismatch(what)


def _header(raw: bytes, fmt: str, magic: bytes) -> tuple[Any, ...]:
    """Unpack a header whose last field is the CRC32 of every byte before it; check magic,
    version 1 and the CRC."""
    size = struct.calcsize(fmt)
    expect(len(raw) >= size, f"file of {len(raw)} bytes is shorter than its {size}-byte header")
    fields = struct.unpack_from(fmt, raw, 0)
    expect(fields[0] == magic, f"magic {fields[0]!r}, expected {magic!r}")
    expect(fields[1] == 1, f"format version {fields[1]}, expected 1")
    expect(fields[-1] == zlib.crc32(raw[: size - 4]), "header CRC32 does not cover bytes 0..end-4")
    return fields


# ------------------------------------------------------------------------------- point keys


def point_id(key: bytes) -> PointId:
    """17 bytes: kind (1 integer, 2 UUID), then 16 big-endian bytes (integers: 8 zero bytes,
    then the u64)."""
    expect(len(key) == 17, f"a key is 17 bytes, not {len(key)}")
    if key[0] == 1:
        expect(key[1:9] == bytes(8), f"integer key {key.hex()} has non-zero high bytes")
        return int.from_bytes(key[9:], "big")
    expect(key[0] == 2, f"key kind {key[0]}")
    return uuid.UUID(bytes=key[1:])


def key_of(point: PointId) -> bytes:
    if isinstance(point, uuid.UUID):
        return b"\x02" + point.bytes
    return b"\x01" + bytes(8) + point.to_bytes(8, "big")


# ------------------------------------------------------------------------------- WAL segment


@dataclass(frozen=True)
class WalUpsert:
    ids: list[PointId]
    vectors: list[tuple[float, ...]]
    payloads: list[bytes]


@dataclass(frozen=True)
class WalDelete:
    ids: list[PointId]


@dataclass(frozen=True)
class WalRecord:
    offset: int
    lsn: int
    op: WalUpsert | WalDelete


@_decoder
def wal_segment(raw: bytes, first_lsn: int) -> list[WalRecord]:
    """Segment header (20 bytes: magic ZWAL, u16 version 1, u16 reserved 0, u64 first LSN,
    CRC32 of bytes 0..15), then records back to back to the end of the file."""
    magic, version, reserved, lsn, crc = struct.unpack_from("<4sHHQI", raw, 0)
    expect(magic == b"ZWAL" and version == 1 and reserved == 0, "WAL segment header")
    expect(lsn == first_lsn, f"segment header says first LSN {lsn}, not {first_lsn}")
    expect(crc == zlib.crc32(raw[0:16]), "segment header CRC32 does not cover bytes 0..15")
    records = []
    pos, want = 20, first_lsn
    while pos < len(raw):
        records.append(_wal_record(raw, pos, want))
        (length,) = struct.unpack_from("<I", raw, pos + 4)
        pos += 20 + length
        want += 1
    expect(pos == len(raw), "the last record runs past the end of the file")
    return records


def _wal_record(raw: bytes, pos: int, want_lsn: int) -> WalRecord:
    """Record header (20 bytes: CRC32 of header bytes 4..19 and the body, u32 body length,
    u64 LSN, u8 type, u8 record version 1, u16 reserved 0), then the body."""
    crc, length, lsn, rtype, version, reserved = struct.unpack_from("<IIQBBH", raw, pos)
    end = pos + 20 + length
    expect(end <= len(raw), f"record at {pos} runs past the end")
    expect(crc == zlib.crc32(raw[pos + 4 : end]), f"record at {pos}: CRC32 coverage")
    expect(lsn == want_lsn, f"record at {pos} has LSN {lsn}, expected {want_lsn}")
    expect(version == 1 and reserved == 0, f"record at {pos}: version {version}")
    body = raw[pos + 20 : end]
    if rtype == 1:
        return WalRecord(pos, lsn, _wal_upsert(body))
    expect(rtype == 2, f"record at {pos}: type {rtype}")
    (n,) = struct.unpack_from("<I", body, 0)
    expect(len(body) == 4 + 17 * n, f"delete body of {len(body)} bytes for {n} keys")
    return WalRecord(
        pos, lsn, WalDelete([point_id(body[4 + 17 * i : 21 + 17 * i]) for i in range(n)])
    )


def _wal_upsert(body: bytes) -> WalUpsert:
    """u32 n, u32 dim, 17n key bytes, 4 n dim float32, (n + 1) u32 payload offsets, payloads."""
    n, dim = struct.unpack_from("<II", body, 0)
    ids = [point_id(body[8 + 17 * i : 25 + 17 * i]) for i in range(n)]
    at = 8 + 17 * n
    vectors = [struct.unpack_from(f"<{dim}f", body, at + 4 * dim * i) for i in range(n)]
    at += 4 * n * dim
    offsets = struct.unpack_from(f"<{n + 1}I", body, at)
    at += 4 * (n + 1)
    expect(offsets[0] == 0 and at + offsets[-1] == len(body), "payload offsets and body length")
    payloads = [body[at + offsets[i] : at + offsets[i + 1]] for i in range(n)]
    return WalUpsert(ids, vectors, payloads)


# ------------------------------------------------------------------------------- storage files


@_decoder
def points_file(raw: bytes) -> list[tuple[PointId, int]]:
    """index/points.<gen>: header (magic ZPIX, u16 version, u16 reserved, u64 count n, CRC32 of
    bytes 24..end, CRC32 of bytes 0..20), then n i64 slots, then n 17-byte keys ascending."""
    _, _, reserved, n, body_crc, _ = _header(raw, "<4sHHQII", b"ZPIX")
    expect(reserved == 0, "reserved field")
    expect(len(raw) == 24 + 25 * n, f"{len(raw)} bytes for {n} points")
    expect(body_crc == zlib.crc32(raw[24:]), "body CRC32 does not cover bytes 24..end")
    slots = struct.unpack_from(f"<{n}q", raw, 24)
    keys = [raw[24 + 8 * n + 17 * i : 24 + 8 * n + 17 * (i + 1)] for i in range(n)]
    expect(keys == sorted(keys), "keys are not ascending as bytes")
    return [(point_id(k), s) for k, s in zip(keys, slots, strict=True)]


@dataclass(frozen=True)
class SlotEntry:
    id: PointId
    payload_offset: int
    payload_length: int


@_decoder
def slots_file(raw: bytes, count: int, crc: int) -> list[SlotEntry]:
    """index/slots: header (magic ZSLT, u16 version, u16 reserved, u32 entry size 29, CRC32 of
    bytes 0..12), then 29-byte entries (key, u64 payload offset, u32 payload length) whose
    bytes have the running CRC32 that meta records."""
    _, _, reserved, entry_size, _ = _header(raw, "<4sHHII", b"ZSLT")
    expect(reserved == 0 and entry_size == 29, f"entry size {entry_size}")
    expect(len(raw) == 16 + 29 * count, f"{len(raw)} bytes for {count} slots")
    expect(zlib.crc32(raw[16:]) == crc, "slot table CRC32 (meta's slots_crc32)")
    out = []
    for i in range(count):
        at = 16 + 29 * i
        offset, length = struct.unpack_from("<QI", raw, at + 17)
        out.append(SlotEntry(point_id(raw[at : at + 17]), offset, length))
    return out


@_decoder
def vectors_file(raw: bytes, rows: int) -> tuple[int, list[tuple[float, ...]]]:
    """source/vectors: header (magic ZVEC, u16 version, u16 reserved, u32 dimension, 16 zero
    bytes, CRC32 of bytes 0..28), then one float32 row per slot. Returns (dimension, rows)."""
    _, _, reserved, dim, pad, _ = _header(raw, "<4sHHI16sI", b"ZVEC")
    expect(reserved == 0 and pad == bytes(16), "reserved fields")
    expect(len(raw) == 32 + 4 * dim * rows, f"{len(raw)} bytes for {rows} rows of {dim}")
    return dim, [struct.unpack_from(f"<{dim}f", raw, 32 + 4 * dim * i) for i in range(rows)]


@_decoder
def payloads_file(raw: bytes) -> dict[int, bytes]:
    """source/payloads: header (magic ZPAY, u16 version, u16 reserved, u32 reserved, CRC32 of
    bytes 0..12), then records (u32 length L, u32 zlib.crc32(body, L), body) to the end.
    Returns offset -> body."""
    _, _, reserved, reserved2, _ = _header(raw, "<4sHHII", b"ZPAY")
    expect(reserved == 0 and reserved2 == 0, "reserved fields")
    out, pos = {}, 16
    while pos < len(raw):
        length, crc = struct.unpack_from("<II", raw, pos)
        body = raw[pos + 8 : pos + 8 + length]
        expect(len(body) == length, f"record at {pos} runs past the end")
        expect(crc == zlib.crc32(body, length), f"record at {pos}: CRC32 seeded with the length")
        out[pos] = body
        pos += 8 + length
    return out


# ------------------------------------------------------------------------------- JSON documents


@_decoder
def checked_json(raw: bytes) -> dict[str, Any]:
    """{"crc32": CRC32 of the canonical encoding of data, "data": {...}}; canonical is JSON
    with sorted keys and no spaces, UTF-8 as is (here: the stdlib json module)."""
    doc = json.loads(raw)
    expect(set(doc) == {"crc32", "data"}, f"document keys {sorted(doc)}")
    canonical = json.dumps(doc["data"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    expect(doc["crc32"] == zlib.crc32(canonical.encode()), "CRC32 of the canonical data")
    data: dict[str, Any] = doc["data"]
    return data


# ------------------------------------------------------------------------------- ANN segment


@dataclass(frozen=True)
class AnnFile:
    kind: int  # 1 flat, 2 hnsw
    distance: int  # 1 Cosine, 2 Dot, 3 Euclid, 4 Manhattan
    dimension: int
    count: int
    min_slot: int
    max_slot: int
    faiss: bytes  # the body: faiss.write_index of the id-mapped index
    ids: list[int]  # the id map FAISS writes last: the slots, in insertion order


@_decoder
def ann_file(raw: bytes) -> AnnFile:
    """seg-*.zann: 56-byte header (magic ZANN, u16 version, u8 kind, u8 distance, u32 dimension,
    u32 reserved, i64 count, i64 min slot, i64 max slot, u64 body length, CRC32 of the body,
    CRC32 of bytes 0..52), then the FAISS body."""
    fields = _header(raw, "<4sHBBIIqqqQII", b"ZANN")
    _, _, kind, distance, dim, reserved, count, lo, hi, length, body_crc, _ = fields
    expect(reserved == 0, "reserved field")
    expect(len(raw) == 56 + length, f"{len(raw)} bytes, the header says {56 + length}")
    body = raw[56:]
    expect(body_crc == zlib.crc32(body), "body CRC32 does not cover bytes 56..end")
    # FAISS writes an id map's ids last, as a u64 count then i64 values
    (n,) = struct.unpack_from("<Q", body, len(body) - 8 - 8 * count)
    expect(n == count, f"FAISS id map holds {n} ids, the header says {count}")
    ids = list(struct.unpack_from(f"<{count}q", body, len(body) - 8 * count))
    return AnnFile(kind, distance, dim, count, lo, hi, body, ids)


# ------------------------------------------------------------------------------- payload index


@_decoder
def npz(raw: bytes) -> dict[str, tuple[str, tuple[int, ...], bytes]]:
    """A numpy .npz: a zip (every member CRC-checked by zipfile) of .npy files, each a magic
    b"\\x93NUMPY", a version, a header length and a dict literal with dtype and shape, then the
    raw array. Returns member name -> (dtype descr, shape, raw bytes)."""
    out = {}
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        expect(z.testzip() is None, "a zip member fails its CRC32")
        for name in z.namelist():
            data = z.read(name)
            expect(data[:6] == b"\x93NUMPY", f"{name}: not a .npy")
            major = data[6]
            size_fmt = "<H" if major == 1 else "<I"
            at = 8 + struct.calcsize(size_fmt)
            (header_len,) = struct.unpack_from(size_fmt, data, 8)
            header = ast.literal_eval(data[at : at + header_len].decode("latin1"))
            expect(not header["fortran_order"], f"{name}: Fortran order")
            out[name.removesuffix(".npy")] = (
                header["descr"],
                header["shape"],
                data[at + header_len :],
            )
    return out


def npz_ints(member: tuple[str, tuple[int, ...], bytes]) -> list[int]:
    descr, shape, data = member
    expect(descr == "<i8", f"dtype {descr}, expected <i8")
    return list(struct.unpack(f"<{shape[0]}q", data))
