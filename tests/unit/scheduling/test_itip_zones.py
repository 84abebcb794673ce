"""Recurrence keys across zones and all-day events: the RECURRENCE-ID of an instance is
the same instance whatever zone or form it is written in (RFC 5545 §3.8.4.4; keys as
caldav.recurrence reads them)."""

from __future__ import annotations

from datetime import date

from caldavd.scheduling.itip import (
    apply_cancel,
    attendee_reply,
    is_significant_change,
    merge_reply,
    organizer_messages,
)
from tests.unit.scheduling.samples import (
    DEFAULT_ATTENDEES,
    ORG,
    A,
    by_recipient,
    calendar,
    components,
    everyone,
    params,
    text,
    vevent,
)

BERLIN = ("DTSTART;TZID=Europe/Berlin:20260105T100000",
          "DTEND;TZID=Europe/Berlin:20260105T110000")
ALL_DAY = ("DTSTART;VALUE=DATE:20260105", "DTEND;VALUE=DATE:20260106")
ORG_LINE, _A_LINE, B_LINE = DEFAULT_ATTENDEES


def _weekly(times: tuple[str, str], *extra: str) -> str:
    return vevent("RRULE:FREQ=WEEKLY;COUNT=5", *extra, start=times[0], end=times[1])


def test_an_exdate_in_utc_cancels_the_instance_of_a_zoned_series() -> None:
    """10:00 Berlin on 12 January is 09:00Z."""
    before = calendar(_weekly(BERLIN))
    after = calendar(_weekly(BERLIN, "EXDATE:20260112T090000Z"))
    cancel = by_recipient(organizer_messages(before, after, ORG, everyone))[A, "CANCEL"]
    assert cancel.recurrence_ids == ("20260112T090000Z",)
    copy = apply_cancel(calendar(_weekly(BERLIN)), cancel.calendar)
    assert copy is not None and "EXDATE" in text(copy)


def test_an_override_written_in_the_zone_is_the_instance_of_the_utc_exdate() -> None:
    zoned = vevent(rid="RECURRENCE-ID;TZID=Europe/Berlin:20260112T100000",
                   start="DTSTART;TZID=Europe/Berlin:20260112T120000",
                   end="DTEND;TZID=Europe/Berlin:20260112T130000")
    before = calendar(_weekly(BERLIN), zoned)
    after = calendar(_weekly(BERLIN, "EXDATE:20260112T090000Z"))
    messages = by_recipient(organizer_messages(before, after, ORG, everyone))
    assert messages[A, "CANCEL"].recurrence_ids == ("20260112T090000Z",)


def test_all_day_instances_are_cancelled_and_answered_as_dates() -> None:
    before = calendar(_weekly(ALL_DAY))
    after = calendar(_weekly(ALL_DAY, "EXDATE;VALUE=DATE:20260112"))
    cancel = by_recipient(organizer_messages(before, after, ORG, everyone))[A, "CANCEL"]
    instance, = components(cancel.calendar)
    assert instance.get("RECURRENCE-ID").dt == date(2026, 1, 12)
    declined = vevent(rid="RECURRENCE-ID;VALUE=DATE:20260119",
                      start="DTSTART;VALUE=DATE:20260119", end="DTEND;VALUE=DATE:20260120",
                      attendees=(ORG_LINE, f"ATTENDEE;PARTSTAT=DECLINED:{A}", B_LINE))
    reply = attendee_reply(calendar(_weekly(ALL_DAY)),
                           calendar(_weekly(ALL_DAY), declined), A)
    assert reply is not None
    master, override = components(merge_reply(calendar(_weekly(ALL_DAY)), reply.calendar, A))
    assert params(override, A)["PARTSTAT"] == "DECLINED"
    assert params(master, A)["PARTSTAT"] == "ACCEPTED"


def test_a_todo_whose_due_moves_is_asked_again() -> None:
    todo = ("BEGIN:VTODO\r\nUID:t1\r\nDTSTAMP:20251201T000000Z\r\nDUE:{due}\r\n"
            f"ORGANIZER:{ORG}\r\nATTENDEE:{A}\r\nEND:VTODO\r\n")
    before = calendar(todo.format(due="20260105T100000Z"))
    after = calendar(todo.format(due="20260106T100000Z"))
    assert is_significant_change(before, after)
    assert [m.recipient for m in organizer_messages(before, after, ORG, everyone)] == [A]
