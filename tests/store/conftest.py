"""Store fixtures: a migrated database and a PostgresStore on a small pool."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from caldavd.store.interface import Store
from caldavd.store.model import Calendar, Home, NewCalendar
from caldavd.store.postgres.migrate import upgrade_to_head
from caldavd.store.postgres.pool import create_pool
from caldavd.store.postgres.store import PostgresStore
from tests.conftest import PgDatabase
from tests.store.builders import indexer


@pytest.fixture
async def store(pg_database: PgDatabase) -> AsyncIterator[Store]:
    await upgrade_to_head(pg_database.connect_kwargs)
    pool = await create_pool(pg_database.connect_kwargs, max_size=4)
    try:
        yield PostgresStore(pool, indexer=indexer)
    finally:
        await pool.close()


@pytest.fixture
def db(store: Store, db: asyncpg.Connection) -> asyncpg.Connection:
    """The root ``db`` (a direct connection to the store's database, to look at or set up
    rows), opened once the store has migrated it."""
    return db


@pytest.fixture
async def home(store: Store) -> Home:
    return await store.ensure_home("alice")


@pytest.fixture
async def cal(store: Store, home: Home) -> Calendar:
    return await store.create_calendar(home, NewCalendar("work"))
