"""SyncThread: one long-lived thread per collection that runs its WAL appends (write + fsync).

Why not trio.to_thread.run_sync: every commit made that round trip, and its fixed cost (the
limiter, handing the job to a cached worker, a copied context, the answer through the run's
wake-up socket) was a visible part of a one-point write's CPU (bench/thread_hop.py measures the
mechanisms side by side). Here the job goes through a SimpleQueue to a thread that only waits
for jobs, and the answer wakes the waiting task directly (`reschedule` through the trio token).

The rules trio's worker threads keep, kept here: a job once handed over is always waited for
(cancelling the caller does not abandon it, so the actor and the disk agree on what was
logged), its exception is raised in the caller, and one call runs at a time per collection
(the commit loop is its only caller). The thread lives while it has work and leaves after
`idle_s` without any, so an idle collection holds no thread.
"""

from __future__ import annotations

import queue
import threading
from typing import TYPE_CHECKING, Generic, TypeVar

import outcome
import trio

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

T = TypeVar("T")


class _Job(Generic[T]):
    __slots__ = ("task", "token", "work")

    def __init__(
        self, work: Callable[[], T], task: trio.lowlevel.Task, token: trio.lowlevel.TrioToken
    ) -> None:
        self.work = work
        self.task = task
        self.token = token


class SyncThread:
    def __init__(self, name: str, *, idle_s: float = 10.0) -> None:
        self._name = name
        self._idle_s = idle_s
        self._jobs: queue.SimpleQueue[_Job[object] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()  # between a submitter and a thread deciding to leave
        self._running = False  # a thread is serving the queue (or about to)

    async def run(self, work: Callable[[], T]) -> T:
        """Run `work` in the thread and return its result (or raise its exception). Always
        waits for it: a cancellation arrives only after it has finished."""
        job = _Job(work, trio.lowlevel.current_task(), trio.lowlevel.current_trio_token())
        with self._lock:
            self._jobs.put(job)  # type: ignore[arg-type]
            if not self._running:
                self._running = True
                threading.Thread(
                    target=self._serve, name=f"zoro-wal-{self._name}", daemon=True
                ).start()

        def abort(_: trio.lowlevel.RaiseCancelT) -> trio.lowlevel.Abort:
            return trio.lowlevel.Abort.FAILED  # never abandon a started job

        result: T = await trio.lowlevel.wait_task_rescheduled(abort)
        return result

    def close(self) -> None:
        """Let the thread go once the queue is empty (it would leave when idle anyway)."""
        with self._lock:
            if self._running:
                self._jobs.put(None)
                self._running = False

    def __enter__(self) -> SyncThread:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _serve(self) -> None:
        jobs = self._jobs
        while True:
            try:
                job = jobs.get(timeout=self._idle_s)
            except queue.Empty:
                with self._lock:
                    if not jobs.empty():
                        continue  # a job came in meanwhile: serve it
                    self._running = False
                    return
            if job is None:
                return
            result = outcome.capture(job.work)
            try:
                job.token.run_sync_soon(trio.lowlevel.reschedule, job.task, result)
            except trio.RunFinishedError:
                return  # nobody left to answer
