"""Facet counting (zoro.payload.facets) against a count made payload by payload, for keyword
(incremental slot-ordered pairs), bool and integer indexes, both ways of counting (few points
left out: subtract; many: gather)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest

from zoro.payload.conditions import parse_key
from zoro.payload.facets import facet, value_counts
from zoro.payload.field_index import BoolIndex, FieldIndex, IntegerIndex, KeywordIndex


def _payload(rng: np.random.Generator, kind: str) -> dict[str, Any]:
    if kind == "keyword":
        values: Any = [f"v{int(v)}" for v in rng.integers(0, 30, rng.integers(0, 4))]
    elif kind == "bool":
        values = bool(rng.random() < 0.3)
    else:
        values = [int(v) for v in rng.integers(-5, 40, rng.integers(0, 3))]
    if isinstance(values, list) and len(values) == 1:
        values = values[0]
    return {"k": values, "other": 1}


def _expected(payloads: list[dict[str, Any]], counted: np.ndarray[Any, Any]) -> Counter[Any]:
    out: Counter[Any] = Counter()
    for slot, payload in enumerate(payloads):
        if counted[slot]:
            out.update(set(parse_key("k").values(payload)))
    return out


@pytest.mark.parametrize(
    ("kind", "cls"), [("keyword", KeywordIndex), ("bool", BoolIndex), ("integer", IntegerIndex)]
)
@pytest.mark.parametrize("dead_share", [0.01, 0.5, 0.97])
def test_counts_match_the_payloads(kind: str, cls: type[FieldIndex], dead_share: float) -> None:
    rng = np.random.default_rng(4)
    index = cls(parse_key("k"))
    payloads: list[dict[str, Any]] = []
    for _ in range(4):  # added in rounds: the keyword pairs grow incrementally
        new = [_payload(rng, kind) for _ in range(700)]
        index.add(range(len(payloads), len(payloads) + len(new)), new)
        payloads += new
        counted = rng.random(len(payloads)) >= dead_share
        entries = index.facet_entries()
        assert entries is not None
        got = value_counts(entries, counted)
        want = _expected(payloads, counted)
        assert {v: int(c) for v, c in zip(entries.values, got, strict=True) if c} == dict(want)
        top = facet(entries, counted, 5)
        assert top == sorted(want.items(), key=lambda vc: (-vc[1], vc[0]))[:5]


def test_a_mask_shorter_than_the_index_counts_only_its_points() -> None:
    index = KeywordIndex(parse_key("k"))
    index.add(range(10), [{"k": "a"}] * 10)
    entries = index.facet_entries()
    assert value_counts(entries, np.ones(4, dtype=np.bool_)).tolist() == [4]
