"""The harness can fail: each deliberate breakage of the durability protocol is caught.

Default run: every breakage still applies to the code as it is. `pytest -m torture`: the harness
runs a server from a broken copy of the package and must report a Violation (its message names
the cycle, the cut and the time it took).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.powerloss import harness
from tests.powerloss.breakage import ROOT, Breakage, StaleBreakage, all_breakages, broken_copy
from tests.powerloss.mount import FuseNotPermitted
from tests.powerloss.workload import Violation

BREAKAGES = all_breakages()


def test_there_is_a_breakage_for_each_promise() -> None:
    assert {b.name for b in BREAKAGES} == {
        "ack_before_wal_sync",
        "no_dir_fsync_after_segment_creation",
        "no_dir_fsync_after_checkpoint_rename",
        "checkpoint_trusts_unsynced_files",
        "compaction_switch_trusts_unsynced_files",
    }


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda b: b.name)
def test_each_breakage_applies_to_the_code_as_it_is(breakage: Breakage, tmp_path: Path) -> None:
    copy = broken_copy(breakage, tmp_path)
    assert (copy / breakage.file).read_text() != (ROOT / breakage.file).read_text()


def test_a_breakage_that_no_longer_applies_fails_loudly(tmp_path: Path) -> None:
    stale = Breakage("stale", "why", "zoro/wal/_writer.py", "no such line\n", "")
    with pytest.raises(StaleBreakage, match="occurs 0 times"):
        broken_copy(stale, tmp_path)


@pytest.mark.torture
@pytest.mark.timeout(900)
@pytest.mark.usefixtures("fuse")
@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda b: b.name)
def test_the_harness_catches(breakage: Breakage, tmp_path: Path) -> None:
    package = broken_copy(breakage, tmp_path / "package")
    found = subprocess.run(
        [sys.executable, "-c", "import zoro; print(zoro.__file__)"],
        env={"PYTHONPATH": str(package), "PATH": ""},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout.startswith(str(package)), "the server would not run the broken copy"
    started = time.monotonic()
    try:
        with pytest.raises(Violation) as caught:
            harness.run(tmp_path / "run", cycles=60, seed=5, time_budget_s=600, pythonpath=package)
    except FuseNotPermitted as exc:
        pytest.skip(str(exc))
    print(f"{breakage.name}: caught after {time.monotonic() - started:.1f} s: {caught.value}")
