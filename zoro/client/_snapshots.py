"""Snapshots: take one, list, download, delete, and recover or upload a collection from one;
full-storage snapshots (every collection and the aliases) likewise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from zoro.client._base import ClientBase
from zoro.client._errors import ProtocolError

if TYPE_CHECKING:
    from pathlib import Path


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    name: str
    creation_time: str | None  # UTC, ISO 8601 without a zone
    size: int  # bytes
    checksum: str | None  # SHA-256 of the archive, hex


class SnapshotsMixin(ClientBase):
    async def create_snapshot(self, collection: str) -> SnapshotInfo:
        """A snapshot of `collection` as of a checkpoint taken now (writes go on meanwhile);
        the archive is kept on the server (<data>/snapshots/<collection>/)."""
        result = await self._call(collection, "POST", "/snapshots", idempotent=False)
        return _info(result)

    async def list_snapshots(self, collection: str) -> list[SnapshotInfo]:
        result = await self._call(collection, "GET", "/snapshots")
        if not isinstance(result, list):
            raise ProtocolError(f"unexpected snapshot list: {result!r:.200}")
        return [_info(item) for item in result]

    async def download_snapshot(self, collection: str, snapshot: str, file: Path) -> int:
        """Save the archive to `file` as it arrives; returns its size."""
        path = self._path(collection, f"/snapshots/{quote(snapshot, safe='')}")
        return await self._transport.download_to(path, file)

    async def upload_snapshot(
        self, collection: str, file: Path, *, checksum: str | None = None
    ) -> None:
        """Replace (or create) `collection` from the archive in the local `file`, sent as it
        is read. `checksum`: the archive's SHA-256, checked before anything changes."""
        params = {} if checksum is None else {"checksum": checksum}
        await self._transport.upload_from(self._path(collection, "/snapshots/upload"), file, params)
        self._forget(collection)

    async def delete_snapshot(self, collection: str, snapshot: str) -> None:
        await self._call(collection, "DELETE", f"/snapshots/{quote(snapshot, safe='')}")

    async def recover_snapshot(
        self, collection: str, location: str, *, checksum: str | None = None
    ) -> None:
        """Replace (or create) `collection` from the archive at `location`: an http(s) URL,
        or a path on the server under its snapshots directory (relative to it, or absolute).
        `checksum`: the archive's SHA-256, checked before anything changes."""
        body: dict[str, Any] = {"location": location}
        if checksum is not None:
            body["checksum"] = checksum
        await self._call(collection, "PUT", "/snapshots/recover", body, idempotent=False)
        self._forget(collection)

    async def create_full_snapshot(self) -> SnapshotInfo:
        """A snapshot of every collection and the aliases, in one archive on the server."""
        return _info(await self._transport.call("POST", "/snapshots", idempotent=False))

    async def list_full_snapshots(self) -> list[SnapshotInfo]:
        result = await self._transport.call("GET", "/snapshots")
        if not isinstance(result, list):
            raise ProtocolError(f"unexpected snapshot list: {result!r:.200}")
        return [_info(item) for item in result]

    async def download_full_snapshot(self, snapshot: str, file: Path) -> int:
        return await self._transport.download_to(f"/snapshots/{quote(snapshot, safe='')}", file)

    async def delete_full_snapshot(self, snapshot: str) -> None:
        await self._transport.call("DELETE", f"/snapshots/{quote(snapshot, safe='')}")

    async def upload_full_snapshot(
        self, file: Path, *, checksum: str | None = None
    ) -> dict[str, Any]:
        """Restore every collection in the full-storage snapshot `file` (each replaces the one
        of its name) and its aliases; returns {"collections": [...], "aliases": {...}}."""
        params = {} if checksum is None else {"checksum": checksum}
        result = await self._transport.upload_from("/snapshots/upload", file, params)
        if not isinstance(result, dict):
            raise ProtocolError(f"unexpected restore answer: {result!r:.200}")
        for name in result.get("collections", ()):
            self._forget(str(name))
        return result


def _info(raw: Any) -> SnapshotInfo:
    try:
        return SnapshotInfo(
            str(raw["name"]), raw.get("creation_time"), int(raw["size"]), raw.get("checksum")
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ProtocolError(f"unexpected snapshot description: {raw!r:.200}") from exc
