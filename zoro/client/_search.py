"""Nearest-neighbour search (Qdrant's query API): one vector, a stored point, or a batch."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zoro.client import _validate as check
from zoro.client._base import ClientBase
from zoro.client._errors import InvalidInput
from zoro.client._models import ScoredPoint, parsed

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np
    import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class _Options:
    """The knobs every query takes, checked once."""

    limit: int
    offset: int
    with_payload: bool
    with_vector: bool
    score_threshold: float | None
    hnsw_ef: int | None
    exact: bool

    def body(self, query: object) -> dict[str, Any]:
        body: dict[str, Any] = {
            "query": query,
            "limit": self.limit,
            "with_payload": self.with_payload,
            "with_vector": self.with_vector,
        }
        if self.offset:
            body["offset"] = self.offset
        if self.score_threshold is not None:
            body["score_threshold"] = self.score_threshold
        if self.hnsw_ef is not None or self.exact:
            params: dict[str, Any] = {"exact": self.exact}
            if self.hnsw_ef is not None:
                params["hnsw_ef"] = self.hnsw_ef
            body["params"] = params
        return body


class SearchMixin(ClientBase):
    async def search(
        self,
        collection: str,
        vector: Sequence[float] | npt.NDArray[np.floating[Any]],
        *,
        limit: int = 10,
        offset: int = 0,
        with_payload: bool = True,
        with_vector: bool = False,
        score_threshold: float | None = None,
        hnsw_ef: int | None = None,
        exact: bool = False,
    ) -> list[ScoredPoint]:
        """The `limit` points nearest to `vector`, best first.

        `offset` skips that many best hits (paging). `score_threshold` drops worse hits (below
        it for Cosine and Dot, above it for Euclid and Manhattan). `hnsw_ef` widens the HNSW
        search for this query; `exact` searches every point. Searches are retried like reads.

        Raises:
            InvalidInput: a vector with NaN or infinity, or a bad option (before sending).
            DimensionMismatch: a vector that does not fit the collection (before sending).
            NotFound: no such collection.
        """
        options = self._options(
            limit, offset, with_payload, with_vector, score_threshold, hnsw_ef, exact
        )
        query = check.vector(vector)
        await self._check_dimension(collection, query, "vector")
        result = await self._call(collection, "POST", "/points/query", options.body(query[0]))
        return parsed(_hits, result)

    async def search_by_id(
        self,
        collection: str,
        point_id: object,
        *,
        limit: int = 10,
        offset: int = 0,
        with_payload: bool = True,
        with_vector: bool = False,
        score_threshold: float | None = None,
        hnsw_ef: int | None = None,
        exact: bool = False,
    ) -> list[ScoredPoint]:
        """The points nearest to a stored point (which is left out of the answer).

        Raises:
            InvalidInput: a bad id or option (before sending).
            NotFound: no such collection, or no such point.
        """
        options = self._options(
            limit, offset, with_payload, with_vector, score_threshold, hnsw_ef, exact
        )
        body = options.body(check.point_id(point_id))
        result = await self._call(collection, "POST", "/points/query", body)
        return parsed(_hits, result)

    async def search_batch(
        self,
        collection: str,
        vectors: object,
        *,
        limit: int = 10,
        offset: int = 0,
        with_payload: bool = True,
        with_vector: bool = False,
        score_threshold: float | None = None,
        hnsw_ef: int | None = None,
        exact: bool = False,
    ) -> list[list[ScoredPoint]]:
        """One answer per vector (same order), in one request; options as for search().

        Raises:
            InvalidInput: more than the batch limit of queries, bad vectors or options.
            DimensionMismatch: vectors that do not fit the collection (before sending).
            NotFound: no such collection.
        """
        options = self._options(
            limit, offset, with_payload, with_vector, score_threshold, hnsw_ef, exact
        )
        queries = check.matrix(vectors)
        if len(queries) > self._limits.max_batch_searches:
            raise InvalidInput(
                f"{len(queries)} queries in one batch: at most {self._limits.max_batch_searches}"
            )
        await self._check_dimension(collection, queries)
        body = {"searches": [options.body(row) for row in queries]}
        result = await self._call(collection, "POST", "/points/query/batch", body)
        return [parsed(_hits, answer) for answer in result]

    def _options(
        self,
        limit: int,
        offset: int,
        with_payload: bool,
        with_vector: bool,
        score_threshold: float | None,
        hnsw_ef: int | None,
        exact: bool,
    ) -> _Options:
        top = self._limits.max_limit
        if score_threshold is not None and (
            isinstance(score_threshold, bool)
            or not isinstance(score_threshold, int | float)
            or not math.isfinite(score_threshold)
        ):
            raise InvalidInput("score_threshold: must be a finite number")
        return _Options(
            limit=check.positive(limit, "limit", low=0, high=top),
            offset=check.positive(offset, "offset", low=0, high=top),
            with_payload=bool(with_payload),
            with_vector=bool(with_vector),
            score_threshold=None if score_threshold is None else float(score_threshold),
            hnsw_ef=None if hnsw_ef is None else check.positive(hnsw_ef, "hnsw_ef", high=100_000),
            exact=bool(exact),
        )


def _hits(answer: Any) -> list[ScoredPoint]:
    return [ScoredPoint.from_json(p) for p in answer["points"]]
