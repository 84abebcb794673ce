"""Calendar object writes as one statement each (migration 0005): the statuses of
the write functions as domain errors, the home lock, races between hosts."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import pytest

from caldavd.store.errors import (
    AlreadyExists,
    DestinationExists,
    ETagMismatch,
    NotFound,
    QuotaExceeded,
    ReadOnly,
    SchedulingUIDConflict,
    StoreError,
    UIDConflict,
)
from caldavd.store.interface import Store
from caldavd.store.model import Calendar, Home, NewCalendar
from caldavd.store.postgres import object_writes, put_batch
from caldavd.store.postgres.pool import create_pool
from caldavd.store.postgres.store import PostgresStore
from tests.conftest import PgDatabase
from tests.store.builders import DAY, HOUR, T0, count, event, indexer, row, unstorable_row


async def _share(db: asyncpg.Connection, store: Store, calendar: Calendar,
                 sharee: Home, mode: str) -> Calendar:
    await db.execute("INSERT INTO calendar_bind (home_id, calendar_id, name, mode) "
                     "VALUES ($1, $2, 'shared', $3)", sharee.id, calendar.id, mode)
    bound = await store.calendar(sharee, "shared")
    assert bound is not None
    return bound


# -- one statement, no transaction block ----------------------------------------------


@pytest.fixture
async def logged(store: Store,
                 pg_database: PgDatabase) -> AsyncIterator[tuple[Store, list[str]]]:
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
        yield PostgresStore(pool, indexer=indexer), statements
    finally:
        await pool.close()


async def test_put_delete_and_move_are_one_statement_each(
        logged: tuple[Store, list[str]], home: Home, cal: Calendar) -> None:
    store, statements = logged
    other = await store.create_calendar(home, NewCalendar("other"))
    await store.put_object(cal, event("warm-up"))  # asyncpg looks up array types once
    steps: list[Callable[[], Awaitable[object]]] = [
             lambda: store.put_object(cal, event("u1")),
             lambda: store.put_object(cal, event("u1", summary="replaced")),
             lambda: store.move_object(cal, "u1.ics", other, "u1.ics", overwrite=False),
             lambda: store.delete_object(other, "u1.ics")]
    for step in steps:
        statements.clear()
        await step()
        assert len(statements) == 1, statements
        assert "BEGIN" not in statements[0].upper()


async def test_the_written_object_is_what_a_read_returns(store: Store,
                                                         cal: Calendar) -> None:
    write = dataclasses.replace(event("u1"), organizer="mailto:a@example.com",
                                scheduling=True)
    for summary in ("first", "second"):
        written, _ = await store.put_object(cal, dataclasses.replace(
            write, icalendar=write.icalendar.replace("SUMMARY:x", f"SUMMARY:{summary}")))
        assert written == await store.object(cal, "u1.ics")


# -- the home lock ----------------------------------------------------------------------


async def test_a_put_waits_for_the_homes_lock(store: Store, home: Home, cal: Calendar,
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


@pytest.mark.parametrize(("scheduling", "kept"), [(False, 2), (True, 1)])
async def test_same_uid_puts_from_two_hosts_leave_one_object_per_scope(
        store: Store, pg_database: PgDatabase, home: Home, cal: Calendar,
        db: asyncpg.Connection, scheduling: bool, kept: int) -> None:
    """One object per calendar (RFC 4791 §5.3.2.1), one scheduling object per home
    (RFC 6638 §3.2.4.1), whatever races between hosts."""
    other = await store.create_calendar(home, NewCalendar("other"))
    second_pool = await create_pool(pg_database.connect_kwargs, max_size=4)
    try:
        hosts: list[Store] = [store, PostgresStore(second_pool, indexer=indexer)]
        targets = [cal, other]
        results = await asyncio.gather(
            *(hosts[i % 2].put_object(targets[i // 2 % 2], dataclasses.replace(
                event("u1", name=f"n{i}.ics"), scheduling=scheduling))
              for i in range(12)), return_exceptions=True)
    finally:
        await second_pool.close()
    winners = [r for r in results if isinstance(r, tuple)]
    assert len(winners) == kept, results
    assert len({w[0].calendar_id for w in winners}) == kept
    assert all(isinstance(r, UIDConflict) for r in results if r not in winners)
    # The other calendar's losers met the holder across calendars.
    assert any(isinstance(r, SchedulingUIDConflict) for r in results) == scheduling
    assert await count(db, "calendar_object") == kept
    assert await count(db, "time_range") == kept
    assert await count(db, "revision WHERE name LIKE 'n%'") == kept


# -- statuses as domain errors ----------------------------------------------------------


async def _writes_refused(error: type[StoreError], store: Store, writer: Calendar,
                          owner: Calendar, existing: str, moved: str) -> None:
    """Through ``writer``, a PUT of a new object, a DELETE of ``existing`` and a MOVE of
    it from ``owner`` (as ``moved``) each raise ``error``."""
    with pytest.raises(error):
        await store.put_object(writer, event("new"))
    with pytest.raises(error):
        await store.delete_object(writer, existing)
    with pytest.raises(error):
        await store.move_object(owner, existing, writer, moved, overwrite=False)


async def test_home_gone_is_not_found(store: Store, home: Home, cal: Calendar,
                                      db: asyncpg.Connection) -> None:
    await store.put_object(cal, event("u1"))
    await db.execute("DELETE FROM calendar_home WHERE id = $1", home.id)
    await _writes_refused(NotFound, store, cal, cal, "u1.ics", "u3.ics")


async def test_unbound_sharee_writes_are_not_found(store: Store, cal: Calendar,
                                                   db: asyncpg.Connection) -> None:
    """The binding checked is the writer's own, not the owner's."""
    bob = await store.ensure_home("bob")
    shared = await _share(db, store, cal, bob, "write")
    own, _ = await store.put_object(cal, event("u2"))
    await db.execute("DELETE FROM calendar_bind WHERE home_id = $1", bob.id)
    await _writes_refused(NotFound, store, shared, cal, "u2.ics", "u2.ics")
    assert [o.id for o in await store.objects(cal)] == [own.id]


async def test_binding_made_read_only_meanwhile_refuses(store: Store, cal: Calendar,
                                                        db: asyncpg.Connection) -> None:
    bob = await store.ensure_home("bob")
    shared = await _share(db, store, cal, bob, "write")
    await store.put_object(cal, event("u1"))
    await db.execute("UPDATE calendar_bind SET mode = 'read' WHERE home_id = $1", bob.id)
    await _writes_refused(ReadOnly, store, shared, cal, "u1.ics", "moved.ics")
    assert [o.name for o in await store.objects(cal)] == ["u1.ics"]


async def test_conditions_each_refuse_with_etag_mismatch(store: Store,
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


async def test_changing_the_uid_names_the_object_itself(store: Store,
                                                        cal: Calendar) -> None:
    await store.put_object(cal, event("u1", name="e.ics"))
    with pytest.raises(UIDConflict) as caught:
        await store.put_object(cal, event("u2", name="e.ics"))
    assert (caught.value.calendar_name, caught.value.object_name) == ("work", "e.ics")


async def test_quota_counts_the_replaced_object_once(store: Store, home: Home,
                                                     cal: Calendar) -> None:
    write = event("u1")
    size = len(write.icalendar.encode())
    await store.put_object(cal, write, quota=size)
    await store.put_object(cal, write, quota=size)  # replacing: the old size is not counted
    with pytest.raises(QuotaExceeded, match=f"{size * 2} bytes would exceed the quota of "
                                            f"{size * 2 - 1}"):
        await store.put_object(cal, event("u2"), quota=size * 2 - 1)
    assert await store.home_usage(home) == size


async def test_refused_move_leaves_the_target_alone(store: Store, cal: Calendar,
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


async def test_move_may_replace_the_uids_holder_itself(store: Store,
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
    ("etag-differs", ETagMismatch), ("target-exists", DestinationExists)])
def test_every_status_has_its_domain_error(status: str, error: type[StoreError]) -> None:
    assert type(object_writes.refusal(status, CALENDAR, "e.ics")) is error


@pytest.mark.parametrize(("status", "error"), [
    ("uid-changed", UIDConflict), ("uid-conflict", UIDConflict),
    ("scheduling-uid-conflict", SchedulingUIDConflict)])
def test_uid_statuses_name_the_holder(status: str, error: type[StoreError]) -> None:
    row = {"holder_home": "alice", "holder_calendar": "work", "holder_name": "e.ics"}
    refusal = object_writes.uid_refusal(status, row)
    assert type(refusal) is error
    assert isinstance(refusal, UIDConflict)
    assert (refusal.home_uid, refusal.calendar_name, refusal.object_name) == (
        "alice", "work", "e.ics")


def test_an_unknown_status_is_a_store_error_not_success() -> None:
    refusal = object_writes.refusal("surprise", CALENDAR, "e.ics")
    assert type(refusal) is StoreError and "surprise" in str(refusal)


# -- PUTs that arrive together (migration 0006) ------------------------------------------


async def _warm_up(store: Store, cal: Calendar) -> None:
    """asyncpg looks up the statements' array types once per connection."""
    await asyncio.gather(*(store.put_object(cal, event(f"warm-up-{i}")) for i in range(2)))


async def test_puts_to_one_home_made_together_share_one_statement(
        logged: tuple[Store, list[str]], home: Home, cal: Calendar) -> None:
    store, statements = logged
    other = await store.create_calendar(home, NewCalendar("other"))
    await _warm_up(store, cal)
    statements.clear()
    results = await asyncio.gather(*(store.put_object((cal, other)[i % 2], event(f"u{i}"))
                                     for i in range(5)))
    assert [created for _, created in results] == [True] * 5
    assert len(statements) == 1 and "caldav_put_objects" in statements[0]
    for (obj, _), i in zip(results, range(5), strict=True):
        assert obj == await store.object((cal, other)[i % 2], f"u{i}.ics")


async def test_puts_to_two_homes_go_as_a_statement_each(
        logged: tuple[Store, list[str]], cal: Calendar) -> None:
    store, statements = logged
    theirs = await store.create_calendar(await store.ensure_home("bob"), NewCalendar("work"))
    await _warm_up(store, cal)
    statements.clear()
    await asyncio.gather(store.put_object(cal, event("u1")), store.put_object(theirs, event("u1")),
                         store.put_object(cal, event("u2")))
    assert sorted("caldav_put_objects" in s for s in statements) == [False, True]


async def test_writes_of_one_batch_see_each_other(store: Store, home: Home,
                                                  cal: Calendar) -> None:
    """In arrival order: a UID, a name or quota room taken by an earlier write of the
    same batch is taken for the later ones."""
    first, second = event("q1"), event("q2")
    size = len(first.icalendar.encode())
    results = await asyncio.gather(
        store.put_object(cal, first, quota=size + 1),
        store.put_object(cal, second, quota=size + 1),
        store.put_object(cal, event("u1", name="a.ics"), if_none_match=True),
        store.put_object(cal, event("u1", name="a.ics", summary="y"), if_none_match=True),
        store.put_object(cal, event("u1", name="b.ics")),
        return_exceptions=True)
    assert isinstance(results[0], tuple) and results[0][1] is True
    assert isinstance(results[1], QuotaExceeded)
    assert isinstance(results[2], tuple)
    assert isinstance(results[3], ETagMismatch)
    assert isinstance(results[4], UIDConflict)
    assert (results[4].calendar_name, results[4].object_name) == ("work", "a.ics")
    assert sorted(o.name for o in await store.objects(cal)) == ["a.ics", "q1.ics"]
    assert await store.home_usage(home) == sum(o.size for o in await store.objects(cal))


async def test_conditions_and_index_rows_of_a_batch_stay_with_their_write(
        store: Store, cal: Calendar, db: asyncpg.Connection) -> None:
    a, _ = await store.put_object(cal, event("a"))
    b, _ = await store.put_object(cal, event("b"))
    two = (row(T0, T0 + HOUR), row(T0 + DAY, T0 + DAY + HOUR))
    results = await asyncio.gather(
        store.put_object(cal, event("a", summary="1"), if_match=["stale"]),
        store.put_object(cal, event("b", summary="1", instances=two),
                         if_match=["stale", b.etag]),
        store.put_object(cal, event("c", instances=()), if_match=[]),
        store.put_object(cal, event("d", instances=()), if_match=["*"]),
        store.put_object(cal, event("e", instances=two)),
        store.put_object(cal, event("f", instances=()), if_none_match=True),
        return_exceptions=True)
    assert [type(r).__name__ for r in results] == [
        "ETagMismatch", "tuple", "ETagMismatch", "ETagMismatch", "tuple", "tuple"]
    stored = await store.object(cal, "a.ics")
    assert stored is not None and stored.etag == a.etag
    ranges = await db.fetch(
        "SELECT o.name, t.start_utc FROM time_range t JOIN calendar_object o "
        "ON o.id = t.calendar_object_id ORDER BY o.name, t.start_utc")
    assert [(r["name"], r["start_utc"]) for r in ranges] == [
        ("a.ics", T0), ("b.ics", T0), ("b.ics", T0 + DAY), ("e.ics", T0), ("e.ics", T0 + DAY)]


async def test_a_write_postgres_refuses_fails_alone(store: Store, home: Home,
                                                    cal: Calendar,
                                                    db: asyncpg.Connection) -> None:
    """It rolls its batch back; the other writes are then made one by one."""
    bad = event("bad", instances=(unstorable_row(T0, T0 + DAY),))
    results = await asyncio.gather(
        store.put_object(cal, event("u1")), store.put_object(cal, bad),
        store.put_object(cal, event("u2")), return_exceptions=True)
    assert isinstance(results[0], tuple) and isinstance(results[2], tuple)
    assert isinstance(results[1], asyncpg.PostgresError)
    assert sorted(o.name for o in await store.objects(cal)) == ["u1.ics", "u2.ics"]
    assert await count(db, "revision WHERE collection_id = $1 AND name <> ''", cal.id) == 2
    assert await store.find_uid(home, "bad") is None


async def test_a_write_asyncpg_cannot_encode_fails_alone(store: Store,
                                                         cal: Calendar) -> None:
    unsendable = event(
        "bad", instances=(dataclasses.replace(row(T0, T0 + DAY), start="no time"),))  # type: ignore[arg-type]
    results = await asyncio.gather(
        store.put_object(cal, event("u1")), store.put_object(cal, unsendable),
        store.put_object(cal, event("u2")), return_exceptions=True)
    assert isinstance(results[0], tuple) and isinstance(results[2], tuple)
    assert isinstance(results[1], Exception)
    assert sorted(o.name for o in await store.objects(cal)) == ["u1.ics", "u2.ics"]


def test_ragged_parts_are_flattened_with_their_slices() -> None:
    flat, starts, ends = put_batch._flatten([["a"], None, [], ["b", "c"]])
    assert flat == ["a", "b", "c"]
    assert starts == [1, None, 2, 2] and ends == [1, 1, 1, 3]
