"""The real server on the power-loss file system, power cut at random moments (harness.py).

Default run: four cycles, one for each cut mode with the syncs in progress failed and done
(harness.run: modes take turns, and the syncs' fate changes every round of modes); `pytest -m
slow`: six (the former default); `pytest -m torture`: hundreds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.powerloss import harness
from tests.powerloss.mount import FuseNotPermitted


def _run(tmp_path: Path, **kwargs: object) -> harness.Report:
    try:
        report = harness.run(tmp_path, **kwargs)  # type: ignore[arg-type]
    except FuseNotPermitted as exc:
        pytest.skip(str(exc))
    print(report.summary())
    return report


@pytest.mark.usefixtures("fuse")
@pytest.mark.parametrize("cycles", [4, pytest.param(6, marks=pytest.mark.slow)])
def test_power_cuts_keep_every_acknowledged_operation(tmp_path: Path, cycles: int) -> None:
    report = _run(tmp_path, cycles=cycles, seed=11, time_budget_s=45)
    assert report.cycles >= 4
    assert report.cuts["clean"] >= 2
    assert report.cuts["random"] >= 2
    assert set(report.kills) == {"syncs in progress failed", "syncs in progress done"}


@pytest.mark.torture
@pytest.mark.timeout(1800)
@pytest.mark.usefixtures("fuse")
@pytest.mark.parametrize("seed", [1, 2])
def test_power_cut_torture(tmp_path: Path, seed: int) -> None:
    report = _run(tmp_path, cycles=150, seed=seed, time_budget_s=1500)
    assert report.cycles == 150
    # the cuts landed after each kind of durable step, not only before them
    assert {
        "checkpointed meta", "several WAL segments", "HNSW segment files", "payload index files",
    } <= set(report.files_seen)  # fmt: skip
