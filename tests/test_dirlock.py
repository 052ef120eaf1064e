"""DataDirLock: one owner per data directory, refused by name and PID, released by closing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from zoro.actors import CollectionManager
from zoro.dirlock import DataDirLock
from zoro.errors import DataDirInUse
from zoro.settings import Settings


def test_a_second_lock_is_refused_with_the_holders_pid(tmp_path: Path) -> None:
    data = tmp_path / "a" / "b" / "data"  # missing parents are made too
    with DataDirLock.acquire(data) as lock:
        assert lock.held
        assert (data / "LOCK").read_text() == f"{os.getpid()}\n"
        with pytest.raises(DataDirInUse) as refused:
            DataDirLock.acquire(data)
        assert refused.value.holder_pid == os.getpid()
        assert str(data) in refused.value.message
        assert f"process {os.getpid()}" in refused.value.message
    assert not lock.held
    DataDirLock.acquire(data).release()  # free again once released


def test_another_process_is_refused_and_a_dead_holder_frees_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from zoro.dirlock import DataDirLock; "
            "DataDirLock.acquire(Path(sys.argv[1])); print('held', flush=True); time.sleep(60)",
            str(data),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == b"held\n"
        with pytest.raises(DataDirInUse) as refused:
            DataDirLock.acquire(data)
        assert refused.value.holder_pid == holder.pid
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    DataDirLock.acquire(data).release()  # the kernel let go of the dead holder's lock


async def test_the_manager_refuses_a_locked_directory_before_reading_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with DataDirLock.acquire(data):
        manager = CollectionManager(data, Settings())
        with pytest.raises(DataDirInUse):
            await manager.run()
        assert not (data / "catalog").exists()
        assert not (data / "collections").exists()
