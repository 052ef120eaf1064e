"""Fixtures for the torture tests: a small real filesystem to fill, real server processes."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class SmallFs:
    """A small filesystem mounted at `path`, made by `method` ("tmpfs" or "loop-ext4")."""

    path: Path
    method: str


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[SmallFs]:
    """A 16 MiB tmpfs (or a 32 MiB loop-mounted ext4 image) unmounted afterwards; skips if
    this machine lets neither be mounted."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    failures = []
    if os.geteuid() != 0:
        pytest.skip("disk-full test needs root to mount a small filesystem")
    r = _run("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mnt))
    if r.returncode == 0:
        fs = SmallFs(mnt, "tmpfs")
    else:
        failures.append(f"mount -t tmpfs: {r.stderr.strip()}")
        image = tmp_path / "fs.img"
        fs = SmallFs(mnt, "loop-ext4")
        with image.open("wb") as f:
            f.truncate(32 * 1024 * 1024)
        mkfs = shutil.which("mkfs.ext4")
        if mkfs is None:
            pytest.skip(
                "cannot make a small filesystem: "
                + "; ".join([*failures, "mkfs.ext4: not installed"])
            )
        r = _run(mkfs, "-q", "-F", str(image))
        if r.returncode != 0:
            failures.append(f"mkfs.ext4: {r.stderr.strip()}")
            pytest.skip("cannot make a small filesystem: " + "; ".join(failures))
        r = _run("mount", "-o", "loop", str(image), str(mnt))
        if r.returncode != 0:
            failures.append(f"mount -o loop: {r.stderr.strip()}")
            pytest.skip("cannot make a small filesystem: " + "; ".join(failures))
    try:
        yield fs
    finally:
        r = _run("umount", str(mnt))
        if r.returncode != 0:  # a server still holding files: lazy unmount, never leave it
            _run("umount", "-l", str(mnt))
