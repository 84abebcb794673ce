"""CALDAV:free-busy-query (RFC 4791 §7.10): busy time of a calendar, or of every
opaque calendar of a home, as one VFREEBUSY."""

from __future__ import annotations

from datetime import datetime

import icalendar
from aiohttp import web
from lxml import etree

from caldavd.caldav import recurrence
from caldavd.caldav.filter import parse_utc_datetime
from caldavd.caldav.freebusy import freebusy
from caldavd.dav import names
from caldavd.dav.errors import BadRequest
from caldavd.dav.xml import expect_root
from caldavd.http.context import Context
from caldavd.http.propvalues import from_stored
from caldavd.http.registry import report
from caldavd.http.resources import CalendarResource, HomeResource, ObjectResource, Resource
from caldavd.store import Calendar

MAX_INSTANCES_PER_OBJECT = 10_000


def _range(root: etree._Element) -> tuple[datetime, datetime]:
    expect_root(root, names.FREE_BUSY_QUERY)
    time_range = root.find(names.TIME_RANGE)
    if time_range is None or not time_range.get("start") or not time_range.get("end"):
        raise BadRequest("free-busy-query needs a CALDAV:time-range with start and end")
    try:
        start = parse_utc_datetime(time_range.get("start", ""))
        end = parse_utc_datetime(time_range.get("end", ""))
    except ValueError:
        raise BadRequest("time-range start and end must be UTC date-times") from None
    if end <= start:
        raise BadRequest("time-range end must be after its start")
    return start, end


@report(names.FREE_BUSY_QUERY, (HomeResource,))
async def free_busy_query(ctx: Context, resource: Resource,
                          root: etree._Element) -> web.StreamResponse:
    start, end = _range(root)
    if isinstance(resource, ObjectResource):
        raise BadRequest("free-busy-query applies to calendar collections")
    assert isinstance(resource, HomeResource)
    if isinstance(resource, CalendarResource):
        calendars = [resource.the_calendar]
    else:
        calendars = await _opaque_calendars(ctx, resource)
    batches = []
    for calendar in calendars:
        for candidate in await ctx.store.query(calendar, None, start, end):
            cal = icalendar.Calendar.from_ical(candidate.object.icalendar or "")
            batches.append(recurrence.expand(cal, start, end,
                                             max_instances=MAX_INSTANCES_PER_OBJECT))
    body = freebusy(batches, start, end)
    return web.Response(status=200, body=body, content_type="text/calendar", charset="utf-8")


async def _opaque_calendars(ctx: Context, home: HomeResource) -> list[Calendar]:
    """Calendars whose schedule-calendar-transp is not transparent (RFC 6638 §9.1)."""
    calendars = await ctx.store.calendars(home.the_home)
    props = await ctx.store.properties_for([c.id for c in calendars])
    result = []
    for calendar in calendars:
        stored = props[calendar.id].get(names.SCHEDULE_CALENDAR_TRANSP)
        if stored is None or from_stored(stored).find(names.TRANSPARENT) is None:
            result.append(calendar)
    return result
