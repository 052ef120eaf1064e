"""The registered rules: what a request must satisfy that JSON Schema cannot say (it depends on
the collection, or spans fields), named so the document states them (`x-zoro-rules`) and the
constraint test knows them.

A service refuses a body for a rule only through the rule (`rule.error(field, detail)`, or
`with rule.covering():` around a parser that checks it): the 400's message then ends with
`[rule: <id>]` (`body.using: ... [rule: matrix-vector]`), so a refusal names the rule it
applies and one that names none is a schema error (or a rule not registered)."""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from zoro.errors import BadRequest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from zoro.wire.schema import Schema

# how a rule's 400 names it, at the end of its message
TAG: Final = re.compile(r" \[rule: ([a-z0-9-]+)\]$")


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    text: str

    def error(self, field: str, detail: str) -> BadRequest:
        """The 400 for a body breaking this rule: `field: detail [rule: id]`."""
        return BadRequest(f"{field}: {detail} [rule: {self.id}]")

    @contextmanager
    def covering(self) -> Iterator[None]:
        """A BadRequest raised in the block (by a parser that checks this rule) becomes this
        rule's: same type, its message tagged with the rule (unless it names one already)."""
        try:
            yield
        except BadRequest as exc:
            if not TAG.search(exc.message):
                exc.message = f"{exc.message} [rule: {self.id}]"
                exc.args = (exc.message,)
            raise


WHOLE_INTEGERS: Final = Rule(
    "whole-integers", "integers are written without a fraction (10, not 10.0)"
)
FILTER: Final = Rule("filter", "`filter` is Qdrant's filter language, checked as it is parsed")
FACET_INDEX: Final = Rule(
    "facet-index", "`key` needs a keyword, integer, bool or uuid payload index"
)
MATRIX_VECTOR: Final = Rule(
    "matrix-vector", "`using` names a dense, single vector of the collection (null: the first)"
)
COLLECTION_NAME: Final = Rule(
    "collection-name",
    "names use letters, digits, '_', '-' and '.', start with a letter, digit or '_', no '..'",
)


def with_rules(schema: Schema, *rules: Rule) -> Schema:
    """`schema` documenting `rules`: their ids in `x-zoro-rules`, their text in `description`."""
    text = "; ".join(rule.text for rule in rules)
    about = schema.get("description")
    return {
        **schema,
        "description": f"{about}. {text}" if about else text,
        "x-zoro-rules": [rule.id for rule in rules],
    }


KEY_PATH: Final = Rule(
    "key-path",
    '`key` is a payload key path: a.b, a[].b, "a.b", no empty step, only `name[]` in brackets',
)
