"""SyncThread, the thread that runs a collection's WAL appends: the caller hears back only after
the job has finished, never before; a cancelled caller still waits for its job; errors reach
the caller; the thread leaves when idle and comes back for the next job."""

from __future__ import annotations

import threading

import pytest
import trio

from zoro.actors.sync_thread import SyncThread


async def test_returns_the_result_and_runs_off_the_event_loop() -> None:
    with SyncThread("t") as thread:
        loop_thread = threading.get_ident()
        ran_in = await thread.run(threading.get_ident)
        assert ran_in != loop_thread
        assert await thread.run(lambda: 41 + 1) == 42


async def test_the_jobs_exception_is_raised_in_the_caller() -> None:
    def failing() -> None:
        raise OSError(28, "No space left on device")

    with SyncThread("t") as thread:
        with pytest.raises(OSError, match="No space"):
            await thread.run(failing)
        assert await thread.run(lambda: "still serving") == "still serving"


async def test_no_answer_before_the_job_has_finished() -> None:
    """The shape of a WAL append: a sync that is held; the caller (the commit loop, which
    acknowledges right after) must not go on while it is."""
    events: list[str] = []
    release = threading.Event()
    started = threading.Event()

    def held_sync() -> int:
        started.set()
        release.wait(timeout=30)
        events.append("synced")
        return 7

    async def commit() -> None:
        lsn = await thread.run(held_sync)
        events.append(f"acked {lsn}")

    with SyncThread("t") as thread:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(commit)
            await trio.to_thread.run_sync(started.wait)
            await trio.sleep(0.2)  # the loop runs other tasks meanwhile, and no answer comes
            assert events == []
            release.set()
    assert events == ["synced", "acked 7"]


async def test_a_cancelled_caller_still_waits_for_its_job() -> None:
    """Like trio.to_thread.run_sync: a job once handed over is never abandoned (the actor and
    the disk must agree on what was logged); the cancellation arrives after it."""
    events: list[str] = []
    started = threading.Event()

    def slow() -> str:
        started.set()
        threading.Event().wait(0.3)
        events.append("job done")
        return "logged"

    with SyncThread("t") as thread, trio.CancelScope() as scope:
        async with trio.open_nursery() as nursery:

            async def cancel_soon() -> None:
                await trio.to_thread.run_sync(started.wait)
                scope.cancel()

            nursery.start_soon(cancel_soon)
            result = await thread.run(slow)
            events.append(f"returned {result}")
            await trio.lowlevel.checkpoint()  # the cancellation lands here
            events.append("not reached")
    assert scope.cancelled_caught
    assert events == ["job done", "returned logged"]


async def test_the_thread_leaves_when_idle_and_comes_back() -> None:
    def ours() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "zoro-wal-idle"]

    async def ends(t: threading.Thread) -> None:
        await trio.to_thread.run_sync(t.join, 5.0)
        assert not t.is_alive()

    with SyncThread("idle", idle_s=0.05) as thread:
        assert await thread.run(lambda: 1) == 1
        [first] = ours()
        await ends(first)  # idle: it leaves
        assert await thread.run(lambda: 2) == 2  # a new thread serves it
        [second] = ours()
        assert second is not first
    await ends(second)  # closed: it ends
