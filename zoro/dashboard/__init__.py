"""The web dashboard's static files (GET /dashboard, served by zoro.http.dashboard).

The page is plain HTML, CSS and ES modules under static/, with no build step. It carries no
data: everything it shows it fetches from the REST API with the API key the user types in,
so serving the files themselves needs no key. This module only knows the files: which URL
names exist, their bytes, content types and ETags. A name is served only if it is one of the
files listed here when the server starts, so no URL can reach anything outside static/.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["STATIC_DIR", "Asset", "Assets"]

STATIC_DIR = Path(__file__).resolve().parent / "static"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
# One flat folder of plainly named files: no dot-files, no sub-paths.
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*\.[a-z]+$")


@dataclass(frozen=True, slots=True)
class Asset:
    name: str
    body: bytes
    content_type: str
    etag: str  # a strong validator: the content's hash, quoted


class Assets:
    """Every file of the dashboard, read once (they are small: tens of kB in all)."""

    def __init__(self, directory: Path = STATIC_DIR) -> None:
        self._by_name: dict[str, Asset] = {}
        for path in sorted(directory.iterdir()):
            content_type = CONTENT_TYPES.get(path.suffix)
            if content_type is None or not _NAME.match(path.name) or not path.is_file():
                continue
            body = path.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            self._by_name[path.name] = Asset(path.name, body, content_type, etag)

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def get(self, url_path: str) -> Asset | None:
        """The asset for a request path under /dashboard, or None. `/dashboard` and
        `/dashboard/` are the page itself; anything else must name a listed file exactly."""
        if url_path in ("/dashboard", "/dashboard/"):
            return self._by_name.get("index.html")
        prefix = "/dashboard/"
        if not url_path.startswith(prefix):
            return None
        return self._by_name.get(url_path[len(prefix) :])
