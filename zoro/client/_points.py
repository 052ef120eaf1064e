"""Point operations: upsert, retrieve, get, delete (by ids or filter), scroll, count."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from zoro.client import _binary as binary
from zoro.client import _validate as check
from zoro.client import _vectors as vec
from zoro.client._base import ClientBase, Encoded
from zoro.client._config import NO_RETRY
from zoro.client._errors import InvalidInput, ZoroClientError
from zoro.client._filters import filter_
from zoro.client._models import Record, ScrollPage, UpdateResult, parsed

if TYPE_CHECKING:
    from collections.abc import Sequence

    from zoro.client._config import RetryPolicy
    from zoro.client._filters import Filter
    from zoro.client._search import PayloadSelection
    from zoro.client._transport import CallTrace
    from zoro.client._validate import Ids


_UPDATE_MODES = ("upsert", "insert_only", "update_only")
# how upload() sends its batches (see AsyncZoroClient.upload)
ENCODINGS = ("auto", "binary", "json")


class PointsMixin(ClientBase):
    async def upsert(
        self,
        collection: str,
        ids: Ids,
        vectors: object,
        payloads: Iterable[object] | None = None,
        *,
        wait: bool = True,
        retry: RetryPolicy | None = None,
        update_filter: Filter | None = None,
        update_mode: str | None = None,
    ) -> UpdateResult:
        """Insert or replace points, in one request (use upload() for more than a batch).

        `ids`: unsigned 64-bit ints or UUIDs (objects or strings), or an integer numpy array.
        `vectors`: a (n, d) numpy array or n sequences of d numbers, all finite. `payloads`:
        n JSON objects (dicts), or None for empty payloads. The write is durable (in the
        server's WAL) when this returns; an upsert by id is idempotent and retried as such.

        Named, sparse and multivectors (Qdrant's vector model): `vectors` may be a dict
        name -> one entry per point, each a dense vector, a sparse vector (SparseVector or
        {"indices": [...], "values": [...]}) or a multivector (a matrix: a list of rows), or
        None where that point has none; a (n, d) array for a dense name, a (n, rows, d) array
        for a multivector name. Or `vectors` may be n per-point values, each a bare vector (the
        unnamed one, ""), a multivector, a dict name -> vector, or None / {} for none. Sent as
        Qdrant's batch `"vectors": {name: [...]}` with null where absent. Each vector is
        checked as the server checks it; a dense vector or multivector also against its
        declared size (and kind) when the collection info lists the name.

        Qdrant's conditional upsert: `update_filter` replaces an existing point only if it
        satisfies the filter (new points are written whatever it says); `update_mode`
        "insert_only" leaves existing points alone, "update_only" writes only existing ones
        ("upsert", the default, both).

        Raises:
            InvalidInput: bad ids, vectors, payloads, update_mode or too many points (before
                sending).
            DimensionMismatch: vectors that do not fit the collection (before sending).
            PayloadTooLarge: a payload or the whole request over the limit (before sending).
            NotFound: no such collection.
        """
        body = await self._upsert_body(collection, ids, vectors, payloads)
        if update_filter is not None:
            body["update_filter"] = filter_(update_filter)
        if update_mode is not None:
            if update_mode not in _UPDATE_MODES:
                raise InvalidInput(f"update_mode: one of {', '.join(_UPDATE_MODES)}")
            body["update_mode"] = update_mode
        return await self._send_upsert(collection, body, wait=wait, retry=retry)

    async def upsert_point(
        self,
        collection: str,
        point_id: object,
        vector: object,
        payload: object = None,
        *,
        wait: bool = True,
    ) -> UpdateResult:
        """Insert or replace one point; `vector` may be a multivector (a list of rows), or a
        dict name -> vector (dense, sparse or multi; {} for none). Raises as upsert() does."""
        plain = vec.kind_of(vector) == "dense" and not isinstance(vector, Mapping)
        vectors: Any = check.vector(vector) if plain else vec.points_columns([vector], "vector")
        return await self.upsert(
            collection, [check.point_id(point_id)], vectors, [payload], wait=wait
        )

    async def _upsert_body(
        self,
        collection: str,
        ids: Ids,
        vectors: object,
        payloads: Iterable[object] | None,
    ) -> dict[str, Any]:
        """Everything checked (the dimension last: it may cost a lookup) and ready to encode."""
        check.collection_name(collection, self._limits)
        id_list = check.point_ids(ids)
        check.batch_points(len(id_list), self._limits)
        columns: Any = _columns(vectors, len(id_list))
        encoded = check.payloads(payloads, len(id_list), self._limits)
        if isinstance(columns, dict):
            for name, column in columns.items():
                await self._check_column(collection, name, column, f"vectors[{name!r}]")
        else:
            await self._check_dimension(collection, columns)
        batch: dict[str, Any] = {"ids": id_list, "vectors": columns}
        if encoded is not None:
            batch["payloads"] = encoded
        return {"batch": batch}

    async def _check_column(self, collection: str, name: str, column: Any, field: str) -> None:
        """A named column against the vector's declaration (when the client knows it)."""
        if isinstance(column, np.ndarray):
            await self._check_dimension(collection, column, field, name)
            return
        present = [v for v in column if v is not None]
        if not present or isinstance(present[0], dict):
            return  # none, or sparse: the server knows whether the name is sparse
        # every row or matrix of a column has been checked to have one width: one will do
        one = present[0] if present[0].ndim == 2 else present[0].reshape(1, -1)
        await self._check_dimension(collection, one, field, name, multi=present[0].ndim == 2)

    async def _sends_binary(self, encoding: str) -> bool:
        """Whether upload() sends the binary body (zoro.client._binary): "json" never, "binary"
        always, "auto" when the server's version document (GET /, asked once) offers it."""
        if encoding not in ENCODINGS:
            raise InvalidInput(f"encoding: one of {', '.join(map(repr, ENCODINGS))}")
        if encoding != "auto":
            return encoding == "binary"
        if self._binary_points is None:
            try:
                response = await self._transport.send("GET", "/", retry=NO_RETRY)
            except ZoroClientError:
                return False  # not remembered: the upload's own requests will say what is wrong
            try:
                document = orjson.loads(response.content)
            except orjson.JSONDecodeError:
                document = None
            self._binary_points = binary.offered(document)
        return self._binary_points

    async def _send_upsert(
        self,
        collection: str,
        body: dict[str, Any] | Encoded,
        *,
        wait: bool,
        retry: RetryPolicy | None,
        trace: CallTrace | None = None,
    ) -> UpdateResult:
        params = {"wait": "true" if wait else "false"}
        result = await self._call(
            collection, "PUT", "/points", body, params=params, retry=retry, trace=trace
        )
        return parsed(UpdateResult.from_json, result)

    async def retrieve(
        self,
        collection: str,
        ids: Ids,
        *,
        with_payload: bool = True,
        with_vector: bool = False,
    ) -> list[Record]:
        """The points that exist among `ids` (missing ones are left out).

        Raises:
            InvalidInput: bad ids or too many (before sending).
            NotFound: no such collection.
        """
        check.collection_name(collection, self._limits)
        id_list = check.point_ids(ids)
        check.batch_points(len(id_list), self._limits)
        body = {"ids": id_list, "with_payload": with_payload, "with_vector": with_vector}
        result = await self._call(collection, "POST", "/points", body)
        return [parsed(Record.from_json, item) for item in result]

    async def get_point(self, collection: str, point_id: object) -> Record:
        """One point with its payload and vector.

        Raises:
            NotFound: no such collection or no such point.
        """
        pid = check.point_id(point_id)
        return parsed(Record.from_json, await self._call(collection, "GET", f"/points/{pid}"))

    async def delete(
        self,
        collection: str,
        ids: Ids | None = None,
        *,
        filter: Filter | None = None,
        wait: bool = True,
    ) -> UpdateResult:
        """Delete points by id (ids that do not exist are ignored) or every point a `filter`
        (Qdrant's filter JSON) keeps; give exactly one. Both are retried: deleting again
        leaves the same state (a filter may then also catch points written in between).

        Raises:
            InvalidInput: bad ids, too many, a malformed filter, both or neither (before
                sending); a filter the server refuses (its message).
            NotFound: no such collection.
        """
        check.collection_name(collection, self._limits)
        if (ids is None) == (filter is None):
            raise InvalidInput("delete: give ids or filter=, exactly one of them")
        body: dict[str, Any]
        if filter is not None:
            body = {"filter": filter_(filter)}
        else:
            assert ids is not None
            id_list = check.point_ids(ids)
            check.batch_points(len(id_list), self._limits)
            body = {"points": id_list}
        params = {"wait": "true" if wait else "false"}
        result = await self._call(collection, "POST", "/points/delete", body, params=params)
        return parsed(UpdateResult.from_json, result)

    async def count(
        self, collection: str, filter: Filter | None = None, *, exact: bool = True
    ) -> int:
        """The number of live points, or of those a `filter` keeps. `exact=False` allows the
        server an estimate (Zoro-DB always counts exactly).

        Raises:
            InvalidInput: a malformed filter (before sending), or one the server refuses.
            NotFound: no such collection.
        """
        body: dict[str, Any] = {"exact": bool(exact)}
        if filter is not None:
            body["filter"] = filter_(filter)
        result = await self._call(collection, "POST", "/points/count", body)
        return parsed(lambda r: int(r["count"]), result)

    async def scroll_page(
        self,
        collection: str,
        *,
        offset: object = None,
        limit: int = 256,
        filter: Filter | None = None,
        with_payload: PayloadSelection = True,
        with_vector: bool | Sequence[str] = False,
        order_by: str | Mapping[str, Any] | None = None,
    ) -> ScrollPage:
        """One page of points in id order from `offset` (inclusive), and where the next starts
        (None at the end). `filter`: only the points it keeps. `with_payload`: True/False, a
        list of keys, or {"include": keys} / {"exclude": keys}.

        `order_by`: a payload key (with an integer, float or datetime index), or
        {"key", "direction": "asc"|"desc", "start_from"} (see zoro.client.order_by): the page
        comes in that order instead, each point with its `order_value`, and there is no next
        page (page on with `start_from`); not with `offset`.

        Raises:
            InvalidInput: a bad offset, limit or filter (before sending), or a filter the
                server refuses (its message).
            NotFound: no such collection.
        """
        body: dict[str, Any] = {
            "limit": check.positive(limit, "limit", high=self._limits.max_limit),
            "with_payload": vec.with_payload(with_payload),
            "with_vector": vec.with_vector(with_vector),
        }
        if offset is not None:
            body["offset"] = check.point_id(offset, "offset")
        if filter is not None:
            body["filter"] = filter_(filter)
        if order_by is not None:
            if offset is not None:
                raise InvalidInput("offset: not with order_by (page with start_from)")
            body["order_by"] = order_by if isinstance(order_by, Mapping) else {"key": order_by}
        result = await self._call(collection, "POST", "/points/scroll", body)
        return parsed(_page, result)

    def scroll(
        self,
        collection: str,
        *,
        page_size: int = 256,
        offset: object = None,
        filter: Filter | None = None,
        with_payload: PayloadSelection = True,
        with_vector: bool | Sequence[str] = False,
    ) -> Scroll:
        """Every point in id order (or every point `filter` keeps), fetched a page at a time:
        `async for p in c.scroll(...)`.

        Points written or deleted while scrolling may or may not be seen. The filter and
        the selections are checked here; the rest raises as scroll_page() does, from the
        iteration.
        """
        check.collection_name(collection, self._limits)
        check.positive(page_size, "page_size", high=self._limits.max_limit)
        checked = filter_(filter)
        vec.with_payload(with_payload)
        vec.with_vector(with_vector)
        return Scroll(self, collection, page_size, offset, checked, with_payload, with_vector)


class Scroll:
    """The async iterator behind scroll(): a plain class rather than an async generator, so that
    leaving a loop early needs no generator finalisation (trio and asyncio differ there)."""

    def __init__(
        self,
        client: PointsMixin,
        collection: str,
        page_size: int,
        offset: object,
        filter: Filter | None,
        with_payload: PayloadSelection,
        with_vector: bool | Sequence[str],
    ) -> None:
        self._client = client
        self._collection = collection
        self._page_size = page_size
        self._offset = offset
        self._filter = filter
        self._with = (with_payload, with_vector)
        self._buffer: deque[Record] = deque()
        self._done = False

    def __aiter__(self) -> Scroll:
        return self

    async def __anext__(self) -> Record:
        while not self._buffer:
            if self._done:
                raise StopAsyncIteration
            page = await self._client.scroll_page(
                self._collection,
                offset=self._offset,
                limit=self._page_size,
                filter=self._filter,
                with_payload=self._with[0],
                with_vector=self._with[1],
            )
            self._buffer.extend(page.points)
            self._offset = page.next_offset
            self._done = page.next_offset is None
        return self._buffer.popleft()


def _columns(vectors: object, n: int) -> Any:
    """Upsert's vectors, checked: a (n, d) matrix for the plain case (every point with an
    unnamed dense vector), else {name: column} (see _vectors.named_vectors)."""
    if isinstance(vectors, Mapping):
        return vec.named_vectors(vectors, n)
    if isinstance(vectors, np.ndarray) and vectors.ndim != 3:
        columns = check.matrix(vectors)
    elif isinstance(vectors, np.ndarray):
        return vec.named_vectors({vec.UNNAMED: vectors}, n)
    else:
        rows = vectors if isinstance(vectors, list | tuple) else _listed(vectors)
        plain = all(vec.kind_of(v) == "dense" and not isinstance(v, Mapping) for v in rows)
        if not plain:
            return vec.named_vectors(vec.points_columns(rows), n)
        columns = check.matrix(rows)
    if n != len(columns):
        raise InvalidInput(f"{len(columns)} vectors for {n} ids")
    return columns


def _listed(vectors: object) -> list[Any]:
    if isinstance(vectors, str | bytes) or not isinstance(vectors, Iterable):
        raise InvalidInput("vectors: a matrix, a list of vectors, or a dict name -> vectors")
    return list(vectors)


def _page(result: Any) -> ScrollPage:
    points = [Record.from_json(item) for item in result["points"]]
    return ScrollPage(points, result.get("next_page_offset"))
