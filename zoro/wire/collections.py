"""Collections and their configuration: create, update, vector names, payload indexes,
aliases."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from zoro.wire import rules
from zoro.wire.schema import Schema, WireRequest, array, obj, one_of, string

if TYPE_CHECKING:
    from zoro.settings import LimitSettings


def _aliases(limits: LimitSettings) -> Schema:
    name = string(min_length=1, max_length=limits.max_name_length)

    def action(kind: str, *fields: str) -> Schema:
        return obj({kind: obj(dict.fromkeys(fields, name), required=fields)}, required=(kind,))

    item = one_of(
        action("create_alias", "collection_name", "alias_name"),
        action("delete_alias", "alias_name"),
        action("rename_alias", "old_alias_name", "new_alias_name"),
        about="one of create_alias, delete_alias, rename_alias, each its own object",
    )
    return rules.with_rules(
        obj(
            {"actions": array(item, about="applied all together, or (an error answered) none")},
            required=("actions",),
        ),
        rules.COLLECTION_NAME,
    )


REQUESTS: Final = (
    WireRequest(
        "update_aliases",
        _aliases,
        root="",
        examples=(
            {
                "actions": [
                    {"create_alias": {"collection_name": "{collection}", "alias_name": "w1"}}
                ]
            },
            {"actions": [{"rename_alias": {"old_alias_name": "w1", "new_alias_name": "w2"}}]},
            {"actions": [{"delete_alias": {"alias_name": "w2"}}]},
        ),
        rule_examples={
            "collection-name": {
                "actions": [
                    {"create_alias": {"collection_name": "{collection}", "alias_name": "a/b"}}
                ]
            }
        },
    ),
)
