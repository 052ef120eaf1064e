"""zoro.services.prefetch without a server: the filter merge, and chunked exact rescoring."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pytest

from zoro.payload.conditions import Filter, HasId, MinShould
from zoro.services import prefetch
from zoro.types import DenseSpec, Distance, key_of

if TYPE_CHECKING:
    from zoro.actors import CollectionActor


def _has(*ids: int) -> HasId:
    return HasId(frozenset(key_of(i) for i in ids))


def test_merge_joins_each_clause() -> None:
    outer = Filter(must=(_has(1),), should=(_has(2),), min_should=MinShould((_has(3),), 1))
    inner = Filter(must_not=(_has(4),), should=(_has(5),), min_should=MinShould((_has(6),), 2))
    merged = prefetch.merge(outer, inner)
    assert merged == Filter(
        must=(_has(1),),
        should=(_has(2), _has(5)),  # alternatives of one another, as Qdrant merges them
        must_not=(_has(4),),
        min_should=MinShould((_has(3), _has(6)), 2),
    )
    assert prefetch.merge(None, inner) is inner
    assert prefetch.merge(outer, None) is outer
    assert prefetch.merge(None, None) is None


class _Vectors:
    """The two things rescoring asks of an actor."""

    def __init__(self, rows: np.ndarray[Any, Any]) -> None:
        self.rows = rows
        self.reads: list[int] = []

    def vectors_of_slots(self, slots: np.ndarray[Any, Any], number: int) -> np.ndarray[Any, Any]:
        assert number == 3
        self.reads.append(len(slots))
        return self.rows[slots]


@pytest.mark.parametrize("distance", list(Distance))
async def test_rescoring_reads_bounded_chunks(
    monkeypatch: pytest.MonkeyPatch, distance: Distance
) -> None:
    rng = np.random.default_rng(2)
    rows = rng.normal(size=(50, 4)).astype(np.float32)
    query = rng.normal(size=4).astype(np.float32)
    fake = _Vectors(rows)
    using = DenseSpec(3, 4, distance)
    monkeypatch.setattr(prefetch, "_RESCORE_CHUNK_FLOATS", 4 * 7)  # 7 rows at a time
    slots = np.array([3, 9, 0, 41, 17, 8, 22, 30, 1, 49, 5], dtype=np.int64)
    run = prefetch._Run(cast("CollectionActor", fake))
    scores = await run.scores(
        using, slots, lambda rows: prefetch.exact_scores(distance, rows, query)
    )
    assert fake.reads == [7, 4]
    picked = rows[slots]
    expected = {
        Distance.COSINE: picked @ query,
        Distance.DOT: picked @ query,
        Distance.EUCLID: np.linalg.norm(picked - query, axis=1),
        Distance.MANHATTAN: np.abs(picked - query).sum(axis=1),
    }[distance]
    np.testing.assert_allclose(scores, expected, rtol=1e-5)
    assert len(await run.scores(using, slots[:0], lambda rows: rows[:, 0])) == 0
