"""Migrations from empty to head and back (issue #2, item 8)."""

from __future__ import annotations

import dataclasses

import pytest

from caldavd.store.errors import SchedulingUIDConflict
from caldavd.store.model import NewCalendar
from caldavd.store.postgres.migrate import downgrade_to, head_revision, upgrade_to_head
from caldavd.store.postgres.pool import create_pool
from caldavd.store.postgres.store import PostgresStore
from caldavd.store.postgres.timerange import DISTANT_FUTURE, DISTANT_PAST
from tests.conftest import PgDatabase
from tests.store.builders import event, indexer

TABLES = {"calendar_home", "calendar", "calendar_bind", "calendar_object", "time_range",
          "revision", "dead_property", "delegate", "attachment", "attachment_link",
          "dav_resource", "attachment_trash", "maintenance_task", "alembic_version",
          "schedule_work", "schedule_delivery", "schedule_ledger"}


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
        store = PostgresStore(pool, indexer=indexer)
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
        store = PostgresStore(pool, indexer=indexer)
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


async def test_index_rows_and_horizons_of_older_schemas_are_repaired(
        pg_database: PgDatabase) -> None:
    """A database at 0006 may hold infinite rows (a to-do without dates): 0007's index
    counts them as long instead of failing, 0011 holds them to the store's finite bounds
    and sends objects that look wholly indexed but may not be (a recurrence, or no row
    at all) to a recheck."""
    await upgrade_to_head(pg_database.connect_kwargs)
    pool = await create_pool(pg_database.connect_kwargs, max_size=1)
    try:
        store = PostgresStore(pool, indexer=indexer)
        cal = await store.create_calendar(await store.ensure_home("alice"), NewCalendar("w"))
        for write in (event("todo"), event("yearly"), event("unindexed", instances=()),
                      event("plain")):
            await store.put_object(cal, write)
    finally:
        await pool.close()
    await downgrade_to(pg_database.connect_kwargs, "0006")
    conn = await pg_database.connect()
    try:
        await conn.execute("UPDATE time_range SET start_utc = '-infinity', end_utc = 'infinity'"
                           " WHERE calendar_object_id = (SELECT id FROM calendar_object"
                           " WHERE uid = 'todo')")
        await conn.execute("UPDATE calendar_object SET icalendar = replace(icalendar,"
                           " 'SUMMARY:x', E'RRULE:FREQ=YEARLY;INTERVAL=5\\r\\nSUMMARY:x')"
                           " WHERE uid = 'yearly'")
        await upgrade_to_head(pg_database.connect_kwargs)
        bounds = await conn.fetchrow("SELECT start_utc, end_utc FROM time_range t"
                                     " JOIN calendar_object o ON o.id = t.calendar_object_id"
                                     " WHERE o.uid = 'todo'")
        until = dict(await conn.fetch("SELECT uid, indexed_until FROM calendar_object"))
    finally:
        await conn.close()
    assert tuple(bounds) == (DISTANT_PAST, DISTANT_FUTURE)
    assert until == {"todo": None, "yearly": DISTANT_PAST, "unindexed": DISTANT_PAST,
                     "plain": None}


async def test_files_of_a_home_at_0013_count_in_its_quota_after_the_upgrade(
        pg_database: PgDatabase) -> None:
    """0014: plain files written before it count in quota_used (RFC 4331 §3) alongside
    objects and dead properties, and the trigger keeps it right afterwards."""
    await upgrade_to_head(pg_database.connect_kwargs)
    pool = await create_pool(pg_database.connect_kwargs, max_size=1)
    try:
        store = PostgresStore(pool, indexer=indexer)
        home = await store.ensure_home("alice")
        # Written at head: the store's write functions are those of head.
        obj, _ = await store.put_object(
            await store.create_calendar(home, NewCalendar("work")), event("u1"))
        await downgrade_to(pg_database.connect_kwargs, "0013")
        await pool.expire_connections()  # no plan cached from the functions of head
        await store.plain_mkcol(home, "files")
        await store.plain_put(home, "files/a", b"x" * 5000, "text/plain")
        await store.plain_put(home, "files/b", b"y" * 3000, "text/plain")
        folder = await store.plain(home, "files")
        assert folder is not None
        name, value = "{urn:x}n", '<ns0:n xmlns:ns0="urn:x">v</ns0:n>'
        await store.update_properties(home, None, folder.id, {name: value}, ())
        props = len(name) + len(value)
        assert await store.home_usage(home) == obj.size + props
        await upgrade_to_head(pg_database.connect_kwargs)
        assert await store.home_usage(home) == obj.size + props + 8000
        await store.plain_delete(home, "files")
        assert await store.home_usage(home) == obj.size
        await store.plain_mkcol(home, "files")
        await store.plain_put(home, "files/c", b"z" * 100, "text/plain")
        await downgrade_to(pg_database.connect_kwargs, "0013")
        assert await store.home_usage(home) == obj.size
    finally:
        await pool.close()


async def test_homes_at_0014_get_an_inbox_and_an_outbox(pg_database: PgDatabase) -> None:
    """0015 (RFC 6638 §2.2): every existing home gets its scheduling inbox and outbox,
    with revisions a home sync reports; one whose name "inbox" is taken (a plain folder
    here) keeps its folder; down again they go with what they hold."""
    await upgrade_to_head(pg_database.connect_kwargs)
    pool = await create_pool(pg_database.connect_kwargs, max_size=1)
    try:
        store = PostgresStore(pool, indexer=indexer)
        alice = await store.ensure_home("alice")
        bob = await store.ensure_home("bob")
        await store.add_inbox_item(alice, event("m").icalendar)
        await downgrade_to(pg_database.connect_kwargs, "0014")
        await store.plain_mkcol(bob, "inbox")
        await upgrade_to_head(pg_database.connect_kwargs)
        assert {c.name: c.kind for c in await store.collections(alice)} == {
            "inbox": "inbox", "outbox": "outbox"}
        assert {c.name: c.kind for c in await store.collections(bob)} == {"outbox": "outbox"}
        inbox = await store.calendar(alice, "inbox")
        assert inbox is not None and inbox.revision > 0
        assert await store.objects(inbox) == []
        changes, _ = await store.home_changes_since(alice, 0)
        assert {c.name for c in changes} == {"inbox", "outbox"}
    finally:
        await pool.close()
