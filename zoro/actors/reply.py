"""A one-shot reply slot: how an actor answers a request sent through its mailbox.

Trio has no Future (python-trio/trio#467). The actor fills the slot with a *sync* call, so a
caller that has gone away (cancelled, timed out) can never block the actor.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import outcome
import trio

T = TypeVar("T")


class Reply(Generic[T]):
    __slots__ = ("_done", "_out")

    def __init__(self) -> None:
        self._done = trio.Event()
        self._out: outcome.Outcome[T] | None = None

    @property
    def is_set(self) -> bool:
        return self._out is not None

    def set(self, out: outcome.Outcome[T]) -> None:
        """Answer once; later answers are ignored (the first one is what the caller saw)."""
        if self._out is None:
            self._out = out
            self._done.set()

    def ok(self, value: T) -> None:
        self.set(outcome.Value(value))

    def fail(self, exc: BaseException) -> None:
        self.set(outcome.Error(exc))

    async def wait(self) -> T:
        """Wait for the answer; re-raises the actor's error here."""
        await self._done.wait()
        assert self._out is not None
        return self._out.unwrap()
