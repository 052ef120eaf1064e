"""Grouped search, facets and the distance matrix (Qdrant's query groups, facet and
search/matrix APIs)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zoro.client import _vectors as vec
from zoro.client._errors import InvalidInput
from zoro.client._examples import lookup_location, recommend_query
from zoro.client._filters import filter_
from zoro.client._models import PointId, Record, ScoredPoint, parsed
from zoro.client._search import SearchMixin
from zoro.client._validate import positive

if TYPE_CHECKING:
    from zoro.client._examples import Example, Strategy
    from zoro.client._filters import Filter
    from zoro.client._search import PayloadSelection, Query


@dataclass(frozen=True, slots=True)
class PointGroup:
    """One group: the value of the `group_by` key (`id`), its best hits, and with `with_lookup`
    the point of that id in the lookup collection (None when it has none)."""

    id: str | int
    hits: list[ScoredPoint]
    lookup: Record | None = None

    @classmethod
    def from_json(cls, data: Any) -> PointGroup:
        lookup = data.get("lookup")
        return cls(
            data["id"],
            [ScoredPoint.from_json(h) for h in data["hits"]],
            None if lookup is None else Record.from_json(lookup),
        )


@dataclass(frozen=True, slots=True)
class FacetHit:
    """A value of the faceted key and how many points hold it."""

    value: str | int | bool
    count: int


@dataclass(frozen=True, slots=True)
class MatrixPair:
    """Sampled point `b` is among the nearest of sampled point `a`, with this score."""

    a: PointId
    b: PointId
    score: float


@dataclass(frozen=True, slots=True)
class MatrixOffsets:
    """The distance matrix as a sparse matrix over `ids`: entry i is (ids[rows[i]],
    ids[cols[i]], scores[i])."""

    ids: list[PointId]
    rows: list[int]
    cols: list[int]
    scores: list[float]


class GroupsMixin(SearchMixin):
    async def search_groups(
        self,
        collection: str,
        vector: Query,
        group_by: str,
        *,
        group_size: int = 3,
        limit: int = 10,
        using: str | None = None,
        filter: Filter | None = None,
        with_payload: PayloadSelection = True,
        with_vector: bool | Sequence[str] = False,
        score_threshold: float | None = None,
        hnsw_ef: int | None = None,
        exact: bool = False,
        with_lookup: str | Mapping[str, Any] | None = None,
    ) -> list[PointGroup]:
        """The `limit` groups of points nearest to `vector`, grouped by the values of payload
        key `group_by` (strings and integers; an array puts a point in several groups), each
        with its best `group_size` hits, the group of the best hit first. `with_lookup`: a
        collection name (or {"collection", "with_payload", "with_vectors"}) in which each
        group's id is looked up as a point id. Other options as for search().

        Raises:
            InvalidInput: a bad vector, filter or option (before sending, or the server's).
            NotFound: no such collection (or lookup collection).
        """
        grouping = group_fields(group_by, group_size, limit, with_lookup, self._limits.max_limit)
        options = self._options(
            1, 0, with_payload, with_vector, score_threshold, hnsw_ef, exact, filter, using
        )
        body = options.body(await self._query(collection, vector, options.using, "vector"))
        return await self._grouped(collection, {**body, **grouping})

    async def recommend_groups(
        self,
        collection: str,
        group_by: str,
        positive: Sequence[Example] = (),
        negative: Sequence[Example] = (),
        *,
        strategy: Strategy = "average_vector",
        group_size: int = 3,
        limit: int = 10,
        using: str | None = None,
        lookup_from: str | None = None,
        lookup_vector: str | None = None,
        filter: Filter | None = None,
        with_payload: PayloadSelection = True,
        with_vector: bool | Sequence[str] = False,
        score_threshold: float | None = None,
        with_lookup: str | Mapping[str, Any] | None = None,
    ) -> list[PointGroup]:
        """recommend()'s answer grouped as search_groups() groups: the `limit` groups of
        payload key `group_by` whose points are most like `positive` and unlike `negative`,
        each with its best `group_size` hits. Examples, `strategy` and `lookup_from` as for
        recommend(); grouping options as for search_groups().

        Raises:
            InvalidInput: a bad example, strategy, filter or option (before sending), or the
                server's refusal (its message).
            NotFound: no such collection (lookup collection), or no such example point.
        """
        grouping = group_fields(group_by, group_size, limit, with_lookup, self._limits.max_limit)
        options = self._options(
            1, 0, with_payload, with_vector, score_threshold, None, False, filter, using
        )
        body = options.body(recommend_query(positive, negative, strategy))
        if lookup_from is not None:
            body["lookup_from"] = lookup_location(lookup_from, lookup_vector, self._limits)
        return await self._grouped(collection, {**body, **grouping})

    async def _grouped(self, collection: str, body: dict[str, Any]) -> list[PointGroup]:
        """A query/groups request (its query and group fields checked) and its groups."""
        result = await self._call(collection, "POST", "/points/query/groups", body)
        return parsed(lambda r: [PointGroup.from_json(g) for g in r["groups"]], result)

    async def facet(
        self,
        collection: str,
        key: str,
        *,
        filter: Filter | None = None,
        limit: int = 10,
        exact: bool = False,
    ) -> list[FacetHit]:
        """How many points hold each value of payload key `key` (which needs a keyword,
        integer, bool or uuid index), most common first, then by value; `filter`: count only
        the points that pass it. Zoro-DB's counts are always exact.

        Raises:
            InvalidInput: a bad key, filter or limit, or no index to facet on (the server's).
            NotFound: no such collection.
        """
        if not isinstance(key, str) or not key:
            raise InvalidInput("key: name a payload key")
        body: dict[str, Any] = {
            "key": key,
            "limit": positive(limit, "limit", high=self._limits.max_limit),
            "exact": bool(exact),
        }
        checked = filter_(filter)
        if checked is not None:
            body["filter"] = checked
        result = await self._call(collection, "POST", "/facet", body)
        return parsed(lambda r: [FacetHit(h["value"], int(h["count"])) for h in r["hits"]], result)

    async def distance_matrix(
        self,
        collection: str,
        *,
        sample: int = 10,
        limit: int = 3,
        filter: Filter | None = None,
        using: str | None = None,
    ) -> list[MatrixPair]:
        """A random sample of `sample` points (among those passing `filter`), and each one's
        `limit` nearest among the others in the sample, as (a, b, score) pairs.

        Raises:
            InvalidInput: a bad option (before sending, or the server's).
            NotFound: no such collection.
        """
        body = self._matrix_body(sample, limit, filter, using)
        result = await self._call(collection, "POST", "/points/search/matrix/pairs", body)
        return parsed(
            lambda r: [MatrixPair(p["a"], p["b"], float(p["score"])) for p in r["pairs"]],
            result,
        )

    async def distance_matrix_offsets(
        self,
        collection: str,
        *,
        sample: int = 10,
        limit: int = 3,
        filter: Filter | None = None,
        using: str | None = None,
    ) -> MatrixOffsets:
        """distance_matrix() as a sparse matrix: offsets into the sampled ids (in id order)."""
        body = self._matrix_body(sample, limit, filter, using)
        result = await self._call(collection, "POST", "/points/search/matrix/offsets", body)
        return parsed(
            lambda r: MatrixOffsets(r["ids"], r["offsets_row"], r["offsets_col"], r["scores"]),
            result,
        )

    def _matrix_body(
        self, sample: int, limit: int, filter: object, using: str | None
    ) -> dict[str, Any]:
        top = self._limits.max_limit
        body: dict[str, Any] = {
            "sample": positive(sample, "sample", low=2, high=top),
            "limit": positive(limit, "limit", high=top),
        }
        checked = filter_(filter)
        if checked is not None:
            body["filter"] = checked
        if using is not None:
            body["using"] = vec.vector_name(using)
        return body


def group_fields(
    group_by: str, group_size: int, limit: int, with_lookup: object, top: int
) -> dict[str, Any]:
    """The fields a query/groups request adds to its query, checked."""
    if not isinstance(group_by, str) or not group_by:
        raise InvalidInput("group_by: name a payload key")
    fields: dict[str, Any] = {
        "group_by": group_by,
        "group_size": positive(group_size, "group_size", high=top),
        "limit": positive(limit, "limit", high=top),
    }
    if with_lookup is not None:
        fields["with_lookup"] = _lookup(with_lookup)
    return fields


def _lookup(value: object) -> object:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, Mapping) and isinstance(value.get("collection"), str):
        unknown = set(value) - {"collection", "with_payload", "with_vectors"}
        if not unknown:
            return dict(value)
    raise InvalidInput(
        'with_lookup: a collection name, or {"collection": ..., "with_payload": ..., '
        '"with_vectors": ...}'
    )
