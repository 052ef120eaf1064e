"""Bodies checked against their route's schema: one jsonschema_rs validator per route and set of
limits, compiled on first use; only a failing body pays for its error's words."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import jsonschema_rs
import orjson

from zoro.errors import BadRequest
from zoro.wire.messages import field_path, message
from zoro.wire.requests import BODIES, ROOTS, body_schemas, components, request_schemas
from zoro.wire.rules import WHOLE_INTEGERS

if TYPE_CHECKING:
    from zoro.settings import LimitSettings
    from zoro.wire.schema import Schema


def check(route: str, body: object, limits: LimitSettings) -> dict[str, Any]:
    """`body` if it is what `route` accepts (a route's name, or one of requests.BODIES), else
    BadRequest naming the first bad field."""
    schema, validator = _compiled(route, limits)
    if not validator.is_valid(body):
        root = BODIES[route][1] if route in BODIES else ROOTS.get(route, "body")
        raise _first_error(schema, body, root)
    assert isinstance(body, dict)  # every request schema is an object's
    return body


def _first_error(schema: Schema, body: object, where: str) -> BadRequest:
    """The 400 for a body that failed `is_valid`, described at the deepest node that fails.

    jsonschema_rs builds an error with its instance converted back to Python, and a union's
    error with every branch's errors: for a failing `oneOf` over 100,000 points that took 15 s.
    So the failing node is found first by cheap `is_valid` calls, descending through object
    properties, array items and unions tagged by their one required key, checking each node
    shallowly (its children accepted as anything) before its children; only that node's
    instance is then described."""
    shared = schema["components"]
    node, instance, path = schema, body, []
    while True:
        node = _resolved(node, shared)
        shallow = _shallow(node)
        if not _validator(shallow, shared).is_valid(instance):
            node = shallow  # the node itself fails: its children need not be read
            break
        child = _failing_child(node, instance, shared)
        if child is None:
            break
        node, instance, step = child
        if step is not None:
            path.append(step)
    here = field_path(where, path) if path else where
    try:  # validate stops at the first error; iter_errors would build every one first
        _validator(node, shared).validate(instance)
    except jsonschema_rs.ValidationError as error:
        return BadRequest(message(error, {**node, "components": shared}, here))
    except ValueError:  # jsonschema_rs stops describing a value nested past its limit
        return BadRequest(f"{here or 'body'}: nested too deeply")
    raise AssertionError("a body that failed is_valid passed validate")  # pragma: no cover


def _failing_child(
    node: Schema, instance: object, shared: Schema
) -> tuple[Schema, object, str | int | None] | None:
    """The first child of `instance` that fails its part of `node` (None: no such child, or
    no way to tell one branch of an untagged union from another)."""
    properties = node.get("properties")
    if isinstance(instance, dict) and isinstance(properties, dict):
        for key, value in instance.items():
            sub = properties.get(key)
            if sub is not None and not _validator(sub, shared).is_valid(value):
                return sub, value, key
    items = node.get("items")
    if isinstance(instance, list) and isinstance(items, dict):
        validator = _validator(items, shared)
        for i, item in enumerate(instance):
            if not validator.is_valid(item):
                return items, item, i
    for union in ("oneOf", "anyOf"):
        if union in node and isinstance(instance, dict) and len(instance) == 1:
            (key,) = instance
            tagged = [b for b in node[union] if _resolved(b, shared).get("required") == [key]]
            if len(tagged) == 1:
                return tagged[0], instance, None
    return None


def _resolved(node: Schema, shared: Schema) -> Schema:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(_COMPONENTS):
        resolved: Schema = shared["schemas"][ref.removeprefix(_COMPONENTS)]
        return resolved
    return node


def _shallow(node: Schema) -> Schema:
    """`node` without what checks its children: properties kept by name only (so unknown
    fields are still refused), no item, union or map schemas."""
    out = {k: v for k, v in node.items() if k not in _DEEP}
    if isinstance(node.get("properties"), dict):
        out["properties"] = dict.fromkeys(node["properties"], True)
    if isinstance(node.get("additionalProperties"), dict):
        out["additionalProperties"] = True
    return out


_COMPONENTS = "#/components/schemas/"
_DEEP = frozenset({"properties", "items", "prefixItems", "oneOf", "anyOf", "allOf", "not"})
_validators: dict[str, jsonschema_rs.Draft202012Validator] = {}


def _validator(node: Schema, shared: Schema) -> jsonschema_rs.Draft202012Validator:
    """A validator for one node of a request schema, the components riding along; cached by
    the node's text (failing bodies only come here, and nodes repeat across them)."""
    key = orjson.dumps(node, option=orjson.OPT_SORT_KEYS).decode()
    validator = _validators.get(key)
    if validator is None:
        if len(_validators) > _VALIDATORS_MAX:
            _validators.clear()
        validator = _validators[key] = jsonschema_rs.Draft202012Validator(
            {**node, "components": shared}
        )
    return validator


_VALIDATORS_MAX = 4096


def whole(value: object, field: str) -> int:
    """An integer the schema already bounded, refused if written with a fraction: JSON Schema's
    `integer` admits 10.0 (rules.WHOLE_INTEGERS)."""
    if type(value) is not int:
        raise WHOLE_INTEGERS.error(field, "must be an integer")
    return value


@cache
def _compiled(
    route: str, limits: LimitSettings
) -> tuple[Schema, jsonschema_rs.Draft202012Validator]:
    shared = components(limits)
    described = request_schemas(limits).get(route) or body_schemas(limits)[route]
    schema = validation_form(described, shared)
    # the components ride along, so "#/components/schemas/..." resolves as in /openapi.json
    # (in their validation form too: a component may refer to one not held yet)
    whole_schema = {**schema, "components": {"schemas": validation_form(shared, shared)}}
    return whole_schema, jsonschema_rs.Draft202012Validator(whole_schema)


def validation_form(schema: Any, shared: dict[str, Any]) -> Any:
    """The schema as the validator reads it: a `$ref` to a component zoro.wire does not hold
    yet (the filter, still checked as it is parsed) reads as any value."""
    if isinstance(schema, list):
        return [validation_form(item, shared) for item in schema]
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.rsplit("/", 1)[-1] not in shared:
        return {}
    return {key: validation_form(value, shared) for key, value in schema.items()}
