"""The threads that run one collection's expensive reads, at a lower CPU priority.

An expensive search is sent off the event loop so that the loop keeps serving; but on a
machine with few cores the thread doing it still competes for a core with the loop and with
the threads every other request hops through (the WAL's fsync thread, the HTTP clients). At
the same priority each of those hops waits for its turn behind the search: with one
collection under 4 clients of exact queries (bench/stall.py --quick, 100,000 x 128), single
upserts on another collection went from 1.9-3.0 ms p50 idle to 4.9-6.9 ms. With the search
threads at nice 10 they stayed at 2.8-3.2 ms (idle 2.9-3.0), and /healthz at 1.0 ms: the
expensive searches take the CPU that is left over. The price: under contention they slow
down more (the heavy collection's exact-query QPS fell from ~160 to ~95 in that run).

Priorities are per thread on Linux, and an unprivileged thread may lower its priority but
not raise it back, so these threads are the collection's own (a small pool made on first use)
rather than trio's shared worker threads, which run other I/O. Elsewhere the priority
stays as it is. The caller reaches them from a trio worker thread (`call` blocks), so trio's
limiters and cancellation rules (a started call is waited for, never abandoned) still apply.
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")


class SearchThreads:
    def __init__(self, name: str, threads: int, nice: int) -> None:
        self._name = name
        self._threads = max(1, threads)
        self._nice = nice
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False
        self._lock = threading.Lock()  # `call` runs in trio's worker threads

    def call(self, work: Callable[[], T]) -> T:
        """Run `work` in one of these threads and return its result. Blocking.

        Once closed (the collection is going away; a request may still be on its way here)
        `work` runs in the calling thread instead: answered, not left without a pool."""
        with self._lock:
            if self._pool is None and not self._closed:
                self._pool = ThreadPoolExecutor(
                    self._threads,
                    thread_name_prefix=f"zoro-search-{self._name}",
                    initializer=_lower_priority,
                    initargs=(self._nice,),
                )
            pool = self._pool
        if pool is None:
            return work()
        return pool.submit(work).result()

    def close(self) -> None:
        """Let the threads go (every call has returned by now: none is ever abandoned)."""
        with self._lock:
            self._closed = True
            if self._pool is not None:
                self._pool.shutdown(wait=False)
                self._pool = None


def _lower_priority(nice: int) -> None:
    if nice > 0 and hasattr(os, "setpriority"):
        with contextlib.suppress(OSError):  # not Linux's per-thread nice: leave it
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
