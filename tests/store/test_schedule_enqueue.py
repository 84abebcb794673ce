"""A write that schedules queues its work in its own transaction (issue 18, item 8;
RFC 6638 §3.2): the write and its ``schedule_work`` row commit together, and a write
that fails leaves no work."""

from __future__ import annotations

import dataclasses

import asyncpg
import pytest

from caldavd.store.errors import ETagMismatch, NotFound, StoreError, UIDConflict
from caldavd.store.interface import Store
from caldavd.store.model import Calendar, Home, NewCalendar, ObjectWrite, ScheduleIntent
from tests.store.builders import T0, count, event, unstorable_row

ORGANIZER = ScheduleIntent(role="organizer", actor_uid="alice", owner_uid="alice")


def scheduled(write: ObjectWrite, intent: ScheduleIntent = ORGANIZER) -> ObjectWrite:
    return dataclasses.replace(write, schedule=intent, scheduling=True)


async def _work(db: asyncpg.Connection) -> list[asyncpg.Record]:
    return list(await db.fetch("SELECT * FROM schedule_work ORDER BY id"))


async def test_a_put_and_its_work_commit_together(store: Store, db: asyncpg.Connection,
                                                  home: Home, cal: Calendar) -> None:
    first = scheduled(event("m1"))
    await store.put_object(cal, first)
    second = scheduled(event("m1", summary="moved"),
                       ScheduleIntent("organizer", "bob", "alice", schedule_reply=False))
    await store.put_object(cal, second)
    rows = await _work(db)
    assert [(r["home_id"], r["owner_uid"], r["uid"], r["role"], r["actor_uid"])
            for r in rows] == [(home.id, "alice", "m1", "organizer", "alice"),
                               (home.id, "alice", "m1", "organizer", "bob")]
    assert (rows[0]["previous"], rows[0]["current"]) == (None, first.icalendar)
    assert (rows[1]["previous"], rows[1]["current"]) == (first.icalendar, second.icalendar)
    assert [r["schedule_reply"] for r in rows] == [True, False]
    assert rows[0]["attempts"] == 0 and rows[0]["last_error"] is None


async def test_a_write_without_intent_queues_nothing(store: Store, db: asyncpg.Connection,
                                                     cal: Calendar) -> None:
    await store.put_object(cal, event("plain"))
    await store.delete_object(cal, "plain.ics")
    assert await count(db, "schedule_work") == 0


@pytest.mark.parametrize("failure", ["etag", "uid", "half-way"])
async def test_a_refused_put_queues_nothing(store: Store, db: asyncpg.Connection,
                                            cal: Calendar, failure: str) -> None:
    await store.put_object(cal, event("held"))
    write, kwargs = scheduled(event("new")), {}
    if failure == "etag":
        kwargs = {"if_match": ["nope"]}
    elif failure == "uid":  # another name with the UID of an object of the calendar
        write = scheduled(event("held", name="other.ics"))
    else:  # the database refuses an index row after the object row was written
        write = scheduled(event("new", instances=(unstorable_row(T0, T0),)))
    with pytest.raises((ETagMismatch, UIDConflict, StoreError, asyncpg.PostgresError)):
        await store.put_object(cal, write, **kwargs)  # type: ignore[arg-type]
    assert await count(db, "schedule_work") == 0
    assert await count(db, "calendar_object WHERE uid = 'new'") == 0


async def test_a_delete_queues_the_data_it_removed(store: Store, db: asyncpg.Connection,
                                                   home: Home, cal: Calendar) -> None:
    write = event("gone")
    await store.put_object(cal, write)
    with pytest.raises(ETagMismatch):
        await store.delete_object(cal, "gone.ics", if_match=["nope"], schedule=ORGANIZER)
    with pytest.raises(NotFound):
        await store.delete_object(cal, "missing.ics", schedule=ORGANIZER)
    assert await count(db, "schedule_work") == 0
    await store.delete_object(cal, "gone.ics", schedule=ORGANIZER)
    [row] = await _work(db)
    assert (row["home_id"], row["uid"], row["previous"], row["current"]) == (
        home.id, "gone", write.icalendar, None)


async def test_a_move_queues_its_work(store: Store, db: asyncpg.Connection, home: Home,
                                      cal: Calendar) -> None:
    other = await store.create_calendar(home, NewCalendar("other"))
    write = event("mv")
    await store.put_object(cal, write)
    await store.move_object(cal, "mv.ics", other, "mv.ics", overwrite=False,
                            schedule=ORGANIZER)
    bob = await store.ensure_home("bob")
    bobs = await store.create_calendar(bob, NewCalendar("cal"))
    await store.move_object(other, "mv.ics", bobs, "mv.ics", overwrite=False,
                            schedule=ORGANIZER)
    rows = await _work(db)
    assert [(r["home_id"], r["uid"], r["previous"], r["current"]) for r in rows] == [
        (home.id, "mv", write.icalendar, write.icalendar),  # within the home: unchanged
        (home.id, "mv", write.icalendar, None)]  # gone from alice's home


async def test_an_attachment_write_queues_its_work(store: Store, db: asyncpg.Connection,
                                                   cal: Calendar) -> None:
    first = scheduled(event("att"))
    await store.put_linked(cal, first)
    async with store.editing(cal, "att.ics") as edit:
        await edit.put(scheduled(event("att", summary="again")))
    rows = await _work(db)
    assert [(r["previous"], r["current"] is not None) for r in rows] == [
        (None, True), (first.icalendar, True)]
