"""GET /collections/{name}/optimizations: the background index builds, in Qdrant's shape.

Qdrant's optimizations are segment rewrites; Zoro's are the seal jobs of each dense vector's
index (zoro.ann.segments): frozen flat buffers waiting to be built into HNSW ("indexing"),
flat segments merged ("merge"). Zoro's segments have no UUIDs: each one shown gets a UUID
derived from the collection's id, the vector and the segment's place, stable while the
segment lives (Qdrant's segment ids are in-memory only, too).

    {"summary": {"queued_optimizations", "queued_segments", "queued_points", "idle_segments"},
     "running": [Optimization], "queued"?: [...], "completed"?: [...], "idle_segments"?: [...]}
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from zoro.errors import BadRequest

if TYPE_CHECKING:
    from collections.abc import Mapping

    from zoro.services.context import Context

_WITH = ("queued", "completed", "idle_segments")
COMPLETED_LIMIT_DEFAULT = 16


def optimizations(
    ctx: Context, name: str, with_: str | None, completed_limit: str | None
) -> dict[str, Any]:
    shown = _parse_with(with_)
    limit = _parse_limit(completed_limit)
    actor = ctx.manager.serving(name)
    namespace = uuid.UUID(actor.entry.id)
    running: list[dict[str, Any]] = []
    queued: list[dict[str, Any]] = []
    completed: list[dict[str, Any]] = []
    idle: list[dict[str, Any]] = []
    for number, stats in _per_vector(actor.statistics().indexed).items():
        ids = _Ids(namespace, number)
        job = stats.get("job")
        if job is not None:
            shown_job = _optimization(ids, job, stats["jobs_built"], "optimizing")
            (running if job["started_at"] is not None else queued).append(shown_job)
        waiting = stats.get("waiting_segments") or ()
        if waiting:
            queued.append(
                {
                    "optimizer": "indexing",
                    "segments": [ids.segment("frozen", i, n) for i, n in enumerate(waiting)],
                }
            )
        base = stats["jobs_built"] - len(stats.get("completed_jobs") or ())
        for i, done in enumerate(stats.get("completed_jobs") or ()):
            completed.append(_optimization(ids, done, base + i, "done"))
        idle += [
            ids.segment("sealed", i, s["points"] - s["deleted"])
            for i, s in enumerate(stats.get("sealed") or ())
        ]
    queued_segments = sum(len(q["segments"]) for q in queued)
    out: dict[str, Any] = {
        "summary": {
            "queued_optimizations": len(queued),
            "queued_segments": queued_segments,
            "queued_points": sum(s["points_count"] for q in queued for s in q["segments"]),
            "idle_segments": len(idle),
        },
        "running": running,
    }
    if "queued" in shown:
        out["queued"] = [{"optimizer": q["optimizer"], "segments": q["segments"]} for q in queued]
    if "completed" in shown:
        completed.sort(key=lambda o: o["progress"].get("finished_at") or "", reverse=True)
        out["completed"] = completed[:limit]
    if "idle_segments" in shown:
        out["idle_segments"] = idle
    return out


class _Ids:
    """Stable UUIDs for one vector's segments and jobs."""

    def __init__(self, namespace: uuid.UUID, number: str) -> None:
        self._namespace = namespace
        self._number = number

    def of(self, what: str) -> str:
        return str(uuid.uuid5(self._namespace, f"{self._number}/{what}"))

    def segment(self, kind: str, place: int, points: int) -> dict[str, Any]:
        return {"uuid": self.of(f"{kind}/{place}"), "points_count": int(points)}


def _optimization(ids: _Ids, job: Mapping[str, Any], seq: int, status: str) -> dict[str, Any]:
    """One build as Qdrant's Optimization; `seq`: how many builds this index finished before."""
    optimizer = "indexing" if job["kind"] == "hnsw" else "merge"
    started, finished = job["started_at"], job["finished_at"]
    progress: dict[str, Any] = {
        "name": optimizer,
        "done": job["points_done"],
        "total": job["points_to_add"],
        "children": [],
    }
    if started is not None:
        progress["started_at"] = _iso(started)
    if finished is not None:
        progress["finished_at"] = _iso(finished)
        if started is not None:
            progress["duration_sec"] = max(finished - started, 0.0)
    return {
        "uuid": ids.of(f"job/{seq}"),
        "optimizer": optimizer,
        "status": status,
        "segments": [ids.segment("input", i, n) for i, n in enumerate(job["input_segments"])],
        "progress": progress,
    }


def _per_vector(indexed: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Each dense vector's index statistics, by vector number (see actor._index_stats)."""
    if not indexed:
        return {}
    vectors = indexed.get("vectors")
    return dict(vectors) if vectors else {"0": indexed}


def _iso(unix_s: float) -> str:
    return dt.datetime.fromtimestamp(unix_s, dt.UTC).isoformat().replace("+00:00", "Z")


def _parse_with(value: str | None) -> set[str]:
    if not value:
        return set()
    asked = {part.strip() for part in value.split(",") if part.strip()}
    unknown = sorted(asked - set(_WITH))
    if unknown:
        raise BadRequest(f"with: unknown {', '.join(unknown)}; use any of {', '.join(_WITH)}")
    return asked


def _parse_limit(value: str | None) -> int:
    if value is None:
        return COMPLETED_LIMIT_DEFAULT
    if not value.isdigit():
        raise BadRequest("completed_limit: must be a non-negative integer")
    return int(value)
