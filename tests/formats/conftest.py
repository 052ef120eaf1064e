from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.formats import golden_v1 as story


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A copy of the golden data directory: zoro opens files for writing (and recovery cuts,
    removes and rewrites), and the golden bytes must never change."""
    copy = tmp_path / "data"
    shutil.copytree(story.DATA, copy)
    return copy
