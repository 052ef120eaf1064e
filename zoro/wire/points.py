"""Reading and removing points, and their payloads: count, scroll, retrieve, delete, and the
payload updates (set, overwrite, delete keys, clear)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from zoro.wire import filters, rules
from zoro.wire.common import (
    ORDER_BY,
    POINT_ID,
    SHARD_KEY,
    WITH_PAYLOAD,
    WITH_VECTOR,
    payload_object,
    point_ids,
)
from zoro.wire.schema import (
    Schema,
    WireRequest,
    array,
    boolean,
    integer,
    nullable,
    obj,
    one_of,
    ref,
    string,
)

if TYPE_CHECKING:
    from zoro.settings import LimitSettings

FILTER: Final = ref("Filter")
_KEY = string(about='a payload key path: a.b, a[0].b, a[].b, "a.b"')
# what every payload update's conversion checks: its filter, and its ids
_SELECTOR_RULES: Final = (
    rules.POINTS_OR_FILTER,
    *filters.RULES,
    rules.WHOLE_INTEGERS,
    rules.POINT_ID_UUID,
)


def _count(limits: LimitSettings) -> Schema:
    return rules.with_rules(
        obj(
            {
                "exact": nullable(boolean("accepted; counts are always exact")),
                "filter": FILTER,  # (the component takes null)
                "shard_key": SHARD_KEY,
            }
        ),
        *filters.RULES,
    )


def _scroll(limits: LimitSettings) -> Schema:
    return rules.with_rules(
        obj(
            {
                "offset": nullable(POINT_ID),  # the previous page's next_page_offset
                "limit": nullable(integer(low=1, high=limits.max_limit, about="default 10")),
                "filter": FILTER,
                "with_payload": WITH_PAYLOAD,
                "with_vector": WITH_VECTOR,
                "order_by": nullable(ORDER_BY),
                "shard_key": SHARD_KEY,
            }
        ),
        *filters.RULES,
        rules.WHOLE_INTEGERS,
        rules.POINT_ID_UUID,
        rules.WITH_VECTOR_NAMES,
        rules.ORDER_BY_INDEX,
        rules.ORDER_BY_OFFSET,
        rules.START_FROM_DATETIME,
    )


def _retrieve(limits: LimitSettings) -> Schema:
    return rules.with_rules(
        obj(
            {
                "ids": point_ids(limits),
                "with_payload": WITH_PAYLOAD,
                "with_vector": WITH_VECTOR,
                "shard_key": SHARD_KEY,
            },
            required=("ids",),
        ),
        rules.WHOLE_INTEGERS,
        rules.POINT_ID_UUID,
        rules.WITH_VECTOR_NAMES,
    )


def _delete(limits: LimitSettings) -> Schema:
    return rules.with_rules(
        one_of(
            obj({"points": point_ids(limits), "shard_key": SHARD_KEY}, required=("points",)),
            obj({"filter": FILTER, "shard_key": SHARD_KEY}, required=("filter",)),
            about='{"points": [ids]} or {"filter": {...}}, not both',
        ),
        *filters.RULES,
        rules.WHOLE_INTEGERS,
        rules.POINT_ID_UUID,
        rules.POINTS_OR_FILTER,  # a null filter chooses no points
    )


def _by_points_or_filter(
    limits: LimitSettings, fields: dict[str, Schema], required: tuple[str, ...]
) -> Schema:
    """A payload update's body: its own `fields`, and the points it changes, named by `points`
    or chosen by `filter` (rule points-or-filter: one of them, not null)."""
    return obj(
        {
            **fields,
            "points": nullable(point_ids(limits, min_items=1)),
            "filter": FILTER,
            "shard_key": SHARD_KEY,
        },
        required=required,
    )


def _set_payload(limits: LimitSettings) -> Schema:
    fields = {
        "payload": payload_object(limits),
        "key": nullable(
            string(about='set the payload under this key path: a.b, a[0].b, a[].b, "a.b"')
        ),
    }
    return rules.with_rules(
        _by_points_or_filter(limits, fields, ("payload",)),
        rules.PAYLOAD_SIZE,
        rules.KEY_PATH,
        *_SELECTOR_RULES,
    )


def _overwrite_payload(limits: LimitSettings) -> Schema:
    return rules.with_rules(
        _by_points_or_filter(limits, {"payload": payload_object(limits)}, ("payload",)),
        rules.PAYLOAD_SIZE,
        *_SELECTOR_RULES,
    )


def _delete_payload(limits: LimitSettings) -> Schema:
    return rules.with_rules(
        _by_points_or_filter(limits, {"keys": array(_KEY)}, ("keys",)),
        rules.KEY_PATH,
        *_SELECTOR_RULES,
    )


def _clear_payload(limits: LimitSettings) -> Schema:
    return rules.with_rules(_by_points_or_filter(limits, {}, ()), *_SELECTOR_RULES)


# The examples that change points change these, never the fixture's: they are written before
# each example (`_POINTS_FIRST`), and a filter picks them by id. UUIDs, so the constraint test's
# id bounds (0, 2**64-1) are not tried on them.
_A: Final = "00000000-0000-4000-8000-000000000100"
_B: Final = "00000000-0000-4000-8000-000000000101"
_THESE: Final = {"must": [{"has_id": [_A, _B]}]}
_POINTS_FIRST: Final = (
    (
        "PUT",
        "/collections/{collection}/points?wait=true",
        {
            "points": [
                {"id": _A, "vector": [1.0, 0.0, 0.0, 0.0], "payload": {"nest": {"a": 1}}},
                {"id": _B, "vector": [0.0, 1.0, 0.0, 0.0], "payload": {"nest": {"a": 2}}},
            ]
        },
    ),
)
_TOO_LARGE: Final = {"big": "x" * (2**20)}  # the default max_payload_bytes, 1 MiB


def _selector_rule_examples(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The rules every payload update shares, each broken along `body` (which names points)."""
    by_filter = {k: v for k, v in body.items() if k != "points"}
    return {
        "points-or-filter": by_filter,
        **filters.rule_examples(**by_filter),
        "whole-integers": {**body, "points": [100.0]},
        "point-id-uuid": {**body, "points": ["not-a-uuid"]},
    }


REQUESTS: Final = (
    WireRequest(
        "count_points",
        _count,
        root="",  # as the service wrote them: `filter.must[0]...`, `exact: ...`
        examples=({"exact": True, "filter": {"must": []}, "shard_key": None},),
        rule_examples=filters.rule_examples(),
    ),
    WireRequest(
        "scroll_points",
        _scroll,
        root="",
        examples=(
            {
                "offset": 1,
                "limit": 3,
                "filter": {"must": []},
                "with_payload": ["color"],
                "with_vector": True,
                "order_by": None,
                "shard_key": None,
            },
            {
                "order_by": {"key": "wire_rank", "direction": "desc", "start_from": 5},
                "offset": None,
                "with_payload": {"exclude": "color"},
            },
            {"order_by": "wire_rank", "limit": 1, "with_payload": {"include": "color"}},
        ),
        rule_examples={
            **filters.rule_examples(),
            "whole-integers": {"limit": 3.0},
            "point-id-uuid": {"offset": "not-a-uuid"},
            "with-vector-names": {"with_vector": ["no_such_vector"]},
            "order-by-index": {"order_by": "color"},  # a keyword index does not order
            "order-by-offset": {"order_by": "wire_rank", "offset": 1},
            "start-from-datetime": {"order_by": {"key": "wire_rank", "start_from": "soon"}},
        },
        # order_by needs a range index: one on a key the fixture's points do not hold
        prepare=(
            (
                "PUT",
                "/collections/{collection}/index?wait=true",
                {"field_name": "wire_rank", "field_schema": "integer"},
            ),
        ),
    ),
    WireRequest(
        "retrieve_points",
        _retrieve,
        root="",
        examples=(
            {"ids": [0, 1], "with_payload": {"include": ["color"]}, "with_vector": [""]},
            {"ids": [3], "with_payload": {"exclude": "color"}},
            {"ids": [2], "with_payload": False, "with_vector": False, "shard_key": None},
        ),
        rule_examples={
            "whole-integers": {"ids": [1.0]},
            "point-id-uuid": {"ids": ["not-a-uuid"]},
            "with-vector-names": {"ids": [0], "with_vector": ["no_such_vector"]},
        },
    ),
    WireRequest(
        "delete_points",
        _delete,
        root="",
        examples=({"points": [_A], "shard_key": None}, {"filter": _THESE, "shard_key": None}),
        rule_examples={
            **filters.rule_examples(),
            "whole-integers": {"points": [100.0]},
            "point-id-uuid": {"points": ["not-a-uuid"]},
            "points-or-filter": {"filter": None},
        },
        prepare=_POINTS_FIRST,
    ),
    WireRequest(
        "set_payload",
        _set_payload,
        examples=(
            {
                "payload": {"wire": 1},
                "points": [_A, _B],
                "filter": None,
                "key": None,
                "shard_key": None,
            },
            {"payload": {"wire": 2}, "filter": _THESE, "points": None, "key": "nest"},
        ),
        rule_examples={
            **_selector_rule_examples({"payload": {"wire": 1}, "points": [_A]}),
            "payload-size": {"payload": _TOO_LARGE, "points": [_A]},
            "key-path": {"payload": {"wire": 1}, "points": [_A], "key": "a..b"},
        },
        prepare=_POINTS_FIRST,
    ),
    WireRequest(
        "overwrite_payload",
        _overwrite_payload,
        examples=(
            {"payload": {"nest": {"a": 3}}, "points": [_A], "filter": None, "shard_key": None},
            {"payload": {"nest": {"a": 4}}, "filter": _THESE, "points": None},
        ),
        rule_examples={
            **_selector_rule_examples({"payload": {"wire": 1}, "points": [_A]}),
            "payload-size": {"payload": _TOO_LARGE, "points": [_A]},
        },
        prepare=_POINTS_FIRST,
    ),
    WireRequest(
        "delete_payload",
        _delete_payload,
        examples=(
            {"keys": ["nest.a"], "points": [_A], "filter": None, "shard_key": None},
            {"keys": ["nest"], "filter": _THESE, "points": None},
        ),
        rule_examples={
            **_selector_rule_examples({"keys": ["nest"], "points": [_A]}),
            "key-path": {"keys": ["a..b"], "points": [_A]},
        },
        prepare=_POINTS_FIRST,
    ),
    WireRequest(
        "clear_payload",
        _clear_payload,
        examples=(
            {"points": [_A], "filter": None, "shard_key": None},
            {"filter": _THESE, "points": None},
        ),
        rule_examples=_selector_rule_examples({"points": [_A]}),
        prepare=_POINTS_FIRST,
    ),
)
