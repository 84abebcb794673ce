"""The pool's session settings (caldavd.store.postgres.pool.SERVER_SETTINGS)."""

from __future__ import annotations

from caldavd.store.postgres.pool import create_pool, with_server_settings
from tests.conftest import PgDatabase


async def test_pooled_connections_plan_each_statement_once(pg_database: PgDatabase) -> None:
    pool = await create_pool(pg_database.connect_kwargs, max_size=1)
    try:
        async with pool.acquire() as conn:
            assert await conn.fetchval("SHOW plan_cache_mode") == "force_generic_plan"
    finally:
        await pool.close()


async def test_settings_from_the_dsn_win(pg_database: PgDatabase) -> None:
    kwargs = {**pg_database.connect_kwargs,
              "server_settings": {"plan_cache_mode": "auto", "application_name": "ops"}}
    pool = await create_pool(kwargs, max_size=1)
    try:
        async with pool.acquire() as conn:
            assert await conn.fetchval("SHOW plan_cache_mode") == "auto"
            assert await conn.fetchval("SHOW application_name") == "ops"
    finally:
        await pool.close()


def test_settings_are_added_without_changing_the_callers_arguments() -> None:
    given = {"host": "db", "server_settings": {"application_name": "ops"}}
    merged = with_server_settings(given)
    assert merged["server_settings"] == {"plan_cache_mode": "force_generic_plan",
                                         "application_name": "ops"}
    assert given == {"host": "db", "server_settings": {"application_name": "ops"}}
