"""Hostile input from the OpenAPI document a real server serves (GET /openapi.json), through
schemathesis: every operation, schema-conforming (positive) and schema-violating (negative) data.
Whatever arrives: never a 5xx, always a JSON error for a 4xx, and the server keeps serving.

Strict for the routes converted to zoro.wire (zoro.wire.requests.REQUESTS): a body their schema
accepts (positive mode) may be refused only for one of the route's registered rules, whose 400
names it (`... [rule: <id>]`, zoro.wire.rules.TAG); a 400 naming none is a refusal the document
does not state (docs/wire-schema.md, "The constraint test", half 2).

The default run draws three examples per operation and mode, the same ones every run
(derandomized, so it stays deterministic); `-m slow` draws five (the former default), also
derandomized; `-m torture` draws many, new ones each run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from zoro.http.routes import ROUTES, Route
from zoro.settings import LimitSettings
from zoro.testing import ServerProcess
from zoro.wire.requests import request_schemas
from zoro.wire.rules import COLLECTION_NAME, TAG

SEEDED = "seeded"
DIM = 4
OPERATIONS = list(ROUTES)
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
# the registered rules of each converted route (the fuzz server runs with the default limits)
# (with the collection-name rule for the collection named in the path: no body can break it,
# so no body schema lists it)
RULES: dict[str, frozenset[str]] = {
    name: frozenset(schema.get("x-zoro-rules", ())) | {COLLECTION_NAME.id}
    for name, schema in request_schemas(LimitSettings()).items()
}


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root: Path = tmp_path_factory.mktemp("fuzz")
    with ServerProcess(root / "data") as proc:
        yield proc


@pytest.fixture(scope="module")
def schema(fuzz_server: ServerProcess) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(fuzz_server.url + "/openapi.json", timeout=10)


def _seed(url: str) -> None:
    """A known collection with a few points, for the cases whose `name` is SEEDED."""
    with httpx.Client(base_url=url, timeout=10) as http:
        r = http.put(
            f"/collections/{SEEDED}", json={"vectors": {"size": DIM, "distance": "Cosine"}}
        )
        assert r.status_code in (200, 409), r.text
        r = http.put(
            f"/collections/{SEEDED}/points?wait=true",
            json={
                "points": [
                    {"id": i, "vector": [1.0 + i, 2.0, 3.0, 4.0], "payload": {"i": i}}
                    for i in range(5)
                ]
            },
        )
        assert r.status_code == 200, r.text


def _fuzz(
    server: ServerProcess,
    schema: schemathesis.BaseSchema,
    route: Route,
    mode: GenerationMode,
    max_examples: int,
    *,
    derandomize: bool,
) -> None:
    _seed(server.url)
    method, path = route.method, route.path
    operation = schema[path][method]
    # the rules a conforming body may break, for a converted route in positive mode
    strict = RULES.get(route.name) if mode is GenerationMode.POSITIVE else None
    if mode is GenerationMode.NEGATIVE and not (operation.query or operation.body):
        # a path segment is always a string: schemathesis cannot make one that breaks the schema
        pytest.skip("nothing to violate: no query string and no body")
    strategy = operation.as_strategy(generation_mode=mode)
    session = requests.Session()
    seen: list[str] = []

    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=derandomize,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
    @given(case=strategy, use_seed=st.booleans())
    def run(case: schemathesis.Case[Any], use_seed: bool) -> None:
        if use_seed and "name" in (case.path_parameters or {}):
            case.path_parameters["name"] = SEEDED
        try:
            response = case.call(base_url=server.url, session=session, timeout=30)
        except requests.RequestException as exc:
            pytest.fail(f"no answer ({exc!r}) to: {case.as_curl_command()}\n{server.log()}")
        seen.append(str(response.status_code))
        assert response.status_code < 500, (
            f"{response.status_code} {response.text[:500]}\nreproduce: "
            f"{case.as_curl_command()}\n{server.log()[-2000:]}"
        )
        if response.status_code >= 400:
            content_type = response.headers.get("content-type") or [""]
            assert content_type[0].startswith("application/json"), content_type
            assert response.json()["status"]["error"], response.text
        if strict is not None and response.status_code == 400:
            error = response.json()["status"]["error"]
            named = TAG.search(error)
            rule = named.group(1) if named else None
            assert rule in strict, (
                f"{route.name} refused a body its schema accepts, for no registered rule "
                f"({', '.join(sorted(strict)) or 'none'}): {error}\n"
                f"reproduce: {case.as_curl_command()}"
            )
        if method == "DELETE" and case.path_parameters.get("name") == SEEDED:
            _seed(server.url)

    try:
        run()
    finally:
        session.close()
    assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200
    assert seen


@pytest.mark.parametrize("examples", [3, pytest.param(5, marks=pytest.mark.slow)])
@pytest.mark.parametrize("mode", MODES, ids=[m.value for m in MODES])
@pytest.mark.parametrize("route", OPERATIONS, ids=[r.name for r in OPERATIONS])
def test_fuzz_a_little(
    fuzz_server: ServerProcess,
    schema: schemathesis.BaseSchema,
    route: Route,
    mode: GenerationMode,
    examples: int,
) -> None:
    _fuzz(fuzz_server, schema, route, mode, max_examples=examples, derandomize=True)


@pytest.mark.torture
@pytest.mark.parametrize("mode", MODES, ids=[m.value for m in MODES])
@pytest.mark.parametrize("route", OPERATIONS, ids=[r.name for r in OPERATIONS])
def test_fuzz_a_lot(
    fuzz_server: ServerProcess, schema: schemathesis.BaseSchema, route: Route, mode: GenerationMode
) -> None:
    _fuzz(fuzz_server, schema, route, mode, max_examples=300, derandomize=False)
