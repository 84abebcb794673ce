"""The asyncpg pool: bounded by MaxDBConnectionsPerPool, errors become StoreUnavailable."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping

import asyncpg

from caldavd.store.errors import StoreUnavailable

# Connection-level failures: the database is down, restarting or unreachable.
UNAVAILABLE = (OSError, TimeoutError, asyncpg.CannotConnectNowError,
               asyncpg.ConnectionDoesNotExistError, asyncpg.InterfaceError,
               asyncpg.AdminShutdownError, asyncpg.TooManyConnectionsError,
               # A pooled connection that read the server's FATAL but not yet its EOF.
               asyncpg.InternalClientError)


async def create_pool(kwargs: Mapping[str, object], max_size: int) -> asyncpg.Pool:
    """A pool of at most ``max_size`` connections (opened lazily, one kept warm)."""
    return await asyncpg.create_pool(**kwargs, min_size=min(1, max_size), max_size=max_size,
                                     max_inactive_connection_lifetime=300.0, timeout=10.0,
                                     command_timeout=60.0, reset=_reset)


async def _reset(conn: asyncpg.Connection) -> None:
    """On release: only roll back what a cancelled request left open.

    asyncpg's default reset is a round trip per release (RESET ALL, UNLISTEN,
    advisory unlock); the store never changes session state (no SET, LISTEN,
    session-level advisory locks or cursors outside a transaction), so there is
    nothing else to undo.
    """
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


@contextlib.asynccontextmanager
async def connection(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    try:
        async with pool.acquire() as conn:
            yield conn
    except UNAVAILABLE as exc:
        raise StoreUnavailable(f"database unavailable: {type(exc).__name__}") from exc


@contextlib.asynccontextmanager
async def transaction(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    async with connection(pool) as conn, conn.transaction():
        yield conn
