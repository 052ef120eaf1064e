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
VECTOR_SIZE_MAX: Final = 65_536  # a vector name declared later (Qdrant's own limit)
SETTING_INT_MAX: Final = 2**53  # the Qdrant settings update_collection records and shows back
TOKEN_LEN_MAX: Final = 2**32 - 1  # a text index's min_token_len / max_token_len

# Qdrant's VectorStorageDatatype: accepted, vectors are stored as float32 whatever is asked
DATATYPES: Final = ("float32", "float16", "uint8", "turbo4", "turbo8", "turbo16")
ENGINES: Final = ("hnsw", "flat")  # a collection's zoro.engine
SPARSE_MODIFIERS: Final = ("none", "idf")
# the payload index types (zoro.payload's SCHEMAS), as field_schema names them
INDEX_TYPES: Final = ("keyword", "integer", "float", "bool", "uuid", "datetime", "geo", "text")
QUERY_EXAMPLES_MAX: Final = 4_096  # a recommend, discover or context query's examples in all
GEO_RING_MIN_POINTS: Final = 4  # a closed polygon ring: a triangle and its first point again
