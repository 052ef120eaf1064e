"""`zoro serve` that dies (os._exit, as kill -9 would leave it) inside the catalog write of an
alias change naming an alias "doomed...", for tests/http/test_alias_crash.py:

    ZORO_TEST_CRASH_AT=<step> python -m tests.http.alias_crash_child serve --data-dir ...

    before_write    nothing written yet
    torn_temp       half of the new catalog written to its temp file
    before_rename   the new catalog whole and fsynced in its temp file, not renamed over the old
    after_rename    renamed over the old; the directory not yet fsynced

Every other catalog write (collections created, other alias changes) goes through untouched.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from zoro import checked_json, cli, fsutil

if TYPE_CHECKING:
    from pathlib import Path

STEP = os.environ.get("ZORO_TEST_CRASH_AT", "")


def _die() -> None:
    sys.stdout.flush()
    os._exit(9)


def _atomic_write(path: Path, data: bytes) -> None:
    if path.name != "catalog" or b'"doomed' not in data:
        fsutil.atomic_write(path, data)
        return
    if STEP == "before_write":
        _die()
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data[: len(data) // 2] if STEP == "torn_temp" else data)
        f.flush()
        os.fsync(f.fileno())
    if STEP in ("torn_temp", "before_rename"):
        _die()
    os.replace(tmp, path)
    _die()  # after_rename


if __name__ == "__main__":
    checked_json.atomic_write = _atomic_write  # type: ignore[attr-defined]
    sys.exit(cli.main())
