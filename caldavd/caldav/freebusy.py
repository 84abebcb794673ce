"""CALDAV:free-busy-query results (RFC 4791 §7.10).

Busy time comes from instances (see ``recurrence.expand``): transparent
instances and those whose ``fbtype`` is FREE (cancelled events, to-dos,
journals, FBTYPE=FREE periods) are left out; the rest are clipped to the
range and merged per FBTYPE. Floating instances must have been expanded with
the time zone that applies to the request (RFC 4791 §7.10: the calendar's
time zone), which is the caller's choice of ``floating_tz``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, tzinfo

from icalendar import Calendar, FreeBusy, vCalAddress

from caldavd.caldav import recurrence
from caldavd.caldav.budget import Budget, OverBudget
from caldavd.caldav.ical import PRODID, serialize
from caldavd.caldav.recurrence import Instance
from caldavd.dav.errors import NumberOfMatchesWithinLimits

__all__ = ["BUSY_TYPES", "BusyPeriod", "busy_periods", "expand", "freebusy", "spend"]

BUSY_TYPES = ("BUSY", "BUSY-UNAVAILABLE", "BUSY-TENTATIVE")
"""FBTYPEs reported, in output order for periods that start together."""

Period = tuple[datetime, datetime]
BusyPeriod = tuple[datetime, datetime, str]
"""Start, end and FBTYPE of an opaque instance (as the time-range index holds them)."""


def _merge(periods: list[Period]) -> list[Period]:
    periods.sort()
    merged: list[Period] = []
    for start, end in periods:
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _busy(instances: Iterable[Instance]) -> Iterator[BusyPeriod]:
    for instance in instances:
        if not instance.transparent:
            yield instance.start, instance.end, instance.fbtype


def busy_periods(instances: Iterable[Instance], start: datetime, end: datetime,
                 indexed: Iterable[BusyPeriod] = ()) -> dict[str, list[Period]]:
    """Merged busy periods per FBTYPE within [start, end), in UTC, of ``instances`` and
    of ``indexed`` periods."""
    found: dict[str, list[Period]] = {fbtype: [] for fbtype in BUSY_TYPES}
    for begins, ends, fbtype in itertools.chain(_busy(instances), indexed):
        if fbtype not in found:
            continue
        clipped_start = max(begins, start)
        clipped_end = min(ends, end)
        if clipped_start < clipped_end:
            found[fbtype].append((clipped_start.astimezone(UTC), clipped_end.astimezone(UTC)))
    return {fbtype: _merge(periods) for fbtype, periods in found.items() if periods}


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(microsecond=0)


def freebusy(instances_by_object: Iterable[list[Instance]], start: datetime, end: datetime,
             *, indexed: Iterable[BusyPeriod] = (), organizer: str | None = None,
             attendees: Iterable[str] = (), uid: str | None = None,
             dtstamp: datetime | None = None, method: str | None = None) -> bytes:
    """A VCALENDAR with one VFREEBUSY for [start, end) (RFC 4791 §7.10), of the
    instances and of ``indexed`` busy periods.

    ``organizer``, ``attendees``, ``uid`` and ``method`` are for scheduling replies
    (RFC 6638 §5, RFC 5546 §3.3.3: METHOD:REPLY); a free-busy-query report leaves them
    out.
    """
    instances = (instance for batch in instances_by_object for instance in batch)
    periods = busy_periods(instances, start, end, indexed)
    component = FreeBusy()
    component.add("DTSTAMP", _utc(dtstamp or datetime.now(UTC)))
    component.add("DTSTART", _utc(start))
    component.add("DTEND", _utc(end))
    if uid is not None:
        component.add("UID", uid)
    if organizer is not None:
        component.add("ORGANIZER", vCalAddress(organizer))
    for attendee in attendees:
        component.add("ATTENDEE", vCalAddress(attendee))
    cal = Calendar()
    cal.add("VERSION", "2.0")
    cal.add("PRODID", PRODID)
    if method is not None:
        cal.add("METHOD", method)
    cal.add_component(component)
    head, tail = serialize(cal).split(_END, 1)
    return b"".join((head, _freebusy_lines(periods), _END, tail))


_END = b"END:VFREEBUSY\r\n"


def _freebusy_lines(periods: dict[str, list[Period]]) -> bytes:
    """One FREEBUSY line per period, in start order (VALUE=PERIOD is the default).

    Written directly, not as icalendar properties (six times faster for the
    hundreds of thousands an index may give, README: Security and limits); at most
    66 octets, so no line is folded (RFC 5545 §3.1)."""
    rows = sorted((period, BUSY_TYPES.index(fbtype), fbtype)
                  for fbtype, merged in periods.items() for period in merged)
    return "".join(
        f"FREEBUSY;FBTYPE={fbtype}:{_utc(start):%Y%m%dT%H%M%SZ}/{_utc(end):%Y%m%dT%H%M%SZ}\r\n"
        for (start, end), _order, fbtype in rows).encode()


def spend(budget: Budget, count: int, what: str) -> None:
    """A truncated free-busy answer would show busy time as free: going over the budget
    refuses the request (see README, Security and limits)."""
    try:
        budget.spend(count)
    except OverBudget:
        raise NumberOfMatchesWithinLimits(
            f"more {what} in this range; ask for a shorter one", status=403) from None


def expand(objects: Iterable[tuple[str, tzinfo]], start: datetime, end: datetime,
           budget: Budget, keep: Callable[[Instance], bool] = lambda _: True,
           ) -> list[list[Instance]]:
    """The instances in [start, end) of each object's data, floating ones in its zone,
    those ``keep`` takes (on the executor; within ``budget``)."""
    result = []
    for text, zone in objects:
        budget.check()
        cal = Calendar.from_ical(text)
        instances = recurrence.expand(cal, start, end, floating_tz=zone,
                                      max_instances=budget.ask)
        spend(budget, len(instances), "recurrence instances than MaxInstancesPerReport")
        result.append([instance for instance in instances if keep(instance)])
    return result
