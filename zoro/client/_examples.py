"""Queries by example (recommend, discover, context), by payload order, and random samples: the
Query API's other queries, sent as Qdrant shapes them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np

from zoro.client import _validate as check
from zoro.client import _wire
from zoro.client._errors import InvalidInput
from zoro.client._models import ScoredPoint, parsed
from zoro.client._search import SearchMixin, _hits

if TYPE_CHECKING:
    import numpy.typing as npt

    from zoro.client._filters import Filter
    from zoro.client._search import PayloadSelection

    # A point id (its stored vector) or a dense vector.
    Example = int | str | uuid.UUID | Sequence[float] | npt.NDArray[np.floating[Any]]
    Strategy = Literal["average_vector", "best_score", "sum_scores"]

STRATEGIES: Final = _wire.STRATEGIES


class ExamplesMixin(SearchMixin):
    async def recommend(
        self,
        collection: str,
        positive: Sequence[Example] = (),
        negative: Sequence[Example] = (),
        *,
        strategy: Strategy = "average_vector",
        using: str | None = None,
        lookup_from: str | None = None,
        lookup_vector: str | None = None,
        filter: Filter | None = None,
        limit: int = 10,
        offset: int = 0,
        with_payload: PayloadSelection = True,
        with_vector: bool | Sequence[str] = False,
        score_threshold: float | None = None,
    ) -> list[ScoredPoint]:
        """Points like the `positive` examples and unlike the `negative` ones, best first. An
        example is a point id (its stored vector; the point itself is left out of the answer)
        or a dense vector. `strategy`: "average_vector" (a nearest search for the average of
        the positives pushed away from the negatives' average; needs a positive), or
        "best_score" / "sum_scores" (each candidate scored against every example; higher is
        better). `lookup_from` reads example ids' vectors in another collection (its vector
        `lookup_vector`, by default the one named like `using`). Other options as search().

        Raises:
            InvalidInput: a bad example, strategy, filter or option (before sending), or the
                server's refusal (its message).
            NotFound: no such collection, or no such example point.
        """
        return await self._ask(
            collection, recommend_query(positive, negative, strategy), using, lookup_from,
            lookup_vector, filter, limit, offset, with_payload, with_vector, score_threshold,
        )  # fmt: skip

    async def discover(
        self,
        collection: str,
        target: Example,
        context: Sequence[tuple[Example, Example]] = (),
        *,
        using: str | None = None,
        lookup_from: str | None = None,
        lookup_vector: str | None = None,
        filter: Filter | None = None,
        limit: int = 10,
        offset: int = 0,
        with_payload: PayloadSelection = True,
        with_vector: bool | Sequence[str] = False,
        score_threshold: float | None = None,
    ) -> list[ScoredPoint]:
        """Points near `target` inside the region the `context` pairs (positive, negative)
        mark out: the integer part of a score counts the pairs a point sits on the positive
        side of (minus those on the negative side), the fraction its closeness to the target.
        Examples and options as recommend().

        Raises:
            InvalidInput: a bad example, filter or option (before sending), or the server's
                refusal (its message).
            NotFound: no such collection, or no such example point.
        """
        query = {
            "discover": {
                "target": _example(target, "target"),
                "context": _pairs(context, "context"),
            }
        }
        return await self._ask(
            collection, query, using, lookup_from, lookup_vector, filter, limit, offset,
            with_payload, with_vector, score_threshold,
        )  # fmt: skip

    async def context_search(
        self,
        collection: str,
        context: Sequence[tuple[Example, Example]],
        *,
        using: str | None = None,
        lookup_from: str | None = None,
        lookup_vector: str | None = None,
        filter: Filter | None = None,
        limit: int = 10,
        offset: int = 0,
        with_payload: PayloadSelection = True,
        with_vector: bool | Sequence[str] = False,
    ) -> list[ScoredPoint]:
        """Points on the positive side of every context pair (positive, negative): such points
        score 0, the others less by how far they stray. Many points may tie at 0. Examples and
        options as recommend().

        Raises:
            InvalidInput: no pair, a bad example, filter or option, or the server's refusal.
            NotFound: no such collection, or no such example point.
        """
        if not context:
            raise InvalidInput("context: give at least one (positive, negative) pair")
        return await self._ask(
            collection, {"context": _pairs(context, "context")}, using, lookup_from,
            lookup_vector, filter, limit, offset, with_payload, with_vector, None,
        )  # fmt: skip

    async def ordered(
        self,
        collection: str,
        key: str,
        *,
        descending: bool = False,
        start_from: float | str | None = None,
        filter: Filter | None = None,
        limit: int = 10,
        offset: int = 0,
        with_payload: PayloadSelection = True,
        with_vector: bool | Sequence[str] = False,
    ) -> list[ScoredPoint]:
        """Points in the order of their payload value at `key` (which needs an integer, float or
        datetime payload index), lowest first or `descending`, from `start_from` on (a number,
        or an RFC 3339 datetime); each hit's `order_value` holds the value, and a point
        holding several values comes once per value.

        Raises:
            InvalidInput: no such index on `key`, a bad filter or option.
            NotFound: no such collection.
        """
        query = {"order_by": order_by(key, descending=descending, start_from=start_from)}
        return await self._ask(
            collection, query, None, None, None, filter, limit, offset, with_payload,
            with_vector, None,
        )  # fmt: skip

    async def sample(
        self,
        collection: str,
        *,
        filter: Filter | None = None,
        limit: int = 10,
        with_payload: PayloadSelection = True,
        with_vector: bool | Sequence[str] = False,
    ) -> list[ScoredPoint]:
        """Up to `limit` points picked at random (among those `filter` keeps).

        Raises:
            InvalidInput: a bad filter or option.
            NotFound: no such collection.
        """
        return await self._ask(
            collection, {"sample": "random"}, None, None, None, filter, limit, 0, with_payload,
            with_vector, None,
        )  # fmt: skip

    async def _ask(
        self,
        collection: str,
        query: dict[str, Any],
        using: str | None,
        lookup_from: str | None,
        lookup_vector: str | None,
        filter: Filter | None,
        limit: int,
        offset: int,
        with_payload: PayloadSelection,
        with_vector: bool | Sequence[str],
        score_threshold: float | None,
    ) -> list[ScoredPoint]:
        options = self._options(
            limit, offset, with_payload, with_vector, score_threshold, None, False, filter, using
        )
        body = options.body(query)
        if lookup_from is not None:
            body["lookup_from"] = lookup_location(lookup_from, lookup_vector, self._limits)
        result = await self._call(collection, "POST", "/points/query", body)
        return parsed(_hits, result)


def recommend_query(
    positive: Sequence[Example], negative: Sequence[Example], strategy: Strategy
) -> dict[str, Any]:
    """Qdrant's RecommendQuery, its examples checked."""
    if strategy not in STRATEGIES:
        raise InvalidInput(f"strategy: use one of {', '.join(STRATEGIES)}")
    return {
        "recommend": {
            "positive": _examples(positive, "positive"),
            "negative": _examples(negative, "negative"),
            "strategy": strategy,
        }
    }


def lookup_location(collection: str, vector: str | None, limits: check.Limits) -> dict[str, Any]:
    """Qdrant's LookupLocation: where example ids' vectors are read."""
    check.collection_name(collection, limits)
    out: dict[str, Any] = {"collection": collection}
    if vector is not None:
        out["vector"] = vector
    return out


def order_by(
    key: str, *, descending: bool = False, start_from: float | str | None = None
) -> dict[str, Any]:
    """Qdrant's OrderBy object."""
    if not isinstance(key, str) or not key:
        raise InvalidInput("order_by: the key must be a non-empty string")
    out: dict[str, Any] = {"key": key, "direction": "desc" if descending else "asc"}
    if start_from is not None:
        if isinstance(start_from, bool) or not isinstance(start_from, int | float | str):
            raise InvalidInput("start_from: a number or an RFC 3339 datetime string")
        out["start_from"] = start_from
    return out


def _example(value: object, field: str) -> object:
    if isinstance(value, int | str | uuid.UUID | np.integer):
        return check.point_id(value, field)
    return check.vector(value, field)[0]


def _examples(values: Sequence[Example], field: str) -> list[object]:
    if isinstance(values, str | Mapping) or not isinstance(values, Sequence | np.ndarray):
        raise InvalidInput(f"{field}: give a list of point ids or vectors")
    return [_example(v, f"{field}[{i}]") for i, v in enumerate(values)]


def _pairs(pairs: Sequence[tuple[Example, Example]], field: str) -> list[dict[str, object]]:
    out = []
    for i, pair in enumerate(pairs):
        if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
            raise InvalidInput(f"{field}[{i}]: a pair is (positive, negative)")
        out.append(
            {
                "positive": _example(pair[0], f"{field}[{i}].positive"),
                "negative": _example(pair[1], f"{field}[{i}].negative"),
            }
        )
    return out
