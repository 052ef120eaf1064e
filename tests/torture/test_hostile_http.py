"""More hostile requests against a real server, beyond tests/http/test_bad_input.py: each gets a
4xx JSON error (or, where noted, a sane 200), writes nothing, and the server keeps serving.
Binary upsert bodies (random, truncated, declaring huge lengths) are among them."""

from __future__ import annotations

import random
import socket
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import orjson
import pytest

from zoro.http.openapi import OPTIONAL_BODY
from zoro.http.routes import ROUTES, Route
from zoro.testing import ServerProcess

NAME = "victim"
N_POINTS = 5
C = f"/collections/{NAME}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root: Path = tmp_path_factory.mktemp("hostile")
    with ServerProcess(root / "data") as proc:
        with httpx.Client(base_url=proc.url, timeout=30) as http:
            r = http.put(C, json={"vectors": {"size": 4, "distance": "Euclid"}})
            assert r.status_code == 200, r.text
            r = http.put(
                C + "/points?wait=true",
                json={
                    "points": [
                        {"id": i, "vector": [float(i), 1, 2, 3], "payload": {"i": i}}
                        for i in range(N_POINTS)
                    ]
                },
            )
            assert r.status_code == 200, r.text
        yield proc


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


@pytest.fixture
def http(client: httpx.Client) -> Iterator[httpx.Client]:
    before = _state(client)
    yield client
    # nothing written, and the server still serves
    assert client.get("/healthz").status_code == 200
    assert _state(client) == before


def _state(http: httpx.Client) -> tuple[object, ...]:
    names = sorted(c["name"] for c in http.get("/collections").json()["result"]["collections"])
    r = http.post(
        C + "/points/scroll", json={"limit": 100, "with_vector": True, "with_payload": True}
    )
    assert r.status_code == 200, r.text
    return names, r.json()["result"]["points"]


def _assert_4xx_json(r: httpx.Response) -> None:
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("application/json"), r.headers
    assert r.json()["status"]["error"], r.text


# ------------------------------------------------------------ invalid UTF-8 in a path segment

BAD_NAMES = ["%FF", "%C3%28", "a%80b", "%ED%A0%80", "%F8%88%80%80%80", "%C0%AF"]


@pytest.mark.parametrize("name", BAD_NAMES)
@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("PUT", "", {"vectors": {"size": 4, "distance": "Dot"}}),
        ("DELETE", "", None),
        ("GET", "/exists", None),
        ("PUT", "/points?wait=true", {"points": [{"id": 1, "vector": [1, 2, 3, 4]}]}),
        ("POST", "/points/query", {"query": [1, 2, 3, 4]}),
        ("GET", "/points/1", None),
    ],
)
def test_invalid_utf8_in_the_collection_name(
    http: httpx.Client, name: str, method: str, suffix: str, body: object
) -> None:
    r = http.request(method, f"/collections/{name}{suffix}", json=body)
    if r.status_code == 200 and (method, suffix) in (("DELETE", ""), ("GET", "/exists")):
        # Qdrant's answer for a collection that is not there: "deleted nothing" / "no"
        assert r.json()["result"] in (False, {"exists": False}), r.text
        return
    _assert_4xx_json(r)


@pytest.mark.parametrize("raw", [b"\xff", b"a\x80b", b"\xc3\x28"])
def test_raw_invalid_utf8_bytes_in_the_request_line(
    server: ServerProcess, http: httpx.Client, raw: bytes
) -> None:
    """Bytes no client would send unescaped: the HTTP layer may refuse them itself (4xx)."""
    request = (
        b"GET /collections/" + raw + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        reply = b""
        while len(reply) < 1_000_000:
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    status = int(reply.split(b" ", 2)[1])
    assert 400 <= status < 500, reply[:500]


# ------------------------------------------------- a body that is not an object, on every route

WRITE_ROUTES = [r for r in ROUTES if r.method in ("POST", "PUT")]
# routes that take no body read none, whatever is sent (Qdrant's do the same)
TAKES_NO_BODY = frozenset({"create_snapshot", "compact_collection", "create_full_snapshot"})
NON_OBJECTS = [
    b"42",
    b"-1e400",
    b'"points"',
    b"[]",
    b'[{"id":1,"vector":[1,2,3,4]}]',
    b"null",
    b"true",
]


@pytest.mark.parametrize("body", NON_OBJECTS, ids=[b.decode() for b in NON_OBJECTS])
@pytest.mark.parametrize("route", WRITE_ROUTES, ids=[r.name for r in WRITE_ROUTES])
def test_a_body_that_is_not_an_object(http: httpx.Client, route: Route, body: bytes) -> None:
    path = route.path.format(
        name=NAME if route.name != "create_collection" else "fresh", vector="v"
    )
    r = http.request(
        route.method,
        path + "?wait=true",
        content=body,
        headers={"content-type": "application/json"},
    )
    if route.name in TAKES_NO_BODY:
        assert r.status_code == 200, r.text
        return
    if body == b"null" and route.name in OPTIONAL_BODY:
        # `null` reads as "no body": these routes take an empty request (Qdrant's do too)
        assert r.status_code == 200, r.text
        return
    _assert_4xx_json(r)


# ------------------------------------------------------------------------ ids out of range

OUT_OF_RANGE = [
    2**64,
    2**64 + 1,
    10**30,
    -1,
    -(2**63) - 1,
    1.5,
    1e300,
    "00000000-0000",
    "ffffffff-ffff-ffff-ffff-fffffffffffffff",
    True,
    None,
    [],
    {},
]


@pytest.mark.parametrize("bad", OUT_OF_RANGE, ids=[repr(b)[:20] for b in OUT_OF_RANGE])
@pytest.mark.parametrize(
    ("path", "make"),
    [
        ("/points", lambda v: {"ids": [0, v]}),
        ("/points/delete?wait=true", lambda v: {"points": [0, v]}),
        ("/points/scroll", lambda v: {"offset": v, "limit": 2}),
        ("/points/query", lambda v: {"query": v}),
    ],
)
def test_ids_out_of_range(
    http: httpx.Client, bad: object, path: str, make: Callable[[object], object]
) -> None:
    body = make(bad)
    if bad is None and path == "/points/scroll":
        pytest.skip("offset null means from the start")
    if path == "/points/query" and (bad is None or bad == [] or bad == {}):
        pytest.skip("not an id for query: covered by its own validation")
    r = http.post(C + path, json=body)
    _assert_4xx_json(r)


@pytest.mark.parametrize(
    "raw_id",
    [
        "18446744073709551616",
        "-1",
        "1.5",
        "1e3",
        "%FF",
        "0x10",
        "99999999999999999999999999999999",
        # found by the schemathesis torture run: "²".isdigit() is True but int("²") raises
        "%C2%B2",
        "1%C2%B9",
        "%D9%A1",
    ],
)
def test_get_point_with_a_bad_id(http: httpx.Client, raw_id: str) -> None:
    r = http.get(f"{C}/points/{raw_id}")
    _assert_4xx_json(r)


# ------------------------------------------------------------- big garbage and huge limits

GARBAGE = [{"a": 1}, "x" * 40, [1], None, -5, 2**70, 3.25, "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"]


@pytest.mark.parametrize("path", ["/points", "/points/delete?wait=true"])
def test_ten_thousand_garbage_ids(http: httpx.Client, path: str) -> None:
    ids = [GARBAGE[i % len(GARBAGE)] for i in range(10_000)]
    key = "ids" if path == "/points" else "points"
    r = http.post(C + path, json={key: ids})
    _assert_4xx_json(r)
    # mostly good ids with one bad one at the end: still nothing deleted
    r = http.post(C + path, json={key: [*range(9_999), "nope"]})
    _assert_4xx_json(r)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/points/scroll", {"limit": 10**9}),
        ("/points/scroll", {"limit": 2**63}),
        ("/points/query", {"query": [1, 2, 3, 4], "limit": 10**9}),
        ("/points/query", {"query": [1, 2, 3, 4], "limit": 10, "offset": 10**9}),
        ("/points/query", {"query": [1, 2, 3, 4], "limit": 2**64}),
        ("/points/search", {"vector": [1, 2, 3, 4], "limit": 10**9}),
        ("/points/query/batch", {"searches": [{"query": [1, 2, 3, 4], "limit": 10**9}] * 50}),
        ("/points/search/batch", {"searches": [{"vector": [1, 2, 3, 4], "limit": 10**9}] * 50}),
    ],
)
def test_huge_limits(http: httpx.Client, path: str, body: object) -> None:
    """A clear 4xx, or a 200 that returns at most what is there: never a 5xx, an allocation of
    a billion slots or a hang."""
    r = http.post(C + path, json=body, timeout=20)
    if r.status_code == 200:
        result = r.json()["result"]
        results = result if isinstance(result, list) else [result]
        for one in results:
            found = one.get("points", one) if isinstance(one, dict) else one
            assert len(found) <= N_POINTS, r.text[:300]
    else:
        _assert_4xx_json(r)


# ------------------------------------------------------------------- deep with_payload


def _nested(depth: int) -> bytes:
    return b'{"include":' + b"[" * depth + b"]" * depth + b"}"


DEEP = [
    pytest.param(b"[" * 900 + b"]" * 900, id="list-900"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, id="list-100000"),
    pytest.param(b'{"a":' * 900 + b"1" + b"}" * 900, id="object-900"),
    pytest.param(b'{"a":' * 100_000 + b"1" + b"}" * 100_000, id="object-100000"),
    pytest.param(b'{"exclude":' + b'{"a":' * 900 + b"1" + b"}" * 901, id="exclude-object-900"),
    pytest.param(b'{"include":' + b"[" * 100_000 + b"]" * 100_000 + b"}", id="include-100000"),
    pytest.param(b'{"include":[[]]}', id="include-[[]]"),
    pytest.param(b'{"exclude":[{}]}', id="exclude-[{}]"),
    pytest.param(b'{"include":' + b"[" * 900 + b"]" * 900 + b"}", id="include-900"),
]


@pytest.mark.parametrize("inner", DEEP)
@pytest.mark.parametrize(
    ("path", "prefix"),
    [
        ("/points", b'{"ids":[1],"with_payload":'),
        ("/points/scroll", b'{"limit":2,"with_payload":'),
        ("/points/query", b'{"query":[1,2,3,4],"with_payload":'),
        ("/points/search", b'{"vector":[1,2,3,4],"limit":2,"with_payload":'),
    ],
    ids=["retrieve", "scroll", "query", "search"],
)
def test_deeply_nested_with_payload(
    http: httpx.Client, path: str, prefix: bytes, inner: bytes
) -> None:
    r = http.post(
        C + path, content=prefix + inner + b"}", headers={"content-type": "application/json"}
    )
    _assert_4xx_json(r)


# ------------------------------------------- binary upsert bodies (docs/binary-points.md)

BINARY = {"content-type": "application/vnd.zoro.points"}
FRAME = struct.Struct("<4sHHIQ")


def _binary_body(ids: list[int], dim: int = 4) -> bytes:
    """A sound body for the victim collection (its 4-d unnamed vector)."""
    text = orjson.dumps({"ids": ids, "vectors": [{"name": "", "dim": dim}]})
    data = np.arange(len(ids) * dim, dtype="<f4").tobytes()
    return FRAME.pack(b"ZPTS", 1, 0, len(text), len(data)) + text + data


def _put_binary(http: httpx.Client, body: bytes) -> httpx.Response:
    return http.put(C + "/points?wait=true", content=body, headers=BINARY, timeout=10)


def test_random_bytes_as_a_binary_body(http: httpx.Client) -> None:
    rng = random.Random(15)
    frame = FRAME.pack(b"ZPTS", 1, 0, 0, 0)
    for i in range(60):
        noise = rng.randbytes(rng.randrange(0, 400))
        # half of them past the magic and version, so the lengths and the header are reached
        body = noise if i % 2 else frame[:8] + noise
        _assert_4xx_json(_put_binary(http, body))


def test_every_truncation_of_a_binary_body(http: httpx.Client) -> None:
    body = _binary_body([100, 101])
    for end in range(len(body)):
        _assert_4xx_json(_put_binary(http, body[:end]))


@pytest.mark.parametrize(
    ("json_length", "data_length"),
    [(2**32 - 1, 0), (0, 2**64 - 1), (2**32 - 1, 2**64 - 1 - (2**32 - 1)), (10**9, 10**12)],
)
def test_huge_declared_lengths_are_not_believed(
    http: httpx.Client, json_length: int, data_length: int
) -> None:
    """Answered at once from the bytes received: nothing is allocated for what is declared."""
    body = FRAME.pack(b"ZPTS", 1, 0, json_length, data_length) + b'{"ids": []}'
    r = _put_binary(http, body)
    _assert_4xx_json(r)
    assert "bytes follow it" in r.json()["status"]["error"]


def test_a_header_that_declares_huge_vectors(http: httpx.Client) -> None:
    """A layout needing far more bytes than were sent: refused by the count, not read."""
    text = orjson.dumps({"ids": list(range(1000)), "vectors": [{"name": "", "dim": 65_536}]})
    r = _put_binary(http, FRAME.pack(b"ZPTS", 1, 0, len(text), 16) + text + bytes(16))
    _assert_4xx_json(r)
    assert "need 262144000" in r.json()["status"]["error"]


@pytest.mark.parametrize("route", WRITE_ROUTES, ids=[r.name for r in WRITE_ROUTES])
def test_a_binary_body_on_every_write_route(http: httpx.Client, route: Route) -> None:
    """Only the upsert reads the binary body; every other route reads JSON and refuses it."""
    if route.name == "upsert_points":
        pytest.skip("the one route that reads it (a sound body would write)")
    path = route.path.format(
        name=NAME if route.name != "create_collection" else "fresh", vector="v"
    )
    r = http.request(route.method, path + "?wait=true", content=_binary_body([100]), headers=BINARY)
    if route.name in TAKES_NO_BODY:
        assert r.status_code == 200, r.text
        return
    _assert_4xx_json(r)
