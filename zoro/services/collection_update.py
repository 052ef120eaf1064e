"""PATCH /collections/{name} (Qdrant's update_collection): the settings Zoro understands.

    hnsw_config         m, ef_construct, full_scan_threshold: the engine's, for graphs built from
                        now on; on_disk, max_indexing_threads: recorded and shown
    vectors             {name: {"hnsw_config": {...}, "on_disk": bool}}: one dense vector's own
    sparse_vectors      {name: {"modifier": "idf" | "none", "index": {...}}}
    optimizers_config   deleted_threshold: the share of deleted points that has a sealed segment
                        rebuilt; the other fields of Qdrant's are recorded and shown
    params              on_disk_payload and the replication factors: recorded and shown (one
                        node; payloads are always on disk)
    metadata            merged into the collection's metadata; a null value removes its key
    zoro                {"ef_search": N}: the default ef of searches that name none

Anything else, and parts of these Zoro has no counterpart for (quantization, strict mode,
memory placement, payload-aware graphs), is refused with a 400 naming it. The whole body is
checked before anything changes; the change is one durable catalog write (manager.update).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from zoro.errors import BadRequest
from zoro.services import validate, vectors

if TYPE_CHECKING:
    from collections.abc import Mapping

    from zoro.actors import CollectionEntry
    from zoro.services.context import Context
    from zoro.settings import LimitSettings
    from zoro.types import VectorConfig

_FIELDS = frozenset(
    {
        "vectors",
        "optimizers_config",
        "params",
        "hnsw_config",
        "quantization_config",
        "sparse_vectors",
        "strict_mode_config",
        "metadata",
        "zoro",
    }
)
_UNSUPPORTED = {
    "quantization_config": "quantization",
    "strict_mode_config": "strict mode",
}
# Recorded fields and their kinds: shown back in collection info, which qdrant-client parses
# with these types. "threads" is an integer or "auto" (recorded as unset).
_HNSW_RECORDED = {"on_disk": "bool", "max_indexing_threads": "int"}
_HNSW_UNSUPPORTED = {
    "payload_m": "payload-aware HNSW graphs",
    "inline_storage": "inline vector storage in the graph",
    "memory": "memory placement",
}
_VECTOR_UNSUPPORTED = {"quantization_config": "quantization", "memory": "memory placement"}
_OPTIMIZER_RECORDED = {
    "deleted_threshold": "number",  # also acted on: see _optimizers
    "vacuum_min_vector_number": "int",
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
_PARAMS_UNSUPPORTED = {"payload": "payload memory placement", "id_tracker": "id tracker placement"}


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
                raise BadRequest(f"vectors: Not existing vector name error: {name!r}")
            dense[name] = replace(spec, options=MappingProxyType({**spec.options, **options}))
        sparse = dict(config.sparse)
        for name, idf in self.idf.items():
            sparse_spec = sparse.get(name)
            if sparse_spec is None:
                raise BadRequest(f"sparse_vectors: no sparse vector named {name!r}")
            if idf is not None:
                sparse[name] = replace(sparse_spec, idf=idf)
        return replace(config, dense=MappingProxyType(dense), sparse=MappingProxyType(sparse))


def _sections(config: Mapping[str, object]) -> dict[str, Mapping[str, object]]:
    return {k: v for k, v in config.items() if isinstance(v, dict)}


def parse(body: object, limits: LimitSettings) -> Update:
    """Raises BadRequest naming the first field Zoro refuses."""
    body = validate.mapping(body, "body")
    validate.only_fields(body, _FIELDS, "body")
    for key, what in _UNSUPPORTED.items():
        if body.get(key) is not None:
            raise BadRequest(f"{key}: {what} is not supported by Zoro-DB")
    update = Update()
    if body.get("hnsw_config") is not None:
        update.engine.update(_hnsw(body["hnsw_config"], "hnsw_config", update))
    for name, diff in validate.mapping(body.get("vectors") or {}, "vectors").items():
        update.dense[name] = _vector(diff, f"vectors[{name!r}]")
    for name, params in validate.mapping(
        body.get("sparse_vectors") or {}, "sparse_vectors"
    ).items():
        update.idf[name] = _sparse(params, f"sparse_vectors[{name!r}]")
    if body.get("optimizers_config") is not None:
        _optimizers(body["optimizers_config"], update)
    if body.get("params") is not None:
        update.recorded["params"] = _recorded(
            body["params"], "params", _PARAMS_RECORDED, _PARAMS_UNSUPPORTED
        )
    if body.get("metadata") is not None:
        validate.payload(body["metadata"], "metadata", limits)  # an object, of a payload's size
        update.metadata = dict(body["metadata"])
    if body.get("zoro") is not None:
        zoro = validate.mapping(body["zoro"], "zoro")
        validate.only_fields(zoro, frozenset({"ef_search"}), "zoro")
        if zoro.get("ef_search") is not None:
            update.engine["hnsw_ef_search"] = validate.integer(
                zoro["ef_search"], "zoro.ef_search", low=1, high=100_000
            )
    return update


def _hnsw(value: object, where: str, update: Update | None) -> dict[str, object]:
    """The engine settings of an hnsw_config diff. Its recorded fields go to `update`; where
    there is none (a vector's own hnsw_config), they are refused."""
    fields = validate.mapping(value, where)
    unsupported = dict(_HNSW_UNSUPPORTED)
    if update is None:
        unsupported |= dict.fromkeys(_HNSW_RECORDED, "a vector's own graph placement")
    _refuse(fields, where, unsupported)
    validate.only_fields(
        fields, frozenset(vectors.HNSW_FIELDS) | frozenset(_HNSW_RECORDED) | set(unsupported), where
    )
    recorded = {k: v for k, v in fields.items() if k in _HNSW_RECORDED}
    if update is not None and recorded:
        update.recorded["hnsw_config"] = _recorded(recorded, where, _HNSW_RECORDED)
    return vectors.hnsw_overrides(
        {k: v for k, v in fields.items() if k in vectors.HNSW_FIELDS}, where
    )


def _vector(value: object, where: str) -> dict[str, object]:
    diff = validate.mapping(value, where)
    _refuse(diff, where, _VECTOR_UNSUPPORTED)
    validate.only_fields(diff, frozenset({"hnsw_config", "on_disk"}), where)
    options = _hnsw(diff.get("hnsw_config") or {}, f"{where}.hnsw_config", None)
    if diff.get("on_disk") is not None:
        options["on_disk"] = validate.boolean(diff["on_disk"], f"{where}.on_disk")
    return options


def _sparse(value: object, where: str) -> bool | None:
    params = validate.mapping(value if value is not None else {}, where)
    validate.only_fields(params, frozenset({"modifier", "index"}), where)
    # the same checks as at create; only the modifier changes what Zoro does
    spec = vectors.sparse_spec(0, params, where)
    return spec.idf if params.get("modifier") is not None else None  # null: unchanged


def _optimizers(value: object, update: Update) -> None:
    fields = _recorded(value, "optimizers_config", _OPTIMIZER_RECORDED)
    ratio = fields.get("deleted_threshold")
    if ratio is not None:
        assert isinstance(ratio, float)
        if not 0.0 < ratio <= 1.0:
            raise BadRequest("optimizers_config.deleted_threshold: must be in (0, 1]")
        update.engine["rebuild_deleted_ratio"] = ratio
    update.recorded["optimizers_config"] = fields


def _recorded(
    value: object,
    where: str,
    kinds: Mapping[str, str],
    unsupported: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """The fields of a settings object, each checked for its kind (null, and "auto" threads,
    mean unset: recorded as None); unsupported ones refused by name."""
    fields = validate.mapping(value, where)
    unsupported = unsupported or {}
    _refuse(fields, where, unsupported)
    validate.only_fields(fields, frozenset(kinds) | frozenset(unsupported), where)
    out: dict[str, object] = {}
    for key, setting in fields.items():
        kind, name = kinds[key], f"{where}.{key}"
        if setting is None or (kind == "threads" and setting == "auto"):
            out[key] = None
        elif kind == "bool":
            out[key] = validate.boolean(setting, name)
        elif kind == "number":
            out[key] = validate.number(setting, name)
        else:
            out[key] = validate.integer(setting, name, low=0, high=2**53)
    return out


def _refuse(fields: Mapping[str, Any], where: str, unsupported: Mapping[str, str]) -> None:
    for key, what in unsupported.items():
        if fields.get(key) is not None:
            raise BadRequest(f"{where}.{key}: {what} is not supported by Zoro-DB")


async def update_collection(ctx: Context, name: str, body: object) -> bool:
    update = parse(body, ctx.limits)
    await ctx.manager.update(name, update.apply)
    return True
