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
        "vector": {"anyOf": [{"type": "array", "items": {"type": "number"}}, {"type": "object"}]},
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
        ({"id": "not-a-uuid"}, "body.id: not a valid uuid"),
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


_SHAPES = {
    "anyOf": [
        {
            "type": "object",
            "properties": {"key": {"type": "string"}, "match": {"type": "integer"}},
            "required": ["key"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {"has_id": {"type": "array"}},
            "required": ["has_id"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {"must": {"type": "array"}},
            "additionalProperties": False,
        },
    ],
    "description": "a condition",
}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # the one shape whose required fields the object has is the one it meant
        ({"key": "a", "zz": 1}, "body: unknown field(s) 'zz'"),
        ({"key": 5}, "body.key: must be a string"),
        # of two shapes' fields, the one not refusing the other's fields
        ({"key": "a", "has_id": [1]}, "body: must be a condition"),
        ({"must": 5}, "body.must: must be a list"),
        ({"colour": "red"}, "body: must be a condition"),
    ],
)
def test_an_object_is_told_about_the_shape_it_meant(body: dict[str, Any], expected: str) -> None:
    error = next(iter(jsonschema_rs.Draft202012Validator(_SHAPES).iter_errors(body)))
    assert message(error, _SHAPES, "body") == expected


def test_a_nullable_object_reports_its_own_error() -> None:
    schema = {
        "anyOf": [
            {"type": "object", "properties": {"a": {}}, "additionalProperties": False},
            {"type": "null"},
        ]
    }
    error = next(iter(jsonschema_rs.Draft202012Validator(schema).iter_errors({"b": 1})))
    assert message(error, schema, "body") == "body: unknown field(s) 'b'"


@pytest.mark.parametrize(
    ("schema", "value", "expected"),
    [
        ({"type": "array", "minItems": 4}, [1], "body: must hold at least 4 items"),
        (
            {"type": "string", "pattern": "^a", "description": "an a-word"},
            "b",
            "body: must be an a-word",
        ),
        ({"not": {}, "description": "not allowed here: x"}, 1, "body: not allowed here: x"),
        (
            {"oneOf": [{"type": "integer"}, {"minimum": 0}], "description": "one of those"},
            1,
            "body: must be one of those",
        ),
    ],
)
def test_other_keywords_are_worded(schema: dict[str, Any], value: Any, expected: str) -> None:
    error = next(iter(jsonschema_rs.Draft202012Validator(schema).iter_errors(value)))
    assert message(error, schema, "body") == expected
