"""The registered rules: what a request must satisfy that JSON Schema cannot say (it depends on
the collection, or spans fields), named so the document states them (`x-zoro-rules`) and the
constraint test knows them.

A service refuses a body for a rule only through the rule (`rule.error(field, detail)`, or
`with rule.covering():` around a parser that checks it): the 400's message then ends with
`[rule: <id>]` (`body.using: ... [rule: matrix-vector]`), so a refusal names the rule it
applies and one that names none is a schema error (or a rule not registered)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from zoro.errors import BadRequest, UnknownVectorName, with_rule
from zoro.wire import bounds

if TYPE_CHECKING:
    from zoro.wire.schema import Schema

# how a rule's 400 names it, at the end of its message
TAG: Final = re.compile(r" \[rule: ([a-z0-9-]+)\]$")


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    text: str

    def error(self, field: str, detail: str) -> BadRequest:
        """The 400 for a body breaking this rule: `field: detail [rule: id]`."""
        return BadRequest(with_rule(f"{field}: {detail}", self.id))

    def covering(self) -> _Covering:
        """A BadRequest raised in the `with` block (by a parser that checks this rule) becomes
        this rule's: same type, its message tagged with the rule (unless it names one already)."""
        return _Covering(self)


class _Covering:
    """`with rule.covering():` as a plain object (a generator-based one costs a hot route
    microseconds per use)."""

    __slots__ = ("rule",)

    def __init__(self, rule: Rule) -> None:
        self.rule = rule

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, traceback: object) -> None:
        if isinstance(exc, BadRequest) and not TAG.search(exc.message):
            exc.message = with_rule(exc.message, self.rule.id)
            exc.args = (exc.message,)
        # (returns None: the error goes on, tagged)


WHOLE_INTEGERS: Final = Rule(
    "whole-integers", "integers are written without a fraction (10, not 10.0)"
)
HAS_VECTOR_NAME: Final = Rule(
    UnknownVectorName.RULE, "a filter's `has_vector` names a vector the collection has"
)
FACET_INDEX: Final = Rule(
    "facet-index", "`key` needs a keyword, integer, bool or uuid payload index"
)
MATRIX_VECTOR: Final = Rule(
    "matrix-vector", "`using` names a dense, single vector of the collection (null: the first)"
)
SNAPSHOT_LOCATION: Final = Rule(
    "snapshot-location",
    "a file location is a snapshot archive under the server's snapshots directory",
)
SNAPSHOT_CHECKSUM: Final = Rule("snapshot-checksum", "a given checksum is the archive's SHA-256")
COLLECTION_NAME: Final = Rule(
    "collection-name",
    "names use letters, digits, '_', '-' and '.', start with a letter, digit or '_', no '..'",
)
POINT_ID_UUID: Final = Rule(
    "point-id-uuid",
    "a string point id is a UUID: hyphenated, 32 hex digits, braced or urn:uuid:",
)
WITH_VECTOR_NAMES: Final = Rule(
    "with-vector-names", "`with_vector` lists vector names the collection has"
)
ORDER_BY_INDEX: Final = Rule(
    "order-by-index", "`order_by.key` needs an integer, float or datetime payload index"
)
ORDER_BY_OFFSET: Final = Rule(
    "order-by-offset", "`offset` is not given with `order_by` (page with `order_by.start_from`)"
)
START_FROM_DATETIME: Final = Rule(
    "start-from-datetime", "a string `start_from` is an RFC 3339 datetime"
)
PAYLOAD_SIZE: Final = Rule(
    "payload-size",
    "a payload encodes to at most the server's max_payload_bytes of JSON (default 1 MiB)",
)
KEY_PATH: Final = Rule(
    "key-path", 'payload keys are key paths: a.b, a[0].b, a[].b, "a.b", no empty step'
)
POINTS_OR_FILTER: Final = Rule(
    "points-or-filter",
    "the points are named by `points` (ids) or chosen by `filter`; the ids win when both are given",
)

VECTOR_NAMES: Final = Rule(
    "vector-names",
    "vector names are ones the collection declares, each vector in its declared form (dense, "
    "multivector or sparse); a bare vector needs the collection's unnamed one",
)
VECTOR_SIZE: Final = Rule(
    "vector-size", "a dense vector, and each row of a multivector, has its vector's size"
)
VECTOR_VALUES: Final = Rule(
    "vector-values",
    "vector numbers are finite as float32; a sparse vector's indices are unique, one value each",
)
BATCH_LENGTHS: Final = Rule(
    "batch-lengths", "a batch holds one vector (per name) and, if given, one payload per id"
)


def with_rules(schema: Schema, *rules: Rule) -> Schema:
    """`schema` documenting `rules`: their ids in `x-zoro-rules`, their text in `description`."""
    rules = tuple({rule.id: rule for rule in rules}.values())  # (filters.RULES overlap others)
    text = "; ".join(rule.text for rule in rules)
    about = schema.get("description")
    return {
        **schema,
        "description": f"{about}. {text}" if about else text,
        "x-zoro-rules": [rule.id for rule in rules],
    }


VECTORS_OR_SPARSE: Final = Rule(
    "vectors-or-sparse", "`vectors` is required unless `sparse_vectors` declares at least one"
)
SPARSE_NAME: Final = Rule("sparse-name", "a sparse vector's name is not also a dense vector's name")
METADATA_SIZE: Final = Rule(
    "metadata-size", "`metadata` encoded as JSON is at most max_payload_bytes, as a payload"
)
VECTOR_NAMES_KNOWN: Final = Rule(
    "vector-names-known",
    "`vectors` and `sparse_vectors` name dense and sparse vectors the collection has",
)
INDEX_SCHEMA: Final = Rule(
    "index-schema", "`field_schema` (or Qdrant's older `field_type`) gives the index type"
)
PAYLOAD_KEY: Final = Rule(
    "payload-key", "`field_name` is a payload key path: a.b, a[].b (no empty step; only [])"
)
TOKEN_LENGTHS: Final = Rule(
    "token-lengths", "a text index's min_token_len is at most its max_token_len"
)
STOPWORD_LISTS: Final = Rule(
    "stopword-lists",
    "Zoro-DB has no stopword list for azerbaijani, bengali, hebrew, hinglish, kazakh, nepali, "
    "tajik: give those words in `custom`",
)
DENSE_OR_SPARSE: Final = Rule(
    "dense-or-sparse", 'a new vector is either {"dense": {...}} or {"sparse": {...}}, not both'
)
# The Query API (query, query batch, query groups): what its schema cannot say.
QUERY_VECTOR: Final = Rule(
    "query-vector",
    "a query's vector fits the vector searched: its dimension and its kind (dense, sparse or "
    "multivector; MMR and queries by example need a dense, single one); a point id names a "
    "point holding that vector, and a string id is a UUID",
)
QUERY_USING: Final = Rule(
    "query-using",
    "`using` names a vector of the collection (null: the first dense one); `lookup_from` a "
    "collection, and there a dense vector of the same size",
)
PREFETCH_TREE: Final = Rule(
    "prefetch-tree",
    f"prefetches nest at most {bounds.PREFETCH_MAX_DEPTH} levels below the request's own, at "
    f"most {bounds.PREFETCH_MAX_NODES} nodes in all, and the limits (with the offset and MMR "
    "candidates) of a query and all its prefetches add up to at most "
    f"{bounds.PREFETCH_MAX_CANDIDATES}",
)
FUSION: Final = Rule(
    "fusion",
    "a fusion (fusion, rrf) needs prefetches and takes no `using`; a request with prefetches "
    "needs a query to merge them; a score_threshold needs a query",
)
RRF_WEIGHTS: Final = Rule("rrf-weights", "rrf `weights` has one weight per prefetch")
QUERY_EXAMPLES: Final = Rule(
    "query-examples",
    f"a query by example takes at most {bounds.QUERY_EXAMPLES_MAX} examples; average_vector "
    "needs a positive one, the other strategies one of either; a sparse vector is recommended "
    "by average_vector only",
)
GROUP_BY: Final = Rule("group-by", '`group_by` is a payload key path (a.b, a[0].b, a[].b, "a.b")')
GROUP_HITS: Final = Rule("group-hits", "group_size x limit is at most 10 x max_limit")
# The older search, recommend and discover routes.
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
EXAMPLE_COUNT: Final = Rule(
    "example-count",
    "average_vector needs a positive example, best_score and sum_scores an example of either "
    "side, discover a target or context pairs; at most "
    f"{bounds.QUERY_EXAMPLES_MAX} examples in all",
)
EXAMPLE_VECTOR: Final = Rule(
    "example-vector",
    "queries by example search a dense `using` vector (a sparse one only by average_vector, "
    "with sparse examples); an example id names a point holding that vector; lookup_from's "
    "vector is dense and of the searched vector's size",
)
BATCH_POINTS: Final = Rule(
    "batch-points",
    "a batch's operations name at most max_batch_points points in all (a filter counts one)",
)
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
