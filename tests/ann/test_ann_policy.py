"""The merge policy on its own."""

from __future__ import annotations

from zoro.ann.policy import pick_merge


def test_nothing_to_merge_under_the_cap_with_different_sizes() -> None:
    assert pick_merge([], 4) == []
    assert pick_merge([100], 4) == []
    assert pick_merge([1000, 100, 10], 4) == []


def test_a_run_of_similar_sizes_is_merged_at_the_fan_in() -> None:
    assert sorted(pick_merge([20, 21, 19, 20], 8)) == [0, 1, 2, 3]
    assert sorted(pick_merge([20, 19, 21, 1000], 8)) == []


def test_over_the_cap_the_smallest_go_first() -> None:
    picked = pick_merge([1000, 10, 5000, 300, 40], 4)
    assert sorted(picked) == [1, 4]
