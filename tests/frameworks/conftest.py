"""Fixtures for the framework tests: each flow runs on qdrant-client's local mode and on Zoro.

Local mode (`QdrantClient(":memory:")`) is qdrant-client's own in-process engine, so it stands in
for a real Qdrant: a flow's answer on Zoro must equal its answer there. The Zoro server is started
once per module (127.0.0.1, a free port) and only when a Zoro case runs.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Haystack reports usage to a telemetry service unless told not to; the tests stay offline.
# Set before any haystack import (the test modules import it after this conftest).
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

import pytest
from qdrant_client import AsyncQdrantClient, QdrantClient
from qdrant_client.http.exceptions import UnexpectedResponse

from zoro.testing import ServerProcess

_names = itertools.count()


@dataclass(frozen=True)
class Backend:
    """Where a flow runs: qdrant-client local mode (`url` None) or a Zoro server at `url`."""

    name: str
    url: str | None

    @property
    def local(self) -> bool:
        return self.url is None

    @property
    def location(self) -> str | None:
        """The `location=` argument frameworks pass on to QdrantClient."""
        return ":memory:" if self.url is None else None

    def client(self) -> QdrantClient:
        """A new client. In local mode each one is a separate, empty in-memory database."""
        if self.url is None:
            return QdrantClient(":memory:")
        return QdrantClient(url=self.url, timeout=30)

    def aclient(self) -> AsyncQdrantClient:
        if self.url is None:
            return AsyncQdrantClient(":memory:")
        return AsyncQdrantClient(url=self.url, timeout=30)


LOCAL = Backend("local", None)


# Warnings qdrant-client gives on purpose (filterwarnings=error would turn them into failures):
# local mode has no payload indexes, which frameworks create, and searches exactly whatever the
# search params; upload_points retries a refused batch
# (a Zoro case that is an xfail then fails with the refusal, after the retries).
QDRANT_CLIENT_WARNINGS = [
    pytest.mark.filterwarnings("ignore:Payload indexes have no effect in the local Qdrant"),
    pytest.mark.filterwarnings("ignore:Batch upload failed"),
    pytest.mark.filterwarnings("ignore:Local mode performs exact .brute-force. search"),
]


def backends(
    *zoro_missing: str,
    raises: type[Exception] | tuple[type[Exception], ...] = UnexpectedResponse,
) -> list[object]:
    """Parameters for `backend`: local mode and Zoro.

    `zoro_missing` names the features Zoro lacks that the flow needs: the Zoro case is then a
    strict xfail, so it turns into a failure the moment they land (then drop them here). Only
    `raises` (by default the server refusing a request) counts as the expected failure: a flow
    that runs but answers differently from local mode fails the run either way.
    """
    if not zoro_missing:
        return [pytest.param("local"), pytest.param("zoro")]
    mark = pytest.mark.xfail(strict=True, raises=raises, reason="; ".join(zoro_missing))
    return [pytest.param("local"), pytest.param("zoro", marks=mark)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real server process per test module (127.0.0.1, a free port)."""
    root: Path = tmp_path_factory.mktemp("frameworks-server")
    with ServerProcess(root / "data") as proc:
        yield proc


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> Backend:
    """Parametrized with `backends()`; starts the module's server only for a Zoro case."""
    if request.param == "local":
        return LOCAL
    server: ServerProcess = request.getfixturevalue("server")
    return Backend("zoro", server.url)


def fresh_name(prefix: str) -> str:
    """A collection name no other test uses (the server is shared by a module's tests)."""
    return f"{prefix}{next(_names)}"
