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
        case Kind.Minimum() | Kind.Maximum():
            return f"{path}: {_bounds(node.get('minimum'), node.get('maximum'))}"
        case Kind.ExclusiveMinimum(limit):
            return f"{path}: must be above {limit}"
        case Kind.MinLength() | Kind.MaxLength():
            low, high = node.get("minLength"), node.get("maxLength")
            return f"{path}: {_bounds(low, high)} characters long"
        case Kind.MinItems(limit):
            return f"{path}: must hold at least {limit} item{'s' if limit != 1 else ''}"
        case Kind.MaxItems(limit):
            return f"{path}: must hold at most {limit} item{'s' if limit != 1 else ''}"
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
            if chosen is not error:  # a union's tag: every branch's options
                options = list(dict.fromkeys(_options_at(error, list(chosen.instance_path))))
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
    """The error to report from a union: the one from the branch the value matched furthest
    (an error deeper in the value, or a bound or format of a value of the branch's type: -1 for
    an id is out of the integer branch's range, not "not a string"), else the union's own
    failure (an object that fits none of several shapes is not told one shape's missing field).

    A branch the value's shape contradicts is not the one it meant, however deep its other
    errors: one missing a required field or holding a field it does not list (at the union's
    own place), one whose property names or `not` exclude the value, or one whose tag (a field
    every object branch requires, with an enum: `"type": "text"`) the value does not carry.
    When no branch is meant, one contradicted only by fields it does not list was (its unknown
    fields are the error); and a tag no branch takes is the error itself."""
    if not isinstance(error.kind, Kind.AnyOf | Kind.OneOfNotValid):
        return error
    keyed = _keyed(error, schema)
    if keyed is not None:
        return _branch(keyed[0], schema)
    depth = len(error.instance_path)
    tags = _tags(_node(schema, list(error.schema_path)))
    best = error
    extra_only: list[ValidationError] = []  # contradicted only by fields it does not list
    tag_errors: list[ValidationError] = []
    incomplete = False  # a branch the value may have meant, short of a required field
    for branch in error.kind.context:
        if not branch:
            continue
        misfits = [e for e in branch if _contradicts(e, depth, tags)]
        if misfits:
            excluded = [e for e in misfits if isinstance(e.kind, _EXCLUDING)]
            if excluded:
                tag_errors += [e for e in excluded if isinstance(e.kind, Kind.Enum)]
            elif all(isinstance(e.kind, Kind.AdditionalProperties) for e in misfits):
                extra_only.append(misfits[0])
            else:
                incomplete = True
            continue
        first = _branch(branch[0], schema)
        deeper = len(first.instance_path) > depth
        chosen_inside = first is not branch[0]  # a union in the branch picked its own error
        if not (deeper or chosen_inside or isinstance(first.kind, _VALUE_RULES)):
            continue  # the value is not of this branch's type or shape at all
        if best is error or len(first.instance_path) > len(best.instance_path):
            best = first
    if best is not error:
        return best
    if len(extra_only) == 1:
        return extra_only[0]
    if tag_errors and not (extra_only or incomplete):
        return tag_errors[0]  # a tag no branch takes (message lists every branch's options)
    typed = [
        first
        for branch in error.kind.context
        if branch and not _wrong_type(first := _branch(branch[0], schema), error)
    ]
    if len(typed) == 1 and _precise(typed[0], schema):
        return typed[0]  # the one branch of the value's type (an object for nullable(object))
    return error


def _keyed(error: ValidationError, schema: Schema) -> list[ValidationError] | None:
    """The errors of the one branch whose required fields an object has (`{"key": ..}` a field
    condition, `{"has_id": ..}` has_id), if exactly one has them and no others' fields."""
    if not isinstance(error.instance, dict):
        return None
    assert isinstance(error.kind, Kind.AnyOf | Kind.OneOfNotValid)
    context = error.kind.context
    path = list(error.schema_path)
    if _tags(_node(schema, path)):
        return None  # branches told apart by a tag's value, not by which fields they require
    branches = _node(schema, path).get(str(path[-1]), [])
    keyed = [
        i
        for i, branch in enumerate(branches)
        if (needs := _resolve(schema, branch).get("required"))
        and set(needs) <= error.instance.keys()
    ]
    if len(keyed) > 1:  # a shape the object has fields of others' beside: not that one
        keyed = [i for i in keyed if not _unknown_fields(context[i], error)]
    if len(keyed) == 1 and context[keyed[0]]:
        return context[keyed[0]]
    return None


def _wrong_type(error: ValidationError, union: ValidationError) -> bool:
    """Refused for its JSON type at the union's place (by every branch, for a union)."""
    if len(error.instance_path) != len(union.instance_path):
        return False
    if isinstance(error.kind, Kind.Type | Kind.Enum):
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


# Errors at a union's own place that say the value has another shape than the branch's, and
# of those, the ones that rule the branch out (the others: the value may still have meant it).
_SHAPE_RULES = (Kind.Required, Kind.AdditionalProperties, Kind.PropertyNames, Kind.Not)
_EXCLUDING = (Kind.PropertyNames, Kind.Not, Kind.Enum)


def _tags(union: dict[str, Any]) -> set[str]:
    """The fields every object branch of a union requires: what tells its branches apart."""
    branches = union.get("anyOf") or union.get("oneOf") or []
    required = [set(b.get("required", ())) for b in branches if "properties" in b]
    return set.intersection(*required) if len(required) > 1 else set()


def _contradicts(error: ValidationError, depth: int, tags: set[str]) -> bool:
    at = len(error.instance_path)
    if at == depth:
        return isinstance(error.kind, _SHAPE_RULES)
    return at == depth + 1 and isinstance(error.kind, Kind.Enum) and error.instance_path[-1] in tags


def _options_at(error: ValidationError, where: list[str | int]) -> list[Any]:
    """The enum options every branch of a union offers for the value at `where`."""
    if isinstance(error.kind, Kind.Enum) and list(error.instance_path) == where:
        return list(error.kind.options)
    if not isinstance(error.kind, Kind.AnyOf | Kind.OneOfNotValid):
        return []
    return [o for branch in error.kind.context for e in branch for o in _options_at(e, where)]


# Errors about a value that has the branch's type: the value meant that branch.
_VALUE_RULES = (
    Kind.Minimum,
    Kind.Maximum,
    Kind.MinLength,
    Kind.MaxLength,
    Kind.MinItems,
    Kind.MaxItems,
    Kind.Format,
)


def _node(schema: Schema, schema_path: list[str | int]) -> dict[str, Any]:
    """The schema object holding the keyword that failed."""
    node: Any = schema
    for step in schema_path[:-1]:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return {}  # (a step through a $ref)
    return node if isinstance(node, dict) else {}


def _bounds(low: object, high: object) -> str:
    if low is not None and high is not None:
        return f"must be between {low} and {high}"
    return f"must be at least {low}" if high is None else f"must be at most {high}"


def _words(types: Any) -> str:
    return " or ".join(_TYPE_WORDS.get(t, t) for t in types if t != "null")
