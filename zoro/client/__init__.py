"""The async Python client for Zoro-DB (httpx; works under trio and asyncio).

It imports nothing from the server's packages: install it anywhere and point it at a URL.

    from zoro.client import AsyncZoroClient

    async with AsyncZoroClient("http://127.0.0.1:6333", api_key=...) as client:
        await client.create_collection("docs", 4, "Cosine")
        await client.upload("docs", range(n), vectors, payloads, progress=True)
        for hit in await client.search("docs", query, limit=5):
            print(hit.id, hit.score, hit.payload)
"""

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
from zoro.client._models import (
    CollectionInfo,
    Distance,
    Engine,
    HnswConfig,
    PointId,
    Readiness,
    Record,
    ScoredPoint,
    ScrollPage,
    ServerInfo,
    UpdateResult,
    UploadResult,
)
from zoro.client._points import Scroll
from zoro.client._progress import ProgressLine
from zoro.client._validate import Limits

__all__ = [
    "DEFAULT_URL",
    "NO_RETRY",
    "UPLOAD_RETRY",
    "AsyncZoroClient",
    "AuthenticationError",
    "CollectionInfo",
    "Conflict",
    "ConnectionFailed",
    "DimensionMismatch",
    "Distance",
    "Embedder",
    "EmbedderUnavailable",
    "Engine",
    "HnswConfig",
    "InvalidInput",
    "Limits",
    "MiniLMEmbedder",
    "NotFound",
    "Overloaded",
    "PayloadTooLarge",
    "PointId",
    "ProgressLine",
    "ProtocolError",
    "Readiness",
    "Record",
    "RequestTimeout",
    "RetryPolicy",
    "ScoredPoint",
    "Scroll",
    "ScrollPage",
    "ServerError",
    "ServerInfo",
    "StorageFull",
    "Timeouts",
    "Unavailable",
    "UpdateResult",
    "UploadResult",
    "ZoroClientError",
]
