"""Recurrence expansion into UTC instances (RFC 5545 §3.8.5, RFC 4791 §9.9).

One calendar object expands into :class:`Instance` rows: the time-range index
stores them and time-range matching compares them with a query.

Time values
    A DATE-TIME with a TZID is resolved in this order: a known IANA zone
    (``zoneinfo``, also for ``/vendor/Area/City`` globally unique ids), then the
    object's own VTIMEZONE, otherwise the value is treated as floating.
    IANA comes first because clients copy IANA names into their VTIMEZONEs and
    the local tz database has the current rules. Floating DATE-TIMEs and DATEs
    are interpreted in ``floating_tz`` (RFC 4791 §9.9: the calendar's or the
    request's time zone). RRULEs are evaluated on local wall-clock time, so a
    09:00 weekly meeting stays at 09:00 across DST changes; a local time in a
    DST gap is read with the offset before the gap (RFC 5545 §3.3.5) rather
    than dropped.

Recurrence identity
    ``Instance.recurrence_id`` is the original start in UTC. For floating
    values (DATE or floating DATE-TIME) it is the wall-clock value labelled UTC
    (an all-day instance on 2024-01-08 has ``2024-01-08T00:00Z``), so it does
    not depend on ``floating_tz``. An EXDATE or RECURRENCE-ID without a zone is
    read in the master's zone.

Recurrence set
    DTSTART is always the first instance (as libical does), then RRULEs, RDATEs
    (DATE, DATE-TIME and PERIOD; a PERIOD gives that instance its own end),
    minus EXDATEs. An override (a component with RECURRENCE-ID) replaces the
    instance it names; an override that names no generated instance, or has no
    master, still yields its own instance. An override with
    ``RANGE=THISANDFUTURE`` (RFC 5545 §3.2.13, §3.8.4.4) also stands for every
    later instance of the set up to the next such override: each is moved by
    the override's move (its DTSTART minus its RECURRENCE-ID, in wall-clock
    time when both are in the master's zone) and takes the override's
    duration and properties; it keeps its own RECURRENCE-ID. An override that
    names one of those later instances still replaces just that one.

Time-range rules (RFC 4791 §9.9)
    ``Instance.start``/``end`` are the closed hull the RFC tables compare
    against; ``touch_start``/``touch_end`` say whether a query ending exactly at
    ``start`` / starting exactly at ``end`` still matches (the tables mix ``<``
    and ``<=``). :meth:`Instance.overlaps` applies the exact rule. A SQL
    prefilter on stored rows that uses ``row.start <= q_end AND row.end >=
    q_start`` is a superset of the exact rule. Open-ended VTODOs use
    :data:`DISTANT_PAST`/:data:`DISTANT_FUTURE`. A VFREEBUSY with DTSTART and
    DTEND yields one envelope instance (``fbtype`` FREE, transparent) plus one
    instance per FREEBUSY period.

Free-busy type (RFC 4791 §7.10)
    VEVENT: STATUS:CANCELLED gives ``FREE``, TENTATIVE gives
    ``BUSY-TENTATIVE``, anything else ``BUSY``; ``transparent`` is
    TRANSP:TRANSPARENT. VTODO and VJOURNAL instances are ``FREE``: they never
    block time. FREEBUSY periods carry their FBTYPE (default and unknown:
    ``BUSY``).

Bounds and cost
    ``expand(cal, start, end=None)`` returns bounded recurrence sets whole; an
    unbounded RRULE stops ``HORIZON`` after ``now`` or after its first instance
    from ``start`` on, whichever is later (so a rule whose instances all lie
    far ahead still has them). ``max_instances``
    keeps the earliest instances; callers that expand stored data over a
    client-chosen range should pass it. A range far after DTSTART does not
    walk every earlier instance: a rule without COUNT is re-anchored at its
    last recurrence period before the range. Every RRULE is checked before use
    (value ranges, BYSETPOS only with DAILY or coarser, and a probe that the
    rule yields an instance within decades), so a rule that can never match
    cannot keep dateutil busy until year 9999. Data that cannot be interpreted
    yields no instances from :func:`expand` (validation raises instead).

Modules
    ``values`` (instances, time zones, DATE/DATE-TIME values), ``rules`` (RRULE
    checks on dateutil), ``shapes`` (each instance's extent), ``expansion``
    (recurrence sets, overrides, counts) and ``output`` (calendar-data ``expand``
    and ``limit-recurrence-set``); the names below are the package's interface.
"""


from __future__ import annotations

from caldavd.caldav.recurrence.expansion import (
    component_instances,
    count_instances,
    expand,
    horizon_end,
    is_unbounded,
)
from caldavd.caldav.recurrence.output import expand_calendar, limit_recurrence_set
from caldavd.caldav.recurrence.rules import check_rules
from caldavd.caldav.recurrence.values import (
    COMPONENTS,
    DISTANT_FUTURE,
    DISTANT_PAST,
    HORIZON,
    Instance,
    RecurrenceError,
    When,
    Zones,
    iana_zone,
    when,
    when_value,
    zone_of_vtimezone,
)

__all__ = [
    "COMPONENTS",
    "DISTANT_FUTURE",
    "DISTANT_PAST",
    "HORIZON",
    "Instance",
    "RecurrenceError",
    "When",
    "Zones",
    "check_rules",
    "component_instances",
    "count_instances",
    "expand",
    "expand_calendar",
    "horizon_end",
    "iana_zone",
    "is_unbounded",
    "limit_recurrence_set",
    "when",
    "when_value",
    "zone_of_vtimezone",
]
