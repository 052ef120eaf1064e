"""The numbering lease: reads keep slot numbers across awaits; a compaction renumbers slots.

A slot number means something only within one file generation (docs/compaction.md). A read
takes a filter's selection (a mask over slots), awaits a search, turns the slots a worker thread
found into point ids afterwards: if a compaction's switch renumbered the slots in between, the
read would silently mix two numberings. So:

* a service that reads with awaits runs in a read scope (`@reads`) and reaches each collection
  through `CollectionManager.reading`, which takes a lease on the collection's gate for the rest
  of the scope; the actor's awaiting reads (select, search, facet) refuse to run without one;
* the switch closes the gate (`NumberingGate.closed`): new leases wait, the switch waits for the
  leases held to end, renumbers without an await, and opens the gate again.

A scope that already holds a lease on one collection is let through a closed gate on another
(its lease is counted, so that switch waits for it): two switches each waiting for the other's
reader could otherwise deadlock. Writes take no lease: they are resolved in the commit loop,
which is where the switch runs.
"""

from __future__ import annotations

import functools
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import trio

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

P = ParamSpec("P")
T = TypeVar("T")

# The gates the current read scope holds a lease on (None: not in a read scope). Child tasks
# started inside the scope share the list, so their leases end with the scope too.
_held: ContextVar[list[NumberingGate] | None] = ContextVar("zoro_numbering_leases", default=None)


class NotLeased(RuntimeError):
    """An awaiting read ran outside a read scope: a bug in the service, never the request's."""


class NumberingGate:
    """One collection's gate: counts the read scopes leasing its numbering; closed by a switch."""

    def __init__(self) -> None:
        self._leases = 0
        self._open = trio.Event()
        self._open.set()
        self._drained: trio.Event | None = None

    @property
    def leases(self) -> int:
        return self._leases

    @property
    def closing(self) -> bool:
        """Is a switch holding the gate closed (or waiting to)?"""
        return not self._open.is_set()

    def held_here(self) -> bool:
        """Does the current read scope hold a lease on this gate?"""
        held = _held.get()
        return held is not None and self in held

    async def lease(self) -> None:
        """Lease the numbering until the current read scope ends (waits while a switch runs,
        unless the scope already leases another collection). Raises NotLeased outside a
        scope."""
        held = _held.get()
        if held is None:
            raise NotLeased("a numbering lease is taken inside a read scope (@reads)")
        if self in held:
            return
        if not held:
            while not self._open.is_set():  # no checkpoint on the open path: reads stay cheap
                await self._open.wait()
        held.append(self)
        self._leases += 1

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """Hold the gate for one step of background work (not a read scope): waits while it
        is closed."""
        while not self._open.is_set():
            await self._open.wait()
        self._leases += 1
        try:
            yield
        finally:
            self.release()

    def release(self) -> None:
        self._leases -= 1
        if self._leases == 0 and self._drained is not None:
            self._drained.set()

    @asynccontextmanager
    async def closed(self) -> AsyncIterator[None]:
        """Close the gate and wait for the leases held to end; the body must not await (a
        scope leasing another collection may still come through while it does)."""
        self._open = trio.Event()
        try:
            while self._leases:
                self._drained = trio.Event()
                await self._drained.wait()
            yield
        finally:
            self._drained = None
            self._open.set()


def reads(service: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Run `service` in a read scope: leases taken inside it (CollectionManager.reading) end
    when it returns. Nested scopes join the outer one."""

    @functools.wraps(service)
    async def scoped(*args: P.args, **kwargs: P.kwargs) -> T:
        async with read_scope():
            return await service(*args, **kwargs)

    return scoped


@asynccontextmanager
async def read_scope(*gates: NumberingGate) -> AsyncIterator[None]:
    """A read scope (joining the current one, if any) holding leases on `gates` and on those
    leased inside it, until it ends."""
    if _held.get() is not None:
        for gate in gates:
            await gate.lease()
        yield
        return
    held: list[NumberingGate] = []
    token = _held.set(held)
    try:
        for gate in gates:
            await gate.lease()
        yield
    finally:
        _held.reset(token)
        for gate in held:
            gate.release()
