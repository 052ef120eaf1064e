"""<collection>/meta: the checkpoint record of one collection (JSON, CRC, atomic replace).

Replacing this file is the commit point of a checkpoint. It names the generation of the point
index files and says how long every append-only file was at that instant; on open, bytes past
those lengths were written after the checkpoint and are cut off (the WAL re-applies them).

    format, version        "zoro-collection-meta", 3 (versions 1 and 2 are read too)
    files                  the file generation: k >= 1 = the files are under files.<k>/ (written
                           by compaction, docs/compaction.md); absent = 0, in the collection
                           directory, and then the file is written as version 2
    dense                  {"<number>": size} of every dense vector: source/vectors[.<n>] and
                           source/present.<n> hold `slots` rows each
    sparse                 {"<number>": bytes} of every sparse vector: length of source/sparse.<n>
    multi                  {"<number>": [size, bytes]} of every multivector: its row size and the
                           length of source/multi.<n>
    generation             names index/points.<generation>
    checkpoint_lsn         every WAL record at or below it is in the files
    slots                  slot count = rows of each dense vector file = entries in index/slots
    slots_crc32            running CRC32 of all index/slots entry bytes
    payload_bytes          length of source/payloads
    live, garbage          live points; slots no longer live (replaced or deleted)
    upserts_total, deletes_total   points written / deleted over the collection's life

Version 2 had no `files`: it reads as generation 0. Version 1 had `dimension` for the one
vector (number 0) and no presence files: it reads as dense {0: dimension} with
`presence_files` False (every slot carries vector 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from zoro import checked_json
from zoro.errors import CorruptionError

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

FORMAT: Final = "zoro-collection-meta"
VERSION: Final = 3
_READS: Final = (1, 2, 3)


@dataclass(frozen=True, slots=True)
class CollectionMeta:
    dense: Mapping[int, int]  # dense vector number -> size
    generation: int
    checkpoint_lsn: int
    slots: int
    slots_crc32: int
    payload_bytes: int
    live: int
    upserts_total: int
    deletes_total: int
    sparse: Mapping[int, int] = field(default_factory=lambda: MappingProxyType({}))  # -> bytes
    multi: Mapping[int, tuple[int, int]] = field(default_factory=lambda: MappingProxyType({}))
    presence_files: bool = True  # False: written by version 1, every slot has vector 0
    files: int = 0  # the file generation (version 3); 0 for what versions 1 and 2 wrote

    @property
    def garbage(self) -> int:
        return self.slots - self.live


_INT_FIELDS: Final = (
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
    data.update(
        format=FORMAT,
        version=VERSION if meta.files else 2,  # uncompacted: what version 2 readers open
        garbage=meta.garbage,
        dense={str(n): size for n, size in sorted(meta.dense.items())},
        sparse={str(n): end for n, end in sorted(meta.sparse.items())},
        multi={str(n): [size, end] for n, (size, end) in sorted(meta.multi.items())},
    )
    if meta.files:
        data["files"] = meta.files
    checked_json.write(path, data)


def read(path: Path) -> CollectionMeta:
    """Raises OSError if missing or unreadable, CorruptionError if damaged or inconsistent."""
    data = checked_json.read(path)
    version = checked_json.check_version(data, path, _READS, kind=FORMAT)
    values = {name: checked_json.field(data, name, int, path) for name in _INT_FIELDS}
    if version == 1:
        dense = {0: checked_json.field(data, "dimension", int, path)}
        sparse: dict[int, int] = {}
        multi: dict[int, tuple[int, int]] = {}
    else:
        dense = _numbers(checked_json.field(data, "dense", dict, path), path)
        sparse = _numbers(checked_json.field(data, "sparse", dict, path), path)
        multi = _pairs(checked_json.field(data, "multi", dict, path), path)
    meta = CollectionMeta(
        dense=MappingProxyType(dense),
        sparse=MappingProxyType(sparse),
        multi=MappingProxyType(multi),
        presence_files=version >= 2,
        files=checked_json.field(data, "files", int, path) if version >= 3 else 0,
        **values,
    )
    if min(values.values()) < 0 or meta.files < 0 or meta.live > meta.slots:
        raise CorruptionError(str(path), 0, "inconsistent counters")
    sizes = [*dense.values(), *sparse.values(), *(v for pair in multi.values() for v in pair)]
    numbers = [*dense, *sparse, *multi]
    if len(set(numbers)) != len(numbers) or min([*sizes, 1]) < 0:
        raise CorruptionError(str(path), 0, "inconsistent vector numbers")
    return meta


def _numbers(raw: dict[str, object], path: Path) -> dict[int, int]:
    out: dict[int, int] = {}
    for key, value in raw.items():
        if not key.isdigit() or type(value) is not int:
            raise CorruptionError(str(path), 0, f"bad vector entry {key!r}: {value!r}")
        out[int(key)] = value
    return out


def _pairs(raw: dict[str, object], path: Path) -> dict[int, tuple[int, int]]:
    out: dict[int, tuple[int, int]] = {}
    for key, value in raw.items():
        if (
            not key.isdigit()
            or not isinstance(value, list)
            or len(value) != 2
            or any(type(v) is not int for v in value)
        ):
            raise CorruptionError(str(path), 0, f"bad multivector entry {key!r}: {value!r}")
        out[int(key)] = (value[0], value[1])
    return out
