"""What every bench script does around its run: a scratch directory that goes away afterwards
(also on SIGTERM), and the figures written as JSON."""

from __future__ import annotations

import json
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")


def in_scratch(
    prefix: str, run: Callable[[Path], T], *, keep: bool = False, parent: Path | None = None
) -> T:
    """run(root) in a fresh directory, removed afterwards unless `keep`. SIGTERM exits through
    the cleanup (and through the servers' context managers inside `run`)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    root = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    try:
        return run(root)
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


def write_json(path: Path | None, result: Any) -> None:
    """The figures as indented JSON at `path` (nothing when None)."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
