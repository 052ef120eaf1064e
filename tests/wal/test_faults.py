"""A full disk or an I/O error fails the batch that hits it, leaves nothing of it behind, and
the writer works again once the cause is gone. Faults come from small fakes of os functions."""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING, Any

import pytest

from zoro.errors import StorageError, StorageFull
from zoro.settings import WalSettings
from zoro.wal import WalWriter, recover

from .conftest import delete, replayed, segments, upsert

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path


def fail_once(
    monkeypatch: pytest.MonkeyPatch, name: str, err: int, *, write_first: int = 0
) -> list[int]:
    """Make os.<name> raise OSError(err) on its next call (after writing `write_first` bytes,
    for pwrite); calls after that are real. Returns the list of calls seen, for asserts."""
    real: Callable[..., Any] = getattr(os, name)
    calls: list[int] = []

    def fake(fd: int, *args: Any) -> Any:
        calls.append(fd)
        if len(calls) > 1:
            return real(fd, *args)
        if write_first:
            data, offset = args
            real(fd, bytes(data[:write_first]), offset)
        raise OSError(err, os.strerror(err))

    monkeypatch.setattr(os, name, fake)  # the os module zoro.wal (and fsync_dir) call into
    return calls


@pytest.fixture
def wal(tmp_path: Path) -> Iterator[WalWriter]:
    with WalWriter(tmp_path, next_lsn=1, settings=WalSettings()) as writer:
        writer.append([upsert(2)])
        writer.append([delete(1)])
        yield writer


def size_of(directory: Path) -> int:
    return sum(p.stat().st_size for p in segments(directory))


@pytest.mark.parametrize(
    ("name", "err", "error"),
    [
        ("pwrite", errno.ENOSPC, StorageFull),
        ("pwrite", errno.EDQUOT, StorageFull),
        ("pwrite", errno.EIO, StorageError),
        ("fdatasync", errno.ENOSPC, StorageFull),
        ("fdatasync", errno.EIO, StorageError),
    ],
)
def test_a_failed_append_leaves_nothing_and_the_next_one_works(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    wal: WalWriter,
    name: str,
    err: int,
    error: type[Exception],
) -> None:
    before = size_of(tmp_path)
    fail_once(monkeypatch, name, err)
    with pytest.raises(error) as info:
        wal.append([upsert(3, start=10), delete(2)])
    assert type(info.value) is error
    assert size_of(tmp_path) == before
    assert wal.next_lsn == 3
    assert wal.append([delete(3)]) == 3
    wal.close()
    assert recover(tmp_path).truncated_bytes == 0
    assert [lsn for lsn, _op in replayed(tmp_path)] == [1, 2, 3]


def test_a_partly_written_batch_is_rolled_back(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, wal: WalWriter
) -> None:
    before = size_of(tmp_path)
    fail_once(monkeypatch, "pwrite", errno.ENOSPC, write_first=100)
    with pytest.raises(StorageFull, match="No space left"):
        wal.append([upsert(8, start=10)])
    assert size_of(tmp_path) == before
    assert wal.append([delete(3)]) == 3
    wal.close()
    assert recover(tmp_path).truncated_bytes == 0
    assert [lsn for lsn, _op in replayed(tmp_path)] == [1, 2, 3]


def test_a_failed_rollback_is_finished_before_the_next_write(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, wal: WalWriter
) -> None:
    before = size_of(tmp_path)
    fail_once(monkeypatch, "fdatasync", errno.EIO)
    truncates = fail_once(monkeypatch, "ftruncate", errno.EIO)
    with pytest.raises(StorageError):
        wal.append([upsert(8, start=10)])
    assert size_of(tmp_path) > before  # the failed batch is still there...
    assert wal.append([delete(3)]) == 3  # ...until the next append cuts it off first
    assert len(truncates) == 2
    wal.close()
    assert recover(tmp_path).truncated_bytes == 0
    assert [lsn for lsn, _op in replayed(tmp_path)] == [1, 2, 3]


def test_a_failed_rotation_keeps_the_old_segment_active(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with WalWriter(tmp_path, next_lsn=1, settings=WalSettings(segment_max_bytes=50)) as wal:
        wal.append([delete(1)])
        fail_once(monkeypatch, "pwrite", errno.ENOSPC)  # the new segment's header
        with pytest.raises(StorageFull):
            wal.append([delete(2)])
        assert len(segments(tmp_path)) == 1
        assert wal.append([delete(2)]) == 2
        assert wal.stats().segments == 2
    assert [lsn for lsn, _op in replayed(tmp_path)] == [1, 2]


def test_a_failed_directory_sync_after_rotation_fails_the_batch(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with WalWriter(tmp_path, next_lsn=1, settings=WalSettings(segment_max_bytes=50)) as wal:
        wal.append([delete(1)])
        fail_once(monkeypatch, "fsync", errno.EIO)  # fsync_dir of the new segment's name
        with pytest.raises(StorageError):
            wal.append([delete(2)])
        assert wal.next_lsn == 2
        assert wal.append([delete(2)]) == 2
    assert recover(tmp_path).truncated_bytes == 0
    assert [lsn for lsn, _op in replayed(tmp_path)] == [1, 2]
