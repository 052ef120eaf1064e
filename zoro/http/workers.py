"""`zoro serve --workers N` (docs/workers.md): a supervisor process and N worker processes.

The supervisor (plain blocking code: it never runs trio, and starts its workers with
subprocess, not fork) claims the port and the data directory as a single server does, makes
a private run directory (under /dev/shm where it can: see new_run_dir; removed at exit), and
starts worker 0, the OWNER: today's server on the inherited listening socket, which also
listens on `<run>/owner.sock` for requests forwarded by the others (zoro.http.forward) and
publishes its LSN boards in the run directory. Once the owner is ready (every collection
recovered, so every board published), it starts workers 1..N-1, the FOLLOWERS, on the same
listening socket: the kernel hands each connection to one of them.

Supervision: a follower that exits is started again. When the owner exits, the followers are
stopped too (its recovery may cut files back under their replicas), and all start again once
the owner is ready. SIGTERM/SIGINT: passed to every worker (each shuts down gracefully), and
the supervisor waits for them; a second signal kills them. The workers are in their own
process group (a terminal's Ctrl-C reaches the supervisor only) and die with it (the
kernel's parent-death signal), so a killed supervisor leaves no worker holding the directory.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final

from hypercorn.config import Sockets

from zoro.http.forward import owner_ready
from zoro.http.server import Claim, hypercorn_config

if TYPE_CHECKING:
    from zoro.dirlock import DataDirLock
    from zoro.settings import Settings

log = logging.getLogger(__name__)

OWNER_SOCKET: Final = "owner.sock"
RUN_PREFIX: Final = "zoro-run-"
RUN_LOCK: Final = "supervisor.lock"  # held by the run directory's supervisor while it lives
RESTART_FIRST_S: Final = 0.2  # pause before starting a worker again, doubling to the max
RESTART_MAX_S: Final = 5.0
OWNER_ATTEMPTS: Final = 5  # owner restarts in a row that never got ready: give up
STOP_GRACE_S: Final = 30.0  # after SIGTERM, then SIGKILL


def new_run_dir() -> tuple[Path, int]:
    """A private directory for the workers' runtime state (the owner's socket, the LSN boards,
    the followers' doorbells): in shared memory where there is some, and never in the data
    directory, whose filesystem may not take a socket (a FUSE one, say) and which tools copy
    as plain files. Returns it and the descriptor of the lock its supervisor holds on it for
    its life; the directories of supervisors that died without removing theirs (kill -9), whose
    lock is free, are removed first. (A lock, not the pid in the name: a pid is reused.)"""
    shm = Path("/dev/shm")
    parent = shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())
    for stale in parent.glob(f"{RUN_PREFIX}*-*"):
        holder = _lock_free(stale / RUN_LOCK)
        if holder is not None:
            shutil.rmtree(stale, ignore_errors=True)
            os.close(holder)
    run = Path(tempfile.mkdtemp(prefix=f"{RUN_PREFIX}{os.getpid()}-", dir=parent))
    # locked before it takes its name, so another supervisor never finds it free
    fd = os.open(run / f"{RUN_LOCK}.new", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.rename(run / f"{RUN_LOCK}.new", run / RUN_LOCK)
    return run, fd


def _lock_free(path: Path) -> int | None:
    """The descriptor of `path`, locked by us, if no live process holds its lock; else None."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return None  # not a run directory of ours, or one being made
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


class Supervisor:
    def __init__(
        self, data_dir: Path, workers: int, claimed: Claim, worker_args: list[str]
    ) -> None:
        """`worker_args`: the `zoro serve` options every worker takes (settings)."""
        self._data_dir = data_dir
        self._run, self._run_lock = new_run_dir()
        self._count = workers
        self._claimed = claimed
        self._args = worker_args
        self._listen = claimed.sockets.insecure_sockets[0]
        self._owner: subprocess.Popen[bytes] | None = None
        self._followers: dict[int, subprocess.Popen[bytes]] = {}
        self._signals = 0
        self._terminated: set[int] = set()  # pids sent SIGTERM

    def run(self) -> int:
        """Serve until a signal; returns the exit code (non-zero: the owner cannot start)."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        try:
            return self._supervise()
        finally:
            self._stop_all()
            shutil.rmtree(self._run, ignore_errors=True)
            os.close(self._run_lock)
            self._claimed.release()

    def _supervise(self) -> int:
        if not self._start_owner(attempts=1):  # as a single server: it says why, and we stop
            return 1
        pauses = dict.fromkeys(range(1, self._count), RESTART_FIRST_S)
        self._start_followers()
        while not self._signals:
            time.sleep(0.05)
            assert self._owner is not None
            if self._owner.poll() is not None:
                log.error("owner worker exited with %s: restarting every worker",
                          self._owner.returncode)  # fmt: skip
                self._stop_followers()
                if not self._start_owner(attempts=OWNER_ATTEMPTS):
                    return 1
                self._start_followers()
                continue
            for index, proc in list(self._followers.items()):
                if proc.poll() is not None and not self._signals:
                    log.error("follower worker %d exited with %s: restarting it",
                              index, proc.returncode)  # fmt: skip
                    time.sleep(pauses[index])
                    pauses[index] = min(RESTART_MAX_S, pauses[index] * 2)
                    self._followers[index] = self._start(index)
        return 0

    def _start_followers(self) -> None:
        for index in range(1, self._count):
            if self._signals:  # stopping: start nothing more
                return
            self._followers[index] = self._start(index)

    def _start_owner(self, *, attempts: int) -> bool:
        """Start the owner and wait until it is ready; False when it never gets there."""
        pause = RESTART_FIRST_S
        for _ in range(attempts):
            self._owner = owner = self._start(0)
            while not self._signals and owner.poll() is None:
                if owner_ready(self._run / OWNER_SOCKET):
                    return True
                time.sleep(0.05)
            if self._signals:
                return True  # stopping: _supervise ends, run() stops it
            log.error("owner worker exited with %s before it was ready", owner.returncode)
            time.sleep(pause)
            pause = min(RESTART_MAX_S, pause * 2)
        return False

    def _start(self, index: int) -> subprocess.Popen[bytes]:
        listen_fd, lock_fd = self._listen.fileno(), self._claimed.lock.fileno()
        command = [
            sys.executable, "-m", "zoro.cli", "worker", *self._args,
            "--worker-index", str(index),
            "--listen-fd", str(listen_fd),
            "--lock-fd", str(lock_fd),
            "--parent-pid", str(os.getpid()),
            "--run-dir", str(self._run),
        ]  # fmt: skip
        proc = subprocess.Popen(command, pass_fds=(listen_fd, lock_fd), process_group=0)
        if self._signals:  # a signal came while it started: it must hear it too
            self._terminate(proc)
        return proc

    def _on_signal(self, signum: int, frame: object) -> None:
        self._signals += 1
        killing = self._signals > 1
        log.info("signal %d: %s every worker", signum, "killing" if killing else "stopping")
        for proc in self._procs():
            if killing:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            else:
                self._terminate(proc)

    def _terminate(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGTERM, once per worker: a second one makes it exit at once."""
        if proc.pid not in self._terminated:
            self._terminated.add(proc.pid)
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)

    def _procs(self) -> list[subprocess.Popen[bytes]]:
        owner = [] if self._owner is None else [self._owner]
        return [*self._followers.values(), *owner]

    def _stop_followers(self) -> None:
        # a follower writes nothing: killing it loses nothing
        for proc in self._followers.values():
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        for proc in self._followers.values():
            proc.wait()
        self._followers.clear()

    def _stop_all(self) -> None:
        procs = self._procs()
        for proc in procs:
            if proc.poll() is None:
                self._terminate(proc)
        deadline = time.monotonic() + STOP_GRACE_S
        for proc in procs:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# ---------------------------------------------------------------------------- a worker


def die_with_parent(parent_pid: int) -> None:
    """Have the kernel kill this process when its parent dies (Linux), and exit now if it
    has died already."""
    with contextlib.suppress(OSError, AttributeError):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent_pid:
        os._exit(1)


def worker_claim(
    index: int, run_dir: Path, settings: Settings, listen_fd: int, lock: DataDirLock
) -> Claim:
    """The sockets a worker serves: the inherited listening socket, and for the owner its
    local socket for forwarded requests."""
    config = hypercorn_config(settings)
    listening = socket.socket(fileno=listen_fd)
    link = None
    if index == 0:
        path = run_dir / OWNER_SOCKET
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # a previous owner's
        link = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        link.bind(str(path))
        link.listen(config.backlog)
    return Claim(config, Sockets([], [listening], []), lock, link)
