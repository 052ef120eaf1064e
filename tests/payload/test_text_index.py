"""Tokenizers (Qdrant's examples), the text index against the definition (`matches`), and the
text index through PayloadIndexes: files, catch-up after a checkpoint, the schema's version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zoro import checked_json
from zoro.errors import CorruptionError
from zoro.payload import (
    Filter,
    PayloadIndexes,
    TextIndex,
    apply_scan,
    build_index,
    matches,
    parse_key,
    parse_params,
    prepare,
    text_match,
)
from zoro.payload.indexes import DIRECTORY, SCHEMA_FILE
from zoro.payload.select import bind_tokenizers
from zoro.payload.tokenize import DEFAULT, fold_to_ascii, tokenizer_for

from .test_select import Source


def _tokens(spec: dict[str, Any], text: str, *, query: bool = False) -> list[str]:
    tokenizer = tokenizer_for(parse_params({"type": "text", **spec}))
    return tokenizer.query(text) if query else tokenizer.document(text)


def test_word_and_whitespace_tokenizers() -> None:
    assert DEFAULT.document("hello, world! Привет, мир!") == ["hello", "world", "привет", "мир"]
    assert DEFAULT.document("snake_case x2 ½") == ["snake", "case", "x2", "½"]
    # lowercased word by word: "İ" lowercases to i + a combining dot, which is no word character
    assert DEFAULT.document("İstanbul") == ["i\u0307stanbul"]
    assert _tokens({"lowercase": False}, "Hello, World") == ["Hello", "World"]
    assert _tokens({"tokenizer": "whitespace"}, "Hello, world!\tok") == ["hello,", "world!", "ok"]


def test_prefix_tokenizer_indexes_prefixes_and_cuts_queries() -> None:
    spec = {"tokenizer": "prefix", "min_token_len": 1, "max_token_len": 4}
    # Qdrant's own example: every prefix up to max_token_len; a longer word is not whole
    assert _tokens(spec, "hello, мир!") == ["h", "he", "hel", "hell", "м", "ми", "мир"]
    assert _tokens(spec, "hello, мир!", query=True) == ["hell", "мир"]
    spec = {"tokenizer": "prefix", "min_token_len": 3, "stopwords": {"custom": ["the"]}}
    assert _tokens(spec, "the theory go") == ["the", "theo", "theor", "theory"]
    assert _tokens(spec, "the go", query=True) == ["the"]  # queries keep stopwords, drop short


def test_processing_order_fold_lower_stopwords_stem_length() -> None:
    spec = {
        "ascii_folding": True,
        "stopwords": {"languages": ["english"], "custom": ["Über"]},
        "stemmer": {"type": "snowball", "language": "english"},
        "min_token_len": 3,
    }
    # folding comes before the stopword check and the stopwords are not folded (as in Qdrant):
    # "Über" is a stopword, its folded "uber" is not; stemming comes after, the length last
    assert _tokens(spec, "The Über runners are running to Ação") == [
        "uber",
        "runner",
        "run",
        "acao",
    ]
    assert _tokens({"stopwords": {"custom": ["Über"]}}, "The Über") == ["the"]
    # without lowercasing, custom stopwords are taken as written
    unlowered = {"stopwords": {"custom": ["Über"]}, "lowercase": False}
    assert _tokens(unlowered, "The Über über") == ["The", "über"]
    assert _tokens({"stemmer": {"type": "none"}}, "running") == ["running"]
    assert fold_to_ascii("Ærøskøbing Łódź straße ﬁ 東京") == "AEroskobing Lodz strasse fi 東京"


def test_multilingual_tokenizer() -> None:
    spec = {"tokenizer": "multilingual"}
    assert _tokens(spec, "今天是星期一") == ["今", "天", "是", "星", "期", "一"]
    assert _tokens(spec, "What are you waiting for? Café 2024") == [
        "what",
        "are",
        "you",
        "waiting",
        "for",
        "cafe",
    ]
    assert _tokens(spec, "नमस्ते दुनिया") == ["नमसत", "दनिया"]  # marks kept in words, Mn dropped


def test_params_are_shown_as_given_and_compare_by_value() -> None:
    bare = parse_params("text")
    assert bare.to_json() == {"type": "text", "tokenizer": "word"}
    given = {"type": "text", "tokenizer": "prefix", "min_token_len": 2, "on_disk": True}
    assert parse_params(given).to_json() == given
    assert parse_params(dict(given)) == parse_params(given)
    assert parse_params({"type": "text", "lowercase": None}) == bare  # null is absent
    with pytest.raises(ValueError, match=r"field_schema\.tokenizer"):
        parse_params({"type": "text", "tokenizer": "code"})


# --- the index against the definition -----------------------------------------------------------

VOCAB = ["cat", "Cats", "run", "running", "the", "home", "Café", "cafe", "x_y"]
texts = st.lists(st.sampled_from(VOCAB), max_size=5).map(" ".join)
values = st.one_of(texts, st.lists(texts, max_size=3), st.integers(0, 3), st.none())
payloads = st.fixed_dictionaries({}, optional={"t": values})
SPECS = [
    {},
    {"phrase_matching": True},
    {"stemmer": {"type": "snowball", "language": "english"}, "stopwords": "english"},
    {"tokenizer": "prefix", "max_token_len": 3, "phrase_matching": True},
    {"ascii_folding": True, "min_token_len": 3, "phrase_matching": True},
]
conditions = st.builds(
    lambda mode, words: text_match(parse_key("t"), mode, " ".join(words)),
    st.sampled_from(["text", "text_any", "phrase"]),
    st.lists(st.sampled_from([*VOCAB, "dog"]), max_size=3),
)


class OneTextIndex:
    def __init__(self, index: TextIndex) -> None:
        self.index = index

    def ready_index(self, key_text: str) -> TextIndex | None:
        return self.index if key_text == "t" else None

    def text_tokenizer(self, key_text: str) -> Any:
        return self.index.tokenizer if key_text == "t" else None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(payloads, min_size=1, max_size=30),
    st.sampled_from(range(len(SPECS))),
    conditions,
    st.sampled_from(["must", "should", "must_not"]),
    st.data(),
)
def test_the_index_answers_as_the_definition(
    items: list[dict[str, Any]], spec: int, condition: Any, group: str, data: st.DataObject
) -> None:
    source = Source(items)
    n = len(items)
    live = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    index = TextIndex(parse_key("t"), parse_params({"type": "text", **SPECS[spec]}))
    index.add(list(range(n)), [orjson.loads(r) for r in source.raw])
    indexes = OneTextIndex(index)
    f = Filter(**{group: (condition,)})
    bound = bind_tokenizers(f, indexes)
    keys = [bytes(k).ljust(17, b"\0") for k in source.keys]
    expected = [i for i in range(n) if live[i] and matches(bound, items[i], keys[i])]
    got = np.flatnonzero(apply_scan(prepare(f, live, indexes, source), source)).tolist()
    assert got == expected
    # the same answer from an index loaded from its arrays (dead slots left out of them)
    reloaded = TextIndex(index.key, index.params)
    reloaded.load_arrays(index.arrays(live))
    again = np.flatnonzero(apply_scan(prepare(f, live, OneTextIndex(reloaded), source), source))
    assert again.tolist() == expected


# --- through PayloadIndexes ---------------------------------------------------------------------

STEMMED = {
    "type": "text",
    "phrase_matching": True,
    "stemmer": {"type": "snowball", "language": "english"},
}


def _items(n: int) -> list[dict[str, Any]]:
    words = ["cats", "are", "running", "home", "the", "dog", "runs"]
    return [{"t": " ".join(words[(i + j) % 7] for j in range(i % 5))} for i in range(n)]


def _found(indexes: PayloadIndexes, n: int, mode: str, text: str) -> list[int]:
    c = text_match(parse_key("t"), mode, text)
    live = np.ones(n, dtype=np.bool_)
    return np.flatnonzero(apply_scan(prepare(c, live, indexes, Source([])), Source([]))).tolist()


def test_a_text_index_is_written_loaded_and_caught_up(tmp_path: Path) -> None:
    source = Source(_items(300))
    indexes = PayloadIndexes(tmp_path)
    params = parse_params(STEMMED)
    assert indexes.change("t", "text", params) is not None
    assert indexes.change("t", "text", parse_params(STEMMED)) is None  # the same: no change
    assert indexes.text_tokenizer("t") is tokenizer_for(params)  # before it is built, too
    indexes.install("t", "text", build_index("text", "t", 200, source, params=params), params)
    indexes.write_schema()
    schema: Any = checked_json.read(tmp_path / DIRECTORY / SCHEMA_FILE)
    assert schema["format"] == 2
    assert schema["fields"]["t"]["params"] == {**STEMMED, "tokenizer": "word"}
    indexes.write_snapshot(indexes.snapshot(np.ones(200, dtype=np.bool_)))
    indexes.add(np.arange(200, 300), source.raw[200:])
    reopened = PayloadIndexes.open(tmp_path, 300, source)
    assert reopened.pending() == []
    info = reopened.info(np.ones(300, dtype=np.bool_))[0]
    assert (info.schema, info.params, info.points) == ("text", schema["fields"]["t"]["params"], 300)
    for mode, text in [("phrase", "are running"), ("text", "running dog"), ("text_any", "home")]:
        assert _found(reopened, 300, mode, text) == _found(indexes, 300, mode, text)
        assert _found(reopened, 300, mode, text)  # something to compare


def test_params_change_redefines_and_schema_without_text_stays_version_1(tmp_path: Path) -> None:
    indexes = PayloadIndexes(tmp_path)
    assert indexes.change("k", "keyword") is not None
    indexes.write_schema()
    assert (
        checked_json.read(tmp_path / DIRECTORY / SCHEMA_FILE)["format"] == 1
    )  # older builds read it
    assert indexes.change("t", "text") is not None  # bare "text": the default params
    assert indexes.change("t", "text", parse_params(STEMMED)) is not None  # other params
    with pytest.raises(ValueError, match="text index params"):
        indexes.change("k", "keyword", parse_params("text"))


def test_bad_text_params_in_the_schema_file_refuse_to_open(tmp_path: Path) -> None:
    indexes = PayloadIndexes(tmp_path)
    indexes.change("t", "text", parse_params(STEMMED))
    indexes.write_schema()
    path = tmp_path / DIRECTORY / SCHEMA_FILE
    doc: Any = checked_json.read(path)
    doc["fields"]["t"]["params"]["tokenizer"] = "klingon"
    checked_json.write(path, doc)
    with pytest.raises(CorruptionError, match="tokenizer"):
        PayloadIndexes.open(tmp_path, 0, Source([]))


@pytest.mark.parametrize("spec", [{}, {"phrase_matching": True}])
def test_one_string_must_hold_the_whole_query(spec: dict[str, Any]) -> None:
    """The postings join a slot's strings; the answer must not (`doubtful` slots are checked)."""
    items = [{"t": ["cat", "run"]}, {"t": ["cat run", "x"]}, {"t": "run cat"}, {"t": ["run"]}]
    source = Source(items)
    index = TextIndex(parse_key("t"), parse_params({"type": "text", **spec}))
    index.add(list(range(4)), items)
    live = np.ones(4, dtype=np.bool_)
    for mode, expected in [("text", [1, 2]), ("phrase", [1]), ("text_any", [0, 1, 2, 3])]:
        c = text_match(parse_key("t"), mode, "cat run")
        got = apply_scan(prepare(c, live, OneTextIndex(index), source), source)
        assert np.flatnonzero(got).tolist() == expected, mode


def test_many_doubtful_slots_are_left_to_the_residual_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    """Checking many slots inline would hold the event loop: the index then only narrows."""
    items = [{"t": ["cat", "run"] if i % 2 else ["cat run"]} for i in range(40)] + [{"t": "x"}]
    source = Source(items)
    index = TextIndex(parse_key("t"), parse_params("text"))
    index.add(list(range(len(items))), items)
    live = np.ones(len(items), dtype=np.bool_)
    c = text_match(parse_key("t"), "text", "cat run")
    for limit, inline in [(100, True), (10, False)]:
        monkeypatch.setattr("zoro.payload.select.DOUBTFUL_INLINE_SLOTS", limit)
        for f in (c, Filter(must_not=(c,))):
            prepared = prepare(f, live, OneTextIndex(index), source)
            assert (prepared.residual is None) == inline
            got = np.flatnonzero(apply_scan(prepared, source)).tolist()
            evens = list(range(0, 40, 2))
            assert got == (evens if f is c else sorted({*range(41)} - set(evens)))
        if not inline:  # the index still narrowed the candidates: slot 40 is out
            assert np.count_nonzero(prepare(c, live, OneTextIndex(index), source).candidates) == 40
