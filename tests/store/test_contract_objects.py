"""Store contract: calendar objects — conditional writes, UID uniqueness
(RFC 4791 §5.3.2.1), transactions, sharing modes and MOVE."""

from __future__ import annotations

import asyncio
import dataclasses

import asyncpg
import pytest

from caldavd.store.errors import (
    AlreadyExists,
    ETagMismatch,
    NotFound,
    QuotaExceeded,
    ReadOnly,
    SchedulingUIDConflict,
    UIDConflict,
)
from caldavd.store.interface import Store
from caldavd.store.model import Calendar, CalendarObject, Home, NewCalendar, ObjectWrite
from tests.store.builders import DAY, HOUR, T0, count, event, row, unstorable_row


async def _bind(db: asyncpg.Connection, store: Store, sharee: Home, calendar: Calendar,
                name: str, mode: str) -> Calendar:
    """Share ``calendar`` into ``sharee``'s home (the store has no sharing API yet)."""
    await db.execute("INSERT INTO calendar_bind (home_id, calendar_id, name, mode) "
                     "VALUES ($1, $2, $3, $4)", sharee.id, calendar.id, name, mode)
    bound = await store.calendar(sharee, name)
    assert bound is not None and bound.mode == mode and bound.owner_home_id != sharee.id
    return bound


async def _names(store: Store, calendar: Calendar) -> list[str]:
    return [o.name for o in await store.objects(calendar)]


async def _revision(store: Store, home: Home, calendar: Calendar) -> int:
    fetched = await store.calendar(home, calendar.name)
    assert fetched is not None
    return fetched.revision


# -- create, replace, read ---------------------------------------------------------------


async def test_put_creates_then_replaces(store: Store, cal: Calendar) -> None:
    first = event("e1", summary="one")
    created, was_created = await store.put_object(cal, first)
    assert was_created is True
    assert (created.name, created.uid, created.component_type, created.calendar_id) == (
        "e1.ics", "e1", "VEVENT", cal.id)
    assert created.icalendar == first.icalendar
    assert created.size == len(first.icalendar.encode())

    second = event("e1", summary="two")
    replaced, was_created = await store.put_object(cal, second)
    assert was_created is False
    assert replaced.id == created.id
    assert replaced.etag != created.etag
    assert replaced.created == created.created
    assert replaced.modified >= created.modified
    stored = await store.object(cal, "e1.ics")
    assert stored is not None and stored.icalendar == second.icalendar
    assert stored.etag == replaced.etag
    assert await _names(store, cal) == ["e1.ics"]


async def test_etag_is_derived_from_content(store: Store, cal: Calendar) -> None:
    other = await store.create_calendar(
        await store.ensure_home("bob"), NewCalendar("other"))
    a, _ = await store.put_object(cal, event("e1"))
    b, _ = await store.put_object(other, event("e1"))
    assert a.etag == b.etag
    again, _ = await store.put_object(cal, event("e1"))  # same text written again
    assert again.etag == a.etag
    changed, _ = await store.put_object(cal, event("e1", summary="changed"))
    assert changed.etag != a.etag


async def test_put_stores_organizer_and_schedule_tag(store: Store, cal: Calendar) -> None:
    write = dataclasses.replace(event("e1"), organizer="mailto:a@example.com",
                                scheduling=True)
    written, _ = await store.put_object(cal, write)
    assert written.organizer == "mailto:a@example.com" and written.schedule_tag
    stored = await store.object(cal, "e1.ics")
    assert stored is not None
    assert (stored.organizer, stored.schedule_tag) == (written.organizer, written.schedule_tag)


async def test_objects_by_name_and_with_data(store: Store, cal: Calendar) -> None:
    for uid in ("c", "a", "b"):
        await store.put_object(cal, event(uid))
    listed = await store.objects(cal)
    assert [o.name for o in listed] == ["a.ics", "b.ics", "c.ics"]
    assert all(o.icalendar is None for o in listed)

    some = await store.objects(cal, ["c.ics", "a.ics", "missing.ics"], with_data=True)
    assert [o.name for o in some] == ["a.ics", "c.ics"]
    assert all(o.icalendar is not None and f"UID:{o.uid}\r\n" in o.icalendar for o in some)
    assert await store.objects(cal, []) == []

    one = await store.object(cal, "b.ics")
    assert one is not None and one.icalendar is not None
    bare = await store.object(cal, "b.ics", with_data=False)
    assert bare is not None and bare.icalendar is None and bare.etag == one.etag
    assert await store.object(cal, "missing.ics") is None


async def test_objects_are_per_calendar(store: Store, home: Home, cal: Calendar) -> None:
    other = await store.create_calendar(home, NewCalendar("other"))
    await store.put_object(cal, event("e1"))
    await store.put_object(other, event("e2", name="e1.ics"))
    assert [o.uid for o in await store.objects(cal)] == ["e1"]
    assert [o.uid for o in await store.objects(other)] == ["e2"]


# -- conditional writes (RFC 9110 §13.1) -------------------------------------------------


async def test_if_none_match_on_existing_is_etag_mismatch(store: Store,
                                                          cal: Calendar) -> None:
    first, _ = await store.put_object(cal, event("e1"), if_none_match=True)
    with pytest.raises(ETagMismatch):
        await store.put_object(cal, event("e1", summary="new"), if_none_match=True)
    stored = await store.object(cal, "e1.ics")
    assert stored is not None and stored.etag == first.etag


async def test_if_match(store: Store, cal: Calendar) -> None:
    first, _ = await store.put_object(cal, event("e1"))
    with pytest.raises(ETagMismatch):
        await store.put_object(cal, event("e1", summary="b"), if_match=["not-the-etag"])
    second, created = await store.put_object(cal, event("e1", summary="b"),
                                             if_match=["other", first.etag])
    assert created is False and second.etag != first.etag
    third, _ = await store.put_object(cal, event("e1", summary="c"), if_match=["*"])
    assert third.etag not in (first.etag, second.etag)


async def test_if_match_on_missing_is_etag_mismatch(store: Store,
                                                    cal: Calendar) -> None:
    for condition in (["*"], ["some-etag"]):
        with pytest.raises(ETagMismatch):
            await store.put_object(cal, event("e1"), if_match=condition)
    assert await store.objects(cal) == []


async def test_concurrent_creates_with_if_none_match(store: Store, cal: Calendar,
                                                     db: asyncpg.Connection) -> None:
    results = await asyncio.gather(
        *(store.put_object(cal, event("e1", summary=str(i)), if_none_match=True)
          for i in range(4)), return_exceptions=True)
    assert sum(isinstance(r, tuple) for r in results) == 1
    assert sum(isinstance(r, ETagMismatch) for r in results) == 3
    assert await count(db, "calendar_object") == 1


# -- delete ----------------------------------------------------------------------------------


async def test_delete_object(store: Store, home: Home, cal: Calendar,
                             db: asyncpg.Connection) -> None:
    obj, _ = await store.put_object(cal, event("e1"))
    await store.update_properties(home, None, obj.id, {"{urn:x}p": "v"}, ())
    await store.put_object(cal, event("e2"))
    await store.delete_object(cal, "e1.ics")
    assert await _names(store, cal) == ["e2.ics"]
    assert await count(db, "time_range WHERE calendar_object_id = $1", obj.id) == 0
    assert await store.properties(obj.id) == {}
    with pytest.raises(NotFound):
        await store.delete_object(cal, "e1.ics")


async def test_delete_with_if_match(store: Store, cal: Calendar) -> None:
    obj, _ = await store.put_object(cal, event("e1"))
    with pytest.raises(ETagMismatch):
        await store.delete_object(cal, "e1.ics", if_match=["stale"])
    assert await _names(store, cal) == ["e1.ics"]
    await store.delete_object(cal, "e1.ics", if_match=[obj.etag])
    assert await _names(store, cal) == []


async def test_delete_missing_is_not_found(store: Store, cal: Calendar) -> None:
    with pytest.raises(NotFound):
        await store.delete_object(cal, "nope.ics")
    with pytest.raises(NotFound):
        await store.delete_object(cal, "nope.ics", if_match=["*"])


async def test_put_into_deleted_calendar_is_not_found(store: Store, home: Home,
                                                      cal: Calendar) -> None:
    await store.delete_calendar(home, cal.name)
    with pytest.raises(NotFound):
        await store.put_object(cal, event("e1"))


async def test_move_into_deleted_calendar_is_not_found(store: Store, home: Home,
                                                       cal: Calendar) -> None:
    gone = await store.create_calendar(home, NewCalendar("gone"))
    await store.put_object(cal, event("e1"))
    await store.delete_calendar(home, gone.name)
    with pytest.raises(NotFound):
        await store.move_object(cal, "e1.ics", gone, "e1.ics", overwrite=False)
    assert await _names(store, cal) == ["e1.ics"]


# -- sharing modes ------------------------------------------------------------------------


async def test_read_only_binding_refuses_writes(store: Store, cal: Calendar,
                                                db: asyncpg.Connection) -> None:
    await store.put_object(cal, event("e1"))
    bob = await store.ensure_home("bob")
    mine = await store.create_calendar(bob, NewCalendar("mine"))
    shared = await _bind(db, store, bob, cal, "alice-work", "read")

    assert await _names(store, shared) == ["e1.ics"]
    with pytest.raises(ReadOnly):
        await store.put_object(shared, event("e2"))
    with pytest.raises(ReadOnly):
        await store.put_object(shared, event("e1", summary="changed"))
    with pytest.raises(ReadOnly):
        await store.delete_object(shared, "e1.ics")
    with pytest.raises(ReadOnly):
        await store.move_object(shared, "e1.ics", mine, "e1.ics", overwrite=False)
    stored = await store.object(cal, "e1.ics")
    assert stored is not None and "SUMMARY:x\r\n" in (stored.icalendar or "")
    assert await _names(store, cal) == ["e1.ics"]
    assert await _names(store, mine) == []


async def test_read_write_binding_writes_into_the_owners_calendar(
        store: Store, home: Home, cal: Calendar, db: asyncpg.Connection) -> None:
    bob = await store.ensure_home("bob")
    shared = await _bind(db, store, bob, cal, "alice-work", "write")
    await store.put_object(shared, event("e1"))
    assert await _names(store, cal) == ["e1.ics"]
    # Scheduling UIDs are unique in the owner's home, whoever writes.
    assert await store.find_uid(home, "e1") == ("work", "e1.ics")
    assert await store.find_uid(bob, "e1") is None
    await store.put_object(shared, scheduling(event("s1")))
    other = await store.create_calendar(home, NewCalendar("other"))
    with pytest.raises(SchedulingUIDConflict) as caught:
        await store.put_object(other, scheduling(event("s1", name="dup.ics")))
    assert (caught.value.home_uid, caught.value.calendar_name) == ("alice", "work")


# -- UID uniqueness: per calendar (RFC 4791 §5.3.2.1), per home for scheduling objects
# (RFC 6638 §3.2.4.1) ---------------------------------------------------------------------


def scheduling(write: ObjectWrite) -> ObjectWrite:
    return dataclasses.replace(write, scheduling=True)


async def test_same_uid_in_another_calendar_of_the_home(store: Store, home: Home,
                                                        cal: Calendar) -> None:
    other = await store.create_calendar(home, NewCalendar("other"))
    await store.put_object(cal, event("u1", name="holder.ics"))
    _, created = await store.put_object(other, event("u1", name="copy.ics"))
    assert created is True
    assert await _names(store, other) == ["copy.ics"]


async def test_scheduling_uid_in_another_calendar_of_the_home(store: Store,
                                                              home: Home,
                                                              cal: Calendar) -> None:
    other = await store.create_calendar(home, NewCalendar("other"))
    await store.put_object(cal, scheduling(event("u1", name="holder.ics")))
    with pytest.raises(SchedulingUIDConflict) as caught:
        await store.put_object(other, scheduling(event("u1", name="copy.ics")))
    assert (caught.value.home_uid, caught.value.calendar_name, caught.value.object_name) == (
        "alice", "work", "holder.ics")
    assert await store.objects(other) == []
    # A plain object may share the scheduling object's UID, and may not become one.
    await store.put_object(other, event("u1", name="copy.ics"))
    with pytest.raises(SchedulingUIDConflict):
        await store.put_object(other, scheduling(event("u1", name="copy.ics")))


async def test_same_uid_under_another_name_in_the_same_calendar(store: Store,
                                                                cal: Calendar) -> None:
    await store.put_object(cal, event("u1", name="holder.ics"))
    with pytest.raises(UIDConflict) as caught:
        await store.put_object(cal, event("u1", name="copy.ics"))
    assert (caught.value.calendar_name, caught.value.object_name) == ("work", "holder.ics")
    assert await _names(store, cal) == ["holder.ics"]


async def test_same_uid_in_another_home_is_fine(store: Store, cal: Calendar) -> None:
    bob = await store.ensure_home("bob")
    theirs = await store.create_calendar(bob, NewCalendar("work"))
    await store.put_object(cal, event("u1"))
    _, created = await store.put_object(theirs, event("u1"))
    assert created is True
    assert await store.find_uid(bob, "u1") == ("work", "u1.ics")


async def test_replacing_with_a_different_uid_is_uid_conflict(store: Store, home: Home,
                                                              cal: Calendar) -> None:
    first, _ = await store.put_object(cal, event("u1", name="e.ics"))
    with pytest.raises(UIDConflict):
        await store.put_object(cal, event("u2", name="e.ics"))
    stored = await store.object(cal, "e.ics")
    assert stored is not None and stored.uid == "u1" and stored.etag == first.etag
    assert await store.find_uid(home, "u2") is None


async def test_uid_is_free_again_after_delete(store: Store, home: Home,
                                              cal: Calendar) -> None:
    other = await store.create_calendar(home, NewCalendar("other"))
    await store.put_object(cal, scheduling(event("u1")))
    await store.delete_object(cal, "u1.ics")
    _, created = await store.put_object(other, scheduling(event("u1")))
    assert created is True


async def test_concurrent_puts_of_one_uid_one_wins(store: Store, home: Home,
                                                   cal: Calendar,
                                                   db: asyncpg.Connection) -> None:
    other = await store.create_calendar(home, NewCalendar("other"))
    targets = [cal, other, cal, other, cal, other]
    results = await asyncio.gather(
        *(store.put_object(target, scheduling(event("u1", name=f"n{i}.ics")))
          for i, target in enumerate(targets)), return_exceptions=True)
    winners = [r for r in results if isinstance(r, tuple)]
    losers = [r for r in results if isinstance(r, UIDConflict)]
    assert len(winners) == 1 and len(losers) == len(targets) - 1, results
    winner: CalendarObject = winners[0][0]
    holder = {cal.id: cal.name, other.id: other.name}[winner.calendar_id]
    assert all((e.calendar_name, e.object_name) == (holder, winner.name) for e in losers)
    assert await count(db, "calendar_object WHERE uid = 'u1'") == 1
    assert await count(db, "time_range") == 1


# -- one transaction: a failed write leaves nothing behind --------------------------------


async def test_failed_create_leaves_nothing_behind(store: Store, home: Home,
                                                   cal: Calendar, db: asyncpg.Connection) -> None:
    revision_before = await _revision(store, home, cal)
    rows_before = await count(db, "revision")
    bad = event("u1", instances=(row(T0, T0 + DAY), unstorable_row(T0 + DAY, T0 + 2 * DAY)))
    with pytest.raises(asyncpg.PostgresError):
        await store.put_object(cal, bad)
    assert await count(db, "calendar_object") == 0
    assert await count(db, "time_range") == 0
    assert await count(db, "revision") == rows_before
    assert await count(db, "revision WHERE collection_id = $1 AND name <> ''", cal.id) == 0
    assert await _revision(store, home, cal) == revision_before
    assert await store.find_uid(home, "u1") is None
    # The connection went back to the pool usable, and the name is still free.
    _, created = await store.put_object(cal, event("u1"))
    assert created is True


async def test_failed_replace_keeps_the_old_object_and_index(
        store: Store, home: Home, cal: Calendar, db: asyncpg.Connection) -> None:
    first, _ = await store.put_object(cal, event("u1"))
    revision_before = await _revision(store, home, cal)
    bad = event("u1", summary="new", instances=(unstorable_row(T0, T0 + DAY),))
    with pytest.raises(asyncpg.PostgresError):
        await store.put_object(cal, bad)
    stored = await store.object(cal, "u1.ics")
    assert stored is not None and stored.etag == first.etag
    assert stored.icalendar == event("u1").icalendar
    ranges = await db.fetch("SELECT start_utc, end_utc FROM time_range "
                            "WHERE calendar_object_id = $1", first.id)
    assert [(r["start_utc"], r["end_utc"]) for r in ranges] == [(T0, T0 + HOUR)]
    assert await _revision(store, home, cal) == revision_before


# -- MOVE ------------------------------------------------------------------------------------


async def test_move_across_calendars_of_a_home(store: Store, home: Home, cal: Calendar,
                                               db: asyncpg.Connection) -> None:
    target = await store.create_calendar(home, NewCalendar("target"))
    obj, _ = await store.put_object(cal, event("u1"))
    await store.update_properties(home, None, obj.id, {"{urn:x}p": "v"}, ())

    moved, created = await store.move_object(cal, "u1.ics", target, "renamed.ics",
                                             overwrite=False)
    assert created is True
    assert (moved.calendar_id, moved.name, moved.uid, moved.etag) == (
        target.id, "renamed.ics", "u1", obj.etag)
    assert await _names(store, cal) == []
    assert await _names(store, target) == ["renamed.ics"]
    assert await store.find_uid(home, "u1") == ("target", "renamed.ics")
    assert await store.properties(moved.id) == {"{urn:x}p": "v"}
    assert await count(db, "time_range WHERE calendar_id = $1", target.id) == 1
    assert await count(db, "time_range WHERE calendar_id = $1", cal.id) == 0


async def test_move_records_tombstone_in_source_and_change_in_target(
        store: Store, home: Home, cal: Calendar) -> None:
    target = await store.create_calendar(home, NewCalendar("target"))
    await store.put_object(cal, event("u1"))
    _, source_token = await store.changes_since(cal, 0)
    _, target_token = await store.changes_since(target, 0)
    await store.move_object(cal, "u1.ics", target, "u1.ics", overwrite=False)

    source_changes, new_source_token = await store.changes_since(cal, source_token)
    assert [(c.name, c.deleted) for c in source_changes] == [("u1.ics", True)]
    target_changes, new_target_token = await store.changes_since(target, target_token)
    assert [(c.name, c.deleted) for c in target_changes] == [("u1.ics", False)]
    assert new_source_token > source_token and new_target_token > target_token


async def test_move_within_one_calendar_renames(store: Store, cal: Calendar) -> None:
    await store.put_object(cal, event("u1", name="old.ics"))
    _, token = await store.changes_since(cal, 0)
    _, created = await store.move_object(cal, "old.ics", cal, "new.ics", overwrite=False)
    assert created is True
    assert await _names(store, cal) == ["new.ics"]
    changes, _ = await store.changes_since(cal, token)
    assert {(c.name, c.deleted) for c in changes} == {("old.ics", True), ("new.ics", False)}


async def test_move_onto_existing_target(store: Store, home: Home, cal: Calendar,
                                         db: asyncpg.Connection) -> None:
    target = await store.create_calendar(home, NewCalendar("target"))
    moving, _ = await store.put_object(cal, event("u1"))
    victim, _ = await store.put_object(target, event("u2", name="taken.ics"))

    with pytest.raises(AlreadyExists):
        await store.move_object(cal, "u1.ics", target, "taken.ics", overwrite=False)
    assert await _names(store, cal) == ["u1.ics"]
    stayed = await store.object(target, "taken.ics")
    assert stayed is not None and stayed.uid == "u2"

    # Overwrite never replaces an object by one with another UID (RFC 4791 §5.3.2.1).
    with pytest.raises(UIDConflict) as caught:
        await store.move_object(cal, "u1.ics", target, "taken.ics", overwrite=True)
    assert (caught.value.calendar_name, caught.value.object_name) == ("target", "taken.ics")
    stayed = await store.object(target, "taken.ics")
    assert stayed is not None and stayed.uid == "u2"

    await store.delete_object(target, "taken.ics")
    victim, _ = await store.put_object(target, event("u1", name="taken.ics", summary="old"))
    moved, created = await store.move_object(cal, "u1.ics", target, "taken.ics",
                                             overwrite=True)
    assert created is False
    assert moved.id == moving.id and moved.uid == "u1"
    assert await _names(store, cal) == []
    replaced = await store.object(target, "taken.ics")
    assert replaced is not None and replaced.uid == "u1" and replaced.etag == moving.etag
    assert await count(db, "time_range WHERE calendar_object_id = $1", victim.id) == 0


async def test_move_missing_is_not_found(store: Store, home: Home,
                                         cal: Calendar) -> None:
    target = await store.create_calendar(home, NewCalendar("target"))
    with pytest.raises(NotFound):
        await store.move_object(cal, "nope.ics", target, "nope.ics", overwrite=True)


async def test_move_to_another_home_checks_uid_there(store: Store, cal: Calendar,
                                                     db: asyncpg.Connection) -> None:
    bob = await store.ensure_home("bob")
    theirs = await store.create_calendar(bob, NewCalendar("theirs"))
    await store.put_object(theirs, event("u1", name="bobs.ics"))
    await store.put_object(cal, event("u1"))
    with pytest.raises(UIDConflict) as caught:
        await store.move_object(cal, "u1.ics", theirs, "u1.ics", overwrite=False)
    assert (caught.value.calendar_name, caught.value.object_name) == ("theirs", "bobs.ics")
    assert await _names(store, cal) == ["u1.ics"]

    await store.put_object(cal, event("u2"))
    await store.move_object(cal, "u2.ics", theirs, "u2.ics", overwrite=False)
    assert await store.find_uid(bob, "u2") == ("theirs", "u2.ics")
    alice = await store.home("alice")
    assert alice is not None and await store.find_uid(alice, "u2") is None


# -- find_uid ---------------------------------------------------------------------------------


async def test_find_uid(store: Store, home: Home, cal: Calendar) -> None:
    other = await store.create_calendar(home, NewCalendar("other"))
    await store.put_object(cal, event("u1", name="one.ics"))
    await store.put_object(other, event("u2", name="two.ics"))
    assert await store.find_uid(home, "u1") == ("work", "one.ics")
    assert await store.find_uid(home, "u2") == ("other", "two.ics")
    assert await store.find_uid(home, "u3") is None
    assert await store.find_uid(await store.ensure_home("bob"), "u1") is None


async def test_quota_refuses_growth_beyond_it_but_allows_shrinking(
        store: Store, cal: Calendar) -> None:
    small = event("q1", name="q1.ics")
    size = len(small.icalendar.encode())
    await store.put_object(cal, small, quota=size * 2)
    await store.put_object(cal, event("q2", name="q2.ics"), quota=size * 2)
    with pytest.raises(QuotaExceeded):
        await store.put_object(cal, event("q3", name="q3.ics"), quota=size * 2)
    assert [o.name for o in await store.objects(cal)] == ["q1.ics", "q2.ics"]
    # Replacing an object counts its new size instead of its old one.
    await store.put_object(cal, event("q1", name="q1.ics"), quota=size * 2)


async def test_locate_finds_home_calendar_and_object_in_one_call(
        store: Store, home: Home, cal: Calendar) -> None:
    written, _ = await store.put_object(cal, event("loc-1", name="loc.ics"))
    found_home, found_cal, found_obj = await store.locate(home.owner_uid, cal.name, "loc.ics")
    assert found_home == home
    assert found_cal == await store.calendar(home, cal.name)
    assert found_obj is not None and found_obj.etag == written.etag
    assert found_obj.icalendar == written.icalendar
    assert await store.locate(home.owner_uid, cal.name, "nope.ics") == (home, found_cal, None)
    assert await store.locate(home.owner_uid, "nocal", "loc.ics") == (home, None, None)
    assert await store.locate("no-such-owner", cal.name, None) == (None, None, None)


async def test_home_usage_follows_every_kind_of_change(
        store: Store, home: Home, cal: Calendar, db: asyncpg.Connection) -> None:
    """The trigger-kept total equals the sum of sizes after puts, replaces, moves, deletes."""
    async def consistent() -> int:
        used = await store.home_usage(home)
        total = await db.fetchval(
            "SELECT coalesce(sum(size), 0) FROM calendar_object WHERE home_id = $1", home.id)
        assert used == total
        return used

    await store.put_object(cal, event("u1", name="u1.ics"))
    await store.put_object(cal, event("u2", name="u2.ics", summary="a much longer summary"))
    first = await consistent()
    await store.put_object(cal, event("u1", name="u1.ics", summary="grown " * 20))
    assert await consistent() > first
    other = await store.create_calendar(home, NewCalendar("other"))
    await store.move_object(cal, "u2.ics", other, "u2.ics", overwrite=False)
    await consistent()
    await store.delete_object(cal, "u1.ics")
    await store.delete_calendar(home, "other")
    assert await consistent() == 0


async def test_concurrent_locates_are_answered_each_with_its_own_result(
        store: Store, home: Home, cal: Calendar) -> None:
    """Lookups made together (one batched statement) answer exactly as made alone."""
    for n in range(5):
        await store.put_object(cal, event(f"many-{n}", name=f"m{n}.ics"))
    keys = [(home.owner_uid, cal.name, f"m{n}.ics") for n in range(5)] + [
        (home.owner_uid, cal.name, "nope.ics"), (home.owner_uid, "nocal", None),
        ("no-such-owner", cal.name, None), (home.owner_uid, cal.name, None),
        (home.owner_uid, cal.name, "m3.ics")]
    together = await asyncio.gather(*(store.locate(*k) for k in keys))
    alone = [await store.locate(*k) for k in keys]
    assert together == alone
    assert [o.uid if o else None for _, _, o in together] == [
        "many-0", "many-1", "many-2", "many-3", "many-4", None, None, None, None, "many-3"]
    assert together[-1][2] is not None and together[-1][2].icalendar


async def test_concurrent_object_reads_are_answered_each_as_alone(
        store: Store, home: Home, cal: Calendar) -> None:
    """Reads by name made together (one batched statement) answer exactly as made alone:
    each in name order, missing names left out, names of another calendar not found."""
    other = await store.create_calendar(home, NewCalendar("other"))
    for n in range(4):
        await store.put_object(cal, event(f"r{n}", name=f"r{n}.ics"))
    await store.put_object(other, event("elsewhere", name="x.ics"))
    reads: list[tuple[Calendar, list[str], bool]] = [
        (cal, ["r3.ics", "r0.ics", "missing.ics"], True),
        (cal, ["r1.ics", "r1.ics"], False),
        (cal, ["x.ics"], True),
        (other, ["x.ics", "r0.ics"], True),
        (cal, [], True),
        (cal, ["missing.ics"], False),
        (cal, ["r2.ics", "r0.ics", "r1.ics", "r3.ics"], False)]
    together = await asyncio.gather(
        *(store.objects(c, names, with_data=d) for c, names, d in reads))
    alone = [await store.objects(c, names, with_data=d) for c, names, d in reads]
    assert together == alone
    assert [[o.name for o in found] for found in together] == [
        ["r0.ics", "r3.ics"], ["r1.ics"], [], ["x.ics"], [], [],
        ["r0.ics", "r1.ics", "r2.ics", "r3.ics"]]
    assert [o.uid for o in together[3]] == ["elsewhere"]
    assert all(o.icalendar and f"UID:{o.uid}\r\n" in o.icalendar for o in together[0])
    assert all(o.icalendar is None for o in together[1] + together[6])
    assert together[0] == [await store.object(cal, "r0.ics"), await store.object(cal, "r3.ics")]


async def test_a_failed_batched_read_reaches_every_caller(
        store: Store, cal: Calendar, db: asyncpg.Connection) -> None:
    await store.put_object(cal, event("f1", name="f1.ics"))
    await db.execute("ALTER TABLE calendar_object RENAME TO calendar_object_gone")
    try:
        results = await asyncio.gather(
            *(store.objects(cal, [f"f{n}.ics"], with_data=n % 2 == 0) for n in range(3)),
            return_exceptions=True)
    finally:
        await db.execute("ALTER TABLE calendar_object_gone RENAME TO calendar_object")
    assert all(isinstance(r, asyncpg.UndefinedTableError) for r in results)
    assert [o.name for o in await store.objects(cal, ["f1.ics"])] == ["f1.ics"]
