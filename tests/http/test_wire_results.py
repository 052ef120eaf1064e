"""Every result schema (zoro.wire.results, served by /openapi.json) describes what a real server
answers: each registered request example (zoro.wire.requests.REQUESTS) is sent as the
constraint test sends it, and its 200 answer's `result` must match its route's result schema;
so must the answers of the routes that take no body, and of a few requests of the routes not
registered yet (each leaves this list by itself once its route is registered)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

import httpx
import jsonschema_rs
import pytest

from tests.http.wire_setup import COLLECTION, filled, prepare, route_of
from zoro.http.routes import ROUTES
from zoro.settings import LimitSettings
from zoro.wire.requests import EXAMPLES, REQUESTS, components
from zoro.wire.results import ERROR, RESULTS

LIMITS = LimitSettings()  # the test server runs with the default limits
C = f"/collections/{COLLECTION}"
OTHER = "wire_results_v"  # named dense, multivector and sparse vectors
UUID = "5f0ab1a0-53c7-4a3a-a5f0-9e0cb6a4e2a1"

# Requests without a body (method, path, route), sent after the fixture's stage.
BODILESS: list[tuple[str, str, str]] = [
    ("GET", "/collections", "list_collections"),
    ("GET", C, "get_collection"),
    ("GET", f"{C}/exists", "collection_exists"),
    ("GET", "/collections/wire_results_none/exists", "collection_exists"),
    ("GET", f"{C}/points/0", "get_point"),
    ("GET", "/aliases", "get_aliases"),
    ("GET", f"{C}/aliases", "get_collection_aliases"),
    ("GET", f"{C}/optimizations", "get_optimizations"),
    ("GET", f"{C}/optimizations?with=queued,completed,idle_segments", "get_optimizations"),
    ("GET", "/telemetry", "telemetry"),
    ("GET", "/telemetry?details_level=1", "telemetry"),
    ("GET", "/telemetry?details_level=2&anonymize=true", "telemetry"),
    ("GET", "/issues", "get_issues"),
    ("GET", "/errors", "recent_errors"),
    ("DELETE", "/issues", "clear_issues"),
    ("DELETE", "/collections/wire_results_none", "delete_collection"),
]

_HIT = {"query": [1.0, 0.0, 0.0, 0.0], "limit": 3, "with_payload": True, "with_vector": True}
# Requests of the routes not registered yet, in order (each leaves the stage as it found it).
UNREGISTERED: list[tuple[str, dict[str, Any]]] = [
    ("upsert_points", {"points": [{"id": 100, "vector": [1, 2, 3, 4], "payload": {"n": 1}}]}),
    ("set_payload", {"payload": {"m": 2}, "points": [100]}),
    ("overwrite_payload", {"payload": {"n": 3}, "points": [100]}),
    ("delete_payload", {"keys": ["n"], "points": [100]}),
    ("clear_payload", {"points": [100]}),
    ("update_vectors", {"points": [{"id": 100, "vector": [4, 3, 2, 1]}]}),
    ("batch_update", {"operations": [{"clear_payload": {"points": [100]}}]}),
    ("retrieve_points", {"ids": [0, 100, 7], "with_payload": True, "with_vector": True}),
    ("delete_points", {"points": [100]}),
    ("scroll_points", {"limit": 2, "with_vector": True}),
    ("scroll_points", {"limit": 100, "offset": 3, "with_payload": ["color"]}),
    ("query_points", _HIT),
    ("query_batch_points", {"searches": [_HIT, {"query": 3, "limit": 1}]}),
    ("search_points", {"vector": [1, 0, 0, 0], "limit": 2, "with_payload": {"exclude": "x"}}),
    ("search_batch_points", {"searches": [{"vector": [1, 0, 0, 0], "limit": 2}]}),
    ("query_points_groups", {**_HIT, "group_by": "color", "group_size": 2}),
    (
        "search_point_groups",
        {
            "vector": [1, 0, 0, 0],
            "group_by": "color",
            "group_size": 1,
            "limit": 2,
            "with_lookup": {"collection": COLLECTION},
        },
    ),
    ("recommend_points", {"positive": [1], "limit": 2}),
    ("recommend_batch_points", {"searches": [{"positive": [1], "limit": 2}]}),
    ("recommend_point_groups", {"positive": [1], "group_by": "color", "group_size": 1, "limit": 2}),
    (
        "discover_points",
        {"target": [1, 0, 0, 0], "context": [{"positive": 1, "negative": 2}], "limit": 2},
    ),
    ("discover_batch_points", {"searches": [{"target": 1, "limit": 1}]}),
    ("update_collection", {"optimizers_config": {"indexing_threshold": 20000}}),
]
_WRITES = frozenset(
    {
        "upsert_points",
        "set_payload",
        "overwrite_payload",
        "delete_payload",
        "clear_payload",
        "update_vectors",
        "batch_update",
        "delete_points",
    }
)


@cache
def _validator(route: str) -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator(
        {**RESULTS[route], "components": {"schemas": components(LIMITS)}}
    )


def _matches(route: str, r: httpx.Response) -> None:
    assert r.status_code == 200, f"{route}: {r.text}"
    result = r.json()["result"]
    errors = [
        f"{'/'.join(map(str, e.instance_path))}: {e.kind!r}"
        for e in _validator(route).iter_errors(result)
    ]
    assert not errors, f"{route} answered {result}, which its result schema refuses: {errors}"


@pytest.fixture(scope="module")
def stage(wire_http: httpx.Client) -> Iterator[httpx.Client]:
    """The wire tests' collection, and another with named, multi and sparse vectors."""
    config = {
        "vectors": {
            "d": {"size": 2, "distance": "Cosine"},
            "m": {"size": 2, "distance": "Dot", "multivector_config": {"comparator": "max_sim"}},
        },
        "sparse_vectors": {"s": {"modifier": "idf"}},
    }
    r = wire_http.put(f"/collections/{OTHER}", json=config)
    assert r.status_code == 200, r.text
    points = [
        {
            "id": 1,
            "vector": {"d": [1, 0], "m": [[1, 0], [0, 1]], "s": {"indices": [3], "values": [1]}},
            "payload": {"rank": 2.5},
        },
        {"id": UUID, "vector": {"d": [0, 1]}, "payload": {"rank": 1}},
        {"id": 3, "vector": {}},
    ]
    r = wire_http.put(f"/collections/{OTHER}/points?wait=true", json={"points": points})
    assert r.status_code == 200, r.text
    index = {"field_name": "rank", "field_schema": "float"}
    r = wire_http.put(f"/collections/{OTHER}/index?wait=true", json=index)
    assert r.status_code == 200, r.text
    yield wire_http
    wire_http.delete(f"/collections/{OTHER}")


def test_every_answering_route_has_a_result_schema() -> None:
    enveloped = {r.name for r in ROUTES if r.enveloped}
    assert set(RESULTS) == enveloped


def test_openapi_serves_the_result_schemas(stage: httpx.Client) -> None:
    document = stage.get("/openapi.json").json()
    for route in ROUTES:
        operation = document["paths"][route.path][route.method.lower()]
        error = operation["responses"]["default"]["content"]["application/json"]["schema"]
        assert error == ERROR, route.name
        if route.enveloped:
            ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
            assert ok["properties"]["result"] == RESULTS[route.name], route.name


@pytest.mark.parametrize("route", sorted(EXAMPLES))
def test_registered_examples_answer_their_result_schema(stage: httpx.Client, route: str) -> None:
    method, path = route_of(route)
    for example in EXAMPLES[route]:
        prepare(stage, route)
        _matches(route, stage.request(method, path, json=filled(example)))


def test_routes_without_a_body_answer_their_result_schema(stage: httpx.Client) -> None:
    for method, path, route in BODILESS:
        _matches(route, stage.request(method, path))


def test_unregistered_routes_answer_their_result_schema(stage: httpx.Client) -> None:
    for route, body in UNREGISTERED:
        if route in REQUESTS:
            continue  # its registered examples speak for it
        method, path = route_of(route)
        wait = "?wait=true" if route in _WRITES else ""
        _matches(route, stage.request(method, path + wait, json=body))


def test_other_vector_kinds_answer_their_result_schema(stage: httpx.Client) -> None:
    """Named dense, multivector and sparse vectors, a UUID id, a point with no vector, and
    answers ordered by a payload value."""
    o = f"/collections/{OTHER}"
    _matches("get_collection", stage.get(o))
    for pid in (1, UUID, 3):
        _matches("get_point", stage.get(f"{o}/points/{pid}"))
    body = {"with_vector": True, "with_payload": True, "limit": 10}
    _matches("scroll_points", stage.post(f"{o}/points/scroll", json=body))
    query = {"query": {"indices": [3], "values": [1.0]}, "using": "s", "with_vector": ["d", "s"]}
    _matches("query_points", stage.post(f"{o}/points/query", json=query))
    ordered = {"limit": 2, "order_by": "rank", "with_payload": False}
    _matches("scroll_points", stage.post(f"{o}/points/scroll", json=ordered))
    query = {"query": {"order_by": {"key": "rank", "direction": "desc"}}, "with_vector": True}
    _matches("query_points", stage.post(f"{o}/points/query", json=query))
    pairs = {"sample": 2, "limit": 1, "using": "d"}
    _matches("search_matrix_pairs", stage.post(f"{o}/points/search/matrix/pairs", json=pairs))
    _matches("search_matrix_offsets", stage.post(f"{o}/points/search/matrix/offsets", json=pairs))
