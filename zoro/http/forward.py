"""A follower worker's forwarding (docs/workers.md): every request it does not answer itself
goes unchanged to the owner worker over its local socket, and the owner's answer comes back
as it is. A small body is read whole and sent in one piece; a large one (a snapshot upload)
streams through, and so does a large answer (a snapshot download)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import httpx

from zoro.errors import Unavailable

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from pathlib import Path

    from hypercorn.typing import ASGIReceiveCallable as Receive
    from hypercorn.typing import ASGISendCallable as Send
    from hypercorn.typing import HTTPResponseBodyEvent, HTTPResponseStartEvent, HTTPScope

# bodies up to this are read whole before forwarding; larger ones stream
WHOLE_BODY_MAX: Final = 1 << 20
# per hop: the follower's connection to its client and its own to the owner are separate
HOP_BY_HOP: Final = frozenset(
    {b"connection", b"keep-alive", b"transfer-encoding", b"te", b"upgrade", b"host"}
)


class Forwarder:
    """Forwards requests to the owner's socket, over a pool of kept-alive connections."""

    def __init__(self, owner_socket: Path) -> None:
        self._client = httpx.AsyncClient(
            transport=httpx.AsyncHTTPTransport(uds=str(owner_socket)),
            base_url="http://owner",
            # admin requests may run long (a snapshot, a wait=true write): the owner bounds them
            timeout=httpx.Timeout(None, connect=5.0),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
        )

    async def forward(
        self,
        scope: HTTPScope,
        receive: Receive,
        send: Send,
        settle: Callable[[int], Awaitable[None]],
    ) -> None:
        """Forward one request and send the owner's answer. `settle(status)` runs once the
        owner has answered, before the answer goes out (so the client's next request sees
        what it did here). Raises Unavailable, before anything is sent, when the owner does
        not answer."""
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in HOP_BY_HOP]
        body = await _body(receive)
        url = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string", b"")
        target = (url + b"?" + query) if query else url
        request = self._client.build_request(
            scope["method"], target.decode("latin-1"), headers=headers, content=body
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.TransportError as exc:
            raise Unavailable(
                f"the owner worker did not answer ({type(exc).__name__}); retry shortly"
            ) from exc
        try:
            await settle(response.status_code)
            start: HTTPResponseStartEvent = {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": [(k, v) for k, v in response.headers.raw if k.lower() not in HOP_BY_HOP],
                "trailers": False,
            }
            await send(start)
            async for chunk in response.aiter_raw():
                if chunk:
                    await send(_body_event(chunk, more=True))
            await send(_body_event(b"", more=False))
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()


def _body_event(chunk: bytes, *, more: bool) -> HTTPResponseBodyEvent:
    return {"type": "http.response.body", "body": chunk, "more_body": more}


async def _body(receive: Receive) -> bytes | AsyncIterator[bytes]:
    """The request body whole, or, past WHOLE_BODY_MAX, as a stream of what was read and
    the rest as it arrives."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
        if size > WHOLE_BODY_MAX:
            return _stream(chunks, receive)


async def _stream(first: list[bytes], receive: Receive) -> AsyncIterator[bytes]:
    for chunk in first:
        yield chunk
    async for chunk in body_chunks(receive):
        yield chunk


async def body_chunks(receive: Receive) -> AsyncIterator[bytes]:
    """The request body as it arrives; ends early if the client goes away."""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return
