"""Instances, time zones and DATE/DATE-TIME values (see the package's docstring)."""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from dateutil import rrule as du  # type: ignore[import-untyped]
from icalendar import Component, Timezone

from caldavd.caldav.components import CALENDAR_COMPONENTS

HORIZON = timedelta(days=365)
"""How far past now (or past the query start) an unbounded RRULE is expanded
when no end is given: the time-range index covers this much and queries that
reach further re-expand on demand."""

DISTANT_PAST = datetime(1, 1, 1, tzinfo=UTC)
DISTANT_FUTURE = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)

COMPONENTS = CALENDAR_COMPONENTS
"""Component types that have instances."""


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
