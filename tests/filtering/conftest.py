"""Fixtures for the filtering end-to-end tests: one real server per module (like tests/http)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from zoro.testing import ServerProcess

_names = itertools.count()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real server process per test module (127.0.0.1, a free port)."""
    root: Path = tmp_path_factory.mktemp("filter-server")
    with ServerProcess(root / "data") as proc:
        yield proc


@pytest.fixture(scope="module")
def mhttp(server: ServerProcess) -> Iterator[httpx.Client]:
    """A module-wide HTTP client (hypothesis tests cannot use function-scoped fixtures)."""
    with httpx.Client(base_url=server.url, timeout=60.0) as client:
        yield client


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60.0) as client:
        yield client


def fresh_name(prefix: str = "f") -> str:
    return f"{prefix}{next(_names)}"
