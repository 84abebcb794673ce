"""The MaxRequests gate: slots, a bounded queue served in order, a bounded wait."""

from __future__ import annotations

import asyncio

from caldavd.http.limits import RequestGate


async def test_slots_then_queue_then_refusal() -> None:
    gate = RequestGate(limit=1, queue=1, wait=60)
    assert await gate.enter()
    queued = asyncio.create_task(gate.enter())
    await asyncio.sleep(0)
    assert not queued.done()
    assert not await gate.enter(), "the queue is full: refused at once"
    gate.leave()
    assert await queued, "the freed slot goes to the waiter"
    gate.leave()
    assert await gate.enter()


async def test_waiters_are_served_in_arrival_order() -> None:
    gate = RequestGate(limit=1, queue=3, wait=60)
    assert await gate.enter()
    order: list[int] = []

    async def wait(n: int) -> None:
        assert await gate.enter()
        order.append(n)

    tasks = [asyncio.create_task(wait(n)) for n in range(3)]
    await asyncio.sleep(0)
    for _ in range(3):
        gate.leave()
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2]


async def test_a_waiter_gives_up_after_the_wait() -> None:
    gate = RequestGate(limit=1, queue=1, wait=0.05)
    assert await gate.enter()
    assert not await gate.enter(), "refused after waiting its bounded time"
    assert not await asyncio.wait_for(gate.enter(), 30), "the queue has room again"
    gate.leave()
    assert await gate.enter()


async def test_a_cancelled_waiter_leaves_no_slot_behind() -> None:
    gate = RequestGate(limit=1, queue=2, wait=60)
    assert await gate.enter()
    cancelled = asyncio.create_task(gate.enter())
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.gather(cancelled, return_exceptions=True)
    nxt = asyncio.create_task(gate.enter())
    await asyncio.sleep(0)
    gate.leave()
    assert await nxt
    gate.leave()
    assert await gate.enter()
    assert not gate._waiters


async def test_idle_once_nothing_is_admitted_or_waiting() -> None:
    gate = RequestGate(limit=1, queue=1, wait=60)
    await gate.idle()  # nothing in flight: at once
    assert await gate.enter()
    queued = asyncio.create_task(gate.enter())
    idle = asyncio.create_task(gate.idle())
    await asyncio.sleep(0)
    assert gate.in_flight == 2
    gate.leave()
    assert await queued
    await asyncio.sleep(0)
    assert not idle.done(), "the waiter now holds the slot"
    gate.leave()
    await asyncio.wait_for(idle, 30)
    assert gate.in_flight == 0
