"""The `caldav` client library (PyPI) against a live caldavd.

Everything goes through the library's public API, the way an application would
use it: discovery from the server's base URL, calendars, events, todos and
journals, searches (time range, UID, recurring events with expansion), sync
tokens, edits and deletions.  Where the library filters results client-side
as well, searches are repeated with ``post_filter=False`` so the assertion is
about what the server answered.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import TypedDict

import pytest
from caldav.calendarobjectresource import CalendarObjectResource, Event
from caldav.collection import Principal
from caldav.davclient import DAVClient
from caldav.davobject import DAVObject
from caldav.elements import dav
from caldav.lib import error

from caldavd.dav import names
from tests.functional.conftest import USER01_UID
from tests.interop.clients import PARIS_TZ, vcalendar
from tests.interop.conftest import HOME01, LiveServer

PRINCIPAL01 = f"/principals/__uids__/{USER01_UID}/"


class Window(TypedDict):
    """The event time-range keywords of ``Calendar.search``."""

    event: bool
    start: datetime
    end: datetime


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
        second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def vevent(uid: str, start: str, end: str, summary: str, extra: str = "") -> str:
    return (f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{start}\r\n"
            f"DTEND:{end}\r\nSUMMARY:{summary}\r\n{extra}END:VEVENT\r\n")


# A weekly meeting: ten Mondays from 5 January 2026, the 19 January one excluded,
# the 26 January one moved to the afternoon with its own summary.
WEEKLY = vcalendar(
    vevent("weekly-1", "20260105T100000Z", "20260105T110000Z", "Weekly",
           "RRULE:FREQ=WEEKLY;COUNT=10\r\nEXDATE:20260119T100000Z\r\n"),
    vevent("weekly-1", "20260126T150000Z", "20260126T160000Z", "Weekly moved",
           "RECURRENCE-ID:20260126T100000Z\r\n"),
)

# Every Wednesday at 09:00 Paris time across the March 2026 DST change.
PARIS_WEEKLY = vcalendar(
    PARIS_TZ,
    "BEGIN:VEVENT\r\nUID:paris-1\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART;TZID=Europe/Paris:20260318T090000\r\nDTEND;TZID=Europe/Paris:20260318T093000\r\n"
    "RRULE:FREQ=WEEKLY;COUNT=4\r\nSUMMARY:Standup Paris\r\nEND:VEVENT\r\n",
)


@pytest.fixture
def client(live_server: str) -> Iterator[DAVClient]:
    with DAVClient(url=live_server + "/", username="user01",
                          password="user01") as dav_client:
        yield dav_client


@pytest.fixture
def principal(client: DAVClient) -> Principal:
    return client.principal()


@pytest.fixture(autouse=True)
def _no_server_errors(live: LiveServer) -> Iterator[None]:
    yield
    assert live.server_errors() == [], "the server answered with a 5xx"


def path_of(obj: DAVObject) -> str:
    return str(obj.url.path)


def uids(objects: list[CalendarObjectResource]) -> set[str]:
    return {str(o.icalendar_component["UID"]) for o in objects}


def instances(objects: list[CalendarObjectResource]) -> list[tuple[datetime, datetime, str]]:
    """(RECURRENCE-ID, DTSTART, SUMMARY) of each expanded instance, in UTC, sorted."""
    found: list[tuple[datetime, datetime, str]] = []
    for obj in objects:
        comps = [c for c in obj.icalendar_instance.walk("VEVENT")]
        assert len(comps) == 1, "an expanded result holds one instance per object"
        comp = comps[0]
        assert "RRULE" not in comp and "EXDATE" not in comp
        found.append((comp["RECURRENCE-ID"].dt.astimezone(UTC),
                      comp["DTSTART"].dt.astimezone(UTC), str(comp["SUMMARY"])))
    return sorted(found)


# -- discovery ---------------------------------------------------------------------------------


def test_discovery_from_base_url(live: LiveServer, principal: Principal) -> None:
    assert path_of(principal) == PRINCIPAL01
    assert principal.get_display_name() == "User 01"
    assert path_of(principal.calendar_home_set) == HOME01
    assert "mailto:user01@example.com" in principal.calendar_user_address_set()

    calendars = {path_of(c): c for c in principal.get_calendars()}
    assert set(calendars) == {HOME01 + "calendar/", HOME01 + "tasks/"}
    events = calendars[HOME01 + "calendar/"]
    tasks = calendars[HOME01 + "tasks/"]
    assert events.get_supported_components() == ["VEVENT"]
    assert tasks.get_supported_components() == ["VTODO"]
    assert events.get_display_name() == "Calendar"
    assert tasks.get_display_name() == "Tasks"
    # Looking a calendar up by display name goes through the same listing.
    assert path_of(principal.calendar(name="Tasks")) == HOME01 + "tasks/"
    # The library found the principal through current-user-principal on the root.
    assert any(s.method == "PROPFIND" and s.path == "/" and s.status == 207 for s in live.seen)


def test_calendar_lifecycle(principal: Principal) -> None:
    work = principal.make_calendar(name="Work", cal_id="work",
                                   supported_calendar_component_set=["VEVENT"])
    assert path_of(work) == HOME01 + "work/"
    assert work.get_display_name() == "Work"
    assert work.get_supported_components() == ["VEVENT"]
    assert HOME01 + "work/" in {path_of(c) for c in principal.get_calendars()}

    work.set_properties([dav.DisplayName("Work (renamed)")])
    again = principal.calendar(cal_id="work")
    assert again.get_display_name() == "Work (renamed)"

    work.add_event(vcalendar(vevent("w1", "20260105T100000Z", "20260105T110000Z", "Standup")))
    assert uids(work.get_events()) == {"w1"}

    work.delete(wipe=False)
    assert HOME01 + "work/" not in {path_of(c) for c in principal.get_calendars()}
    with pytest.raises(error.NotFoundError):
        principal.calendar(cal_id="work").get_events()


# -- events ------------------------------------------------------------------------------------


def test_events_save_search_modify_delete(principal: Principal) -> None:
    cal = principal.make_calendar(name="Events", cal_id="events",
                                  supported_calendar_component_set=["VEVENT"])
    cal.add_event(vcalendar(vevent("ev-a", "20260105T090000Z", "20260105T100000Z", "Breakfast")))
    cal.add_event(vcalendar(vevent("ev-b", "20260106T120000Z", "20260106T130000Z", "Lunch")))
    cal.add_event(vcalendar(vevent("ev-c", "20260107T190000Z", "20260107T200000Z", "Dinner")))
    cal.add_event(vcalendar(vevent("ev-far", "20260301T100000Z", "20260301T110000Z", "Later")))
    # The library can build the iCalendar data itself from keyword properties.
    made = cal.add_event(uid="ev-kw", summary="Made by keywords",
                         dtstart=utc(2026, 1, 8, 8), dtend=utc(2026, 1, 8, 9))
    assert path_of(made).startswith(HOME01 + "events/")

    assert uids(cal.get_events()) == {"ev-a", "ev-b", "ev-c", "ev-far", "ev-kw"}

    # Time-range search, first as the library does it, then the server's answer alone.
    week: Window = {"event": True, "start": utc(2026, 1, 6), "end": utc(2026, 1, 8)}
    assert uids(cal.search(**week)) == {"ev-b", "ev-c"}
    assert uids(cal.search(post_filter=False, **week)) == {"ev-b", "ev-c"}
    # Boundaries: an event ending exactly at the start of the range is not in it.
    assert uids(cal.search(event=True, start=utc(2026, 1, 5, 10), end=utc(2026, 1, 6, 12),
                           post_filter=False)) == set()
    assert uids(cal.search(event=True, start=utc(2026, 1, 5, 9, 59), end=utc(2026, 1, 5, 10),
                           post_filter=False)) == {"ev-a"}

    # An all-day event (DATE values, floating: UTC as no calendar-timezone is set).
    cal.add_event(vcalendar(
        "BEGIN:VEVENT\r\nUID:ev-day\r\nDTSTAMP:20260101T000000Z\r\n"
        "DTSTART;VALUE=DATE:20260110\r\nDTEND;VALUE=DATE:20260111\r\nSUMMARY:Holiday\r\n"
        "END:VEVENT\r\n"))
    assert uids(cal.search(event=True, start=utc(2026, 1, 10, 12), end=utc(2026, 1, 10, 13),
                           post_filter=False)) == {"ev-day"}
    assert uids(cal.search(event=True, start=utc(2026, 1, 11), end=utc(2026, 1, 12),
                           post_filter=False)) == set()
    assert uids(cal.search(event=True, start=date(2026, 1, 10), end=date(2026, 1, 11))) == {
        "ev-day"}
    cal.get_event_by_uid("ev-day").delete()

    # By UID (a calendar-query with a text-match on UID) and by summary text.
    lunch = cal.get_event_by_uid("ev-b")
    assert str(lunch.icalendar_component["SUMMARY"]) == "Lunch"
    assert path_of(lunch) == HOME01 + "events/ev-b.ics"
    assert uids(cal.search(uid="ev-b", post_filter=False)) == {"ev-b"}
    assert uids(cal.search(event=True, summary="unch", post_filter=False)) == {"ev-b"}
    with pytest.raises(error.NotFoundError):
        cal.get_event_by_uid("no-such-uid")

    # Modify: the new data is what the server serves afterwards, under a new ETag.
    etag_before = cal.event_by_url(lunch.url).load().props[dav.GetEtag.tag]
    lunch.icalendar_component["SUMMARY"] = "Long lunch"
    lunch.icalendar_component["DTEND"].dt = utc(2026, 1, 6, 15)
    lunch.save()
    reloaded = cal.event_by_url(lunch.url).load()
    assert str(reloaded.icalendar_component["SUMMARY"]) == "Long lunch"
    assert reloaded.icalendar_component["DTEND"].dt == utc(2026, 1, 6, 15)
    assert reloaded.props[dav.GetEtag.tag] != etag_before
    # The time-range index follows the edit.
    assert uids(cal.search(event=True, start=utc(2026, 1, 6, 14), end=utc(2026, 1, 6, 14, 30),
                           post_filter=False)) == {"ev-b"}

    # Refused overwrite: the object exists, so a create-only save fails.
    with pytest.raises(error.ConsistencyError):
        cal.add_event(vcalendar(vevent("ev-b", "20260106T120000Z", "20260106T130000Z", "Dup")),
                      no_overwrite=True)
    assert str(cal.get_event_by_uid("ev-b").icalendar_component["SUMMARY"]) == "Long lunch"

    # Delete: gone from listings, searches and its URL.
    lunch.delete()
    with pytest.raises(error.NotFoundError):
        cal.get_event_by_uid("ev-b")
    with pytest.raises(error.NotFoundError):
        cal.event_by_url(lunch.url).load()
    assert uids(cal.search(post_filter=False, **week)) == {"ev-c"}
    assert uids(cal.get_events()) == {"ev-a", "ev-c", "ev-far", "ev-kw"}


def test_server_enforced_write_preconditions(live: LiveServer, live_server: str) -> None:
    """Conditional PUTs the library sends, refused by the server itself.

    Told that caldavd refuses duplicate UIDs, the library leaves "create only" and
    "update only" to If-None-Match: * / If-Match: * instead of searching first,
    and saves of a fetched object carry its ETag.
    """
    features = {"save.no-uid-conflict": {"support": "full"}}
    with (DAVClient(url=live_server + "/", username="user01", password="user01",
                           features=features) as writer,
          DAVClient(url=live_server + "/", username="user01",
                           password="user01") as other):
        cal = writer.principal().calendar(cal_id="calendar")
        cal.add_event(vcalendar(vevent("pre-1", "20260105T100000Z", "20260105T110000Z", "One")))
        target = HOME01 + "calendar/pre-1.ics"

        def last_put() -> tuple[str, int]:
            put = [s for s in live.seen if s.method == "PUT"][-1]
            return put.path, put.status

        # Create-only over an existing object: 412 from the server, no search first.
        reports_before = sum(1 for s in live.seen if s.method == "REPORT")
        with pytest.raises(error.ConsistencyError):
            cal.add_event(vcalendar(vevent("pre-1", "20260105T100000Z", "20260105T110000Z",
                                           "Clobber")), no_overwrite=True)
        assert last_put() == (target, 412)
        assert sum(1 for s in live.seen if s.method == "REPORT") == reports_before

        # The same UID under another name: CALDAV:no-uid-conflict naming the holder.
        twin = Event(writer, url=cal.url.join("twin.ics"), parent=cal, data=vcalendar(
            vevent("pre-1", "20260105T100000Z", "20260105T110000Z", "Twin")))
        with pytest.raises(error.UidConflictError) as conflict:
            twin.save(no_overwrite=True)
        assert conflict.value.preconditions == [names.caldav("no-uid-conflict")]
        assert target.encode() in conflict.value.body
        assert last_put() == (HOME01 + "calendar/twin.ics", 409)

        # Update-only of something that does not exist: If-Match: * fails.
        ghost = Event(writer, url=cal.url.join("ghost.ics"), parent=cal, data=vcalendar(
            vevent("pre-ghost", "20260105T100000Z", "20260105T110000Z", "Ghost")))
        with pytest.raises(error.ConsistencyError):
            ghost.save(no_create=True)
        assert last_put() == (HOME01 + "calendar/ghost.ics", 412)

        # Lost update: a copy fetched before someone else's change is refused on save.
        stale = cal.get_event_by_uid("pre-1")
        fresh = other.principal().calendar(cal_id="calendar").get_event_by_uid("pre-1")
        fresh.icalendar_component["SUMMARY"] = "Changed elsewhere"
        fresh.save()
        stale.icalendar_component["SUMMARY"] = "Stale write"
        with pytest.raises(error.ETagMismatchError):
            stale.save()
        assert last_put() == (target, 412)
        assert str(cal.get_event_by_uid("pre-1").icalendar_component["SUMMARY"]) == (
            "Changed elsewhere")
        assert uids(cal.get_events()) == {"pre-1"}


def test_recurring_event_expanded(principal: Principal) -> None:
    cal = principal.make_calendar(name="Recurring", cal_id="recurring",
                                  supported_calendar_component_set=["VEVENT"])
    cal.add_event(WEEKLY)
    window: Window = {"event": True, "start": utc(2026, 1, 1), "end": utc(2026, 2, 10)}
    expected = [
        (utc(2026, 1, 5, 10), utc(2026, 1, 5, 10), "Weekly"),
        (utc(2026, 1, 12, 10), utc(2026, 1, 12, 10), "Weekly"),
        # 19 January is excluded; 26 January was moved to the afternoon.
        (utc(2026, 1, 26, 10), utc(2026, 1, 26, 15), "Weekly moved"),
        (utc(2026, 2, 2, 10), utc(2026, 2, 2, 10), "Weekly"),
        (utc(2026, 2, 9, 10), utc(2026, 2, 9, 10), "Weekly"),
    ]
    # Expanded by the library from what the server selected, then by the server alone
    # (calendar-data with expand, RFC 4791 §9.6.5; no client-side expansion or filtering).
    assert instances(cal.search(expand=True, **window)) == expected
    assert instances(cal.search(server_expand=True, post_filter=False, **window)) == expected

    # Without expansion the whole resource comes back once, master and override.
    [whole] = cal.search(post_filter=False, **window)
    comps = list(whole.icalendar_instance.walk("VEVENT"))
    assert len(comps) == 2 and "RRULE" in comps[0]

    def found(start: datetime, end: datetime) -> list[tuple[datetime, datetime, str]]:
        return instances(cal.search(event=True, start=start, end=end, server_expand=True,
                                    post_filter=False))

    # Only the moved instance's new slot matches; its old slot and the excluded date do not.
    assert found(utc(2026, 1, 26, 14), utc(2026, 1, 26, 17)) == [expected[2]]
    assert found(utc(2026, 1, 26, 9), utc(2026, 1, 26, 11)) == []
    assert found(utc(2026, 1, 19), utc(2026, 1, 20)) == []
    assert uids(cal.search(event=True, start=utc(2026, 1, 19), end=utc(2026, 1, 20),
                           post_filter=False)) == set()
    # After the last of the ten instances (9 March) there is nothing.
    assert uids(cal.search(event=True, start=utc(2026, 3, 10), end=utc(2026, 12, 31),
                           post_filter=False)) == set()
    assert found(utc(2026, 3, 9), utc(2026, 3, 10)) == [
        (utc(2026, 3, 9, 10), utc(2026, 3, 9, 10), "Weekly")]


def test_recurring_event_with_timezone_across_dst(principal: Principal) -> None:
    cal = principal.make_calendar(name="Paris", cal_id="paris",
                                  supported_calendar_component_set=["VEVENT"])
    cal.add_event(PARIS_WEEKLY)
    window: Window = {"event": True, "start": utc(2026, 3, 1), "end": utc(2026, 4, 30)}
    # 09:00 in Paris is 08:00Z before the last Sunday of March, 07:00Z after it.
    expected = [utc(2026, 3, 18, 8), utc(2026, 3, 25, 8), utc(2026, 4, 1, 7), utc(2026, 4, 8, 7)]
    by_server = cal.search(server_expand=True, post_filter=False, **window)
    for result in (cal.search(expand=True, **window), by_server):
        assert [start for _, start, _ in instances(result)] == expected
    # The server's expanded instances are in UTC (RFC 4791 §9.6.5).
    for obj in by_server:
        start = obj.icalendar_component["DTSTART"]
        assert "TZID" not in start.params and start.dt.utcoffset() == timedelta(0)
    # A one-hour window at 07:00Z on 1 April finds the instance; at 08:00Z it does not.
    assert uids(cal.search(event=True, start=utc(2026, 4, 1, 7), end=utc(2026, 4, 1, 8),
                           post_filter=False)) == {"paris-1"}
    assert uids(cal.search(event=True, start=utc(2026, 4, 1, 8), end=utc(2026, 4, 1, 9),
                           post_filter=False)) == set()


# -- todos and journals ------------------------------------------------------------------------


def test_todos(principal: Principal) -> None:
    tasks = principal.calendar(cal_id="tasks")
    events = principal.calendar(cal_id="calendar")
    tasks.add_todo(uid="todo-1", summary="Write report", due=utc(2026, 1, 10, 12))
    tasks.add_todo(uid="todo-2", summary="File taxes", due=utc(2026, 4, 15, 12))
    assert uids(tasks.get_todos()) == {"todo-1", "todo-2"}
    assert str(tasks.get_todo_by_uid("todo-2").icalendar_component["SUMMARY"]) == "File taxes"

    # VTODO time ranges (RFC 4791 §9.9, DUE without DTSTART).
    assert uids(tasks.search(todo=True, start=utc(2026, 1, 1), end=utc(2026, 2, 1),
                             include_completed=True, post_filter=False)) == {"todo-1"}

    todo = tasks.get_todo_by_uid("todo-1")
    todo.complete(completion_timestamp=utc(2026, 1, 9, 17))
    assert uids(tasks.get_todos()) == {"todo-2"}
    assert uids(tasks.get_todos(include_completed=True)) == {"todo-1", "todo-2"}
    done = tasks.get_todo_by_uid("todo-1").icalendar_component
    assert str(done["STATUS"]) == "COMPLETED"
    assert done["COMPLETED"].dt == utc(2026, 1, 9, 17)

    # The default calendar holds events only: the server refuses a todo there with
    # 403 and the CalDAV precondition (RFC 4791 §5.3.2.1), which the library reports.
    with pytest.raises(error.AuthorizationError) as refused:
        events.add_todo(uid="todo-wrong", summary="Misfiled", due=utc(2026, 1, 10))
    assert refused.value.status == 403
    assert refused.value.preconditions == [names.caldav("supported-calendar-component")]
    assert uids(events.get_events()) == set()

    tasks.get_todo_by_uid("todo-2").delete()
    assert uids(tasks.get_todos(include_completed=True)) == {"todo-1"}


def test_journals(principal: Principal) -> None:
    diary = principal.make_calendar(name="Diary", cal_id="diary",
                                    supported_calendar_component_set=["VEVENT", "VTODO",
                                                                      "VJOURNAL"])
    assert sorted(diary.get_supported_components()) == ["VEVENT", "VJOURNAL", "VTODO"]
    diary.add_journal(uid="j-1", summary="Monday notes", dtstart=date(2026, 1, 5),
                      description="Went well")
    diary.add_journal(uid="j-2", summary="Friday notes", dtstart=date(2026, 1, 9))
    diary.add_event(vcalendar(vevent("j-ev", "20260105T100000Z", "20260105T110000Z", "Meet")))

    assert uids(diary.get_journals()) == {"j-1", "j-2"}
    assert uids(diary.get_events()) == {"j-ev"}
    monday = diary.get_journal_by_uid("j-1")
    assert str(monday.icalendar_component["DESCRIPTION"]) == "Went well"
    # A VJOURNAL with a DATE DTSTART occupies that day (RFC 4791 §9.9).
    assert uids(diary.search(journal=True, start=utc(2026, 1, 9), end=utc(2026, 1, 10),
                             post_filter=False)) == {"j-2"}

    monday.icalendar_component["SUMMARY"] = "Monday notes (edited)"
    monday.save()
    assert (str(diary.get_journal_by_uid("j-1").icalendar_component["SUMMARY"])
            == "Monday notes (edited)")
    monday.delete()
    assert uids(diary.get_journals()) == {"j-2"}
    with pytest.raises(error.NotFoundError):
        diary.get_journal_by_uid("j-1")


# -- sync --------------------------------------------------------------------------------------


def test_sync_tokens(principal: Principal) -> None:
    cal = principal.make_calendar(name="Synced", cal_id="synced",
                                  supported_calendar_component_set=["VEVENT"])
    for n in range(3):
        cal.add_event(vcalendar(vevent(f"s-{n}", f"2026011{n}T100000Z", f"2026011{n}T110000Z",
                                       f"Sync {n}")))
    state = cal.get_objects_by_sync_token(load_objects=True, disable_fallback=True)
    assert uids(list(state)) == {"s-0", "s-1", "s-2"}
    first_token = state.sync_token
    assert first_token and not str(first_token).startswith("fake-")

    # Nothing changed: nothing to report.
    assert state.sync() == ([], [])

    changed = cal.get_event_by_uid("s-1")
    changed.icalendar_component["SUMMARY"] = "Sync 1 (edited)"
    changed.save()
    gone = cal.get_event_by_uid("s-2")
    gone.delete()
    cal.add_event(vcalendar(vevent("s-3", "20260113T100000Z", "20260113T110000Z", "Sync 3")))

    updated, deleted = state.sync()
    assert uids(updated) == {"s-1", "s-3"}
    assert {path_of(o) for o in deleted} == {path_of(gone)}
    assert state.sync_token != first_token
    by_uid = {str(o.icalendar_component["UID"]): o for o in state}
    assert set(by_uid) == {"s-0", "s-1", "s-3"}
    assert str(by_uid["s-1"].icalendar_component["SUMMARY"]) == "Sync 1 (edited)"

    # The old token still works and reports everything since then, deletion included.
    since_first = cal.get_objects_by_sync_token(first_token, disable_fallback=True)
    assert {path_of(o) for o in since_first} >= {path_of(changed), HOME01 + "synced/s-3.ics"}
    assert {str(u.path) for u in since_first.deleted_urls} == {path_of(gone)}
