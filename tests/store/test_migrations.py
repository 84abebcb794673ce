"""Migrations from empty to head and back (issue #2, item 8)."""

from __future__ import annotations

import dataclasses

import pytest

from caldavd.store.errors import SchedulingUIDConflict
from caldavd.store.model import NewCalendar
from caldavd.store.postgres.migrate import downgrade_to, head_revision, upgrade_to_head
from caldavd.store.postgres.pool import create_pool
from caldavd.store.postgres.store import PostgresStore
from tests.conftest import PgDatabase
from tests.store.builders import event

TABLES = {"calendar_home", "calendar", "calendar_bind", "calendar_object", "time_range",
          "revision", "dead_property", "delegate", "attachment", "attachment_link",
          "dav_resource", "attachment_trash", "maintenance_task", "alembic_version"}


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


async def _write_functions(db: PgDatabase) -> set[str]:
    conn = await db.connect()
    try:
        rows = await conn.fetch("SELECT proname FROM pg_proc WHERE proname LIKE 'caldav\\_%'")
        return {r["proname"] for r in rows}
    finally:
        await conn.close()


async def test_write_functions_down_and_up(pg_database: PgDatabase) -> None:
    """0005 and 0006 only add functions and 0012 replaces them: down to 0004 and back
    keeps every object, and the store works at head again."""
    with_0005 = {"caldav_put_object", "caldav_delete_object", "caldav_move_object",
                 "caldav_etag_status"}
    await upgrade_to_head(pg_database.connect_kwargs)
    assert await _write_functions(pg_database) == with_0005 | {"caldav_put_objects"}
    pool = await create_pool(pg_database.connect_kwargs, max_size=1)
    try:
        store = PostgresStore(pool)
        home = await store.ensure_home("alice")
        cal = await store.create_calendar(home, NewCalendar("work"))
        written, _ = await store.put_object(cal, event("u1"))

        down = await downgrade_to(pg_database.connect_kwargs, "0005")
        assert (down.before, down.after) == (head_revision(), "0005")
        assert await _write_functions(pg_database) == with_0005
        assert await store.object(cal, "u1.ics") == written

        await downgrade_to(pg_database.connect_kwargs, "0004")
        assert await _write_functions(pg_database) == set()
        assert await store.object(cal, "u1.ics") == written

        await upgrade_to_head(pg_database.connect_kwargs)
        await store.put_object(cal, event("u2"))
        await store.delete_object(cal, "u1.ics")
        assert [o.uid for o in await store.objects(cal)] == ["u2"]
    finally:
        await pool.close()


async def test_uid_scope_upgrade_marks_objects_with_an_organizer(
        pg_database: PgDatabase) -> None:
    """0012: existing objects with an ORGANIZER stay unique per home (scheduling); the
    others become unique per calendar only."""
    await upgrade_to_head(pg_database.connect_kwargs)
    pool = await create_pool(pg_database.connect_kwargs, max_size=1)
    try:
        store = PostgresStore(pool)
        home = await store.ensure_home("alice")
        cal = await store.create_calendar(home, NewCalendar("work"))
        other = await store.create_calendar(home, NewCalendar("other"))
        await store.put_object(cal, dataclasses.replace(event("met"), organizer="mailto:a@x"))
        await store.put_object(cal, event("plain"))
        await downgrade_to(pg_database.connect_kwargs, "0010")
        await upgrade_to_head(pg_database.connect_kwargs)
        conn = await pg_database.connect()
        try:
            marked = await conn.fetch("SELECT uid, scheduling FROM calendar_object ORDER BY uid")
        finally:
            await conn.close()
        assert [(r["uid"], r["scheduling"]) for r in marked] == [("met", True),
                                                                 ("plain", False)]
        assert (await store.put_object(other, event("plain")))[1] is True
        with pytest.raises(SchedulingUIDConflict):
            await store.put_object(other, dataclasses.replace(event("met"), scheduling=True))
    finally:
        await pool.close()
