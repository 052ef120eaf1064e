"""Configuration as frozen value objects, one per layer, with units in the names.

The CLI builds one `Settings` and hands each layer its own part; nothing reads globals.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class WalSettings:
    segment_max_bytes: int = 64 * 1024 * 1024
    # A checkpoint that covers the whole active segment starts a new one (so the old one can
    # be deleted) once it holds this much.
    retire_active_bytes: int = 1024 * 1024
    # fdatasync is enough for durability of appended data; fsync also syncs metadata times.
    use_fdatasync: bool = True


@dataclass(frozen=True, slots=True)
class StorageSettings:
    # Recent new keys live in a small hash delta; past this many they merge into the sorted index.
    index_delta_max: int = 65_536
    # Compaction (docs/compaction.md) starts once garbage (replaced or deleted slots) is this
    # share of all slots and there are at least `compaction_min_slots` of it; 0 turns the
    # automatic trigger off (POST /collections/{c}/compact still works).
    compaction_garbage_ratio: float = 0.5
    compaction_min_slots: int = 10_000
    # The copy's pace, so the disk stays shared with the WAL's fsyncs and the reads.
    compaction_bytes_per_s: float = 64 * 1024 * 1024
    # The switch (which holds acknowledgements like a checkpoint) copies the slots appended
    # during the copy; while more than this many came, the copy runs another round first.
    compaction_tail_max: int = 20_000


@dataclass(frozen=True, slots=True)
class AnnSettings:
    hnsw_m: int = 16
    hnsw_ef_construct: int = 100
    # 64 gave recall@10 of only 0.91-0.92 on 200k x 128 Euclid data in bench/http.py; 128 gives
    # about 0.97 for some 5% of the search route's time.
    hnsw_ef_search: int = 128
    # The fresh flat segment is sealed into an HNSW segment once it holds this many points.
    fresh_segment_max_points: int = 20_000
    # Collections smaller than this are searched exactly and never get an HNSW graph.
    full_scan_threshold: int = 10_000
    # A sealed segment is rebuilt once this share of its points is deleted.
    rebuild_deleted_ratio: float = 0.2
    build_threads: int = 1


@dataclass(frozen=True, slots=True)
class ActorSettings:
    mailbox_size: int = 4096
    max_batch_points: int = 65_536
    max_batch_bytes: int = 64 * 1024 * 1024
    checkpoint_wal_bytes: int = 256 * 1024 * 1024
    checkpoint_interval_s: float = 300.0
    # After writes pause this long, checkpoint what was applied since the last one (so that a
    # big index built meanwhile gets persisted, and a restart has little WAL to replay).
    idle_checkpoint_s: float = 10.0
    # A search whose estimated cost passes this many microseconds runs in a worker thread;
    # cheaper ones run inline on the event loop (the cost model and its calibration:
    # zoro/actors/planner.py).
    inline_search_max_us: float = 500.0
    # Searches and filter scans of one collection waiting for or running in worker threads at
    # once; past this, more are refused with 429, so that one collection cannot fill the
    # shared thread queue (cheap searches never wait in it: they run inline).
    thread_searches_max: int = 16
    # Worker threads one collection's searches and filter scans may use at once (the server's
    # search limiter bounds them all together). 1 leaves the other core of a 2-core machine to
    # the event loop while one collection is under a heavy load (bench/stall.py).
    search_threads_per_collection: int = 1
    # Their CPU priority (Linux nice, per thread): expensive searches take the CPU that the event
    # loop and the threads cheap requests hop through leave over (zoro/actors/threads.py). 0
    # keeps the server's own priority.
    search_thread_nice: int = 10


@dataclass(frozen=True, slots=True)
class LimitSettings:
    max_name_length: int = 255
    max_dimension: int = 65_536
    max_payload_bytes: int = 1024 * 1024
    max_batch_points: int = 100_000
    max_limit: int = 10_000
    max_batch_searches: int = 1_000


@dataclass(frozen=True, slots=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 6333
    api_key: str | None = None
    max_body_bytes: int = 32 * 1024 * 1024
    # In-flight requests get this long to finish on shutdown before they are cancelled.
    # (Idle keep-alive connections also hold shutdown until this passes.)
    graceful_timeout_s: float = 5.0
    # A read at a follower worker waits at most this long for its replica to catch up with
    # what the owner acknowledged (docs/workers.md); then 503, never a stale answer.
    read_barrier_timeout_s: float = 5.0


@dataclass(frozen=True, slots=True)
class Settings:
    wal: WalSettings = field(default_factory=WalSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    ann: AnnSettings = field(default_factory=AnnSettings)
    actor: ActorSettings = field(default_factory=ActorSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    server: ServerSettings = field(default_factory=ServerSettings)


def with_overrides(settings: Settings, assignments: list[str]) -> Settings:
    """`settings` with `layer.field=value` assignments applied (the CLI's `--set`).

    The value is parsed by the field's declared type (int, float, bool, str, or None for an
    optional one). Raises ValueError naming the bad assignment: an unknown layer or field, or a
    value of the wrong kind.
    """
    layers: dict[str, dict[str, str]] = {}
    for assignment in assignments:
        name, sep, value = assignment.partition("=")
        layer, dot, field_name = name.strip().partition(".")
        if not sep or not dot:
            raise ValueError(f"`{assignment}`: expected layer.field=value (actor.mailbox_size=64)")
        layers.setdefault(layer, {})[field_name] = value.strip()
    changes: dict[str, object] = {}
    for layer, fields in layers.items():
        current = getattr(settings, layer, None) if layer in _LAYERS else None
        if current is None:
            raise ValueError(f"unknown settings layer `{layer}` (one of {', '.join(_LAYERS)})")
        types = {f.name: f.type for f in dataclasses.fields(current)}
        parsed: dict[str, object] = {}
        for field_name, value in fields.items():
            if field_name not in types:
                known = ", ".join(sorted(types))
                raise ValueError(f"`{layer}` has no setting `{field_name}` (it has {known})")
            parsed[field_name] = _parse(f"{layer}.{field_name}", str(types[field_name]), value)
        changes[layer] = dataclasses.replace(current, **parsed)
    return dataclasses.replace(settings, **changes)  # type: ignore[arg-type]


_LAYERS = ("wal", "storage", "ann", "actor", "limits", "server")


def _parse(name: str, kind: str, value: str) -> object:
    if kind.endswith("| None") and value.lower() in ("", "none"):
        return None
    base = kind.removesuffix(" | None")
    wanted = {"bool": "true or false", "int": "an integer", "float": "a number"}
    try:
        if base == "bool":
            if value.lower() not in ("true", "false", "1", "0"):
                raise ValueError(value)
            return value.lower() in ("true", "1")
        if base == "int":
            return int(value.replace("_", ""))
        if base == "float":
            return float(value)
    except ValueError:
        raise ValueError(f"`{name}` takes {wanted[base]}, not `{value}`") from None
    return value
