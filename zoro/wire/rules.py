"""The registered rules: what a request must satisfy that JSON Schema cannot say (it depends on
the collection, or spans fields), named so the document states them (`x-zoro-rules`) and the
constraint test knows them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from zoro.wire import bounds

if TYPE_CHECKING:
    from zoro.wire.schema import Schema


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    text: str


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


# The filter language (zoro/wire/filters.py): what its schema cannot say.
FILTER_DEPTH: Final = Rule(
    "filter-depth",
    f"filters (conditions that are filters, nested filters) nest at most "
    f"{bounds.FILTER_MAX_DEPTH} levels deep",
)
GEO_RING_CLOSED: Final = Rule(
    "geo-ring-closed", "a geo_polygon ring is closed: its first and last points are equal"
)
FILTER_DATETIME: Final = Rule(
    "filter-datetime",
    "a range bound written as a string, and every datetime_range bound, is an RFC 3339 "
    "datetime as Qdrant reads it",
)
POINT_ID_UUID: Final = Rule(
    "point-id-uuid",
    "a point id written as a string is a UUID (hyphenated, 32 hex digits, braced or urn:uuid:)",
)
