"""Nearest-neighbour search (Qdrant's query API): one vector, a stored point, a batch, or a fusion
of sub-queries."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from zoro.client import _validate as check
from zoro.client import _vectors as vec
from zoro.client import _wire
from zoro.client._base import ClientBase
from zoro.client._errors import InvalidInput
from zoro.client._filters import filter_
from zoro.client._models import ScoredPoint, parsed

if TYPE_CHECKING:
    import numpy.typing as npt

    from zoro.client._filters import Filter
    from zoro.client._models import SparseVector
    from zoro.client._vectors import Fusion, Mmr, Prefetch

    PayloadSelection = bool | Sequence[str] | Mapping[str, Sequence[str]]
    Query = Sequence[float] | npt.NDArray[np.floating[Any]] | SparseVector | Mapping[str, Any]

# How deep prefetches may nest (the server's bound).
_MAX_PREFETCH_DEPTH = _wire.PREFETCH_MAX_DEPTH


@dataclass(frozen=True, slots=True)
class _Options:
    """The knobs every query takes, checked once."""

    limit: int
    offset: int
    with_payload: bool | list[str] | dict[str, list[str]]
    with_vector: bool | list[str]
    score_threshold: float | None
    hnsw_ef: int | None
    exact: bool
    filter: dict[str, Any] | None = None
    using: str | None = None

    def body(self, query: object) -> dict[str, Any]:
        body: dict[str, Any] = {
            "query": query,
            "limit": self.limit,
            "with_payload": self.with_payload,
            "with_vector": self.with_vector,
        }
        if self.using is not None:
            body["using"] = self.using
        if self.filter is not None:
            body["filter"] = self.filter
        if self.offset:
            body["offset"] = self.offset
        if self.score_threshold is not None:
            body["score_threshold"] = self.score_threshold
        params = _params(self.hnsw_ef, self.exact)
        if params:
            body["params"] = params
        return body


class SearchMixin(ClientBase):
    async def search(
        self,
        collection: str,
        vector: Query,
        *,
        using: str | None = None,
        filter: Filter | None = None,
        mmr: Mmr | None = None,
        limit: int = 10,
        offset: int = 0,
        with_payload: PayloadSelection = True,
        with_vector: bool | Sequence[str] = False,
        score_threshold: float | None = None,
        hnsw_ef: int | None = None,
        exact: bool = False,
    ) -> list[ScoredPoint]:
        """The `limit` points nearest to `vector`, best first.

        `filter`: only points whose payload passes it (Qdrant's filter JSON, a dict). `offset`
        skips that many best hits (paging). `score_threshold` drops worse hits (below it for
        Cosine and Dot, above it for Euclid and Manhattan). `hnsw_ef` widens the HNSW search
        for this query; `exact` searches every point. `with_payload`: True/False, a list of
        keys, or {"include": keys} / {"exclude": keys}. Searches are retried like reads.

        Vector model, in Qdrant's shapes: `using` names the vector to search in a collection
        of named vectors ("" is the unnamed one; without `using`, the unnamed one, else
        Zoro-DB's first dense vector); `vector` may be a sparse vector (a SparseVector or
        {"indices": [...], "values": [...]}, with `using`) or, for a multivector, a matrix
        (a list of rows, scored by MaxSim); `mmr` re-ranks for diversity
        (`{"nearest": v, "mmr": {...}}` on the wire); `with_vector` may name the vectors to
        return (see ScoredPoint.vectors). A dense query or matrix is checked against the
        named vector's size (and kind) when the collection info lists it.

        Raises:
            InvalidInput: a vector with NaN or infinity, a malformed filter, or a bad option
                (before sending); a filter or option the server refuses (its message).
            DimensionMismatch: a vector that does not fit the collection (before sending).
            NotFound: no such collection.
        """
        options = self._options(
            limit, offset, with_payload, with_vector, score_threshold, hnsw_ef, exact, filter, using
        )
        rerank = None if mmr is None else vec.mmr(mmr)
        query = await self._query(collection, vector, options.using, "vector")
        if rerank is not None:
            query = {"nearest": query, "mmr": rerank}
        result = await self._call(collection, "POST", "/points/query", options.body(query))
        return parsed(_hits, result)

    async def search_by_id(
        self,
        collection: str,
        point_id: object,
        *,
        using: str | None = None,
        filter: Filter | None = None,
        limit: int = 10,
        offset: int = 0,
        with_payload: PayloadSelection = True,
        with_vector: bool | Sequence[str] = False,
        score_threshold: float | None = None,
        hnsw_ef: int | None = None,
        exact: bool = False,
    ) -> list[ScoredPoint]:
        """The points nearest to a stored point (which is left out of the answer); options as
        for search() (`using`: that point's named vector, which the server must serve).

        Raises:
            InvalidInput: a bad id, filter or option (before sending, or the server's message).
            NotFound: no such collection, or no such point.
        """
        options = self._options(
            limit, offset, with_payload, with_vector, score_threshold, hnsw_ef, exact, filter, using
        )
        body = options.body(check.point_id(point_id))
        result = await self._call(collection, "POST", "/points/query", body)
        return parsed(_hits, result)

    async def search_batch(
        self,
        collection: str,
        vectors: object,
        *,
        using: str | None = None,
        filter: Filter | None = None,
        limit: int = 10,
        offset: int = 0,
        with_payload: PayloadSelection = True,
        with_vector: bool | Sequence[str] = False,
        score_threshold: float | None = None,
        hnsw_ef: int | None = None,
        exact: bool = False,
    ) -> list[list[ScoredPoint]]:
        """One answer per vector (same order), in one request; options (the filter too) as for
        search(), the same for every query. `vectors`: a (n, d) matrix, or a list of sparse
        vectors (with `using`) or of multivectors (matrices; also a (n, rows, d) array).

        Raises:
            InvalidInput: more than the batch limit of queries, bad vectors, filter or options.
            DimensionMismatch: vectors that do not fit the collection (before sending).
            NotFound: no such collection.
        """
        options = self._options(
            limit, offset, with_payload, with_vector, score_threshold, hnsw_ef, exact, filter, using
        )
        queries: Any
        many = vectors
        if isinstance(vectors, np.ndarray) and vectors.ndim == 3:
            many = list(vectors)  # n multivectors
        first = many[0] if isinstance(many, Sequence) and many else None
        if isinstance(many, Sequence) and (vec.is_sparse(first) or vec.kind_of(first) == "multi"):
            queries = [
                await self._query(collection, v, options.using, f"vectors[{i}]")
                for i, v in enumerate(many)
            ]
        else:
            queries = check.matrix(vectors)
            await self._check_dimension(collection, queries, using=options.using)
        if len(queries) > self._limits.max_batch_searches:
            raise InvalidInput(
                f"{len(queries)} queries in one batch: at most {self._limits.max_batch_searches}"
            )
        body = {"searches": [options.body(row) for row in queries]}
        result = await self._call(collection, "POST", "/points/query/batch", body)
        return [parsed(_hits, answer) for answer in result]

    async def search_fused(
        self,
        collection: str,
        prefetch: Sequence[Prefetch],
        *,
        fusion: Fusion = "rrf",
        filter: Filter | None = None,
        limit: int = 10,
        offset: int = 0,
        with_payload: PayloadSelection = True,
        with_vector: bool | Sequence[str] = False,
        score_threshold: float | None = None,
    ) -> list[ScoredPoint]:
        """Hybrid search: run each Prefetch (say, a dense and a sparse query) and fuse their
        hits by rank, `fusion` "rrf" (reciprocal rank fusion) or "dbsf" (distribution-based
        score fusion); `filter` applies to every sub-query. Sent as Qdrant's
        `{"prefetch": [...], "query": {"fusion": "rrf"}}`. Prefetch queries (dense, sparse,
        matrices for multivectors, or point ids) are checked for NaN and shape here; their
        dimensions are left to the server.

        Raises:
            InvalidInput: no prefetch, a bad query, filter or option (before sending), or the
                server's refusal (its message).
            NotFound: no such collection.
        """
        options = self._options(
            limit, offset, with_payload, with_vector, score_threshold, None, False, filter, None
        )
        body = options.body(vec.fusion(fusion))
        body["prefetch"] = self._prefetches(prefetch, "prefetch", 0)
        result = await self._call(collection, "POST", "/points/query", body)
        return parsed(_hits, result)

    async def _query(
        self, collection: str, vector: object, using: str | None, field: str
    ) -> object:
        """A query vector, checked (a dense one against the collection's dimension)."""
        if vec.is_sparse(vector):
            return self._sparse_query(vector, using, field)
        if vec.kind_of(vector) == "multi":
            matrix = check.multivector(vector, field)
            await self._check_dimension(collection, matrix, field, using, multi=True)
            return matrix
        query = check.vector(vector, field)
        await self._check_dimension(collection, query, field, using)
        return query[0]

    def _sparse_query(self, vector: object, using: str | None, field: str) -> object:
        if using is None:
            raise InvalidInput(f"{field}: a sparse vector is searched by name; pass using=")
        return vec.sparse(vector, field)

    def _prefetches(self, items: object, where: str, depth: int) -> list[dict[str, Any]]:
        if depth > _MAX_PREFETCH_DEPTH:
            raise InvalidInput(f"{where}: prefetches nest at most {_MAX_PREFETCH_DEPTH} deep")
        if not isinstance(items, Sequence) or isinstance(items, str) or (depth == 0 and not items):
            raise InvalidInput(f"{where}: give a list of Prefetch")
        return [self._prefetch(p, f"{where}[{i}]", depth) for i, p in enumerate(items)]

    def _prefetch(self, item: object, where: str, depth: int) -> dict[str, Any]:
        if not isinstance(item, vec.Prefetch):
            raise InvalidInput(f"{where}: must be a Prefetch, not {type(item).__name__}")
        using = None if item.using is None else vec.vector_name(item.using, f"{where}.using")
        body: dict[str, Any] = {}
        if vec.is_sparse(item.query):
            body["query"] = self._sparse_query(item.query, using, f"{where}.query")
        elif isinstance(item.query, int | str | uuid.UUID | np.integer):
            body["query"] = check.point_id(item.query, f"{where}.query")
        elif vec.kind_of(item.query) == "multi":
            body["query"] = check.multivector(item.query, f"{where}.query")
        else:
            body["query"] = check.vector(item.query, f"{where}.query")[0]
        if using is not None:
            body["using"] = using
        if item.filter is not None:
            body["filter"] = filter_(item.filter, f"{where}.filter")
        if item.limit is not None:
            body["limit"] = check.positive(
                item.limit, f"{where}.limit", high=_wire.PREFETCH_MAX_CANDIDATES
            )
        threshold = vec.score_threshold(item.score_threshold, f"{where}.score_threshold")
        if threshold is not None:
            body["score_threshold"] = threshold
        params = _params(self._ef(item.hnsw_ef), bool(item.exact))
        if params:
            body["params"] = params
        if item.prefetch:
            body["prefetch"] = self._prefetches(item.prefetch, f"{where}.prefetch", depth + 1)
        return body

    def _options(
        self,
        limit: int,
        offset: int,
        with_payload: object,
        with_vector: object,
        score_threshold: float | None,
        hnsw_ef: int | None,
        exact: bool,
        filter: object = None,
        using: str | None = None,
    ) -> _Options:
        top = self._limits.max_limit
        return _Options(
            limit=check.positive(limit, "limit", low=0, high=top),
            offset=check.positive(offset, "offset", low=0, high=top),
            with_payload=vec.with_payload(with_payload),
            with_vector=vec.with_vector(with_vector),
            score_threshold=vec.score_threshold(score_threshold),
            hnsw_ef=self._ef(hnsw_ef),
            exact=bool(exact),
            filter=filter_(filter),
            using=None if using is None else vec.vector_name(using),
        )

    def _ef(self, hnsw_ef: int | None) -> int | None:
        return (
            None if hnsw_ef is None else check.positive(hnsw_ef, "hnsw_ef", high=_wire.HNSW_EF_MAX)
        )


def _params(hnsw_ef: int | None, exact: bool) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if hnsw_ef is not None or exact:
        params["exact"] = exact
        if hnsw_ef is not None:
            params["hnsw_ef"] = hnsw_ef
    return params


def _hits(answer: Any) -> list[ScoredPoint]:
    return [ScoredPoint.from_json(p) for p in answer["points"]]
