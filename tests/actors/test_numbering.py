"""The numbering lease: reads hold it for their whole scope, a switch waits for them."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from zoro.actors.numbering import NotLeased, NumberingGate, read_scope, reads


async def test_a_lease_is_taken_only_inside_a_read_scope() -> None:
    gate = NumberingGate()
    with pytest.raises(NotLeased):
        await gate.lease()
    async with read_scope(gate):
        assert gate.held_here()
        assert gate.leases == 1
        await gate.lease()  # again in the same scope: the one lease
        assert gate.leases == 1
    assert not gate.held_here()
    assert gate.leases == 0


async def test_a_switch_waits_for_the_leases_held_and_new_ones_wait_for_it() -> None:
    gate = NumberingGate()
    order: list[str] = []
    read_may_end = trio.Event()

    @reads
    async def long_read() -> None:
        await gate.lease()
        order.append("read")
        await read_may_end.wait()
        order.append("read ends")

    async def switch() -> None:
        async with gate.closed():
            order.append("switch")

    @reads
    async def late_read() -> None:
        await gate.lease()
        order.append("late read")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(long_read)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(switch)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(late_read)
        await trio.testing.wait_all_tasks_blocked()
        assert order == ["read"]  # the switch waits for the read, the late read for the switch
        read_may_end.set()
    assert order == ["read", "read ends", "switch", "late read"]
    assert gate.leases == 0


async def test_a_scope_holding_one_lease_is_let_through_another_closed_gate() -> None:
    """Two reads each holding one collection and wanting the other, while both collections
    switch: without letting a holder through, each switch waits for a read that waits for the
    other switch."""
    a, b = NumberingGate(), NumberingGate()
    both_hold = trio.Event()
    held: list[str] = []
    switched: list[str] = []

    @reads
    async def read(first: NumberingGate, second: NumberingGate, name: str) -> None:
        await first.lease()
        held.append(name)
        if len(held) == 2:
            both_hold.set()
        await both_hold.wait()
        await trio.testing.wait_all_tasks_blocked()  # both switches are waiting now
        await second.lease()

    async def switch(gate: NumberingGate, name: str) -> None:
        await both_hold.wait()
        async with gate.closed():
            switched.append(name)

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(read, a, b, "x")
            nursery.start_soon(read, b, a, "y")
            nursery.start_soon(switch, a, "a")
            nursery.start_soon(switch, b, "b")
    assert sorted(switched) == ["a", "b"]
    assert a.leases == b.leases == 0


async def test_background_work_holds_the_gate_step_by_step() -> None:
    gate = NumberingGate()
    steps: list[str] = []
    step_may_end = trio.Event()

    async def builder() -> None:
        async with gate.held():
            steps.append("step")
            await step_may_end.wait()
        async with gate.held():  # the next step waits for the switch
            steps.append("next step")

    async def switch() -> None:
        async with gate.closed():
            steps.append("switch")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(builder)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(switch)
        await trio.testing.wait_all_tasks_blocked()
        step_may_end.set()
    assert steps == ["step", "switch", "next step"]
