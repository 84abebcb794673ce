"""The three delegation databases, each real: the main store's table, a PostgreSQL
database of its own (created empty, as an operator would), and a SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from caldavd.proxy.base import ProxyDB
from caldavd.proxy.factory import open_postgres_proxy_db
from caldavd.proxy.postgres import PostgresProxyDB
from caldavd.proxy.sqlite import SqliteProxyDB
from caldavd.store.postgres.migrate import upgrade_to_head
from caldavd.store.postgres.pool import create_pool
from tests.conftest import PgDatabase


@pytest.fixture(params=["main", "postgres", "sqlite"])
async def proxy_db(request: pytest.FixtureRequest, pg_database: PgDatabase,
                   empty_database: PgDatabase, tmp_path: Path) -> AsyncIterator[ProxyDB]:
    db: ProxyDB
    if request.param == "main":
        await upgrade_to_head(pg_database.connect_kwargs)
        pool = await create_pool(pg_database.connect_kwargs, 2)
        db = PostgresProxyDB(pool, main_store=True, owns_pool=True)
    elif request.param == "postgres":
        db = await open_postgres_proxy_db(empty_database.connect_kwargs)
    else:
        db = SqliteProxyDB(tmp_path / "proxies.sqlite")
    try:
        yield db
    finally:
        await db.close()
