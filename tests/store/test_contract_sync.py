"""Store contract: revisions, tombstones and sync tokens (RFC 6578)."""

from __future__ import annotations

import asyncpg
import pytest

from caldavd.store.errors import ETagMismatch, InvalidSyncToken, NotFound
from caldavd.store.interface import Store
from caldavd.store.model import Calendar, Home, NewCalendar
from tests.store.builders import event


async def _revision(store: Store, home: Home, name: str) -> int:
    calendar = await store.calendar(home, name)
    assert calendar is not None
    return calendar.revision


# -- one calendar --------------------------------------------------------------------------


async def test_initial_sync_lists_live_objects_only(store: Store, home: Home,
                                                   cal: Calendar) -> None:
    """RFC 6578 §3.8: an initial sync (empty token) reports no removed members."""
    for uid in ("a", "b", "c"):
        await store.put_object(cal, event(uid))
    await store.delete_object(cal, "b.ics")
    changes, token = await store.changes_since(cal, 0)
    assert sorted((c.name, c.deleted) for c in changes) == [("a.ics", False), ("c.ics", False)]
    assert token > max(c.revision for c in changes)  # the tombstone's revision
    assert token == await _revision(store, home, cal.name)


async def test_empty_calendar_has_a_token_and_no_changes(store: Store, home: Home,
                                                         cal: Calendar) -> None:
    changes, token = await store.changes_since(cal, 0)
    assert changes == []
    assert token > 0 and token == await _revision(store, home, cal.name)
    assert await store.changes_since(cal, token) == ([], token)


async def test_changes_since_a_token(store: Store, home: Home, cal: Calendar) -> None:
    await store.put_object(cal, event("keep"))
    await store.put_object(cal, event("edit"))
    await store.put_object(cal, event("drop"))
    _, token = await store.changes_since(cal, 0)

    await store.put_object(cal, event("edit", summary="1"))
    await store.put_object(cal, event("new"))
    await store.put_object(cal, event("edit", summary="2"))
    await store.delete_object(cal, "drop.ics")
    await store.put_object(cal, event("brief"))
    await store.delete_object(cal, "brief.ics")

    changes, new_token = await store.changes_since(cal, token)
    assert sorted((c.name, c.deleted) for c in changes) == [
        ("brief.ics", True), ("drop.ics", True), ("edit.ics", False), ("new.ics", False)]
    assert len({c.name for c in changes}) == len(changes)  # one entry per member
    assert all(token < c.revision <= new_token for c in changes)
    assert [c.revision for c in changes] == sorted(c.revision for c in changes)
    assert new_token == await _revision(store, home, cal.name)
    assert await store.changes_since(cal, new_token) == ([], new_token)


async def test_token_grows_with_every_change(store: Store, home: Home,
                                             cal: Calendar) -> None:
    tokens = [(await store.changes_since(cal, 0))[1]]

    async def step() -> None:
        _, token = await store.changes_since(cal, 0)
        assert token > tokens[-1]
        assert await _revision(store, home, cal.name) == token
        tokens.append(token)

    await store.put_object(cal, event("a"))
    await step()
    await store.put_object(cal, event("a", summary="again"))
    await step()
    await store.update_properties(home, cal, cal.id, {"{DAV:}displayname": "W"}, ())
    await step()
    await store.delete_object(cal, "a.ics")
    await step()
    assert len(tokens) == 5


async def test_property_change_moves_token_without_member_changes(
        store: Store, home: Home, cal: Calendar) -> None:
    await store.put_object(cal, event("a"))
    _, token = await store.changes_since(cal, 0)
    await store.update_properties(home, cal, cal.id, {"{DAV:}displayname": "W"}, ())
    changes, new_token = await store.changes_since(cal, token)
    assert changes == [] and new_token > token


async def test_failed_write_does_not_move_the_token(store: Store,
                                                    cal: Calendar) -> None:
    await store.put_object(cal, event("a"))
    _, token = await store.changes_since(cal, 0)
    with pytest.raises(ETagMismatch):
        await store.put_object(cal, event("a", summary="b"), if_match=["stale"])
    assert (await store.changes_since(cal, 0))[1] == token


async def test_token_from_the_future_is_invalid(store: Store, cal: Calendar) -> None:
    await store.put_object(cal, event("a"))
    _, token = await store.changes_since(cal, 0)
    with pytest.raises(InvalidSyncToken):
        await store.changes_since(cal, token + 1000)


async def test_a_revision_no_column_holds_is_invalid(store: Store, home: Home,
                                                   cal: Calendar) -> None:
    """Past bigint (or below zero) a token is refused before it reaches the database;
    the connections stay fit for the transactions that follow."""
    for revision in (2**63, 10**30, -1, -2**70):
        with pytest.raises(InvalidSyncToken):
            await store.changes_since(cal, revision)
        with pytest.raises(InvalidSyncToken):
            await store.home_changes_since(home, revision)
    for _ in range(4):  # every connection of the fixture's pool
        assert (await store.home_changes_since(home, 0))[1] > 0


async def test_token_at_or_below_purged_revision_is_invalid(
        store: Store, cal: Calendar, db: asyncpg.Connection) -> None:
    """RFC 6578 §3.2: a token whose tombstones are gone must be refused."""
    await store.put_object(cal, event("a"))
    _, old = await store.changes_since(cal, 0)
    await store.put_object(cal, event("b"))
    _, purged = await store.changes_since(cal, 0)
    await store.put_object(cal, event("c"))
    _, current = await store.changes_since(cal, 0)
    await db.execute("UPDATE calendar SET purged_revision = $2 WHERE id = $1", cal.id, purged)
    for token in (old, purged):
        with pytest.raises(InvalidSyncToken):
            await store.changes_since(cal, token)
    changes, _ = await store.changes_since(cal, current)
    assert changes == []
    # An initial sync still works.
    names = sorted(c.name for c in (await store.changes_since(cal, 0))[0])
    assert names == ["a.ics", "b.ics", "c.ics"]


async def test_changes_since_on_deleted_calendar_is_not_found(store: Store, home: Home,
                                                              cal: Calendar) -> None:
    await store.delete_calendar(home, cal.name)
    with pytest.raises(NotFound):
        await store.changes_since(cal, 0)


async def test_calendars_have_their_own_changes(store: Store, home: Home,
                                                cal: Calendar) -> None:
    other = await store.create_calendar(home, NewCalendar("other"))
    _, token = await store.changes_since(cal, 0)
    await store.put_object(other, event("b"))
    assert (await store.changes_since(cal, token))[0] == []
    assert [c.name for c in (await store.changes_since(other, 0))[0]] == ["b.ics"]


# -- the home (sync of the calendar-home collection) ---------------------------------------


async def test_home_changes_since_reports_changed_and_deleted_calendars(
        store: Store, home: Home) -> None:
    quiet = await store.create_calendar(home, NewCalendar("quiet"))
    busy = await store.create_calendar(home, NewCalendar("busy"))
    await store.create_calendar(home, NewCalendar("doomed"))
    initial, token = await store.home_changes_since(home, 0)
    assert sorted((c.name, c.deleted) for c in initial) == [
        ("busy", False), ("doomed", False), ("inbox", False), ("outbox", False),
        ("quiet", False)]

    await store.put_object(busy, event("e1"))
    await store.delete_calendar(home, "doomed")
    fresh = await store.create_calendar(home, NewCalendar("fresh"))

    changes, new_token = await store.home_changes_since(home, token)
    assert sorted((c.name, c.deleted) for c in changes) == [
        ("busy", False), ("doomed", True), ("fresh", False)]
    assert new_token > token
    assert quiet.id not in (busy.id, fresh.id)


async def test_initial_home_sync_omits_deleted_calendars(store: Store,
                                                         home: Home) -> None:
    await store.create_calendar(home, NewCalendar("a"))
    await store.create_calendar(home, NewCalendar("b"))
    await store.delete_calendar(home, "b")
    changes, _ = await store.home_changes_since(home, 0)
    assert sorted((c.name, c.deleted) for c in changes) == [
        ("a", False), ("inbox", False), ("outbox", False)]


async def test_home_token_round_trips(store: Store, home: Home, cal: Calendar) -> None:
    """A token handed out by home_changes_since is accepted back, whatever moved it."""
    await store.put_object(cal, event("e1"))
    _, token = await store.home_changes_since(home, 0)
    assert token == await store.home_revision(home)
    assert await store.home_changes_since(home, token) == ([], token)

    await store.put_object(cal, event("e2"))
    changes, token2 = await store.home_changes_since(home, token)
    assert [(c.name, c.deleted) for c in changes] == [("work", False)]
    assert token2 > token and token2 == await store.home_revision(home)
    assert await store.home_changes_since(home, token2) == ([], token2)


async def test_home_token_from_the_future_is_invalid(store: Store, home: Home,
                                                     cal: Calendar) -> None:
    await store.put_object(cal, event("e1"))
    with pytest.raises(InvalidSyncToken):
        await store.home_changes_since(home, await store.home_revision(home) + 1000)


async def test_home_token_below_purged_revision_is_invalid(
        store: Store, home: Home, db: asyncpg.Connection) -> None:
    await store.create_calendar(home, NewCalendar("a"))
    _, token = await store.home_changes_since(home, 0)
    await store.create_calendar(home, NewCalendar("b"))
    await db.execute("UPDATE calendar_home SET purged_revision = $2 WHERE id = $1",
                     home.id, token)
    with pytest.raises(InvalidSyncToken):
        await store.home_changes_since(home, token)


async def test_home_revision_grows_on_any_change_inside(store: Store,
                                                        home: Home) -> None:
    seen = [await store.home_revision(home)]

    async def grew() -> None:
        now = await store.home_revision(home)
        assert now > seen[-1]
        seen.append(now)

    cal = await store.create_calendar(home, NewCalendar("work"))
    await grew()
    obj, _ = await store.put_object(cal, event("e1"))
    await grew()
    await store.update_properties(home, cal, cal.id, {"{DAV:}displayname": "W"}, ())
    await grew()
    other = await store.create_calendar(home, NewCalendar("other"))
    await grew()
    await store.move_object(cal, "e1.ics", other, "e1.ics", overwrite=False)
    await grew()
    await store.delete_object(other, "e1.ics")
    await grew()
    await store.delete_calendar(home, "work")
    await grew()
    assert obj.uid == "e1" and len(seen) == 8


async def test_home_revision_ignores_other_homes(store: Store, home: Home,
                                                 cal: Calendar) -> None:
    before = await store.home_revision(home)
    bob = await store.ensure_home("bob")
    theirs = await store.create_calendar(bob, NewCalendar("theirs"))
    await store.put_object(theirs, event("e1"))
    assert await store.home_revision(home) == before
    assert await store.home_revision(bob) > before
