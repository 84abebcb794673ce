"""Store contract: the busy time of many homes at once (``busy_time_of_homes``), what
free-busy through the outbox reads (RFC 6638 §5): ``busy_time`` of every calendar of
each home in one statement, without transparent calendars (§9.1), and handing back the
data of scheduling objects someone declined."""

from __future__ import annotations

import dataclasses

from caldavd.dav import names
from caldavd.store.interface import Store
from caldavd.store.model import Calendar, Home, HomeBusyTime, NewCalendar, ObjectWrite
from tests.store.builders import DAY, HOUR, T0, event, row

START, END = T0, T0 + DAY
TRANSPARENT = ('<X:schedule-calendar-transp xmlns:X="urn:ietf:params:xml:ns:caldav">'
               '<X:transparent/></X:schedule-calendar-transp>')
OPAQUE = ('<schedule-calendar-transp xmlns="urn:ietf:params:xml:ns:caldav"><!-- '
          'not transparent --><opaque/></schedule-calendar-transp>')
ZONE = '<C:calendar-timezone xmlns:C="urn:ietf:params:xml:ns:caldav">tz</C:calendar-timezone>'


def _meeting(uid: str, partstat: str, *, fold: bool = False) -> ObjectWrite:
    """A scheduling object at T0 + 2h whose attendee answered ``partstat``."""
    write = event(uid, T0 + 2 * HOUR)
    attendee = f"ATTENDEE;PARTSTAT={partstat}:mailto:bob@example.com\r\n"
    if fold:  # RFC 5545 §3.1: a line may break anywhere, even inside a value
        attendee = attendee.replace("DECL", "DECL\r\n ")
    text = write.icalendar.replace(
        "SUMMARY:", f"ORGANIZER:mailto:alice@example.com\r\n{attendee}SUMMARY:")
    return dataclasses.replace(write, icalendar=text, organizer="mailto:alice@example.com",
                               scheduling=True)


def _uids(busy: HomeBusyTime) -> list[str]:
    return sorted(text.split("UID:")[1].split("\r\n")[0] for text, _ in busy.to_expand)


async def _second(store: Store, name: str = "bob") -> tuple[Home, Calendar]:
    home = await store.ensure_home(name)
    return home, await store.create_calendar(home, NewCalendar("work"))


async def test_busy_rows_of_every_home_in_one_call(store: Store, cal: Calendar) -> None:
    _, bobs = await _second(store)
    await store.put_object(cal, event("a", T0 + HOUR))
    await store.put_object(cal, event("a-free", T0 + HOUR, instances=(
        row(T0 + HOUR, T0 + 2 * HOUR, fbtype="FREE"),)))  # STATUS:CANCELLED
    await store.put_object(bobs, event("b", T0 + 3 * HOUR, instances=(
        row(T0 + 3 * HOUR, T0 + 4 * HOUR, fbtype="BUSY-TENTATIVE"),)))
    await store.put_object(bobs, event("b-later", T0 + 3 * DAY))
    found = await store.busy_time_of_homes(["alice", "bob", "nobody", "bob"], START, END,
                                           limit=10)
    assert set(found) == {"alice", "bob", "nobody"}
    assert found["alice"].periods == [(T0 + HOUR, T0 + 2 * HOUR, "BUSY")]
    assert found["bob"].periods == [(T0 + 3 * HOUR, T0 + 4 * HOUR, "BUSY-TENTATIVE")]
    assert found["nobody"] == HomeBusyTime()
    assert not found["alice"].to_expand and not found["bob"].to_expand


async def test_transparent_calendars_are_left_out(store: Store, home: Home,
                                                  cal: Calendar) -> None:
    """RFC 6638 §9.1; an opaque one (whatever its prefix or comments) counts."""
    other = await store.create_calendar(home, NewCalendar("holidays"))
    await store.update_properties(home, other, other.id,
                                  {names.SCHEDULE_CALENDAR_TRANSP: TRANSPARENT}, ())
    await store.update_properties(home, cal, cal.id,
                                  {names.SCHEDULE_CALENDAR_TRANSP: OPAQUE}, ())
    await store.put_object(cal, event("work", T0 + HOUR))
    await store.put_object(other, event("holiday", T0 + 5 * HOUR))
    await store.put_object(other, event("floating", T0 + 5 * HOUR, floating=True))
    found = (await store.busy_time_of_homes(["alice"], START, END, limit=10))["alice"]
    assert found.periods == [(T0 + HOUR, T0 + 2 * HOUR, "BUSY")]
    assert found.to_expand == []


async def test_undecided_objects_come_with_their_calendars_zone(
        store: Store, home: Home, cal: Calendar) -> None:
    await store.update_properties(home, cal, cal.id, {names.CALENDAR_TIMEZONE: ZONE}, ())
    _, bobs = await _second(store)
    await store.put_object(cal, event("floating", T0 + 5 * HOUR, floating=True))
    await store.put_object(bobs, event("short", T0 - DAY, indexed_until=T0 + HOUR))
    found = await store.busy_time_of_homes(["alice", "bob"], START, END, limit=10)
    assert [zone for _, zone in found["alice"].to_expand] == [ZONE]
    assert _uids(found["alice"]) == ["floating"]
    assert [zone for _, zone in found["bob"].to_expand] == [None]
    assert _uids(found["bob"]) == ["short"]
    assert found["alice"].periods == found["bob"].periods == []


async def test_declined_scheduling_objects_come_with_their_data(store: Store,
                                                                cal: Calendar) -> None:
    """Whose PARTSTAT=DECLINED it is only the data says: the caller decides."""
    await store.put_object(cal, _meeting("accepted", "ACCEPTED"))
    await store.put_object(cal, _meeting("declined", "DECLINED"))
    await store.put_object(cal, _meeting("folded", "DECLINED", fold=True))
    found = (await store.busy_time_of_homes(["alice"], START, END, limit=10))["alice"]
    assert found.periods == [(T0 + 2 * HOUR, T0 + 3 * HOUR, "BUSY")]
    assert _uids(found) == ["declined", "folded"]


async def test_at_most_limit_plus_one_rows_over_all_homes(store: Store,
                                                          cal: Calendar) -> None:
    _, bobs = await _second(store)
    for n in range(3):
        await store.put_object(cal, event(f"a{n}", T0 + n * HOUR))
        await store.put_object(bobs, event(f"b{n}", T0 + n * HOUR))
    found = await store.busy_time_of_homes(["alice", "bob"], START, END, limit=3)
    assert sum(len(busy.periods) for busy in found.values()) == 4


async def test_the_inbox_is_never_busy(store: Store, home: Home) -> None:
    """A delivered message, even one with index rows, is not the owner's time (RFC 6638
    §2.2): only calendars count."""
    inbox = await store.calendar(home, "inbox")
    assert inbox is not None
    await store.put_object(inbox, event("in-inbox", T0 + HOUR))
    found = await store.busy_time_of_homes(["alice"], START, END, limit=10)
    assert found["alice"] == HomeBusyTime()
