"""Snapshot request bodies: recovering a collection from an archive (zoro.storage.snapshots)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from zoro.wire import rules
from zoro.wire.schema import Schema, WireRequest, enum, nullable, obj, string

if TYPE_CHECKING:
    from zoro.settings import LimitSettings

PRIORITIES: Final = ("no_sync", "snapshot", "replica")


def _recover(limits: LimitSettings) -> Schema:
    return rules.with_rules(
        obj(
            {
                "location": string(
                    min_length=1,
                    max_length=4096,
                    about="an http(s) URL, a file:// URL or a path; a relative path is taken "
                    "under the server's snapshots directory (<collection>/<name>.snapshot)",
                ),
                "priority": nullable(
                    enum(*PRIORITIES, about="accepted; one node has no replicas to sync")
                ),
                "checksum": nullable(
                    string(min_length=64, max_length=64, about="the archive's SHA-256, in hex")
                ),
                "api_key": nullable(string(about="sent to an http(s) location as api-key")),
            },
            required=("location",),
        ),
        rules.SNAPSHOT_LOCATION,
        rules.SNAPSHOT_CHECKSUM,
    )


REQUESTS: Final = (
    WireRequest(
        "recover_snapshot",
        _recover,
        root="",
        # restored into a collection of its own, from a snapshot of the stage's, taken first
        path="/collections/wire_restored/snapshots/recover",
        prepare=(("POST", "/collections/{collection}/snapshots", None),),
        examples=(
            {"location": "{collection}/{snapshot}"},
            {
                "location": "{collection}/{snapshot}",
                "priority": "snapshot",
                "checksum": None,
                "api_key": None,
            },
        ),
        rule_examples={
            "snapshot-location": {"location": "/etc/hostname"},
            "snapshot-checksum": {"location": "{collection}/{snapshot}", "checksum": "0" * 64},
        },
    ),
)
