"""The binary formats on their own: payload records, headers, the checked JSON files."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zoro import checked_json
from zoro.errors import CorruptionError
from zoro.fsutil import pwrite_all
from zoro.storage._fileio import decode_header, encode_header, open_file
from zoro.storage.payloads import RECORD, decode_record, encode_records

_PATH = Path("payloads")
bodies = st.lists(st.binary(max_size=64), max_size=20)


@given(bodies)
def test_payload_records_round_trip(items: list[bytes]) -> None:
    buffer, starts, lengths = encode_records(items)
    assert lengths.tolist() == [len(b) for b in items]
    for body, start in zip(items, starts.tolist(), strict=True):
        raw = buffer[start : start + RECORD.size + len(body)]
        assert decode_record(raw, start, len(body), _PATH) == body
    assert len(buffer) == sum(RECORD.size + len(b) for b in items)


@given(st.binary(max_size=40), st.data())
def test_any_bit_flip_in_a_record_is_caught(body: bytes, data: st.DataObject) -> None:
    buffer, _, _ = encode_records([body])
    bit = data.draw(st.integers(0, len(buffer) * 8 - 1))
    damaged = bytearray(buffer)
    damaged[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(CorruptionError) as caught:
        decode_record(bytes(damaged), 100, len(body), _PATH)
    assert caught.value.offset == 100


def test_header_checks(tmp_path: Path) -> None:
    layout = struct.Struct("<4sHHII")
    path = tmp_path / "f"
    good = encode_header(layout, b"TEST", 1, 0, 42)
    for raw, what in [
        (good, None),
        (encode_header(layout, b"NOPE", 1, 0, 42), "magic"),
        (encode_header(layout, b"TEST", 2, 0, 42), "version"),
        (good[:-1] + bytes([good[-1] ^ 1]), "checksum"),
        (good[:10], "ends"),
    ]:
        fd = open_file(path, create=True)
        try:
            pwrite_all(fd, raw, 0)
            if what is None:
                assert decode_header(fd, layout, b"TEST", 1, path) == (b"TEST", 1, 0, 42)
            else:
                with pytest.raises(CorruptionError, match=what):
                    decode_header(fd, layout, b"TEST", 1, path)
        finally:
            os.close(fd)


def test_checked_json_round_trip_and_damage(tmp_path: Path) -> None:
    path = tmp_path / "doc"
    data: dict[str, object] = {"a": 1, "when": 1767225600.123456, "list": [1, "x"], "e": {}}
    checked_json.write(path, data)
    assert checked_json.read(path) == data
    path.write_text(path.read_text().replace('"x"', '"y"'))
    with pytest.raises(CorruptionError, match="checksum"):
        checked_json.read(path)
    path.write_text('{"crc32": 1, "data": ')
    with pytest.raises(CorruptionError, match="JSON"):
        checked_json.read(path)
