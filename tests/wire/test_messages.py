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


_TEXT = {
    "type": "object",
    "properties": {
        "type": {"enum": ["text"]},
        "tokenizer": {"enum": ["word", "prefix"]},
        "on_disk": {"type": "boolean"},
    },
    "required": ["type"],
    "additionalProperties": False,
}
_KEYWORD = {
    "type": "object",
    "properties": {
        "type": {"enum": ["keyword", "integer"]},
        "is_tenant": {"type": "boolean"},
        "on_disk": {"type": "boolean"},
    },
    "required": ["type"],
    "additionalProperties": False,
}
_PARAMS = {"type": "object", "properties": {"size": {"type": "integer", "minimum": 1}}}
_STEMMER = {
    "oneOf": [
        {
            "type": "object",
            "properties": {"type": {"enum": ["snowball"]}, "language": {"enum": ["english"]}},
            "required": ["type", "language"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {"type": {"enum": ["none"]}},
            "required": ["type"],
            "additionalProperties": False,
        },
    ],
    "description": "a stemmer",
}
_TAGGED = {
    "type": "object",
    "properties": {
        "schema": {"anyOf": [{"enum": ["keyword", "text"]}, _TEXT, _KEYWORD], "description": "x"},
        "stemmer": _STEMMER,
        "ratio": {"type": "number", "exclusiveMinimum": 0},
        "vectors": {
            "anyOf": [
                {**_PARAMS, "required": ["size"], "additionalProperties": False},
                {
                    "type": "object",
                    "propertyNames": {"not": {"enum": ["size"]}},
                    "additionalProperties": _PARAMS,
                },
            ],
            "description": "params or {name: params}",
        },
    },
}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # the branch the tag names, not the first one with an error as deep
        (
            {"schema": {"type": "keyword", "on_disk": 1}},
            "body.schema.on_disk: must be true or false",
        ),
        (
            {"schema": {"type": "text", "is_tenant": True}},
            "body.schema: unknown field(s) 'is_tenant'",
        ),
        (
            {"schema": {"type": "texts"}},
            "body.schema.type: use one of 'text', 'keyword', 'integer'",
        ),
        (
            {"schema": {"type": "text", "tokenizer": 1}},
            "body.schema.tokenizer: use one of 'word', 'prefix'",
        ),
        # an object with a field it does not list is not the other branch's map of objects
        ({"vectors": {"size": 4, "bogus": 1}}, "body.vectors: unknown field(s) 'bogus'"),
        ({"vectors": {"size": 0}}, "body.vectors.size: must be at least 1"),
        ({"vectors": {"a": {"size": 0}}}, "body.vectors.a.size: must be at least 1"),
        ({"vectors": {}, "schema": 3}, "body.schema: must be x"),
        # a required field that only one branch has is not what tells them apart
        (
            {"stemmer": {"type": "snowball", "language": "latin"}},
            "body.stemmer.language: use one of 'english'",
        ),
        ({"stemmer": {"type": "snowball"}}, "body.stemmer: must be a stemmer"),
        ({"stemmer": {"type": "porter"}}, "body.stemmer.type: use one of 'snowball', 'none'"),
        ({"ratio": 0}, "body.ratio: must be above 0"),
    ],
)
def test_a_union_reports_the_branch_the_shape_names(body: dict[str, Any], expected: str) -> None:
    error = next(iter(jsonschema_rs.Draft202012Validator(_TAGGED).iter_errors(body)))
    assert message(error, _TAGGED, "body") == expected


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
        # fields of no shape, one shape lacking only them: that shape's unknown fields
        ({"colour": "red"}, "body: unknown field(s) 'colour'"),
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
