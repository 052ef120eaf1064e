"""The fixed numbers and option lists of the wire that are not server settings: the services
enforce them through the schemas, /openapi.json states them, and the client's mirror
(`zoro/client/_wire.py`, generated from here) checks them before sending."""

from __future__ import annotations

from typing import Final

from zoro.types import U64_MAX

POINT_ID_MAX: Final = U64_MAX
SPARSE_INDEX_MAX: Final = 2**32 - 1
HNSW_EF_MAX: Final = 100_000  # params.hnsw_ef and a collection's zoro.ef_search
HNSW_PARAM_MAX: Final = 10_000_000  # hnsw_config m, ef_construct, full_scan_threshold
HNSW_M_MIN: Final = 2
HNSW_EF_CONSTRUCT_MIN: Final = 4
MMR_CANDIDATES_MAX: Final = 16_384
RRF_K_MAX: Final = 2**31 - 1
PREFETCH_MAX_DEPTH: Final = 8
PREFETCH_MAX_NODES: Final = 64
PREFETCH_MAX_CANDIDATES: Final = 50_000
FILTER_MAX_DEPTH: Final = 32
MIN_SHOULD_MAX: Final = 2**31
VALUES_COUNT_MAX: Final = 2**63 - 1

DISTANCES: Final = ("Cosine", "Euclid", "Dot", "Manhattan")
FUSIONS: Final = ("rrf", "dbsf")
STRATEGIES: Final = ("average_vector", "best_score", "sum_scores")
GEO_RING_MIN_POINTS: Final = 4  # a closed polygon ring: a triangle and its first point again
