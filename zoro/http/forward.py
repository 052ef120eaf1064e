"""The link between a follower worker and the owner (docs/workers.md): every request a follower
does not answer itself goes to the owner over the owner's local socket, and the owner's answer
comes back as it is. Both ends are here: `Forwarder` (a follower's, with a pool of connections)
and `LinkServer` (the owner's, which hands each request to its ASGI app as hypercorn would).

The framing, the same in both directions, one exchange at a time on a connection:

    message = u32 head length, u32 body length, u8 flags, head, body     (big-endian)
    head    = JSON: a request  [method, raw path, query string, [[name, value], ...]]
                    an answer  [status, [[name, value], ...]]           (header text latin-1)
    flags & STREAMED: the body length is 0 and the body follows as chunks, each a u32 length
                      and its bytes, ended by a chunk of length 0

A request body up to WHOLE_BODY_MAX is read whole and sent in its message; a larger one (a
snapshot upload) streams through as chunks, and so does an answer the app sends in pieces (a
snapshot download). This replaces a second HTTP exchange: no request line, header parsing or
chunked encoding on either side, one write per message.
"""

from __future__ import annotations

import contextlib
import logging
import math
import socket
import struct
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote

import orjson
import trio
from hypercorn.typing import ConnectionState

from zoro.errors import Unavailable
from zoro.http.asgi import Headers, body_event, start_event

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from pathlib import Path

    from hypercorn.typing import (
        ASGIFramework,
        HTTPScope,
    )
    from hypercorn.typing import ASGIReceiveCallable as Receive
    from hypercorn.typing import ASGISendCallable as Send

log = logging.getLogger(__name__)

# bodies up to this are read whole before forwarding; larger ones stream
WHOLE_BODY_MAX: Final = 1 << 20
# per hop: the follower's connection to its client is not the link's
HOP_BY_HOP: Final = frozenset(
    {b"connection", b"keep-alive", b"transfer-encoding", b"te", b"upgrade"}
)
CONNECT_TIMEOUT_S: Final = 5.0
STREAMED: Final = 1
_MESSAGE = struct.Struct(">IIB")
_CHUNK = struct.Struct(">I")
_RECEIVE_SIZE: Final = 1 << 16


class LinkClosed(Exception):
    """The other end closed the connection in the middle of a message."""


def encode_message(head: Any, body: bytes = b"", *, streamed: bool = False) -> bytes:
    encoded = orjson.dumps(head)
    return _MESSAGE.pack(len(encoded), len(body), STREAMED if streamed else 0) + encoded + body


def _head_headers(headers: Headers) -> list[list[str]]:
    return [[k.decode("latin-1"), v.decode("latin-1")] for k, v in headers]


def _raw_headers(headers: list[list[str]]) -> Headers:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]


class _Connection:
    """One end of a link connection: whole messages and chunks over a byte stream."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self._buffer = bytearray()

    async def _exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            data = await self.stream.receive_some(max(_RECEIVE_SIZE, size - len(self._buffer)))
            if not data:
                raise LinkClosed
            self._buffer += data
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out

    async def message(self) -> tuple[Any, bytes, bool] | None:
        """The next message (head, body, streamed), or None when the other end closed the
        connection between messages."""
        if not self._buffer:
            data = await self.stream.receive_some(_RECEIVE_SIZE)
            if not data:
                return None
            self._buffer += data
        head_size, body_size, flags = _MESSAGE.unpack(await self._exactly(_MESSAGE.size))
        head = orjson.loads(await self._exactly(head_size))
        body = await self._exactly(body_size) if body_size else b""
        return head, body, bool(flags & STREAMED)

    async def chunk(self) -> bytes:
        """The next chunk of a streamed body; b"" ends it."""
        (size,) = _CHUNK.unpack(await self._exactly(_CHUNK.size))
        return await self._exactly(size) if size else b""

    async def send_message(self, head: Any, body: bytes = b"", *, streamed: bool = False) -> None:
        await self.stream.send_all(encode_message(head, body, streamed=streamed))

    async def send_chunk(self, chunk: bytes) -> None:
        await self.stream.send_all(_CHUNK.pack(len(chunk)) + chunk)


# ------------------------------------------------------------------------ a follower's end


class Forwarder:
    """Forwards requests to the owner's socket over a pool of kept connections."""

    def __init__(self, owner_socket: Path) -> None:
        self._path = str(owner_socket)
        self._idle: list[_Connection] = []

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
        path = scope.get("raw_path") or scope["path"].encode()
        head = [
            scope["method"],
            path.decode("latin-1"),
            scope.get("query_string", b"").decode("latin-1"),
            _head_headers(headers),
        ]
        body = await _body(receive)
        connection = await self._connection()
        reusable = False
        try:
            try:
                answer = await _exchange(connection, head, body)
            except (OSError, trio.BrokenResourceError, LinkClosed) as exc:
                raise Unavailable(
                    f"the owner worker did not answer ({type(exc).__name__}); retry shortly"
                ) from exc
            (status, answer_headers), answer_body, streamed = answer
            await settle(status)
            await send(start_event(status, _raw_headers(answer_headers)))
            if not streamed:
                await send(body_event(answer_body, more=False))
            else:
                while chunk := await connection.chunk():
                    await send(body_event(chunk, more=True))
                await send(body_event(b"", more=False))
            reusable = True
        finally:
            if reusable:
                self._idle.append(connection)
            else:  # a message may be half sent or half read: the connection is done
                await trio.aclose_forcefully(connection.stream)

    async def _connection(self) -> _Connection:
        if self._idle:
            return self._idle.pop()
        try:
            with trio.fail_after(CONNECT_TIMEOUT_S):
                return _Connection(await trio.open_unix_socket(self._path))
        except (OSError, trio.TooSlowError) as exc:
            raise Unavailable(
                f"the owner worker did not answer ({type(exc).__name__}); retry shortly"
            ) from exc

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await trio.aclose_forcefully(connection.stream)


async def _exchange(
    connection: _Connection, head: list[Any], body: bytes | AsyncIterator[bytes]
) -> tuple[Any, bytes, bool]:
    """Send a request, return the answer's message (its streamed body not read yet)."""
    if isinstance(body, bytes):
        await connection.send_message(head, body)
    else:
        await connection.send_message(head, streamed=True)
        async for chunk in body:
            await connection.send_chunk(chunk)
        await connection.send_chunk(b"")
    answer = await connection.message()
    if answer is None:
        raise LinkClosed
    return answer


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
        if chunk:
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


# --------------------------------------------------------------------------- the owner's end


class LinkServer:
    """The owner's end: serves the link's requests with the owner's ASGI app."""

    def __init__(self, app: ASGIFramework, listener: socket.socket) -> None:
        self._app = app
        self._listener = trio.SocketListener(trio.socket.from_stdlib_socket(listener))
        self._waiting: set[trio.CancelScope] = set()  # connections between exchanges
        self._busy = 0
        self._idle = trio.Event()
        self._idle.set()
        self._stopping = False
        self._accepting = trio.CancelScope()

    async def serve(self) -> None:
        """Accept connections until `drain`."""
        try:
            async with trio.open_nursery() as handlers:
                with self._accepting:
                    await trio.serve_listeners(
                        self._serve_connection, [self._listener], handler_nursery=handlers
                    )
        finally:
            await self._listener.aclose()

    async def drain(self, timeout_s: float) -> None:
        """Stop taking requests and wait (up to `timeout_s`) for those under way to be
        answered; connections waiting for their next request are closed."""
        self._stopping = True
        self._accepting.cancel()
        for scope in self._waiting:
            scope.cancel()
        with trio.move_on_after(timeout_s if math.isfinite(timeout_s) else 3600.0):
            await self._idle.wait()

    async def _serve_connection(self, stream: trio.SocketStream) -> None:
        try:
            await self._serve_exchanges(_Connection(stream))
        except Exception:  # one connection's trouble must not stop the owner
            log.exception("a link connection failed")
        finally:
            await trio.aclose_forcefully(stream)

    async def _serve_exchanges(self, connection: _Connection) -> None:
        while not self._stopping:
            with trio.CancelScope() as waiting:
                self._waiting.add(waiting)
                try:
                    request = await connection.message()
                except (OSError, trio.BrokenResourceError, LinkClosed):
                    request = None
                finally:
                    self._waiting.discard(waiting)
            if request is None or waiting.cancelled_caught:
                return
            if not self._busy:
                self._idle = trio.Event()
            self._busy += 1
            try:
                if not await self._answer(connection, *request):
                    return
            finally:
                self._busy -= 1
                if not self._busy:
                    self._idle.set()

    async def _answer(
        self, connection: _Connection, head: list[Any], body: bytes, streamed: bool
    ) -> bool:
        """Run one request through the app and send its answer; False when the connection
        cannot carry another exchange."""
        method, path, query, headers = head
        scope: HTTPScope = {
            "type": "http",
            "asgi": {"spec_version": "2.1", "version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": unquote(path),
            "raw_path": path.encode("latin-1"),
            "query_string": query.encode("latin-1"),
            "root_path": "",
            "headers": _raw_headers(headers),
            "client": None,
            "server": None,
            "extensions": {},
            "state": ConnectionState({}),
        }
        request_body = _RequestBody(connection, body, streamed)
        answer = _Answer(connection)
        try:
            await self._app(scope, request_body.receive, answer.send)  # type: ignore[arg-type]
        except Exception:
            if answer.broken:  # the follower went away (its client did)
                return False
            log.exception("a forwarded %s %s failed", method, path)
            if answer.started:
                return False
            await answer.fail()
        if not answer.finished:
            return False
        return await request_body.skip_rest()


class _RequestBody:
    """The ASGI `receive` of one forwarded request."""

    def __init__(self, connection: _Connection, body: bytes, streamed: bool) -> None:
        self._connection = connection
        self._body = body
        self._streamed = streamed
        self._done = False

    async def receive(self) -> dict[str, Any]:
        if self._done:  # ASGI: after the body, receive waits for a disconnect
            await trio.sleep_forever()
        if not self._streamed:
            self._done = True
            return {"type": "http.request", "body": self._body, "more_body": False}
        chunk = await self._connection.chunk()
        self._done = not chunk
        return {"type": "http.request", "body": chunk, "more_body": bool(chunk)}

    async def skip_rest(self) -> bool:
        """Read what the app left of a streamed body, so the next message starts clean."""
        with contextlib.suppress(OSError, trio.BrokenResourceError, LinkClosed):
            while self._streamed and not self._done:
                self._done = not await self._connection.chunk()
            return True
        return False


class _Answer:
    """The ASGI `send` of one forwarded request: a whole answer as one message, an answer in
    several pieces as a streamed one."""

    def __init__(self, connection: _Connection) -> None:
        self._connection = connection
        self._head: list[Any] | None = None
        self.started = False  # a message has gone out
        self.finished = False
        self.broken = False  # the connection failed under a send

    async def send(self, message: dict[str, Any]) -> None:
        try:
            await self._send(message)
        except (OSError, trio.BrokenResourceError):
            self.broken = True
            raise

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self._head = [message["status"], _head_headers(message.get("headers", []))]
            return
        if message["type"] != "http.response.body" or self._head is None or self.finished:
            return
        chunk, more = message.get("body", b""), message.get("more_body", False)
        if not self.started and not more:
            self.started = self.finished = True
            await self._connection.send_message(self._head, chunk)
            return
        if not self.started:
            self.started = True
            await self._connection.send_message(self._head, streamed=True)
        if chunk:
            await self._connection.send_chunk(chunk)
        if not more:
            self.finished = True
            await self._connection.send_chunk(b"")

    async def fail(self) -> None:
        body = orjson.dumps({"status": {"error": "internal error in the owner worker"}})
        self._head = [500, [["content-type", "application/json"]]]
        self.started = self.finished = True
        await self._connection.send_message(self._head, body)


# ------------------------------------------------------------------------ the supervisor's


def owner_ready(path: Path, timeout_s: float = 2.0) -> bool:
    """Does the owner answer GET /readyz with 200 on its local socket? (blocking)"""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout_s)
            sock.connect(str(path))
            sock.sendall(encode_message(["GET", "/readyz", "", []]))
            head_size, _, _ = _MESSAGE.unpack(_received(sock, _MESSAGE.size))
            return bool(orjson.loads(_received(sock, head_size))[0] == 200)
    except (OSError, ValueError, LinkClosed):
        return False


def _received(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        more = sock.recv(size - len(data))
        if not more:
            raise LinkClosed
        data += more
    return data
