"""`zoro serve` that dies (os._exit, as kill -9 would leave it) at one step of adding or dropping
a vector, for tests/http/test_vector_change_crash.py:

    ZORO_TEST_CRASH_AT=<step> python -m tests.http.vector_change_child serve --data-dir ...

    before_catalog   the old actor has drained and checkpointed; the catalog is not yet written
    after_catalog    the catalog holds the new vectors; the collection has not reopened
    reopen_add       reopening: an added vector's empty files are made, nothing else yet
    reopen_drop      reopening: one file of a dropped vector is removed, the others not yet

Nothing dies before the first catalog change: the server starts and serves as usual.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from zoro import cli
from zoro.storage import catalog, columns, store

STEP = os.environ.get("ZORO_TEST_CRASH_AT", "")
_changed = False  # set once the catalog holds the new vectors


def _die() -> None:
    sys.stdout.flush()
    os._exit(9)


def _patch() -> None:
    update = catalog.Catalog.update
    create_vectors = store.create_vectors
    remove_files = columns.remove_files

    def patched_update(self: catalog.Catalog, *args: Any, **kwargs: Any) -> Any:
        global _changed
        if STEP == "before_catalog":
            _die()
        out = update(self, *args, **kwargs)
        _changed = True
        if STEP == "after_catalog":
            _die()
        return out

    def patched_create_vectors(*args: Any, **kwargs: Any) -> Any:
        out = create_vectors(*args, **kwargs)
        layout = args[1]
        if STEP == "reopen_add" and _changed and (layout.dense or layout.sparse):
            _die()
        return out

    def patched_remove_files(directory: Any, number: int) -> None:
        if STEP == "reopen_drop" and _changed:
            for name in columns.file_names(number):
                path = directory / name
                if path.exists():
                    path.unlink()
                    _die()
        remove_files(directory, number)

    catalog.Catalog.update = patched_update  # type: ignore[method-assign]
    store.create_vectors = patched_create_vectors
    columns.remove_files = patched_remove_files


if __name__ == "__main__":
    _patch()
    sys.exit(cli.main())
