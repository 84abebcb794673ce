"""The asyncpg pool: bounded by MaxDBConnectionsPerPool, errors become StoreUnavailable.

A pooled connection can die while it waits in the pool (PostgreSQL restarted,
its backend terminated): asyncpg only notices when it next reads the socket,
and may first read the server's FATAL alone, before its EOF, which leaves the
connection open but unusable.  Such a connection is closed where it fails, never
put back for the next request, and the pool replaces the others it holds (they
are likely dead too); a read (``read``) then runs once more on a new
connection, since running it twice changes nothing.

A request waits for a pooled connection at most ``wait`` seconds
(``DBPoolWaitSeconds``), then gets StoreBusy: requests that hold every
connection for long (or a burst larger than the pool) make the others answer
503 with Retry-After soon, never wait for a minute.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from types import TracebackType
from typing import TypeVar

import asyncpg

from caldavd.store.errors import StoreBusy, StoreUnavailable
from caldavd.store.postgres.timing import CURRENT

T = TypeVar("T")

# Connection-level failures: the database is down, restarting or unreachable.
UNAVAILABLE = (OSError, TimeoutError, asyncpg.CannotConnectNowError,
               asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
               asyncpg.AdminShutdownError, asyncpg.CrashShutdownError,
               asyncpg.TooManyConnectionsError,
               # A pooled connection that read the server's FATAL but not yet its EOF.
               asyncpg.InternalClientError)


class _Died(Exception):
    """An acquired connection failed at connection level (the failure is ``__cause__``)."""


# Every statement is planned once per connection (asyncpg prepares each one).
# PostgreSQL otherwise plans a statement anew on each call for as long as a plan
# for the call's values looks cheaper than the generic one, which for the
# batched lookups (arrays of keys: a longer array never looks cheaper) is every
# call: planning was more than half of a batched URL lookup's database time and a
# quarter of a week query's.  No statement depends on its values for a good plan:
# lookups are by key, and the time-range query is bounded by its indexes on both
# sides (migration 0007).
SERVER_SETTINGS = {"plan_cache_mode": "force_generic_plan"}


def with_server_settings(kwargs: Mapping[str, object]) -> dict[str, object]:
    """``kwargs`` with SERVER_SETTINGS added; settings from the DSN win."""
    given = kwargs.get("server_settings")
    settings = {**SERVER_SETTINGS, **(given if isinstance(given, Mapping) else {})}
    return {**kwargs, "server_settings": settings}


class BoundedPool(asyncpg.Pool):  # type: ignore[misc]  # asyncpg has no types
    """An asyncpg pool whose ``acquire`` waits at most ``wait`` seconds (None: forever)."""

    __slots__ = ("wait",)

    def __init__(self, *args: object, wait: float | None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.wait = wait

    def acquire(self, *, timeout: float | None = None) -> object:
        return super().acquire(timeout=self.wait if timeout is None else timeout)


async def create_pool(kwargs: Mapping[str, object], max_size: int, *,
                      warm: bool = True, wait: float | None = None) -> asyncpg.Pool:
    """A pool of at most ``max_size`` connections (opened lazily, one kept warm unless
    ``warm`` is false: then creating it connects to nothing); a connection is waited
    for at most ``wait`` seconds (see the module's docstring)."""
    pool = BoundedPool(**with_server_settings(kwargs), wait=wait,
                       min_size=min(1, max_size) if warm else 0, max_size=max_size,
                       max_queries=50_000, max_inactive_connection_lifetime=300.0,
                       loop=None, connection_class=asyncpg.Connection,
                       record_class=asyncpg.Record, timeout=10.0, command_timeout=60.0,
                       reset=_reset)
    return await pool


async def _reset(conn: asyncpg.Connection) -> None:
    """On release: only roll back what a cancelled request left open.

    asyncpg's default reset is a round trip per release (RESET ALL, UNLISTEN,
    advisory unlock); the store never changes session state (no SET, LISTEN,
    session-level advisory locks or cursors outside a transaction), so there is
    nothing else to undo.
    """
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


def _unavailable(exc: BaseException) -> StoreUnavailable:
    return StoreUnavailable(f"database unavailable: {type(exc).__name__}")


class _Acquired:
    """A pooled connection; one that fails at connection level is closed, not put back.

    A class rather than a generator-based context manager: every statement goes
    through it, and a generator's enter and exit were ~5% of a GET.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._acquire = pool.acquire()
        self._conn: asyncpg.Connection | None = None
        self._started = 0.0

    async def __aenter__(self) -> asyncpg.Connection:
        self._started = time.perf_counter()
        try:
            self._conn = await self._acquire.__aenter__()
        except TimeoutError:
            # The pool's wait (a connection that is slow to open counts too).
            raise StoreBusy("no database connection became free in time") from None
        return self._conn

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            if self._conn is not None and isinstance(exc, UNAVAILABLE):
                await _discard(self._pool, self._conn)
                died = _Died()
                await self._acquire.__aexit__(_Died, died, None)
                raise died from exc
            await self._acquire.__aexit__(exc_type, exc, tb)
        finally:
            timer = CURRENT.get()
            if timer is not None:  # inside a request: its database time (timing.py)
                timer.seconds += time.perf_counter() - self._started
                timer.uses += 1


async def _discard(pool: asyncpg.Pool, conn: asyncpg.Connection) -> None:
    """Close ``conn`` (its protocol state is unknown) and have the pool replace the others.

    What killed it (a restart, terminated backends) has likely killed them too,
    and one may only have read its FATAL so far: it would look usable.
    """
    with contextlib.suppress(asyncpg.InterfaceError):  # it closed itself and went back
        conn.terminate()
    await pool.expire_connections()


@contextlib.asynccontextmanager
async def connection(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    try:
        async with _Acquired(pool) as conn:
            yield conn
    except _Died as died:
        raise _unavailable(died.__cause__ or died) from died.__cause__
    except UNAVAILABLE as exc:  # no connection to be had
        raise _unavailable(exc) from exc


async def read(pool: asyncpg.Pool, run: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """``run(conn)``, once more on a new connection if the pooled one turns out dead.

    Only for statements that change nothing: whether a failed one ran is unknown.
    A database that cannot be connected to is StoreUnavailable at once.
    """
    try:
        async with _Acquired(pool) as conn:
            return await run(conn)
    except _Died:
        pass
    except UNAVAILABLE as exc:
        raise _unavailable(exc) from exc
    async with connection(pool) as conn:
        return await run(conn)


@contextlib.asynccontextmanager
async def transaction(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    async with connection(pool) as conn, conn.transaction():
        yield conn
