from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.http import wire_setup
from zoro.testing import ServerProcess

_names = itertools.count()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real server process per test module (127.0.0.1, a free port)."""
    root: Path = tmp_path_factory.mktemp("server")
    with ServerProcess(root / "data") as proc:
        yield proc


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30.0) as client:
        yield client


@pytest.fixture
def collection(http: httpx.Client) -> str:
    """A fresh 4-dimensional Euclid collection."""
    name = f"c{next(_names)}"
    r = http.put(f"/collections/{name}", json={"vectors": {"size": 4, "distance": "Euclid"}})
    assert r.status_code == 200, r.text
    return name


@pytest.fixture(scope="module")
def wire_http(server: ServerProcess) -> Iterator[httpx.Client]:
    """A client of the module's server holding the wire tests' collection (wire_setup.seed)."""
    with httpx.Client(base_url=server.url, timeout=30.0) as client:
        wire_setup.seed(client)
        yield client
