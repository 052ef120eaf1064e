"""jsonschema_rs's first error on a body, in the services' "field: rule" wording
(`body.limit: must be between 1 and 10000`, `body: unknown field(s) 'limti'`,
`body.key: missing`), with a union's error taken from the branch the value got furthest into."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jsonschema_rs import ValidationErrorKind as Kind

if TYPE_CHECKING:
    from jsonschema_rs import ValidationError

    from zoro.wire.schema import Schema

_TYPE_WORDS = {
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "a JSON object",
    "array": "a list",
    "string": "a string",
    "null": "null",
}


def message(error: ValidationError, schema: Schema, where: str) -> str:
    """`schema` is the form the validator compiled (the error's schema path points into it)."""
    chosen = _branch(error, schema)
    path = field_path(where, list(chosen.instance_path))
    node = _node(schema, list(chosen.schema_path))
    match chosen.kind:
        case Kind.AnyOf(context) | Kind.OneOfNotValid(context):
            if "description" in node:
                return f"{path}: must be {node['description']}"
            types = [
                t for b in context for e in b if isinstance(e.kind, Kind.Type) for t in e.kind.types
            ]
            return f"{path}: must be {_words(dict.fromkeys(types))}"
        case Kind.OneOfMultipleValid():
            return f"{path}: must be {node.get('description', 'one shape only, not several')}"
        case Kind.Not():
            return f"{path}: {node.get('description', 'not allowed here')}"
        case Kind.Pattern():
            return f"{path}: must be {node.get('description', 'of the documented form')}"
        case Kind.MinItems() | Kind.MaxItems():
            held = _bounds(node.get("minItems"), node.get("maxItems"))
            return f"{path}: {held.replace('must be', 'must hold', 1)} items"
        case Kind.Minimum() | Kind.Maximum():
            return f"{path}: {_bounds(node.get('minimum'), node.get('maximum'))}"
        case Kind.MinLength() | Kind.MaxLength():
            low, high = node.get("minLength"), node.get("maxLength")
            return f"{path}: {_bounds(low, high)} characters long"
        case Kind.Type(types):
            return f"{path}: must be {_words(types)}"
        case Kind.Required(field):
            return f"{field_path(where, [*chosen.instance_path, field])}: missing"
        case Kind.AdditionalProperties(unexpected):
            return f"{path}: unknown field(s) {', '.join(map(repr, unexpected))}"
        case Kind.Format(format):
            return f"{path}: not a valid {format}"
        case Kind.Enum(options):
            if options == [None]:
                return f"{path}: {node.get('description', 'only null')}"
            return f"{path}: use one of {', '.join(map(repr, options))}"
    return f"{path}: does not match the request's schema ({type(chosen.kind).__name__})"


def field_path(where: str, parts: list[str | int]) -> str:
    """`where` followed by the instance path, as the services write it: body.a[3].b."""
    text = where
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text = f"{text}.{part}" if text else part
    return text or "body"


def _branch(error: ValidationError, schema: Schema) -> ValidationError:
    """The error to report from a union: the one from the branch the value meant.

    An object meant the one branch whose required fields it has (`{"key": ..}` a field
    condition, `{"has_id": ..}` has_id); otherwise the branch it matched furthest (an error
    deeper in the value, or a bound or format of a value of the branch's type: -1 for an id is
    out of the integer branch's range, not "not a string"); otherwise the one branch of the
    value's type (an object for `nullable(object)`) when that branch says something precise.
    Else the union's own failure: an object that fits none of several shapes is not told one
    shape's missing field."""
    if not isinstance(error.kind, Kind.AnyOf | Kind.OneOfNotValid):
        return error
    context = error.kind.context
    if isinstance(error.instance, dict):
        path = list(error.schema_path)
        branches = _node(schema, path).get(str(path[-1]), [])
        keyed = [
            i
            for i, branch in enumerate(branches)
            if (needs := _resolve(schema, branch).get("required"))
            and set(needs) <= error.instance.keys()
        ]
        if len(keyed) > 1:  # a shape the object has fields of others' beside: not that one
            keyed = [i for i in keyed if not _unknown_fields(context[i], error)]
            if len(keyed) != 1:
                return error  # fields of two shapes at once: neither shape's error is the answer
        if keyed and context[keyed[0]]:
            return _branch(context[keyed[0]][0], schema)
    best = error
    typed = []
    for branch in context:
        if not branch:
            continue
        first = _branch(branch[0], schema)
        deeper = len(first.instance_path) > len(error.instance_path)
        if not _wrong_type(first, error):
            typed.append(first)
        if not (deeper or isinstance(first.kind, _VALUE_RULES)):
            continue  # the value is not of this branch's type or shape at all
        if best is error or len(first.instance_path) > len(best.instance_path):
            best = first
    if best is error and len(typed) == 1 and _precise(typed[0], schema):
        return typed[0]
    return best


def _wrong_type(error: ValidationError, union: ValidationError) -> bool:
    """Refused for its JSON type at the union's place (by every branch, for a union)."""
    if len(error.instance_path) != len(union.instance_path):
        return False
    if isinstance(error.kind, Kind.Type):
        return True
    if isinstance(error.kind, Kind.AnyOf | Kind.OneOfNotValid):
        return all(b and _wrong_type(b[0], union) for b in error.kind.context)
    return False


def _unknown_fields(errors: list[ValidationError], union: ValidationError) -> bool:
    depth = len(union.instance_path)
    return any(
        isinstance(e.kind, Kind.AdditionalProperties) and len(e.instance_path) == depth
        for e in errors
    )


def _precise(error: ValidationError, schema: Schema) -> bool:
    """Says more than its union would: not a union itself unless it is described."""
    if not isinstance(error.kind, Kind.AnyOf | Kind.OneOfNotValid | Kind.OneOfMultipleValid):
        return True
    return "description" in _node(schema, list(error.schema_path))


def _resolve(schema: Schema, node: Any) -> dict[str, Any]:
    """A branch's schema, through a `$ref` to a component carried in `schema`."""
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        node = schema.get("components", {}).get("schemas", {}).get(node["$ref"].rsplit("/", 1)[-1])
    return node if isinstance(node, dict) else {}


# Errors about a value that has the branch's type: the value meant that branch.
_VALUE_RULES = (Kind.Minimum, Kind.Maximum, Kind.MinLength, Kind.MaxLength, Kind.Format)


def _node(schema: Schema, schema_path: list[str | int]) -> dict[str, Any]:
    """The schema object holding the keyword that failed."""
    node: Any = schema
    for step in schema_path[:-1]:
        node = node[step]
    return node if isinstance(node, dict) else {}


def _bounds(low: object, high: object) -> str:
    if low is not None and high is not None:
        return f"must be between {low} and {high}"
    return f"must be at least {low}" if high is None else f"must be at most {high}"


def _words(types: Any) -> str:
    return " or ".join(_TYPE_WORDS.get(t, t) for t in types if t != "null")
