"""The independent decoder can fail: every byte of a golden binary file that a CRC covers, when
damaged, makes it refuse the file (so its agreement with zoro in the golden tests means something).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.formats import golden_v1 as story
from tests.formats import independent


def _slots_crc(name: str) -> int:
    meta = independent.checked_json((story.collection_dir(name) / "meta").read_bytes())
    return int(meta["slots_crc32"])


# (collection, file, decoder, how many leading bytes a CRC covers: None for all of them)
FILES: list[tuple[str, str, Callable[[bytes], object], int | None]] = [
    ("golden", "wal/00000000000000000001.log", lambda b: independent.wal_segment(b, 1), None),
    ("golden", "wal/00000000000000000004.log", lambda b: independent.wal_segment(b, 4), None),
    ("flat", "wal/00000000000000000001.log", lambda b: independent.wal_segment(b, 1), None),
    ("golden", "index/points.00000001", independent.points_file, None),
    ("flat", "index/points.00000001", independent.points_file, None),
    (
        "golden",
        "index/slots",
        lambda b: independent.slots_file(b, 10, _slots_crc("golden")),
        None,
    ),
    ("golden", "source/payloads", independent.payloads_file, None),
    ("golden", "source/vectors", lambda b: independent.vectors_file(b, 10), 32),  # rows: no CRC
    ("golden", "ann/seg-0000000001.zann", independent.ann_file, None),
    ("flat", "ann/seg-0000000001.zann", independent.ann_file, None),
]


@pytest.mark.parametrize(
    ("name", "file", "decode", "covered"), FILES, ids=[f"{n}/{f}" for n, f, *_ in FILES]
)
def test_any_damaged_byte_is_refused(
    name: str, file: str, decode: Callable[[bytes], object], covered: int | None
) -> None:
    raw = (story.collection_dir(name) / file).read_bytes()
    decode(raw)  # whole: fine
    for at in range(covered or len(raw)):
        damaged = bytearray(raw)
        damaged[at] ^= 1 << (at % 8)
        with pytest.raises(independent.Mismatch):
            decode(bytes(damaged))
    with pytest.raises(independent.Mismatch):
        decode(raw[:-1])


def test_a_checked_json_document_with_other_data_is_refused() -> None:
    raw = (story.DATA / "catalog").read_bytes()
    assert independent.checked_json(raw)["version"] == 1
    with pytest.raises(independent.Mismatch, match="CRC32"):
        independent.checked_json(raw.replace(b'"ready"', b'"READY"', 1))
