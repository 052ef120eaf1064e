"""The golden story of catalog version 3: two collections, one with metadata and recorded
settings, and aliases to both (tests/formats/golden/generate_catalog_v3.py writes it)."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

from zoro.types import UNNAMED, DenseSpec, Distance, SparseSpec, VectorConfig

DATA = Path(__file__).resolve().parent / "golden" / "catalog_v3" / "data"
CREATED_AT = 1767225600.0  # 2026-01-01T00:00:00Z
IDS = {"docs": "00000000000000000000000000000031", "logs": "00000000000000000000000000000032"}
DOCS = VectorConfig(
    MappingProxyType({"text": DenseSpec(0, 4, Distance.COSINE, MappingProxyType({"hnsw_m": 24}))}),
    MappingProxyType({"words": SparseSpec(1, idf=True)}),
    unnamed=False,
)
LOGS = VectorConfig(
    MappingProxyType({UNNAMED: DenseSpec(0, 2, Distance.DOT)}), MappingProxyType({}), True
)
COLLECTIONS: dict[str, tuple[VectorConfig, dict[str, Any] | None, dict[str, Any]]] = {
    "docs": (
        DOCS,
        {"team": "search", "tags": ["a", "ü"], "n": 1.5},
        {"kind": "hnsw", "hnsw_ef_search": 77},
    ),
    "logs": (LOGS, None, {"kind": "flat"}),
}
RECORDED = {
    "docs": {
        "optimizers_config": {"indexing_threshold": 0},
        "params": {"on_disk_payload": True},
        "hnsw_config": {"on_disk": False},
    }
}
ALIASES = {"live": "docs", "old": "logs", "current": "docs"}
