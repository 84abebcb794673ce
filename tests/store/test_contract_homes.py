"""Store contract: homes, calendars, dead properties, delegates and health.

Runs against a real PostgreSQL database (``store`` fixture); tables are looked at
directly (``db`` fixture) only where the interface cannot show the effect.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from caldavd.store.errors import AlreadyExists, NotFound, StoreUnavailable
from caldavd.store.interface import Store
from caldavd.store.model import Calendar, Home, NewCalendar
from caldavd.store.postgres.store import PostgresStore
from tests.conftest import PgDatabase, free_port
from tests.store.builders import count, event, indexer

DEFAULTS = (NewCalendar("calendar", frozenset({"VEVENT"}), {"{DAV:}displayname": "Calendar"}),
            NewCalendar("tasks", frozenset({"VTODO"})))

# -- homes ---------------------------------------------------------------------------


async def test_home_is_none_until_ensured(store: Store) -> None:
    assert await store.home("nobody") is None


async def test_ensure_home_creates_once_with_defaults(store: Store) -> None:
    first = await store.ensure_home("alice", DEFAULTS)
    assert first.owner_uid == "alice"
    calendars = await store.calendars(first)
    assert [c.name for c in calendars] == ["calendar", "tasks"]
    assert {c.name: c.supported_components for c in calendars} == {
        "calendar": frozenset({"VEVENT"}), "tasks": frozenset({"VTODO"})}
    assert await store.properties(calendars[0].id) == {"{DAV:}displayname": "Calendar"}

    again = await store.ensure_home("alice", (*DEFAULTS, NewCalendar("extra")))
    assert again == first
    assert await store.home("alice") == first
    assert [c.name for c in await store.calendars(again)] == ["calendar", "tasks"]


async def test_concurrent_ensure_home_makes_one_home_and_one_set_of_defaults(
        store: Store, db: asyncpg.Connection) -> None:
    homes = await asyncio.gather(*(store.ensure_home("bob", DEFAULTS) for _ in range(5)))
    assert len({h.id for h in homes}) == 1
    assert await count(db, "calendar_home WHERE owner_uid = 'bob'") == 1
    assert await count(db, "calendar_bind WHERE home_id = $1", homes[0].id) == 4
    assert await count(db, "calendar WHERE owner_home_id = $1", homes[0].id) == 4
    assert await count(db, "dead_property") == 1


async def test_homes_are_separate(store: Store) -> None:
    alice = await store.ensure_home("alice", DEFAULTS)
    bob = await store.ensure_home("bob")
    assert alice.id != bob.id
    assert await store.calendars(bob) == []


# -- calendars ---------------------------------------------------------------------------


async def test_create_calendar_and_read_it_back(store: Store, home: Home) -> None:
    props = {"{DAV:}displayname": "Work", "{urn:x}colour": "<c>#ff0000</c>"}
    created = await store.create_calendar(
        home, NewCalendar("work", frozenset({"VEVENT", "VTODO"}), props))
    assert (created.name, created.home_id, created.owner_home_id, created.mode) == (
        "work", home.id, home.id, "own")
    assert created.supported_components == frozenset({"VEVENT", "VTODO"})
    assert created.revision > 0
    assert await store.calendar(home, "work") == created
    assert await store.properties(created.id) == props


async def test_supported_components_none_means_every_type(store: Store,
                                                         home: Home) -> None:
    created = await store.create_calendar(home, NewCalendar("any"))
    assert created.supported_components is None
    fetched = await store.calendar(home, "any")
    assert fetched is not None and fetched.supported_components is None


async def test_create_calendar_twice_is_already_exists(store: Store, home: Home) -> None:
    await store.create_calendar(home, NewCalendar("work"))
    with pytest.raises(AlreadyExists):
        await store.create_calendar(home, NewCalendar("work", frozenset({"VTODO"})))
    assert [c.name for c in await store.calendars(home)] == ["work"]


async def test_same_calendar_name_in_two_homes(store: Store, home: Home) -> None:
    other = await store.ensure_home("bob")
    mine = await store.create_calendar(home, NewCalendar("work"))
    theirs = await store.create_calendar(other, NewCalendar("work"))
    assert mine.id != theirs.id


async def test_concurrent_create_calendar_one_wins(store: Store, home: Home,
                                                   db: asyncpg.Connection) -> None:
    results = await asyncio.gather(
        *(store.create_calendar(home, NewCalendar("work")) for _ in range(4)),
        return_exceptions=True)
    assert sum(isinstance(r, Calendar) for r in results) == 1
    assert sum(isinstance(r, AlreadyExists) for r in results) == 3
    assert await count(db, "calendar WHERE kind = 'calendar'") == 1


async def test_calendars_are_listed_by_name(store: Store, home: Home) -> None:
    for name in ("zeta", "alpha", "mid"):
        await store.create_calendar(home, NewCalendar(name))
    assert [c.name for c in await store.calendars(home)] == ["alpha", "mid", "zeta"]


async def test_missing_calendar(store: Store, home: Home) -> None:
    assert await store.calendar(home, "nope") is None
    with pytest.raises(NotFound):
        await store.delete_calendar(home, "nope")


async def test_delete_calendar_removes_objects_properties_and_index(
        store: Store, home: Home, db: asyncpg.Connection) -> None:
    keep = await store.create_calendar(home, NewCalendar("keep"))
    gone = await store.create_calendar(home, NewCalendar("gone", None, {"{DAV:}displayname": "G"}))
    await store.put_object(keep, event("k1"))
    obj, _ = await store.put_object(gone, event("g1"))
    await store.put_object(gone, event("g2"))
    await store.update_properties(home, None, obj.id, {"{urn:x}p": "v"}, ())
    assert await count(db, "time_range WHERE calendar_id = $1", gone.id) == 2

    await store.delete_calendar(home, "gone")

    assert await store.calendar(home, "gone") is None
    assert [c.name for c in await store.calendars(home)] == ["keep"]
    assert await count(db, "calendar WHERE id = $1", gone.id) == 0
    assert await count(db, "calendar_bind WHERE calendar_id = $1", gone.id) == 0
    assert await count(db, "calendar_object WHERE calendar_id = $1", gone.id) == 0
    assert await count(db, "time_range WHERE calendar_id = $1", gone.id) == 0
    assert await count(db, "revision WHERE collection_id = $1", gone.id) == 0
    assert await count(db, "dead_property WHERE resource_id = ANY($1)", [gone.id, obj.id]) == 0
    # The other calendar is untouched, and the UID is free again in the home.
    assert [o.name for o in await store.objects(keep)] == ["k1.ics"]
    assert await count(db, "time_range WHERE calendar_id = $1", keep.id) == 1
    assert await store.find_uid(home, "g1") is None
    await store.put_object(keep, event("g1"))


async def test_deleted_name_can_be_created_again(store: Store, home: Home) -> None:
    first = await store.create_calendar(home, NewCalendar("work"))
    await store.put_object(first, event("e1"))
    await store.delete_calendar(home, "work")
    second = await store.create_calendar(home, NewCalendar("work"))
    assert second.id != first.id
    assert await store.objects(second) == []


# -- dead properties ----------------------------------------------------------------------


async def test_update_properties_sets_replaces_and_removes(store: Store, home: Home,
                                                          cal: Calendar) -> None:
    await store.update_properties(home, cal, cal.id, {"{urn:x}a": "1", "{urn:x}b": "2"}, ())
    await store.update_properties(home, cal, cal.id, {"{urn:x}a": "one", "{urn:x}c": "3"},
                                  ["{urn:x}b", "{urn:x}absent"])
    assert await store.properties(cal.id) == {"{urn:x}a": "one", "{urn:x}c": "3"}


async def test_update_properties_set_wins_over_remove_of_same_name(
        store: Store, home: Home, cal: Calendar) -> None:
    await store.update_properties(home, cal, cal.id, {"{urn:x}a": "new"}, ["{urn:x}a"])
    assert await store.properties(cal.id) == {"{urn:x}a": "new"}


async def test_update_properties_is_atomic(store: Store, home: Home,
                                           cal: Calendar) -> None:
    await store.update_properties(home, cal, cal.id, {"{urn:x}a": "1"}, ())
    revision = await _revision(store, home, cal)
    # A value the database refuses (NOT NULL) fails the whole PROPPATCH, remove included.
    with pytest.raises(asyncpg.PostgresError):
        await store.update_properties(home, cal, cal.id, {"{urn:x}b": None}, ["{urn:x}a"])  # type: ignore[dict-item]
    assert await store.properties(cal.id) == {"{urn:x}a": "1"}
    assert await _revision(store, home, cal) == revision


async def test_update_properties_bumps_calendar_revision(store: Store, home: Home,
                                                         cal: Calendar) -> None:
    before = await _revision(store, home, cal)
    await store.update_properties(home, cal, cal.id, {"{DAV:}displayname": "New"}, ())
    middle = await _revision(store, home, cal)
    await store.update_properties(home, cal, cal.id, {}, ["{DAV:}displayname"])
    assert before < middle < await _revision(store, home, cal)


async def test_object_properties_are_per_resource(store: Store, home: Home,
                                                  cal: Calendar) -> None:
    obj, _ = await store.put_object(cal, event("e1"))
    await store.update_properties(home, None, obj.id, {"{urn:x}p": "object"}, ())
    await store.update_properties(home, cal, cal.id, {"{urn:x}p": "calendar"}, ())
    assert await store.properties(obj.id) == {"{urn:x}p": "object"}
    assert await store.properties(cal.id) == {"{urn:x}p": "calendar"}


async def test_properties_for_many_resources(store: Store, home: Home,
                                            cal: Calendar) -> None:
    obj, _ = await store.put_object(cal, event("e1"))
    bare, _ = await store.put_object(cal, event("e2"))
    await store.update_properties(home, cal, cal.id, {"{urn:x}a": "1", "{urn:x}b": "2"}, ())
    await store.update_properties(home, None, obj.id, {"{urn:x}a": "object"}, ())
    assert await store.properties_for([cal.id, obj.id, bare.id, 999_999]) == {
        cal.id: {"{urn:x}a": "1", "{urn:x}b": "2"},
        obj.id: {"{urn:x}a": "object"},
        bare.id: {},
        999_999: {},
    }
    assert await store.properties_for([]) == {}


async def _revision(store: Store, home: Home, cal: Calendar) -> int:
    fetched = await store.calendar(home, cal.name)
    assert fetched is not None
    return fetched.revision


# -- usage --------------------------------------------------------------------------------------


async def test_home_usage_counts_the_homes_calendar_data(store: Store, home: Home,
                                                        cal: Calendar) -> None:
    assert await store.home_usage(home) == 0
    other = await store.create_calendar(home, NewCalendar("other"))
    a, _ = await store.put_object(cal, event("a"))
    b, _ = await store.put_object(other, event("b", summary="longer summary"))
    assert await store.home_usage(home) == a.size + b.size
    bigger, _ = await store.put_object(cal, event("a", summary="x" * 500))
    assert await store.home_usage(home) == bigger.size + b.size
    await store.delete_object(cal, "a.ics")
    assert await store.home_usage(home) == b.size
    bob = await store.ensure_home("bob")
    theirs = await store.create_calendar(bob, NewCalendar("theirs"))
    c, _ = await store.put_object(theirs, event("c"))
    assert await store.home_usage(home) == b.size
    assert await store.home_usage(bob) == c.size
    await store.delete_calendar(home, "other")
    assert await store.home_usage(home) == 0


# -- health -----------------------------------------------------------------------------------


async def test_ping(store: Store) -> None:
    await store.ping()


async def test_unreachable_server_is_store_unavailable() -> None:
    pool = await asyncpg.create_pool(host="127.0.0.1", port=free_port(), user="nobody",
                                     database="nothing", min_size=0, max_size=1, timeout=5)
    try:
        unreachable = PostgresStore(pool, indexer=indexer)
        with pytest.raises(StoreUnavailable):
            await unreachable.ping()
        with pytest.raises(StoreUnavailable):
            await unreachable.home("alice")
    finally:
        await pool.close()


async def _terminate_backends(db: PgDatabase) -> int:
    admin = await db.connect()
    try:
        return int(await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()", db.name))
    finally:
        await admin.close()


async def test_pool_reconnects_after_backends_are_terminated(
        store: Store, pg_database: PgDatabase) -> None:
    await store.ensure_home("alice")
    assert await _terminate_backends(pg_database) >= 1
    await asyncio.sleep(0.5)  # the pool's connections see the server hang up
    home = await store.home("alice")
    assert home is not None and home.owner_uid == "alice"


# A store call that hangs fails the test (asyncpg's own limits are 10 s to connect, 60 s a
# statement).
CALL_LIMIT = 30.0


async def _outcome(call: Callable[[], Awaitable[object]]) -> str:
    """"ok" or "unavailable"; any other exception, or a hang, fails the test."""
    try:
        async with asyncio.timeout(CALL_LIMIT):
            await call()
    except StoreUnavailable:
        return "unavailable"
    return "ok"


async def _until_ok(call: Callable[[], Awaitable[object]]) -> None:
    """Call until ``call`` succeeds: a round before may have left the pool empty."""
    for _ in range(20):
        if await _outcome(call) == "ok":
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the store did not recover within 20 calls")


async def _race_terminations(pg_database: PgDatabase,
                             call: Callable[[], Awaitable[object]]) -> list[str]:
    """``call``'s outcome right after the store's backends are terminated, ten times over.

    No pause: each call races the server's hang-up.  A round may find no backend to
    terminate (a call that was unavailable leaves the pool without a connection).
    """
    await _until_ok(call)  # the store holds a connection to begin with
    assert await _terminate_backends(pg_database) >= 1
    outcomes = [await _outcome(call)]
    for _ in range(9):
        await _terminate_backends(pg_database)
        outcomes.append(await _outcome(call))
    return outcomes


async def test_terminated_backends_are_store_unavailable_or_reconnected(
        store: Store, pg_database: PgDatabase) -> None:
    await store.ensure_home("alice")

    async def alice() -> None:
        home = await store.home("alice")
        assert home is not None and home.owner_uid == "alice"

    assert set(await _race_terminations(pg_database, alice)) <= {"ok", "unavailable"}
    await alice()  # and the next call succeeds


async def test_terminated_backends_during_locate(store: Store, cal: Calendar,
                                                 pg_database: PgDatabase) -> None:
    obj, _ = await store.put_object(cal, event("e1"))

    async def located() -> None:  # three lookups in one loop iteration: one batch
        found = await asyncio.gather(store.locate("alice", "work", "e1.ics"),
                                     store.locate("alice", "work", None),
                                     store.locate("alice", "nope", None))
        assert [(h is not None, c and c.id, o and o.etag) for h, c, o in found] == [
            (True, cal.id, obj.etag), (True, cal.id, None), (True, None, None)]

    async def located_alone() -> None:
        _, calendar, found = await store.locate("alice", "work", "e1.ics")
        assert calendar is not None and found is not None and found.etag == obj.etag

    assert set(await _race_terminations(pg_database, located)) <= {"ok", "unavailable"}
    assert set(await _race_terminations(pg_database, located_alone)) <= {"ok", "unavailable"}
    await located()
    await located_alone()


async def test_terminated_backends_during_writes(store: Store, home: Home, cal: Calendar,
                                                 pg_database: PgDatabase) -> None:
    summaries = iter(range(1000))

    async def put() -> None:  # one statement, through the PUT batcher
        await store.put_object(cal, event("e1", summary=f"s{next(summaries)}"))

    async def proppatch() -> None:  # a transaction
        await store.update_properties(home, cal, cal.id, {"{urn:x}n": str(next(summaries))}, ())

    assert set(await _race_terminations(pg_database, put)) <= {"ok", "unavailable"}
    assert set(await _race_terminations(pg_database, proppatch)) <= {"ok", "unavailable"}
    # Later writes succeed (whether a write that was unavailable committed is unknown).
    written, _ = await store.put_object(cal, event("e1", summary="after"))
    fetched = await store.object(cal, "e1.ics")
    assert fetched is not None and fetched.etag == written.etag
    await store.update_properties(home, cal, cal.id, {"{urn:x}n": "after"}, ())
    assert await store.properties(cal.id) == {"{urn:x}n": "after"}


async def test_reads_reconnect_when_their_pooled_connection_has_died(
        store: Store, cal: Calendar, pg_database: PgDatabase) -> None:
    """A read is sent again on a new connection: terminated backends are never unavailable."""

    async def reads() -> None:
        assert await store.home("alice") is not None
        _, calendar, _ = await store.locate("alice", "work", None)
        assert calendar is not None and calendar.id == cal.id

    assert await _race_terminations(pg_database, reads) == ["ok"] * 10
