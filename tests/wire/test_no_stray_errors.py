"""The services of converted routes refuse a body only through zoro.wire (docs/wire-schema.md,
"The constraint test", half 2): the schema (`check`), `whole`, or a registered rule
(`rule.error(...)`, `with rule.covering():`). Read from their source: no `raise BadRequest(...)`
(or of a subclass) of their own, and no hand check of zoro.services.validate outside a rule.

A route's service joins CONVERTED when its route is registered in zoro.wire; a module
converted in part lists the functions that are."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from zoro import errors

ROOT = Path(__file__).resolve().parents[2]

# service module -> its converted functions (None: all of it)
CONVERTED: dict[str, tuple[str, ...] | None] = {
    "zoro/services/facets.py": None,
    "zoro/services/matrix.py": None,
    "zoro/services/aliases.py": None,
    "zoro/services/snapshots.py": None,
    # get_point's id is the path's, not a body's: it is refused as before
    "zoro/services/points.py": (
        "upsert",
        "upsert_binary",
        "_written",
        "binary_change",
        "upsert_change",
        "_conditional",
        "entries_batch",
        "checked_keys",
        "checked_id",
        "payload_bytes",
        "_batch_form",
        "_payloads_of",
        "delete",
        "retrieve",
        "scroll",
        "count",
    ),
    "zoro/services/payload_updates.py": None,
    "zoro/services/shapes.py": None,
    # the helpers other routes share (dense_or_sparse, with_vector, matrix, sparse_rows) are
    # covered by each caller with its route's rule
    "zoro/services/vectors.py": (
        "parse_config",
        "upsert_batch",
        "assembled",
        "dense_batch",
        "dense_rows",
        "multi_rows",
        "batch_values",
    ),
    # the new vector's name (the path's) and its clash with the collection's vectors have no
    # body to break along the constraint test's fixed path yet
    "zoro/services/vector_updates.py": (
        "update_vectors",
        "delete_vectors",
        "update_vectors_change",
        "delete_vectors_change",
        "named_numbers",
    ),
    "zoro/services/prefetch.py": None,
    "zoro/services/fusion.py": None,
    "zoro/services/mmr.py": None,
    "zoro/services/collections.py": None,
    "zoro/services/collection_update.py": None,
    "zoro/services/examples.py": None,
    "zoro/services/recommend.py": None,
    "zoro/services/groups.py": None,
    "zoro/services/search.py": None,
    "zoro/services/ordering.py": None,
}

_REFUSALS = frozenset(
    name
    for name, value in vars(errors).items()
    if inspect.isclass(value) and issubclass(value, errors.BadRequest)
)


def _called(node: ast.AST) -> str:
    """The name a call calls (`BadRequest`, `errors.BadRequest` -> "BadRequest")."""
    func = node.func if isinstance(node, ast.Call) else node
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _through_a_rule(node: ast.With | ast.AsyncWith | ast.Try) -> bool:
    """A `with rule.covering():` block, or a `try` whose BadRequest handler raises through a
    rule (`raise rule.error(...)`)."""
    if isinstance(node, ast.With | ast.AsyncWith):
        return any(_called(item.context_expr) == "covering" for item in node.items)
    for handler in node.handlers:
        raises = [n for n in ast.walk(handler) if isinstance(n, ast.Raise)]
        if raises and all(r.exc is not None and _called(r.exc) == "error" for r in raises):
            return True
    return False


def strays(source: str, functions: tuple[str, ...] | None = None) -> list[str]:
    """Each refusal of `source` that does not go through zoro.wire, as "line: what"."""
    tree = ast.parse(source)
    roots: list[ast.AST] = [tree]
    if functions is not None:
        roots = [
            node
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in functions
        ]
        assert {r.name for r in roots if hasattr(r, "name")} == set(functions), functions
    found: list[str] = []

    def visit(node: ast.AST, covered: bool) -> None:
        if isinstance(node, ast.Raise) and node.exc and _called(node.exc) in _REFUSALS:
            found.append(f"{node.lineno}: raise {_called(node.exc)}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if isinstance(owner, ast.Name) and owner.id == "validate" and not covered:
                found.append(f"{node.lineno}: validate.{node.func.attr}(...) outside a rule")
        if isinstance(node, ast.With | ast.AsyncWith | ast.Try) and _through_a_rule(node):
            covered = True
        for child in ast.iter_child_nodes(node):
            visit(child, covered)

    for root in roots:
        visit(root, False)
    return found


@pytest.mark.parametrize("module", sorted(CONVERTED))
def test_converted_services_refuse_only_through_zoro_wire(module: str) -> None:
    found = strays((ROOT / module).read_text(), CONVERTED[module])
    assert not found, f"{module} refuses outside zoro.wire:\n" + "\n".join(found)


def test_the_guard_finds_a_stray_refusal() -> None:
    source = """
from zoro.errors import BadRequest, DimensionMismatch
from zoro.services import validate
from zoro.wire import rules

def bad(body):
    if body.get("x"):
        raise BadRequest("body.x: no")
    raise DimensionMismatch("body.v: 3, not 4")

def hand(body):
    return validate.integer(body["n"], "n", low=0)

def good(body):
    with rules.FILTER.covering():
        validate.mapping(body, "body")
    try:
        validate.collection_name(body["name"], None)
    except BadRequest as exc:
        raise rules.COLLECTION_NAME.error("name", exc.message) from None
    raise rules.FACET_INDEX.error("body.key", "no index")
"""
    assert [s.split(": ", 1)[1] for s in strays(source)] == [
        "raise BadRequest",
        "raise DimensionMismatch",
        "validate.integer(...) outside a rule",
    ]
    assert strays(source, ("good",)) == []
