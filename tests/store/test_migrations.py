"""Migrations from empty to head and back (issue #2, item 8)."""

from __future__ import annotations

from caldavd.store.postgres.migrate import downgrade_to, head_revision, upgrade_to_head
from tests.conftest import PgDatabase

TABLES = {"calendar_home", "calendar", "calendar_bind", "calendar_object", "time_range",
          "revision", "dead_property", "delegate", "attachment", "attachment_link",
          "dav_resource", "alembic_version"}


async def _tables(db: PgDatabase) -> set[str]:
    conn = await db.connect()
    try:
        rows = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {r["tablename"] for r in rows}
    finally:
        await conn.close()


async def test_empty_to_head_and_back(pg_database: PgDatabase) -> None:
    assert await _tables(pg_database) == set()

    up = await upgrade_to_head(pg_database.connect_kwargs)
    assert (up.before, up.after, up.changed) == (None, head_revision(), True)
    assert await _tables(pg_database) == TABLES

    again = await upgrade_to_head(pg_database.connect_kwargs)
    assert not again.changed

    down = await downgrade_to(pg_database.connect_kwargs, "base")
    assert down.before == head_revision()
    assert await _tables(pg_database) <= {"alembic_version"}

    conn = await pg_database.connect()
    try:
        assert await conn.fetchval("SELECT count(*) FROM pg_class WHERE relkind = 'S'") == 0
    finally:
        await conn.close()

    assert (await upgrade_to_head(pg_database.connect_kwargs)).changed
    assert await _tables(pg_database) == TABLES
