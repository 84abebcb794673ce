"""A delegation database of its own bounds the wait for a pooled connection as the
main one does (DBPoolWaitSeconds, issue 16 item 4): busy, a lookup gives up soon."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest

from caldavd.proxy.factory import PROXY_POOL_SIZE, open_postgres_proxy_db
from caldavd.store import StoreBusy
from tests.conftest import PgDatabase


async def test_a_lookup_that_finds_the_pool_busy_gives_up(empty_database: PgDatabase) -> None:
    proxies = await open_postgres_proxy_db(empty_database.connect_kwargs, wait=1)
    locker = await asyncpg.connect(**empty_database.connect_kwargs)
    try:
        holding = locker.transaction()
        await holding.start()
        await locker.execute("LOCK TABLE delegate IN ACCESS EXCLUSIVE MODE")
        held = [asyncio.ensure_future(proxies.delegates(f"u{i}", False))
                for i in range(PROXY_POOL_SIZE)]
        await asyncio.sleep(0.5)  # each holds a connection, waiting on the lock
        started = time.monotonic()
        with pytest.raises(StoreBusy):
            await proxies.delegates("another", False)
        assert time.monotonic() - started < 10
        await holding.rollback()
        assert [await lookup for lookup in held] == [set()] * PROXY_POOL_SIZE
    finally:
        await locker.close()
        await proxies.close()
