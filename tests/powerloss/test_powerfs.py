"""The power-loss file system on its own: what a cut keeps and drops, and what Zoro needs of it."""

from __future__ import annotations

import fcntl
import mmap
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.powerloss.disk import PAGE
from tests.powerloss.mount import PowerMount, mounted
from zoro.fsutil import fsync_dir


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[PowerMount]:
    with mounted(tmp_path) as disk:
        yield disk
        disk.check_no_errors()


def write_file(path: Path, data: bytes, *, sync: bool) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def test_an_unsynced_write_is_lost(disk: PowerMount) -> None:
    path = disk.path / "f"
    write_file(path, b"durable", sync=True)
    fsync_dir(disk.path)
    fd = os.open(path, os.O_WRONLY)
    os.pwrite(fd, b"LOST", 0)
    os.pwrite(fd, b" and more", 7)
    os.close(fd)
    assert path.read_bytes() == b"LOSTble and more"
    disk.power_cut()
    assert path.read_bytes() == b"durable"


def test_fsynced_data_is_kept(disk: PowerMount) -> None:
    path = disk.path / "f"
    write_file(path, b"one", sync=True)
    fsync_dir(disk.path)
    fd = os.open(path, os.O_WRONLY)
    os.pwrite(fd, b"two, longer", 0)
    os.fdatasync(fd)
    os.close(fd)
    disk.power_cut()
    assert path.read_bytes() == b"two, longer"


def test_a_synced_new_file_whose_directory_was_not_synced_loses_its_name(
    disk: PowerMount,
) -> None:
    (disk.path / "sub").mkdir()
    fsync_dir(disk.path)
    write_file(disk.path / "sub" / "new", b"data", sync=True)
    disk.power_cut()
    assert os.listdir(disk.path / "sub") == []
    write_file(disk.path / "sub" / "new", b"data", sync=True)
    fsync_dir(disk.path / "sub")
    disk.power_cut()
    assert (disk.path / "sub" / "new").read_bytes() == b"data"


def test_a_new_directory_needs_its_parent_synced(disk: PowerMount) -> None:
    (disk.path / "sub").mkdir()
    write_file(disk.path / "sub" / "f", b"x", sync=True)
    fsync_dir(disk.path / "sub")
    disk.power_cut()
    assert os.listdir(disk.path) == []


def test_a_rename_not_covered_by_a_directory_sync_is_undone(disk: PowerMount) -> None:
    target = disk.path / "meta"
    write_file(target, b"old", sync=True)
    fsync_dir(disk.path)
    write_file(disk.path / "meta.tmp", b"new", sync=True)
    os.replace(disk.path / "meta.tmp", target)
    assert target.read_bytes() == b"new"
    disk.power_cut()
    assert sorted(os.listdir(disk.path)) == ["meta"]
    assert target.read_bytes() == b"old"
    # and with the directory synced, the rename stands
    write_file(disk.path / "meta.tmp", b"new", sync=True)
    os.replace(disk.path / "meta.tmp", target)
    fsync_dir(disk.path)
    disk.power_cut()
    assert sorted(os.listdir(disk.path)) == ["meta"]
    assert target.read_bytes() == b"new"


def test_unlinks_come_back_unless_the_directory_is_synced(disk: PowerMount) -> None:
    for name in ("a", "b"):
        write_file(disk.path / name, name.encode(), sync=True)
    fsync_dir(disk.path)
    (disk.path / "a").unlink()
    disk.power_cut()
    assert sorted(os.listdir(disk.path)) == ["a", "b"]
    (disk.path / "a").unlink()
    fsync_dir(disk.path)
    disk.power_cut()
    assert sorted(os.listdir(disk.path)) == ["b"]


def test_random_mode_keeps_pages_out_of_order(disk: PowerMount) -> None:
    """Some seed keeps a later page's new bytes and loses an earlier page's: not a prefix."""
    path = disk.path / "f"
    pages = 8
    write_file(path, b"o" * PAGE * pages, sync=True)
    fsync_dir(disk.path)
    seen: set[str] = set()
    for seed in range(12):
        fd = os.open(path, os.O_WRONLY)
        os.pwrite(fd, b"n" * PAGE * pages, 0)  # one write of many pages
        os.close(fd)
        disk.power_cut("random", seed)
        data = path.read_bytes()
        assert len(data) == PAGE * pages
        state = "".join(chr(data[i * PAGE]) for i in range(pages))
        assert all(
            data[i * PAGE : (i + 1) * PAGE] == state[i].encode() * PAGE for i in range(pages)
        )
        seen.add(state)
        if "no" in state:  # a new page before an old one: the write was not kept as a prefix
            break
    assert any("no" in s for s in seen), seen


def test_mmap_reads_see_pwrites(disk: PowerMount) -> None:
    path = disk.path / "vectors"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.pwrite(fd, b"a" * (2 * PAGE), 0)
        reader = os.open(path, os.O_RDONLY)
        with mmap.mmap(reader, 2 * PAGE, prot=mmap.PROT_READ) as view:
            assert view[:4] == b"aaaa"
            os.pwrite(fd, b"bb", PAGE + 10)
            assert view[PAGE + 9 : PAGE + 13] == b"abba"
            os.pwrite(fd, b"c" * PAGE, 2 * PAGE)  # an append, then a bigger map
        with mmap.mmap(reader, 3 * PAGE, prot=mmap.PROT_READ) as view:
            assert view[2 * PAGE : 2 * PAGE + 3] == b"ccc"
        os.close(reader)
    finally:
        os.close(fd)


def test_what_zoro_uses(disk: PowerMount) -> None:
    path = disk.path / "f"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    with pytest.raises(FileExistsError):
        os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    os.posix_fallocate(fd, 0, 3 * PAGE)
    assert os.fstat(fd).st_size == 3 * PAGE
    os.pwrite(fd, b"abc", 10)
    os.ftruncate(fd, 12)
    assert os.pread(fd, 100, 0) == bytes(10) + b"ab"
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    other = os.open(path, os.O_RDONLY)
    with pytest.raises(BlockingIOError):
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.close(other)
    path.unlink()  # still open: still readable and writable
    assert os.listdir(disk.path) == []
    os.pwrite(fd, b"z", 0)
    assert os.pread(fd, 3, 0) == b"z\0\0"
    os.fsync(fd)
    os.close(fd)
    assert os.statvfs(disk.path).f_bavail > 0
    (disk.path / "d").mkdir()
    (disk.path / "d").rmdir()
    with pytest.raises(FileExistsError):
        (disk.path / "e").mkdir() or (disk.path / "e").mkdir()


def test_the_gate_holds_fsyncs_until_it_opens(disk: PowerMount) -> None:
    path = disk.path / "f"
    write_file(path, b"x", sync=False)
    disk.close_gate()
    done = threading.Event()

    def sync() -> None:
        fd = os.open(path, os.O_WRONLY)
        os.fsync(fd)
        os.close(fd)
        done.set()

    thread = threading.Thread(target=sync)
    thread.start()
    try:
        assert disk.wait_held(1)
        assert not done.wait(0.3)
        assert path.read_bytes() == b"x"  # reads go on meanwhile
    finally:
        disk.open_gate()
        thread.join(10)
    assert done.is_set()


def test_without_fuse_the_reason_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.powerloss import mount

    real_exists = os.path.exists
    monkeypatch.setattr(os.path, "exists", lambda p: p != "/dev/fuse" and real_exists(p))
    mount.fuse_unavailable.cache_clear()
    try:
        assert mount.fuse_unavailable() == "no /dev/fuse on this machine"
    finally:
        mount.fuse_unavailable.cache_clear()
