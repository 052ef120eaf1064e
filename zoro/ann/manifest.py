"""The index directory's manifest: which sealed segment files make up the persisted index.

    <collection>/ann/
        manifest                 JSON, replaced atomically (temp, fsync, rename, fsync dir)
        seg-0000000007.zann      sealed segments (format in zoro.ann.files), never rewritten
        seg-0000000009.zann.tmp  a build in progress or cut short by a crash; never read

Manifest (orjson):

    {"format": "zoro-ann-manifest", "version": 1, "dimension": 128, "distance": "Cosine",
     "valid_slot_limit": 120000,
     "segments": [{"file": "seg-0000000007.zann", "kind": "hnsw", "count": 100000,
                   "min_slot": 0, "max_slot": 99999}, ...]}

A segment is listed only if every slot it holds is below `valid_slot_limit`: storage made those
slots durable before the checkpoint, and a durable slot's vector never changes, so the file stays
right whatever happens later. (A slot above the limit could be handed out again, with another
vector, when the WAL is replayed after a crash.) Deleted points are not in the manifest: open()
learns them from the storage's live slots.

Garbage collection is by sequence number: files are numbered on the event loop in increasing
order, so a plan made at sequence N deletes only unreferenced files numbered below N, and a
build that started after the plan was made can never lose its file.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import orjson

from zoro.errors import storage_error
from zoro.fsutil import atomic_write
from zoro.types import Distance

if TYPE_CHECKING:
    from pathlib import Path

log = logging.getLogger(__name__)

MANIFEST_NAME: Final = "manifest"
FORMAT: Final = "zoro-ann-manifest"
VERSION: Final = 1
_SEGMENT_FILE: Final = re.compile(r"seg-(\d{10})\.zann(\.tmp)?")


def segment_file_name(seq: int) -> str:
    return f"seg-{seq:010d}.zann"


def segment_seq(name: str) -> int | None:
    """The sequence number of a segment file (or its temp file), None for other names."""
    match = _SEGMENT_FILE.fullmatch(name)
    return int(match.group(1)) if match else None


def next_seq(directory: Path) -> int:
    seqs = [s for p in directory.iterdir() if (s := segment_seq(p.name)) is not None]
    return max(seqs, default=0) + 1


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    file: str
    kind: str
    count: int
    min_slot: int
    max_slot: int


@dataclass(frozen=True, slots=True)
class Manifest:
    dimension: int
    distance: Distance
    valid_slot_limit: int
    segments: tuple[ManifestEntry, ...]

    def encode(self) -> bytes:
        doc = {
            "format": FORMAT,
            "version": VERSION,
            "dimension": self.dimension,
            "distance": self.distance.value,
            "valid_slot_limit": self.valid_slot_limit,
            "segments": [
                {
                    "file": e.file,
                    "kind": e.kind,
                    "count": e.count,
                    "min_slot": e.min_slot,
                    "max_slot": e.max_slot,
                }
                for e in self.segments
            ],
        }
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2)


def read_manifest(directory: Path) -> Manifest | None:
    """The manifest, or None if there is none or it cannot be used (logged: we rebuild)."""
    path = directory / MANIFEST_NAME
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("ANN manifest %s unreadable (%s); rebuilding the index", path, exc)
        return None
    try:
        return _decode(raw)
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("ANN manifest %s is damaged (%s); rebuilding the index", path, exc)
        return None


def _decode(raw: bytes) -> Manifest:
    doc = orjson.loads(raw)
    if doc["format"] != FORMAT or doc["version"] != VERSION:
        raise ValueError(f"unknown manifest format {doc['format']!r} v{doc['version']}")
    segments = tuple(
        ManifestEntry(
            str(e["file"]), str(e["kind"]), int(e["count"]), int(e["min_slot"]), int(e["max_slot"])
        )
        for e in doc["segments"]
    )
    for e in segments:
        if segment_seq(e.file) is None:  # never follow a path out of the directory
            raise ValueError(f"bad segment file name {e.file!r}")
    return Manifest(
        int(doc["dimension"]), Distance(doc["distance"]), int(doc["valid_slot_limit"]), segments
    )


@dataclass(frozen=True, slots=True)
class CheckpointPlan:
    """What one checkpoint writes and deletes; `run()` is plain I/O, safe in a worker thread."""

    directory: Path
    manifest: Manifest
    keep: frozenset[str]  # files still in use in memory when planned
    building: str | None  # the outstanding job's file: it and its temp file stay
    below_seq: int  # only files numbered below this are considered for deletion

    def run(self) -> list[str]:
        """Write the manifest atomically, then delete unreferenced segment files.

        Returns the names deleted. Raises StorageError/StorageFull if the manifest cannot be
        written (nothing is deleted then); a file that cannot be deleted is only logged.
        """
        try:
            atomic_write(self.directory / MANIFEST_NAME, self.manifest.encode())
        except OSError as exc:
            raise storage_error(exc, "writing the ANN manifest") from exc
        listed = {e.file for e in self.manifest.segments}
        deleted = []
        for path in sorted(self.directory.iterdir()):
            seq = segment_seq(path.name)
            if seq is None or seq >= self.below_seq:
                continue
            name = path.name
            if name == self.building or name.removesuffix(".tmp") == self.building:
                continue
            if name in listed or name in self.keep:
                continue
            try:
                path.unlink()
            except OSError as exc:
                log.warning("could not delete old ANN segment %s: %s", path, exc)
            else:
                deleted.append(path.name)
        return deleted
