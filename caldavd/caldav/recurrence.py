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
"""

from __future__ import annotations

import bisect
import functools
import heapq
import re
import zoneinfo
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from dateutil import rrule as du  # type: ignore[import-untyped]
from icalendar import Calendar, Component, Timezone, vDDDLists

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
]

HORIZON = timedelta(days=365)
"""How far past now (or past the query start) an unbounded RRULE is expanded
when no end is given: the time-range index covers this much and queries that
reach further re-expand on demand."""

DISTANT_PAST = datetime(1, 1, 1, tzinfo=UTC)
DISTANT_FUTURE = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)

COMPONENTS = ("VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY")
"""Component types that have instances."""

_DAY = timedelta(days=1)
_RECURRENCE_PROPERTIES = ("RRULE", "RDATE", "EXDATE", "EXRULE")


class RecurrenceError(ValueError):
    """Recurrence or date data that cannot be interpreted."""


# -- instances ----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Instance:
    """One occurrence of a component, in UTC."""

    start: datetime
    end: datetime
    recurrence_id: datetime | None
    floating: bool
    transparent: bool
    fbtype: str
    component: Any = field(hash=False)  # an icalendar component (a dict): not hashable
    touch_start: bool = False
    """A query whose end equals ``start`` matches (e.g. VTODO with only DUE)."""
    touch_end: bool = False
    """A query whose start equals ``end`` matches (e.g. zero-duration VEVENT)."""
    moved: bool = False
    """A later instance a THISANDFUTURE override (``component``) stands for."""

    def overlaps(self, start: datetime | None, end: datetime | None) -> bool:
        """Whether this instance matches the time range [start, end) (RFC 4791 §9.9)."""
        if start is not None and not (
                start < self.end or (self.touch_end and start == self.end)):
            return False
        return end is None or end > self.start or (self.touch_start and end == self.start)


# -- time zones ---------------------------------------------------------------------

@functools.lru_cache(maxsize=1024)
def iana_zone(tzid: str) -> tzinfo | None:
    """The IANA zone a TZID names, or None (also for ``/vendor/Area/City`` ids)."""
    cleaned = tzid.strip().strip("/")
    candidates = [cleaned]
    if tzid.startswith("/"):
        parts = cleaned.split("/")
        candidates += ["/".join(parts[i:]) for i in range(1, len(parts))]
    for name in candidates:
        if not name or len(name) > 100 or ".." in name or "\\" in name:
            continue
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            continue
    return None


# A zone's offset at an instant is found by walking its observances' onsets from their
# DTSTART: a definition with more onsets than this before 2101 (FREQ=SECONDLY, or
# every hour of a year) would hold a worker for minutes, and describes no real zone.
# Yearly rules from 1601 (Outlook's DTSTART) have 500.
MAX_OBSERVANCE_ONSETS = 1000
_ONSETS_UNTIL = datetime(2101, 1, 1)


def zone_of_vtimezone(component: Component, *, lookup_tzid: bool = False) -> tzinfo:
    """The tzinfo a VTIMEZONE defines; ValueError for one that cannot be used."""
    if not isinstance(component, Timezone):
        raise ValueError("not a VTIMEZONE")
    for observance in component.subcomponents:
        _check_onsets(observance)
    zone = component.to_tz(lookup_tzid=lookup_tzid)
    if not isinstance(zone, tzinfo):
        raise ValueError("the VTIMEZONE defines no zone")
    return zone


def _check_onsets(observance: Component) -> None:
    """At most ``MAX_OBSERVANCE_ONSETS`` onsets per RRULE of a STANDARD/DAYLIGHT
    (RFC 5545 §3.6.5), counted without walking further than that."""
    start = observance.get("DTSTART")
    rules = observance.get("RRULE")
    if start is None or rules is None:
        return
    first = start.dt if isinstance(start.dt, datetime) else datetime.combine(start.dt, time())
    for rule in rules if isinstance(rules, list) else [rules]:
        onsets = du.rrulestr(rule.to_ical().decode(), dtstart=first.replace(tzinfo=None),
                             cache=False)
        for count, onset in enumerate(onsets):
            if onset >= _ONSETS_UNTIL:
                break
            if count >= MAX_OBSERVANCE_ONSETS:
                raise ValueError(f"an observance of the VTIMEZONE has more than "
                                 f"{MAX_OBSERVANCE_ONSETS} onsets")


@functools.lru_cache(maxsize=256)
def _vtimezone_zone(ical: bytes) -> tzinfo | None:
    """A tzinfo built from one VTIMEZONE's text (cached by content, not by TZID).

    Keyed on the text because two objects may define the same custom TZID
    differently.
    """
    try:
        return zone_of_vtimezone(Timezone.from_ical(ical))
    except Exception:  # any failure means "unusable definition"
        return None


class Zones:
    """TZID resolution for one calendar object."""

    def __init__(self, cal: Component | None = None) -> None:
        self._components: dict[str, Component] = {}
        self._resolved: dict[str, tzinfo | None] = {}
        if cal is not None:
            for component in cal.subcomponents:
                if component.name == "VTIMEZONE" and "TZID" in component:
                    self._components.setdefault(str(component["TZID"]), component)

    def resolve(self, tzid: str) -> tzinfo | None:
        """The zone for a TZID, or None (then values are floating)."""
        if tzid not in self._resolved:
            zone = iana_zone(tzid)
            if zone is None and tzid in self._components:
                zone = _vtimezone_zone(self._components[tzid].to_ical())
            self._resolved[tzid] = zone
        return self._resolved[tzid]


# -- time values --------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class When:
    """A DATE or DATE-TIME value as written: wall-clock time plus its zone.

    ``tz`` is None for floating DATE-TIMEs and for DATEs (``is_date``; the wall
    time is then midnight).
    """

    wall: datetime
    tz: tzinfo | None
    is_date: bool = False

    @property
    def floating(self) -> bool:
        return self.tz is None

    def utc(self, floating_tz: tzinfo = UTC) -> datetime:
        """The instant, reading floating values in ``floating_tz``."""
        return _utc(self.wall, self.tz or floating_tz)

    def key(self, default_tz: tzinfo | None = None) -> datetime:
        """Recurrence identity: UTC instant, or floating wall time labelled UTC."""
        zone = self.tz or (None if self.is_date else default_tz)
        return self.wall.replace(tzinfo=UTC) if zone is None else _utc(self.wall, zone)

    def shifted(self, days: int) -> When:
        try:
            wall = self.wall + timedelta(days=days)
        except OverflowError:
            wall = datetime.max if days > 0 else datetime.min
        return When(wall, self.tz, self.is_date)


def _utc(wall: datetime, zone: tzinfo) -> datetime:
    if zone is UTC:
        return wall.replace(tzinfo=UTC)
    try:
        return wall.replace(tzinfo=zone).astimezone(UTC)
    except (OverflowError, ValueError):
        return DISTANT_PAST if wall.year < 5000 else DISTANT_FUTURE


def _later(moment: datetime, delta: timedelta) -> datetime:
    """``moment + delta``, DISTANT_FUTURE at the latest: an instance may last forever,
    never past what every caller (and the store) can hold."""
    try:
        return min(moment + delta, DISTANT_FUTURE)
    except OverflowError:
        return DISTANT_FUTURE


def when_value(value: Any, tzid: str | None, zones: Zones) -> When:
    """The :class:`When` of a parsed value (date or datetime) with its TZID, if any."""
    if isinstance(value, datetime):
        if tzid is not None:
            return When(value.replace(tzinfo=None), zones.resolve(tzid))
        if value.tzinfo is not None:
            try:
                return When(value.astimezone(UTC).replace(tzinfo=None), UTC)
            except (OverflowError, ValueError) as exc:
                raise RecurrenceError(f"date-time out of range: {value}") from exc
        return When(value, None)
    if isinstance(value, date):
        return When(datetime(value.year, value.month, value.day), None, is_date=True)
    raise RecurrenceError(f"expected a DATE or DATE-TIME, got {value!r}")


def _tzid(prop: Any) -> str | None:
    params = getattr(prop, "params", None)
    tzid = params.get("TZID") if params else None
    return str(tzid) if tzid else None


def when(prop: Any, zones: Zones) -> When:
    """The :class:`When` of a DATE/DATE-TIME property (DTSTART, DUE, ...)."""
    if isinstance(prop, list):
        raise RecurrenceError("property given more than once")
    return when_value(getattr(prop, "dt", prop), _tzid(prop), zones)


def _list_values(component: Component, name: str) -> Iterator[tuple[Any, str | None]]:
    """Each value of a multi-valued date property (RDATE, EXDATE) with its TZID."""
    props = component.get(name)
    if props is None:
        return
    for prop in props if isinstance(props, list) else [props]:
        tzid = _tzid(prop)
        for item in getattr(prop, "dts", ()):
            yield getattr(item, "dt", item), tzid


def _duration(component: Component) -> timedelta | None:
    prop = component.get("DURATION")
    if prop is None:
        return None
    value = getattr(prop, "dt", None)
    if not isinstance(value, timedelta):
        raise RecurrenceError("DURATION is not a duration")
    return value


def _upper(component: Component, name: str) -> str:
    value = component.get(name)
    return str(value).strip().upper() if value is not None and not isinstance(value, list) else ""


# -- RRULE --------------------------------------------------------------------------

_FREQS = {"YEARLY": du.YEARLY, "MONTHLY": du.MONTHLY, "WEEKLY": du.WEEKLY,
          "DAILY": du.DAILY, "HOURLY": du.HOURLY, "MINUTELY": du.MINUTELY,
          "SECONDLY": du.SECONDLY}
_WEEKDAYS = {"MO": du.MO, "TU": du.TU, "WE": du.WE, "TH": du.TH, "FR": du.FR,
             "SA": du.SA, "SU": du.SU}
_BYDAY = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
# RFC 5545 §3.3.10 ranges: (lowest, highest, may be negative). BYSECOND=60
# (a leap second) cannot be represented by datetime and is refused.
_INT_PARTS = {
    "BYSECOND": ("bysecond", 0, 59, False),
    "BYMINUTE": ("byminute", 0, 59, False),
    "BYHOUR": ("byhour", 0, 23, False),
    "BYMONTHDAY": ("bymonthday", 1, 31, True),
    "BYYEARDAY": ("byyearday", 1, 366, True),
    "BYWEEKNO": ("byweekno", 1, 53, True),
    "BYMONTH": ("bymonth", 1, 12, False),
    "BYSETPOS": ("bysetpos", 1, 366, True),
}
_DAY_FILTERS = ("bymonth", "bymonthday", "byyearday", "byweekno", "byweekday", "bysetpos")
_PROBE_FIRST_YEAR = 9944  # probes run in [9944, 9999]: dateutil stops at year 9999


def _int(value: Any, part: str) -> int:
    try:
        return int(str(value))
    except ValueError as exc:
        raise RecurrenceError(f"RRULE {part} value {value!s} is not an integer") from exc


def _ints(values: list[Any], part: str, low: int, high: int, signed: bool) -> list[int]:
    result = []
    for value in values:
        number = _int(value, part)
        if not (low <= number <= high or (signed and -high <= number <= -low)):
            raise RecurrenceError(f"RRULE {part}={number} is out of range")
        result.append(number)
    return result


def _weekday(text: str, part: str) -> Any:
    match = _BYDAY.match(str(text).strip().upper())
    if match is None:
        raise RecurrenceError(f"RRULE {part}={text} is not a weekday")
    day = _WEEKDAYS[match.group(2)]
    if match.group(1) is None:
        return day
    ordinal = int(match.group(1))
    if not 1 <= abs(ordinal) <= 53:
        raise RecurrenceError(f"RRULE {part}={text} is out of range")
    return day(ordinal)


def _until_wall(value: Any, dtstart: When) -> datetime:
    """UNTIL as a naive wall time comparable with the rule's wall-clock instances."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value
        zone = dtstart.tz
        if zone is None:  # floating or DATE start with a UTC UNTIL: compare as written
            return value.astimezone(UTC).replace(tzinfo=None)
        return value.astimezone(zone).replace(tzinfo=None)
    if isinstance(value, date):
        if dtstart.is_date:
            return datetime(value.year, value.month, value.day)
        return datetime.combine(value, time.max)  # a DATE UNTIL includes that whole day
    raise RecurrenceError("RRULE UNTIL is not a date or date-time")


@dataclass(frozen=True, slots=True)
class _Rule:
    rule: Any                    # dateutil rrule over naive wall-clock datetimes
    until: datetime | None       # applied here when COUNT is also given
    bounded: bool
    freq: int
    kwargs: dict[str, Any]       # BYxxx parts, with dateutil's DTSTART defaults explicit
    counted: bool
    start: datetime              # DTSTART as dateutil sees it (no microseconds)

    def starting_near(self, target: datetime) -> Any:
        """The same rule, re-anchored at the last period start at or before ``target``.

        Recurrence periods (years, months, weeks, days, ...) are aligned to
        DTSTART every INTERVAL, and everything dateutil would take from DTSTART
        is explicit in ``kwargs``, so a rule started at a later period start
        yields exactly the original instances from there on. A COUNT rule has
        to be counted from its start and is returned unchanged.
        """
        start = self.start
        anchor = None if self.counted or target <= start else _anchor(
            self.freq, self.kwargs.get("interval", 1), self.kwargs["wkst"], start, target)
        if anchor is None or anchor <= start:
            return self.rule
        return du.rrule(self.freq, dtstart=anchor, until=self.until_for_dateutil, **self.kwargs)

    @property
    def until_for_dateutil(self) -> datetime | None:
        return None if self.counted else self.until


def _anchor(freq: int, interval: int, wkst: Any, start: datetime,
            target: datetime) -> datetime | None:
    """The start of the last recurrence period at or before ``target``."""
    try:
        if freq == du.YEARLY:
            years = (target.year - start.year) // interval * interval
            return datetime(start.year + years, 1, 1)
        if freq == du.MONTHLY:
            first = start.year * 12 + start.month - 1
            months = (target.year * 12 + target.month - 1 - first) // interval * interval
            return datetime((first + months) // 12, (first + months) % 12 + 1, 1)
        if freq == du.WEEKLY:
            week = datetime.combine(start.date(), time()) - timedelta(
                days=(start.weekday() - wkst.weekday) % 7)
            weeks = (target - week).days // 7 // interval * interval
            return week + timedelta(weeks=weeks)
        unit = {du.DAILY: timedelta(days=1), du.HOURLY: timedelta(hours=1),
                du.MINUTELY: timedelta(minutes=1), du.SECONDLY: timedelta(seconds=1)}[freq]
        base = {du.DAILY: start.replace(hour=0, minute=0, second=0),
                du.HOURLY: start.replace(minute=0, second=0),
                du.MINUTELY: start.replace(second=0)}.get(freq, start)
        steps = (target - base) // unit // interval * interval
        return base + steps * unit
    except (ValueError, OverflowError):
        return None


def _explicit_defaults(freq: int, kwargs: dict[str, Any], start: datetime) -> dict[str, Any]:
    """dateutil's defaults taken from DTSTART (see ``rrule.__init__``), made explicit."""
    explicit = dict(kwargs)
    if not any(name in explicit for name in ("byweekno", "byyearday", "bymonthday",
                                             "byweekday")):
        if freq == du.YEARLY:
            explicit.setdefault("bymonth", [start.month])
            explicit["bymonthday"] = [start.day]
        elif freq == du.MONTHLY:
            explicit["bymonthday"] = [start.day]
        elif freq == du.WEEKLY:
            explicit["byweekday"] = [start.weekday()]
    if freq < du.HOURLY:
        explicit.setdefault("byhour", [start.hour])
    if freq < du.MINUTELY:
        explicit.setdefault("byminute", [start.minute])
    if freq < du.SECONDLY:
        explicit.setdefault("bysecond", [start.second])
    return explicit


def _build_rule(recur: Any, dtstart: When) -> _Rule:
    if not hasattr(recur, "items"):
        raise RecurrenceError("RRULE is not a recurrence rule")
    parts = {str(name).upper(): list(values) for name, values in recur.items()}
    freq_values = parts.pop("FREQ", [])
    if len(freq_values) != 1 or str(freq_values[0]).upper() not in _FREQS:
        raise RecurrenceError("RRULE needs exactly one valid FREQ")
    freq = _FREQS[str(freq_values[0]).upper()]
    kwargs: dict[str, Any] = {"wkst": du.MO}
    until: datetime | None = None
    count: int | None = None
    for part, values in parts.items():
        if not values:
            raise RecurrenceError(f"RRULE {part} has no value")
        if part in _INT_PARTS:
            name, low, high, signed = _INT_PARTS[part]
            kwargs[name] = _ints(values, part, low, high, signed)
        elif part == "BYDAY":
            kwargs["byweekday"] = [_weekday(value, part) for value in values]
        elif part == "INTERVAL":
            kwargs["interval"] = _int(values[0], part)
            if kwargs["interval"] < 1:
                raise RecurrenceError("RRULE INTERVAL must be positive")
        elif part == "COUNT":
            count = _int(values[0], part)
            if count < 1:
                raise RecurrenceError("RRULE COUNT must be positive")
        elif part == "UNTIL":
            until = _until_wall(values[0], dtstart)
        elif part == "WKST":
            kwargs["wkst"] = _weekday(values[0], part)
            if getattr(kwargs["wkst"], "n", None):
                raise RecurrenceError("RRULE WKST takes a plain weekday")
        elif part == "RSCALE":
            if str(values[0]).upper() != "GREGORIAN":
                raise RecurrenceError(f"RRULE RSCALE={values[0]!s} is not supported")
        elif part == "SKIP":
            if str(getattr(values[0], "value", values[0])).upper() != "OMIT":
                raise RecurrenceError("RRULE SKIP other than OMIT is not supported")
        else:
            raise RecurrenceError(f"RRULE part {part} is not supported")
    if freq > du.DAILY and "bysetpos" in kwargs:
        raise RecurrenceError("RRULE BYSETPOS is only supported with FREQ=DAILY or coarser")
    if dtstart.is_date and freq > du.DAILY:
        raise RecurrenceError("RRULE with a DATE DTSTART needs FREQ=DAILY or coarser")
    start = dtstart.wall.replace(microsecond=0)
    try:
        rule = du.rrule(freq, dtstart=start, count=count,
                        until=None if count is not None else until, **kwargs)
    except (ValueError, TypeError, OverflowError) as exc:
        raise RecurrenceError(f"RRULE cannot be evaluated: {exc}") from exc
    if any(name in kwargs for name in _DAY_FILTERS):
        _probe(rule, start)
    return _Rule(rule, until, bounded=count is not None or until is not None, freq=freq,
                 kwargs=_explicit_defaults(freq, kwargs, start), counted=count is not None,
                 start=start)


def _probe(rule: Any, start: datetime) -> None:
    """Refuse a rule that yields nothing for decades.

    dateutil looks for the next match until year 9999 and never consults
    UNTIL while nothing matches, so an impossible rule (BYMONTH=2;BYMONTHDAY=30)
    would cost seconds per evaluation. The probe replays the rule near year
    9999, on a start with the same month, day and time and the same year
    modulo 28 (the leap/weekday cycle away from century years), so dateutil's
    own year limit bounds the search to 56 years.
    """
    probe_start = start.replace(year=_PROBE_FIRST_YEAR + (start.year - _PROBE_FIRST_YEAR) % 28)
    try:
        probe = rule.replace(dtstart=probe_start, count=None, until=None)
        found = probe.after(probe_start, inc=True)
    except (ValueError, TypeError, OverflowError) as exc:
        raise RecurrenceError(f"RRULE cannot be evaluated: {exc}") from exc
    if found is None:
        raise RecurrenceError("RRULE never produces an instance")


def _rules(component: Component, dtstart: When) -> list[_Rule]:
    props = component.get("RRULE")
    if props is None:
        return []
    return [_build_rule(prop, dtstart) for prop in (props if isinstance(props, list) else [props])]


def check_rules(component: Component, zones: Zones) -> bool:
    """Check a component's RRULEs; True when one of them is unbounded.

    Raises :class:`RecurrenceError` for a rule this module would not expand.
    """
    if component.get("RRULE") is None:
        return False
    if component.get("DTSTART") is None:
        raise RecurrenceError("RRULE needs DTSTART")
    return any(not rule.bounded for rule in _rules(component, when(component["DTSTART"], zones)))


# -- time-range shapes (RFC 4791 §9.9) ----------------------------------------------

@dataclass(frozen=True, slots=True)
class _Shape:
    """What a component's own properties say about each instance's extent."""

    name: str
    dtstart: When | None
    end: When | None             # DTEND (VEVENT, VFREEBUSY) or DUE (VTODO)
    duration: timedelta | None
    transparent: bool
    fbtype: str


def _shape(component: Component, zones: Zones) -> _Shape:
    name = component.name
    dtstart = when(component["DTSTART"], zones) if "DTSTART" in component else None
    end_name = "DUE" if name == "VTODO" else "DTEND"
    end = when(component[end_name], zones) if end_name in component else None
    transparent = _upper(component, "TRANSP") == "TRANSPARENT"
    if name == "VEVENT":
        status = _upper(component, "STATUS")
        fbtype = {"CANCELLED": "FREE", "TENTATIVE": "BUSY-TENTATIVE"}.get(status, "BUSY")
    else:
        fbtype = "FREE"
    return _Shape(name or "", dtstart, end, _duration(component), transparent, fbtype)


class _Context:
    def __init__(self, zones: Zones, floating_tz: tzinfo) -> None:
        self.zones = zones
        self.floating_tz = floating_tz
        self._exact: dict[_Shape, timedelta] = {}

    def utc(self, value: When) -> datetime:
        return _utc(value.wall, value.tz or self.floating_tz)

    def span(self, shape: _Shape, start: When, period_end: datetime | None = None,
             s: datetime | None = None) -> tuple[datetime, datetime, bool, bool]:
        """(start, end, touch_start, touch_end) of an instance starting at ``start``.

        ``s`` is ``start`` in UTC when the caller already has it.
        """
        if s is None:
            s = self.utc(start)
        if period_end is not None:                       # RDATE;VALUE=PERIOD
            return (s, period_end, False, False) if period_end > s else (s, s, False, True)
        end = self._end(shape, start, s)
        if shape.name == "VEVENT":
            if shape.end is not None:                     # (start < DTEND AND end > DTSTART)
                return s, max(end or s, s), False, False
            if end is not None and end > s:
                return s, end, False, False
            if shape.duration is None and start.is_date:  # all-day: DTSTART+P1D
                return s, self.utc(start.shifted(1)), False, False
            return s, s, False, True                       # (start <= DTSTART AND end > DTSTART)
        if shape.name == "VTODO":
            if end is not None and end > s:
                # DURATION row: (start <= DTSTART+DURATION); DUE row: (start < DUE)
                return s, end, False, shape.end is None
            if shape.end is not None or shape.duration is not None:
                return s, s, True, True
            return s, s, False, True
        if shape.name == "VJOURNAL":
            if start.is_date:
                return s, self.utc(start.shifted(1)), False, False
            return s, s, False, True
        # VFREEBUSY envelope: (start <= DTEND AND end > DTSTART)
        return s, max(end or s, s), False, True

    def _end(self, shape: _Shape, start: When, s: datetime) -> datetime | None:
        """Where the instance ends, DISTANT_FUTURE at the latest (a huge DURATION)."""
        if shape.end is not None and shape.dtstart is not None:
            if start.is_date and shape.end.is_date and shape.dtstart.is_date:
                days = (shape.end.wall - shape.dtstart.wall).days
                return min(self.utc(start.shifted(days)), DISTANT_FUTURE)
            exact = self._exact.get(shape)
            if exact is None:
                exact = self._exact[shape] = self.utc(shape.end) - self.utc(shape.dtstart)
            return _later(s, exact)
        if shape.duration is not None:
            duration = max(shape.duration, timedelta(0))
            # RFC 5545 §3.3.6: days and weeks are nominal, the rest exact.
            nominal = min(self.utc(start.shifted(duration.days)), DISTANT_FUTURE) \
                if duration.days else s
            return _later(nominal, timedelta(seconds=duration.seconds,
                                             microseconds=duration.microseconds))
        return None

    def undated_todo(self, component: Component) -> tuple[datetime, datetime, bool, bool, bool]:
        """(start, end, touch_start, touch_end, floating) of a VTODO without DTSTART."""
        if "DUE" in component:                              # (start < DUE AND end >= DUE)
            due = when(component["DUE"], self.zones)
            at = self.utc(due)
            return at, at, True, False, due.floating
        completed = (self.utc(when(component["COMPLETED"], self.zones))
                     if "COMPLETED" in component else None)
        created = (self.utc(when(component["CREATED"], self.zones))
                   if "CREATED" in component else None)
        if completed is not None and created is not None:
            return min(completed, created), max(completed, created), True, True, False
        if completed is not None:                           # (start <= C AND end >= C)
            return completed, completed, True, True, False
        if created is not None:                             # (end > CREATED)
            return created, DISTANT_FUTURE, False, True, False
        return DISTANT_PAST, DISTANT_FUTURE, True, True, False


# -- expansion ----------------------------------------------------------------------

# An occurrence of a master: (UTC start, recurrence key, start as written, PERIOD end)
_Occurrence = tuple[datetime, datetime, When, datetime | None]


def _first(item: _Occurrence) -> datetime:
    return item[0]


class _Master:
    """The recurrence set of one master component, generated lazily in order."""

    def __init__(self, component: Component, shape: _Shape, ctx: _Context,
                 strict: bool) -> None:
        assert shape.dtstart is not None
        self.component = component
        self.shape = shape
        self.ctx = ctx
        self.dtstart: When = shape.dtstart
        self.rules: list[_Rule] = []
        try:
            self.rules = _rules(component, self.dtstart)
        except RecurrenceError:
            if strict:
                raise
        self.rdates = self._rdates(strict)
        self.exkeys, self.exdays = self._exdates(strict)
        self.recurring = bool(self.rules or self.rdates)
        self.unbounded = any(not rule.bounded for rule in self.rules)

    def key(self, value: When) -> datetime:
        return value.key(self.dtstart.tz)

    def _occurrence(self, value: When, period_end: datetime | None = None) -> _Occurrence:
        instant = self.ctx.utc(value)
        # a zoned value's recurrence key is its instant; only floating ones differ
        key = instant if value.tz is not None else self.key(value)
        return instant, key, value, period_end

    def _rdates(self, strict: bool) -> list[_Occurrence]:
        result = []
        for value, tzid in _list_values(self.component, "RDATE"):
            try:
                if isinstance(value, tuple) and len(value) == 2:
                    start = when_value(value[0], tzid, self.ctx.zones)
                    if isinstance(value[1], timedelta):
                        period_end = _later(self.ctx.utc(start), value[1])
                    else:
                        period_end = self.ctx.utc(when_value(value[1], tzid, self.ctx.zones))
                    result.append(self._occurrence(start, period_end))
                else:
                    result.append(self._occurrence(
                        self._like_dtstart(when_value(value, tzid, self.ctx.zones))))
            except RecurrenceError:
                if strict:
                    raise
        result.sort(key=_first)
        return result

    def _like_dtstart(self, value: When) -> When:
        """A zone-less RDATE is read in the master's zone."""
        if value.tz is None and not value.is_date and self.dtstart.tz is not None:
            return When(value.wall, self.dtstart.tz)
        return value

    def _exdates(self, strict: bool) -> tuple[set[datetime], set[date]]:
        keys: set[datetime] = set()
        days: set[date] = set()
        for value, tzid in _list_values(self.component, "EXDATE"):
            try:
                excluded = when_value(value, tzid, self.ctx.zones)
            except RecurrenceError:
                if strict:
                    raise
                continue
            if excluded.is_date and not self.dtstart.is_date:
                days.add(excluded.wall.date())   # a DATE EXDATE removes that whole day
            else:
                keys.add(self.key(excluded))
        return keys, days

    def _rule_occurrences(self, rule: _Rule, skip_to: datetime | None) -> Iterator[_Occurrence]:
        zone, is_date = self.dtstart.tz, self.dtstart.is_date
        try:
            walls = rule.rule if skip_to is None else rule.starting_near(self._wall(skip_to))
            for wall in walls:
                if rule.counted and rule.until is not None and wall > rule.until:
                    return
                yield self._occurrence(When(wall, zone, is_date))
        except (ValueError, OverflowError):
            return  # dateutil gives up on some combinations while iterating

    def _wall(self, instant: datetime) -> datetime:
        """A UTC instant as wall time in the master's zone, a little early.

        Instances that start before a range can still reach into it, so the
        skip stops short by the instance length plus two days of slack for
        zone offsets.
        """
        reach = self.reach + timedelta(days=2)
        try:
            local = instant.astimezone(self.dtstart.tz or self.ctx.floating_tz)
            return local.replace(tzinfo=None) - reach
        except (OverflowError, ValueError):
            return instant.replace(tzinfo=None) - reach

    @property
    def reach(self) -> timedelta:
        """How long one instance generated from DTSTART lasts (at least one day)."""
        s, e, _touch_start, _touch_end = self.ctx.span(self.shape, self.dtstart)
        return max(e - s, _DAY)

    def occurrences(self, skip_to: datetime | None = None) -> Iterator[_Occurrence]:
        """The recurrence set in order of UTC start, EXDATEs removed, no duplicates.

        ``skip_to`` lets rule instances that end well before it be skipped
        (cheaply, for rules without COUNT); DTSTART and RDATEs are always given.
        """
        streams: list[Iterable[_Occurrence]] = [[self._occurrence(self.dtstart)], self.rdates]
        streams += [self._rule_occurrences(rule, skip_to) for rule in self.rules]
        seen: set[datetime] = set()
        for item in heapq.merge(*streams, key=_first):
            key = item[1]
            if key in seen:
                continue
            seen.add(key)
            if key in self.exkeys or (self.exdays and item[2].wall.date() in self.exdays):
                continue
            yield item


def _rid(component: Component) -> Any:
    return component.get("RECURRENCE-ID")


def _instance(component: Component, shape: _Shape, ctx: _Context, start: When,
              rid: datetime | None, period_end: datetime | None = None,
              instant: datetime | None = None, *, moved: bool = False) -> Instance:
    s, e, touch_start, touch_end = ctx.span(shape, start, period_end, instant)
    return Instance(s, e, rid, start.floating, shape.transparent, shape.fbtype,
                    component, touch_start, touch_end, moved)


def _freebusy_periods(component: Component, ctx: _Context) -> Iterator[Instance]:
    props = component.get("FREEBUSY")
    for prop in props if isinstance(props, list) else [props] if props is not None else []:
        params = getattr(prop, "params", {}) or {}
        fbtype = str(params.get("FBTYPE", "BUSY")).upper()
        if fbtype not in ("FREE", "BUSY", "BUSY-TENTATIVE", "BUSY-UNAVAILABLE"):
            fbtype = "BUSY"
        value = getattr(prop, "dt", None)
        if not (isinstance(value, tuple) and len(value) == 2):
            continue
        start = when_value(value[0], None, ctx.zones)
        s = ctx.utc(start)
        e = _later(s, value[1]) if isinstance(value[1], timedelta) else ctx.utc(
            when_value(value[1], None, ctx.zones))
        if e > s:
            yield Instance(s, e, None, start.floating, False, fbtype, component)


def _single(component: Component, shape: _Shape, ctx: _Context,
            rid: datetime | None) -> list[Instance]:
    """Instances of a component that does not recur (or of one override)."""
    if shape.name == "VFREEBUSY":
        result = list(_freebusy_periods(component, ctx))
        if shape.dtstart is not None and shape.end is not None:
            s, e, touch_start, touch_end = ctx.span(shape, shape.dtstart)
            result.append(Instance(s, e, None, shape.dtstart.floating, True, "FREE",
                                   component, touch_start, touch_end))
        return result
    if shape.dtstart is None:
        if shape.name != "VTODO":
            return []  # VJOURNAL without DTSTART matches no time range (RFC 4791 §9.9)
        s, e, touch_start, touch_end, floating = ctx.undated_todo(component)
        return [Instance(s, e, rid, floating, shape.transparent, shape.fbtype, component,
                         touch_start, touch_end)]
    return [_instance(component, shape, ctx, shape.dtstart, rid)]


def horizon_end(now: datetime | None = None, start: datetime | None = None) -> datetime:
    """Where an unbounded recurrence stops when no end is given: ``HORIZON`` after
    ``now`` or ``start`` (its first instance in the range), whichever is later."""
    base = now or datetime.now(UTC)
    if start is not None and start > base:
        base = start
    return base + HORIZON if base < DISTANT_FUTURE - HORIZON else DISTANT_FUTURE


@dataclass(frozen=True)
class _RangeOverride:
    """An override with RANGE=THISANDFUTURE: the instances after the one it names
    (``key``) are moved as it moved that one, and take its extent and properties."""

    key: datetime
    component: Component
    shape: _Shape
    rid: When
    start: When

    def moved(self, value: When, ctx: _Context) -> When:
        if (value.tz == self.rid.tz == self.start.tz
                and value.is_date == self.rid.is_date == self.start.is_date):
            return When(value.wall + (self.start.wall - self.rid.wall), value.tz, value.is_date)
        instant = ctx.utc(value) + (ctx.utc(self.start) - ctx.utc(self.rid))
        return When(instant.replace(tzinfo=None), UTC)

    def reach(self, ctx: _Context) -> timedelta:
        """How far the move and the override's extent carry an instance."""
        shift = abs(ctx.utc(self.start) - ctx.utc(self.rid))
        s, e, _, _ = ctx.span(self.shape, self.start)
        return shift + max(e - s, timedelta(0)) + timedelta(days=2)  # days: zone offsets


def _range_overrides(overrides: list[Component], master: Component | None,
                     ctx: _Context) -> list[_RangeOverride]:
    """The THISANDFUTURE overrides of a master, by RECURRENCE-ID."""
    master_tz = _master_tz(master, ctx.zones)
    found = []
    for override in overrides:
        prop = _rid(override)
        params = getattr(prop, "params", None) or {}
        if str(params.get("RANGE", "")).upper() != "THISANDFUTURE" or override.name != (
                master.name if master is not None else None):
            continue
        try:
            rid = when(prop, ctx.zones)
            if rid.tz is None and not rid.is_date and master_tz is not None:
                rid = When(rid.wall, master_tz)  # read in the master's zone
            shape = _shape(override, ctx.zones)
            if shape.dtstart is None:
                continue
            found.append(_RangeOverride(rid.key(master_tz), override, shape, rid,
                                        shape.dtstart))
        except (RecurrenceError, ValueError, OverflowError, KeyError, TypeError):
            continue
    found.sort(key=lambda r: r.key)
    return found


def _ranged(ranges: list[_RangeOverride], keys: list[datetime],
            key: datetime) -> _RangeOverride | None:
    """The THISANDFUTURE override in force for the instance ``key`` (the last before it;
    ``keys``: theirs, in order)."""
    index = bisect.bisect_left(keys, key)
    return ranges[index - 1] if index else None


def _master_instances(master: _Master, ctx: _Context, start: datetime | None,
                      end: datetime | None, overridden: Collection[datetime],
                      max_instances: int | None, now: datetime | None,
                      ranges: list[_RangeOverride] | None = None) -> list[Instance]:
    stop = end
    # Open-ended: the horizon counts from the first instance in the range, wherever
    # that lies (a yearly event from 2030 has instances after 2026, too).
    open_ended = stop is None and master.unbounded
    skip_to = start
    range_keys = [r.key for r in ranges] if ranges else []
    if ranges:  # a moved instance may come from outside the range (not past the horizon)
        reach = max(r.reach(ctx) for r in ranges)
        skip_to = None if start is None else start - reach
        if end is not None:
            stop = end + reach
    result: list[Instance] = []
    for s, key, value, period_end in master.occurrences(skip_to):
        if open_ended and stop is None and (start is None or s >= start):
            stop = horizon_end(now, s)
        if stop is not None and s > stop:
            break
        if key in overridden:
            continue
        ranged = _ranged(ranges, range_keys, key) if ranges and master.recurring else None
        try:
            if ranged is not None:
                instance = _instance(ranged.component, ranged.shape, ctx,
                                     ranged.moved(value, ctx), key, moved=True)
            else:
                instance = _instance(master.component, master.shape, ctx, value,
                                     key if master.recurring else None, period_end, s)
        except OverflowError:
            break  # the end of an instance near year 9999 is past what datetime holds
        if instance.overlaps(start, end):
            result.append(instance)
            if max_instances is not None and len(result) >= max_instances:
                break
    return result


def _instances(component: Component, master: Component | None, ctx: _Context,
               start: datetime | None, end: datetime | None, *,
               overridden: Collection[datetime] = (), max_instances: int | None = None,
               now: datetime | None = None,
               ranges: list[_RangeOverride] | None = None) -> list[Instance]:
    if component.name not in COMPONENTS:
        return []
    try:
        shape = _shape(component, ctx.zones)
        rid_prop = _rid(component)
        if rid_prop is not None:
            rid = when(rid_prop, ctx.zones)
            master_tz = _master_tz(master, ctx.zones)
            key = rid.key(master_tz)
            result = _single(component, shape, ctx, key)
        elif shape.dtstart is not None and shape.name != "VFREEBUSY" and (
                "RRULE" in component or "RDATE" in component):
            return _master_instances(_Master(component, shape, ctx, strict=False), ctx,
                                     start, end, overridden, max_instances, now, ranges)
        else:
            result = _single(component, shape, ctx, None)
    except (ValueError, OverflowError, KeyError, TypeError, AttributeError):
        return []  # stored data this module cannot interpret has no instances
    return [instance for instance in result if instance.overlaps(start, end)]


def _master_tz(master: Component | None, zones: Zones) -> tzinfo | None:
    if master is None or "DTSTART" not in master:
        return None
    try:
        return when(master["DTSTART"], zones).tz
    except RecurrenceError:
        return None


def component_instances(component: Component, master: Component | None = None,
                        start: datetime | None = None, end: datetime | None = None, *,
                        floating_tz: tzinfo = UTC, zones: Zones | None = None,
                        overridden: Collection[datetime] = (),
                        max_instances: int | None = None,
                        now: datetime | None = None) -> list[Instance]:
    """The instances one component contributes that overlap [start, end).

    For a master, ``overridden`` holds the recurrence ids (UTC keys) that
    overrides replace. For an override, ``master`` (if any) supplies the zone
    of a floating RECURRENCE-ID. ``zones`` resolves TZIDs (pass ``Zones(cal)``;
    without it only IANA names resolve). Data that cannot be interpreted yields
    no instances rather than an error.
    """
    ctx = _Context(zones or Zones(), floating_tz)
    return _instances(component, master, ctx, start, end, overridden=overridden,
                      max_instances=max_instances, now=now)


def _groups(cal: Component) -> Iterator[tuple[Component | None, list[Component]]]:
    """(master, overrides) per UID, in document order; extra masters stand alone."""
    masters: dict[str, Component] = {}
    overrides: dict[str, list[Component]] = {}
    loose: list[Component] = []
    order: list[str] = []
    for component in cal.subcomponents:
        if component.name not in COMPONENTS:
            continue
        uid = str(component.get("UID", ""))
        if uid not in masters and uid not in overrides:
            order.append(uid)
        if _rid(component) is not None:
            overrides.setdefault(uid, []).append(component)
        elif uid in masters:
            loose.append(component)
        else:
            masters[uid] = component
    for uid in order:
        yield masters.get(uid), overrides.get(uid, [])
    for component in loose:
        yield component, []


def _override_keys(overrides: list[Component], master: Component | None,
                   zones: Zones) -> set[datetime]:
    master_tz = _master_tz(master, zones)
    keys = set()
    for override in overrides:
        try:
            keys.add(when(_rid(override), zones).key(master_tz))
        except RecurrenceError:
            continue
    return keys


def expand(cal: Component, start: datetime | None = None, end: datetime | None = None, *,
           floating_tz: tzinfo = UTC, max_instances: int | None = None,
           now: datetime | None = None) -> list[Instance]:
    """Instances of every component of ``cal`` overlapping [start, end), sorted.

    ``None`` leaves that side open; an unbounded RRULE with no ``end`` stops at
    :func:`horizon_end` of its first instance from ``start`` on (``now`` defaults
    to the current time). At most
    ``max_instances`` (the earliest) are returned.
    """
    ctx = _Context(Zones(cal), floating_tz)
    result: list[Instance] = []
    for master, overrides in _groups(cal):
        if master is not None:
            keys = _override_keys(overrides, master, ctx.zones) if overrides else set()
            ranges = _range_overrides(overrides, master, ctx) if overrides else None
            result += _instances(master, None, ctx, start, end, overridden=keys,
                                 max_instances=max_instances, now=now, ranges=ranges)
        for override in overrides:
            result += _instances(override, master, ctx, start, end)
    result.sort(key=lambda instance: (instance.start, instance.end))
    if max_instances is not None:
        del result[max_instances:]
    return result


def is_unbounded(cal: Component) -> bool:
    """Whether some master has an RRULE without COUNT or UNTIL."""
    zones = Zones(cal)
    for master, _overrides in _groups(cal):
        if master is None:
            continue
        try:
            if check_rules(master, zones):
                return True
        except RecurrenceError:
            continue
    return False


def count_instances(cal: Component, *, stop: int, before: datetime | None = None,
                    unbounded_window: timedelta = HORIZON) -> int:
    """How many instances the object defines, counting no further than ``stop``.

    Counted: each master's recurrence set (start before ``before``; for an
    unbounded set also within ``unbounded_window`` of its first instance) plus
    overrides that name no counted instance. Raises :class:`RecurrenceError`
    for data that cannot be expanded.
    """
    ctx = _Context(Zones(cal), UTC)
    total = 0
    for master, overrides in _groups(cal):
        seen: set[datetime] = set()
        if master is not None and master.name in COMPONENTS and "DTSTART" in master:
            shape = _shape(master, ctx.zones)
            recurrence = _Master(master, shape, ctx, strict=True)
            limit = before
            if recurrence.unbounded:
                window_end = ctx.utc(recurrence.dtstart) + unbounded_window
                limit = window_end if limit is None else min(limit, window_end)
            for s, key, _value, _end in recurrence.occurrences():
                if (limit is not None and s >= limit) or total >= stop:
                    break
                seen.add(key)
                total += 1
        elif master is not None:
            total += 1
        total += len(_override_keys(overrides, master, ctx.zones) - seen)
        if total >= stop:
            return stop
    return total


# -- calendar-data output (RFC 4791 §9.6.5, §9.6.6) ---------------------------------

def _calendar_shell(cal: Component) -> Calendar:
    shell = Calendar()
    for name, value in cal.items():
        shell[name] = value
    return shell


def _set_time(component: Component, name: str, value: When, instant: datetime) -> None:
    """Set ``name`` to a value of the same kind: DATE, floating, or UTC."""
    component.pop(name, None)
    if value.is_date:
        component.add(name, value.wall.date())
    elif value.tz is None:
        component.add(name, value.wall)
    else:
        component.add(name, instant)


def _to_utc(component: Component, zones: Zones) -> None:
    """Rewrite DATE-TIMEs that carry a TZID as UTC, in the component and below."""
    for holder in [component, *component.subcomponents]:
        for name in list(holder.keys()):
            props = holder[name]
            converted = []
            changed = False
            for prop in props if isinstance(props, list) else [props]:
                tzid = _tzid(prop)
                zone = zones.resolve(tzid) if tzid is not None else None
                if zone is None:
                    converted.append(prop)
                    continue
                is_list = isinstance(prop, vDDDLists)
                entries: list[Any] = prop.dts if isinstance(prop, vDDDLists) else [prop]
                values = [getattr(entry, "dt", None) for entry in entries]
                walls = [value.replace(tzinfo=None) for value in values
                         if isinstance(value, datetime)]
                if len(walls) != len(values):
                    converted.append(prop)
                    continue
                changed = True
                utc = [_utc(wall, zone) for wall in walls]
                converted.append(utc if is_list else utc[0])
            if changed:
                holder.pop(name)
                for value in converted:
                    holder.add(name, value)


def _instance_component(instance: Instance, master: Component | None,
                        ctx: _Context) -> Component:
    """One expanded instance: of ``master`` (its own recurrence), of an override
    as written, or a later instance a THISANDFUTURE override stands for."""
    component: Component = instance.component.copy(recursive=True)
    moved = instance.moved
    if master is not None and (_rid(instance.component) is None or moved):
        for name in _RECURRENCE_PROPERTIES:
            component.pop(name, None)
        shape = _shape(instance.component, ctx.zones)
        assert shape.dtstart is not None and instance.recurrence_id is not None
        rid = instance.recurrence_id
        original = (When(rid.replace(tzinfo=None), None, shape.dtstart.is_date)
                    if shape.dtstart.tz is None else When(rid.replace(tzinfo=None), UTC))
        begins = original
        if moved:  # it starts where the move put it, which is not its RECURRENCE-ID
            begins = (When(instance.start.astimezone(ctx.floating_tz).replace(tzinfo=None),
                           None, shape.dtstart.is_date)
                      if shape.dtstart.tz is None else When(instance.start, UTC))
        _set_time(component, "RECURRENCE-ID", original, rid)
        _set_time(component, "DTSTART", begins, instance.start)
        if shape.end is not None:
            end_name = "DUE" if shape.name == "VTODO" else "DTEND"
            delta = shape.end.wall - shape.dtstart.wall
            end_value = When(begins.wall + delta, begins.tz, begins.is_date)
            _set_time(component, end_name, end_value, instance.end)
    _to_utc(component, ctx.zones)
    return component


def expand_calendar(cal: Component, start: datetime | None, end: datetime | None, *,
                    floating_tz: tzinfo = UTC, max_instances: int | None = None,
                    now: datetime | None = None) -> Calendar:
    """CALDAV:expand (RFC 4791 §9.6.5): one component per overlapping instance.

    Instances get RECURRENCE-ID and no RRULE/RDATE/EXDATE; DATE-TIMEs with a
    TZID become UTC, DATE and floating values stay as written, and no
    VTIMEZONE is returned.
    """
    ctx = _Context(Zones(cal), floating_tz)
    shell = _calendar_shell(cal)
    masters = {id(master) for master, _ in _groups(cal) if master is not None}
    added: set[int] = set()
    for instance in expand(cal, start, end, floating_tz=floating_tz,
                           max_instances=max_instances, now=now):
        component = instance.component
        if instance.moved or (id(component) in masters and instance.recurrence_id is not None):
            shell.add_component(_instance_component(instance, component, ctx))
        elif id(component) not in added:  # non-recurring: once, even with several periods
            added.add(id(component))
            shell.add_component(_instance_component(instance, None, ctx))
    return shell


def limit_recurrence_set(cal: Component, start: datetime | None, end: datetime | None, *,
                         floating_tz: tzinfo = UTC) -> Calendar:
    """CALDAV:limit-recurrence-set (RFC 4791 §9.6.6).

    Keeps VTIMEZONEs, masters and other components, and only the overrides
    whose current or original instance overlaps the range (THISANDFUTURE
    overrides: whose RECURRENCE-ID is before the range end).
    """
    ctx = _Context(Zones(cal), floating_tz)
    masters: dict[str, Component] = {}
    for master, _overrides in _groups(cal):
        if master is not None:
            masters.setdefault(str(master.get("UID", "")), master)
    shell = _calendar_shell(cal)
    for component in cal.subcomponents:
        if component.name not in COMPONENTS or _rid(component) is None or _override_matters(
                component, masters.get(str(component.get("UID", ""))), ctx, start, end):
            shell.add_component(component)
    return shell


def _override_matters(override: Component, master: Component | None, ctx: _Context,
                      start: datetime | None, end: datetime | None) -> bool:
    if _instances(override, master, ctx, start, end):
        return True
    try:
        rid_prop = _rid(override)
        rid = when(rid_prop, ctx.zones)
        if master is not None and rid.tz is None and not rid.is_date:
            rid = When(rid.wall, _master_tz(master, ctx.zones))
        if str(rid_prop.params.get("RANGE", "")).upper() == "THISANDFUTURE":
            return end is None or ctx.utc(rid) < end
        if master is None or "DTSTART" not in master:
            return False
        original = _instance(master, _shape(master, ctx.zones), ctx, rid, None)
    except (ValueError, OverflowError, KeyError, TypeError, AttributeError):
        return True  # keep what cannot be judged
    return original.overlaps(start, end)

