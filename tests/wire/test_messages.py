"""The message writer names the field and the rule, also inside unions (zoro.wire.messages)."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest

from zoro.wire.messages import message

_ID = {
    "anyOf": [
        {"type": "integer", "minimum": 0, "maximum": 2**64 - 1},
        {"type": "string", "format": "uuid"},
    ]
}
_SCHEMA = {
    "type": "object",
    "properties": {
        "id": _ID,
        "limit": {"type": "integer", "minimum": 1, "maximum": 100},
        "ids": {"type": "array", "items": _ID, "minItems": 1, "maxItems": 2},
        "vector": {"anyOf": [{"type": "array", "items": {"type": "number"}}, {"type": "object"}]},
        "names": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2},
    },
    "additionalProperties": False,
}
_VALIDATOR = jsonschema_rs.Draft202012Validator(_SCHEMA, validate_formats=True)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"id": -1}, "body.id: must be between 0 and 18446744073709551615"),
        ({"id": 2**64}, "body.id: must be between 0 and 18446744073709551615"),
        ({"id": 1.5}, "body.id: must be an integer or a string"),
        ({"limit": 0}, "body.limit: must be between 1 and 100"),
        ({"limit": "5"}, "body.limit: must be an integer"),
        ({"vector": [1, "x"]}, "body.vector[1]: must be a number"),
        ({"vector": 3}, "body.vector: must be a list or a JSON object"),
        ({"limti": 3}, "body: unknown field(s) 'limti'"),
        ({"ids": []}, "body.ids: must hold at least 1 item"),
        ({"ids": [1, 2, 3]}, "body.ids: must hold at most 2 items"),
        ({"id": "not-a-uuid"}, "body.id: not a valid uuid"),
        ({"names": []}, "body.names: must hold at least 1 item"),
        ({"names": ["a", "b", "c"]}, "body.names: must hold at most 2 items"),
    ],
)
def test_the_message_names_the_field_and_the_rule(body: dict[str, Any], expected: str) -> None:
    error = next(iter(_VALIDATOR.iter_errors(body)))
    assert message(error, _SCHEMA, "body") == expected


def test_an_object_that_fits_no_shape_is_not_told_one_shapes_field() -> None:
    one = {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}}
    other = {"type": "object", "required": ["b"], "properties": {"b": {"type": "integer"}}}
    schema = {"anyOf": [one, other], "description": "{a: ...} or {b: ...}"}
    error = next(iter(jsonschema_rs.Draft202012Validator(schema).iter_errors({})))
    assert message(error, schema, "body") == "body: must be {a: ...} or {b: ...}"
