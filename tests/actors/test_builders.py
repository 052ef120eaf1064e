"""A follower's builds run nicer than the rest of its process (zoro.actors.builders): in a
thread of their own, so trio's reused worker threads keep their priority."""

from __future__ import annotations

import os
import threading

import pytest
import trio

from zoro.actors.builders import FOLLOWER_BUILD_NICE, run_stoppable


def _nice_of_this_thread() -> tuple[int, int]:
    tid = threading.get_native_id()
    return tid, os.getpriority(os.PRIO_PROCESS, tid)


async def test_a_niced_job_runs_nicer_and_leaves_the_worker_threads_as_they_were() -> None:
    limiter = trio.CapacityLimiter(1)
    _, loop_nice = _nice_of_this_thread()
    tid, nice = await run_stoppable(
        _nice_of_this_thread, lambda: None, limiter, FOLLOWER_BUILD_NICE
    )
    assert nice == min(19, loop_nice + FOLLOWER_BUILD_NICE)
    assert tid != threading.get_native_id()
    # the next job in a trio worker thread runs at the process's priority
    for _ in range(3):
        _, after = await trio.to_thread.run_sync(_nice_of_this_thread, limiter=limiter)
        assert after == loop_nice
    # the owner's jobs are not niced
    _, owners = await run_stoppable(_nice_of_this_thread, lambda: None, limiter)
    assert owners == loop_nice


async def test_a_niced_job_s_error_reaches_the_caller() -> None:
    def fails() -> None:
        raise ValueError("on purpose")

    with pytest.raises(ValueError, match="on purpose"):
        await run_stoppable(fails, lambda: None, trio.CapacityLimiter(1), FOLLOWER_BUILD_NICE)
