"""The batch of updates (`POST .../points/batch`): a list of operations, each one the body of the
single route it names (upsert, delete, the payload updates, update and delete vectors), so its
description is theirs and nothing is written twice."""

from __future__ import annotations

from typing import Any, Final

from zoro.settings import LimitSettings
from zoro.wire import points, rules, writes
from zoro.wire.schema import Schema, WireRequest, array, obj, one_of

# operation name -> the route whose body it carries
OPERATIONS: Final = {
    "upsert": "upsert_points",
    "delete": "delete_points",
    "set_payload": "set_payload",
    "overwrite_payload": "overwrite_payload",
    "delete_payload": "delete_payload",
    "clear_payload": "clear_payload",
    "update_vectors": "update_vectors",
    "delete_vectors": "delete_vectors",
}
_SINGLE: Final = {r.route: r for r in (*points.REQUESTS, *writes.REQUESTS)}
_DEFAULT_LIMITS: Final = LimitSettings()


def _operation_body(route: str, limits: LimitSettings) -> Schema:
    """A single route's body as an operation (its rules are listed once, on the batch)."""
    return {k: v for k, v in _SINGLE[route].build(limits).items() if k != "x-zoro-rules"}


def _rules() -> tuple[rules.Rule, ...]:
    """The rules of the operations' routes, and the batch's own."""
    listed = {
        rule_id
        for route in OPERATIONS.values()
        for rule_id in _SINGLE[route].build(_DEFAULT_LIMITS)["x-zoro-rules"]
    }
    known = [r for r in vars(rules).values() if isinstance(r, rules.Rule)]
    return (*(r for r in known if r.id in listed), rules.BATCH_POINTS)


def _batch(limits: LimitSettings) -> Schema:
    item = one_of(
        *(
            obj({name: _operation_body(route, limits)}, required=(name,))
            for name, route in OPERATIONS.items()
        ),
        about="one operation: {" + " | ".join(f'"{name}": ...' for name in OPERATIONS) + "}",
    )
    return rules.with_rules(
        obj(
            {
                "operations": array(
                    item, about="applied in order and logged as one record: all or nothing"
                )
            },
            required=("operations",),
        ),
        *_rules(),
    )


def _wrapped(route: str, body: dict[str, Any]) -> dict[str, Any]:
    name = next(n for n, r in OPERATIONS.items() if r == route)
    return {"operations": [{name: body}]}


def _examples() -> tuple[dict[str, Any], ...]:
    """Each single route's examples as a batch of one operation."""
    return tuple(
        _wrapped(route, example)
        for route in OPERATIONS.values()
        for example in _SINGLE[route].examples
    )


def _rule_examples() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for route in OPERATIONS.values():
        for rule_id, body in _SINGLE[route].rule_examples.items():
            out.setdefault(rule_id, _wrapped(route, body))
    # two deletes of 50,001 ids each: more points than one request may name
    half = _DEFAULT_LIMITS.max_batch_points // 2 + 1
    many = {"delete": {"points": list(range(10**9, 10**9 + half))}}
    out[rules.BATCH_POINTS.id] = {"operations": [many, many]}
    return out


def _prepare() -> tuple[tuple[str, str, dict[str, Any] | None], ...]:
    """What the operations' examples need first: every single route's preparation, once."""
    steps: list[tuple[str, str, dict[str, Any] | None]] = []
    for route in OPERATIONS.values():
        steps += [step for step in _SINGLE[route].prepare if step not in steps]
    return tuple(steps)


REQUESTS: Final = (
    WireRequest(
        "batch_update",
        _batch,
        root="",
        examples=_examples(),
        rule_examples=_rule_examples(),
        prepare=_prepare(),
    ),
)
