"""Sample iCalendar bodies for the caldav unit tests."""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar

from caldavd.caldav.ical import Limits, parse_calendar

LIMITS = Limits(
    max_resource_size=100_000,
    min_date_time=datetime(1900, 1, 1, tzinfo=UTC),
    max_date_time=datetime(2100, 1, 1, tzinfo=UTC),
    max_instances=1000,
    max_attendees_per_instance=10,
    supported_components=frozenset({"VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY"}),
)

NEW_YORK_VTIMEZONE = """BEGIN:VTIMEZONE
TZID:Custom Eastern
BEGIN:STANDARD
DTSTART:19701101T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700308T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
END:DAYLIGHT
END:VTIMEZONE
"""


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
        second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def component(name: str, *lines: str, uid: str | None = "uid-1",
              dtstamp: bool = True) -> str:
    """One component; UID and DTSTAMP first unless turned off."""
    head = [f"BEGIN:{name}"]
    if uid is not None:
        head.append(f"UID:{uid}")
    if dtstamp:
        head.append("DTSTAMP:20240101T000000Z")
    return "\n".join([*head, *lines, f"END:{name}"]) + "\n"


def vevent(*lines: str, uid: str | None = "uid-1") -> str:
    return component("VEVENT", *lines, uid=uid)


def vtodo(*lines: str, uid: str | None = "uid-1") -> str:
    return component("VTODO", *lines, uid=uid)


def ics(*components: str, head: str = "VERSION:2.0\nPRODID:-//test//EN\n") -> bytes:
    """A VCALENDAR around ``components`` with CRLF line endings."""
    text = "BEGIN:VCALENDAR\n" + head + "".join(components) + "END:VCALENDAR\n"
    return text.replace("\n", "\r\n").encode()


def cal(*components: str) -> Calendar:
    return parse_calendar(ics(*components))
