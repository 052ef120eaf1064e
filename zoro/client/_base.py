"""What every part of AsyncZoroClient shares: the transport, the limits, the dimension cache."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from zoro.client import _validate as check
from zoro.client._errors import DimensionMismatch, NotFound

if TYPE_CHECKING:
    from collections.abc import Mapping

    import numpy as np
    import numpy.typing as npt

    from zoro.client._config import RetryPolicy
    from zoro.client._embed import Embedder
    from zoro.client._models import CollectionInfo
    from zoro.client._transport import CallTrace, Transport

_NUMPY = orjson.OPT_SERIALIZE_NUMPY


def encode(document: object) -> bytes:
    """JSON with numpy arrays written directly (float32 rows need no tolist())."""
    return orjson.dumps(document, option=_NUMPY)


class ClientBase:
    """State and helpers; the public methods live in the mixins that build AsyncZoroClient."""

    _transport: Transport
    _limits: check.Limits
    _embedder: Embedder | None
    # Collection name -> dimension, filled by get_collection. A write or a search is checked
    # against it before it is sent; a mismatch refetches once (the collection may have been
    # recreated), and a server-side mismatch or a 404 drops the entry.
    _dimensions: dict[str, int]
    # (collection, vector name) -> dimension of a named dense vector, kept the same way.
    _named_dimensions: dict[tuple[str, str], int]

    async def get_collection(self, name: str) -> CollectionInfo:
        raise NotImplementedError  # provided by CollectionsMixin

    def _path(self, name: str, suffix: str = "") -> str:
        return f"/collections/{check.collection_name(name, self._limits)}{suffix}"

    async def _check_dimension(
        self,
        name: str,
        vectors: npt.NDArray[np.float32],
        field: str = "vectors",
        using: str | None = None,
    ) -> None:
        """Raises DimensionMismatch before sending when the vectors do not fit the collection
        (NotFound when it does not exist). For a named vector (`using`) the collection info
        must list it; if it does not, the server judges."""
        if using:  # None and "" both mean the unnamed vector
            await self._check_named_dimension(name, vectors, field, using)
            return
        expected = self._dimensions.get(name)
        if expected is None or expected not in (0, vectors.shape[1]):
            # unknown, or cached and different: the cache may be stale, so ask once
            expected = (await self.get_collection(name)).dimension
        if expected:  # 0: the collection has no unnamed vector; the server answers that
            check.dimension(vectors, expected, field)

    async def _check_named_dimension(
        self, name: str, vectors: npt.NDArray[np.float32], field: str, using: str
    ) -> None:
        expected = self._named_dimensions.get((name, using))
        if expected is None or expected != vectors.shape[1]:
            params = (await self.get_collection(name)).vectors.get(using)
            if params is None:
                return
            expected = params.size
        check.dimension(vectors, expected, field)

    def _forget(self, name: str) -> None:
        """Drop what the client believes about a collection's vectors."""
        self._dimensions.pop(name, None)
        for key in [k for k in self._named_dimensions if k[0] == name]:
            del self._named_dimensions[key]

    async def _call(
        self,
        name: str,
        method: str,
        suffix: str,
        body: object = None,
        *,
        params: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        trace: CallTrace | None = None,
    ) -> Any:
        """A request about one collection; keeps the dimension cache honest on errors."""
        content = None if body is None else check.body(encode(body), self._limits)
        try:
            return await self._transport.call(
                method,
                self._path(name, suffix),
                body=content,
                params=params,
                retry=retry,
                trace=trace,
            )
        except (DimensionMismatch, NotFound):
            self._forget(name)
            raise
