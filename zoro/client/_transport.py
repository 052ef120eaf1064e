"""One logical request: send it with httpx, retry it per the policy, turn errors into ours.

Failures sort into three kinds, and the caller says which it can afford to repeat:
- not sent: the connection could not be made (connect error or timeout, no free pooled
  connection). The server saw nothing; any request may be retried.
- refused: 429, 502, 503, 504. The server (or a gateway) declined without doing the work; any
  request may be retried after the wait it asks for.
- outcome unknown: the request was sent and the answer was lost (read timeout, reset, closed
  early). Retried only when the caller says the operation is safe to repeat, and recorded in
  the `CallTrace` so a caller such as create_collection can tell what a later 409 means.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
import httpx
import orjson

from zoro.client._config import retry_after_s
from zoro.client._errors import (
    ConnectionFailed,
    ProtocolError,
    RequestTimeout,
    ZoroClientError,
    error_for_status,
)

if TYPE_CHECKING:
    import random
    from collections.abc import AsyncIterator, Mapping
    from pathlib import Path

    from zoro.client._config import RetryPolicy

RETRY_STATUSES = frozenset({429, 502, 503, 504})
FILE_CHUNK = 1 << 20  # bytes read or written at a time by uploads and downloads
# The request never left: always safe to send again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# The connection broke or timed out; worth another attempt (other TransportErrors, such as an
# unsupported URL scheme, will fail the same way every time).
_TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


@dataclass(slots=True)
class CallTrace:
    """What happened across the attempts of one call."""

    attempts: int = 0
    outcome_unknown: bool = False  # some attempt may have been applied without our hearing


class Transport:
    """Sends requests for AsyncZoroClient over a few pooled httpx.AsyncClients ("shards").

    Why several: httpcore's pool rescans every queued request against every connection each
    time one is taken or released, so its cost per request grows with the pool. Measured on
    this machine at 64 concurrent searches, one pool of 64 connections cost the caller about
    6 ms of CPU per request; 8 pools of 8 about 1.5 ms, for 2-3x the throughput. Each request
    goes to the shard with the fewest requests in flight.
    """

    def __init__(
        self, shards: list[httpx.AsyncClient], retry: RetryPolicy, rng: random.Random
    ) -> None:
        self.shards = shards
        self._in_flight = [0] * len(shards)
        self.retry = retry
        self.rng = rng

    @property
    def is_closed(self) -> bool:
        return all(shard.is_closed for shard in self.shards)

    async def aclose(self) -> None:
        for shard in self.shards:
            await shard.aclose()

    async def _request(
        self,
        method: str,
        path: str,
        body: bytes | None,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        busy = self._in_flight
        index = busy.index(min(busy))
        busy[index] += 1
        try:
            return await self.shards[index].request(
                method, path, content=body, params=params, headers=headers
            )
        finally:
            busy[index] -= 1

    async def download_to(self, path: str, target: Path) -> int:
        """GET `path` into the file `target` as it arrives (an archive need not fit in memory);
        returns its size. Not retried. Raises ZoroClientError."""
        try:
            async with self.shards[0].stream("GET", path) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise response_error(response)
                size = 0
                async with await anyio.open_file(target, "wb") as out:
                    async for chunk in response.aiter_bytes(FILE_CHUNK):
                        await out.write(chunk)
                        size += len(chunk)
                return size
        except httpx.TransportError as exc:
            raise transport_error(exc) from exc

    async def upload_from(
        self, path: str, source: Path, params: Mapping[str, str] | None = None
    ) -> Any:
        """POST the file `source` as the body of `path`, read as it is sent; returns the
        `result` of the answer. Not retried (it may have reached the server). Raises
        ZoroClientError."""

        async def chunks() -> AsyncIterator[bytes]:
            async with await anyio.open_file(source, "rb") as f:
                while chunk := await f.read(FILE_CHUNK):
                    yield chunk

        headers = {"content-type": "application/octet-stream"}
        try:
            response = await self.shards[0].request(
                "POST", path, content=chunks(), params=params, headers=headers
            )
        except httpx.TransportError as exc:
            raise transport_error(exc) from exc
        if response.status_code >= 400:
            raise response_error(response)
        return result_of(response)

    async def call(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        params: Mapping[str, str] | None = None,
        idempotent: bool = True,
        retry: RetryPolicy | None = None,
        trace: CallTrace | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Send, retry as allowed, and return the `result` of the JSON envelope."""
        response = await self.send(
            method,
            path,
            body=body,
            params=params,
            idempotent=idempotent,
            retry=retry,
            trace=trace,
            headers=headers,
        )
        return result_of(response)

    async def send(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        params: Mapping[str, str] | None = None,
        idempotent: bool = True,
        retry: RetryPolicy | None = None,
        trace: CallTrace | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send, retry as allowed, and return the first answer below 400. `headers` go with
        it besides the client's own (a body other than JSON names its Content-Type).

        Raises:
            ZoroClientError: the error of the last attempt (a subclass by status), with
                `.attempts` set, once the answer is not retryable or the policy runs out.
        """
        policy = retry or self.retry
        trace = trace if trace is not None else CallTrace()
        started = time.monotonic()
        while True:
            trace.attempts += 1
            cause: Exception | None = None
            try:
                response = await self._request(method, path, body, params, headers)
            except _TRANSIENT as exc:
                error, cause = transport_error(exc), exc
                if not isinstance(exc, _NOT_SENT):
                    trace.outcome_unknown = True
                    if not idempotent:
                        raise _final(error, trace, started) from exc
            except httpx.TransportError as exc:
                raise _final(transport_error(exc), trace, started) from exc
            else:
                if response.status_code < 400:
                    return response
                error = response_error(response)
                if response.status_code not in RETRY_STATUSES:
                    raise _final(error, trace, started)
            wait = _next_wait(policy, trace.attempts, error, started, self.rng)
            if wait is None:
                raise _final(error, trace, started) from cause
            await anyio.sleep(wait)


def _next_wait(
    policy: RetryPolicy, attempts: int, error: ZoroClientError, started: float, rng: random.Random
) -> float | None:
    """Seconds to wait before the next attempt, or None when the policy says stop."""
    if attempts >= policy.max_attempts:
        return None
    wait = policy.backoff_s(attempts, rng)
    if error.retry_after_s is not None:
        wait = max(wait, error.retry_after_s)
    if time.monotonic() + wait - started > policy.max_total_s:
        return None
    return wait


def _final(error: ZoroClientError, trace: CallTrace, started: float) -> ZoroClientError:
    error.attempts = trace.attempts
    if trace.attempts > 1:
        spent = time.monotonic() - started
        tries = f"gave up after {trace.attempts} attempts in {spent:.1f} s"
        error.message = f"{error.message} ({tries})"
        error.args = (error.message,)
    return error


def transport_error(exc: httpx.TransportError) -> ZoroClientError:
    try:
        where = f" ({exc.request.method} {exc.request.url})"
    except RuntimeError:  # httpx raises this when no request is attached
        where = ""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return RequestTimeout(f"no answer in time{where}: {text}")
    return ConnectionFailed(f"connection failed{where}: {text}")


def response_error(response: httpx.Response) -> ZoroClientError:
    """The exception for an error answer, with the server's message (Qdrant's envelope:
    {"status": {"error": "..."}}) and its Retry-After."""
    message = ""
    try:
        status = orjson.loads(response.content).get("status")
        if isinstance(status, dict):
            message = str(status.get("error", ""))
    except (orjson.JSONDecodeError, AttributeError):
        pass
    if not message:
        message = response.text.strip()[:500] or response.reason_phrase
    wait = retry_after_s(response.headers.get("retry-after"))
    return error_for_status(response.status_code, message, wait)


def result_of(response: httpx.Response) -> Any:
    try:
        return orjson.loads(response.content)["result"]
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise ProtocolError(
            f"answer to {response.request.method} {response.request.url.path} is not a "
            f"JSON envelope: {response.content[:200]!r}",
            status=response.status_code,
        ) from exc
