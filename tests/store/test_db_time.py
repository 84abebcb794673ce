"""Database time per request when requests share a statement (issue #17, item 7)."""

from __future__ import annotations

import asyncio

import pytest

from caldavd.store.model import Calendar
from caldavd.store.postgres.store import PostgresStore
from caldavd.store.postgres.timing import CURRENT, DBTimer


async def test_requests_whose_lookups_share_a_statement_share_its_time(
        store: PostgresStore, cal: Calendar) -> None:
    """Four requests locate their URLs in one loop iteration: one batched statement on one
    pooled connection serves them, and each is charged a quarter of it (the first request
    used to be charged all of it, the others nothing)."""

    async def request(name: str) -> DBTimer:
        timer = DBTimer()
        CURRENT.set(timer)
        home, found, _ = await store.locate("alice", cal.name, name)
        assert home is not None and found is not None
        return timer

    timers = await asyncio.gather(*(request(f"{n}.ics") for n in range(4)))
    assert [t.uses for t in timers] == [1, 1, 1, 1]
    first = timers[0].seconds
    assert first > 0
    assert [t.seconds for t in timers] == pytest.approx([first] * 4)
