"""Bodies checked against their route's schema: one jsonschema_rs validator per route and set of
limits, compiled on first use; only a failing body pays for its error's words."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import jsonschema_rs

from zoro.errors import BadRequest
from zoro.wire.messages import message
from zoro.wire.requests import ROOTS, request_schemas

if TYPE_CHECKING:
    from zoro.settings import LimitSettings
    from zoro.wire.schema import Schema


def check(route: str, body: object, limits: LimitSettings) -> dict[str, Any]:
    """`body` if it is what `route` accepts, else BadRequest naming the first bad field."""
    schema, validator = _compiled(route, limits)
    if not validator.is_valid(body):
        where = ROOTS.get(route, "body")
        raise BadRequest(message(next(validator.iter_errors(body)), schema, where))
    assert isinstance(body, dict)  # every request schema is an object's
    return body


def whole(value: object, field: str) -> int:
    """An integer the schema already bounded, refused if written with a fraction: JSON Schema's
    `integer` admits 10.0 (rules.WHOLE_INTEGERS)."""
    if type(value) is not int:
        raise BadRequest(f"{field}: must be an integer")
    return value


@cache
def _compiled(
    route: str, limits: LimitSettings
) -> tuple[Schema, jsonschema_rs.Draft202012Validator]:
    schema = validation_form(request_schemas(limits)[route])
    return schema, jsonschema_rs.Draft202012Validator(schema)


def validation_form(schema: Any) -> Any:
    """The document's schema as the validator reads it: OpenAPI 3.0's `nullable` as JSON
    Schema's null type, and a component `$ref` (the filter, checked as it is parsed) as any
    value. Goes when /openapi.json moves to 3.1 and carries the components (docs/wire-schema.md)."""
    if isinstance(schema, list):
        return [validation_form(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        return {}
    out = {key: validation_form(value) for key, value in schema.items() if key != "nullable"}
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out
