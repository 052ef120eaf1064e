"""The dashboard's static files as the server serves them: content types, revalidation,
refused paths, and the API key (the shell is public; the data behind it is not)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from zoro.dashboard import STATIC_DIR, Assets
from zoro.testing import ServerProcess

KEY = "dashboard-test-key"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root: Path = tmp_path_factory.mktemp("dashboard-static")
    with ServerProcess(root / "data", extra_args=("--api-key", KEY)) as proc:
        yield proc


def _raw_get(port: int, target: str) -> tuple[int, bytes]:
    """GET with the request target sent exactly as written (httpx would normalise `..`)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        for _ in range(1000):  # bounded: a small answer
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data.partition(b"\r\n\r\n")[2]


def test_every_file_is_served_with_its_type(server: ServerProcess) -> None:
    types = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
    names = Assets().names()
    assert "index.html" in names
    assert "app.js" in names
    for name in names:
        r = httpx.get(f"{server.url}/dashboard/{name}")
        assert r.status_code == 200, name
        assert r.headers["content-type"].startswith(types[Path(name).suffix]), name
        assert r.headers["cache-control"] == "no-cache"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "default-src 'self'" in r.headers["content-security-policy"]
        assert r.content == (STATIC_DIR / name).read_bytes()


def test_the_page_itself_and_revalidation(server: ServerProcess) -> None:
    for path in ("/dashboard", "/dashboard/"):
        r = httpx.get(server.url + path)
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        assert b"/dashboard/app.js" in r.content
    etag = r.headers["etag"]
    again = httpx.get(server.url + "/dashboard/", headers={"if-none-match": etag})
    assert again.status_code == 304
    assert again.content == b""
    other = httpx.get(server.url + "/dashboard/", headers={"if-none-match": '"stale"'})
    assert other.status_code == 200
    head = httpx.head(server.url + "/dashboard/app.js")
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["content-length"]) == len((STATIC_DIR / "app.js").read_bytes())


@pytest.mark.parametrize(
    "target",
    [
        "/dashboard/../zoro/cli.py",
        "/dashboard/%2e%2e/%2e%2e/pyproject.toml",
        "/dashboard/..%2f__init__.py",
        "/dashboard/%2E%2E%2F__init__.py",
        "/dashboard//etc/passwd",
        "/dashboard/static/app.js",
        "/dashboard/../dashboard/__init__.py",
        "/dashboard/__init__.py",
        "/dashboard/app.js/",
        "/dashboard/.app.js",
        "/dashboard/nothing.js",
        "/dashboard/app.js%00.html",
    ],
)
def test_paths_outside_the_files_are_refused(server: ServerProcess, target: str) -> None:
    status, body = _raw_get(server.port, target)
    assert status in (400, 404), (target, status)
    assert b"import" not in body
    assert b"[project]" not in body
    assert b"root:" not in body


def test_only_get_and_head(server: ServerProcess) -> None:
    r = httpx.post(server.url + "/dashboard/", content=b"x", headers={"api-key": KEY})
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, HEAD"


def test_the_shell_is_public_and_the_data_is_not(server: ServerProcess) -> None:
    assert httpx.get(server.url + "/dashboard/").status_code == 200
    # everything the page shows comes from routes that still want the key
    for path in ("/collections", "/metrics", "/snapshots", "/issues"):
        assert httpx.get(server.url + path).status_code == 401, path
        assert httpx.get(server.url + path, headers={"api-key": "wrong"}).status_code == 403
        assert httpx.get(server.url + path, headers={"api-key": KEY}).status_code == 200
    # and the static files hold no data: the same bytes as in the package
    assert httpx.get(server.url + "/dashboard/").content == (STATIC_DIR / "index.html").read_bytes()


def test_requests_are_counted_in_metrics(server: ServerProcess) -> None:
    # one connection: with worker processes, the same worker answers both
    with httpx.Client(base_url=server.url) as http:
        http.get("/dashboard/style.css")
        text = http.get("/metrics", headers={"api-key": KEY}).text
    assert 'zoro_http_requests_total{route="dashboard",status="200"}' in text


def test_assets_ignore_unlisted_files(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<p>hi</p>")
    (tmp_path / ".secret.js").write_text("x")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.js").write_text("x")
    assets = Assets(tmp_path)
    assert assets.names() == ["index.html"]
    assert assets.get("/dashboard") is not None
    assert assets.get("/dashboard/sub/a.js") is None
    assert assets.get("/dashboard/.secret.js") is None
    assert assets.get("/dashboardx") is None
