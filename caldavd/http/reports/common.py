"""What the calendar REPORTs share: the time zone of floating times, the range and
instance limits, and rendering objects with requested calendar-data (off the loop
when it expands or selects)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, tzinfo

from lxml import etree

from caldavd.caldav.budget import Budget, OverBudget
from caldavd.caldav.data import DataRequest, parse_calendar_data_request, render
from caldavd.caldav.filter import stored_timezone
from caldavd.caldav.limits import MAX_DATE_TIME, MIN_DATE_TIME
from caldavd.dav import names
from caldavd.dav.errors import MaxDateTime, MinDateTime, NumberOfMatchesWithinLimits
from caldavd.dav.multistatus import Multistatus
from caldavd.dav.requests import Propfind
from caldavd.http.context import Context
from caldavd.http.offload import off_loop
from caldavd.http.propfind import object_resource
from caldavd.http.resources import CalendarResource, ObjectResource
from caldavd.store import Calendar, CalendarObject


def calendar_data_request(root: etree._Element) -> DataRequest:
    """The CALDAV:calendar-data element inside the report's DAV:prop, parsed."""
    prop = root.find(names.PROP)
    found = prop.find(names.CALENDAR_DATA) if prop is not None else None
    return parse_calendar_data_request(found)


def wants_data(request: Propfind) -> bool:
    return names.CALENDAR_DATA in request.names


def stored_zone(properties: Mapping[str, str]) -> tzinfo | None:
    """The zone of a calendar's calendar-timezone (RFC 4791 §5.2.2), from its properties."""
    return stored_timezone(properties.get(names.CALENDAR_TIMEZONE))


async def calendar_zone(ctx: Context, calendar: Calendar) -> tzinfo | None:
    """Floating times and dates of the calendar's objects are in its calendar-timezone
    unless the request names one (RFC 4791 §5.2.2, §9.8)."""
    return stored_zone(await ctx.store.properties(calendar.id))


def check_range(start: datetime, end: datetime) -> None:
    """A range the server expands over lies within the calendars' advertised
    min-date-time and max-date-time (RFC 4791 §5.2.6, §5.2.7, §7.8 preconditions)."""
    if start < MIN_DATE_TIME:
        raise MinDateTime(f"the range starts before {MIN_DATE_TIME:%Y-%m-%d}")
    if end > MAX_DATE_TIME:
        raise MaxDateTime(f"the range ends after {MAX_DATE_TIME:%Y-%m-%d}")


def check_data_ranges(data: DataRequest) -> None:
    for tr in (data.expand, data.limit_recurrence_set, data.limit_freebusy_set):
        if tr is not None and tr.start is not None and tr.end is not None:
            check_range(tr.start, tr.end)


def budget_for(ctx: Context) -> Budget:
    return ctx.instance_budget()


def add_truncated(body: Multistatus, path: str) -> None:
    """RFC 4791 §7.8 postcondition, reported as RFC 5323 §5.2 and RFC 6578 §3.6 do:
    the answer holds the objects before the one that went over the limit."""
    body.add_status(path, 507, NumberOfMatchesWithinLimits(
        "more recurrence instances than MaxInstancesPerReport; the answer is truncated"))


def render_all(texts: Sequence[str], data: DataRequest, zone: tzinfo,
               budget: Budget) -> tuple[list[str], bool]:
    """(calendar-data of each text, truncated) — on the executor: ``texts`` stop at the
    first one whose expansion goes over ``budget``."""
    result = []
    for text in texts:
        budget.check()
        try:
            result.append(render(text, data, floating_tz=zone, budget=budget))
        except OverBudget:
            return result, True
    return result, False


async def rendered_texts(ctx: Context, calendar: Calendar, texts: Sequence[str],
                         data: DataRequest, *, zone: tzinfo | None = None,
                         ) -> tuple[list[str], bool]:
    """``render_all`` off the loop; floating times in ``zone``, else the calendar's."""
    if data.is_identity:
        return list(texts), False
    if zone is None and (data.expand is not None or data.limit_recurrence_set is not None):
        zone = await calendar_zone(ctx, calendar)
    budget = budget_for(ctx)
    chosen = zone or UTC
    return await off_loop(ctx, budget, lambda: render_all(texts, data, chosen, budget))


async def rendered(ctx: Context, calendar: CalendarResource, objects: Sequence[CalendarObject],
                   data: DataRequest, *, zone: tzinfo | None = None,
                   ) -> tuple[list[ObjectResource], bool]:
    """Object resources whose calendar-data is what the request selected, and whether
    the list was truncated (see ``render_all``)."""
    if data.is_identity:
        return [object_resource(calendar, obj) for obj in objects], False
    with_data = [obj for obj in objects if obj.icalendar is not None]
    texts, truncated = await rendered_texts(ctx, calendar.the_calendar,
                                            [obj.icalendar or "" for obj in with_data], data,
                                            zone=zone)
    changed = dict(zip((obj.id for obj in with_data), texts, strict=False))
    result = []
    for obj in objects:
        if obj.icalendar is not None:
            if obj.id not in changed:
                break  # truncated here
            obj = dataclasses.replace(obj, icalendar=changed[obj.id])
        result.append(object_resource(calendar, obj))
    return result, truncated
