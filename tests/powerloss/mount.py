"""The test side of powerfs: mount it, talk to it, cut the power, mount what survived, unmount.

    with PowerMount(tmp_path) as disk:      # mounted on disk.path
        ...                                 # processes use disk.path; then they die
        disk.power_cut("random", seed=7)    # remounted: disk.path holds what survived

`fuse_unavailable()` names why FUSE cannot be used here (tests skip with it), or is None.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import TracebackType

ROOT = Path(__file__).resolve().parents[2]  # the repository: the daemon runs from here
MOUNT_TIMEOUT_S = 15.0


@functools.cache
def fuse_unavailable() -> str | None:
    """Why FUSE cannot be used on this machine (None: it can)."""
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse on this machine"
    try:
        os.close(os.open("/dev/fuse", os.O_RDWR))
    except OSError as exc:
        return f"cannot open /dev/fuse: {exc.strerror} (FUSE not permitted here)"
    try:
        import mfusepy  # noqa: F401
    except ImportError as exc:
        return f"mfusepy is not installed ({exc})"
    except OSError as exc:  # mfusepy raises this when it finds no libfuse
        return f"no libfuse: {exc} (Debian: apt-get install fuse3)"
    if os.geteuid() != 0 and shutil.which("fusermount3") is None:
        return "not root and no fusermount3 to mount with"
    return None


class FuseNotPermitted(RuntimeError):
    """The kernel refused the mount itself (a container without the right): skip, not fail."""


_REFUSALS = ("operation not permitted", "permission denied", "fuse device not found")


class PowerMount:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / "mnt"
        self.path.mkdir(parents=True, exist_ok=True)
        self.path = self.path.resolve()  # now: once mounted, a cut mount answers no stat
        # unix socket paths are short (108 bytes): not under a deep pytest directory
        self._sockdir = Path(tempfile.mkdtemp(prefix="powerfs-"))
        self._control = self._sockdir / "control"
        self._daemon: subprocess.Popen[bytes] | None = None
        self._mounts = 0
        self._state: Path | None = None

    # ------------------------------------------------------------------ lifecycle

    def mount(self) -> PowerMount:
        """Start a daemon on the current state (empty at first) and wait until it serves."""
        assert self._daemon is None, "already mounted"
        self._mounts += 1
        self._control.unlink(missing_ok=True)
        log = self.root / f"powerfs-{self._mounts}.log"
        args = [str(self.path), str(self._control)]
        if self._state is not None:
            args.append(str(self._state))
        with log.open("wb") as out:
            self._daemon = subprocess.Popen(
                [sys.executable, "-m", "tests.powerloss.powerfs", *args],
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + MOUNT_TIMEOUT_S
        while not (os.path.ismount(self.path) and self._control.exists()):
            if self._daemon.poll() is not None:
                self._daemon = None
                text = log.read_text(errors="replace").strip()
                if any(r in text.lower() for r in _REFUSALS):
                    raise FuseNotPermitted(f"the FUSE mount was refused: {text[-300:]}")
                raise RuntimeError(f"powerfs exited before mounting: {text[-2000:]}")
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"powerfs did not mount within {MOUNT_TIMEOUT_S} s")
            time.sleep(0.01)
        return self

    def power_cut(self, mode: str = "clean", seed: int = 0) -> None:
        """Cut the power and mount what survived. Every process using the mount must be dead
        (a live one would hold it busy, and its writes after the cut are lost anyway)."""
        state = self.root / f"state-{self._mounts}.pickle"
        self.command(f"cut {mode} {seed} {state}")
        self.unmount()
        if self._state is not None:  # keep the last cut's files only (for post-mortems)
            self._state.unlink(missing_ok=True)
            self._state.with_name(self._state.name + ".before").unlink(missing_ok=True)
        self._state = state
        self.mount()

    def unmount(self) -> None:
        """Unmount (lazily if something still holds it) and wait for the daemon to exit."""
        daemon, self._daemon = self._daemon, None
        if _mounted(self.path):
            tool = ["fusermount3", "-u"] if shutil.which("fusermount3") else ["umount"]
            done = subprocess.run([*tool, str(self.path)], capture_output=True, check=False)
            if done.returncode != 0:
                lazy = [*tool[:1], "-uz"] if tool[0] == "fusermount3" else ["umount", "-l"]
                subprocess.run([*lazy, str(self.path)], capture_output=True, check=False)
        if daemon is not None:
            try:
                daemon.wait(timeout=10)
            except subprocess.TimeoutExpired:
                daemon.kill()  # by its own handle: only the process this object started
                daemon.wait()

    def close(self) -> None:
        try:
            self.unmount()
        finally:
            shutil.rmtree(self._sockdir, ignore_errors=True)

    def __enter__(self) -> PowerMount:
        return self.mount()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ control

    def command(self, line: str, *, timeout_s: float = 60.0) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout_s)
            sock.connect(str(self._control))
            sock.sendall(line.encode() + b"\n")
            answer = b""
            while not answer.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        text = answer.decode().strip()
        if not text.startswith("ok"):
            raise RuntimeError(f"powerfs: {line!r} -> {text!r}")
        return text[2:].strip()

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = json.loads(self.command("stats"))
        return stats

    def close_gate(self) -> None:
        self.command("gate close")

    def open_gate(self) -> None:
        self.command("gate open")

    def drop_gate(self) -> None:
        """Open the gate, failing the held syncs (EIO) instead of doing them."""
        self.command("gate drop")

    def wait_held(self, count: int, timeout_s: float = 10.0) -> bool:
        """Whether `count` fsyncs are held at the gate within `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.stats()["held"] >= count:
                return True
            time.sleep(0.01)
        return False

    def check_no_errors(self) -> None:
        stats = self.stats()
        if stats["errors"]:
            raise AssertionError(f"powerfs itself failed: {stats['first_error']}")


def _mounted(path: Path) -> bool:
    # not os.path.ismount: a mount whose power is cut answers no stat
    target = os.fsencode(path).replace(b" ", b"\\040")
    with open("/proc/self/mounts", "rb") as mounts:
        return any(line.split()[1] == target for line in mounts if len(line.split()) > 1)


@contextlib.contextmanager
def mounted(root: Path) -> Any:
    """PowerMount as a context manager that turns a refused mount into a pytest skip."""
    import pytest

    reason = fuse_unavailable()
    if reason is not None:
        pytest.skip(reason)
    disk = PowerMount(root)
    try:
        disk.mount()
    except FuseNotPermitted as exc:
        disk.close()
        pytest.skip(str(exc))
    try:
        yield disk
    finally:
        disk.close()
