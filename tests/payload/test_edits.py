"""zoro.payload.edits against qdrant-client local mode's payload setter (the reference): the
same random payloads and paths give the same payloads, for set by path, merge and delete."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from qdrant_client.local.json_path_parser import parse_json_path
from qdrant_client.local.payload_value_setter import (
    delete_value_by_key,
    merge_payload,
    set_value_by_key,
)

from zoro.payload.edits import delete_at, merge, parse_path, set_at

PATHS = [
    "a", "b", "a.b", "a.c.d", "a[]", "a[0]", "a[1].b", "a[].b", "a[].b.c", "b[0][1]",
    "list[].x", "list[2]", "list[].y.z", '"odd key".v', "a.list[].x", "n",
]  # fmt: skip


def _value(rng: np.random.Generator, depth: int = 0) -> Any:
    kind = int(rng.integers(0, 7 if depth < 3 else 3))
    if kind == 0:
        return int(rng.integers(0, 5))
    if kind == 1:
        return str(rng.choice(["x", "y"]))
    if kind == 2:
        return None if rng.random() < 0.3 else True
    if kind in (3, 4):
        keys = rng.choice(["a", "b", "c", "x", "list", "y"], size=int(rng.integers(0, 3)))
        return {str(k): _value(rng, depth + 1) for k in keys}
    return [_value(rng, depth + 1) for _ in range(int(rng.integers(0, 3)))]


def _payload(rng: np.random.Generator) -> dict[str, Any]:
    out = {k: _value(rng) for k in ("a", "b", "list", "n", "odd key")}
    return {k: v for k, v in out.items() if rng.random() < 0.8}


@pytest.mark.parametrize("seed", range(12))
def test_set_merge_and_delete_match_local_mode(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(200):
        payload = _payload(rng)
        path = str(rng.choice(PATHS))
        values = {str(k): _value(rng) for k in rng.choice(["a", "x", "n"], size=2)}
        ours, theirs = copy.deepcopy(payload), copy.deepcopy(payload)
        set_at(ours, parse_path(path), copy.deepcopy(values))
        set_value_by_key(theirs, parse_json_path(path), copy.deepcopy(values))
        assert ours == theirs, (payload, path, values)
        ours, theirs = copy.deepcopy(payload), copy.deepcopy(payload)
        delete_at(ours, parse_path(path))
        delete_value_by_key(theirs, parse_json_path(path))
        assert ours == theirs, (payload, path)
        assert merge(copy.deepcopy(payload), values) == merge_payload(
            copy.deepcopy(payload), values
        )


def test_each_point_gets_its_own_copy_of_a_merged_container() -> None:
    shared = {"m": {"x": 1}}
    one, two = merge({}, shared), merge({}, shared)
    set_at(one, parse_path("m"), {"y": 2})
    assert two == {"m": {"x": 1}}
    assert shared == {"m": {"x": 1}}


@pytest.mark.parametrize("bad", ["", "a..b", "a.", ".a", "a[x]", "a[", '"a', "a b", "a[-1]"])
def test_bad_paths_are_refused_as_local_mode_refuses_them(bad: str) -> None:
    with pytest.raises(ValueError, match="path"):
        parse_path(bad)
    with pytest.raises(ValueError):  # noqa: PT011  local mode's message is its own
        parse_json_path(bad)
