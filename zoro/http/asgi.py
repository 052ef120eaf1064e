"""The raw ASGI messages of an HTTP answer, spelled once for every path that sends its own
(the lean routes, file answers, the dashboard's files, a follower's forwarded answers)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hypercorn.typing import ASGISendCallable as Send
    from hypercorn.typing import HTTPResponseBodyEvent, HTTPResponseStartEvent

Headers = list[tuple[bytes, bytes]]


def start_event(status: int, headers: Headers) -> HTTPResponseStartEvent:
    return {"type": "http.response.start", "status": status, "headers": headers, "trailers": False}


def body_event(chunk: bytes, *, more: bool) -> HTTPResponseBodyEvent:
    return {"type": "http.response.body", "body": chunk, "more_body": more}


async def send_whole(send: Send, status: int, headers: Headers, body: bytes) -> None:
    """An answer whose body is all here."""
    await send(start_event(status, headers))
    await send(body_event(body, more=False))
