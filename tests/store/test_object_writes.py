"""Calendar object writes as one statement each (migration 0005): the statuses of
the write functions as domain errors, the home lock, races between hosts."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from caldavd.store.errors import (
    AlreadyExists,
    ETagMismatch,
    NotFound,
    QuotaExceeded,
    ReadOnly,
    StoreError,
    UIDConflict,
)
from caldavd.store.model import Calendar, Home, NewCalendar
from caldavd.store.postgres import object_writes
from caldavd.store.postgres.pool import create_pool
from caldavd.store.postgres.store import PostgresStore
from tests.conftest import PgDatabase
from tests.store.builders import count, event


async def _share(db: asyncpg.Connection, store: PostgresStore, calendar: Calendar,
                 sharee: Home, mode: str) -> Calendar:
    await db.execute("INSERT INTO calendar_bind (home_id, calendar_id, name, mode) "
                     "VALUES ($1, $2, 'shared', $3)", sharee.id, calendar.id, mode)
    bound = await store.calendar(sharee, "shared")
    assert bound is not None
    return bound


# -- one statement, no transaction block ----------------------------------------------


@pytest.fixture
async def logged(store: PostgresStore,
                 pg_database: PgDatabase) -> AsyncIterator[tuple[PostgresStore, list[str]]]:
    """A store on one connection that records the statements it sends (but not
    asyncpg's default reset on release, which the store's own pool leaves out)."""
    statements: list[str] = []

    def record(logged: asyncpg.connection.LoggedQuery) -> None:
        if not logged.query.startswith("SELECT pg_advisory_unlock_all()"):
            statements.append(logged.query)

    async def init(conn: asyncpg.Connection) -> None:
        conn.add_query_logger(record)

    pool = await asyncpg.create_pool(**pg_database.connect_kwargs, min_size=1, max_size=1,
                                     init=init)
    try:
        yield PostgresStore(pool), statements
    finally:
        await pool.close()


async def test_put_delete_and_move_are_one_statement_each(
        logged: tuple[PostgresStore, list[str]], home: Home, cal: Calendar) -> None:
    store, statements = logged
    other = await store.create_calendar(home, NewCalendar("other"))
    await store.put_object(cal, event("warm-up"))  # asyncpg looks up array types once
    steps = [lambda: store.put_object(cal, event("u1")),
             lambda: store.put_object(cal, event("u1", summary="replaced")),
             lambda: store.move_object(cal, "u1.ics", other, "u1.ics", overwrite=False),
             lambda: store.delete_object(other, "u1.ics")]
    for step in steps:
        statements.clear()
        await step()
        assert len(statements) == 1, statements
        assert "BEGIN" not in statements[0].upper()


async def test_the_written_object_is_what_a_read_returns(store: PostgresStore,
                                                         cal: Calendar) -> None:
    write = dataclasses.replace(event("u1"), organizer="mailto:a@example.com",
                                schedule_tag="st-1")
    for summary in ("first", "second"):
        written, _ = await store.put_object(cal, dataclasses.replace(
            write, icalendar=write.icalendar.replace("SUMMARY:x", f"SUMMARY:{summary}")))
        assert written == await store.object(cal, "u1.ics")


# -- the home lock ----------------------------------------------------------------------


async def test_a_put_waits_for_the_homes_lock(store: PostgresStore, home: Home, cal: Calendar,
                                              db: asyncpg.Connection) -> None:
    """Writes to one home are serialised: the function takes the home's row lock."""
    async with db.transaction():
        await db.execute("SELECT 1 FROM calendar_home WHERE id = $1 FOR NO KEY UPDATE", home.id)
        pending = asyncio.ensure_future(store.put_object(cal, event("u1")))
        await asyncio.sleep(0.3)
        assert not pending.done()
        # Written while the PUT waited: the PUT's checks see it once the lock is granted.
        await db.execute("INSERT INTO calendar_object (calendar_id, home_id, name, uid, "
                         "component_type, icalendar, etag, size) VALUES "
                         "($1, $2, 'holder.ics', 'u1', 'VEVENT', 'x', 'e', 1)",
                         cal.id, home.id)
    with pytest.raises(UIDConflict) as caught:
        await pending
    assert (caught.value.calendar_name, caught.value.object_name) == ("work", "holder.ics")


async def test_same_uid_puts_from_two_hosts_leave_one_object(
        store: PostgresStore, pg_database: PgDatabase, home: Home, cal: Calendar,
        db: asyncpg.Connection) -> None:
    other = await store.create_calendar(home, NewCalendar("other"))
    second_pool = await create_pool(pg_database.connect_kwargs, max_size=4)
    try:
        hosts, targets = [store, PostgresStore(second_pool)], [cal, other]
        results = await asyncio.gather(
            *(hosts[i % 2].put_object(targets[i // 2 % 2], event("u1", name=f"n{i}.ics"))
              for i in range(12)), return_exceptions=True)
    finally:
        await second_pool.close()
    winners = [r for r in results if isinstance(r, tuple)]
    assert len(winners) == 1, results
    assert all(isinstance(r, UIDConflict) for r in results if r not in winners)
    assert await count(db, "calendar_object") == 1
    assert await count(db, "time_range") == 1
    assert await count(db, "revision WHERE name LIKE 'n%'") == 1


# -- statuses as domain errors ----------------------------------------------------------


async def test_home_gone_is_not_found(store: PostgresStore, home: Home, cal: Calendar,
                                      db: asyncpg.Connection) -> None:
    await store.put_object(cal, event("u1"))
    await db.execute("DELETE FROM calendar_home WHERE id = $1", home.id)
    with pytest.raises(NotFound):
        await store.put_object(cal, event("u2"))
    with pytest.raises(NotFound):
        await store.delete_object(cal, "u1.ics")
    with pytest.raises(NotFound):
        await store.move_object(cal, "u1.ics", cal, "u3.ics", overwrite=False)


async def test_unbound_sharee_writes_are_not_found(store: PostgresStore, cal: Calendar,
                                                   db: asyncpg.Connection) -> None:
    """The binding checked is the writer's own, not the owner's."""
    bob = await store.ensure_home("bob")
    shared = await _share(db, store, cal, bob, "write")
    own, _ = await store.put_object(cal, event("u2"))
    await db.execute("DELETE FROM calendar_bind WHERE home_id = $1", bob.id)
    with pytest.raises(NotFound):
        await store.put_object(shared, event("u1"))
    with pytest.raises(NotFound):
        await store.delete_object(shared, "u2.ics")
    with pytest.raises(NotFound):
        await store.move_object(cal, "u2.ics", shared, "u2.ics", overwrite=False)
    assert [o.id for o in await store.objects(cal)] == [own.id]


async def test_binding_made_read_only_meanwhile_refuses(store: PostgresStore, cal: Calendar,
                                                        db: asyncpg.Connection) -> None:
    bob = await store.ensure_home("bob")
    shared = await _share(db, store, cal, bob, "write")
    await store.put_object(cal, event("u1"))
    await db.execute("UPDATE calendar_bind SET mode = 'read' WHERE home_id = $1", bob.id)
    with pytest.raises(ReadOnly):
        await store.put_object(shared, event("u2"))
    with pytest.raises(ReadOnly):
        await store.delete_object(shared, "u1.ics")
    with pytest.raises(ReadOnly):
        await store.move_object(cal, "u1.ics", shared, "moved.ics", overwrite=False)
    assert [o.name for o in await store.objects(cal)] == ["u1.ics"]


async def test_conditions_each_refuse_with_etag_mismatch(store: PostgresStore,
                                                         cal: Calendar) -> None:
    first, _ = await store.put_object(cal, event("u1"))
    changed = event("u1", summary="new")
    with pytest.raises(ETagMismatch, match="exists"):
        await store.put_object(cal, changed, if_none_match=True)
    with pytest.raises(ETagMismatch, match="ETag differs"):
        await store.put_object(cal, changed, if_match=["stale"])
    with pytest.raises(ETagMismatch, match="does not exist"):
        await store.put_object(cal, event("u2"), if_match=["*"])
    with pytest.raises(ETagMismatch, match="ETag differs"):
        await store.delete_object(cal, "u1.ics", if_match=["stale"])
    stored = await store.object(cal, "u1.ics")
    assert stored is not None and stored.etag == first.etag


async def test_changing_the_uid_names_the_object_itself(store: PostgresStore,
                                                        cal: Calendar) -> None:
    await store.put_object(cal, event("u1", name="e.ics"))
    with pytest.raises(UIDConflict) as caught:
        await store.put_object(cal, event("u2", name="e.ics"))
    assert (caught.value.calendar_name, caught.value.object_name) == ("work", "e.ics")


async def test_quota_counts_the_replaced_object_once(store: PostgresStore, home: Home,
                                                     cal: Calendar) -> None:
    write = event("u1")
    size = len(write.icalendar.encode())
    await store.put_object(cal, write, quota=size)
    await store.put_object(cal, write, quota=size)  # replacing: the old size is not counted
    with pytest.raises(QuotaExceeded, match=f"{size * 2} bytes would exceed the quota of "
                                            f"{size * 2 - 1}"):
        await store.put_object(cal, event("u2"), quota=size * 2 - 1)
    assert await store.home_usage(home) == size


async def test_refused_move_leaves_the_target_alone(store: PostgresStore, cal: Calendar,
                                                    db: asyncpg.Connection) -> None:
    """Every check runs before the first write: a UID conflict keeps the object the
    move would have replaced."""
    bob = await store.ensure_home("bob")
    theirs = await store.create_calendar(bob, NewCalendar("theirs"))
    await store.put_object(theirs, event("u1", name="holder.ics"))
    victim, _ = await store.put_object(theirs, event("v", name="taken.ics"))
    await store.put_object(cal, event("u1"))
    with pytest.raises(UIDConflict):
        await store.move_object(cal, "u1.ics", theirs, "taken.ics", overwrite=True)
    kept = await store.object(theirs, "taken.ics")
    assert kept is not None and kept.id == victim.id
    assert await count(db, "time_range WHERE calendar_object_id = $1", victim.id) == 1
    with pytest.raises(AlreadyExists):
        await store.move_object(cal, "u1.ics", theirs, "taken.ics", overwrite=False)


async def test_move_may_replace_the_uids_holder_itself(store: PostgresStore,
                                                       cal: Calendar) -> None:
    bob = await store.ensure_home("bob")
    theirs = await store.create_calendar(bob, NewCalendar("theirs"))
    await store.put_object(theirs, event("u1", name="holder.ics"))
    mine, _ = await store.put_object(cal, event("u1"))
    moved, created = await store.move_object(cal, "u1.ics", theirs, "holder.ics",
                                             overwrite=True)
    assert created is False and moved.id == mine.id
    assert await store.find_uid(bob, "u1") == ("theirs", "holder.ics")


CALENDAR = Calendar(id=2, home_id=1, owner_home_id=1, name="work", mode="own",
                    supported_components=None, created=datetime.now(UTC),
                    modified=datetime.now(UTC), revision=0)


@pytest.mark.parametrize(("status", "error"), [
    ("no-home", NotFound), ("unbound", NotFound), ("missing", NotFound),
    ("read-only", ReadOnly), ("exists", ETagMismatch), ("no-match", ETagMismatch),
    ("etag-differs", ETagMismatch), ("target-exists", AlreadyExists),
    ("uid-changed", UIDConflict)])
def test_every_status_has_its_domain_error(status: str, error: type[StoreError]) -> None:
    assert type(object_writes.refusal(status, CALENDAR, "e.ics")) is error


def test_an_unknown_status_is_a_store_error_not_success() -> None:
    refusal = object_writes.refusal("surprise", CALENDAR, "e.ics")
    assert type(refusal) is StoreError and "surprise" in str(refusal)
