"""The binary upsert body (application/vnd.zoro.points, docs/binary-points.md) against a real
server: the points it writes are the points the same JSON writes (ids, vectors bit for bit,
payloads), named vectors included; every malformed body is a 400 that writes nothing.

The bodies are written here from the document, not with the client's encoder, so that the
format is checked against its description."""

from __future__ import annotations

import itertools
import struct
import uuid
from typing import Any

import httpx
import numpy as np
import orjson
import pytest

MEDIA = "application/vnd.zoro.points"
BINARY = {"content-type": MEDIA}
FRAME = struct.Struct("<4sHHIQ")
_names = itertools.count()


def frame(
    header: object,
    matrices: list[np.ndarray[Any, Any]],
    *,
    magic: bytes = b"ZPTS",
    version: int = 1,
    flags: int = 0,
    json_length: int | None = None,
    data_length: int | None = None,
) -> bytes:
    """A body as docs/binary-points.md lays it out; any field can be given wrong."""
    text = orjson.dumps(header)
    data = b"".join(np.asarray(m, dtype="<f4").tobytes() for m in matrices)
    head = FRAME.pack(
        magic,
        version,
        flags,
        len(text) if json_length is None else json_length,
        len(data) if data_length is None else data_length,
    )
    return head + text + data


def layout(**dims: int) -> list[dict[str, Any]]:
    return [{"name": "" if name == "unnamed" else name, "dim": dim} for name, dim in dims.items()]


def create(http: httpx.Client, config: dict[str, Any]) -> str:
    name = f"bin{next(_names)}"
    r = http.put(f"/collections/{name}", json=config)
    assert r.status_code == 200, r.text
    return name


def put(http: httpx.Client, name: str, body: bytes, query: str = "?wait=true") -> httpx.Response:
    return http.put(f"/collections/{name}/points{query}", content=body, headers=BINARY)


def points(http: httpx.Client, name: str) -> list[dict[str, Any]]:
    r = http.post(
        f"/collections/{name}/points/scroll",
        json={"limit": 10_000, "with_vector": True, "with_payload": True},
    )
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["result"]["points"]
    return found


def as_float32(vector: object) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def same_points(one: list[dict[str, Any]], other: list[dict[str, Any]]) -> None:
    """Same ids and payloads, and every vector equal bit for bit as float32."""
    assert [p["id"] for p in one] == [p["id"] for p in other]
    assert [p["payload"] for p in one] == [p["payload"] for p in other]
    for a, b in zip(one, other, strict=True):
        if isinstance(a["vector"], dict):
            assert sorted(a["vector"]) == sorted(b["vector"])
            for key in a["vector"]:
                assert as_float32(a["vector"][key]) == as_float32(b["vector"][key]), a["id"]
        else:
            assert as_float32(a["vector"]) == as_float32(b["vector"]), a["id"]


def ids_and_payloads(n: int, rng: np.random.Generator) -> tuple[list[Any], list[Any]]:
    ids: list[Any] = [
        str(uuid.UUID(int=int(rng.integers(1, 2**62)))) if i % 7 == 0 else i for i in range(n)
    ]
    payloads: list[Any] = [None if i % 5 == 0 else {"i": i, "tag": f"t{i % 3}"} for i in range(n)]
    return ids, payloads


@pytest.mark.parametrize("distance", ["Euclid", "Cosine"])
def test_a_binary_upsert_stores_what_the_same_json_stores(
    http: httpx.Client, distance: str
) -> None:
    rng = np.random.default_rng(7)
    n, dim = 600, 16
    rows = rng.normal(size=(n, dim)).astype(np.float32)
    rows[3] = 0.0  # a zero vector: left as it is, even for Cosine
    ids, payloads = ids_and_payloads(n, rng)
    config = {"vectors": {"size": dim, "distance": distance}}
    as_json, as_binary = create(http, config), create(http, config)
    body = {"batch": {"ids": ids, "vectors": rows, "payloads": payloads}}
    r = http.put(
        f"/collections/{as_json}/points?wait=true",
        content=orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 200, r.text
    header = {"ids": ids, "payloads": payloads, "vectors": layout(unnamed=dim)}
    r = put(http, as_binary, frame(header, [rows]))
    assert r.status_code == 200, r.text
    assert r.json()["result"]["status"] == "completed"
    stored = points(http, as_binary)
    assert len(stored) == n
    same_points(stored, points(http, as_json))
    if distance == "Euclid":  # stored as sent, bit for bit
        by_id = {p["id"]: p["vector"] for p in stored}
        assert as_float32([by_id[i] for i in ids]) == rows.tobytes()


def test_named_vectors_in_a_binary_body(http: httpx.Client) -> None:
    config = {
        "vectors": {
            "image": {"size": 5, "distance": "Cosine"},
            "text": {"size": 3, "distance": "Euclid"},
        },
        "sparse_vectors": {"words": {}},
    }
    rng = np.random.default_rng(3)
    n = 50
    image = rng.normal(size=(n, 5)).astype(np.float32)
    text = rng.normal(size=(n, 3)).astype(np.float32)
    ids, payloads = ids_and_payloads(n, rng)
    as_json, as_binary = create(http, config), create(http, config)
    body = {"batch": {"ids": ids, "vectors": {"text": text, "image": image}, "payloads": payloads}}
    r = http.put(
        f"/collections/{as_json}/points?wait=true",
        content=orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 200, r.text
    # the matrices in another order than the collection declares them
    header = {"ids": ids, "payloads": payloads, "vectors": layout(text=3, image=5)}
    r = put(http, as_binary, frame(header, [text, image]))
    assert r.status_code == 200, r.text
    same_points(points(http, as_binary), points(http, as_json))

    # one vector of two: the points carry just that one, as the batch form's one column does
    only = {"ids": [1000, 1001], "vectors": layout(text=3)}
    assert put(http, as_binary, frame(only, [text[:2]])).status_code == 200
    body = {"batch": {"ids": [1000, 1001], "vectors": {"text": text[:2]}}}
    r = http.put(
        f"/collections/{as_json}/points?wait=true",
        content=orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 200, r.text
    stored = points(http, as_binary)
    assert [sorted(p["vector"]) for p in stored if p["id"] in (1000, 1001)] == [["text"]] * 2
    same_points(stored, points(http, as_json))


def test_points_without_vectors_and_repeated_ids_go_as_json_goes(http: httpx.Client) -> None:
    config = {"vectors": {"size": 2, "distance": "Dot"}}
    as_json, as_binary = create(http, config), create(http, config)
    rows = np.array([[1, 2], [3, 4], [5, 6]], dtype=np.float32)
    # a repeated id: the last one wins
    r = http.put(
        f"/collections/{as_json}/points?wait=true",
        json={"batch": {"ids": [7, 8, 7], "vectors": rows.tolist()}},
    )
    assert r.status_code == 200, r.text
    r = put(http, as_binary, frame({"ids": [7, 8, 7], "vectors": layout(unnamed=2)}, [rows]))
    assert r.status_code == 200, r.text
    stored = points(http, as_binary)
    assert [(p["id"], p["vector"]) for p in stored] == [(7, [5.0, 6.0]), (8, [3.0, 4.0])]
    same_points(stored, points(http, as_json))
    # no vectors at all: whatever JSON answers, the binary body answers the same
    by_json = http.put(
        f"/collections/{as_json}/points?wait=true",
        json={"batch": {"ids": [9], "vectors": {}}},
    )
    by_binary = put(http, as_binary, frame({"ids": [9], "vectors": []}, []))
    assert by_binary.status_code == by_json.status_code, (by_binary.text, by_json.text)
    assert by_binary.json()["status"] == by_json.json()["status"]
    same_points(points(http, as_binary), points(http, as_json))


def test_wait_ordering_and_a_conditional_upsert(http: httpx.Client) -> None:
    name = create(http, {"vectors": {"size": 2, "distance": "Euclid"}})
    first = frame({"ids": [1], "payloads": [{"v": 1}], "vectors": layout(unnamed=2)}, [[[1, 1]]])
    r = put(http, name, first, "?wait=false&ordering=strong")
    assert r.status_code == 200, r.text
    assert r.json()["result"]["status"] == "acknowledged"
    again = {"ids": [1, 2], "payloads": [{"v": 2}, {"v": 2}], "vectors": layout(unnamed=2)}
    insert_only = {**again, "update_mode": "insert_only"}
    r = put(http, name, frame(insert_only, [[[2, 2], [2, 2]]]), "?wait=true&ordering=weak")
    assert r.status_code == 200, r.text
    assert r.json()["result"]["status"] == "completed"
    got = {p["id"]: (p["payload"], p["vector"]) for p in points(http, name)}
    assert got == {1: ({"v": 1}, [1.0, 1.0]), 2: ({"v": 2}, [2.0, 2.0])}


def test_a_content_type_with_parameters_and_any_case(http: httpx.Client) -> None:
    name = create(http, {"vectors": {"size": 2, "distance": "Euclid"}})
    body = frame({"ids": [1], "vectors": layout(unnamed=2)}, [[[1, 2]]])
    r = http.put(
        f"/collections/{name}/points",
        content=body,
        headers={"content-type": "Application/Vnd.Zoro.Points; version=1"},
    )
    assert r.status_code == 200, r.text
    assert len(points(http, name)) == 1


# ------------------------------------------------------------------------------ refusals

V2 = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]], dtype=np.float32)
GOOD = {"ids": [100, 101], "vectors": layout(unnamed=4)}


def _bad(header: object = GOOD, rows: Any = V2, **frame_fields: Any) -> bytes:
    return frame(header, [rows] if rows is not None else [], **frame_fields)


def _with(**fields: Any) -> dict[str, Any]:
    return {**GOOD, **fields}


_NAN = V2.copy()
_NAN[1, 2] = np.nan
_INF = V2.copy()
_INF[0, 0] = -np.inf
_GOOD_BODY = _bad()
_TEXT = orjson.dumps(GOOD)

REFUSED: list[tuple[str, bytes, str]] = [
    ("empty", b"", "shorter than the 20-byte frame"),
    ("short", b"ZPTS\x01\x00", "shorter than the 20-byte frame"),
    ("json-sent-as-binary", b'{"batch": {"ids": [1], "vectors": [[1, 2, 3, 4]]}}', "magic"),
    ("magic", _bad(magic=b"ZPTX"), "does not start with b'ZPTS'"),
    ("version-0", _bad(version=0), "version 0 is not one"),
    ("version-2", _bad(version=2), "version 2 is not one"),
    ("flags", _bad(flags=1), "flags 0x0001"),
    ("truncated", _GOOD_BODY[:-1], "but 80 bytes follow"),
    ("one-byte-more", _GOOD_BODY + b"\0", "but 82 bytes follow"),
    ("huge-header-length", _bad(json_length=2**32 - 1), "4294967295-byte header"),
    ("huge-vectors-length", _bad(data_length=2**64 - 1), "18446744073709551615 bytes of vectors"),
    ("header-not-json", FRAME.pack(b"ZPTS", 1, 0, 3, 0) + b"{no", "header: invalid JSON"),
    ("header-a-list", _bad([1, 2], None), "header"),
    ("header-unknown-field", _bad(_with(points=[])), "points"),
    ("header-without-ids", _bad({"vectors": layout(unnamed=4)}), "ids"),
    ("header-without-vectors", _bad({"ids": [100, 101]}), "vectors"),
    ("dim-zero", _bad(_with(vectors=layout(unnamed=0))), "dim"),
    ("dim-fraction", _bad(_with(vectors=[{"name": "", "dim": 4.0}])), "whole-integers"),
    ("name-twice", _bad(_with(vectors=layout(unnamed=4) * 2), np.vstack([V2, V2])), "twice"),
    ("vectors-short", _bad(rows=V2[:1]), "need 32"),
    ("vectors-for-another-dim", _bad(rows=V2[:, :3]), "need 32"),
    ("unknown-name", _bad(_with(vectors=layout(nope=4))), "vector-names"),
    ("dimension", _bad(_with(vectors=layout(unnamed=3)), V2[:, :3]), "vector-size"),
    ("nan", _bad(rows=_NAN), "vector-values"),
    ("infinity", _bad(rows=_INF), "vector-values"),
    ("bad-uuid", _bad(_with(ids=[100, "not-a-uuid"])), "point-id-uuid"),
    ("negative-id", _bad(_with(ids=[100, -1])), "ids"),
    ("payloads-count", _bad(_with(payloads=[{}])), "batch-lengths"),
    ("payload-not-object", _bad(_with(payloads=[{}, 3])), "payloads"),
    ("update-mode", _bad(_with(update_mode="sometimes")), "update_mode"),
]


@pytest.mark.parametrize(("body", "says"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_a_malformed_binary_body_is_a_400_that_writes_nothing(
    http: httpx.Client, body: bytes, says: str
) -> None:
    name = create(http, {"vectors": {"size": 4, "distance": "Euclid"}})
    assert put(http, name, _GOOD_BODY).status_code == 200
    before = points(http, name)
    r = put(http, name, body)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/json")
    error = r.json()["status"]["error"]
    assert says in error, error
    assert points(http, name) == before


def test_names_that_are_not_dense_vectors_are_refused_by_name(http: httpx.Client) -> None:
    name = create(
        http,
        {
            "vectors": {
                "colbert": {
                    "size": 2,
                    "distance": "Dot",
                    "multivector_config": {"comparator": "max_sim"},
                }
            },
            "sparse_vectors": {"words": {}},
        },
    )
    for vector, form in (("colbert", "a multivector"), ("words", "a sparse vector")):
        body = frame({"ids": [1], "vectors": [{"name": vector, "dim": 2}]}, [[[1, 2]]])
        r = put(http, name, body)
        assert r.status_code == 400, r.text
        error = r.json()["status"]["error"]
        assert f"{vector!r} is {form}: send it as JSON" in error
        assert error.endswith("[rule: vector-names]")
    assert points(http, name) == []


def test_a_missing_collection_is_a_404(http: httpx.Client) -> None:
    r = put(http, "no_such_collection", _GOOD_BODY)
    assert r.status_code == 404, r.text


def test_the_version_document_offers_the_body(http: httpx.Client) -> None:
    offered = http.get("/").json()["zoro_points_body"]
    assert offered == {"media_type": MEDIA, "versions": [1]}
    put_op = http.get("/openapi.json").json()["paths"]["/collections/{name}/points"]["put"]
    extension = put_op["x-zoro-binary-body"]
    assert (extension["mediaType"], extension["version"]) == (MEDIA, 1)
    assert extension["header"]["required"] == ["ids", "vectors"]
