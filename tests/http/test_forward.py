"""The follower-owner link (zoro.http.forward) on a real local socket: a request goes through
as the owner's app would see it from hypercorn, and its answer comes back as the app sent it,
whole or in pieces, one exchange after another on the kept connections."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

import pytest
import trio
import trio.testing

from zoro.errors import Unavailable
from zoro.http.forward import WHOLE_BODY_MAX, Forwarder, LinkServer, owner_ready

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

Message = dict[str, Any]


class OwnerApp:
    """An ASGI app that records what it was asked and answers by path."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, bytes, bytes, dict[bytes, bytes]]] = []
        self.release = trio.Event()

    async def __call__(
        self,
        scope: Any,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        path = scope["path"]
        body = b""
        if path != "/unread":
            while True:
                message = await receive()
                body += message["body"]
                if not message["more_body"]:
                    break
        self.seen.append(
            (scope["method"], path, scope["query_string"], body, dict(scope["headers"]))
        )
        if path == "/boom":
            raise RuntimeError("on purpose")
        if path == "/slow":
            await self.release.wait()
        await send({"type": "http.response.start", "status": 201, "headers": [(b"x-a", b"1")]})
        if path == "/pieces":
            for piece in (b"one,", b"two,", b"three"):
                await send({"type": "http.response.body", "body": piece, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        else:
            answer = b"len=%d" % len(body)
            await send({"type": "http.response.body", "body": answer, "more_body": False})


def _listener(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.listen(16)
    return sock


async def _request(
    forwarder: Forwarder,
    method: str,
    raw_path: bytes,
    body_pieces: list[bytes],
    query: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
) -> tuple[int, list[tuple[bytes, bytes]], list[bytes], list[int]]:
    """One request through `forwarder` as hypercorn would hand it over; the answer's status,
    headers and body pieces, and the statuses `settle` saw."""
    scope = {
        "type": "http",
        "method": method,
        "path": raw_path.decode(),
        "raw_path": raw_path,
        "query_string": query,
        "headers": headers or [(b"host", b"here"), (b"connection", b"keep-alive")],
    }
    pending = list(body_pieces) or [b""]

    async def receive() -> Message:
        piece = pending.pop(0)
        return {"type": "http.request", "body": piece, "more_body": bool(pending)}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    settled: list[int] = []

    async def settle(status: int) -> None:
        settled.append(status)

    with trio.fail_after(10):
        await forwarder.forward(scope, receive, send, settle)  # type: ignore[arg-type]
    start, *bodies = sent
    assert not bodies[-1]["more_body"]
    return start["status"], start["headers"], [b["body"] for b in bodies], settled


async def _serving(
    tmp_path: Path, nursery: trio.Nursery, app: OwnerApp
) -> tuple[LinkServer, Forwarder]:
    path = tmp_path / "owner.sock"
    link = LinkServer(app, _listener(path))  # type: ignore[arg-type]
    nursery.start_soon(link.serve)
    return link, Forwarder(path)


async def test_requests_and_answers_go_through_whole_and_in_pieces(tmp_path: Path) -> None:
    app = OwnerApp()
    async with trio.open_nursery() as nursery:
        link, forwarder = await _serving(tmp_path, nursery, app)
        status, headers, pieces, settled = await _request(
            forwarder, "PUT", b"/c/%C3%A9t%C3%A9/points", [b'{"a"', b":1}"], query=b"wait=true"
        )
        assert (status, headers, b"".join(pieces), settled) == (
            201,
            [(b"x-a", b"1")],
            b"len=7",
            [201],
        )
        method, path, query, body, seen_headers = app.seen[-1]
        assert (method, path, query, body) == ("PUT", "/c/été/points", b"wait=true", b'{"a":1}')
        # hop-by-hop headers stay on the follower's side
        assert seen_headers == {b"host": b"here"}
        # an answer sent in pieces arrives in pieces
        _, _, pieces, _ = await _request(forwarder, "GET", b"/pieces", [])
        assert pieces == [b"one,", b"two,", b"three", b""]
        # a body past WHOLE_BODY_MAX streams through, in order
        big = [bytes([i]) * (WHOLE_BODY_MAX // 3) for i in range(5)]
        _, _, pieces, _ = await _request(forwarder, "POST", b"/upload", big)
        assert pieces == [b"len=%d" % sum(map(len, big))]
        assert app.seen[-1][3] == b"".join(big)
        # the app left a body unread: the connection still carries the next request
        _, _, pieces, _ = await _request(forwarder, "POST", b"/unread", big)
        _, _, pieces, _ = await _request(forwarder, "POST", b"/unread", [b"small"])
        _, _, pieces, _ = await _request(forwarder, "POST", b"/after", [b"xyz"])
        assert pieces == [b"len=3"]
        assert len(forwarder._idle) == 1  # one connection carried every exchange
        await link.drain(5.0)
        await forwarder.aclose()


async def test_an_app_that_fails_answers_500_and_the_link_goes_on(tmp_path: Path) -> None:
    app = OwnerApp()
    async with trio.open_nursery() as nursery:
        link, forwarder = await _serving(tmp_path, nursery, app)
        status, _, pieces, _ = await _request(forwarder, "POST", b"/boom", [b"{}"])
        assert status == 500
        assert b"internal error" in b"".join(pieces)
        status, _, _, _ = await _request(forwarder, "POST", b"/fine", [b"{}"])
        assert status == 201
        await link.drain(5.0)
        await forwarder.aclose()


async def test_drain_answers_what_is_under_way_and_refuses_the_rest(tmp_path: Path) -> None:
    app = OwnerApp()
    async with trio.open_nursery() as nursery:
        link, forwarder = await _serving(tmp_path, nursery, app)
        await _request(forwarder, "GET", b"/warm", [])  # one kept connection, idle
        answers: list[int] = []

        async def slow() -> None:
            answers.append((await _request(forwarder, "GET", b"/slow", []))[0])

        nursery.start_soon(slow)
        await trio.testing.wait_all_tasks_blocked()
        drained = trio.Event()

        async def drain() -> None:
            await link.drain(5.0)
            drained.set()

        nursery.start_soon(drain)
        await trio.testing.wait_all_tasks_blocked()
        assert not drained.is_set()  # the slow request is still being answered
        app.release.set()
        await drained.wait()
        assert answers == [201]
        # nothing listens any more: a new request is refused before anything is sent
        with pytest.raises(Unavailable, match="owner worker did not answer"):
            await _request(forwarder, "GET", b"/late", [])
        await forwarder.aclose()


async def test_a_follower_without_an_owner_says_so(tmp_path: Path) -> None:
    forwarder = Forwarder(tmp_path / "nobody.sock")
    with pytest.raises(Unavailable, match="owner worker did not answer"):
        await _request(forwarder, "GET", b"/x", [])


async def test_owner_ready_reads_the_status_of_readyz(tmp_path: Path) -> None:
    statuses: list[int] = [503, 200]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert scope["path"] == "/readyz"
        await send({"type": "http.response.start", "status": statuses.pop(0), "headers": []})
        await send({"type": "http.response.body", "body": b"{}", "more_body": False})

    path = tmp_path / "owner.sock"
    assert not await trio.to_thread.run_sync(owner_ready, path)
    async with trio.open_nursery() as nursery:
        link = LinkServer(app, _listener(path))  # type: ignore[arg-type]
        nursery.start_soon(link.serve)
        assert not await trio.to_thread.run_sync(owner_ready, path)
        assert await trio.to_thread.run_sync(owner_ready, path)
        await link.drain(5.0)
