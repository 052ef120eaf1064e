"""`zoro serve` that dies (os._exit, as kill -9 would leave it) at one step of taking or
restoring a snapshot, for tests/http/test_snapshot_crash.py:

    ZORO_TEST_CRASH_AT=<step> python -m tests.http.snapshot_child serve --data-dir ...

    after_link       the checkpoint's files are linked into the staging directory
    before_rename    the archive is written in full under its temp name, not renamed yet
    mid_unpack       a restore has written some of the collection's files, not all
"""

from __future__ import annotations

import os
import sys
from typing import Any

from zoro import cli
from zoro.storage import snapshots

STEP = os.environ.get("ZORO_TEST_CRASH_AT", "")


def _die() -> None:
    sys.stdout.flush()
    os._exit(9)


def _patch() -> None:
    link, replace, member_hash = snapshots.link, snapshots.os.replace, snapshots._member_hash
    copied = 0

    def patched_link(*args: Any, **kwargs: Any) -> Any:
        out = link(*args, **kwargs)
        if STEP == "after_link":
            _die()
        return out

    def patched_replace(source: Any, target: Any) -> None:
        if STEP == "before_rename" and str(source).endswith(".snapshot.tmp"):
            _die()
        replace(source, target)

    def patched_member_hash(*args: Any) -> Any:
        nonlocal copied
        copied += len(args) == 4 and args[3] is not None  # a member written out
        if STEP == "mid_unpack" and copied == 3:
            _die()
        return member_hash(*args)

    snapshots.link = patched_link
    snapshots.os.replace = patched_replace  # type: ignore[assignment]
    snapshots._member_hash = patched_member_hash


if __name__ == "__main__":
    _patch()
    sys.exit(cli.main())
