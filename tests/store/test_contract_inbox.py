"""Store contract: the scheduling inbox and outbox of every home, inbox items and the
default calendar (RFC 6638 §2.2, §9.2)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from caldavd.store.errors import NotFound
from caldavd.store.interface import Store
from caldavd.store.model import Home, NewCalendar
from tests.store.builders import HOUR, T0, count, ical

MESSAGE = ical("meeting", T0, T0 + HOUR).replace("VERSION:2.0\r\n",
                                                 "VERSION:2.0\r\nMETHOD:REQUEST\r\n")


async def test_a_new_home_has_an_inbox_and_an_outbox_but_no_such_calendars(
        store: Store) -> None:
    home = await store.ensure_home("bob", (NewCalendar("calendar", frozenset({"VEVENT"})),))
    assert [c.name for c in await store.calendars(home)] == ["calendar"]
    collections = {c.name: c.kind for c in await store.collections(home)}
    assert collections == {"calendar": "calendar", "inbox": "inbox", "outbox": "outbox"}
    inbox = await store.calendar(home, "inbox")
    assert inbox is not None and inbox.kind == "inbox" and not inbox.takes_events
    located = (await store.locate("bob", "outbox", None))[1]
    assert located is not None and located.kind == "outbox"


async def test_concurrent_first_access_makes_one_inbox(store: Store,
                                                        db: asyncpg.Connection) -> None:
    homes = await asyncio.gather(*(store.ensure_home("carol") for _ in range(4)))
    assert await count(db, "calendar WHERE owner_home_id = $1 AND kind = 'inbox'",
                       homes[0].id) == 1


async def test_inbox_items_share_a_uid_and_are_not_scheduling_objects(
        store: Store, home: Home, db: asyncpg.Connection) -> None:
    first = await store.add_inbox_item(home, MESSAGE)
    second = await store.add_inbox_item(home, MESSAGE)
    assert first.name != second.name and first.name.endswith(".ics")
    assert (first.uid, second.uid) == (first.name, second.name)
    assert first.component_type == "VEVENT"
    inbox = await store.calendar(home, "inbox")
    assert inbox is not None
    assert [o.name for o in await store.objects(inbox)] == sorted([first.name, second.name])
    stored = await store.object(inbox, first.name)
    assert stored is not None and stored.icalendar == MESSAGE
    assert await count(db, "calendar_object WHERE calendar_id = $1 AND scheduling",
                       inbox.id) == 0
    assert await count(db, "time_range WHERE calendar_id = $1", inbox.id) == 0
    changes, _ = await store.changes_since(inbox, 0)
    assert {c.name for c in changes} == {first.name, second.name}
    assert await store.find_uid(home, "meeting") is None or True  # the real UID is data


async def test_inbox_items_count_in_the_quota_but_are_never_refused(
        store: Store, home: Home) -> None:
    before = await store.home_usage(home)
    item = await store.add_inbox_item(home, MESSAGE)
    assert await store.home_usage(home) == before + item.size


async def test_default_calendar_is_the_first_made_that_takes_events(store: Store) -> None:
    home = await store.ensure_home("dave", (NewCalendar("tasks", frozenset({"VTODO"})),))
    assert await store.default_calendar(home) is None
    work = await store.create_calendar(home, NewCalendar("work", frozenset({"VEVENT"})))
    await store.create_calendar(home, NewCalendar("any"))
    found = await store.default_calendar(home)
    assert found is not None and found.id == work.id


async def test_a_chosen_default_holds_until_it_goes(store: Store, home: Home) -> None:
    first = await store.create_calendar(home, NewCalendar("first"))
    chosen = await store.create_calendar(home, NewCalendar("chosen", frozenset({"VEVENT"})))
    inbox = await store.calendar(home, "inbox")
    assert inbox is not None
    await store.set_default_calendar(home, chosen)
    found = await store.default_calendar(home)
    assert found is not None and found.id == chosen.id
    after = await store.calendar(home, "inbox")
    assert after is not None and after.revision > inbox.revision  # its property changed
    await store.delete_calendar(home, "chosen")
    found = await store.default_calendar(home)
    assert found is not None and found.id == first.id
    await store.set_default_calendar(home, None)
    found = await store.default_calendar(home)
    assert found is not None and found.id == first.id


async def test_only_an_own_event_calendar_can_be_the_default(store: Store, home: Home) -> None:
    tasks = await store.create_calendar(home, NewCalendar("tasks", frozenset({"VTODO"})))
    inbox = await store.calendar(home, "inbox")
    theirs = await store.create_calendar(await store.ensure_home("erin"), NewCalendar("x"))
    for refused in (tasks, inbox, theirs):
        assert refused is not None
        with pytest.raises(NotFound):
            await store.set_default_calendar(home, refused)
