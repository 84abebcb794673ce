"""The cluster manager really runs PostgreSQL (the fixture proves start; this proves use)."""

from __future__ import annotations

from tests.conftest import PgDatabase


async def test_fresh_database_is_usable(pg_database: PgDatabase) -> None:
    conn = await pg_database.connect()
    try:
        assert await conn.fetchval("SELECT current_database()") == pg_database.name
        assert await conn.fetchval("SHOW listen_addresses") == "127.0.0.1"
    finally:
        await conn.close()
