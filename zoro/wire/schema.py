"""Small constructors for JSON Schema 2020-12 data (the dicts /openapi.json serves, as OpenAPI
3.1 schema objects, and the validators compile), so a request's description reads as what it
accepts; and `WireRequest`, one route's registered description."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zoro.settings import LimitSettings

Schema = dict[str, Any]
Builder = Callable[["LimitSettings"], Schema]


@dataclass(frozen=True, slots=True)
class WireRequest:
    """One route's request body: its schema (a function of the server's limits), valid example
    bodies that together hold every documented field (the constraint test breaks each one),
    one body per registered rule breaking just that rule, and where its error paths start."""

    route: str  # a route name of zoro.http.routes
    build: Builder
    examples: tuple[dict[str, Any], ...]
    rule_examples: dict[str, dict[str, Any]] = field(default_factory=dict)
    root: str = "body"  # "" for routes whose errors name the field alone
    # requests (method, path under the collection "{collection}", body) the constraint test
    # sends before each example, so an example can run again (create after delete...)
    prepare: tuple[tuple[str, str, dict[str, Any] | None], ...] = ()
    # the path the constraint test sends the examples to ("{collection}" as above), where the
    # route's own path on the fixture does not fit: a create names the collection it makes
    path: str = ""


def integer(*, low: int | None = None, high: int | None = None, about: str = "") -> Schema:
    out: Schema = {"type": "integer"}
    if low is not None:
        out["minimum"] = low
    if high is not None:
        out["maximum"] = high
    return _described(out, about)


def number(*, low: float | None = None, high: float | None = None, about: str = "") -> Schema:
    out: Schema = {"type": "number"}
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


def enum(*options: str, about: str = "") -> Schema:
    return _described({"type": "string", "enum": list(options)}, about)


def array(
    items: Schema,
    *,
    min_items: int | None = None,
    max_items: int | None = None,
    about: str = "",
) -> Schema:
    out: Schema = {"type": "array", "items": items}
    if min_items is not None:
        out["minItems"] = min_items
    if max_items is not None:
        out["maxItems"] = max_items
    return _described(out, about)


def obj(
    properties: dict[str, Schema], *, required: tuple[str, ...] = (), about: str = ""
) -> Schema:
    """A closed object: a field not listed is refused (as every converted service refused it)."""
    out: Schema = {"type": "object", "properties": properties}
    if required:
        out["required"] = list(required)
    out["additionalProperties"] = False
    return _described(out, about)


def map_of(values: Schema, *, about: str = "") -> Schema:
    """An object of any keys whose values are each `values`."""
    return _described({"type": "object", "additionalProperties": values}, about)


def one_of(*branches: Schema, about: str = "") -> Schema:
    return _described({"oneOf": list(branches)}, about)


def any_of(*branches: Schema, about: str = "") -> Schema:
    return _described({"anyOf": list(branches)}, about)


def nullable(schema: Schema) -> Schema:
    """`schema` or null: a type list where the schema has one type, else a union with null."""
    kind = schema.get("type")
    if isinstance(kind, str | list):
        kinds = [kind] if isinstance(kind, str) else kind
        out = {**schema, "type": [*dict.fromkeys([*kinds, "null"])]}
        if "enum" in schema:
            out["enum"] = [*schema["enum"], None]
        return out
    about = schema.get("description")
    inner = {k: v for k, v in schema.items() if k != "description"}
    return _described({"anyOf": [inner, {"type": "null"}]}, about or "")


def ref(component: str) -> Schema:
    return {"$ref": f"#/components/schemas/{component}"}


def unsupported(what: str) -> Schema:
    """A field Qdrant has and Zoro-DB refuses unless it is null."""
    return {"enum": [None], "description": f"not supported by Zoro-DB ({what}); only null"}


def _described(schema: Schema, about: str) -> Schema:
    if about:
        schema["description"] = about
    return schema
