"""An in-memory disk with a volatile write cache: what survives a power cut, and what does not.

Pure Python, no FUSE (powerfs.py serves it). The model:

* A file inode holds its current bytes, the bytes that are durable, and the data operations
  (writes, truncates, size-extending fallocates) made since its last fsync. fsync or fdatasync
  makes its data and size durable, and nothing else: not its name in any directory.
* A directory inode holds its current entries, the durable entries, and the entry changes
  (link a name to an inode, unlink a name, rename within it) made since its last fsync. fsync of
  the directory makes its entries durable. A rename across directories is an unlink in one and
  a link in the other, each durable with its own directory.
* `cut` is the power cut. In "clean" mode only the durable state survives. In "random" mode the
  disk also wrote back part of its cache first, in any order: every page (4 KiB) of a file
  reached the disk as of a random moment since the last fsync (any prefix of the operations
  that touched it, so one page is never half of one write and half of another), the size as of
  another random moment (so a file may end in zeros that were never written), and every
  directory a random prefix of its unsynced entry changes. Inodes no longer reachable from the
  root are gone.

Thread safety is the caller's (powerfs.py holds one lock around every call).
"""

from __future__ import annotations

import errno
import random
import stat
import time
from dataclasses import dataclass, field
from typing import Final

PAGE: Final = 4096
ROOT: Final = 1
MODES: Final = ("clean", "random")


def fs_error(code: int) -> OSError:
    return OSError(code, errno.errorcode.get(code, str(code)))


@dataclass
class Write:
    offset: int
    data: bytes


@dataclass
class Resize:
    size: int  # truncate (either way) or a size-extending fallocate


DataOp = Write | Resize


@dataclass
class Link:
    name: str
    ino: int


@dataclass
class Unlink:
    name: str


@dataclass
class Rename:  # within one directory: one change, so a crash keeps it whole or not at all
    old: str
    new: str


DirChange = Link | Unlink | Rename


@dataclass
class Inode:
    ino: int
    mode: int
    data: bytearray = field(default_factory=bytearray)
    durable: bytearray = field(default_factory=bytearray)
    pending: list[DataOp] = field(default_factory=list)
    entries: dict[str, int] = field(default_factory=dict)
    durable_entries: dict[str, int] = field(default_factory=dict)
    changes: list[DirChange] = field(default_factory=list)
    mtime_ns: int = field(default_factory=time.time_ns)

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.mode)


@dataclass
class Counters:
    """What the disk was asked to do since it was mounted (for reports and coverage checks)."""

    writes: int = 0
    write_bytes: int = 0
    fsyncs: int = 0
    dir_fsyncs: int = 0
    creates: int = 0
    renames: int = 0
    unlinks: int = 0
    truncates: int = 0
    fallocates: int = 0


class Disk:
    """Inodes by number; directories map names to inode numbers."""

    def __init__(self, inodes: dict[int, Inode] | None = None) -> None:
        if inodes is None:
            inodes = {ROOT: Inode(ROOT, stat.S_IFDIR | 0o755)}
        self.inodes = inodes
        self._next_ino = max(inodes) + 1
        self.counters = Counters()

    # ------------------------------------------------------------------ names

    def lookup(self, path: str) -> Inode:
        node = self.inodes[ROOT]
        for part in _parts(path):
            if not node.is_dir:
                raise fs_error(errno.ENOTDIR)
            ino = node.entries.get(part)
            if ino is None:
                raise fs_error(errno.ENOENT)
            node = self.inodes[ino]
        return node

    def parent_of(self, path: str) -> tuple[Inode, str]:
        parts = _parts(path)
        if not parts:
            raise fs_error(errno.EBUSY)
        parent = self.lookup("/" + "/".join(parts[:-1]))
        if not parent.is_dir:
            raise fs_error(errno.ENOTDIR)
        return parent, parts[-1]

    def create(self, path: str, mode: int, *, exclusive: bool) -> Inode:
        """A new regular file, or the existing one (EEXIST if `exclusive`)."""
        parent, name = self.parent_of(path)
        ino = parent.entries.get(name)
        if ino is not None:
            if exclusive:
                raise fs_error(errno.EEXIST)
            return self.inodes[ino]
        node = self._new(stat.S_IFREG | (mode & 0o7777))
        self._link(parent, name, node.ino)
        self.counters.creates += 1
        return node

    def mkdir(self, path: str, mode: int) -> Inode:
        parent, name = self.parent_of(path)
        if name in parent.entries:
            raise fs_error(errno.EEXIST)
        node = self._new(stat.S_IFDIR | (mode & 0o7777))
        self._link(parent, name, node.ino)
        return node

    def unlink(self, path: str) -> None:
        parent, name = self.parent_of(path)
        node = self.lookup(path)
        if node.is_dir:
            raise fs_error(errno.EISDIR)
        self._unlink(parent, name)

    def rmdir(self, path: str) -> None:
        parent, name = self.parent_of(path)
        node = self.lookup(path)
        if not node.is_dir:
            raise fs_error(errno.ENOTDIR)
        if node.entries:
            raise fs_error(errno.ENOTEMPTY)
        self._unlink(parent, name)

    def rename(self, old: str, new: str) -> None:
        """Move `old` to `new`, replacing a file (or an empty directory) there."""
        src, old_name = self.parent_of(old)
        dst, new_name = self.parent_of(new)
        node = self.lookup(old)
        target = dst.entries.get(new_name)
        if target is not None:
            replaced = self.inodes[target]
            if replaced.is_dir != node.is_dir:
                raise fs_error(errno.EISDIR if replaced.is_dir else errno.ENOTDIR)
            if replaced.is_dir and replaced.entries:
                raise fs_error(errno.ENOTEMPTY)
        if node.is_dir and _inside(node, dst, self):
            raise fs_error(errno.EINVAL)
        self.counters.renames += 1
        if src is dst:
            if old_name == new_name:
                return
            src.entries[new_name] = src.entries.pop(old_name)
            src.changes.append(Rename(old_name, new_name))
            src.mtime_ns = time.time_ns()
            return
        self._unlink(src, old_name)
        self._link(dst, new_name, node.ino)

    def readdir(self, path: str) -> list[str]:
        node = self.lookup(path)
        if not node.is_dir:
            raise fs_error(errno.ENOTDIR)
        return sorted(node.entries)

    # ------------------------------------------------------------------ data

    def read(self, node: Inode, size: int, offset: int) -> bytes:
        return bytes(node.data[offset : offset + size])

    def write(self, node: Inode, data: bytes, offset: int) -> int:
        end = offset + len(data)
        if end > len(node.data):
            node.data.extend(bytes(end - len(node.data)))
        node.data[offset:end] = data
        node.pending.append(Write(offset, bytes(data)))
        node.mtime_ns = time.time_ns()
        self.counters.writes += 1
        self.counters.write_bytes += len(data)
        return len(data)

    def truncate(self, node: Inode, size: int) -> None:
        if node.is_dir:
            raise fs_error(errno.EISDIR)
        _resize(node.data, size)
        node.pending.append(Resize(size))
        node.mtime_ns = time.time_ns()
        self.counters.truncates += 1

    def fallocate(self, node: Inode, mode: int, offset: int, length: int) -> None:
        keep_size = 1  # FALLOC_FL_KEEP_SIZE; other modes (punch hole, ...) Zoro never asks for
        if mode & ~keep_size:
            raise fs_error(errno.EOPNOTSUPP)
        self.counters.fallocates += 1
        end = offset + length
        if not mode & keep_size and end > len(node.data):
            _resize(node.data, end)
            node.pending.append(Resize(end))
            node.mtime_ns = time.time_ns()

    def fsync(self, node: Inode) -> None:
        """fsync / fdatasync: a file's data and size, or a directory's entries, become durable."""
        if node.is_dir:
            node.durable_entries = dict(node.entries)
            node.changes.clear()
            self.counters.dir_fsyncs += 1
            return
        if sum(len(op.data) for op in node.pending if isinstance(op, Write)) > len(node.data):
            node.durable = bytearray(node.data)
        else:
            for op in node.pending:
                _apply(node.durable, op)
        node.pending.clear()
        self.counters.fsyncs += 1

    # ------------------------------------------------------------------ the power cut

    def cut(self, mode: str, seed: int) -> Disk:
        """The disk as it is found after power comes back. Leaves this one untouched."""
        if mode not in MODES:
            raise ValueError(f"unknown cut mode {mode!r}; one of {', '.join(MODES)}")
        rng = random.Random(seed)
        survived: dict[int, Inode] = {}
        for ino in sorted(self.inodes):
            node = self.inodes[ino]
            if node.is_dir:
                keep = rng.randint(0, len(node.changes)) if mode == "random" else 0
                entries = _replay_changes(node.durable_entries, node.changes[:keep])
                survived[ino] = Inode(
                    ino, node.mode, entries=entries, durable_entries=dict(entries)
                )
            else:
                data = _written_back(node, rng) if mode == "random" else bytearray(node.durable)
                survived[ino] = Inode(ino, node.mode, data=data, durable=bytearray(data))
            survived[ino].mtime_ns = node.mtime_ns
        return Disk(_reachable(survived))

    # ------------------------------------------------------------------ internals

    def _new(self, mode: int) -> Inode:
        node = Inode(self._next_ino, mode)
        self._next_ino += 1
        self.inodes[node.ino] = node
        return node

    def _link(self, parent: Inode, name: str, ino: int) -> None:
        parent.entries[name] = ino
        parent.changes.append(Link(name, ino))
        parent.mtime_ns = time.time_ns()

    def _unlink(self, parent: Inode, name: str) -> None:
        del parent.entries[name]
        parent.changes.append(Unlink(name))
        parent.mtime_ns = time.time_ns()
        self.counters.unlinks += 1


def _parts(path: str) -> list[str]:
    return [p for p in path.split("/") if p]


def _inside(node: Inode, directory: Inode, disk: Disk) -> bool:
    """Whether `directory` is `node` or below it (a directory cannot move into itself)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if current is directory:
            return True
        stack += [disk.inodes[i] for i in current.entries.values() if disk.inodes[i].is_dir]
    return False


def _resize(buf: bytearray, size: int) -> None:
    if size < len(buf):
        del buf[size:]
    else:
        buf.extend(bytes(size - len(buf)))


def _apply(buf: bytearray, op: DataOp) -> None:
    if isinstance(op, Resize):
        _resize(buf, op.size)
        return
    end = op.offset + len(op.data)
    if end > len(buf):
        buf.extend(bytes(end - len(buf)))
    buf[op.offset : end] = op.data


def _replay_changes(entries: dict[str, int], changes: list[DirChange]) -> dict[str, int]:
    out = dict(entries)
    for change in changes:
        if isinstance(change, Link):
            out[change.name] = change.ino
        elif isinstance(change, Unlink):
            out.pop(change.name, None)
        elif change.old in out:
            out[change.new] = out.pop(change.old)
    return out


def _pages(op: DataOp, old_size: int) -> range:
    """The pages whose content `op` changes (a resize zeroes or drops the bytes past its size)."""
    if isinstance(op, Write):
        return range(op.offset // PAGE, (op.offset + len(op.data) - 1) // PAGE + 1)
    low, high = sorted((op.size, old_size))
    return range(low // PAGE, (high - 1) // PAGE + 1) if high > low else range(0)


def _written_back(node: Inode, rng: random.Random) -> bytearray:
    """A file whose cache reached the disk in part: each page as of its own random moment, the
    size as of another."""
    sizes = [len(node.durable)]
    touching: dict[int, list[int]] = {}  # page -> the ops (by index) that changed it
    for i, op in enumerate(node.pending):
        for page in _pages(op, sizes[-1]):
            touching.setdefault(page, []).append(i)
        sizes.append(
            op.size if isinstance(op, Resize) else max(sizes[-1], op.offset + len(op.data))
        )
    buf = bytearray(node.durable)
    _resize(buf, max(sizes))
    for page, ops in touching.items():
        # the page as it was after op `cutoff - 1` (0: as durable), each page its own moment
        cutoff = [0, *(i + 1 for i in ops)][rng.randint(0, len(ops))]
        buf[page * PAGE : (page + 1) * PAGE] = _page_as_of(node, page, cutoff)
    _resize(buf, sizes[rng.randint(0, len(node.pending))])
    return buf


def _page_as_of(node: Inode, page: int, cutoff: int) -> bytes:
    """Page `page` of the file after its first `cutoff` pending ops; bytes past the file's size
    at that moment read as zeros, as they would once the file grows again."""
    lo = page * PAGE
    content = bytearray(PAGE)
    durable = node.durable[lo : lo + PAGE]
    content[: len(durable)] = durable
    for op in node.pending[:cutoff]:
        if isinstance(op, Resize):
            keep = max(0, op.size - lo)
            if keep < PAGE:
                content[keep:] = bytes(PAGE - keep)
        else:
            start, stop = max(op.offset, lo), min(op.offset + len(op.data), lo + PAGE)
            if start < stop:
                content[start - lo : stop - lo] = op.data[start - op.offset : stop - op.offset]
    return bytes(content)


def _reachable(inodes: dict[int, Inode]) -> dict[int, Inode]:
    keep: dict[int, Inode] = {}
    stack = [ROOT]
    while stack:
        ino = stack.pop()
        if ino in keep or ino not in inodes:
            continue
        keep[ino] = inodes[ino]
        stack += list(inodes[ino].entries.values())
    for node in keep.values():  # a name whose inode did not survive goes too
        node.entries = {n: i for n, i in node.entries.items() if i in keep}
        node.durable_entries = dict(node.entries)
    return keep
