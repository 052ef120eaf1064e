"""One schema for the wire (issue 13): what a declarative request description would cost on the
hot routes, each candidate as a ratio to today's validation in the same run.

    .venv/bin/python -m bench.wire_schema [--quick] [--rounds R] [--json PATH]

Bodies (bytes, as the HTTP layer receives them), for a Cosine collection of one unnamed 128-d
vector:

- query: POST /points/query with a 128-d `query`, a one-condition `filter`, `with_payload`;
- upsert: PUT /points with 1,000 points of 128-d vectors and small payloads;
- batch: POST /points/query/batch with 100 such queries.

Paths, each from the body's bytes to what the actor is handed (float32 matrices, normalised for
Cosine; payloads as JSON bytes; point keys; the parsed filter; limit/offset/threshold/params):

- today: orjson.loads (zoro.http.codec.parse) + the real service functions
  (search.query_plan / points.upsert up to actor.write, search.batch_searches), no HTTP, no actor;
- msgspec: Structs with Meta constraints decoded straight from the bytes (`msgspec.json.Decoder`);
  a payload decodes as `msgspec.Raw`, the body's own bytes, so it is never encoded again;
- pydantic: v2 models, `TypeAdapter.validate_json` on the bytes;
- jsonschema: orjson.loads + a `jsonschema_rs` validator (Draft 2020-12), then the conversion
  with no further checks.

The filter is the same on every path: each candidate checks its shape as far as its library
allows and hands it to today's zoro.services.filters.parse, which turns it into the engine's
Filter (the conversion any design keeps). Every candidate's output is checked equal to today's
before timing. In each round the paths take turns call by call; a path's time is
its median call, its ratio is today's time over its own in the same round (QPS relative to
today's; >= 0.95x is the issue's goal for the hot routes), and the figure is the median ratio
over the rounds, with the lowest and highest.

Then error messages: the same bad bodies through each path, the messages recorded as they come
(the design needs "field: rule" 400s), and whether each library's schema export gives an
OpenAPI document the constraints.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import uuid
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import jsonschema_rs
import msgspec
import numpy as np
import orjson
import pydantic

from bench.scratch import write_json
from zoro.errors import BadRequest
from zoro.http import codec
from zoro.services import filters, points, search, shapes, validate
from zoro.settings import LimitSettings, Settings
from zoro.types import U64_MAX, Distance, UpsertBatch, VectorConfig, keys_of
from zoro.wire.messages import message

if TYPE_CHECKING:
    from collections.abc import Callable

    from zoro.payload.conditions import Filter

DIM = 128
LIMITS = LimitSettings()
MAX_LIMIT = LIMITS.max_limit
CONFIG = VectorConfig.single(DIM, Distance.COSINE)


# ---------------------------------------------------------------- today's services, no actor


class _Actor:
    """What the services read of an actor before its message: the vector config; `write`
    answers at once (an LSN) so the coroutine ends without an event loop."""

    vectors = CONFIG
    last: Any = None

    async def write(self, op: Any) -> int:
        self.last = op
        return 1


class _Manager:
    def __init__(self, actor: _Actor) -> None:
        self.actor = actor

    def serving(self, name: str) -> _Actor:
        return self.actor


@dataclass(frozen=True)
class _Ctx:
    manager: _Manager
    limits: LimitSettings


ACTOR = _Actor()
CTX: Any = _Ctx(_Manager(ACTOR), Settings().limits)


def _drive(coro: Any) -> Any:
    """Run a coroutine that never suspends (the stub actor's write does not)."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    raise AssertionError("the service suspended")


@dataclass(frozen=True, slots=True)
class QueryOut:
    """What the actor is handed for one query (the fields of search.Plan the bench compares)."""

    vector: Any
    limit: int
    offset: int
    score_threshold: float | None
    selector: shapes.PayloadSelector
    with_vector: list[str]
    ef: int | None
    exact: bool
    filter: Filter | None


def _from_plan(plan: search.Plan) -> QueryOut:
    return QueryOut(
        plan.query,
        plan.limit,
        plan.offset,
        plan.score_threshold,
        plan.selector,
        plan.with_vector,
        plan.ef,
        plan.exact,
        plan.filter,
    )


def today_query(body: bytes) -> QueryOut:
    return _from_plan(search.query_plan(ACTOR, codec.parse(body), CTX))  # type: ignore[arg-type]


def today_batch(body: bytes) -> list[QueryOut]:
    searches = search.batch_searches(codec.parse(body), CTX)
    return [
        _from_plan(search.query_plan(ACTOR, s, CTX, f"searches[{i}]"))  # type: ignore[arg-type]
        for i, s in enumerate(searches)
    ]


def today_upsert(body: bytes) -> UpsertBatch:
    _drive(points.upsert(CTX, "c", codec.parse(body), wait=True))
    op: UpsertBatch = ACTOR.last
    return op


# ---------------------------------------------------------------- shared conversion


def _normalised(rows: Any, field: str) -> Any:
    """float32 C-contiguous rows, finite, normalised for Cosine (what validate._checked does)."""
    # through float64 first, as validate.vectors does: numpy reads Python floats faster so
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(np.asarray(rows), dtype=np.float32)
    if out.ndim != 2 or out.shape[1] != DIM:
        raise BadRequest(f"{field}: expected dimension {DIM}")
    if not np.isfinite(out).all():
        raise BadRequest(f"{field}: holds NaN or infinity (or a number too large)")
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out


def _selector(value: object) -> shapes.PayloadSelector:
    return shapes.payload_selector(value, "with_payload", default=False)


def _with_vector(value: object) -> list[str]:
    if value is None or value is False:
        return []
    if value is True:
        return [*CONFIG.dense, *CONFIG.sparse]
    return list(dict.fromkeys(value))  # type: ignore[call-overload]


def _filter(raw: object) -> Filter | None:
    return filters.parse(raw, "filter")


# ---------------------------------------------------------------- (a) msgspec

Limit = Annotated[int, msgspec.Meta(ge=0, le=MAX_LIMIT)]
# msgspec refuses bounds beyond int64 (`le=2**64-1`); it decodes integers up to 2**64-1 and no
# further, so `ge=0` alone gives the unsigned 64-bit range
U64 = Annotated[int, msgspec.Meta(ge=0)]
Ef = Annotated[int, msgspec.Meta(ge=1, le=100_000)]


class MsParams(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    hnsw_ef: Ef | None = None
    exact: bool | None = None
    quantization: Any = None
    indexed_only: bool | None = None
    acorn: Any = None


class MsQuery(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    # an untagged union of two object shapes ({"nearest"}, {"fusion"}) is not one msgspec takes:
    # `query` decodes as the vector it is on this route, or any JSON for a dispatch by hand
    query: list[float] | U64 | uuid.UUID | dict[str, Any]
    prefetch: Any = None
    using: str | None = None
    filter: dict[str, Any] | None = None
    params: MsParams | None = None
    score_threshold: float | None = None
    limit: Limit = 10
    offset: Limit | None = None
    with_vector: bool | list[str] | None = None
    with_payload: bool | list[str] | dict[str, Any] | None = None
    lookup_from: Any = None
    shard_key: Any = None


class MsBatch(msgspec.Struct, forbid_unknown_fields=True):
    searches: Annotated[list[MsQuery], msgspec.Meta(max_length=LIMITS.max_batch_searches)]


class MsPoint(msgspec.Struct, forbid_unknown_fields=True):
    id: U64 | uuid.UUID
    vector: list[float] | dict[str, Any]
    # the payload's own bytes from the body: checked to be an object, never encoded again
    payload: msgspec.Raw = msgspec.field(default_factory=lambda: msgspec.Raw(b"null"))


class MsUpsert(msgspec.Struct, forbid_unknown_fields=True):
    points: Annotated[list[MsPoint], msgspec.Meta(max_length=LIMITS.max_batch_points)]
    shard_key: Any = None
    update_filter: Any = None


class MsPlainPoint(msgspec.Struct, forbid_unknown_fields=True):
    """A point whose vector may only be a list: what the union in MsPoint costs (`parts`)."""

    id: U64 | uuid.UUID
    vector: list[float]
    payload: msgspec.Raw = msgspec.field(default_factory=lambda: msgspec.Raw(b"null"))


class MsPlainUpsert(msgspec.Struct, forbid_unknown_fields=True):
    points: list[MsPlainPoint]


_MS_QUERY = msgspec.json.Decoder(MsQuery)
_MS_PLAIN_UPSERT = msgspec.json.Decoder(MsPlainUpsert)
_MS_BATCH = msgspec.json.Decoder(MsBatch)
_MS_UPSERT = msgspec.json.Decoder(MsUpsert)


def _ms_plan(q: MsQuery) -> QueryOut:
    if not isinstance(q.query, list):
        raise BadRequest("query: the bench's bodies send a dense vector")
    params = q.params or MsParams()
    return QueryOut(
        _normalised([q.query], "query"),
        q.limit,
        q.offset or 0,
        q.score_threshold,
        _selector(q.with_payload),
        _with_vector(q.with_vector),
        params.hnsw_ef,
        bool(params.exact),
        _filter(q.filter),
    )


def ms_query(body: bytes) -> QueryOut:
    return _ms_plan(_MS_QUERY.decode(body))


def ms_batch(body: bytes) -> list[QueryOut]:
    return [_ms_plan(q) for q in _MS_BATCH.decode(body).searches]


def _raw_payload(value: msgspec.Raw, field: str) -> bytes:
    raw = bytes(value)  # the payload's span of the body, as msgspec found it
    if raw == b"null":
        return b"{}"
    if raw[:1] != b"{":
        raise BadRequest(f"{field}: payload must be a JSON object")
    if len(raw) > LIMITS.max_payload_bytes:
        raise BadRequest(f"{field}: payload is larger than {LIMITS.max_payload_bytes} bytes")
    return raw


def ms_upsert(body: bytes) -> UpsertBatch:
    pts = _MS_UPSERT.decode(body).points
    keys = keys_of([p.id for p in pts])
    rows = _normalised([p.vector for p in pts], "points.vector")
    payloads = [_raw_payload(p.payload, f"points[{i}].payload") for i, p in enumerate(pts)]
    return UpsertBatch(keys, rows, payloads)


# ---------------------------------------------------------------- (b) pydantic v2

_STRICT = pydantic.ConfigDict(extra="forbid")
PLimit = Annotated[int, pydantic.Field(ge=0, le=MAX_LIMIT, strict=True)]
PU64 = Annotated[int, pydantic.Field(ge=0, le=U64_MAX, strict=True)]


class PParams(pydantic.BaseModel):
    model_config = _STRICT
    hnsw_ef: Annotated[int, pydantic.Field(ge=1, le=100_000, strict=True)] | None = None
    exact: pydantic.StrictBool | None = None
    quantization: Any = None
    indexed_only: pydantic.StrictBool | None = None
    acorn: Any = None


class PNearest(pydantic.BaseModel):
    model_config = _STRICT
    nearest: list[float] | PU64 | uuid.UUID


class PFusion(pydantic.BaseModel):
    model_config = _STRICT
    fusion: Literal["rrf", "dbsf"]


class PQuery(pydantic.BaseModel):
    model_config = _STRICT
    # pydantic's "smart" union takes untagged object shapes
    query: list[float] | PU64 | uuid.UUID | PNearest | PFusion
    prefetch: Any = None
    using: str | None = None
    filter: dict[str, Any] | None = None
    params: PParams | None = None
    score_threshold: float | None = None
    limit: PLimit = 10
    offset: PLimit | None = None
    with_vector: bool | list[str] | None = None
    with_payload: bool | list[str] | dict[str, Any] | None = None
    lookup_from: Any = None
    shard_key: Any = None


class PBatch(pydantic.BaseModel):
    model_config = _STRICT
    searches: Annotated[list[PQuery], pydantic.Field(max_length=LIMITS.max_batch_searches)]


class PPoint(pydantic.BaseModel):
    model_config = _STRICT
    id: PU64 | uuid.UUID
    vector: list[float] | dict[str, Any]
    payload: dict[str, Any] | None = None


class PUpsert(pydantic.BaseModel):
    model_config = _STRICT
    points: Annotated[list[PPoint], pydantic.Field(max_length=LIMITS.max_batch_points)]
    shard_key: Any = None
    update_filter: Any = None


_P_QUERY = pydantic.TypeAdapter(PQuery)
_P_BATCH = pydantic.TypeAdapter(PBatch)
_P_UPSERT = pydantic.TypeAdapter(PUpsert)


def _p_plan(q: PQuery) -> QueryOut:
    if not isinstance(q.query, list):
        raise BadRequest("query: the bench's bodies send a dense vector")
    params = q.params or PParams()
    return QueryOut(
        _normalised([q.query], "query"),
        q.limit,
        q.offset or 0,
        q.score_threshold,
        _selector(q.with_payload),
        _with_vector(q.with_vector),
        params.hnsw_ef,
        bool(params.exact),
        _filter(q.filter),
    )


def p_query(body: bytes) -> QueryOut:
    return _p_plan(_P_QUERY.validate_json(body))


def p_batch(body: bytes) -> list[QueryOut]:
    return [_p_plan(q) for q in _P_BATCH.validate_json(body).searches]


def p_upsert(body: bytes) -> UpsertBatch:
    pts = _P_UPSERT.validate_json(body).points
    keys = keys_of([p.id for p in pts])
    rows = _normalised([p.vector for p in pts], "points.vector")
    payloads = [
        validate.payload(p.payload, f"points[{i}].payload", LIMITS) for i, p in enumerate(pts)
    ]
    return UpsertBatch(keys, rows, payloads)


# ---------------------------------------------------------------- (c) jsonschema_rs

_J_ID = {
    "anyOf": [
        {"type": "integer", "minimum": 0, "maximum": U64_MAX},
        {"type": "string", "format": "uuid"},
    ]
}
_J_VECTOR = {"type": "array", "items": {"type": "number"}}
_J_LIMIT = {"type": "integer", "minimum": 0, "maximum": MAX_LIMIT}
_J_QUERY = {
    "type": "object",
    "properties": {
        "query": {
            "anyOf": [
                _J_VECTOR,
                _J_ID,
                {
                    "type": "object",
                    "properties": {"nearest": {"anyOf": [_J_VECTOR, _J_ID]}},
                    "required": ["nearest"],
                    "additionalProperties": False,
                },
                {
                    "type": "object",
                    "properties": {"fusion": {"enum": ["rrf", "dbsf"]}},
                    "required": ["fusion"],
                    "additionalProperties": False,
                },
            ]
        },
        "prefetch": {},
        "using": {"type": ["string", "null"]},
        "filter": {"type": ["object", "null"]},
        "params": {
            "type": ["object", "null"],
            "properties": {
                "hnsw_ef": {"type": ["integer", "null"], "minimum": 1, "maximum": 100_000},
                "exact": {"type": ["boolean", "null"]},
            },
        },
        "score_threshold": {"type": ["number", "null"]},
        "limit": _J_LIMIT,
        "offset": {"anyOf": [_J_LIMIT, {"type": "null"}]},
        "with_vector": {
            "anyOf": [{"type": ["boolean", "null"]}, {"type": "array", "items": {"type": "string"}}]
        },
        "with_payload": {
            "anyOf": [
                {"type": ["boolean", "null", "object"]},
                {"type": "array", "items": {"type": "string"}},
            ]
        },
        "lookup_from": {},
        "shard_key": {},
    },
    "required": ["query"],
    "additionalProperties": False,
}
_J_BATCH = {
    "type": "object",
    "properties": {
        "searches": {"type": "array", "items": _J_QUERY, "maxItems": LIMITS.max_batch_searches}
    },
    "required": ["searches"],
    "additionalProperties": False,
}
_J_UPSERT = {
    "type": "object",
    "properties": {
        "points": {
            "type": "array",
            "maxItems": LIMITS.max_batch_points,
            "items": {
                "type": "object",
                "properties": {
                    "id": _J_ID,
                    "vector": {"anyOf": [_J_VECTOR, {"type": "object"}]},
                    "payload": {"type": ["object", "null"]},
                },
                "required": ["id", "vector"],
                "additionalProperties": False,
            },
        },
        "shard_key": {},
        "update_filter": {},
    },
    "required": ["points"],
    "additionalProperties": False,
}
_J_QUERY_V = jsonschema_rs.Draft202012Validator(_J_QUERY, validate_formats=True)
_J_BATCH_V = jsonschema_rs.Draft202012Validator(_J_BATCH, validate_formats=True)
_J_UPSERT_V = jsonschema_rs.Draft202012Validator(_J_UPSERT, validate_formats=True)


def _j_checked(validator: Any, schema: dict[str, Any], body: bytes, where: str) -> Any:
    data = orjson.loads(body)
    if validator.is_valid(data):  # only a refused body pays for collecting the error
        return data
    error = next(iter(validator.iter_errors(data)))
    raise BadRequest(message(error, schema, where))


def _j_plan(q: dict[str, Any]) -> QueryOut:
    if not isinstance(q["query"], list):
        raise BadRequest("query: the bench's bodies send a dense vector")
    params = q.get("params") or {}
    offset = q.get("offset")
    return QueryOut(
        _normalised([q["query"]], "query"),
        q.get("limit", 10),
        offset or 0,
        q.get("score_threshold"),
        _selector(q.get("with_payload")),
        _with_vector(q.get("with_vector")),
        params.get("hnsw_ef"),
        bool(params.get("exact")),
        _filter(q.get("filter")),
    )


def j_query(body: bytes) -> QueryOut:
    return _j_plan(_j_checked(_J_QUERY_V, _J_QUERY, body, "body"))


def j_batch(body: bytes) -> list[QueryOut]:
    return [_j_plan(q) for q in _j_checked(_J_BATCH_V, _J_BATCH, body, "")["searches"]]


def _j_id(value: int | str) -> int | uuid.UUID:
    return value if isinstance(value, int) else uuid.UUID(value)


def j_upsert(body: bytes) -> UpsertBatch:
    pts = _j_checked(_J_UPSERT_V, _J_UPSERT, body, "")["points"]
    keys = keys_of([_j_id(p["id"]) for p in pts])
    rows = _normalised([p["vector"] for p in pts], "points.vector")
    payloads = [
        validate.payload(p.get("payload"), f"points[{i}].payload", LIMITS)
        for i, p in enumerate(pts)
    ]
    return UpsertBatch(keys, rows, payloads)


# ---------------------------------------------------------------- bodies and checks


def bodies(seed: int = 7) -> dict[str, bytes]:
    rng = np.random.default_rng(seed)

    def one_query() -> dict[str, Any]:
        return {
            "query": rng.standard_normal(DIM, dtype=np.float32).tolist(),
            "filter": {"must": [{"key": "color", "match": {"value": "red"}}]},
            "with_payload": True,
            "limit": 10,
        }

    upsert = {
        "points": [
            {
                "id": i,
                "vector": rng.standard_normal(DIM, dtype=np.float32).tolist(),
                "payload": {"color": ["red", "green", "blue"][i % 3], "n": i},
            }
            for i in range(1_000)
        ]
    }
    return {
        "query": orjson.dumps(one_query()),
        "upsert": orjson.dumps(upsert),
        "batch": orjson.dumps({"searches": [one_query() for _ in range(100)]}),
    }


PATHS: dict[str, dict[str, Callable[[bytes], Any]]] = {
    "query": {
        "today": today_query,
        "msgspec": ms_query,
        "pydantic": p_query,
        "jsonschema": j_query,
    },
    "upsert": {
        "today": today_upsert,
        "msgspec": ms_upsert,
        "pydantic": p_upsert,
        "jsonschema": j_upsert,
    },
    "batch": {
        "today": today_batch,
        "msgspec": ms_batch,
        "pydantic": p_batch,
        "jsonschema": j_batch,
    },
}


def _same(a: Any, b: Any) -> None:
    if isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    elif isinstance(a, UpsertBatch):
        assert (a.keys == b.keys).all()
        np.testing.assert_array_equal(a.vectors, b.vectors)
        assert [orjson.loads(p) for p in a.payloads] == [orjson.loads(p) for p in b.payloads]
    else:
        np.testing.assert_array_equal(a.vector, b.vector)
        assert (a.limit, a.offset, a.score_threshold, a.ef, a.exact) == (
            b.limit,
            b.offset,
            b.score_threshold,
            b.ef,
            b.exact,
        )
        assert (a.selector, a.with_vector, a.filter) == (b.selector, b.with_vector, b.filter)


def check_outputs(data: dict[str, bytes]) -> None:
    for route, paths in PATHS.items():
        reference = paths["today"](data[route])
        for name, fn in paths.items():
            try:
                _same(reference, fn(data[route]))
            except AssertionError:
                raise AssertionError(f"{route}: {name} differs from today's output") from None


# ---------------------------------------------------------------- timing


REPS = {"query": 800, "upsert": 40, "batch": 40}


def _round(paths: dict[str, Callable[[bytes], Any]], body: bytes, reps: int) -> dict[str, float]:
    """Each path's median seconds per call over `reps` calls, the paths taking turns call by
    call (the first one rotating), so a change in the machine's load hits them all alike."""
    names = list(paths)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for rep in range(reps):
        for name in names[rep % len(names) :] + names[: rep % len(names)]:
            started = time.perf_counter()
            paths[name](body)
            samples[name].append(time.perf_counter() - started)
    return {name: statistics.median(v) for name, v in samples.items()}


def measure(data: dict[str, bytes], rounds: int, scale: float) -> dict[str, Any]:
    """Per route: each path's median time, and its QPS over today's as the median of the
    rounds' ratios (each round's paths measured side by side), with the rounds' lowest and
    highest ratio."""
    out: dict[str, Any] = {}
    for route, paths in PATHS.items():
        reps = max(3, int(REPS[route] * scale))
        per_round = [_round(paths, data[route], reps) for _ in range(rounds)]
        ratios = {n: [r["today"] / r[n] for r in per_round] for n in paths}
        out[route] = {
            "body_bytes": len(data[route]),
            "calls_per_round": reps,
            "median_ms": {
                n: round(statistics.median(r[n] for r in per_round) * 1e3, 4) for n in paths
            },
            "qps_vs_today": {n: round(statistics.median(v), 3) for n, v in ratios.items()},
            "qps_vs_today_range": {
                n: [round(min(v), 3), round(max(v), 3)] for n, v in ratios.items()
            },
            "rounds_ms": {n: [round(r[n] * 1e3, 4) for r in per_round] for n in paths},
        }
    return out


_VALIDATORS = {"query": _J_QUERY_V, "upsert": _J_UPSERT_V, "batch": _J_BATCH_V}


def parts(data: dict[str, bytes], reps: int) -> dict[str, dict[str, float]]:
    """Where the time goes: orjson.loads alone, jsonschema_rs's check alone, and msgspec's
    decoding alone, median ms."""
    out = {}
    for route, body in data.items():
        parsed = orjson.loads(body)
        validator = _VALIDATORS[route]
        n = reps * 40 if route == "query" else reps
        out[route] = {
            "orjson_loads_ms": round(_median_ms(orjson.loads, body, n), 4),
            "jsonschema_is_valid_ms": round(_median_ms(validator.is_valid, parsed, n), 4),
        }
    # msgspec's decoding alone, with the vector as Qdrant's union and as a plain list
    out["upsert"]["msgspec_decode_ms"] = round(
        _median_ms(_MS_UPSERT.decode, data["upsert"], reps), 4
    )
    out["upsert"]["msgspec_decode_list_only_ms"] = round(
        _median_ms(_MS_PLAIN_UPSERT.decode, data["upsert"], reps), 4
    )
    return out


def _median_ms(fn: Callable[[Any], object], arg: object, reps: int) -> float:
    samples = []
    for _ in range(reps):
        started = time.perf_counter()
        fn(arg)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1e3


# ---------------------------------------------------------------- error messages, OpenAPI

_BAD_QUERIES: dict[str, Any] = {
    "limit above the cap": {"query": [0.5] * DIM, "limit": 20_000},
    "limit not an integer": {"query": [0.5] * DIM, "limit": "ten"},
    "query missing": {"limit": 3},
    "unknown field": {"query": [0.5] * DIM, "limti": 3},
    "hnsw_ef zero": {"query": [0.5] * DIM, "params": {"hnsw_ef": 0}},
    "a number as a string in the vector": {"query": [0.5] * (DIM - 1) + ["x"]},
    "unknown fusion": {"query": {"fusion": "max"}, "prefetch": [{"query": [0.5] * DIM}]},
}
_BAD_UPSERTS: dict[str, Any] = {
    "negative id": {"points": [{"id": -1, "vector": [0.5] * DIM}]},
    "vector missing": {"points": [{"id": 1}]},
    "payload not an object": {"points": [{"id": 1, "vector": [0.5] * DIM, "payload": [1]}]},
    "bad UUID": {"points": [{"id": "not-a-uuid", "vector": [0.5] * DIM}]},
    # orjson cannot write it: the body's bytes by hand
    "id above 2**64-1": b'{"points": [{"id": 18446744073709551616, "vector": [0.5]}]}',
}


def _message(fn: Callable[[bytes], Any], body: bytes) -> str:
    try:
        fn(body)
    except BadRequest as exc:
        return f"400 {exc}"
    except msgspec.ValidationError as exc:
        return f"msgspec: {exc}"
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(map(str, first["loc"]))
        return f"pydantic ({exc.error_count()} errors): {loc}: {first['msg']}"
    except Exception as exc:  # a path that does not check the rule lets the conversion fail
        return f"{type(exc).__name__}: {exc}"
    return "accepted"


def error_messages() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for route, cases in (("query", _BAD_QUERIES), ("upsert", _BAD_UPSERTS)):
        for case, body in cases.items():
            raw = body if isinstance(body, bytes) else orjson.dumps(body)
            out[f"{route}: {case}"] = {
                name: _message(fn, raw)[:300] for name, fn in PATHS[route].items()
            }
    return out


def openapi_exports() -> dict[str, Any]:
    """What each library writes for the query body: the `limit` property and `query`'s union."""
    _, ms_components = msgspec.json.schema_components(
        [MsQuery], ref_template="#/components/schemas/{name}"
    )
    ms_query = ms_components["MsQuery"]["properties"]
    p_schema = PQuery.model_json_schema(ref_template="#/components/schemas/{model}")
    return {
        "msgspec": {
            "limit": ms_query["limit"],
            "offset": ms_query["offset"],
            "query": ms_query["query"],
            "components": sorted(ms_components),
        },
        "pydantic": {
            "limit": p_schema["properties"]["limit"],
            "offset": p_schema["properties"]["offset"],
            "query": p_schema["properties"]["query"],
            "components": sorted(p_schema.get("$defs", {})),
        },
        "jsonschema": {"limit": _J_LIMIT, "note": "the schema is written by hand; no models"},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds of a fifth of the calls")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rounds, scale = (3, 0.2) if args.quick else (args.rounds, 1.0)
    data = bodies()
    check_outputs(data)
    started = time.time()
    figures = measure(data, rounds, scale)
    result = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "seconds": round(time.time() - started, 1),
        "rounds": rounds,
        "python": platform.python_version(),
        "versions": {
            "msgspec": msgspec.__version__,
            "pydantic": pydantic.VERSION,
            "jsonschema_rs": version("jsonschema_rs"),
            "orjson": orjson.__version__,
            "numpy": np.__version__,
        },
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        "routes": figures,
        "parts": parts(data, max(3, int(20 * scale))),
        "errors": error_messages(),
        "openapi": openapi_exports(),
    }
    for route, fig in figures.items():
        print(f"{route:7} ({fig['body_bytes']:,} bytes)")
        for name, ms in fig["median_ms"].items():
            low, high = fig["qps_vs_today_range"][name]
            print(
                f"  {name:11} {ms:9.3f} ms   {fig['qps_vs_today'][name]:.2f}x today's QPS"
                f"  (rounds {low:.2f}-{high:.2f})"
            )
    if args.json is None:
        suffix = "-quick" if args.quick else ""
        args.json = Path(__file__).parent / "results" / f"wire_schema{suffix}.json"
    write_json(args.json, result)


if __name__ == "__main__":
    main()
