"""Prometheus text metrics: requests by route and status, latency histograms, and per-collection
figures read from the actors at scrape time."""

from __future__ import annotations

import bisect
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zoro.services import Context

RECENT_ERRORS = 100  # error answers kept for GET /errors (the dashboard's Health page)
ERROR_MESSAGE_CHARS = 2000

LATENCY_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass(slots=True)
class Responses:
    """The answers of one route with one status (GET /telemetry shows them)."""

    count: int = 0
    total_s: float = 0.0
    min_s: float = float("inf")
    max_s: float = 0.0
    last_at: float = 0.0  # unix seconds

    def add(self, elapsed_s: float) -> None:
        self.count += 1
        self.total_s += elapsed_s
        self.min_s = min(self.min_s, elapsed_s)
        self.max_s = max(self.max_s, elapsed_s)
        self.last_at = time.time()


@dataclass(frozen=True, slots=True)
class ErrorAnswer:
    """One error answer: when, on which route, its status and the message the client got."""

    at: float  # unix seconds
    route: str
    status: int
    message: str


class Metrics:
    def __init__(self) -> None:
        self._requests: dict[tuple[str, int], Responses] = defaultdict(Responses)
        self._buckets: dict[str, list[int]] = {}
        self._sums: dict[str, float] = defaultdict(float)
        self._errors: deque[ErrorAnswer] = deque(maxlen=RECENT_ERRORS)

    def note_error(self, route: str, status: int, message: str) -> None:
        self._errors.append(ErrorAnswer(time.time(), route, status, message[:ERROR_MESSAGE_CHARS]))

    def recent_errors(self) -> list[ErrorAnswer]:
        """The last RECENT_ERRORS error answers, newest first."""
        return list(reversed(self._errors))

    def responses(self) -> dict[tuple[str, int], Responses]:
        """(route name, status) -> its answers so far."""
        return dict(self._requests)

    def observe(self, route: str, status: int, elapsed_s: float) -> None:
        self._requests[(route, status)].add(elapsed_s)
        counts = self._buckets.get(route)
        if counts is None:
            counts = self._buckets[route] = [0] * (len(LATENCY_BUCKETS_S) + 1)
        counts[bisect.bisect_left(LATENCY_BUCKETS_S, elapsed_s)] += 1
        self._sums[route] += elapsed_s

    def render(self, ctx: Context) -> str:
        out = [
            "# HELP zoro_http_requests_total HTTP requests by route and status.",
            "# TYPE zoro_http_requests_total counter",
        ]
        for (route, status), answers in sorted(self._requests.items()):
            out.append(
                f'zoro_http_requests_total{{route="{route}",status="{status}"}} {answers.count}'
            )
        out += [
            "# HELP zoro_http_request_seconds HTTP request latency by route.",
            "# TYPE zoro_http_request_seconds histogram",
        ]
        for route, counts in sorted(self._buckets.items()):
            running = 0
            for bound, n in zip((*LATENCY_BUCKETS_S, float("inf")), counts, strict=True):
                running += n
                le = "+Inf" if bound == float("inf") else repr(bound)
                out.append(
                    f'zoro_http_request_seconds_bucket{{route="{route}",le="{le}"}} {running}'
                )
            out.append(f'zoro_http_request_seconds_sum{{route="{route}"}} {self._sums[route]:.6f}')
            out.append(f'zoro_http_request_seconds_count{{route="{route}"}} {running}')
        out += _collection_lines(ctx)
        return "\n".join(out) + "\n"


_COLLECTION_GAUGES = (
    ("zoro_collection_points", "Live points.", "live_points"),
    ("zoro_actor_mailbox_depth", "Writes waiting in the actor's mailbox.", "mailbox_depth"),
    ("zoro_wal_syncs_total", "WAL fsyncs since the collection opened.", "wal_syncs"),
    ("zoro_wal_records_total", "WAL records since the collection opened.", "wal_records"),
    ("zoro_wal_bytes", "Bytes in WAL segment files.", "wal_bytes"),
    ("zoro_last_lsn", "Last applied log sequence number.", "last_lsn"),
    ("zoro_checkpoint_lsn", "LSN of the last checkpoint.", "checkpoint_lsn"),
    (
        "zoro_recovery_records_to_replay",
        "WAL records after the checkpoint at the last opening (recovery's work).",
        "recovery_records_to_replay",
    ),
    (
        "zoro_recovery_records_replayed",
        "WAL records the last opening has replayed so far.",
        "recovery_records_replayed",
    ),
    ("zoro_storage_slots", "Slots in the source files: live, garbage, void.", "slots"),
    (
        "zoro_storage_garbage_slots",
        "Slots replaced or deleted, not yet compacted.",
        "garbage_slots",
    ),
    (
        "zoro_storage_file_generation",
        "The file generation in use (one per compaction).",
        "file_generation",
    ),
    ("zoro_compaction_running", "1 while a compaction runs.", "compacting"),
    ("zoro_compactions_total", "Compactions finished since the collection opened.", "compactions"),
    ("zoro_compaction_bytes_total", "Bytes copied by compactions since open.", "compaction_bytes"),
    (
        "zoro_compaction_last_seconds",
        "How long the last compaction took.",
        "compaction_last_seconds",
    ),
)


def _collection_lines(ctx: Context) -> list[str]:
    manager = ctx.manager
    stats = {}
    for status in manager.statuses():
        stats[status.name] = manager.actor(status.name).statistics()
    out: list[str] = []
    for metric, help_text, attr in _COLLECTION_GAUGES:
        kind = "counter" if metric.endswith("_total") else "gauge"
        out += [f"# HELP {metric} {help_text}", f"# TYPE {metric} {kind}"]
        out += [f'{metric}{{collection="{name}"}} {getattr(s, attr)}' for name, s in stats.items()]
    out += [
        "# HELP zoro_wal_records_per_sync WAL records per fsync since open (group commit).",
        "# TYPE zoro_wal_records_per_sync gauge",
    ]
    for name, s in stats.items():
        ratio = s.wal_records / s.wal_syncs if s.wal_syncs else 0.0
        out.append(f'zoro_wal_records_per_sync{{collection="{name}"}} {ratio:.3f}')
    out += [
        "# HELP zoro_collection_up 1 if the collection serves.",
        "# TYPE zoro_collection_up gauge",
    ]
    out += [
        f'zoro_collection_up{{collection="{name}",state="{s.state.value}"}} '
        f"{1 if s.state.value == 'ready' else 0}"
        for name, s in stats.items()
    ]
    ready = [name for name, s in stats.items() if s.state.value == "ready"]
    return out + _payload_index_lines(ctx, ready)


_PAYLOAD_GAUGES = (
    ("zoro_payload_index_points", "Live points holding an indexed value.", "points"),
    ("zoro_payload_index_entries", "(value, point) entries held, dead ones included.", "entries"),
    ("zoro_payload_index_memory_bytes", "Memory a payload index holds.", "memory_bytes"),
)


def _payload_index_lines(ctx: Context, names: list[str]) -> list[str]:
    infos = [(name, ctx.manager.actor(name).payload_info()) for name in names]
    out: list[str] = []
    for metric, help_text, attr in _PAYLOAD_GAUGES:
        out += [f"# HELP {metric} {help_text}", f"# TYPE {metric} gauge"]
        for name, fields in infos:
            out += [f"{metric}{{{_labels(name, f)}}} {getattr(f, attr)}" for f in fields]
    out += [
        "# HELP zoro_payload_index_bytes_per_value Memory per indexed (value, point) entry.",
        "# TYPE zoro_payload_index_bytes_per_value gauge",
    ]
    for name, fields in infos:
        out += [
            f"zoro_payload_index_bytes_per_value{{{_labels(name, f)}}} "
            f"{f.memory_bytes / f.entries if f.entries else 0.0:.2f}"
            for f in fields
        ]
    return out


def _labels(collection: str, field: Any) -> str:
    """Prometheus labels for one payload index (a zoro.actors.FieldInfo)."""
    key = str(field.key).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'collection="{collection}",key="{key}",schema="{field.schema}"'
