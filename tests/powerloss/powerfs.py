"""The power-loss file system: disk.py's model served over FUSE by mfusepy, in its own process.

    python -m tests.powerloss.powerfs MOUNTPOINT CONTROL_SOCKET [STATE_FILE]

mounts an empty disk (or the one pickled in STATE_FILE by an earlier `cut`) on MOUNTPOINT and
serves until it is unmounted. A unix socket at CONTROL_SOCKET takes one command per line and
answers one line ("ok ..." or "error ..."):

    stats                     what the disk was asked to do, as JSON (plus held fsyncs, errors)
    gate close | gate open    hold every FSYNC and FSYNCDIR request (the caller blocks) / let go
    gate drop                 let go, failing the held ones with EIO and syncing nothing (a
                              process killed in fsync cannot die before its request is answered)
    cut MODE SEED PATH        the power cut: pickle what survives (disk.Disk.cut) to PATH; from
                              then on every request fails with EIO (the power is off);
                              PATH.before gets the disk as it was (for post-mortems)

Call `cut` only once every process using the mount is dead; then unmount, and mount PATH anew
(mount.py does all of it). The kernel must not serve stale cached bytes across that: attribute
and entry timeouts are 0, the page cache is dropped on every open (no kernel_cache), and the
new mount is a new superblock. Locks (flock, fcntl) stay in the kernel: not implemented here.
"""

from __future__ import annotations

import errno
import functools
import json
import logging
import os
import pickle
import socket
import stat
import sys
import threading
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import mfusepy

from tests.powerloss.disk import Disk, Inode, fs_error

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")

STATFS_BLOCKS = 1 << 24  # 64 GiB of 4 KiB blocks, all free: no disk-full here


def fuse_op(method: Callable[..., T]) -> Callable[..., T]:
    """A FUSE call: under the lock, refused once the power is off, syncs held at the gate.
    An unexpected exception is a bug here: kept for `stats`, and EIO for the caller."""
    sync = method.__name__ in ("fsync", "fsyncdir")

    @functools.wraps(method)
    def call(self: PowerFS, *args: Any) -> T:
        if sync:
            self.wait_at_gate()
        with self._mutex:
            if not self.powered:
                raise fs_error(errno.EIO)
            try:
                return method(self, *args)
            except OSError:
                raise
            except Exception:
                self.errors.append(f"{method.__name__}{args!r}: {traceback.format_exc()}")
                raise fs_error(errno.EIO) from None

    return call


class PowerFS(mfusepy.Operations):
    use_ns = True
    # with nullpath_ok, calls on an open file come with its handle and maybe no path (an
    # unlinked file that is still open has none: hard_remove)
    flag_nopath = True
    flag_nullpath_ok = True

    # Attribute names must not be those of FUSE calls (mfusepy registers every one it finds).
    def __init__(self, disk: Disk) -> None:
        self.disk = disk
        self._mutex = threading.Lock()
        self.handles: dict[int, Inode] = {}
        self.next_fh = 1
        self.gate = threading.Condition()
        self.gate_closed = False
        self.held = 0  # fsyncs waiting at the gate
        self.drops = 0  # times the gate let go by failing what it held
        self.powered = True
        self.errors: list[str] = []  # unexpected exceptions: a bug in this file system

    # ------------------------------------------------------------------ plumbing

    def init_with_config(self, conn: Any, config: Any) -> None:
        if config is not None:
            config.entry_timeout = 0.0
            config.negative_timeout = 0.0
            config.attr_timeout = 0.0
            config.hard_remove = 1
            config.use_ino = 1
            config.kernel_cache = 0
            config.auto_cache = 0
            config.direct_io = 0  # the vectors file is memory-mapped
            config.nullpath_ok = 1

    def _node(self, path: str | None, fh: int | None) -> Inode:
        if fh:
            node = self.handles.get(fh)
            if node is None:
                raise fs_error(errno.EBADF)
            return node
        if path is None:
            raise fs_error(errno.EBADF)
        return self.disk.lookup(path)

    def _open_handle(self, node: Inode) -> int:
        fh = self.next_fh
        self.next_fh += 1
        self.handles[fh] = node
        return fh

    # ------------------------------------------------------------------ names

    @fuse_op
    def getattr(self, path: str | None, fh: int | None = None) -> dict[str, Any]:
        node = self._node(path, fh)
        size = len(node.data) if not node.is_dir else 4096
        return {
            "st_mode": node.mode,
            "st_ino": node.ino,
            "st_nlink": 2 if node.is_dir else 1,
            "st_size": size,
            "st_blocks": (size + 511) // 512,
            "st_blksize": 4096,
            "st_uid": os.getuid(),
            "st_gid": os.getgid(),
            "st_atime": node.mtime_ns,
            "st_mtime": node.mtime_ns,
            "st_ctime": node.mtime_ns,
        }

    @fuse_op
    def access(self, path: str, amode: int) -> int:
        self.disk.lookup(path)
        return 0

    @fuse_op
    def readdir(self, path: str | None, fh: int) -> list[tuple[str, dict[str, int], int]]:
        node = self._node(path, fh)
        if not node.is_dir:
            raise fs_error(errno.ENOTDIR)
        # with use_ino the kernel takes the inode number from here: 0 would hide the entry
        out = [(".", {"st_ino": node.ino, "st_mode": node.mode}, 0)]
        out.append(("..", {"st_ino": node.ino, "st_mode": node.mode}, 0))
        for name in sorted(node.entries):
            child = self.disk.inodes[node.entries[name]]
            out.append((name, {"st_ino": child.ino, "st_mode": child.mode}, 0))
        return out

    @fuse_op
    def opendir(self, path: str) -> int:
        node = self.disk.lookup(path)
        if not node.is_dir:
            raise fs_error(errno.ENOTDIR)
        return self._open_handle(node)

    @fuse_op
    def releasedir(self, path: str | None, fh: int) -> int:
        self.handles.pop(fh, None)
        return 0

    @fuse_op
    def mkdir(self, path: str, mode: int) -> int:
        self.disk.mkdir(path, mode)
        return 0

    @fuse_op
    def rmdir(self, path: str) -> int:
        self.disk.rmdir(path)
        return 0

    @fuse_op
    def unlink(self, path: str) -> int:
        self.disk.unlink(path)
        return 0

    @fuse_op
    def rename(self, old: str, new: str) -> int:
        self.disk.rename(old, new)
        return 0

    @fuse_op
    def create(self, path: str, mode: int, flags: int) -> int:
        node = self.disk.create(path, mode, exclusive=bool(flags & os.O_EXCL))
        if flags & os.O_TRUNC and node.data:
            self.disk.truncate(node, 0)
        return self._open_handle(node)

    @fuse_op
    def open(self, path: str, flags: int) -> int:
        node = self.disk.lookup(path)
        if node.is_dir and flags & (os.O_WRONLY | os.O_RDWR):
            raise fs_error(errno.EISDIR)
        if flags & os.O_TRUNC and node.data:
            self.disk.truncate(node, 0)
        return self._open_handle(node)

    @fuse_op
    def release(self, path: str | None, fh: int) -> int:
        self.handles.pop(fh, None)
        return 0

    @fuse_op
    def flush(self, path: str | None, fh: int) -> int:
        return 0  # close() is not a sync

    @fuse_op
    def statfs(self, path: str) -> dict[str, int]:
        return {
            "f_bsize": 4096,
            "f_frsize": 4096,
            "f_blocks": STATFS_BLOCKS,
            "f_bfree": STATFS_BLOCKS,
            "f_bavail": STATFS_BLOCKS,
            "f_files": 1 << 20,
            "f_ffree": 1 << 20,
            "f_favail": 1 << 20,
            "f_namemax": 255,
        }

    @fuse_op
    def chmod(self, path: str | None, mode: int) -> int:
        node = self._node(path, None)
        node.mode = stat.S_IFMT(node.mode) | (mode & 0o7777)
        return 0

    @fuse_op
    def chown(self, path: str | None, uid: int, gid: int) -> int:
        return 0

    @fuse_op
    def utimens(self, path: str | None, times: tuple[int, int] | None = None) -> int:
        return 0

    # ------------------------------------------------------------------ data

    @fuse_op
    def read(self, path: str | None, size: int, offset: int, fh: int) -> bytes:
        return self.disk.read(self._node(path, fh), size, offset)

    @fuse_op
    def write(self, path: str | None, data: bytes, offset: int, fh: int) -> int:
        return self.disk.write(self._node(path, fh), data, offset)

    @fuse_op
    def truncate(self, path: str | None, length: int, fh: int | None = None) -> int:
        self.disk.truncate(self._node(path, fh), length)
        return 0

    @fuse_op
    def fallocate(self, path: str | None, mode: int, offset: int, size: int, fh: int) -> int:
        self.disk.fallocate(self._node(path, fh), mode, offset, size)
        return 0

    @fuse_op
    def fsync(self, path: str | None, datasync: int, fh: int) -> int:
        self.disk.fsync(self._node(path, fh))
        return 0

    @fuse_op
    def fsyncdir(self, path: str | None, datasync: int, fh: int) -> int:
        self.disk.fsync(self._node(path, fh))
        return 0

    # ------------------------------------------------------------------ control

    def wait_at_gate(self) -> None:
        """Block while the gate is closed; raise EIO if it is dropped meanwhile."""
        with self.gate:
            if not self.gate_closed:
                return
            drops = self.drops
            self.held += 1
            self.gate.notify_all()
            while self.gate_closed:
                self.gate.wait()
            self.held -= 1
            if self.drops != drops:
                raise fs_error(errno.EIO)

    def set_gate(self, state: str) -> None:
        with self.gate:
            self.gate_closed = state == "close"
            self.drops += state == "drop"
            self.gate.notify_all()

    def command(self, line: str) -> str:
        words = line.split()
        if words == ["stats"]:
            with self._mutex:
                counters = asdict(self.disk.counters)
            with self.gate:
                counters["held"] = self.held
            counters["errors"] = len(self.errors)
            return "ok " + json.dumps({**counters, "first_error": self.errors[:1]})
        if words[:1] == ["gate"] and words[1:] in (["close"], ["open"], ["drop"]):
            self.set_gate(words[1])
            return "ok"
        if words[:1] == ["cut"] and len(words) == 4:
            with self._mutex:
                self.powered = False
                survived = self.disk.cut(words[1], int(words[2]))
            Path(words[3]).write_bytes(pickle.dumps(survived.inodes))
            # and the disk as it was, cache and all: what a failed check is traced back to
            Path(words[3] + ".before").write_bytes(pickle.dumps(self.disk.inodes))
            return "ok"
        return f"error unknown command {line!r}"


class _FUSE(mfusepy.FUSE):  # type: ignore[misc]
    def truncate_fuse_3(self, path: bytes | None, length: int, fip: Any) -> int:
        # mfusepy drops the file handle here; ftruncate on an unlinked file needs it
        fh = fip.contents.fh if fip else None
        name = None if path is None else path.decode(self.encoding, self.errors)
        result: int = self.operations.truncate(name, length, fh)
        return result


def _serve_control(fs: PowerFS, path: str) -> None:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(4)

    def client(conn: socket.socket) -> None:
        with conn, conn.makefile("rw") as stream:
            for line in stream:
                try:
                    answer = fs.command(line.strip())
                except Exception as exc:
                    answer = f"error {type(exc).__name__}: {exc}"
                stream.write(answer.replace("\n", " ") + "\n")
                stream.flush()

    while True:
        conn, _ = server.accept()
        threading.Thread(target=client, args=(conn,), daemon=True).start()


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, format="powerfs: %(levelname)s %(message)s")
    mountpoint, control = argv[0], argv[1]
    disk = Disk(pickle.loads(Path(argv[2]).read_bytes())) if len(argv) > 2 else Disk()
    fs = PowerFS(disk)
    threading.Thread(target=_serve_control, args=(fs, control), daemon=True).start()
    _FUSE(fs, mountpoint, foreground=True, fsname="powerfs")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
