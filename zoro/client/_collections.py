"""Collection operations: create, get, list, exists, delete; payload indexes."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from zoro.client import _validate as check
from zoro.client._base import ClientBase
from zoro.client._errors import Conflict, InvalidInput, ProtocolError
from zoro.client._models import CollectionInfo, UpdateResult, parsed
from zoro.client._transport import CallTrace

if TYPE_CHECKING:
    from zoro.client._models import Distance, Engine


class CollectionsMixin(ClientBase):
    async def create_collection(
        self,
        name: str,
        dimension: int,
        distance: Distance = "Cosine",
        *,
        engine: Engine = "hnsw",
        hnsw_m: int | None = None,
        hnsw_ef_construct: int | None = None,
        full_scan_threshold: int | None = None,
        ef_search: int | None = None,
    ) -> None:
        """Create a collection of `dimension`-long vectors.

        `engine` "hnsw" (approximate, the default) or "flat" (exact). `hnsw_m`,
        `hnsw_ef_construct` and `full_scan_threshold` shape the HNSW graph; `ef_search` is the
        default search breadth. Unset values take the server's defaults.

        Creating is not idempotent: a second create of the same name is a 409. It is retried
        anyway when an answer was lost (a timeout or a dropped connection after sending), and if
        the retry then meets 409 the client reads the collection back: the same dimension and
        distance mean the lost attempt (or an identical concurrent create, which the client
        cannot tell apart) made it, and the call succeeds; anything else raises Conflict.

        Raises:
            InvalidInput: a bad name, dimension, distance or engine setting (before sending).
            Conflict: the collection already exists.
            Unavailable, Overloaded, ServerError: as for every call.
        """
        body = _create_body(
            dimension, distance, engine, hnsw_m, hnsw_ef_construct, full_scan_threshold, ef_search
        )
        trace = CallTrace()
        try:
            await self._call(name, "PUT", "", body, trace=trace)
        except Conflict:
            if not (trace.attempts > 1 and trace.outcome_unknown):
                raise
            info = await self.get_collection(name)
            if (info.dimension, info.distance, info.engine) != (dimension, distance, engine):
                raise Conflict(
                    f"Collection `{name}` already exists with dimension {info.dimension}, "
                    f"distance {info.distance} and engine {info.engine} (a retry after a lost "
                    "answer found it)",
                    status=409,
                ) from None
        self._dimensions[name] = dimension

    async def get_collection(self, name: str) -> CollectionInfo:
        """Describe a collection (and refresh the client's record of its dimension).

        Raises:
            NotFound: no such collection.
        """
        info = CollectionInfo.from_json(name, await self._call(name, "GET", ""))
        self._forget(name)
        self._dimensions[name] = info.dimension
        for vector, params in info.vectors.items():
            self._named_dimensions[name, vector] = params.size
        return info

    async def list_collections(self) -> list[str]:
        """The names of all collections.

        Raises:
            Only what every call may raise (see AsyncZoroClient).
        """
        result: Any = await self._transport.call("GET", "/collections")
        try:
            return [str(c["name"]) for c in result["collections"]]
        except (KeyError, TypeError) as exc:
            raise ProtocolError(f"unexpected collection list: {result!r:.200}") from exc

    async def collection_exists(self, name: str) -> bool:
        """Whether a collection of that name exists (False, not NotFound, when it does not).

        Raises:
            InvalidInput: a name the server would refuse (before sending).
        """
        return bool((await self._call(name, "GET", "/exists"))["exists"])

    async def delete_collection(self, name: str) -> bool:
        """Delete a collection and its data. True if it existed, False if there was none.

        Retried like a read: deleting twice leaves the same state. After a lost answer, the
        retry may find nothing left and report False although this call did the deleting.

        Raises:
            InvalidInput: a name the server would refuse (before sending).
        """
        self._forget(name)
        return bool(await self._call(name, "DELETE", ""))

    async def create_payload_index(
        self,
        collection: str,
        field: str,
        schema: str | Mapping[str, Any],
        *,
        wait: bool = True,
    ) -> UpdateResult:
        """Index a payload key (dotted paths and `name[]` as in filters) so that filters on it
        need not scan payloads. `schema`: keyword, integer, float, bool, uuid or datetime (the
        types Zoro-DB serves), or Qdrant's {"type": ..., ...} form. With `wait`, returns once
        the index is built; otherwise once it is declared (durably) and building. Creating
        the same index again changes nothing, so it is retried.

        Raises:
            InvalidInput: an empty field or a schema that is not a string or {"type": ...}
                (before sending); a schema or key the server refuses (its message).
            NotFound: no such collection.
        """
        body = {"field_name": _field(field), "field_schema": _schema(schema)}
        params = {"wait": "true" if wait else "false"}
        result = await self._call(collection, "PUT", "/index", body, params=params)
        return parsed(UpdateResult.from_json, result)

    async def delete_payload_index(
        self, collection: str, field: str, *, wait: bool = True
    ) -> UpdateResult:
        """Drop a payload key's index (filters on the key then scan payloads). Dropping one
        that does not exist changes nothing; retried.

        Raises:
            InvalidInput: an empty field (before sending).
            NotFound: no such collection.
        """
        suffix = "/index/" + urllib.parse.quote(_field(field), safe="")
        params = {"wait": "true" if wait else "false"}
        result = await self._call(collection, "DELETE", suffix, params=params)
        return parsed(UpdateResult.from_json, result)


def _field(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInput('field: a payload key such as "lang", "meta.lang" or "tags[]"')
    return value


def _schema(value: object) -> str | dict[str, Any]:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, Mapping) and isinstance(value.get("type"), str):
        return dict(value)
    raise InvalidInput(
        'schema: a type name (keyword, integer, float, bool, uuid, datetime) or {"type": ...}'
    )


def _create_body(
    dimension: int,
    distance: str,
    engine: str,
    hnsw_m: int | None,
    hnsw_ef_construct: int | None,
    full_scan_threshold: int | None,
    ef_search: int | None,
) -> dict[str, Any]:
    size = check.positive(dimension, "dimension", high=65_536)
    body: dict[str, Any] = {"vectors": {"size": size, "distance": check.distance(distance)}}
    if engine not in ("hnsw", "flat"):
        raise InvalidInput(f"engine {engine!r}: use 'hnsw' or 'flat'")
    hnsw: dict[str, int] = {}
    for key, value, low in (
        ("m", hnsw_m, 2),
        ("ef_construct", hnsw_ef_construct, 4),
        ("full_scan_threshold", full_scan_threshold, 0),
    ):
        if value is not None:
            hnsw[key] = check.positive(value, f"hnsw {key}", low=low, high=10_000_000)
    if hnsw:
        body["hnsw_config"] = hnsw
    zoro: dict[str, Any] = {"engine": engine}
    if ef_search is not None:
        zoro["ef_search"] = check.positive(ef_search, "ef_search", high=100_000)
    body["zoro"] = zoro
    return body
