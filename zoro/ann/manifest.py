"""The index directory's manifest: which sealed segment files make up the persisted index.

    <collection>/ann/
        manifest                 JSON, replaced atomically (temp, fsync, rename, fsync dir)
        seg-0000000007.zann      sealed segments (format in zoro.ann.files), never rewritten
        seg-0000000009.zann.tmp  a file being written, or cut short by a crash; never read

Manifest (orjson):

    {"format": "zoro-ann-manifest", "version": 2, "dimension": 128, "distance": "Cosine",
     "valid_slot_limit": 120000, "files": 2,
     "segments": [{"file": "seg-0000000007.zann", "kind": "hnsw", "count": 100000,
                   "min_slot": 0, "max_slot": 99999}, ...]}

A segment is listed only if every slot it holds is below `valid_slot_limit`: storage made those
slots durable before the checkpoint, and a durable slot's vector never changes, so the file stays
right whatever happens later. (A slot above the limit could be handed out again, with another
vector, when the WAL is replayed after a crash.) Deleted points are not in the manifest: open()
learns them from the storage's live slots.

`files` is the storage's file generation the slots are numbered in (version 2; a manifest
without it, version 1, is generation 0's and is still written so). Compaction renumbers slots
in a new generation, so a manifest of another generation is not used (the index is rebuilt from
storage); a reader that predates it never opens a compacted collection at all (storage's meta
refuses it by version first).

Only the checkpoint writes here (seal jobs write nothing), and one checkpoint runs at a time.
A CheckpointPlan writes the sealed segments not yet on disk, then the manifest, then deletes
every segment file that neither the new manifest lists nor the index still knows as its own
(`keep`). Files are named on the event loop, from a sequence that starts above every file in
the directory, so a name is never reused.
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
    from collections.abc import Callable
    from pathlib import Path

    from zoro.ann.engine import AnnEngine

log = logging.getLogger(__name__)

MANIFEST_NAME: Final = "manifest"
FORMAT: Final = "zoro-ann-manifest"
VERSION: Final = 2  # 2 adds "files"; a manifest of file generation 0 is still written as 1
_READS: Final = (1, 2)
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
    files: int = 0  # the storage file generation the slots belong to

    def encode(self) -> bytes:
        doc = {
            "format": FORMAT,
            "version": VERSION if self.files else 1,
            "dimension": self.dimension,
            "distance": self.distance.value,
            "valid_slot_limit": self.valid_slot_limit,
            **({"files": self.files} if self.files else {}),
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
    if doc["format"] != FORMAT or doc["version"] not in _READS:
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
        int(doc["dimension"]),
        Distance(doc["distance"]),
        int(doc["valid_slot_limit"]),
        segments,
        int(doc.get("files", 0)),
    )


@dataclass(frozen=True, slots=True)
class SegmentWrite:
    """A sealed segment the plan persists: `engine` must not change until the plan is done
    (sealed engines never change). `written(entry)` is called once its file is durable."""

    engine: AnnEngine
    entry: ManifestEntry
    written: Callable[[ManifestEntry], None]


@dataclass(frozen=True, slots=True)
class CheckpointPlan:
    """What one checkpoint writes and deletes; `run()` is plain I/O, safe in a worker thread."""

    directory: Path
    manifest: Manifest
    writes: tuple[SegmentWrite, ...]  # listed segments not on disk yet
    keep: frozenset[str]  # files the index may still list later: never deleted here

    def run(self) -> list[str]:
        """Write the new segment files and the manifest (each crash-safely), then delete the
        segment files (and temp files) that are neither listed nor kept.

        Returns the names deleted. Raises StorageError/StorageFull if a segment or the manifest
        cannot be written; nothing is deleted then, and the previous manifest still stands
        (segment files written before the failure are remembered and not written again).
        A file that cannot be deleted is only logged.
        """
        for write in self.writes:
            write.engine.save(self.directory / write.entry.file)  # temp, fsync, rename, fsync
            write.written(write.entry)
        try:
            atomic_write(self.directory / MANIFEST_NAME, self.manifest.encode())
        except OSError as exc:
            raise storage_error(exc, "writing the ANN manifest") from exc
        wanted = {e.file for e in self.manifest.segments} | self.keep
        deleted = []
        for path in sorted(self.directory.iterdir()):
            if segment_seq(path.name) is None or path.name in wanted:
                continue
            try:
                path.unlink()
            except OSError as exc:
                log.warning("could not delete old ANN segment %s: %s", path, exc)
            else:
                deleted.append(path.name)
        return deleted
