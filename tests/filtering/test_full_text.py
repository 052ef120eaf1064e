"""Full-text filters (`match: text / text_any / phrase`) and text payload indexes, through the
real qdrant-client against a real server, compared with qdrant-client's local mode.

Local mode tokenizes every string with Qdrant's default word tokenizer (lowercased) and builds
no index, so it is the reference for keys without a text index and for text indexes with the
default tokenization. A text index with other settings (stemmer, stopwords, prefix...) changes
what matches on Qdrant's server and on Zoro-DB, never in local mode: those cases are checked
against expectations written out by hand.
"""

from __future__ import annotations

import itertools
import random
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from qdrant_client import QdrantClient, models

from tests.filtering.reference import wait_indexes_ready
from zoro.testing import ServerProcess

DIM = 3
WORDS = ["apple", "Banana", "cherry", "date", "elder", "fig", "grape", "Привет", "Café", "x_y"]
PUNCT = [" ", ", ", ". ", " - ", "! ", "_", "\n"]


def _sentence(rng: random.Random) -> str:
    n = rng.randint(0, 6)
    return "".join(rng.choice(WORDS) + rng.choice(PUNCT) for _ in range(n)).strip()


def _payload(i: int, rng: random.Random) -> dict[str, Any]:
    p: dict[str, Any] = {"title": _sentence(rng), "meta": {"note": _sentence(rng)}}
    if i % 5 == 0:
        p["title"] = [_sentence(rng), _sentence(rng)]  # a phrase must stay inside one string
    elif i % 7 == 0:
        p["title"] = 42  # a number never matches a full-text condition
    elif i % 11 == 0:
        del p["title"]
    return p


RNG = random.Random(13)
POINTS = {i: _payload(i, RNG) for i in range(120)}
QUERIES = [
    "apple",
    "banana cherry",
    "cherry banana",
    "APPLE, fig!",
    "привет",
    "café",
    "x",
    "y x",
    "",
    " ,. ",
    "grape apple date",
    "kiwi",
    "apple kiwi",
]
MODES = ["text", "text_any", "phrase"]
_NAMES = itertools.count()
KEYS = ["title", "meta.note"]


def _match(mode: str, text: str) -> models.Match:
    if mode == "text":
        return models.MatchText(text=text)
    if mode == "text_any":
        return models.MatchTextAny(text_any=text)
    return models.MatchPhrase(phrase=text)


def _condition(key: str, mode: str, text: str) -> models.FieldCondition:
    return models.FieldCondition(key=key, match=_match(mode, text))


def _ids(client: QdrantClient, name: str, flt: models.Filter) -> list[int]:
    points, _ = client.scroll(name, scroll_filter=flt, limit=1000, with_payload=False)
    return sorted(int(p.id) for p in points)


def _fill(client: QdrantClient, name: str, points: dict[int, dict[str, Any]]) -> None:
    client.create_collection(name, models.VectorParams(size=DIM, distance=models.Distance.DOT))
    client.upsert(
        name,
        [models.PointStruct(id=i, vector=[1.0, i, 0.5], payload=p) for i, p in points.items()],
        wait=True,
    )


@pytest.fixture(scope="module")
def remote(server: ServerProcess) -> Iterator[QdrantClient]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client = QdrantClient(url=server.url, timeout=60)
    yield client
    client.close()


@pytest.fixture(scope="module")
def local() -> Iterator[QdrantClient]:
    client = QdrantClient(":memory:")
    _fill(client, "docs", POINTS)
    yield client
    client.close()


def _filters() -> list[models.Filter]:
    out = [
        models.Filter(must=[_condition(key, mode, text)])
        for key in KEYS
        for mode in MODES
        for text in QUERIES
    ]
    out += [
        models.Filter(must_not=[_condition("title", "text", "apple")]),
        models.Filter(
            should=[
                _condition("title", "phrase", "banana cherry"),
                _condition("meta.note", "text", "fig"),
            ]
        ),
        models.Filter(
            must=[_condition("title", "text_any", "apple fig")],
            must_not=[_condition("meta.note", "phrase", "date elder")],
        ),
        models.Filter(
            min_should=models.MinShould(
                conditions=[
                    _condition("title", "text", "apple"),
                    _condition("title", "text", "cherry"),
                    _condition("meta.note", "text", "grape"),
                ],
                min_count=2,
            )
        ),
    ]
    return out


def _same_as_local(remote: QdrantClient, local: QdrantClient, name: str) -> None:
    for flt in _filters():
        assert _ids(remote, name, flt) == _ids(local, "docs", flt), flt
        assert (
            remote.count(name, count_filter=flt).count
            == local.count("docs", count_filter=flt).count
        )


def test_without_an_index_equals_local_mode(remote: QdrantClient, local: QdrantClient) -> None:
    _fill(remote, "plain", POINTS)
    _same_as_local(remote, local, "plain")
    some = models.Filter(must=[_condition("title", "text", "apple")])
    assert 0 < len(_ids(remote, "plain", some)) < len(POINTS)  # the corpus tells cases apart


@pytest.mark.parametrize(
    "schema",
    [
        models.PayloadSchemaType.TEXT,
        models.TextIndexParams(type=models.TextIndexType.TEXT, phrase_matching=True),
        models.TextIndexParams(
            type=models.TextIndexType.TEXT, tokenizer=models.TokenizerType.WORD, lowercase=True
        ),
    ],
    ids=["bare", "phrase_matching", "word"],
)
def test_a_default_text_index_equals_local_mode(
    remote: QdrantClient, local: QdrantClient, server: ServerProcess, schema: Any
) -> None:
    """The default tokenization is the one local mode applies: the index must change nothing."""
    name = f"indexed_{next(_NAMES)}"
    _fill(remote, name, POINTS)
    for key in KEYS:
        remote.create_payload_index(name, key, field_schema=schema, wait=True)
    with httpx.Client(base_url=server.url) as http:
        info = wait_indexes_ready(http, name)
    assert {k: v["data_type"] for k, v in info["payload_schema"].items()} == {
        "title": "text",
        "meta.note": "text",
    }
    _same_as_local(remote, local, name)


def test_the_index_follows_overwrites_and_deletes(
    remote: QdrantClient, server: ServerProcess
) -> None:
    name = "in_step"
    local = QdrantClient(":memory:")
    points = dict(POINTS)
    for client in (remote, local):
        _fill(client, name, points)
    remote.create_payload_index(
        name, "title", models.TextIndexParams(type="text", phrase_matching=True), wait=True
    )
    rng = random.Random(3)
    changed = {i: _payload(i + 1, rng) for i in range(0, 120, 3)}
    gone = list(range(1, 120, 4))
    for client in (remote, local):
        client.upsert(
            name,
            [models.PointStruct(id=i, vector=[0.0, 1.0, i], payload=p) for i, p in changed.items()],
            wait=True,
        )
        client.delete(name, models.PointIdsList(points=gone), wait=True)  # type: ignore[arg-type]
    for flt in _filters():
        assert _ids(remote, name, flt) == _ids(local, name, flt), flt
    local.close()


# --- index settings: local mode ignores them, so expectations are written out -------------------

DOCS = {
    1: "The cats are running home",
    2: "A cat runs. Home!",
    3: "Hello, wonderful world",
    4: "help the helpers",
    5: "Café crème",
    6: "CAFE au lait",
    7: "of mice and men",
    8: "hello_world 2024",
    9: "今天是星期一",
    10: ["running cats", "home alone"],
}

SETTINGS: list[tuple[str, dict[str, Any], list[tuple[str, str, list[int]]]]] = [
    (
        "stemmer and stopwords",
        {"stemmer": {"type": "snowball", "language": "english"}, "stopwords": "english"},
        [
            ("text", "cat running", [1, 2, 10]),  # stems: cat, run
            ("text", "the", []),  # a stopword: no tokens left, nothing matches
            ("text", "the cats", [1, 2, 10]),
            ("phrase", "cats run", [1, 2]),  # "are" is a stopword: cat and run stand together
            ("phrase", "cat runs home", [1, 2]),  # no positions: still answered, by scanning
            ("phrase", "home cat", []),
            ("text_any", "mice helpers", [4, 7]),
        ],
    ),
    (
        "stemmer, phrase matching",
        {"stemmer": {"type": "snowball", "language": "english"}, "phrase_matching": True},
        [
            ("phrase", "cats run", [2]),  # "cats are running": "are" sits between
            ("phrase", "running cats", [10]),
            ("phrase", "cats home", []),  # not across two strings of an array
            ("phrase", "running home", [1, 2]),
            ("phrase", "running cats home", []),
        ],
    ),
    (
        "prefix",
        {"tokenizer": "prefix", "min_token_len": 2, "max_token_len": 5},
        [
            ("text", "hel", [3, 4, 8]),
            ("text", "wonderfully", [3]),  # cut to "wonde"
            ("text", "h", []),  # under min_token_len: no token
            ("text_any", "he wo", [3, 4, 8]),
        ],
    ),
    (
        "whitespace, case kept",
        {"tokenizer": "whitespace", "lowercase": False},
        [
            ("text", "Hello,", [3]),
            ("text", "hello", []),
            ("text", "hello_world", [8]),
            ("text_any", "CAFE Café", [5, 6]),
        ],
    ),
    (
        "ascii folding, token lengths",
        {"ascii_folding": True, "min_token_len": 3, "max_token_len": 6},
        [
            ("text", "cafe", [5, 6]),
            ("text", "of mice", [7]),  # "of" is too short to be a token
            ("text", "wonderful", []),  # too long to be a token: no tokens left
            ("text", "creme", [5]),
        ],
    ),
    (
        "multilingual",
        {"tokenizer": "multilingual"},
        [
            ("text", "星期", [9]),
            ("phrase", "星期一", [9]),
            ("phrase", "期星", []),
            ("text", "cafe", [5, 6]),  # nonspacing marks dropped
            ("text", "2024", []),  # a token without a letter is dropped
        ],
    ),
]


@pytest.mark.parametrize(
    ("params", "cases"), [(s[1], s[2]) for s in SETTINGS], ids=[s[0] for s in SETTINGS]
)
def test_index_settings_change_what_matches(
    remote: QdrantClient, server: ServerProcess, params: dict[str, Any], cases: list[Any]
) -> None:
    name = f"settings_{next(_NAMES)}"
    _fill(remote, name, {i: {"t": t} for i, t in DOCS.items()})
    schema = {"type": "text", **params}
    with httpx.Client(base_url=server.url) as http:
        r = http.put(
            f"/collections/{name}/index?wait=true", json={"field_name": "t", "field_schema": schema}
        )
        assert r.status_code == 200, r.text
        shown = wait_indexes_ready(http, name)["payload_schema"]["t"]
    assert shown["data_type"] == "text"
    assert shown["params"] == {"tokenizer": "word", **schema}  # as given, the tokenizer named
    parsed = remote.get_collection(name).payload_schema["t"]  # qdrant-client reads it back
    assert parsed.data_type == models.PayloadSchemaType.TEXT
    assert isinstance(parsed.params, models.TextIndexParams)
    assert parsed.params.model_dump(exclude_none=True, mode="json") == shown["params"]
    for mode, text, expected in cases:
        flt = models.Filter(must=[_condition("t", mode, text)])
        assert _ids(remote, name, flt) == expected, (mode, text)
        negated = models.Filter(must_not=[_condition("t", mode, text)])
        assert _ids(remote, name, negated) == sorted(set(DOCS) - set(expected)), (mode, text)


BAD_SCHEMAS: list[tuple[Any, str]] = [
    ({"type": "text", "tokenizer": "klingon"}, "field_schema.tokenizer"),
    ({"type": "text", "min_token_len": -1}, "field_schema.min_token_len"),
    ({"type": "text", "min_token_len": 5, "max_token_len": 2}, "min_token_len is above"),
    ({"type": "text", "lowercase": "yes"}, "field_schema.lowercase"),
    ({"type": "text", "stopwords": "elvish"}, "field_schema.stopwords"),
    ({"type": "text", "stopwords": "kazakh"}, "no kazakh stopword list"),
    ({"type": "text", "stopwords": {"languages": ["english"], "extra": []}}, "stopwords"),
    ({"type": "text", "stopwords": {"custom": "the"}}, "field_schema.stopwords.custom"),
    ({"type": "text", "stemmer": {"type": "snowball", "language": "latin"}}, "stemmer.language"),
    ({"type": "text", "stemmer": {"type": "porter"}}, "field_schema.stemmer"),
    ({"type": "text", "scoring": True}, "BM25 scoring"),
    ({"type": "text", "colour": "red"}, "unknown field"),
]


@pytest.mark.parametrize(("schema", "needle"), BAD_SCHEMAS, ids=[b[1] for b in BAD_SCHEMAS])
def test_bad_text_index_params_are_refused(server: ServerProcess, schema: Any, needle: str) -> None:
    with httpx.Client(base_url=server.url) as http:
        name = "refusals"
        if http.get(f"/collections/{name}/exists").json()["result"]["exists"] is False:
            http.put(f"/collections/{name}", json={"vectors": {"size": DIM, "distance": "Dot"}})
        r = http.put(f"/collections/{name}/index", json={"field_name": "t", "field_schema": schema})
        assert r.status_code == 400, r.text
        assert needle in r.json()["status"]["error"]
        assert http.get(f"/collections/{name}").json()["result"]["payload_schema"] == {}


def test_redefining_the_params_rebuilds_the_index(remote: QdrantClient) -> None:
    name = "redefined"
    _fill(remote, name, {i: {"t": t} for i, t in DOCS.items()})
    flt = models.Filter(must=[_condition("t", "text", "cat running")])
    remote.create_payload_index(name, "t", models.PayloadSchemaType.TEXT, wait=True)
    assert _ids(remote, name, flt) == []  # no stemmer: "cat" and "running" both needed as is
    stemmed = models.TextIndexParams(
        type="text", stemmer=models.SnowballParams(type="snowball", language="english")
    )
    remote.create_payload_index(name, "t", stemmed, wait=True)
    assert _ids(remote, name, flt) == [1, 2, 10]
    remote.delete_payload_index(name, "t", wait=True)
    assert _ids(remote, name, flt) == []  # the default tokenization again


RESTART_CASES = [
    ("t", "phrase", "cats run", [2]),
    ("t", "text", "cat running", [1, 2, 10]),
    ("t", "phrase", "running cats", [10]),
    ("u", "text", "星期", [9]),
]


def _answers(client: QdrantClient, name: str) -> list[list[int]]:
    out = []
    for key, mode, text, _ in RESTART_CASES:
        out.append(_ids(client, name, models.Filter(must=[_condition(key, mode, text)])))
    return out


def test_text_indexes_survive_restarts(tmp_path: Any) -> None:
    """SIGTERM (the index files are written and read back), then kill -9 after more writes (the
    WAL replay brings the index up to date), then a damaged index file (rebuilt)."""
    name = "kept"
    docs: dict[int, Any] = {i: {"t": t, "u": t} for i, t in DOCS.items()}
    stemmed = {
        "type": "text",
        "phrase_matching": True,
        "stemmer": {"type": "snowball", "language": "english"},
    }
    multilingual = {"type": "text", "tokenizer": "multilingual"}
    proc = ServerProcess(tmp_path / "data").start()
    try:
        client = QdrantClient(url=proc.url, timeout=60, check_compatibility=False)
        _fill(client, name, docs)
        with httpx.Client(base_url=proc.url) as http:
            for key, schema in (("t", stemmed), ("u", multilingual)):
                body = {"field_name": key, "field_schema": schema}
                assert (
                    http.put(f"/collections/{name}/index?wait=true", json=body).status_code == 200
                )
            before = wait_indexes_ready(http, name)["payload_schema"]
        expected = [case[3] for case in RESTART_CASES]
        assert _answers(client, name) == expected
        client.close()
        assert proc.stop() == 0
        payload_dir = next((tmp_path / "data").glob("collections/*/payload"))
        assert len(list(payload_dir.glob("*.npz"))) == 2  # both written at the last checkpoint

        proc.start()
        proc.wait_ready()
        client = QdrantClient(url=proc.url, timeout=60, check_compatibility=False)
        with httpx.Client(base_url=proc.url) as http:
            info = http.get(f"/collections/{name}").json()["result"]
        assert info["payload_schema"] == before
        assert all(
            i["ready"] for i in info["zoro"]["payload_indexes"].values()
        )  # loaded, not rebuilt
        assert _answers(client, name) == expected

        client.upsert(
            name,
            [
                models.PointStruct(
                    id=11, vector=[1.0, 1.0, 1.0], payload={"t": "a cat runs", "u": "一"}
                )
            ],
            wait=True,
        )
        client.delete(name, models.PointIdsList(points=[2]), wait=True)
        client.close()
        proc.kill()
        expected = [[11], [1, 10, 11], [10], [9]]

        proc.start()
        proc.wait_ready()
        client = QdrantClient(url=proc.url, timeout=60, check_compatibility=False)
        assert _answers(client, name) == expected
        client.close()
        assert proc.stop() == 0

        for path in payload_dir.glob("*.npz"):
            path.write_bytes(path.read_bytes()[:40])  # damaged: rebuilt from the payloads
        proc.start()
        proc.wait_ready()
        client = QdrantClient(url=proc.url, timeout=60, check_compatibility=False)
        with httpx.Client(base_url=proc.url) as http:
            assert wait_indexes_ready(http, name)["payload_schema"].keys() == before.keys()
        assert _answers(client, name) == expected
        client.close()
    finally:
        proc.stop()
