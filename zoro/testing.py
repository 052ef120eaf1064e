"""Run a real Zoro-DB server in a child process on 127.0.0.1 (for tests, torture runs and benches),
and measure what its data directory takes on disk.

Like trio.testing, this ships with the package so that tests, bench/ and loadtest/ share it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from types import TracebackType


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def disk_usage(data_dir: Path) -> dict[str, int]:
    """Bytes allocated under `data_dir` (st_blocks * 512), in total and by part of the
    collection directories: wal, files (the file generation's source/ and index/), ann (the
    graphs) and other (payload and sparse indexes, meta; the catalog beside them).

    Allocated rather than st_size or the data's length: append-only files are preallocated
    past their data, and those blocks are as gone from the disk as written ones."""
    parts = {"total": 0, "wal": 0, "files": 0, "ann": 0, "other": 0}
    for dirpath, _dirnames, filenames in os.walk(data_dir):
        rel = Path(dirpath).relative_to(data_dir).parts
        # collections/<id>/<part>/...
        part = rel[2] if len(rel) >= 3 and rel[0] == "collections" else ""
        if part in ("source", "index") or part.startswith("files."):
            part = "files"
        elif part not in ("wal", "ann"):
            part = "other"
        for filename in filenames:
            try:
                allocated = os.lstat(os.path.join(dirpath, filename)).st_blocks * 512
            except FileNotFoundError:  # deleted while walking: a checkpoint's debris
                continue
            parts["total"] += allocated
            parts[part] += allocated
    return parts


class ServerProcess:
    """`zoro serve` in a subprocess. `start()` returns once /healthz answers."""

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        extra_args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
        cwd: Path | None = None,
        module: str = "zoro.cli",
        workers: int | None = 1,
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.extra_args = extra_args
        self.env = env or {}
        self.log_path = log_path or data_dir.parent / f"server-{self.port}.log"
        self.cwd = cwd  # `python -m` imports from here first: not a checkout to run another copy
        self.module = module  # what `python -m` runs: a test's wrapper of the CLI, say
        # `--workers`: 1 unless ZORO_TEST_WORKERS=N runs the same tests against N; None passes
        # no flag (the server's default, or a copy of the sources from before the flag)
        self.workers = workers
        self.process: subprocess.Popen[bytes] | None = None

    def _worker_count(self) -> str:
        if self.module != "zoro.cli":
            # a test's wrapper module (a fault injected at a chosen step) patches only the
            # process it runs in: its server is one process whatever the count
            return "1"
        return os.environ.get("ZORO_TEST_WORKERS") or str(self.workers)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout_s: float = 30.0) -> ServerProcess:
        command = [
            sys.executable,
            "-m",
            self.module,
            "serve",
            "--data-dir",
            str(self.data_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            *self.extra_args,
        ]
        if "--workers" not in self.extra_args and self.workers is not None:
            command += ["--workers", self._worker_count()]
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
            cwd=self.cwd,
        )
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}: {self.log()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"server did not answer within {timeout_s} s: {self.log()}")

    def wait_ready(self, *, timeout_s: float = 60.0) -> None:
        """Wait until every collection has recovered (/readyz answers 200)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if httpx.get(self.url + "/readyz", timeout=5.0).status_code == 200:
                return
            time.sleep(0.02)
        raise RuntimeError(f"server not ready within {timeout_s} s")

    def kill(self) -> None:
        """SIGKILL: the crash the WAL must survive. With worker processes (--workers), the
        kernel kills them when the supervisor dies; returns once they are gone too (they hold
        the port and the data directory's lock until then)."""
        if self.process is not None and self.process.poll() is None:
            workers = _children(self.process.pid)
            self.process.kill()
            self.process.wait()
            _wait_gone(workers)

    def stop(self, *, timeout_s: float = 30.0) -> int:
        """SIGTERM and wait for a graceful exit; returns the exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
                raise
        return self.process.returncode

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except FileNotFoundError:
            return ""

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.stop()
        finally:
            self.kill()


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (FileNotFoundError, ValueError):
        return []


def _wait_gone(pids: list[int], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except (FileNotFoundError, IndexError):
                break
            if state in ("Z", "X"):  # dead; a zombie holds no descriptor
                break
            time.sleep(0.01)
