"""What every part of AsyncZoroClient shares: the transport, the limits, the dimension cache."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from zoro.client import _validate as check
from zoro.client._errors import DimensionMismatch, InvalidInput, NotFound

if TYPE_CHECKING:
    from collections.abc import Mapping

    import numpy as np
    import numpy.typing as npt

    from zoro.client._config import RetryPolicy
    from zoro.client._embed import Embedder
    from zoro.client._models import CollectionInfo, VectorParams
    from zoro.client._transport import CallTrace, Transport

_NUMPY = orjson.OPT_SERIALIZE_NUMPY


def encode(document: object) -> bytes:
    """JSON with numpy arrays written directly (float32 rows need no tolist())."""
    return orjson.dumps(document, option=_NUMPY)


@dataclass(frozen=True, slots=True)
class Encoded:
    """A request body already encoded, in a media type other than JSON."""

    content: bytes
    media_type: str


class ClientBase:
    """State and helpers; the public methods live in the mixins that build AsyncZoroClient."""

    _transport: Transport
    _limits: check.Limits
    _embedder: Embedder | None
    # Collection name -> its dense vectors by name ("" the unnamed one), filled by
    # get_collection. A write or a search is checked against it before it is sent; a vector
    # that does not fit (or a name not listed) refetches once, since the collection may have
    # been recreated; a server-side mismatch or a 404 drops the entry.
    _vector_params: dict[str, dict[str, VectorParams]]
    # Whether the server reads upload()'s binary body (learned from GET / once; None: not yet)
    _binary_points: bool | None

    async def get_collection(self, name: str) -> CollectionInfo:
        raise NotImplementedError  # provided by CollectionsMixin

    def _path(self, name: str, suffix: str = "") -> str:
        return f"/collections/{check.collection_name(name, self._limits)}{suffix}"

    def _remember(self, info: CollectionInfo) -> None:
        known = dict(info.vectors)
        if info.vector is not None:
            known[""] = info.vector
        self._vector_params[info.name] = known

    async def _check_dimension(
        self,
        name: str,
        vectors: npt.NDArray[np.float32],
        field: str = "vectors",
        using: str | None = None,
        *,
        multi: bool = False,
    ) -> None:
        """Raises DimensionMismatch before sending when dense `vectors` (or the rows of
        multivectors, `multi`) do not fit the vector `using` names ("" the unnamed one; None
        the unnamed one, else the first dense vector, as the server picks), and InvalidInput
        when a matrix is given for a plain dense vector or the other way round; NotFound when
        the collection does not exist. A vector the collection info does not list is left to
        the server."""
        vector, params = _params_of(self._vector_params.get(name), using)
        fits = params is not None and (params.size, params.multivector) == (vectors.shape[1], multi)
        if not fits and (params is not None or name not in self._vector_params):
            # unknown, or cached and different: the cache may be stale, so ask once
            await self.get_collection(name)
            vector, params = _params_of(self._vector_params.get(name), using)
        if params is None:
            return
        if params.multivector != multi:
            what = repr(vector) if vector else "the unnamed vector"
            if params.multivector:
                raise InvalidInput(
                    f"{field}: {what} is a multivector: give a matrix (a list of rows) per point"
                )
            raise InvalidInput(f"{field}: {what} is a dense vector, not a multivector")
        check.dimension(vectors, params.size, field)

    def _forget(self, name: str) -> None:
        """Drop what the client believes about a collection's vectors."""
        self._vector_params.pop(name, None)

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
        idempotent: bool = True,
    ) -> Any:
        """A request about one collection; keeps the dimension cache honest on errors.
        `body`: a document sent as JSON, or an Encoded one sent as it is. `idempotent`: False
        when sending it twice could differ from once (not retried once it may have reached
        the server)."""
        headers = None
        if isinstance(body, Encoded):
            content: bytes | None = check.body(body.content, self._limits)
            headers = {"content-type": body.media_type}
        else:
            content = None if body is None else check.body(encode(body), self._limits)
        try:
            return await self._transport.call(
                method,
                self._path(name, suffix),
                body=content,
                params=params,
                retry=retry,
                trace=trace,
                idempotent=idempotent,
                headers=headers,
            )
        except (DimensionMismatch, NotFound):
            self._forget(name)
            raise


def _params_of(
    known: dict[str, VectorParams] | None, using: str | None
) -> tuple[str, VectorParams | None]:
    """The vector a query or write addresses: `using` by name, or without it the unnamed one,
    else (as Zoro-DB does) the collection's first dense vector."""
    if known is None:
        return using or "", None
    if using is None and "" not in known and known:
        first = next(iter(known))
        return first, known[first]
    return using or "", known.get(using or "")
