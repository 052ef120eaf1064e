"""Bodies checked against their route's schema: one jsonschema_rs validator per route and set of
limits, compiled on first use; only a failing body pays for its error's words."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import jsonschema_rs

from zoro.errors import BadRequest
from zoro.wire.messages import message
from zoro.wire.requests import ROOTS, components, request_schemas
from zoro.wire.rules import WHOLE_INTEGERS

if TYPE_CHECKING:
    from zoro.settings import LimitSettings
    from zoro.wire.schema import Schema


def check(route: str, body: object, limits: LimitSettings) -> dict[str, Any]:
    """`body` if it is what `route` accepts, else BadRequest naming the first bad field."""
    schema, validator = _compiled(route, limits)
    if not validator.is_valid(body):
        where = ROOTS.get(route, "body")
        try:  # validate stops at the first error; iter_errors would build every one first
            validator.validate(body)
        except jsonschema_rs.ValidationError as error:
            raise BadRequest(message(error, schema, where)) from None
        except ValueError:  # jsonschema_rs stops describing a value nested past its limit
            raise BadRequest(f"{where or 'body'}: nested too deeply") from None
    assert isinstance(body, dict)  # every request schema is an object's
    return body


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
    schema = validation_form(request_schemas(limits)[route], shared)
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
