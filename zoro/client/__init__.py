"""The async Python client for Zoro-DB (httpx; works under trio and asyncio).

It imports nothing from the server's packages: install it anywhere and point it at a URL.

    from zoro.client import AsyncZoroClient, SparseVectorParams, VectorParams

    async with AsyncZoroClient("http://127.0.0.1:6333", api_key=...) as client:
        await client.create_collection("docs", 4, "Cosine")
        await client.upload("docs", range(n), vectors, payloads, progress=True)
        for hit in await client.search("docs", query, limit=5):
            print(hit.id, hit.score, hit.payload)
        english = {"must": [{"key": "lang", "match": {"value": "en"}}]}
        await client.create_payload_index("docs", "lang", "keyword")
        n = await client.count("docs", english)
        hits = await client.search("docs", query, filter=english, limit=5)
        async for point in client.scroll("docs", filter=english):
            ...
        await client.delete("docs", filter=english)

Filters are Qdrant's filter JSON, given as plain dicts; the client checks their shape
(zoro/client/_filters.py) and the server their meaning, its 400 arriving as InvalidInput.

Qdrant's vector model: named dense vectors, sparse vectors and multivectors, any subset per
point (zoro/client/_vectors.py has the wire shapes):

    await client.create_collection(
        "docs",
        vectors={"text": VectorParams(384, "Cosine"),
                 "colbert": VectorParams(128, "Dot", multivector=True)},
        sparse_vectors={"words": SparseVectorParams(modifier="idf")},
    )
    await client.upload("docs", ids, {"text": matrix, "words": sparse_rows})  # None: absent
    await client.upsert_point("docs", 7, {"colbert": [[...], [...]], "words": {"indices": [3],
                                                                              "values": [0.5]}})
    hits = await client.search("docs", {"indices": [3], "values": [1.0]}, using="words")
    hits = await client.search("docs", [[...], [...]], using="colbert")  # MaxSim
    point.vectors  # {"text": (floats), "words": SparseVector, "colbert": ((row), (row))}
"""

from zoro.client._admin import AliasAction, CreateAlias, DeleteAlias, RenameAlias
from zoro.client._client import DEFAULT_URL, AsyncZoroClient
from zoro.client._config import NO_RETRY, UPLOAD_RETRY, RetryPolicy, Timeouts
from zoro.client._embed import Embedder, MiniLMEmbedder
from zoro.client._errors import (
    AuthenticationError,
    Conflict,
    ConnectionFailed,
    DimensionMismatch,
    EmbedderUnavailable,
    InvalidInput,
    NotFound,
    Overloaded,
    PayloadTooLarge,
    ProtocolError,
    RequestTimeout,
    ServerError,
    StorageFull,
    Unavailable,
    ZoroClientError,
)
from zoro.client._examples import order_by
from zoro.client._filters import Filter
from zoro.client._groups import FacetHit, MatrixOffsets, MatrixPair, PointGroup
from zoro.client._models import (
    CollectionInfo,
    Distance,
    Engine,
    HnswConfig,
    HnswParams,
    MultiVector,
    PointId,
    Readiness,
    Record,
    ScoredPoint,
    ScrollPage,
    ServerInfo,
    SparseVector,
    SparseVectorParams,
    TextIndexParams,
    UpdateResult,
    UploadResult,
    Vector,
    VectorParams,
)
from zoro.client._points import Scroll
from zoro.client._progress import ProgressLine
from zoro.client._snapshots import SnapshotInfo
from zoro.client._validate import Limits
from zoro.client._vectors import Fusion, Mmr, Prefetch

__all__ = [
    "DEFAULT_URL",
    "NO_RETRY",
    "UPLOAD_RETRY",
    "AliasAction",
    "AsyncZoroClient",
    "AuthenticationError",
    "CollectionInfo",
    "Conflict",
    "ConnectionFailed",
    "CreateAlias",
    "DeleteAlias",
    "DimensionMismatch",
    "Distance",
    "Embedder",
    "EmbedderUnavailable",
    "Engine",
    "FacetHit",
    "Filter",
    "Fusion",
    "HnswConfig",
    "HnswParams",
    "InvalidInput",
    "Limits",
    "MatrixOffsets",
    "MatrixPair",
    "MiniLMEmbedder",
    "Mmr",
    "MultiVector",
    "NotFound",
    "Overloaded",
    "PayloadTooLarge",
    "PointGroup",
    "PointId",
    "Prefetch",
    "ProgressLine",
    "ProtocolError",
    "Readiness",
    "Record",
    "RenameAlias",
    "RequestTimeout",
    "RetryPolicy",
    "ScoredPoint",
    "Scroll",
    "ScrollPage",
    "ServerError",
    "ServerInfo",
    "SnapshotInfo",
    "SparseVector",
    "SparseVectorParams",
    "StorageFull",
    "TextIndexParams",
    "Timeouts",
    "Unavailable",
    "UpdateResult",
    "UploadResult",
    "Vector",
    "VectorParams",
    "ZoroClientError",
    "order_by",
]
