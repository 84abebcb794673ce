"""Open the delegation database ``ProxyDBService`` names (the main store when unset)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg

from caldavd.config import Config
from caldavd.proxy.base import ProxyDB, ProxyDBError
from caldavd.proxy.postgres import PostgresProxyDB
from caldavd.proxy.schema import ensure_schema
from caldavd.proxy.sqlite import SqliteProxyDB
from caldavd.store.postgres.pool import create_pool

# Connections to a separate delegation database per worker: every request by a
# delegate reads it once, briefly.
PROXY_POOL_SIZE = 2


async def open_proxy_db(config: Config, main_pool: asyncpg.Pool) -> ProxyDB:
    service = config.ProxyDBService
    if service is None:
        return PostgresProxyDB(main_pool, main_store=True)
    if service.type == "ProxySqliteDB":
        return SqliteProxyDB(Path(service.params["dbpath"]))
    return await open_postgres_proxy_db(service.params, wait=config.DBPoolWaitSeconds)


async def check_proxy_db(config: Config) -> None:
    """A delegation database of its own reachable, its schema made or brought up to date
    (once, by the master, before any worker); ProxyDBError naming it otherwise."""
    service = config.ProxyDBService
    if service is None:
        return
    proxies: ProxyDB = (SqliteProxyDB(Path(service.params["dbpath"]))
                        if service.type == "ProxySqliteDB"
                        else await open_postgres_proxy_db(service.params))
    try:
        await proxies.delegates("", False)  # SQLite opens (and makes its tables) lazily
    finally:
        await proxies.close()


def proxy_connect_kwargs(params: Any) -> dict[str, object]:
    kwargs: dict[str, object] = {"host": params["host"], "database": params["database"],
                                 "user": params["user"]}
    if params.get("port") is not None:
        kwargs["port"] = params["port"]
    if params.get("password"):
        kwargs["password"] = params["password"]
    return kwargs


def describe_proxy_db(params: Any) -> str:
    """'host H, database D, user U' for error lines; never the password."""
    return (f"ProxyDBService (host {params['host']}, database {params['database']}, "
            f"user {params['user']})")


async def open_postgres_proxy_db(params: Any, *, wait: float | None = None) -> ProxyDB:
    """``wait``: how long a request waits for a pooled connection (DBPoolWaitSeconds)."""
    try:
        pool = await create_pool(proxy_connect_kwargs(params), PROXY_POOL_SIZE, wait=wait)
    except (OSError, asyncpg.PostgresError) as exc:
        raise ProxyDBError(f"{describe_proxy_db(params)}: cannot connect: {exc}") from None
    try:
        async with pool.acquire() as conn:
            await ensure_schema(conn)
    except (ProxyDBError, asyncpg.PostgresError) as exc:
        await pool.close()
        raise ProxyDBError(f"{describe_proxy_db(params)}: {exc}") from None
    return PostgresProxyDB(pool, main_store=False, owns_pool=True)
