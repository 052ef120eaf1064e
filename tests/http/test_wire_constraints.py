"""Every constraint a converted route's schema documents is enforced by a real server, and the
schema is what /openapi.json serves (docs/wire-schema.md, "The constraint test").

Each route registered in zoro.wire (request_schemas, EXAMPLES) takes part: the test walks the
schema along each example body and, for every constraint on the way (type, minimum/maximum,
minLength/maxLength, enum, required, additionalProperties: false, a union), sends the example
broken at exactly that place, expecting a 400 whose message starts with the field's path; a
numeric bound's own value must be accepted (the server is not stricter than the document).

A refused request changes nothing, so an example's refused cases share the stage its route's
`prepare` sets, and the server's whole state (wire_setup.state) once they are sent must be what
`prepare` left; each accepted case, which may change the stage, is sent on the stage set anew."""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema_rs
import pytest

from tests.http.wire_setup import filled, prepare, route_of, state
from zoro.http.routes import ROUTES
from zoro.settings import LimitSettings
from zoro.wire.check import validation_form
from zoro.wire.messages import field_path
from zoro.wire.requests import EXAMPLES, ROOTS, RULE_EXAMPLES, components, request_schemas

LIMITS = LimitSettings()  # the test server runs with the default limits
_DELETE = object()  # a case that removes the field
# values of each JSON type: a type's break is the first of these its schema refuses
_OTHER_TYPES: tuple[Any, ...] = ("zz", 12345, 0.5, True, [], {"zz_unknown": 1})


@dataclasses.dataclass(frozen=True)
class Case:
    what: str  # the constraint, for the failure list
    at: tuple[str | int, ...]  # where the example is changed
    value: Any  # the new value there (or _DELETE)
    field: tuple[str | int, ...]  # the path the 400 must name
    accepted: bool = False
    or_field: tuple[str | int, ...] | None = None  # another path it may name instead


@functools.cache
def _shared() -> tuple[dict[str, Any], Any]:
    """The components, and their validation form (the same for every schema)."""
    shared = components(LIMITS)
    return shared, validation_form(shared, shared)


_validators: dict[str, jsonschema_rs.Draft202012Validator] = {}  # by the schema's JSON


def _refuses(schema: Any, value: Any) -> bool:
    key = json.dumps(schema, sort_keys=True)
    if key not in _validators:
        shared, held = _shared()
        whole = {**validation_form(schema, shared), "components": {"schemas": held}}
        _validators[key] = jsonschema_rs.Draft202012Validator(whole)
    return not _validators[key].is_valid(value)


def cases(
    schema: Any, value: Any, at: tuple[str | int, ...] = (), within: Any = None
) -> Iterator[Case]:
    """The breaking (and boundary) cases of every constraint met along `value` (`within`: the
    union `schema` is a branch of, whose other branches may take what this one refuses)."""
    if "$ref" in schema:
        held = _shared()[0].get(schema["$ref"].rsplit("/", 1)[-1])
        if held is not None:  # (one zoro.wire does not hold is left to a registered rule)
            yield from cases(held, value, at)
        return
    for union in ("oneOf", "anyOf"):
        if union in schema:
            breaks = [v for v in _OTHER_TYPES if _refuses(schema, v)]
            if breaks:  # (a union with a component left to a rule takes anything)
                yield Case(f"{union} at {at}", at, breaks[0], at)
            branch = next(b for b in schema[union] if not _refuses(b, value))
            for case in cases(branch, value, at, schema):
                if case.at == at and not case.accepted and not _refuses(schema, case.value):
                    continue  # a value of another type that another branch takes
                # without one of its branch's own required fields the value matches no branch:
                # the 400 names the union's place, or the field when the rest of the object
                # still tells which branch it meant
                top = case.value is _DELETE and len(case.at) == len(at) + 1
                yield (
                    dataclasses.replace(case, field=at, or_field=case.or_field or case.field)
                    if top
                    else case
                )
    if "type" in schema:
        # a value the branch refuses but another branch takes breaks nothing
        wrong = [
            v
            for v in _OTHER_TYPES
            if _refuses(schema, v) and (within is None or _refuses(within, v))
        ]
        if wrong:  # (none when the union's other branches take every other type)
            yield Case(f"type at {at}", at, wrong[0], at)
    if "enum" in schema:
        yield Case(f"enum at {at}", at, "zz_not_an_option", at)
    if "minimum" in schema:
        yield Case(f"minimum at {at}", at, schema["minimum"] - 1, at)
        yield Case(f"minimum at {at} (itself)", at, schema["minimum"], at, accepted=True)
    if "maximum" in schema:
        yield Case(f"maximum at {at}", at, schema["maximum"] + 1, at)
        yield Case(f"maximum at {at} (itself)", at, schema["maximum"], at, accepted=True)
    if "minItems" in schema and schema["minItems"] > 0:
        short = value[: schema["minItems"] - 1] if isinstance(value, list) else []
        yield Case(f"minItems at {at}", at, short, at)
    if "maxItems" in schema and isinstance(value, list) and value:
        long = (value * (schema["maxItems"] // len(value) + 1))[: schema["maxItems"] + 1]
        yield Case(f"maxItems at {at}", at, long, at)
    if "minLength" in schema:
        yield Case(f"minLength at {at}", at, "a" * (schema["minLength"] - 1), at)
    if "maxLength" in schema:
        yield Case(f"maxLength at {at}", at, "a" * (schema["maxLength"] + 1), at)
    if isinstance(value, dict):  # (a null where an object may be has no fields to break)
        if schema.get("additionalProperties") is False:
            yield Case(f"closed object at {at}", (*at, "zz_unknown"), 1, at)
        for name in schema.get("required", ()):
            if name in value:
                yield Case(f"required {name} at {at}", (*at, name), _DELETE, (*at, name))
        for name, inner in schema.get("properties", {}).items():
            if name in value:
                yield from cases(inner, value[name], (*at, name))
    if isinstance(value, list) and value and "items" in schema:
        yield from cases(schema["items"], value[0], (*at, 0))


def changed(example: dict[str, Any], case: Case) -> Any:
    if not case.at:
        return case.value
    body = copy.deepcopy(example)
    node: Any = body
    for step in case.at[:-1]:
        node = node[step]
    if case.value is _DELETE:
        del node[case.at[-1]]
    else:
        node[case.at[-1]] = case.value
    return body


def _documented_fields(schema: Any, at: str = "") -> Iterator[str]:
    if not isinstance(schema, dict):
        return
    for name, inner in schema.get("properties", {}).items():
        yield f"{at}.{name}"
        yield from _documented_fields(inner, f"{at}.{name}")
    for key in ("oneOf", "anyOf"):
        for branch in schema.get(key, ()):
            yield from _documented_fields(branch, at)
    yield from _documented_fields(schema.get("items"), f"{at}[]")


def _fields_of(value: Any, at: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        for name, inner in value.items():
            yield f"{at}.{name}"
            yield from _fields_of(inner, f"{at}.{name}")
    elif isinstance(value, list):
        for inner in value:
            yield from _fields_of(inner, f"{at}[]")


def test_every_registered_route_has_examples() -> None:
    assert set(EXAMPLES) == set(request_schemas(LIMITS))


@pytest.mark.parametrize("route", sorted(EXAMPLES))
def test_examples_touch_every_documented_field(route: str) -> None:
    """A field no example holds would have its constraints go unchecked."""
    documented = set(_documented_fields(request_schemas(LIMITS)[route]))
    held = {f for example in EXAMPLES[route] for f in _fields_of(example)}
    assert documented <= held, f"no example holds {sorted(documented - held)}"


def _differs(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


@pytest.mark.parametrize("route", sorted(EXAMPLES))
def test_every_documented_constraint_is_enforced(wire_http: httpx.Client, route: str) -> None:
    schema = request_schemas(LIMITS)[route]
    method, path = route_of(route)
    root = ROOTS.get(route, "body")
    failures = []
    for raw in EXAMPLES[route]:
        prepare(wire_http, route)  # first: an example may name what it makes
        example = filled(raw)
        every = list(cases(schema, example))
        # The refused cases share the stage: each must change nothing, which the server's state
        # once they are all sent shows. (Past a case served by mistake, a failure of its own, the
        # stage is set again and the cases before it go unchecked.)
        stage = state(wire_http)
        for case in (c for c in every if not c.accepted):
            r = wire_http.request(method, path, json=changed(example, case))
            error = r.json().get("status", {}).get("error", "") if r.status_code == 400 else ""
            named = field_path(root, list(case.field))
            fields = [case.field] if case.or_field is None else [case.field, case.or_field]
            starts = tuple(f"{field_path(root, list(f))}:" for f in fields)
            if r.status_code != 400 or not error.startswith(starts):
                failures.append(f"{case.what}: expected a 400 naming {named}, got {r.text}")
            if r.status_code != 400:
                prepare(wire_http, route)
                stage = state(wire_http)
        if (now := state(wire_http)) != stage:
            failures.append(f"{example}: refused cases changed {_differs(stage, now)}")
        # a served case may change the stage: each is sent on the stage set anew
        for case in (c for c in every if c.accepted):
            prepare(wire_http, route)
            r = wire_http.request(method, path, json=changed(example, case))
            if r.status_code != 200:
                failures.append(f"{case.what}: refused: {r.text}")
        prepare(wire_http, route)
        r = wire_http.request(method, path, json=example)  # and the example itself is served
        assert r.status_code == 200, f"{route} example {example}: {r.text}"
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("route", sorted(EXAMPLES))
def test_every_registered_rule_is_enforced(wire_http: httpx.Client, route: str) -> None:
    """What the schema cannot say is listed in its x-zoro-rules; each rule's example is a 400
    that changes nothing (the aliases stay as they were)."""
    listed = request_schemas(LIMITS)[route]["x-zoro-rules"]
    assert sorted(RULE_EXAMPLES.get(route, {})) == sorted(listed)
    method, path = route_of(route)
    before = wire_http.get("/aliases").json()["result"]
    for rule, body in RULE_EXAMPLES[route].items():
        prepare(wire_http, route)
        r = wire_http.request(method, path, json=filled(body))
        assert r.status_code == 400, f"{rule}: {r.text}"
        assert r.json()["status"]["error"], rule
    assert wire_http.get("/aliases").json()["result"] == before


def test_openapi_serves_the_wire_schemas(wire_http: httpx.Client) -> None:
    document = wire_http.get("/openapi.json").json()
    for route, schema in request_schemas(LIMITS).items():
        method, _ = route_of(route)
        path = next(r.path for r in ROUTES if r.name == route)
        body = document["paths"][path][method.lower()]["requestBody"]
        served = body["content"]["application/json"]["schema"]
        assert served == json.loads(json.dumps(schema)), route
