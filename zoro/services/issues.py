"""GET and DELETE /issues: problems Zoro sees in its own state, in Qdrant's shape.

    {"issues": [{"id", "description", "solution", "timestamp", "related_collection"}]}

Issues come from the collections as they are at each GET: a collection that failed (with its
reason), and payload keys that filters use with no payload index (Qdrant's UNINDEXED_FIELD).
DELETE clears the board: a cleared issue stays hidden while its condition lasts, and comes back
if the condition goes away and returns (filtered keys are remembered, not timed, so "seen again
since" cannot be told apart from "still there").
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from zoro.actors import ActorState

if TYPE_CHECKING:
    from zoro.services.context import Context


@dataclass
class IssueBoard:
    """When each issue was first seen, and which ones were cleared."""

    first_seen: dict[str, str] = field(default_factory=dict)
    cleared: set[str] = field(default_factory=set)
    # GET and DELETE run on the event loop; the lock keeps the board whole if that changes
    lock: threading.Lock = field(default_factory=threading.Lock)


def report(ctx: Context) -> dict[str, Any]:
    current = _current(ctx)
    board = ctx.issues
    now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    with board.lock:
        board.cleared &= set(current)  # a cleared condition that went away may come back
        board.first_seen = {i: board.first_seen.get(i, now) for i in current}
        shown = [
            {**issue, "timestamp": board.first_seen[issue_id]}
            for issue_id, issue in sorted(current.items())
            if issue_id not in board.cleared
        ]
    return {"issues": shown}


def clear(ctx: Context) -> bool:
    current = _current(ctx)
    with ctx.issues.lock:
        ctx.issues.cleared |= set(current)
    return True


def _current(ctx: Context) -> dict[str, dict[str, Any]]:
    issues: dict[str, dict[str, Any]] = {}
    manager = ctx.manager
    for status in manager.statuses():
        if status.state is ActorState.FAILED:
            issue_id = f"COLLECTION_FAILED/{status.name}"
            issues[issue_id] = _issue(
                issue_id,
                f"Collection `{status.name}` failed and serves nothing: {status.failure}",
                "Fix the cause named (disk space, a damaged file), then restart the server",
                status.name,
            )
        elif status.state is ActorState.READY:
            for key in manager.actor(status.name).unindexed_filter_keys():
                issue_id = f"UNINDEXED_FIELD/{status.name}/{key}"
                issues[issue_id] = _issue(
                    issue_id,
                    f"Unindexed field '{key}' might be slowing down searches in collection "
                    f"'{status.name}': filters on it scan payloads",
                    f"Create a payload index on '{key}' with the type its filters compare: "
                    f"PUT /collections/{status.name}/index",
                    status.name,
                )
    return issues


def _issue(issue_id: str, description: str, refactor: str, collection: str) -> dict[str, Any]:
    return {
        "id": issue_id,
        "description": description,
        "solution": {"refactor": refactor},
        "related_collection": collection,
    }
