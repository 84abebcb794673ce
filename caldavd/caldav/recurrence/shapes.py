"""Time-range shapes (RFC 4791 §9.9): what a component says about each instance's extent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from icalendar import Component

from caldavd.caldav.recurrence.values import (
    DISTANT_FUTURE,
    DISTANT_PAST,
    When,
    Zones,
    _duration,
    _later,
    _upper,
    _utc,
    when,
)


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
