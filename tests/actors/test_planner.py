"""Search placement, decided by the planner alone (no trio, no index): which plan each search
takes, what it is estimated to cost, and whether it runs inline or in a worker thread."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from zoro.actors import planner
from zoro.actors.planner import Method, plan_search
from zoro.ann import PartShape
from zoro.settings import ActorSettings

DEFAULT_EF = 128


def _plan(
    layout: list[PartShape],
    *,
    dimension: int = 128,
    queries: int = 1,
    ef: int = DEFAULT_EF,
    exact: bool = False,
    kept: int | None = None,
    live: int | None = None,
) -> planner.SearchPlan:
    if live is None:
        live = sum(p.points - p.deleted for p in layout)
    return plan_search(
        layout,
        dimension=dimension,
        queries=queries,
        k=10,
        ef=ef,
        exact=exact,
        kept=kept,
        live=live,
    )


def graph(points: int, deleted: int = 0) -> PartShape:
    return PartShape("hnsw", points, deleted)


def fresh(points: int) -> PartShape:
    return PartShape("buffer", points, 0)


def test_the_planner_imports_no_trio() -> None:
    tree = ast.parse(Path(planner.__file__).read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not {n for n in names if n == "trio" or n.startswith("trio.")}


def test_the_setting_defaults_to_the_calibrated_threshold() -> None:
    assert ActorSettings().inline_search_max_us == planner.INLINE_SEARCH_MAX_US


@pytest.mark.parametrize("points", [20_000, 200_000, 1_000_000])
def test_a_single_default_hnsw_query_runs_inline(points: int) -> None:
    plan = _plan([graph(points)])
    assert plan.method is Method.INDEX
    assert 20 < plan.cost_us < planner.INLINE_SEARCH_MAX_US
    assert not plan.in_thread


def test_exact_scans_of_big_collections_go_to_threads() -> None:
    # a "flat" collection of 400,000 x 128 (the stall of issue 11): ~20 ms a query
    flat = _plan([PartShape("flat", 400_000, 0)])
    assert flat.in_thread
    assert 10_000 < flat.cost_us < 40_000
    # exact=true on an HNSW collection scans it
    assert _plan([graph(200_000)], exact=True).in_thread
    # a small collection searched exactly stays inline, unless its vectors are long
    assert not _plan([PartShape("flat", 5_000, 0)]).in_thread
    assert _plan([PartShape("flat", 5_000, 0)], dimension=1536).in_thread


def test_the_fresh_segment_counts() -> None:
    assert not _plan([graph(1_000_000), fresh(1_000)]).in_thread
    full = _plan([graph(1_000_000), fresh(20_000)])  # just before it is sealed
    assert full.in_thread
    assert full.cost_us > _plan([graph(1_000_000)]).cost_us + 500


def test_high_dimensions_and_wide_beams_go_to_threads() -> None:
    assert _plan([graph(1_000_000)], dimension=1536).in_thread
    assert _plan([graph(200_000)], ef=2_000).in_thread
    assert not _plan([graph(200_000)], ef=200).in_thread


def test_batches_are_priced_per_query() -> None:
    one = _plan([graph(200_000)])
    assert not _plan([graph(200_000)], queries=1).in_thread
    batch = _plan([graph(200_000)], queries=16)
    assert batch.cost_us == pytest.approx(16 * one.cost_us)
    assert batch.in_thread


def test_deletions_widen_the_beam_and_a_mostly_dead_graph_is_scanned() -> None:
    clean = _plan([graph(200_000)]).cost_us
    worn = _plan([graph(200_000, deleted=50_000)]).cost_us  # 75% live: beam / 0.75
    assert worn > 1.2 * clean
    dead = _plan([graph(200_000, deleted=190_000)])  # 5% live: scanned exactly
    assert dead.in_thread


def test_filters_take_their_plans_and_are_priced_by_what_they_keep() -> None:
    layout = [graph(1_000_000)]
    nothing = _plan(layout, kept=0)
    assert nothing.method is Method.NOTHING
    assert not nothing.in_thread
    few = _plan(layout, kept=1_000)
    assert few.method is Method.SUBSET
    assert not few.in_thread
    many_exact = _plan(layout, kept=30_000)  # 3%: exact among kept, ~1-2 ms
    assert many_exact.method is Method.SUBSET
    assert many_exact.in_thread
    walk = _plan(layout, kept=500_000)  # 50%: the walk, beam widened by 1/sqrt(0.5)
    assert walk.method is Method.WALK
    assert walk.share == pytest.approx(0.5**0.5)
    assert walk.cost_us > _plan(layout).cost_us
    assert _plan(layout, kept=500_000, exact=True).method is Method.SUBSET


def test_the_threshold_is_a_setting() -> None:
    layout = [graph(200_000)]
    assert _plan(layout).cost_us < planner.INLINE_SEARCH_MAX_US
    everything = plan_search(
        layout,
        dimension=128,
        queries=1,
        k=10,
        ef=128,
        exact=False,
        kept=None,
        live=1,
        inline_max_us=0.0,
    )
    assert everything.in_thread


def test_sparse_searches_stay_inline_unless_far_dearer_than_the_budget() -> None:
    """Inline serves more sparse queries than the search thread (planner.py's measurements):
    only one estimated at SPARSE_THREAD_FACTOR times the inline budget goes there."""
    assert not planner.sparse_in_thread(1_500_000)  # a long 1M-document query: about 9 ms
    assert planner.sparse_in_thread(4_000_000)  # 24 ms by the model
    assert planner.sparse_in_thread(1, inline_max_us=0.0)
