"""PayloadIndexes on disk: checkpointed files load and catch up; damage means a rebuild, except in
the schema file, which alone says which indexes exist."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from zoro.errors import CorruptionError
from zoro.payload import Match, PayloadIndexes, Range, build_index, parse_key
from zoro.payload.conditions import text_match
from zoro.payload.indexes import DIRECTORY, SCHEMA_FILE
from zoro.payload.tokenize import TextParams

from .test_select import Source


def _items(n: int) -> list[dict[str, Any]]:
    return [{"c": f"w{i % 7}", "p": i * 0.5, "tags": [f"t{i % 3}", "all"]} for i in range(n)]


def _built(directory: Path, source: Source, n: int) -> PayloadIndexes:
    indexes = PayloadIndexes(directory)
    for key, schema in (("c", "keyword"), ("p", "float"), ("tags[]", "keyword")):
        assert indexes.change(key, schema) is not None
        indexes.install(parse_key(key).text, schema, build_index(schema, key, n, source))
    indexes.write_schema()
    return indexes


def _answers(indexes: PayloadIndexes, n: int) -> list[list[int]]:
    conditions = [
        Match(parse_key("c"), "value", frozenset(["w3"]), str),
        Range(parse_key("p"), gte=10.0, lt=20.0),
        Match(parse_key("tags[]"), "any", frozenset(["t1"]), str),
    ]
    out = []
    for c in conditions:
        index = indexes.ready_index(c.key.text)
        assert index is not None
        out.append(np.flatnonzero(index.mask(c, n)).tolist())
    return out


def test_a_checkpointed_index_loads_and_catches_up(tmp_path: Path) -> None:
    source = Source(_items(300))
    indexes = _built(tmp_path, source, 200)  # built over the first 200 slots
    live = np.ones(200, dtype=np.bool_)
    live[[5, 10]] = False  # dead slots are left out of the files
    indexes.write_snapshot(indexes.snapshot(live))
    indexes.add(np.arange(200, 300), source.raw[200:])
    reopened = PayloadIndexes.open(tmp_path, 300, source)
    assert reopened.pending() == []
    (tmp_path / "other").mkdir()
    fresh = _built(tmp_path / "other", source, 300)
    expected = [[s for s in a if s not in (5, 10)] for a in _answers(fresh, 300)]
    assert (
        _answers(reopened, 300)
        == expected
        == [[s for s in a if s not in (5, 10)] for a in _answers(indexes, 300)]
    )


def test_a_damaged_or_missing_index_file_is_rebuilt(tmp_path: Path) -> None:
    source = Source(_items(100))
    indexes = _built(tmp_path, source, 100)
    indexes.write_snapshot(indexes.snapshot(np.ones(100, dtype=np.bool_)))
    files = sorted((tmp_path / DIRECTORY).glob("*.npz"))
    assert len(files) == 3
    raw = bytearray(files[0].read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    files[0].write_bytes(bytes(raw))
    files[1].unlink()
    reopened = PayloadIndexes.open(tmp_path, 100, source)
    assert len(reopened.pending()) == 2  # the builder task takes them from here
    assert sorted(reopened.keys()) == ["c", "p", "tags[]"]


def test_a_damaged_schema_file_refuses_to_open(tmp_path: Path) -> None:
    source = Source(_items(10))
    _built(tmp_path, source, 10)
    path = tmp_path / DIRECTORY / SCHEMA_FILE
    path.write_bytes(path.read_bytes().replace(b"keyword", b"keywore", 1))
    with pytest.raises(CorruptionError, match="schema"):
        PayloadIndexes.open(tmp_path, 10, source)


def test_changes_undo_and_dropped_files_go(tmp_path: Path) -> None:
    source = Source(_items(10))
    indexes = _built(tmp_path, source, 10)
    indexes.write_snapshot(indexes.snapshot(np.ones(10, dtype=np.bool_)))
    assert indexes.change("c", "keyword") is None  # the same again: nothing to do
    undo = indexes.change("c", "integer")
    assert undo is not None
    assert indexes.schema_of("c") == "integer"
    undo()
    assert indexes.schema_of("c") == "keyword"
    assert indexes.ready_index("c") is not None
    with pytest.raises(ValueError, match="unknown type"):
        indexes.change("c", "geo-hash")
    assert indexes.change("p", None) is not None
    indexes.write_schema()
    assert len(list((tmp_path / DIRECTORY).glob("*.npz"))) == 2
    assert sorted(PayloadIndexes.open(tmp_path, 10, source).keys()) == ["c", "tags[]"]


def test_an_index_file_of_another_file_generation_is_rebuilt(tmp_path: Path) -> None:
    """Files written while storage numbered slots in generation 1 are not used in generation 2
    (compaction renumbered them), and generation 0's files carry no stamp at all."""
    source = Source(_items(100))
    indexes = _built(tmp_path, source, 100)
    indexes.write_snapshot(indexes.snapshot(np.ones(100, dtype=np.bool_), files=1))
    assert PayloadIndexes.open(tmp_path, 100, source, files=1).pending() == []
    assert len(PayloadIndexes.open(tmp_path, 100, source, files=2).pending()) == 3
    assert len(PayloadIndexes.open(tmp_path, 100, source).pending()) == 3
    indexes.write_snapshot(indexes.snapshot(np.ones(100, dtype=np.bool_)))
    assert PayloadIndexes.open(tmp_path, 100, source).pending() == []


def test_renumber_answers_the_same_through_the_remap(tmp_path: Path) -> None:
    """A compaction's switch: every ready index is remade in the new slot numbers."""
    items = _items(300)
    for i, item in enumerate(items):
        item["text"] = f"the quick {'brown' if i % 2 else 'red'} fox number {i % 10}"
    source = Source(items)
    indexes = _built(tmp_path, source, 300)
    params = TextParams(phrase_matching=True)  # positions too
    assert indexes.change("text", "text", params) is not None
    built = build_index("text", "text", 300, source, params=params)
    assert indexes.install("text", "text", built, params)
    live = np.ones(300, dtype=np.bool_)
    live[::4] = False
    remap = np.full(300, -1, dtype=np.int64)
    remap[live] = np.arange(1, int(live.sum()) + 1)
    phrase = text_match(parse_key("text"), "phrase", "brown fox")
    before = [[s for s in a if live[s]] for a in _answers(indexes, 300)]
    text_index = indexes.ready_index("text")
    assert text_index is not None
    phrase_before = np.flatnonzero(text_index.mask(phrase, 300) & live)
    indexes.renumber(remap, live)
    n = int(live.sum()) + 1
    assert _answers(indexes, n) == [remap[a].tolist() for a in before]
    text_index = indexes.ready_index("text")
    assert text_index is not None
    assert np.flatnonzero(text_index.mask(phrase, n)).tolist() == remap[phrase_before].tolist()
