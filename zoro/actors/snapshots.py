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
from zoro.storage.snapshots import SUFFIX, SnapshotInfo, StorageManifest, valid_name

if TYPE_CHECKING:
    from pathlib import Path

    from zoro.actors.actor import CollectionActor

__all__ = [
    "SUFFIX",
    "SnapshotInfo",
    "StorageManifest",
    "archives",
    "described",
    "extract_collection",
    "remove",
    "take",
    "take_storage",
    "valid_name",
    "verify_storage",
]


async def take(actor: CollectionActor, directory: Path) -> SnapshotInfo:
    """A snapshot of the actor's collection, as of a checkpoint taken now, into `directory`."""
    staging = directory / f".staging-{uuid.uuid4().hex}"
    try:
        await trio.to_thread.run_sync(
            functools.partial(directory.mkdir, parents=True, exist_ok=True)
        )
        paths, lsn = await actor.link_snapshot(staging)
        name = archive_files.new_name(actor.entry.name, lsn)
        target = await trio.to_thread.run_sync(_free_name, directory, name)
        return await trio.to_thread.run_sync(
            archive_files.pack, staging, paths, actor.entry.to_json(), lsn, target
        )
    finally:
        await trio.to_thread.run_sync(functools.partial(shutil.rmtree, staging, True))


async def take_storage(
    actors: list[CollectionActor], aliases: dict[str, str], root: Path
) -> SnapshotInfo:
    """A full-storage snapshot into `root`: a snapshot of each actor's collection (each at a
    checkpoint of its own, taken one after another), then one archive of them all with the
    aliases."""
    staging = root / f".staging-{uuid.uuid4().hex}"
    try:
        archives = {}
        for actor in actors:
            info = await take(actor, staging)
            archives[actor.entry.name] = staging / info.name
        target = await trio.to_thread.run_sync(_free_name, root, archive_files.new_storage_name())
        return await trio.to_thread.run_sync(archive_files.pack_storage, archives, aliases, target)
    finally:
        await trio.to_thread.run_sync(functools.partial(shutil.rmtree, staging, True))


async def verify_storage(path: Path) -> StorageManifest:
    """Check a full-storage snapshot whole (CorruptionError names the first bad part)."""
    return await trio.to_thread.run_sync(archive_files.verify_storage, path)


async def extract_collection(archive: Path, name: str, target: Path) -> None:
    await trio.to_thread.run_sync(archive_files.extract_collection, archive, name, target)


def _free_name(directory: Path, name: str) -> Path:
    """`directory / name`, or with a suffix when taken (a second one in the same second)."""
    base = name.removesuffix(SUFFIX)
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


async def remove(path: Path) -> bool:
    """Delete an archive and its checksum file; False if there was none."""
    return await trio.to_thread.run_sync(archive_files.remove, path)
