"""Where one collection's files are: the paths of a file generation (docs/compaction.md).

    <collection>/meta                 names the file generation k (meta.files)
    <collection>/source/, index/      generation 0: every collection before its first compaction
    <collection>/files.<k>/source/, files.<k>/index/    generation k >= 1

A generation directory that meta does not name is debris: a replaced generation, or one a
compaction was writing when it failed or the process died.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from pathlib import Path

META: Final = "meta"
SOURCE: Final = "source"
INDEX: Final = "index"
PAYLOADS: Final = f"{SOURCE}/payloads"
SLOTS: Final = f"{INDEX}/slots"
FILES: Final = "files"  # files.<k>/: file generation k


def files_root(directory: Path, generation: int) -> Path:
    """Where file generation `generation` of the collection in `directory` keeps its files."""
    return directory if generation == 0 else directory / f"{FILES}.{generation}"


def remove_other_generations(directory: Path, keep: int, building: Path | None = None) -> None:
    """Delete every file generation but `keep` and the one a compaction is `building`, best
    effort (what stays is removed next time)."""
    if keep != 0:
        for sub in (SOURCE, INDEX):
            shutil.rmtree(directory / sub, ignore_errors=True)
    with contextlib.suppress(OSError):
        for entry in os.scandir(directory):
            if (
                entry.name.partition(".")[0] == FILES
                and entry.name != f"{FILES}.{keep}"
                and (building is None or entry.path != str(building))
            ):
                shutil.rmtree(entry.path, ignore_errors=True)
