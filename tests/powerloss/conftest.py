"""Power-loss tests skip, naming why, where FUSE cannot be used (never fail for that)."""

from __future__ import annotations

import pytest

from tests.powerloss.mount import fuse_unavailable


@pytest.fixture
def fuse() -> None:
    reason = fuse_unavailable()
    if reason is not None:
        pytest.skip(reason)
