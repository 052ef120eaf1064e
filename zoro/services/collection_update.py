"""PATCH /collections/{name} (Qdrant's update_collection): the settings Zoro understands.

    hnsw_config         m, ef_construct, full_scan_threshold: the engine's, for graphs built from
                        now on; on_disk, max_indexing_threads: recorded and shown
    vectors             {name: {"hnsw_config": {...}, "on_disk": bool}}: one dense vector's own
    sparse_vectors      {name: {"modifier": "idf" | "none", "index": {...}}}
    optimizers_config   deleted_threshold: the share of deleted points that has a sealed segment
                        rebuilt, and the share of garbage slots that starts a compaction;
                        vacuum_min_vector_number: the garbage slots a compaction needs at
                        least; the other fields of Qdrant's are recorded and shown
    params              on_disk_payload and the replication factors: recorded and shown (one
                        node; payloads are always on disk)
    metadata            merged into the collection's metadata; a null value removes its key
    zoro                {"ef_search": N}: the default ef of searches that name none

Anything else, and parts of these Zoro has no counterpart for (quantization, strict mode,
memory placement, payload-aware graphs), is refused with a 400 naming it: the body's schema is
zoro.wire's "update_collection". The whole body is checked before anything changes; the change
is one durable catalog write (manager.update).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from zoro.services import validate, vectors
from zoro.wire import rules
from zoro.wire.check import check, whole

if TYPE_CHECKING:
    from collections.abc import Mapping

    from zoro.actors import CollectionEntry
    from zoro.services.context import Context
    from zoro.settings import LimitSettings
    from zoro.types import VectorConfig

# Recorded fields and their kinds: shown back in collection info, which qdrant-client parses
# with these types. "threads" is an integer or "auto" (recorded as unset).
_HNSW_RECORDED = {"on_disk": "bool", "max_indexing_threads": "int"}
_OPTIMIZER_RECORDED = {
    "deleted_threshold": "number",  # also acted on: see _optimizers
    "vacuum_min_vector_number": "int",  # also acted on
    "default_segment_number": "int",
    "max_segment_size": "int",
    "memmap_threshold": "int",
    "indexing_threshold": "int",
    "flush_interval_sec": "int",
    "max_optimization_threads": "threads",
    "prevent_unoptimized": "bool",
}
_PARAMS_RECORDED = {
    "write_consistency_factor": "int",
    "read_fan_out_factor": "int",
    "read_fan_out_delay_ms": "int",
    "on_disk_payload": "bool",
}


@dataclass
class Update:
    """A checked PATCH body, ready to apply to any entry (vector names are checked then)."""

    engine: dict[str, object] = field(default_factory=dict)
    recorded: dict[str, dict[str, object]] = field(default_factory=dict)  # section -> fields
    dense: dict[str, dict[str, object]] = field(default_factory=dict)  # name -> its options
    idf: dict[str, bool | None] = field(default_factory=dict)  # sparse name -> new idf
    metadata: dict[str, Any] | None = None

    def apply(self, entry: CollectionEntry) -> CollectionEntry:
        config = {section: dict(values) for section, values in _sections(entry.config).items()}
        for section, values in self.recorded.items():
            merged = {**config.get(section, {}), **values}
            config[section] = {k: v for k, v in merged.items() if v is not None}  # None: unset
        metadata = entry.metadata
        if self.metadata is not None:
            merged = dict(metadata or {})
            for key, value in self.metadata.items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            metadata = MappingProxyType(merged)
        return replace(
            entry,
            vectors=self._vectors(entry.vectors),
            engine=MappingProxyType({**entry.engine, **self.engine}),
            config=MappingProxyType(config),
            metadata=metadata,
        )

    def _vectors(self, config: VectorConfig) -> VectorConfig:
        dense = dict(config.dense)
        for name, options in self.dense.items():
            spec = dense.get(name)
            if spec is None:
                raise rules.VECTOR_NAMES_KNOWN.error(
                    "vectors", f"Not existing vector name error: {name!r}"
                )
            dense[name] = replace(spec, options=MappingProxyType({**spec.options, **options}))
        sparse = dict(config.sparse)
        for name, idf in self.idf.items():
            sparse_spec = sparse.get(name)
            if sparse_spec is None:
                raise rules.VECTOR_NAMES_KNOWN.error(
                    "sparse_vectors", f"no sparse vector named {name!r}"
                )
            if idf is not None:
                sparse[name] = replace(sparse_spec, idf=idf)
        return replace(config, dense=MappingProxyType(dense), sparse=MappingProxyType(sparse))


def _sections(config: Mapping[str, object]) -> dict[str, Mapping[str, object]]:
    return {k: v for k, v in config.items() if isinstance(v, dict)}


def parse(body: object, limits: LimitSettings) -> Update:
    """Raises BadRequest naming the first field Zoro refuses."""
    body = check("update_collection", body, limits)
    update = Update()
    hnsw = body.get("hnsw_config")
    if hnsw is not None:
        update.engine.update(vectors.hnsw_overrides(hnsw, "hnsw_config"))
        recorded = {k: v for k, v in hnsw.items() if k in _HNSW_RECORDED}
        if recorded:
            update.recorded["hnsw_config"] = _recorded(recorded, "hnsw_config", _HNSW_RECORDED)
    for name, diff in (body.get("vectors") or {}).items():
        update.dense[name] = _vector(diff, f"vectors.{name}")
    for name, params in (body.get("sparse_vectors") or {}).items():
        # only the modifier changes what Zoro does; null (or none given): unchanged
        modifier = (params or {}).get("modifier")
        update.idf[name] = None if modifier is None else modifier == "idf"
    if body.get("optimizers_config") is not None:
        _optimizers(body["optimizers_config"], update)
    if body.get("params") is not None:
        update.recorded["params"] = _recorded(body["params"], "params", _PARAMS_RECORDED)
    if body.get("metadata") is not None:
        with rules.METADATA_SIZE.covering():
            validate.payload(body["metadata"], "metadata", limits)
        update.metadata = dict(body["metadata"])
    zoro = body.get("zoro")
    if zoro is not None and zoro.get("ef_search") is not None:
        update.engine["hnsw_ef_search"] = whole(zoro["ef_search"], "zoro.ef_search")
    return update


def _vector(diff: Mapping[str, Any], where: str) -> dict[str, object]:
    """One dense vector's own settings (its graph placement fields are refused by the schema)."""
    options = vectors.hnsw_overrides(diff.get("hnsw_config"), f"{where}.hnsw_config")
    if diff.get("on_disk") is not None:
        options["on_disk"] = diff["on_disk"]
    return options


def _optimizers(fields: Mapping[str, Any], update: Update) -> None:
    recorded = _recorded(fields, "optimizers_config", _OPTIMIZER_RECORDED)
    ratio = recorded.get("deleted_threshold")
    if ratio is not None:
        assert isinstance(ratio, float)  # in (0, 1]: the schema's bounds
        update.engine["rebuild_deleted_ratio"] = ratio
        update.engine["compaction_garbage_ratio"] = ratio  # Qdrant's vacuum uses it too
    least = recorded.get("vacuum_min_vector_number")
    if least is not None:
        update.engine["compaction_min_slots"] = least
    update.recorded["optimizers_config"] = recorded


def _recorded(fields: Mapping[str, Any], where: str, kinds: Mapping[str, str]) -> dict[str, object]:
    """The recorded fields of a checked settings object (null, and "auto" threads, mean unset:
    recorded as None); the fields Zoro refuses are only ever null here."""
    out: dict[str, object] = {}
    for key, setting in fields.items():
        kind = kinds.get(key)
        if kind is None:
            continue
        if setting is None or (kind == "threads" and setting == "auto"):
            out[key] = None
        elif kind == "number":
            out[key] = float(setting)
        elif kind == "bool":
            out[key] = setting
        else:
            out[key] = whole(setting, f"{where}.{key}")
    return out


async def update_collection(ctx: Context, name: str, body: object) -> bool:
    update = parse(body, ctx.limits)
    await ctx.manager.update(name, update.apply)
    return True
