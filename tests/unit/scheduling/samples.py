"""Small iCalendar objects for the iTIP unit tests: one meeting of ORG with A and B."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from icalendar import Calendar, Component

from caldavd.caldav.ical import parse_text, serialize
from caldavd.scheduling.itip_common import Message

ORG = "mailto:org@example.com"
A = "mailto:a@example.com"
B = "mailto:b@example.com"
C = "mailto:c@example.com"

DEFAULT_ATTENDEES = (f"ATTENDEE;PARTSTAT=ACCEPTED:{ORG}",
                     f"ATTENDEE;PARTSTAT=ACCEPTED;RSVP=TRUE:{A}",
                     f"ATTENDEE;PARTSTAT=TENTATIVE:{B}")


def vevent(*extra: str, uid: str = "meeting-1", start: str = "DTSTART:20260105T100000Z",
           end: str = "DTEND:20260105T110000Z", summary: str = "Planning", seq: int = 0,
           stamp: str = "20251201T000000Z", rid: str | None = None,
           organizer: str | None = f"ORGANIZER;CN=Org:{ORG}",
           attendees: Sequence[str] = DEFAULT_ATTENDEES) -> str:
    lines = ["BEGIN:VEVENT", f"UID:{uid}", f"DTSTAMP:{stamp}", start, end,
             f"SUMMARY:{summary}", f"SEQUENCE:{seq}"]
    if rid is not None:
        lines.append(rid)
    if organizer is not None:
        lines.append(organizer)
    lines += [*attendees, *extra, "END:VEVENT"]
    return "\r\n".join(lines) + "\r\n"


ALARM = "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:soon\r\nTRIGGER:-PT15M\r\nEND:VALARM"


def calendar(*components: str, method: str | None = None) -> Calendar:
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\n"
    if method:
        head += f"METHOD:{method}\r\n"
    return parse_text(head + "".join(components) + "END:VCALENDAR\r\n")


WEEKLY = "RRULE:FREQ=WEEKLY;COUNT=10"
# The second instance of the weekly meeting, and an override of it.
SECOND = "20260112T100000Z"
OVERRIDE_RID = f"RECURRENCE-ID:{SECOND}"


def override(*extra: str, attendees: Sequence[str] = DEFAULT_ATTENDEES,
             summary: str = "Planning", seq: int = 0,
             start: str = "DTSTART:20260112T120000Z") -> str:
    return vevent(*extra, rid=OVERRIDE_RID, start=start, end="DTEND:20260112T130000Z",
                  attendees=attendees, summary=summary, seq=seq)


def components(cal: Calendar) -> list[Component]:
    return [c for c in cal.subcomponents if c.name == "VEVENT"]


def attendee(component: Component, address: str) -> Any:
    found = component.get("ATTENDEE")
    props = found if isinstance(found, list) else [found] if found is not None else []
    return next((p for p in props if str(p).lower() == address.lower()), None)


def params(component: Component, address: str) -> dict[str, str]:
    prop = attendee(component, address)
    if prop is None:
        raise KeyError(address)
    return {k: str(v) for k, v in prop.params.items()}


def by_recipient(messages: Sequence[Message]) -> dict[tuple[str, str], Message]:
    return {(m.recipient.lower(), m.method): m for m in messages}


def text(cal: Calendar) -> str:
    return serialize(cal).decode()


def everyone(_address: str) -> bool:
    return True
