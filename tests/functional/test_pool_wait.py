"""A request waits for a pooled database connection a few seconds at most, then gets
503 with Retry-After (DBPoolWaitSeconds), never a minute (issue 16 item 4).

The pool of one connection is held by a request whose statement waits for a lock
the test holds from its own connection: the next request finds no free connection.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg

from tests.conftest import PgDatabase
from tests.functional.conftest import CAL01, event, serving


async def test_a_request_that_finds_the_pool_busy_gets_503_soon(pg_database: PgDatabase,
                                                                tmp_path: Path) -> None:
    async with serving(pg_database, tmp_path, MaxDBConnectionsPerPool=1,
                       DBPoolWaitSeconds=1) as dav:
        assert (await dav.put(CAL01 + "a.ics", event("a"))).status == 201
        locker = await asyncpg.connect(**pg_database.connect_kwargs)
        try:
            holding = locker.transaction()
            await holding.start()
            await locker.execute("LOCK TABLE calendar_home IN ACCESS EXCLUSIVE MODE")
            held = asyncio.ensure_future(dav.request("GET", CAL01 + "a.ics"))
            await asyncio.sleep(0.5)  # it has the pool's one connection, waiting on the lock
            assert not held.done()
            started = time.monotonic()
            refused = await dav.request("GET", CAL01 + "a.ics")
            waited = time.monotonic() - started
            assert refused.status == 503
            assert refused.headers["Retry-After"] == "5"
            assert waited < 10, "bounded by DBPoolWaitSeconds, not by the held request"
            assert not held.done()
            await holding.rollback()
            assert (await held).status == 200
        finally:
            await locker.close()
        assert (await dav.request("GET", CAL01 + "a.ics")).status == 200
