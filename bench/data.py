"""The benchmark's calendar: deterministic events around the current week.

The base data set is ``count`` events spread over one year (26 weeks back and
26 weeks ahead of the current week, so that the server's recurrence horizon,
which is relative to now, behaves as in production).  Every tenth event recurs
weekly: most of those end after 4 to 26 occurrences, one in five never ends.

The *history* set (``--scale``) adds events that all lie more than a year
before the base year and whose recurrences end before it, so a query for the
current week matches exactly the same objects with or without it: the ratio
of the two timings measures how the query grows with the calendar's size,
not with the size of its answer.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

SEED = 20260105
ICAL_STAMP = "%Y%m%dT%H%M%SZ"
DURATIONS_MIN = (30, 45, 60, 60, 60, 90, 120)
SUMMARIES = ("Standup", "1:1", "Design review", "Planning", "Lunch", "Customer call",
             "Interview", "Retro", "Focus time", "All hands", "Dentist", "Gym")
LOCATIONS = ("Room 1", "Room 2", "Video call", "Cafeteria", "Office", "")


@dataclass(frozen=True)
class Event:
    """One calendar object resource to PUT: its name (last path segment) and body."""

    name: str
    uid: str
    start: datetime
    ics: str


def week_start(now: datetime | None = None) -> datetime:
    """Monday 00:00 UTC of the current week: the week every query asks for."""
    now = now or datetime.now(UTC)
    monday = now - timedelta(days=now.weekday())
    return monday.replace(hour=0, minute=0, second=0, microsecond=0)


def query_week(now: datetime | None = None) -> tuple[datetime, datetime]:
    start = week_start(now)
    return start, start + timedelta(days=7)


def ical_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(ICAL_STAMP)


def vevent(uid: str, start: datetime, minutes: int, summary: str, *, location: str = "",
           rrule: str = "", alarm: bool = False, sequence: int = 0) -> str:
    """A VCALENDAR with one VEVENT, CRLF line endings, shaped as clients write them."""
    end = start + timedelta(minutes=minutes)
    stamp = ical_time(start - timedelta(days=30))
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//caldavd//bench//EN", "CALSCALE:GREGORIAN",
        "BEGIN:VEVENT", f"UID:{uid}", f"DTSTAMP:{stamp}", f"CREATED:{stamp}",
        f"LAST-MODIFIED:{stamp}", f"DTSTART:{ical_time(start)}", f"DTEND:{ical_time(end)}",
        f"SUMMARY:{summary}", f"SEQUENCE:{sequence}", "TRANSP:OPAQUE",
        "DESCRIPTION:Benchmark event. Agenda: status\\, blockers\\, next steps.",
    ]
    if location:
        lines.append(f"LOCATION:{location}")
    if rrule:
        lines.append(f"RRULE:{rrule}")
    if alarm:
        lines += ["BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:Reminder",
                  "TRIGGER:-PT15M", "END:VALARM"]
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(lines) + "\r\n"


def _event(rng: random.Random, uid: str, day0: datetime, days: int, *,
           recurring: bool, bounded_only: bool) -> Event:
    start = day0 + timedelta(days=rng.randrange(days), hours=rng.randrange(8, 18),
                             minutes=rng.choice((0, 15, 30, 45)))
    rrule = ""
    if recurring:
        if bounded_only or rng.random() < 0.8:
            rrule = f"FREQ=WEEKLY;COUNT={rng.randint(4, 26)}"
        else:
            rrule = "FREQ=WEEKLY"
    ics = vevent(uid, start, rng.choice(DURATIONS_MIN), rng.choice(SUMMARIES),
                 location=rng.choice(LOCATIONS), rrule=rrule, alarm=rng.random() < 0.3,
                 sequence=rng.randrange(3))
    return Event(name=f"{uid}.ics", uid=uid, start=start, ics=ics)


def base_events(count: int, now: datetime | None = None) -> Iterator[Event]:
    """``count`` events over the year around the current week; every tenth recurs."""
    rng = random.Random(SEED)
    day0 = week_start(now) - timedelta(weeks=26)
    for i in range(count):
        yield _event(rng, f"bench-{i:06d}", day0, 364, recurring=i % 10 == 0,
                     bounded_only=False)


def history_events(first: int, count: int, now: datetime | None = None) -> Iterator[Event]:
    """``count`` events in the ten years before the base year, none reaching into it.

    Recurrences have at most 26 weekly instances and start at least a year before
    the base year, so they end before it.
    """
    rng = random.Random(SEED + 1)
    base = week_start(now) - timedelta(weeks=26)
    day0 = base - timedelta(days=11 * 365)
    for i in range(first, first + count):
        yield _event(rng, f"bench-h-{i:06d}", day0, 10 * 365, recurring=i % 10 == 0,
                     bounded_only=True)
