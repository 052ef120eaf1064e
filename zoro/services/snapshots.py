"""Collection snapshots in Qdrant's shapes (zoro.storage.snapshots has the archive):

    POST   /collections/{c}/snapshots              take one: {"name", "creation_time", "size",
                                                   "checksum"}
    GET    /collections/{c}/snapshots              list them, oldest first
    GET    /collections/{c}/snapshots/{snapshot}   download the archive
    DELETE /collections/{c}/snapshots/{snapshot}   delete it
    PUT    /collections/{c}/snapshots/recover      {"location": ..., "checksum": ...}: replace
                                                   (or create) collection c from an archive

Archives live in <data>/snapshots/<collection>/. Taking one waits only for a checkpoint and hard
links (the actor), then writes the archive in a worker thread while writes go on. A recover
location is an http(s) URL (fetched into the snapshots directory first), or a file under the
snapshots directory (a file:// URL, an absolute path, or a path relative to that directory).
`wait=false` is accepted and answered as `wait=true`: the answer comes once it is done.
"""

from __future__ import annotations

import datetime as dt
import functools
import urllib.parse
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import trio

from zoro.actors import snapshots
from zoro.errors import (
    CorruptionError,
    NotFound,
    SnapshotDamaged,
    SnapshotFetchFailed,
    ZoroError,
    storage_error,
)
from zoro.wire import rules
from zoro.wire.check import check

if TYPE_CHECKING:
    from zoro.actors.snapshots import SnapshotInfo
    from zoro.services.context import Context

FETCH_TIMEOUT_S = 600.0


async def create(ctx: Context, name: str) -> dict[str, Any]:
    actor = ctx.manager.serving(name)
    collection = actor.entry.name  # an alias names the collection it points to
    try:
        info = await snapshots.take(actor, ctx.manager.snapshots_dir(collection))
    except OSError as exc:
        raise storage_error(exc, f"taking a snapshot of `{collection}`") from exc
    return shown(info)


async def list_all(ctx: Context, name: str) -> list[dict[str, Any]]:
    collection = ctx.manager.serving(name).entry.name
    return [shown(info) for info in await snapshots.archives(ctx.manager.snapshots_dir(collection))]


async def download(ctx: Context, name: str, snapshot: str) -> tuple[bytes, bytes]:
    """The archive's bytes (read whole: the response is not streamed yet)."""
    path = _archive(ctx, name, snapshot)
    try:
        data = await snapshots.read(path)
    except FileNotFoundError:
        raise _missing(snapshot) from None
    except OSError as exc:
        raise storage_error(exc, f"reading snapshot {snapshot}") from exc
    return b"application/octet-stream", data


async def delete(ctx: Context, name: str, snapshot: str) -> bool:
    path = _archive(ctx, name, snapshot)
    try:
        removed = await snapshots.remove(path)
    except OSError as exc:
        raise storage_error(exc, f"deleting snapshot {snapshot}") from exc
    if not removed:
        raise _missing(snapshot)
    return True


def _archive(ctx: Context, name: str, snapshot: str) -> Path:
    collection = ctx.manager.serving(name).entry.name
    if not snapshots.valid_name(snapshot):
        raise _missing(snapshot)  # a path or another file: never served
    return ctx.manager.snapshots_dir(collection) / snapshot


def _missing(snapshot: str) -> NotFound:
    return NotFound(f"Snapshot {snapshot} not found")


async def recover(ctx: Context, name: str, body: object) -> bool:
    """Replace (or create) collection `name` from the archive at `location`."""
    request = check("recover_snapshot", body, ctx.limits)
    location = str(request["location"])
    scheme = urllib.parse.urlsplit(location).scheme
    fetched = scheme in ("http", "https")
    if fetched:
        archive = await _fetch(ctx, location, request.get("api_key"))
    else:
        archive = _local(ctx, location)
    try:
        wanted = request.get("checksum")
        if wanted is not None:
            info = await snapshots.described(archive)
            if info.checksum != wanted.lower():
                raise rules.SNAPSHOT_CHECKSUM.error(
                    "checksum", f"the archive's SHA-256 is {info.checksum}"
                )
        try:
            await ctx.manager.restore(name, archive)
        except CorruptionError as exc:
            raise SnapshotDamaged(archive.name, exc.message) from None
    finally:
        if fetched:
            await trio.to_thread.run_sync(functools.partial(archive.unlink, missing_ok=True))
    return True


def _local(ctx: Context, location: str) -> Path:
    """A file location as a path under the snapshots directory (else the rule's 400), that
    exists (else 404)."""
    root = ctx.manager.snapshots_dir().resolve()
    parsed = urllib.parse.urlsplit(location)
    raw = urllib.parse.unquote(parsed.path) if parsed.scheme == "file" else location
    if parsed.scheme not in ("", "file"):
        raise rules.SNAPSHOT_LOCATION.error("location", f"unknown scheme {parsed.scheme!r}")
    path = Path(raw)
    path = (path if path.is_absolute() else root / path).resolve()
    if not path.is_relative_to(root) or path == root:
        raise rules.SNAPSHOT_LOCATION.error(
            "location", "a file must be under the server's snapshots directory"
        )
    if not path.is_file():
        raise _missing(location)
    return path


async def _fetch(ctx: Context, url: str, api_key: str | None) -> Path:
    """Download an archive into the snapshots directory (a worker thread)."""
    root = ctx.manager.snapshots_dir()
    target = root / f".download-{uuid.uuid4().hex}{snapshots.SUFFIX}"
    headers = {"api-key": api_key} if api_key else {}

    def fetch() -> None:
        root.mkdir(parents=True, exist_ok=True)
        with (
            httpx.stream(
                "GET", url, headers=headers, timeout=FETCH_TIMEOUT_S, follow_redirects=True
            ) as response,
            open(target, "wb") as out,
        ):
            if response.status_code == 404:
                raise _missing(url)
            response.raise_for_status()
            for chunk in response.iter_bytes(1 << 20):
                out.write(chunk)

    try:
        await trio.to_thread.run_sync(fetch)
    except ZoroError:
        target.unlink(missing_ok=True)
        raise
    except (httpx.HTTPError, OSError) as exc:
        target.unlink(missing_ok=True)
        raise SnapshotFetchFailed(f"fetching snapshot {url} failed: {exc}") from None
    return target


def shown(info: SnapshotInfo) -> dict[str, Any]:
    """Qdrant's SnapshotDescription."""
    created = dt.datetime.fromtimestamp(info.created_at, dt.UTC).replace(tzinfo=None)
    return {
        "name": info.name,
        "creation_time": created.isoformat(timespec="seconds"),
        "size": info.size,
        "checksum": info.checksum,
    }
