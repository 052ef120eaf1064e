"""A fault-injecting HTTP/1.1 proxy for retry tests, run in the test's own trio loop.

Each request that matches a fault's method and path prefix takes the next fault of the script:
- DROP: close the connection without forwarding (the server never sees the request)
- LOSE: forward it, then close without answering (the work is done; the answer is lost)
- DELAY: forward it after `seconds` (the client's read timeout fires first)
- Status(code, retry_after): answer that status without forwarding
Everything else is forwarded. `seen` records (method, path, fault) for every request.
"""

from __future__ import annotations

import contextlib
from collections import deque
from dataclasses import dataclass, field

import h11
import httpx
import orjson
import trio


@dataclass(frozen=True)
class Status:
    code: int
    retry_after: str | None = None


DROP, LOSE = "drop", "lose"


@dataclass(frozen=True)
class Delay:
    seconds: float


Fault = str | Status | Delay


@dataclass
class Rule:
    method: str
    path_prefix: str
    faults: deque[Fault]


@dataclass
class FaultProxy:
    upstream: str | None  # None: a fake server that answers 200 {"result": ...} by itself
    rules: list[Rule] = field(default_factory=list)
    seen: list[tuple[str, str, str]] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add(self, method: str, path_prefix: str, *faults: Fault) -> None:
        self.rules.append(Rule(method, path_prefix, deque(faults)))

    def count(self, method: str, path_prefix: str = "") -> int:
        return sum(1 for m, p, _ in self.seen if m == method and p.startswith(path_prefix))

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with httpx.AsyncClient(base_url=self.upstream or "http://unused") as upstream:
            self._upstream = upstream
            listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
            self.port = listeners[0].socket.getsockname()[1]
            task_status.started()
            await trio.serve_listeners(self._handle, listeners)

    def _fault(self, method: str, path: str) -> Fault | None:
        for rule in self.rules:
            if rule.method == method and path.startswith(rule.path_prefix) and rule.faults:
                return rule.faults.popleft()
        return None

    async def _handle(self, stream: trio.SocketStream) -> None:
        # A client that gave up (cancelled, timed out) closes its end while an answer is still
        # on its way: that ends this connection, not the proxy.
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await self._serve(stream)

    async def _serve(self, stream: trio.SocketStream) -> None:
        conn = h11.Connection(h11.SERVER)
        async with stream:
            while True:
                request = await _read(conn, stream)
                if request is None:
                    return
                method, target, body = request
                path = target.split("?")[0]
                fault = self._fault(method, path)
                self.seen.append((method, path, str(fault)))
                if fault == DROP:
                    return
                if isinstance(fault, Status):
                    await _answer(conn, stream, fault.code, _error(fault), fault.retry_after)
                else:
                    if isinstance(fault, Delay):
                        await trio.sleep(fault.seconds)
                    status, content = await self._forward(method, target, body)
                    if fault == LOSE:
                        return
                    await _answer(conn, stream, status, content, None)
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    return
                conn.start_next_cycle()

    async def _forward(self, method: str, target: str, body: bytes) -> tuple[int, bytes]:
        if self.upstream is None:
            return 200, orjson.dumps(
                {"result": {"status": "completed", "operation_id": 1}, "status": "ok", "time": 0}
            )
        r = await self._upstream.request(
            method, target, content=body, headers={"content-type": "application/json"}
        )
        return r.status_code, r.content


def _error(fault: Status) -> bytes:
    return orjson.dumps({"status": {"error": f"injected {fault.code}"}, "time": 0, "result": None})


async def _read(conn: h11.Connection, stream: trio.SocketStream) -> tuple[str, str, bytes] | None:
    method = target = ""
    body = b""
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            try:
                conn.receive_data(await stream.receive_some(65536))
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return None
        elif isinstance(event, h11.Request):
            method, target = event.method.decode(), event.target.decode()
        elif isinstance(event, h11.Data):
            body += bytes(event.data)
        elif isinstance(event, h11.EndOfMessage):
            return method, target, body
        else:  # ConnectionClosed, PAUSED
            return None


async def _answer(
    conn: h11.Connection,
    stream: trio.SocketStream,
    status: int,
    body: bytes,
    retry_after: str | None,
) -> None:
    headers = [("content-type", "application/json"), ("content-length", str(len(body)))]
    if retry_after is not None:
        headers.append(("retry-after", retry_after))
    data = conn.send(h11.Response(status_code=status, headers=headers))
    data += conn.send(h11.Data(data=body))
    data += conn.send(h11.EndOfMessage())
    await stream.send_all(data)
