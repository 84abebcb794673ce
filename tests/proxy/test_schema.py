"""A delegation database of its own: the operator creates it empty, caldavd keeps its schema."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from caldavd.proxy.base import ProxyDBError
from caldavd.proxy.factory import open_postgres_proxy_db
from caldavd.proxy.schema import STEPS, VERSION
from tests.conftest import PgDatabase, free_port


async def _tables(db: PgDatabase) -> set[str]:
    conn = await db.connect()
    try:
        return {r[0] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    finally:
        await conn.close()


async def _version(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT version FROM caldavd_proxy_schema"))


async def test_an_empty_database_gets_the_schema_at_first_use(
        empty_database: PgDatabase) -> None:
    assert await _tables(empty_database) == set()
    proxies = await open_postgres_proxy_db(empty_database.connect_kwargs)
    try:
        await proxies.set_delegates("boss", True, ["assistant"])
    finally:
        await proxies.close()
    assert await _tables(empty_database) == {"delegate", "caldavd_proxy_schema"}
    conn = await empty_database.connect()
    try:
        assert await _version(conn) == VERSION
    finally:
        await conn.close()


async def test_an_older_schema_is_upgraded_and_keeps_its_rows(
        empty_database: PgDatabase) -> None:
    conn = await empty_database.connect()
    try:
        await conn.execute("CREATE TABLE caldavd_proxy_schema (version integer NOT NULL)")
        for statement in STEPS[1]:
            await conn.execute(statement)
        await conn.execute("INSERT INTO caldavd_proxy_schema VALUES (1)")
        await conn.execute("INSERT INTO delegate VALUES ('boss', 'assistant', true)")
        proxies = await open_postgres_proxy_db(empty_database.connect_kwargs)
        try:
            assert await proxies.delegates("boss", True) == {"assistant"}
        finally:
            await proxies.close()
        assert await _version(conn) == VERSION
        assert await conn.fetchval("SELECT count(created) FROM delegate") == 1
    finally:
        await conn.close()


async def test_a_newer_schema_is_refused(empty_database: PgDatabase) -> None:
    conn = await empty_database.connect()
    try:
        await conn.execute("CREATE TABLE caldavd_proxy_schema (version integer NOT NULL)")
        await conn.execute("INSERT INTO caldavd_proxy_schema VALUES ($1)", VERSION + 1)
    finally:
        await conn.close()
    with pytest.raises(ProxyDBError, match=f"schema version {VERSION + 1}, newer"):
        await open_postgres_proxy_db(empty_database.connect_kwargs)


async def test_hosts_starting_together_create_it_once(empty_database: PgDatabase) -> None:
    opened = await asyncio.gather(*(open_postgres_proxy_db(empty_database.connect_kwargs)
                                    for _ in range(4)))
    try:
        await opened[0].set_delegates("boss", False, ["a"])
        assert await opened[3].delegates("boss", False) == {"a"}
    finally:
        for proxies in opened:
            await proxies.close()


async def test_an_unreachable_database_is_named_without_its_password() -> None:
    params = {"host": "127.0.0.1", "port": free_port(), "database": "proxies",
              "user": "caldav", "password": "s3cret-pw"}
    with pytest.raises(ProxyDBError) as caught:
        await open_postgres_proxy_db(params)
    message = str(caught.value)
    assert "host 127.0.0.1, database proxies, user caldav" in message
    assert "s3cret-pw" not in message
