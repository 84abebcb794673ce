"""Schedule-Tag in the store (RFC 6638 §3.2.10, §8.3): a new one for every write of a
scheduling object, the current one kept when the write says so (a server-side merge),
none for other objects, and If-Schedule-Tag-Match checked under the home's lock."""

from __future__ import annotations

import asyncio
import dataclasses

import asyncpg
import pytest

from caldavd.store.errors import ETagMismatch, ScheduleTagMismatch
from caldavd.store.interface import Store
from caldavd.store.model import Calendar, CalendarObject, Home, NewCalendar, ObjectWrite
from caldavd.store.postgres.migrate import downgrade_to, revision_chain, upgrade_to_head
from caldavd.store.postgres.pool import create_pool
from caldavd.store.postgres.store import PostgresStore
from tests.conftest import PgDatabase
from tests.store.builders import event, indexer


def meeting(uid: str = "m1", summary: str = "x", *, keep: bool = False) -> ObjectWrite:
    return dataclasses.replace(event(uid, summary=summary), organizer="mailto:a@example.com",
                               scheduling=True, keep_schedule_tag=keep)


async def _stored(store: Store, cal: Calendar, name: str = "m1.ics") -> CalendarObject:
    found = await store.object(cal, name)
    assert found is not None
    return found


async def test_every_write_of_a_scheduling_object_makes_a_new_tag(store: Store,
                                                                  cal: Calendar) -> None:
    first, _ = await store.put_object(cal, meeting())
    again, _ = await store.put_object(cal, meeting())  # even the same data
    changed, _ = await store.put_object(cal, meeting(summary="changed"))
    tags = [first.schedule_tag, again.schedule_tag, changed.schedule_tag]
    assert all(tags) and len(set(tags)) == 3
    assert (await _stored(store, cal)).schedule_tag == changed.schedule_tag


async def test_an_object_that_is_not_scheduling_has_no_tag(store: Store,
                                                           cal: Calendar) -> None:
    plain, _ = await store.put_object(cal, event("p1"))
    assert plain.schedule_tag is None
    await store.put_object(cal, meeting("p1"))
    demoted, _ = await store.put_object(cal, event("p1", summary="no longer"))
    assert demoted.schedule_tag is None
    assert (await _stored(store, cal, "p1.ics")).schedule_tag is None


async def test_keeping_the_tag(store: Store, cal: Calendar) -> None:
    """A server-side merge (REPLY into the organizer's copy, PARTSTAT-only refresh of an
    attendee's) keeps the current tag; with none to keep it makes one."""
    made, _ = await store.put_object(cal, meeting(keep=True))
    assert made.schedule_tag
    merged, _ = await store.put_object(cal, meeting(summary="merged", keep=True))
    assert merged.schedule_tag == made.schedule_tag and merged.etag != made.etag
    assert (await _stored(store, cal)).schedule_tag == made.schedule_tag
    # Kept, the object still cannot be a plain one with a tag.
    plain, _ = await store.put_object(cal, dataclasses.replace(event("m1"),
                                                               keep_schedule_tag=True))
    assert plain.schedule_tag is None
    promoted, _ = await store.put_object(cal, meeting(keep=True))
    assert promoted.schedule_tag and promoted.schedule_tag != made.schedule_tag


async def test_if_schedule_tag_match(store: Store, cal: Calendar) -> None:
    """RFC 6638 §8.3: written only over the object with that tag; nothing changes else."""
    first, _ = await store.put_object(cal, meeting())
    tag = first.schedule_tag
    assert tag is not None
    with pytest.raises(ScheduleTagMismatch):
        await store.put_object(cal, meeting(summary="lost"), if_schedule_tag="other")
    assert (await _stored(store, cal)).etag == first.etag
    second, created = await store.put_object(cal, meeting(summary="won"),
                                             if_schedule_tag=tag)
    assert not created and second.schedule_tag != tag
    with pytest.raises(ScheduleTagMismatch):  # the tag it had is gone with the write
        await store.put_object(cal, meeting(summary="late"), if_schedule_tag=tag)


async def test_if_schedule_tag_match_needs_a_scheduling_object(store: Store,
                                                               cal: Calendar) -> None:
    """No object, or one without a tag, matches no tag."""
    with pytest.raises(ScheduleTagMismatch):
        await store.put_object(cal, meeting(), if_schedule_tag="any")
    assert await store.object(cal, "m1.ics") is None
    await store.put_object(cal, event("p1"))
    with pytest.raises(ScheduleTagMismatch):
        await store.put_object(cal, meeting("p1"), if_schedule_tag="any")
    with pytest.raises(ScheduleTagMismatch):
        await store.delete_object(cal, "p1.ics", if_schedule_tag="any")


async def test_schedule_tag_and_etag_conditions_both_hold(store: Store,
                                                          cal: Calendar) -> None:
    """A stale ETag with the current tag: accepted without If-Match (the point of the
    header), refused with it (both conditions are the client's)."""
    first, _ = await store.put_object(cal, meeting())
    merged, _ = await store.put_object(cal, meeting(summary="merged", keep=True))
    assert merged.etag != first.etag and merged.schedule_tag == first.schedule_tag
    with pytest.raises(ETagMismatch) as caught:
        await store.put_object(cal, meeting(summary="mine"), if_match=[first.etag],
                               if_schedule_tag=first.schedule_tag)
    assert not isinstance(caught.value, ScheduleTagMismatch)
    await store.put_object(cal, meeting(summary="mine"), if_schedule_tag=first.schedule_tag)
    assert "SUMMARY:mine" in ((await _stored(store, cal)).icalendar or "")


async def test_delete_with_if_schedule_tag_match(store: Store, cal: Calendar) -> None:
    first, _ = await store.put_object(cal, meeting())
    with pytest.raises(ScheduleTagMismatch):
        await store.delete_object(cal, "m1.ics", if_schedule_tag="other")
    assert await store.object(cal, "m1.ics") is not None
    await store.delete_object(cal, "m1.ics", if_schedule_tag=first.schedule_tag)
    assert await store.object(cal, "m1.ics") is None


async def test_a_moved_scheduling_object_gets_a_new_tag(store: Store, home: Home,
                                                        cal: Calendar) -> None:
    other = await store.create_calendar(home, NewCalendar("other"))
    first, _ = await store.put_object(cal, meeting())
    moved, _ = await store.move_object(cal, "m1.ics", other, "m1.ics", overwrite=False)
    assert moved.schedule_tag and moved.schedule_tag != first.schedule_tag
    assert (await _stored(store, other)).schedule_tag == moved.schedule_tag
    await store.put_object(cal, event("p1"))
    plain, _ = await store.move_object(cal, "p1.ics", other, "p1.ics", overwrite=False)
    assert plain.schedule_tag is None


async def test_batched_puts_each_get_their_own_tag_and_condition(store: Store,
                                                                 cal: Calendar) -> None:
    """PUTs of one loop iteration go as one statement (put_batch): each write still
    gets its own tag, kept or new, and its own If-Schedule-Tag-Match outcome."""
    first, _ = await store.put_object(cal, meeting("a"))
    await store.put_object(cal, meeting("b"))
    outcomes = await asyncio.gather(
        store.put_object(cal, meeting("a", summary="kept", keep=True)),
        store.put_object(cal, meeting("b", summary="x2"), if_schedule_tag="stale"),
        store.put_object(cal, meeting("c")),
        store.put_object(cal, event("d")),
        return_exceptions=True)
    kept, refused, made, plain = outcomes
    assert isinstance(refused, ScheduleTagMismatch)
    assert isinstance(kept, tuple) and isinstance(made, tuple) and isinstance(plain, tuple)
    assert kept[0].schedule_tag == first.schedule_tag
    assert made[0].schedule_tag and plain[0].schedule_tag is None
    for written, _ in (kept, made, plain):
        assert (await _stored(store, cal, written.name)).schedule_tag == written.schedule_tag


async def test_two_hosts_writing_over_one_tag_one_wins(store: Store,
                                                       pg_database: PgDatabase,
                                                       cal: Calendar) -> None:
    """The match is checked under the home's lock: of two writes racing from two hosts
    with the same If-Schedule-Tag-Match, exactly one is stored."""
    first, _ = await store.put_object(cal, meeting())
    pool = await create_pool(pg_database.connect_kwargs, max_size=2)
    try:
        other_host = PostgresStore(pool, indexer=indexer)
        outcomes = await asyncio.gather(
            store.put_object(cal, meeting(summary="one"), if_schedule_tag=first.schedule_tag),
            other_host.put_object(cal, meeting(summary="two"),
                                  if_schedule_tag=first.schedule_tag),
            return_exceptions=True)
    finally:
        await pool.close()
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(refused) == 1 and isinstance(refused[0], ScheduleTagMismatch)


async def test_an_edit_makes_a_new_tag_or_keeps_it(store: Store, cal: Calendar) -> None:
    """The read-modify-write of an attachment action (``editing``), as any write."""
    first, _ = await store.put_object(cal, meeting())
    async with store.editing(cal, "m1.ics") as edit:
        edited = await edit.put(meeting(summary="edited"))
    assert edited.schedule_tag and edited.schedule_tag != first.schedule_tag
    async with store.editing(cal, "m1.ics") as edit:
        merged = await edit.put(meeting(summary="merged", keep=True))
    assert merged.schedule_tag == edited.schedule_tag
    linked, _ = await store.put_linked(cal, meeting(summary="linked"),
                                       if_schedule_tag=merged.schedule_tag)
    assert linked.schedule_tag != merged.schedule_tag
    with pytest.raises(ScheduleTagMismatch):
        await store.put_linked(cal, meeting(summary="late"),
                               if_schedule_tag=merged.schedule_tag)


async def test_the_upgrade_tags_existing_scheduling_objects(
        store: Store, pg_database: PgDatabase, cal: Calendar) -> None:
    """0017: scheduling objects written before it get a tag; others stay without."""
    await store.put_object(cal, meeting())
    await store.put_object(cal, event("p1"))
    chain = revision_chain()
    await downgrade_to(pg_database.connect_kwargs, chain[chain.index("0017") - 1])
    conn = await pg_database.connect()
    try:
        await conn.execute("UPDATE calendar_object SET schedule_tag = NULL")
        await upgrade_to_head(pg_database.connect_kwargs)
        rows = await conn.fetch("SELECT uid, schedule_tag FROM calendar_object ORDER BY uid")
    finally:
        await conn.close()
    tags = {r["uid"]: r["schedule_tag"] for r in rows}
    assert tags["p1"] is None and len(tags["m1"] or "") == 32


async def test_a_delivery_keeps_the_tag_or_makes_one(store: Store, db: asyncpg.Connection,
                                                     home: Home, cal: Calendar) -> None:
    """The queue's writes (``Deliver.put``) follow the same rule: a REPLY merged into the
    organizer's copy keeps its tag (``keep_schedule_tag``), so the organizer's next PUT
    with If-Schedule-Tag-Match still matches; a REQUEST applied to a copy makes one."""
    first, _ = await store.put_object(cal, meeting())
    await db.execute("INSERT INTO schedule_delivery (uid, recipient_uid, sender, method, "
                     "message, digest) VALUES ('m1', 'alice', 'b', 'REPLY', 'x', 'd1')")
    async with store.deliver() as delivery:
        assert delivery is not None
        found = await delivery.locate_uid("alice", "m1")
        assert found is not None and found[1].schedule_tag == first.schedule_tag
        merged = await delivery.put(found[0], meeting(summary="replied", keep=True))
        assert merged.schedule_tag == first.schedule_tag
        await delivery.done()
    kept, _ = await store.put_object(cal, meeting(summary="organizer's"),
                                     if_schedule_tag=first.schedule_tag)
    await db.execute("INSERT INTO schedule_delivery (uid, recipient_uid, sender, method, "
                     "message, digest) VALUES ('m1', 'alice', 'b', 'REQUEST', 'x', 'd2')")
    async with store.deliver() as delivery:
        assert delivery is not None
        updated = await delivery.put(cal, meeting(summary="requested"))
        await delivery.done()
    assert updated.schedule_tag and updated.schedule_tag != kept.schedule_tag
