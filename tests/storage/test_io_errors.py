"""A write that fails half way: files and memory go back, and writing works again after.

The failure is real, not mocked: RLIMIT_FSIZE makes the kernel refuse writes past a size
(EFBIG), as a full disk would refuse them with ENOSPC.
"""

from __future__ import annotations

import resource
import signal
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np
import pytest

from zoro.errors import StorageError
from zoro.settings import StorageSettings
from zoro.storage import CollectionStore
from zoro.types import UpsertBatch, int_keys

from .conftest import snapshot

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE semantics")

DIM = 1024  # 4 KiB rows: a few hundred pass the first preallocated MiB of the vector file


def _batch(first: int, count: int) -> UpsertBatch:
    ids = np.arange(first, first + count, dtype=np.uint64)
    vectors = np.random.default_rng(first).random((count, DIM), dtype=np.float32)
    return UpsertBatch(int_keys(ids), vectors, [b'{"n":%d}' % i for i in ids.tolist()])


@contextmanager
def _file_size_limit(limit: int) -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old_handler)


def test_failed_append_is_undone_and_later_writes_work(tmp_path: Path) -> None:
    settings = StorageSettings()
    store = CollectionStore.create(tmp_path / "c", DIM, settings)
    store.apply_many([(1, _batch(0, 10))])
    before = snapshot(store)
    vectors = tmp_path / "c" / "source" / "vectors"
    with _file_size_limit(vectors.stat().st_size + 4096), pytest.raises(StorageError):
        store.apply_many([(2, _batch(100, 400))])
    assert snapshot(store) == before
    assert store.applied_lsn == 1
    # every file was cut back to the data it held before the failed call
    assert vectors.stat().st_size == 32 + 10 * DIM * 4
    assert (tmp_path / "c" / "index" / "slots").stat().st_size == 16 + 10 * 29

    result = store.apply_many([(2, _batch(100, 400))])  # space is back
    assert result.added_slots.tolist() == list(range(10, 410))
    store.checkpoint()
    after = snapshot(store)
    store.close()
    store = CollectionStore.open(tmp_path / "c", DIM, settings)
    assert snapshot(store) == after
    store.close()
