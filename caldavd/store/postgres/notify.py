"""LISTEN on a connection of its own: a callback for every NOTIFY on a channel.

The scheduling queue's tables notify ``caldavd_schedule`` when rows are inserted
(migration 0016; delivered at commit), so an idle processor on any host wakes at
once.  The listening connection is not one of the request pool (asyncpg's pool
resets a connection it takes back, listeners included): a worker opens one more.
When it cannot connect, or the connection is lost, it tries again every
``retry`` seconds; meanwhile the processor polls, and ``wake`` is called once on
every (re)connection, for what was missed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

import asyncpg

from caldavd.store.postgres.pool import UNAVAILABLE

log = logging.getLogger(__name__)

SCHEDULE_CHANNEL = "caldavd_schedule"
CONNECT_TIMEOUT = 10.0


async def listen(kwargs: Mapping[str, object], channel: str, wake: Callable[[], None],
                 *, retry: float = 5.0) -> None:
    """``wake()`` on every notification on ``channel``, until cancelled."""
    while True:
        try:
            conn = await asyncpg.connect(**kwargs, timeout=CONNECT_TIMEOUT)
        except (*UNAVAILABLE, asyncpg.PostgresError) as exc:
            log.debug("LISTEN %s: cannot connect (%s); polling", channel, type(exc).__name__)
            await asyncio.sleep(retry)
            continue
        try:
            await _listen_on(conn, channel, wake)
        except (*UNAVAILABLE, asyncpg.PostgresError) as exc:
            log.debug("LISTEN %s: connection lost (%s)", channel, type(exc).__name__)
        finally:
            conn.terminate()
        await asyncio.sleep(retry)


async def _listen_on(conn: asyncpg.Connection, channel: str, wake: Callable[[], None]) -> None:
    """Until ``conn`` is lost."""
    lost = asyncio.Event()
    conn.add_termination_listener(lambda _: lost.set())
    await conn.add_listener(channel, lambda *_: wake())
    wake()  # whatever was queued while nobody listened
    await lost.wait()
