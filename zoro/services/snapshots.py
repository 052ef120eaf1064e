"""Collection snapshots in Qdrant's shapes (zoro.storage.snapshots has the archive):

    POST   /collections/{c}/snapshots              take one: {"name", "creation_time", "size",
                                                   "checksum"}
    GET    /collections/{c}/snapshots              list them, oldest first
    GET    /collections/{c}/snapshots/{snapshot}   download the archive
    DELETE /collections/{c}/snapshots/{snapshot}   delete it
    PUT    /collections/{c}/snapshots/recover      {"location": ..., "checksum": ...}: replace
                                                   (or create) collection c from an archive
    POST   /collections/{c}/snapshots/upload       the same, from an archive in the request body
                                                   (multipart field `snapshot`, as Qdrant's, or
                                                   the raw bytes); ?checksum= checked too

Full-storage snapshots (every collection and the aliases, in one archive):

    POST   /snapshots                take one        GET    /snapshots           list them
    GET    /snapshots/{snapshot}     download it     DELETE /snapshots/{snapshot}  delete it
    POST   /snapshots/upload         Zoro's own: restore every collection in the archive (each
                                     replaces the one of its name) and its aliases

Archives live in <data>/snapshots/<collection>/, full-storage ones in <data>/snapshots/.
Uploads and downloads are streamed: an archive is never whole in memory. Taking one waits
only for a checkpoint and hard links (the actor), then writes the archive in a worker thread
while writes go on. A recover location is an http(s) URL (fetched into the snapshots
directory first), or a file under the snapshots directory (a file:// URL, an absolute path,
or a path relative to that directory).
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
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from zoro.actors import CreateAlias, snapshots
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
    from collections.abc import AsyncIterator

    from zoro.actors.snapshots import SnapshotInfo
    from zoro.services.context import Context

FETCH_TIMEOUT_S = 600.0
UPLOAD_WRITE_BYTES = 4 << 20
ARCHIVE_TYPE = b"application/octet-stream"


# ------------------------------------------------------------------ full-storage snapshots


async def create_full(ctx: Context) -> dict[str, Any]:
    """A snapshot of every collection that serves, and the aliases, in one archive."""
    actors = [ctx.manager.serving(name) for name in ctx.manager.names()]
    root = ctx.manager.snapshots_dir()
    try:
        info = await snapshots.take_storage(actors, ctx.manager.aliases(), root)
    except OSError as exc:
        raise storage_error(exc, "taking a full-storage snapshot") from exc
    return shown(info)


async def list_full(ctx: Context) -> list[dict[str, Any]]:
    return [shown(info) for info in await snapshots.archives(ctx.manager.snapshots_dir())]


def download_full(ctx: Context, snapshot: str) -> tuple[bytes, Path]:
    return ARCHIVE_TYPE, _archive(ctx, None, snapshot)


async def delete_full(ctx: Context, snapshot: str) -> bool:
    return await _delete(_archive(ctx, None, snapshot), snapshot)


async def upload_full(
    ctx: Context, body: AsyncIterator[bytes], content_type: str, checksum: str | None
) -> dict[str, Any]:
    """Restore every collection of a full-storage snapshot in the body (each replaces the one
    of its name; the others are left alone) and then its aliases. The whole archive is
    checked first: a damaged one changes nothing."""
    archive = await _received(ctx, body, content_type)
    try:
        await _check_sum(archive, checksum, "query parameter checksum")
        try:
            manifest = await snapshots.verify_storage(archive)
        except CorruptionError as exc:
            raise SnapshotDamaged("the uploaded archive", exc.message) from None
        for name in manifest.collections:
            member = archive.with_name(f"{archive.name}.{uuid.uuid4().hex}.tmp")
            try:
                await snapshots.extract_collection(archive, name, member)
                await _restore(ctx, name, member)
            finally:
                await _unlink(member)
        await ctx.manager.change_aliases(
            [CreateAlias(alias, target) for alias, target in manifest.aliases.items()]
        )
    finally:
        await _unlink(archive)
    return {"collections": sorted(manifest.collections), "aliases": manifest.aliases}


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


def download(ctx: Context, name: str, snapshot: str) -> tuple[bytes, Path]:
    """The archive to send (the HTTP layer streams the file)."""
    return ARCHIVE_TYPE, _archive(ctx, name, snapshot)


async def delete(ctx: Context, name: str, snapshot: str) -> bool:
    return await _delete(_archive(ctx, name, snapshot), snapshot)


async def _delete(path: Path, snapshot: str) -> bool:
    try:
        removed = await snapshots.remove(path)
    except OSError as exc:
        raise storage_error(exc, f"deleting snapshot {snapshot}") from exc
    if not removed:
        raise _missing(snapshot)
    return True


def _archive(ctx: Context, name: str | None, snapshot: str) -> Path:
    """Collection `name`'s archive `snapshot` (None: a full-storage one); 404 for a name that
    is a path or not an archive's."""
    collection = None if name is None else ctx.manager.serving(name).entry.name
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
        await _check_sum(archive, request.get("checksum"), "checksum")
        await _restore(ctx, name, archive)
    finally:
        if fetched:
            await _unlink(archive)
    return True


async def upload(
    ctx: Context, name: str, body: AsyncIterator[bytes], content_type: str, checksum: str | None
) -> bool:
    """Replace (or create) collection `name` from the archive in the request body."""
    archive = await _received(ctx, body, content_type)
    try:
        await _check_sum(archive, checksum, "query parameter checksum")
        await _restore(ctx, name, archive)
    finally:
        await _unlink(archive)
    return True


async def _check_sum(archive: Path, wanted: str | None, field: str) -> None:
    if wanted is not None:
        info = await snapshots.described(archive)
        if info.checksum != wanted.lower():
            raise rules.SNAPSHOT_CHECKSUM.error(field, f"the archive's SHA-256 is {info.checksum}")


async def _restore(ctx: Context, name: str, archive: Path) -> None:
    try:
        await ctx.manager.restore(name, archive)
    except CorruptionError as exc:
        raise SnapshotDamaged(archive.name, exc.message) from None


async def _unlink(path: Path) -> None:
    await trio.to_thread.run_sync(functools.partial(path.unlink, missing_ok=True))


async def _received(ctx: Context, body: AsyncIterator[bytes], content_type: str) -> Path:
    """The uploaded archive, written under the snapshots directory as it arrives: the part
    named `snapshot` of a multipart/form-data body (or its only file part), else the whole
    body. Raises SnapshotDamaged for a multipart body without one."""
    root = ctx.manager.snapshots_dir()
    target = root / f".download-{uuid.uuid4().hex}{snapshots.SUFFIX}"
    await trio.to_thread.run_sync(functools.partial(root.mkdir, parents=True, exist_ok=True))
    kind, options = parse_options_header(content_type)
    chunks = body if kind != "multipart/form-data" else _form_file(body, options)
    try:
        async with await trio.open_file(target, "wb") as out:
            pending: list[bytes] = []
            size = 0
            async for chunk in chunks:
                pending.append(chunk)
                size += len(chunk)
                if size >= UPLOAD_WRITE_BYTES:  # one thread hop per few MB, not per chunk
                    await out.write(b"".join(pending))
                    pending, size = [], 0
            await out.write(b"".join(pending))
    except BaseException:
        await _unlink(target)
        raise
    return target


async def _form_file(body: AsyncIterator[bytes], options: dict[str, str]) -> AsyncIterator[bytes]:
    """The bytes of the form's `snapshot` part (or its first file part)."""
    boundary = options.get("boundary")
    if not boundary:
        raise SnapshotDamaged("the uploaded form", "its content type names no boundary")
    decoder = MultipartDecoder(boundary.encode("latin-1"))
    taking, found, done = False, False, False
    async for chunk in body:
        decoder.receive_data(chunk)
        while not done:
            event = decoder.next_event()
            if isinstance(event, NeedData):
                break
            if isinstance(event, File | Field):
                taking = not found and (event.name == "snapshot" or isinstance(event, File))
                found = found or taking
            elif isinstance(event, Data):
                if taking:
                    yield event.data
                    taking = event.more_data
            elif isinstance(event, Epilogue):
                done = True
    if not found:
        raise SnapshotDamaged("the uploaded form", "it has no `snapshot` file part")


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
