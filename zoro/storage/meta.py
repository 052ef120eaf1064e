"""<collection>/meta: the checkpoint record of one collection (JSON, CRC, atomic replace).

Replacing this file is the commit point of a checkpoint. It names the generation of the point
index files and says how long every append-only file was at that instant; on open, bytes past
those lengths were written after the checkpoint and are cut off (the WAL re-applies them).

    format, version        "zoro-collection-meta", 1
    dimension              vector dimension (must match the catalog)
    generation             names index/points.<generation>
    checkpoint_lsn         every WAL record at or below it is in the files
    slots                  slot count = rows in source/vectors = entries in index/slots
    slots_crc32            running CRC32 of all index/slots entry bytes
    payload_bytes          length of source/payloads
    live, garbage          live points; slots no longer live (replaced or deleted)
    upserts_total, deletes_total   points written / deleted over the collection's life
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from zoro import checked_json
from zoro.errors import CorruptionError

if TYPE_CHECKING:
    from pathlib import Path

FORMAT: Final = "zoro-collection-meta"
VERSION: Final = 1


@dataclass(frozen=True, slots=True)
class CollectionMeta:
    dimension: int
    generation: int
    checkpoint_lsn: int
    slots: int
    slots_crc32: int
    payload_bytes: int
    live: int
    upserts_total: int
    deletes_total: int

    @property
    def garbage(self) -> int:
        return self.slots - self.live


_INT_FIELDS: Final = (
    "dimension",
    "generation",
    "checkpoint_lsn",
    "slots",
    "slots_crc32",
    "payload_bytes",
    "live",
    "upserts_total",
    "deletes_total",
)


def write(path: Path, meta: CollectionMeta) -> None:
    """Replace meta durably: this is the checkpoint's commit point. Raises OSError."""
    data: dict[str, object] = {name: getattr(meta, name) for name in _INT_FIELDS}
    data.update(format=FORMAT, version=VERSION, garbage=meta.garbage)
    checked_json.write(path, data)


def read(path: Path) -> CollectionMeta:
    """Raises OSError if missing or unreadable, CorruptionError if damaged or inconsistent."""
    data = checked_json.read(path)
    checked_json.check_version(data, path, VERSION, kind=FORMAT)
    values = {name: checked_json.field(data, name, int, path) for name in _INT_FIELDS}
    meta = CollectionMeta(**values)
    if min(values.values()) < 0 or meta.live > meta.slots:
        raise CorruptionError(str(path), 0, "inconsistent counters")
    return meta
