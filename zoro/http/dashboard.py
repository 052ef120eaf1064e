"""Serving the web dashboard's static files at /dashboard (zoro.dashboard has the files).

Served on the raw ASGI path, before the route table and by every worker alike: the files are
the same everywhere and carry no data, so they need no API key (the page asks for the key and
sends it with every API call it makes). Every answer says `cache-control: no-cache` with an
ETag, so a browser revalidates (a 304 costs a few bytes) and never runs a stale page after an
upgrade. The content security policy lets the page load nothing from anywhere else.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from zoro.dashboard import Asset, Assets
from zoro.errors import NotSupported
from zoro.http.asgi import send_whole
from zoro.http.routes import error_response, not_found

if TYPE_CHECKING:
    from hypercorn.typing import ASGISendCallable as Send
    from hypercorn.typing import HTTPScope

    from zoro.http.metrics import Metrics

PREFIX = "/dashboard"
ROUTE_NAME = "dashboard"  # in /metrics, beside the API's routes

_SECURITY = [
    (b"cache-control", b"no-cache"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
        b"base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    ),
]


def owns(path: str) -> bool:
    """Whether the dashboard answers this request path (whatever its method)."""
    return path == PREFIX or path.startswith(PREFIX + "/")


class Dashboard:
    def __init__(self, metrics: Metrics, assets: Assets | None = None) -> None:
        self.metrics = metrics
        self.assets = assets if assets is not None else Assets()

    async def serve(self, scope: HTTPScope, send: Send) -> None:
        """Answer one request under /dashboard; the request body, if any, is not read."""
        started = time.perf_counter()
        method, path = scope["method"], scope["path"]
        asset = self.assets.get(path)
        if method not in ("GET", "HEAD"):
            error = NotSupported(
                f"Zoro-DB does not support {method} {path}: it serves GET, HEAD there",
                ("GET", "HEAD"),
            )
            status, headers, body = error_response(error, 0.0)
        elif asset is None:
            status, headers, body = error_response(not_found(path), 0.0)
        else:
            status, headers, body = _answer(asset, _if_none_match(scope))
        if method == "HEAD":
            headers = [*headers, (b"content-length", str(len(body)).encode())]
            body = b""
        self.metrics.observe(ROUTE_NAME, status, time.perf_counter() - started)
        await send_whole(send, status, headers, body)


def _answer(
    asset: Asset, if_none_match: str | None
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    headers = [(b"etag", asset.etag.encode()), *_SECURITY]
    if if_none_match is not None and asset.etag in (t.strip() for t in if_none_match.split(",")):
        return 304, headers, b""
    return 200, [(b"content-type", asset.content_type.encode()), *headers], asset.body


def _if_none_match(scope: HTTPScope) -> str | None:
    for name, value in scope["headers"]:
        if name.lower() == b"if-none-match":
            return value.decode("latin-1")
    return None
