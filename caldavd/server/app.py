"""create_app(config): the one composition root.

Builds the database pool, the store and the directory in ``cleanup_ctx`` so
shutdown closes exactly what started; no global state, no work at import.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import asyncpg
from aiohttp import web

from caldavd.cache.memcached import PoolStores
from caldavd.cache.response import open_response_cache
from caldavd.caldav.index import index_rows
from caldavd.config import Config
from caldavd.directory.factory import open_directory
from caldavd.http.auth import authenticated
from caldavd.http.dispatch import dispatch, http_registry
from caldavd.http.errors import guarded
from caldavd.http.facts import observed
from caldavd.http.health import health
from caldavd.http.keys import (
    CONFIG,
    DB_POOL,
    DIRECTORY,
    EXPANSION_GATE,
    MEMCACHED_POOLS,
    PROXY_DB,
    REGISTRY,
    RESPONSE_CACHE,
    SCHEMA_STATUS,
    STATS,
    STORE,
    WORKER,
)
from caldavd.http.limits import limited
from caldavd.http.scheme import add_strict_transport_security, scheme_middlewares
from caldavd.http.statsview import metrics, publishing, stats_json
from caldavd.ops import upkeep
from caldavd.ops.stats import WorkerStats
from caldavd.proxy.factory import open_proxy_db
from caldavd.scheduling.processor import Processor
from caldavd.store.postgres.migrate import current_revision, head_revision
from caldavd.store.postgres.notify import SCHEDULE_CHANNEL, listen
from caldavd.store.postgres.params import connect_kwargs_for
from caldavd.store.postgres.pool import create_pool
from caldavd.store.postgres.store import PostgresStore

log = logging.getLogger(__name__)

# Largest request body accepted anywhere (attachments stream separately).
CLIENT_MAX_SIZE = 16 * 1024 * 1024
WELL_KNOWN = ("/.well-known/caldav", "/.well-known/caldav/")


async def well_known(request: web.Request) -> web.StreamResponse:
    """RFC 6764 §5: the context path of the CalDAV service is the root.

    307 (one of the codes §5 allows) keeps the method and body, so a client
    that follows the redirect with its PROPFIND body intact still asks for
    current-user-principal.
    """
    raise web.HTTPTemporaryRedirect("/")


def create_app(config: Config, worker: int = 0) -> web.Application:
    """The application; ``worker`` is its number under the master (0: run in-process)."""
    # Request bodies are decoded by the handlers (``target.body_chunks``), not by aiohttp.
    app = web.Application(client_max_size=CLIENT_MAX_SIZE,
                          handler_args={"auto_decompress": False},
                          middlewares=scheme_middlewares(config))
    app[CONFIG] = config
    add_strict_transport_security(app, config)
    app[WORKER] = worker
    app[REGISTRY] = http_registry()
    app[STATS] = WorkerStats()
    app[EXPANSION_GATE] = asyncio.Semaphore(2)
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_memcached_pools)
    app.cleanup_ctx.append(_directory)
    app.cleanup_ctx.append(_upkeep)  # database upkeep, one host at a time
    app.cleanup_ctx.append(_scheduling)  # the scheduling queue, worked from every host
    app.cleanup_ctx.append(publishing)  # statistics for the host's other workers
    # Only these answer without authentication; the well-known URI with or without the
    # slash (Apple's Calendar asks for /.well-known/caldav/).
    app.router.add_get("/health", guarded(health))
    for path in WELL_KNOWN:
        app.router.add_route("*", path, guarded(well_known))
    # Loopback, Stats.AllowedAddresses or administrators.
    app.router.add_get("/stats", guarded(stats_json))
    app.router.add_get("/metrics", guarded(metrics))
    # [\s\S], not ".": a decoded path may hold a newline (%0A), which "." does not match.
    app.router.add_route("*", r"/{path:[\s\S]*}",
                         observed(limited(app, guarded(authenticated(dispatch)))),
                         expect_handler=continue_expected)
    return app


async def continue_expected(request: web.Request) -> None:
    """``Expect: 100-continue`` (RFC 9110 §10.1.1): the interim answer, as aiohttp's own
    handler sends it, except that a client already gone is the hang-up it is (the
    handler then finds the body cut short), not an ERROR traceback."""
    if request.version < (1, 1):
        return
    if request.headers.get("Expect", "").lower() != "100-continue":
        raise web.HTTPExpectationFailed(text="only 100-continue is understood")
    try:
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    except ConnectionResetError:
        return
    request.writer.output_size = 0


async def _database(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    pool = await _pool(config)
    app[SCHEMA_STATUS] = (await _revision(pool), head_revision())
    app[DB_POOL] = pool
    app[STORE] = PostgresStore(pool, indexer=index_rows)  # the store's own time-range index
    try:
        proxies = await open_proxy_db(config, pool)
    except BaseException:
        await pool.close()
        raise
    app[PROXY_DB] = proxies
    try:
        yield
    finally:
        await proxies.close()
        await pool.close()


async def _pool(config: Config) -> asyncpg.Pool:
    """The worker's pool.  A database that is away when a worker starts (it was there
    when the master checked the schema) does not stop the worker: it answers 503, as
    any worker does during an outage, until the database is back."""
    kwargs = connect_kwargs_for(config)
    try:
        return await create_pool(kwargs, config.MaxDBConnectionsPerPool,
                                 wait=config.DBPoolWaitSeconds)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        log.warning("database unavailable at start (%s); answering 503 until it is back",
                    type(exc).__name__)
        return await create_pool(kwargs, config.MaxDBConnectionsPerPool, warm=False,
                                 wait=config.DBPoolWaitSeconds)


async def _revision(pool: asyncpg.Pool) -> str | None:
    """The schema revision found at start (None: the database was away)."""
    if pool.get_size() == 0:
        return None
    async with pool.acquire() as conn:
        return await current_revision(conn)


async def _memcached_pools(app: web.Application) -> AsyncIterator[None]:
    """One set of memcached connections per worker, shared by every cache (the response
    cache is made here too; the directory's comes next); closed last."""
    pools = PoolStores(app[CONFIG])
    app[MEMCACHED_POOLS] = pools
    app[RESPONSE_CACHE] = open_response_cache(app[CONFIG], pools)
    try:
        yield
    finally:
        await pools.close()


async def _directory(app: web.Application) -> AsyncIterator[None]:
    directory = open_directory(app[CONFIG], app[MEMCACHED_POOLS])
    app[DIRECTORY] = directory
    try:
        yield
    finally:
        await directory.close()



async def _upkeep(app: web.Application) -> AsyncIterator[None]:
    async with upkeep.running(app[CONFIG], app[STORE], app[WORKER]):
        yield


async def _scheduling(app: web.Application) -> AsyncIterator[None]:
    """The worker's claim loops, woken by the queue's notifications (a connection of
    their own), unless Scheduling.Enabled is false; stopped before the pool closes."""
    config = app[CONFIG]
    if not config.Scheduling.Enabled:
        yield
        return
    processor = Processor(app[STORE], config.Scheduling, counters=app[STATS].schedule)
    woken = listen(connect_kwargs_for(config), SCHEDULE_CHANNEL, processor.wake,
                   retry=max(config.Scheduling.PollSeconds, 1.0))
    async with processor.running(woken):
        yield
