"""Collection snapshots: one collection as of one checkpoint, in one archive file.

    <name>.snapshot     a tar archive (POSIX ustar/pax, uncompressed: vectors hardly compress)
        manifest.json   the first member: {"format": "zoro-snapshot", "version": 1,
                        "collection": <its catalog entry>, "checkpoint_lsn": n,
                        "created_at": unix seconds,
                        "files": {"<path in the collection directory>": {"size": n,
                                                                          "sha256": hex}}}
        data/<path>     each of those files, as it was linked

What a snapshot holds: every file of the collection directory that the checkpoint names (meta;
the file generation's source and index files; the payload index schema and files; the ANN
manifests and segments; the sparse index files), and not the WAL, temp files or other
generations. Append-only files may carry bytes written after the checkpoint (a link shares the
inode); opening the restored collection cuts them off at meta's lengths, as recovery always
does. The accelerators (ANN, payload and sparse index files) are whatever was persisted by
then; a missing or stale one is rebuilt from storage on open, so the snapshot is complete
without them and quicker to restore with them.

Taking one has two steps, so that writes wait only for the first: `link` hard-links those
files into a staging directory right after a checkpoint, while no apply runs (milliseconds:
no data is copied, and a later checkpoint or compaction deleting an original leaves the link);
`pack` then writes the archive from the links in a worker thread while writes go on, hashing as
it writes, and makes it durable (fsync, rename, fsync the directory).

Restoring: `verify` reads the whole archive once, checking every member against the manifest
(size and SHA-256) before anything is written: a damaged or truncated archive is refused with
its name and the first bad member. `unpack` then writes the files into an empty directory and
fsyncs them; the caller registers the collection and opens it like any other.

A full-storage snapshot is one more tar around those archives:

    full-snapshot-<UTC time>.snapshot
        manifest.json   {"format": "zoro-storage-snapshot", "version": 1, "created_at": ...,
                        "aliases": {alias: collection},
                        "collections": {name: {"size": n, "sha256": hex}}}
        collections/<name>.snapshot   each collection's archive, as above

(`pack_storage`, `verify_storage`, `extract_collection`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import shutil
import tarfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final, TypeVar

import orjson

from zoro.errors import CorruptionError
from zoro.fsutil import fsync_dir

from .generations import FILES, INDEX, META, SOURCE

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

M = TypeVar("M")

FORMAT: Final = "zoro-snapshot"
VERSION: Final = 1
MANIFEST: Final = "manifest.json"
DATA: Final = "data/"
SUFFIX: Final = ".snapshot"
CHECKSUM_SUFFIX: Final = ".checksum"
_CHUNK: Final = 1 << 20
_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}")
_SKIPPED_DIRS: Final = frozenset({"wal"})
STORAGE_FORMAT: Final = "zoro-storage-snapshot"
STORAGE_VERSION: Final = 1
COLLECTIONS: Final = "collections/"


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    """What GET .../snapshots lists (Qdrant's SnapshotDescription)."""

    name: str
    size: int
    created_at: float
    checksum: str  # SHA-256 of the whole archive file


@dataclass(frozen=True, slots=True)
class StorageManifest:
    """What a full-storage snapshot holds."""

    collections: dict[str, tuple[int, str]]  # name -> its archive's size and SHA-256
    aliases: dict[str, str]
    created_at: float


@dataclass(frozen=True, slots=True)
class Manifest:
    collection: dict[str, Any]  # the catalog entry (CollectionEntry.to_json)
    checkpoint_lsn: int
    created_at: float
    files: dict[str, tuple[int, str]]  # path -> (size, sha256)


def new_storage_name() -> str:
    """Qdrant's pattern for a full-storage snapshot: full-snapshot-<UTC time>.snapshot."""
    return f"full-snapshot-{time.strftime('%Y-%m-%d-%H-%M-%S', time.gmtime())}{SUFFIX}"


def valid_name(name: str) -> bool:
    """A snapshot name that is a plain file name (no path, no hidden file)."""
    return bool(_NAME.fullmatch(name)) and name.endswith(SUFFIX)


def new_name(collection: str, lsn: int) -> str:
    """Qdrant's pattern: <collection>-<lsn>-<UTC time>.snapshot."""
    stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime())
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", collection)[:100] or "collection"
    return f"{safe}-{lsn}-{stamp}{SUFFIX}"


def link(
    directory: Path, files_generation: int, lengths: dict[str, int], staging: Path
) -> dict[str, int]:
    """Hard-link every file of the collection in `directory` that a snapshot holds into
    `staging` (created here), keeping relative paths; return each path with the bytes of it
    the snapshot takes: `lengths` for the append-only files (their data as of the checkpoint:
    they are preallocated past it, and the preallocated zeros are written over later), the
    whole file for the others, which never change. Call right after a checkpoint, while no
    apply and no checkpoint runs. An accelerator file that vanishes while this runs (the index
    persister replaced it) is left out. Raises OSError."""
    keep_root = f"{FILES}.{files_generation}"
    staging.mkdir(parents=True)
    linked: dict[str, int] = {}
    for path in sorted(_walk(directory)):
        relative = path.relative_to(directory)
        top = relative.parts[0]
        if top in _SKIPPED_DIRS or path.name.endswith(".tmp"):
            continue
        if top.partition(".")[0] == FILES and top != keep_root:
            continue  # another file generation: debris, or one a compaction is writing
        if files_generation and top in (SOURCE, INDEX):
            continue  # generation 0's, replaced
        target = staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except FileNotFoundError:
            if top in (META, SOURCE, INDEX, keep_root):
                raise
            continue
        name = relative.as_posix()
        linked[name] = lengths.get(name, target.stat().st_size)
    if META not in linked:
        raise FileNotFoundError(f"{directory / META}: a collection without meta")
    return linked


def _walk(directory: Path) -> Iterator[Path]:
    for root, _, names in os.walk(directory):
        for name in names:
            yield Path(root) / name


def pack(
    staging: Path,
    paths: dict[str, int],
    collection: dict[str, Any],
    checkpoint_lsn: int,
    target: Path,
) -> SnapshotInfo:
    """Write the archive of the linked files (the first `paths[path]` bytes of each) to
    `target` durably (temp file, fsync, rename, fsync the directory), and its checksum file,
    then remove `staging`. Hashes the files first (the manifest leads the archive), then writes
    them; those bytes never change, so both passes read the same. Raises OSError."""
    files: dict[str, tuple[int, str]] = {}
    for relative, length in paths.items():
        files[relative] = _hashed(staging / relative, length)
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "collection": collection,
        "checkpoint_lsn": checkpoint_lsn,
        "created_at": time.time(),
        "files": {p: {"size": size, "sha256": digest} for p, (size, digest) in files.items()},
    }
    try:
        _write_tar(
            target, manifest, [(DATA + p, staging / p, size) for p, (size, _) in files.items()]
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return describe(target)


def pack_storage(archives: dict[str, Path], aliases: dict[str, str], target: Path) -> SnapshotInfo:
    """Write a full-storage snapshot of these collection archives and aliases to `target`,
    durably, with its checksum file. Raises OSError."""
    hashed = {name: _hashed(path) for name, path in archives.items()}
    manifest = {
        "format": STORAGE_FORMAT,
        "version": STORAGE_VERSION,
        "created_at": time.time(),
        "aliases": aliases,
        "collections": {
            n: {"size": size, "sha256": digest} for n, (size, digest) in hashed.items()
        },
    }
    members = [
        (COLLECTIONS + name + SUFFIX, path, hashed[name][0]) for name, path in archives.items()
    ]
    _write_tar(target, manifest, members)
    return describe(target)


def _write_tar(
    target: Path, manifest: dict[str, Any], members: list[tuple[str, Path, int]]
) -> None:
    """The manifest, then each (member name, file, its first n bytes), as a tar at `target`:
    written to a temp file, fsynced, renamed, the directory fsynced; then the checksum file."""
    raw = orjson.dumps(manifest, option=orjson.OPT_INDENT_2)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    try:
        with open(tmp, "wb") as out:
            with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
                _add(tar, MANIFEST, len(raw), io.BytesIO(raw))
                for name, path, size in members:
                    with open(path, "rb") as source:
                        _add(tar, name, size, source)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
        fsync_dir(target.parent)
        digest = _hashed(target)[1]
        target.with_name(target.name + CHECKSUM_SUFFIX).write_text(digest + "\n")
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def verify_storage(archive: Path) -> StorageManifest:
    """Check a full-storage snapshot whole: its manifest, then each collection archive's size
    and SHA-256 (`verify` checks each one's own files when it is restored). Raises
    CorruptionError naming the archive and the first bad member; OSError."""
    return _checked(
        archive,
        _storage_manifest,
        lambda m: {COLLECTIONS + name + SUFFIX: sums for name, sums in m.collections.items()},
    )


def extract_collection(archive: Path, name: str, target: Path) -> None:
    """Copy collection `name`'s archive out of a verified full-storage snapshot. Raises
    OSError, CorruptionError if it is not there."""
    with tarfile.open(archive, mode="r:") as tar:
        try:
            member = tar.getmember(COLLECTIONS + name + SUFFIX)
        except KeyError:
            raise CorruptionError(str(archive), 0, f"collection {name} is missing") from None
        source = tar.extractfile(member)
        if source is None:
            raise CorruptionError(str(archive), member.offset, f"{member.name} is not a file")
        with open(target, "wb") as out:
            shutil.copyfileobj(source, out, _CHUNK)


def _storage_manifest(raw: bytes, where: str) -> StorageManifest:
    try:
        doc = _document(raw, STORAGE_FORMAT, STORAGE_VERSION)
        collections = _sums(doc["collections"])
        aliases = {str(a): str(c) for a, c in dict(doc["aliases"]).items()}
        return StorageManifest(collections, aliases, float(doc["created_at"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise CorruptionError(where, 0, f"bad manifest: {exc}") from None


def _add(tar: tarfile.TarFile, name: str, size: int, data: IO[bytes]) -> None:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    info.mtime = int(time.time())
    tar.addfile(info, data)  # reads exactly `size` bytes


def _hashed(path: Path, length: int | None = None) -> tuple[int, str]:
    """Size and SHA-256 of the file's first `length` bytes (None: all of it)."""
    with open(path, "rb") as f:
        size, digest = _digest(f, length)
    if length is not None and size != length:
        raise OSError(f"{path} is shorter than its {length} bytes")
    return size, digest


def _digest(
    f: IO[bytes], length: int | None = None, sink: Callable[[bytes], object] | None = None
) -> tuple[int, str]:
    """Size and SHA-256 of what `f` gives, up to `length` bytes (None: to its end); each chunk
    handed to `sink` too."""
    digest = hashlib.sha256()
    size = 0
    while length is None or size < length:
        want = _CHUNK if length is None else min(_CHUNK, length - size)
        chunk = f.read(want)
        if not chunk:
            break
        digest.update(chunk)
        if sink is not None:
            sink(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


def describe(path: Path) -> SnapshotInfo:
    """Name, size, time and whole-file SHA-256 of an archive on disk; the checksum from the
    `<name>.checksum` file beside it when there is one (written by `pack`, as Qdrant does).
    Raises OSError."""
    stat = path.stat()
    try:
        digest = path.with_name(path.name + CHECKSUM_SUFFIX).read_text().strip()
    except FileNotFoundError:
        digest = _hashed(path)[1]
    return SnapshotInfo(path.name, stat.st_size, stat.st_mtime, digest)


def listed(directory: Path) -> list[SnapshotInfo]:
    """Every archive in `directory`, oldest first (none if the directory does not exist)."""
    try:
        names = sorted(p for p in directory.iterdir() if valid_name(p.name) and p.is_file())
    except FileNotFoundError:
        return []
    found = []
    for path in names:
        with contextlib.suppress(FileNotFoundError):  # deleted meanwhile
            found.append(describe(path))
    return sorted(found, key=lambda info: (info.created_at, info.name))


def remove_debris(root: Path) -> None:
    """Delete what snapshots cut short by a crash left under the snapshots directory `root`:
    staging links, archives not yet renamed into place, downloads. Best effort."""
    for path in root.glob("**/.*"):
        name = path.name
        if name.startswith((".staging-", ".download-")) or name.endswith(".tmp"):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    for path in root.glob("*/*.tmp"):
        path.unlink(missing_ok=True)


def remove(path: Path) -> bool:
    """Delete an archive and its checksum file; False if there was none. Raises OSError."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    with contextlib.suppress(FileNotFoundError):
        path.with_name(path.name + CHECKSUM_SUFFIX).unlink()
    fsync_dir(path.parent)
    return True


def verify(archive: Path) -> Manifest:
    """Read the whole archive once and check it: the manifest first, then every member's size
    and SHA-256, and no member missing or extra. Raises CorruptionError naming the archive and
    the first bad member; OSError for I/O errors."""
    return _checked(
        archive, _manifest, lambda m: {DATA + path: sums for path, sums in m.files.items()}
    )


def _checked(
    archive: Path,
    read_manifest: Callable[[bytes, str], M],
    members: Callable[[M], dict[str, tuple[int, str]]],
    into: Path | None = None,
) -> M:
    """Check a tar whose first member is a manifest naming every other member's size and
    SHA-256 (`members`): each member against it, none missing, none extra. With `into`, each
    member is also written there (at its name less DATA) as it is hashed."""
    where = str(archive)
    try:
        with tarfile.open(archive, mode="r:") as tar:
            first = tar.next()
            if first is None or first.name != MANIFEST:
                raise CorruptionError(where, 0, f"the first member is not {MANIFEST}")
            manifest = read_manifest(_read_member(tar, first, where), where)
            expected = members(manifest)
            seen: set[str] = set()
            while (member := tar.next()) is not None:
                sums = expected.get(member.name)
                if sums is None or member.name in seen:
                    raise CorruptionError(where, member.offset, f"unexpected member {member.name}")
                if not member.isfile():
                    raise CorruptionError(where, member.offset, f"{member.name} is not a file")
                target = None if into is None else into / member.name.removeprefix(DATA)
                if _member_hash(tar, member, where, target) != sums:
                    raise CorruptionError(
                        where, member.offset, f"{member.name} does not match its checksum"
                    )
                seen.add(member.name)
            missing = sorted(set(expected) - seen)
            if missing:
                raise CorruptionError(where, 0, f"{missing[0]} is missing (cut short?)")
            return manifest
    except tarfile.TarError as exc:
        raise CorruptionError(where, 0, f"not a readable snapshot archive ({exc})") from None


def _read_member(tar: tarfile.TarFile, member: tarfile.TarInfo, where: str) -> bytes:
    f = tar.extractfile(member)
    if f is None:
        raise CorruptionError(where, member.offset, f"{member.name} is not a file")
    data = f.read()
    if len(data) != member.size:
        raise CorruptionError(where, member.offset, f"{member.name} is cut short")
    return data


def _member_hash(
    tar: tarfile.TarFile, member: tarfile.TarInfo, where: str, target: Path | None = None
) -> tuple[int, str]:
    """Size and SHA-256 of a member; with `target`, written there too (fsynced)."""
    f = tar.extractfile(member)
    if f is None:
        raise CorruptionError(where, member.offset, f"{member.name} is not a file")
    if target is None:
        return _digest(f)
    target.parent.mkdir(parents=True, exist_ok=True)
    # the writes run in a thread of their own, each beside the next chunk's read and hash
    with open(target, "wb") as out, ThreadPoolExecutor(1) as writer:
        pending: Future[int] | None = None

        def write(chunk: bytes) -> None:
            nonlocal pending
            if pending is not None:
                pending.result()
            pending = writer.submit(out.write, chunk)

        found = _digest(f, sink=write)
        if pending is not None:
            pending.result()
        out.flush()
        os.fsync(out.fileno())
    return found


def _document(raw: bytes, kind: str, version: int) -> dict[str, Any]:
    """A manifest's JSON, of this format and version (else ValueError)."""
    doc: dict[str, Any] = orjson.loads(raw)
    if doc["format"] != kind:
        raise ValueError(f"format {doc['format']!r}, not {kind!r}")
    if doc["version"] != version:
        raise ValueError(f"version {doc['version']!r}, this server reads {version}")
    return doc


def _sums(entries: Any) -> dict[str, tuple[int, str]]:
    """name -> (size, SHA-256) from a manifest's {"name": {"size", "sha256"}}."""
    return {str(n): (int(v["size"]), str(v["sha256"])) for n, v in dict(entries).items()}


def _manifest(raw: bytes, where: str) -> Manifest:
    try:
        doc = _document(raw, FORMAT, VERSION)
        files = _sums(doc["files"])
        for path in files:
            parts = Path(path).parts
            if not parts or path.startswith("/") or ".." in parts:
                raise ValueError(f"bad file path {path!r}")
        return Manifest(
            dict(doc["collection"]), int(doc["checkpoint_lsn"]), float(doc["created_at"]), files
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise CorruptionError(where, 0, f"bad manifest: {exc}") from None


def unpack(archive: Path, directory: Path) -> Manifest:
    """`verify` and write the archive's files into `directory` (created; must not exist) in
    one pass, with an empty WAL directory, everything fsynced. On any damage the directory is
    removed and CorruptionError raised: a restore unpacks into a staging directory, so nothing
    changes until the whole archive checked out. Raises OSError too."""
    directory.mkdir(parents=True)
    try:
        manifest = _checked(
            archive,
            _manifest,
            lambda m: {DATA + path: sums for path, sums in m.files.items()},
            into=directory,
        )
        (directory / "wal").mkdir()
        made = {directory} | {
            parent
            for path in manifest.files
            for parent in (directory / path).parents
            if directory in (parent, *parent.parents)
        }
        for made_dir in sorted(made, key=lambda p: -len(p.parts)):
            fsync_dir(made_dir)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return manifest
