"""Snapshot archives of one collection, for the services: the actor takes the checkpoint and the
hard links (`CollectionActor.link_snapshot`), the archive is packed in a worker thread while
writes go on (zoro.storage.snapshots has the format); listing, reading and deleting them.

Archives live in `CollectionManager.snapshots_dir(collection)`; blocking work runs in worker
threads. Raises OSError (the caller names the operation)."""

from __future__ import annotations

import functools
import shutil
import uuid
from typing import TYPE_CHECKING

import trio

from zoro.storage import snapshots as archive_files
from zoro.storage.snapshots import SUFFIX, SnapshotInfo, valid_name

if TYPE_CHECKING:
    from pathlib import Path

    from zoro.actors.actor import CollectionActor

__all__ = [
    "SUFFIX",
    "SnapshotInfo",
    "archives",
    "described",
    "read",
    "remove",
    "take",
    "valid_name",
]


async def take(actor: CollectionActor, directory: Path) -> SnapshotInfo:
    """A snapshot of the actor's collection, as of a checkpoint taken now, into `directory`."""
    staging = directory / f".staging-{uuid.uuid4().hex}"
    try:
        await trio.to_thread.run_sync(
            functools.partial(directory.mkdir, parents=True, exist_ok=True)
        )
        paths, lsn = await actor.link_snapshot(staging)
        target = await trio.to_thread.run_sync(_free_name, directory, actor.entry.name, lsn)
        return await trio.to_thread.run_sync(
            archive_files.pack, staging, paths, actor.entry.to_json(), lsn, target
        )
    finally:
        await trio.to_thread.run_sync(functools.partial(shutil.rmtree, staging, True))


def _free_name(directory: Path, collection: str, lsn: int) -> Path:
    """Qdrant's name for a new archive; a second one in the same second gets a suffix."""
    base = archive_files.new_name(collection, lsn).removesuffix(SUFFIX)
    target = directory / (base + SUFFIX)
    n = 1
    while target.exists():
        n += 1
        target = directory / f"{base}-{n}{SUFFIX}"
    return target


async def archives(directory: Path) -> list[SnapshotInfo]:
    """The archives in `directory`, oldest first."""
    return await trio.to_thread.run_sync(archive_files.listed, directory)


async def described(path: Path) -> SnapshotInfo:
    return await trio.to_thread.run_sync(archive_files.describe, path)


async def read(path: Path) -> bytes:
    """An archive's bytes, whole. Raises FileNotFoundError for none."""
    return await trio.to_thread.run_sync(path.read_bytes)


async def remove(path: Path) -> bool:
    """Delete an archive and its checksum file; False if there was none."""
    return await trio.to_thread.run_sync(archive_files.remove, path)
