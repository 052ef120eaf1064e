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


VECTOR_NAME: Final = Rule(
    "vector-name",
    "a vector name (`using`, `vector.name`, `lookup_from.vector`, `with_vector`) is one the "
    "collection has; without one, the collection's unnamed vector or its only dense one",
)
VECTOR_SHAPE: Final = Rule(
    "vector-shape",
    "a vector sent matches the vector it is compared with: dense, sparse or a multivector as "
    "that one is, as many numbers as its size, each finite as a float32; a sparse vector's "
    "indices unique",
)
GROUP_HITS: Final = Rule("group-hits", "group_size x limit is at most 10 x max_limit")
GROUP_BY: Final = Rule("group-by", "`group_by` is a key path: a.b, a[].b, no empty step")
EXAMPLE_COUNT: Final = Rule(
    "example-count",
    "average_vector needs a positive example, best_score and sum_scores an example of either "
    f"side, discover a target or context pairs; at most {bounds.MAX_EXAMPLES} examples in all",
)
EXAMPLE_VECTOR: Final = Rule(
    "example-vector",
    "queries by example search a dense `using` vector (a sparse one only by average_vector, "
    "with sparse examples); an example id names a point holding that vector; lookup_from's "
    "vector is dense and of the searched vector's size",
)
