"""Delegates in PostgreSQL: the main store's ``delegate`` table, or a database of their own.

In the main store (no ``ProxyDBService``), a change of delegates also moves the
delegator's home change token (migration 0008), in the same transaction, so
caches validated by it see the change.  A separate database
(``ProxyPostgreSQLDB``) gets its schema from ``caldavd.proxy.schema`` at first use.
"""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from caldavd.proxy.base import Access, Assignment, strongest
from caldavd.store.postgres.homes import move_token_of
from caldavd.store.postgres.pool import connection, transaction


class PostgresProxyDB:
    """``ProxyDB`` on an asyncpg pool whose database has the ``delegate`` table."""

    def __init__(self, pool: asyncpg.Pool, *, main_store: bool, owns_pool: bool = False) -> None:
        self._pool = pool
        self._main_store = main_store
        self._owns_pool = owns_pool

    async def delegates(self, delegator_uid: str, write: bool) -> set[str]:
        async with connection(self._pool) as conn:
            rows = await conn.fetch(
                "SELECT delegate_uid FROM delegate WHERE delegator_uid = $1 AND read_write = $2",
                delegator_uid, write)
        return {r["delegate_uid"] for r in rows}

    async def set_delegates(self, delegator_uid: str, write: bool,
                            delegate_uids: Iterable[str]) -> None:
        async with transaction(self._pool) as conn:
            if self._main_store:
                await move_token_of(conn, delegator_uid)
            await conn.execute(
                "DELETE FROM delegate WHERE delegator_uid = $1 AND read_write = $2",
                delegator_uid, write)
            await conn.executemany(
                "INSERT INTO delegate (delegator_uid, delegate_uid, read_write) "
                "VALUES ($1, $2, $3)",
                [(delegator_uid, uid, write) for uid in sorted(set(delegate_uids))])

    async def delegators(self, delegate_uids: Iterable[str], write: bool) -> set[str]:
        async with connection(self._pool) as conn:
            rows = await conn.fetch(
                "SELECT DISTINCT delegator_uid FROM delegate "
                "WHERE delegate_uid = ANY($1) AND read_write = $2",
                list(delegate_uids), write)
        return {r["delegator_uid"] for r in rows}

    async def access(self, delegator_uid: str, delegate_uids: Iterable[str]) -> Access | None:
        async with connection(self._pool) as conn:
            rows = await conn.fetch(
                "SELECT DISTINCT read_write FROM delegate "
                "WHERE delegator_uid = $1 AND delegate_uid = ANY($2)",
                delegator_uid, list(delegate_uids))
        return strongest(r["read_write"] for r in rows)

    async def assignments(self) -> list[Assignment]:
        async with connection(self._pool) as conn:
            rows = await conn.fetch(
                "SELECT delegator_uid, read_write, delegate_uid FROM delegate ORDER BY 1, 2, 3")
        return [Assignment(r[0], r[1], r[2]) for r in rows]

    async def close(self) -> None:
        if self._owns_pool:
            await self._pool.close()
