"""Writing points and vectors: upsert, update and delete vectors, and the batch of updates."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from zoro.settings import LimitSettings
from zoro.wire import bounds, filters, rules
from zoro.wire.common import (
    ANY_VECTOR,
    DENSE,
    MULTI,
    POINT_ID,
    SHARD_KEY,
    VECTOR_STRUCT,
    payload,
    point_ids,
)
from zoro.wire.points import FILTER
from zoro.wire.schema import (
    Schema,
    WireRequest,
    any_of,
    array,
    enum,
    integer,
    map_of,
    nullable,
    obj,
    string,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

UPDATE_MODES: Final = ("upsert", "insert_only", "update_only")
# the batch form's vectors: one per id, as a list or as {name: column}
BATCH_VECTORS: Final = any_of(
    array(DENSE),
    array(MULTI),
    map_of(
        array(nullable(ANY_VECTOR)),
        about="{name: [one vector per id, null where a point has none]}",
    ),
    about="one vector per id: a list of dense vectors or of multivectors, or named columns",
)


def either(fields: Sequence[str], about: str) -> Schema:
    """Exactly one of `fields` is present (null counts as present, as the services read it):
    the one constraint of these bodies that spans fields and still is JSON Schema."""
    branches = [
        {"required": [field], "not": {"anyOf": [{"required": [o]} for o in fields if o != field]}}
        for field in fields
    ]
    # under allOf, so its words (the description) are its own, not the whole body's
    return {"allOf": [{"oneOf": branches, "description": about}]}


def point(limits: LimitSettings) -> Schema:
    """One point of an upsert's `points` list."""
    return obj(
        {"id": POINT_ID, "vector": VECTOR_STRUCT, "payload": payload(limits)},
        required=("id", "vector"),
    )


def batch(limits: LimitSettings) -> Schema:
    """An upsert's column form: ids, their vectors, their payloads."""
    return obj(
        {
            "ids": point_ids(limits),
            "vectors": BATCH_VECTORS,
            "payloads": nullable(array(payload(limits), about="one per id")),
        },
        required=("ids", "vectors"),
    )


def upsert(limits: LimitSettings) -> Schema:
    body = obj(
        {
            "points": array(point(limits), max_items=limits.max_batch_points),
            "batch": batch(limits),
            "update_filter": FILTER,
            "update_mode": nullable(enum(*UPDATE_MODES, about="default upsert")),
            "shard_key": SHARD_KEY,
        }
    )
    body |= either(
        ("points", "batch"), 'an object with either "points": [...] or "batch": {...}, not both'
    )
    return _upsert_rules(body)


def binary_header(limits: LimitSettings) -> Schema:
    """The JSON header of an upsert sent as application/vnd.zoro.points (zoro.wire.binary,
    docs/binary-points.md): the batch form's ids and payloads, and the layout of the float32
    matrices after it, one per named dense vector, each with a row per id."""
    layout = obj(
        {
            "name": string(about='a dense vector of the collection ("" the unnamed one)'),
            "dim": integer(low=1, high=bounds.VECTOR_SIZE_MAX, about="its size"),
        },
        required=("name", "dim"),
    )
    body = obj(
        {
            "ids": point_ids(limits),
            "payloads": nullable(array(payload(limits), about="one per id")),
            "vectors": array(layout, about="the matrices that follow the header, in order"),
            "update_filter": FILTER,
            "update_mode": nullable(enum(*UPDATE_MODES, about="default upsert")),
        },
        required=("ids", "vectors"),
    )
    return _upsert_rules(body)


def update_vectors(limits: LimitSettings) -> Schema:
    item = obj({"id": POINT_ID, "vector": VECTOR_STRUCT}, required=("id", "vector"))
    return rules.with_rules(
        obj(
            {
                "points": array(item, min_items=1, max_items=limits.max_batch_points),
                "update_filter": FILTER,
                "shard_key": SHARD_KEY,
            },
            required=("points",),
        ),
        rules.VECTOR_NAMES,
        rules.VECTOR_SIZE,
        rules.VECTOR_VALUES,
        rules.POINT_ID_UUID,
        rules.WHOLE_INTEGERS,
        *filters.RULES,
    )


def delete_vectors(limits: LimitSettings) -> Schema:
    body = obj(
        {
            "points": point_ids(limits, min_items=1),
            "filter": FILTER,
            "vector": array(string(), min_items=1, about="the names of the vectors to delete"),
            "shard_key": SHARD_KEY,
        },
        required=("vector",),
    )
    body |= either(("points", "filter"), 'an object with either "points": [ids] or "filter"')
    return rules.with_rules(
        body,
        rules.VECTOR_NAMES,
        rules.POINT_ID_UUID,
        rules.WHOLE_INTEGERS,
        rules.POINTS_OR_FILTER,  # a null filter chooses no points
        *filters.RULES,
    )


# ---------------------------------------------------------------- examples (docs/wire-schema.md)

# The constraint test's collection "wire_c" (4-d, Dot, unnamed vector, points 0..5 red/blue).
# Examples write ids >= 100 only, in green; the boundary ids (0 and the largest) are sent too,
# so each example is worded to leave point 0 as it is (insert_only, a filter on green) or
# restores it first (`prepare`).
_V: Final = [0.1, 0.2, 0.3, 0.4]
_GREEN: Final = {"must": [{"key": "color", "match": {"value": "green"}}]}
_POINTS: Final = "/collections/{collection}/points?wait=true"
_STAGE: Final = (
    (
        "PUT",
        _POINTS,
        {
            "points": [
                {"id": 0, "vector": [0, 1.0, 0.5, -1.0], "payload": {"color": "red"}},
                {"id": 100, "vector": _V, "payload": {"color": "green"}},
                {"id": bounds.POINT_ID_MAX, "vector": _V, "payload": {"color": "green"}},
            ]
        },
    ),
)
# a payload one byte over the default limit once encoded
_BIG: Final = "x" * LimitSettings().max_payload_bytes


def _one(**point: Any) -> dict[str, Any]:
    return {"points": [{"id": 100, "vector": _V, **point}]}


REQUESTS: Final = (
    WireRequest(
        "upsert_points",
        upsert,
        root="",
        examples=(
            {
                "points": [{"id": 100, "vector": _V, "payload": {"color": "green"}}],
                "update_mode": "insert_only",
                "shard_key": None,
            },
            {
                "batch": {"ids": [100], "vectors": [_V], "payloads": [{"color": "green"}]},
                "update_filter": _GREEN,
                "update_mode": "update_only",
            },
        ),
        rule_examples={
            "vector-names": _one(vector={"nope": _V}),
            "vector-size": _one(vector=[1.0, 2.0, 3.0]),
            "vector-values": _one(vector=[1e39, 1.0, 1.0, 1.0]),
            "payload-size": _one(payload={"big": _BIG}),
            "batch-lengths": {"batch": {"ids": [100, 101], "vectors": [_V]}},
            "point-id-uuid": _one(id="not-a-uuid"),
            "whole-integers": _one(id=100.0),
            **filters.rule_examples("update_filter", **_one()),
        },
    ),
    WireRequest(
        "update_vectors",
        update_vectors,
        root="",
        examples=(
            {
                "points": [{"id": 100, "vector": _V}],
                "update_filter": _GREEN,
                "shard_key": None,
            },
        ),
        rule_examples={
            "vector-names": _one(vector={"nope": _V}),
            "vector-size": _one(vector=[1.0, 2.0, 3.0]),
            "vector-values": _one(vector=[1e39, 1.0, 1.0, 1.0]),
            "point-id-uuid": _one(id="not-a-uuid"),
            "whole-integers": _one(id=100.0),
            **filters.rule_examples("update_filter", **_one()),
        },
        prepare=_STAGE,
    ),
    WireRequest(
        "delete_vectors",
        delete_vectors,
        root="",
        examples=(
            {"points": [100], "vector": [""], "shard_key": None},
            {"filter": _GREEN, "vector": [""]},
        ),
        rule_examples={
            "vector-names": {"points": [100], "vector": ["nope"]},
            "point-id-uuid": {"points": ["not-a-uuid"], "vector": [""]},
            "whole-integers": {"points": [100.0], "vector": [""]},
            "points-or-filter": {"filter": None, "vector": [""]},
            **filters.rule_examples(vector=[""]),
        },
        prepare=_STAGE,
    ),
)


def _upsert_rules(body: Schema) -> Schema:
    """The rules an upsert's body keeps, in JSON or as a binary body's header."""
    return rules.with_rules(
        body,
        rules.VECTOR_NAMES,
        rules.VECTOR_SIZE,
        rules.VECTOR_VALUES,
        rules.PAYLOAD_SIZE,
        rules.BATCH_LENGTHS,
        rules.POINT_ID_UUID,
        rules.WHOLE_INTEGERS,
        *filters.RULES,
    )
