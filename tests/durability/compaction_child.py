"""`zoro serve` that dies (os._exit, as kill -9 would leave it) at one step of a compaction, for
tests/durability/test_compaction_crash.py:

    ZORO_TEST_CRASH_AT=<step> python -m tests.durability.compaction_child serve --data-dir ...

    mid_copy       the new generation holds some of the copied slots, not all
    before_meta    the new generation is whole and fsynced; meta still names the old one
    after_meta     meta names the new generation; memory and the old files are the old ones
    before_debris  the switch is installed; the old generation is not deleted yet
"""

from __future__ import annotations

import os
import sys
from typing import Any

from zoro import cli
from zoro.storage import compaction, store

STEP = os.environ.get("ZORO_TEST_CRASH_AT", "")


def _die() -> None:
    sys.stdout.flush()
    os._exit(9)


def _patch() -> None:
    copy_chunk = compaction.Compaction._copy
    write_meta = store.meta_file.write
    remove_debris = store.CollectionStore.remove_debris
    chunks = 0

    def patched_copy(self: compaction.Compaction, *args: Any) -> int:
        nonlocal chunks
        chunks += 1
        if STEP == "mid_copy" and chunks == 2:
            _die()
        return copy_chunk(self, *args)

    def patched_write_meta(path: Any, meta: Any) -> None:
        if STEP == "before_meta" and meta.files:
            _die()
        write_meta(path, meta)
        if STEP == "after_meta" and meta.files:
            _die()

    def patched_remove_debris(self: store.CollectionStore) -> None:
        if STEP == "before_debris" and self.file_generation:
            _die()
        remove_debris(self)

    compaction.Compaction._copy = patched_copy  # type: ignore[method-assign]
    store.meta_file.write = patched_write_meta
    store.CollectionStore.remove_debris = patched_remove_debris  # type: ignore[method-assign]


if __name__ == "__main__":
    _patch()
    sys.exit(cli.main())
