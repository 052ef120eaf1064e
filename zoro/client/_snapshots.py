"""Collection snapshots: take one, list, download, delete, and recover a collection from one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from zoro.client._base import ClientBase
from zoro.client._errors import ProtocolError


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

    async def download_snapshot(self, collection: str, snapshot: str) -> bytes:
        """The archive's bytes."""
        response = await self._transport.send(
            "GET", self._path(collection, f"/snapshots/{quote(snapshot, safe='')}")
        )
        return response.content

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


def _info(raw: Any) -> SnapshotInfo:
    try:
        return SnapshotInfo(
            str(raw["name"]), raw.get("creation_time"), int(raw["size"]), raw.get("checksum")
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ProtocolError(f"unexpected snapshot description: {raw!r:.200}") from exc
