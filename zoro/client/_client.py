"""AsyncZoroClient: the public face, put together from the operation mixins."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

import httpx
import orjson

from zoro.client import _upload
from zoro.client import _validate as check
from zoro.client._admin import AdminMixin
from zoro.client._collections import CollectionsMixin
from zoro.client._config import NO_RETRY, UPLOAD_RETRY, RetryPolicy, Timeouts
from zoro.client._errors import ZoroClientError
from zoro.client._examples import ExamplesMixin
from zoro.client._groups import GroupsMixin
from zoro.client._models import Readiness, ServerInfo
from zoro.client._payload import PayloadMixin
from zoro.client._progress import reporter
from zoro.client._snapshots import SnapshotsMixin
from zoro.client._texts import TextsMixin
from zoro.client._transport import Transport
from zoro.client._validate import Limits

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from types import TracebackType

    from zoro.client._embed import Embedder
    from zoro.client._models import UploadResult
    from zoro.client._upload import Encoding

DEFAULT_URL = "http://127.0.0.1:6333"
DEFAULT_TIMEOUTS = Timeouts()
DEFAULT_RETRY = RetryPolicy()
DEFAULT_LIMITS = Limits()
CONNECTIONS_PER_SHARD = 8


class AsyncZoroClient(
    ExamplesMixin,
    GroupsMixin,
    TextsMixin,
    CollectionsMixin,
    AdminMixin,
    PayloadMixin,
    SnapshotsMixin,
):
    """An async client for a Zoro-DB server, for trio and asyncio alike.

        async with AsyncZoroClient("http://127.0.0.1:6333") as client:
            await client.create_collection("docs", 384, "Cosine")
            await client.upsert("docs", [1, 2], vectors, [{"a": 1}, {"a": 2}])
            hits = await client.search("docs", query, limit=5)

    One pooled httpx.AsyncClient (HTTP/1.1 keep-alive, up to `max_connections` connections)
    carries every request. Input is checked before it is sent: ids (unsigned 64-bit ints or
    UUIDs), vectors (finite, and of the collection's dimension, which the client learns from
    get_collection and caches), payloads (JSON objects), batch sizes and limits.

    Retries (see RetryPolicy): connection errors, timeouts, 429, 502, 503 and 504 are retried
    with backoff for the operations that are safe to repeat: every read and search, upsert
    (always by id), delete by id, and delete_collection. create_collection is the one write
    that is not idempotent; it is retried only in ways that cannot create twice and settles a
    409 that follows a lost answer by reading the collection back (see its docstring).

    Errors (zoro.client's exception tree): every call may raise, after its retries,
    ConnectionFailed or RequestTimeout (no answer), Overloaded (429), Unavailable (503),
    AuthenticationError (401/403) or ServerError (500, StorageFull for 507); each method's
    docstring lists the errors particular to it. Each carries the server's message and status.

    Args:
        url: the server's base URL.
        api_key: sent as the `api-key` header.
        timeout: seconds for every phase of a request, or a Timeouts.
        retry: the retry policy for single requests (`NO_RETRY` to switch retries off).
        limits: the client-side limits (default: the server's defaults).
        max_connections: how many connections at most (all kept alive), spread over pools
            of 8.
        embedder: turns texts into vectors for add_texts/search_text (default: MiniLM).
        transport: an httpx transport to use instead of the network (tests).
        seed: seeds the retry jitter (for repeatable tests).
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        api_key: str | None = None,
        timeout: float | Timeouts = DEFAULT_TIMEOUTS,
        retry: RetryPolicy = DEFAULT_RETRY,
        limits: Limits = DEFAULT_LIMITS,
        max_connections: int = 64,
        embedder: Embedder | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        seed: int | None = None,
    ) -> None:
        timeouts = Timeouts.of(timeout)
        headers = {"content-type": "application/json", "accept": "application/json"}
        if api_key:
            headers["api-key"] = api_key
        timeout_config = httpx.Timeout(
            connect=timeouts.connect_s,
            read=timeouts.read_s,
            write=timeouts.write_s,
            pool=timeouts.pool_s,
        )
        # Several small pools rather than one large one (see Transport), every connection kept
        # alive: with httpx's default of 20 kept-alive connections, more concurrent tasks than
        # that would open and close a connection per request.
        shards = max(1, -(-max_connections // CONNECTIONS_PER_SHARD))
        per_shard = -(-max_connections // shards)
        pool = httpx.Limits(max_connections=per_shard, max_keepalive_connections=per_shard)
        # HTTP/1.1 only: over h2c to hypercorn, 1.3 MB upload bodies crawl through 64 KiB
        # flow-control windows and stalled, and concurrent searches failed when the server
        # ended its connection after 1,000 requests (bench/README.md, "client.py").
        http = [
            httpx.AsyncClient(
                base_url=url.rstrip("/"),
                headers=headers,
                timeout=timeout_config,
                limits=pool,
                transport=transport,
            )
            for _ in range(shards)
        ]
        self._transport = Transport(http, retry, random.Random(seed))
        self._limits = limits
        self._embedder = embedder
        self._vector_params = {}
        self._binary_points = None
        self.url = url

    async def __aenter__(self) -> AsyncZoroClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every pooled connection. The client cannot be used afterwards."""
        await self._transport.aclose()

    async def health(self) -> bool:
        """True if the server answers its liveness check (GET /healthz), False if it cannot be
        reached or answers otherwise. Not retried: a probe should report, not wait."""
        try:
            response = await self._transport.shards[0].get("/healthz")
        except httpx.TransportError:
            return False
        return response.status_code == 200

    async def readiness(self) -> Readiness:
        """GET /readyz: ready once every collection has recovered its WAL; `failed` names
        collections that broke (the rest serve). Not retried.

        Raises:
            ConnectionFailed, RequestTimeout: no answer.
        """
        try:
            response = await self._transport.send("GET", "/readyz", retry=NO_RETRY)
        except ZoroClientError as exc:
            if exc.status == 503:
                return Readiness(False, {}, exc.message)
            raise
        data = orjson.loads(response.content)
        return Readiness(bool(data.get("ready")), dict(data.get("failed") or {}), "")

    async def server_info(self) -> ServerInfo:
        """The server's name and versions (GET /): `version` is the Qdrant API level."""
        response = await self._transport.send("GET", "/")
        data: dict[str, Any] = orjson.loads(response.content)
        return ServerInfo(
            str(data.get("title", "")), str(data.get("version", "")), data.get("zoro_version")
        )

    async def metrics(self) -> str:
        """The Prometheus metrics text (GET /metrics)."""
        response = await self._transport.send("GET", "/metrics")
        return response.text

    async def upload(
        self,
        collection: str,
        ids: Iterable[object] | None,
        vectors: Iterable[object],
        payloads: Iterable[object] | None = None,
        *,
        batch_size: int = 1000,
        parallel: int = 4,
        wait: bool = True,
        retry: RetryPolicy = UPLOAD_RETRY,
        progress: bool | Callable[[int], object] = False,
        encoding: Encoding = "auto",
    ) -> UploadResult:
        """Upsert any number of points in batches, `parallel` batches in flight at a time.

        `vectors`: a (n, d) numpy array (sliced without copying) or any iterable of vectors,
        read a batch at a time; or named columns, a dict name -> (n, d) array, (n, rows, d)
        array of multivectors, or a sequence of per-point vectors (dense, sparse, matrices,
        None where a point lacks that name), all cut in step and checked as upsert() checks
        them. `ids`: as for upsert(), an iterable in step with the vectors,
        or None for random UUIDs. `payloads`: an iterable of dicts in step, or None. Each
        batch is retried under `retry` (patient by default). `progress`: True for a status
        line on stderr, or a callable given each acknowledged batch's point count (for
        example a tqdm bar's `update`).

        `encoding`: how batches are sent. "auto" (the default): as the binary body
        application/vnd.zoro.points (raw float32, no JSON numbers; docs/binary-points.md)
        when the server says it reads it (GET /, asked once per client), else as JSON.
        "json" always sends JSON (as to a Qdrant server); "binary" always the binary body.
        A batch holding multivectors, sparse vectors or points without some vector goes as
        JSON whatever is asked.

        The upload is not atomic: if a batch fails for good, the others stop, the error is
        raised (with a note naming the batch) and batches already acknowledged stay stored.
        Running the same upload again is safe.

        Raises:
            InvalidInput, DimensionMismatch, PayloadTooLarge: a bad batch (before it is sent),
                or an `encoding` that is none of the three.
            NotFound: no such collection.
            Overloaded, Unavailable: the server stayed unavailable past the retry policy.
        """
        check.positive(batch_size, "batch_size", high=self._limits.max_batch_points)
        source = _upload.chunks(ids, vectors, payloads, batch_size)
        total = _upload.total_of(vectors)
        return await self._upload(
            collection, source, total, parallel, wait, retry, progress, encoding
        )

    async def upload_points(
        self,
        collection: str,
        points: Iterable[object],
        *,
        batch_size: int = 1000,
        parallel: int = 4,
        wait: bool = True,
        retry: RetryPolicy = UPLOAD_RETRY,
        progress: bool | Callable[[int], object] = False,
        encoding: Encoding = "auto",
    ) -> UploadResult:
        """upload() for points given one by one: `(id, vector)`, `(id, vector, payload)` or
        dicts with "id", "vector" and optionally "payload" (Qdrant's point shape). A vector
        is a bare dense vector (the unnamed one), a multivector (a list of rows), or a dict
        name -> vector (dense, sparse or multi) holding any subset of the names, {} for none.
        `encoding` as for upload(). Raises as upload() does.
        """
        check.positive(batch_size, "batch_size", high=self._limits.max_batch_points)
        source = _upload.point_chunks(points, batch_size)
        total = _upload.total_of(points)
        return await self._upload(
            collection, source, total, parallel, wait, retry, progress, encoding
        )

    async def _upload(
        self,
        collection: str,
        source: Iterator[_upload.Chunk],
        total: int | None,
        parallel: int,
        wait: bool,
        retry: RetryPolicy,
        progress: bool | Callable[[int], object],
        encoding: Encoding,
    ) -> UploadResult:
        on_batch, finish = reporter(progress, total)
        try:
            return await _upload.upload(
                self,
                collection,
                source,
                parallel=parallel,
                wait=wait,
                retry=retry,
                on_batch=on_batch,
                encoding=encoding,
            )
        finally:
            finish()
