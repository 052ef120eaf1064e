from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from zoro.client import AsyncZoroClient, RetryPolicy
from zoro.testing import ServerProcess

_names = itertools.count()

# Fast retries: the tests exercise retry paths without spending seconds in backoff.
FAST_RETRY = RetryPolicy(
    max_attempts=5, max_total_s=10.0, backoff_initial_s=0.01, backoff_max_s=0.05
)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real server process for the whole client suite (127.0.0.1, a free port)."""
    root: Path = tmp_path_factory.mktemp("client-server")
    with ServerProcess(root / "data") as proc:
        yield proc


@pytest.fixture
async def client(server: ServerProcess) -> AsyncIterator[AsyncZoroClient]:
    async with AsyncZoroClient(server.url, retry=FAST_RETRY, timeout=30.0) as c:
        yield c


@pytest.fixture
def name() -> str:
    """A collection name no other test uses."""
    return f"client{next(_names)}"


@pytest.fixture
async def collection(client: AsyncZoroClient, name: str) -> str:
    """A fresh 4-dimensional Euclid collection, searched exactly (flat)."""
    await client.create_collection(name, 4, "Euclid", engine="flat")
    return name
