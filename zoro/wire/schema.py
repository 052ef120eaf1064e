"""Small constructors for JSON Schema data (the dicts /openapi.json serves and the validators
compile), so a request's description reads as what it accepts."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]


def integer(*, low: int | None = None, high: int | None = None, about: str = "") -> Schema:
    out: Schema = {"type": "integer"}
    if low is not None:
        out["minimum"] = low
    if high is not None:
        out["maximum"] = high
    return _described(out, about)


def boolean(about: str = "") -> Schema:
    return _described({"type": "boolean"}, about)


def string(
    *, min_length: int | None = None, max_length: int | None = None, about: str = ""
) -> Schema:
    out: Schema = {"type": "string"}
    if min_length is not None:
        out["minLength"] = min_length
    if max_length is not None:
        out["maxLength"] = max_length
    return _described(out, about)


def array(items: Schema, *, about: str = "") -> Schema:
    return _described({"type": "array", "items": items}, about)


def obj(
    properties: dict[str, Schema], *, required: tuple[str, ...] = (), about: str = ""
) -> Schema:
    """A closed object: a field not listed is refused (as every converted service refused it)."""
    out: Schema = {"type": "object", "properties": properties}
    if required:
        out["required"] = list(required)
    out["additionalProperties"] = False
    return _described(out, about)


def one_of(*branches: Schema, about: str = "") -> Schema:
    return _described({"oneOf": list(branches)}, about)


def nullable(schema: Schema) -> Schema:
    """`schema` or null (OpenAPI 3.0's form; `check` reads it as JSON Schema's type list)."""
    return {**schema, "nullable": True}


def ref(component: str) -> Schema:
    return {"$ref": f"#/components/schemas/{component}"}


def unsupported(what: str) -> Schema:
    """A field Qdrant has and Zoro-DB refuses unless it is null."""
    return {
        "enum": [None],
        "nullable": True,
        "description": f"not supported by Zoro-DB ({what}); only null",
    }


def _described(schema: Schema, about: str) -> Schema:
    if about:
        schema["description"] = about
    return schema
