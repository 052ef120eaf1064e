"""`zoro serve --set layer.field=value`: overrides parsed by each field's type, bad ones named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from zoro.settings import Settings, with_overrides


def test_overrides_are_parsed_by_field_type() -> None:
    settings = with_overrides(
        Settings(),
        [
            "actor.checkpoint_wal_bytes=100_000",
            "actor.idle_checkpoint_s=0.5",
            "wal.use_fdatasync=false",
            "server.api_key=secret",
        ],
    )
    assert settings.actor.checkpoint_wal_bytes == 100_000
    assert settings.actor.idle_checkpoint_s == 0.5
    assert settings.wal.use_fdatasync is False
    assert settings.server.api_key == "secret"
    assert with_overrides(settings, ["server.api_key=none"]).server.api_key is None
    assert settings.ann == Settings().ann  # untouched layers stay as they were


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("actor", "expected layer.field=value"),
        ("nope.x=1", "unknown settings layer `nope`"),
        ("actor.nope=1", "`actor` has no setting `nope`"),
        ("actor.mailbox_size=big", "`actor.mailbox_size` takes an integer, not `big`"),
        ("wal.use_fdatasync=maybe", "takes true or false"),
        ("ann.rebuild_deleted_ratio=x", "takes a number"),
    ],
)
def test_bad_overrides_are_named(assignment: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        with_overrides(Settings(), [assignment])


def test_serve_refuses_a_bad_override_before_touching_anything(tmp_path: Path) -> None:
    data = tmp_path / "data"
    done = subprocess.run(
        [sys.executable, "-m", "zoro.cli", "serve", "--data-dir", str(data), "--set", "actor.x=1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "`actor` has no setting `x`" in done.stderr
    assert not data.exists()
