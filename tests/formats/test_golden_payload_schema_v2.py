"""The golden version-2 payload schema (tests/formats/golden/payload_schema_v2/schema: a keyword,
a geo and a text index with params, written by today's code) opens as written, and a schema
holding a geo or text index is written as version 2, which a version-1 reader refuses by its
version. Version 1 schemas keep opening through the v1 story (test_golden_open.py)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from zoro import checked_json
from zoro.errors import CorruptionError
from zoro.payload.indexes import DIRECTORY, SCHEMA_FILE, PayloadIndexes

GOLDEN = Path(__file__).parent / "golden" / "payload_schema_v2" / "schema"
SIZE, DIGEST = 496, "5c10e36bbab0a821"


class _NoPayloads:
    """A store with no slots: every index is left to be built."""

    def payloads_of_slots(self, slots: np.ndarray) -> list[bytes]:
        return [b"{}" for _ in slots]


def test_the_file_is_as_committed() -> None:
    raw = GOLDEN.read_bytes()
    assert (len(raw), hashlib.sha256(raw).hexdigest()[:16]) == (SIZE, DIGEST)
    assert checked_json.read(GOLDEN)["format"] == 2


def test_it_opens_with_todays_code(tmp_path: Path) -> None:
    (tmp_path / DIRECTORY).mkdir()
    shutil.copy(GOLDEN, tmp_path / DIRECTORY / SCHEMA_FILE)
    indexes = PayloadIndexes.open(tmp_path, 0, _NoPayloads())  # type: ignore[arg-type]
    pending = {key: (schema, params) for key, schema, params in indexes.pending()}
    assert {key: schema for key, (schema, _) in pending.items()} == {
        "lang": "keyword",
        "at": "geo",
        "title": "text",
    }
    params = pending["title"][1]
    assert params is not None
    assert params.to_json() == {
        "type": "text",
        "tokenizer": "word",
        "lowercase": True,
        "stopwords": "english",
        "phrase_matching": True,
    }


@pytest.mark.parametrize(("schema", "version"), [("keyword", 1), ("geo", 2), ("text", 2)])
def test_a_geo_or_text_index_makes_the_schema_version_2(
    tmp_path: Path, schema: str, version: int
) -> None:
    indexes = PayloadIndexes(tmp_path)
    indexes.change("k", schema)
    indexes.write_schema()
    data = checked_json.read(tmp_path / DIRECTORY / SCHEMA_FILE)
    assert data["format"] == version
    if version == 2:  # what a reader of version 1 alone does with it: refuse it by its version
        with pytest.raises(CorruptionError, match="version"):
            checked_json.check_version(data, tmp_path, (1,), key="format")
