"""Overriding one instance of a recurring component (e.g. to give it its own
attachments, RFC 8607 rid): the instance as CALDAV:expand makes it, with its
RECURRENCE-ID, the master's properties and none of its rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar, Component

from caldavd.caldav.recurrence import expand_calendar


def _utc(value: date) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def instance_override(cal: Calendar, recurrence_id: date) -> Component | None:
    """A new component for the master's occurrence at ``recurrence_id`` (a UTC or floating
    date-time, or a date), or None when the master has no such occurrence."""
    start = _utc(recurrence_id)
    for component in expand_calendar(cal, start, start + timedelta(seconds=1)).subcomponents:
        found = component.get("RECURRENCE-ID")
        if found is not None and _utc(found.dt) == start:
            return component
    return None
