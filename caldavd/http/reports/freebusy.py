"""CALDAV:free-busy-query (RFC 4791 §7.10): busy time of a calendar, or of every
opaque calendar of a home, as one VFREEBUSY.

Objects the time-range index decides give their busy rows (FBTYPE and TRANSP are
stored with each instance); only the others (floating instances, recurrences
indexed short of the range) are expanded, off the loop and within the request's
instance budget (MaxInstancesPerReport). Index rows are cheap to read and merge,
so they have an allowance of their own (MaxFreeBusyRows); merging runs off the
loop too.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from aiohttp import web
from lxml import etree

from caldavd.caldav.budget import Budget
from caldavd.caldav.filter import parse_utc_datetime, stored_timezone
from caldavd.caldav.freebusy import expand, freebusy, spend
from caldavd.dav import names
from caldavd.dav.errors import BadRequest
from caldavd.dav.xml import expect_root
from caldavd.http.context import Context
from caldavd.http.offload import off_loop
from caldavd.http.registry import Report
from caldavd.http.reports.common import budget_for, calendar_zone, check_range
from caldavd.http.resources import (
    CalendarResource,
    HomeResource,
    ObjectResource,
    PlainItem,
    Resource,
    ScheduleCollection,
)


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
    check_range(start, end)
    return start, end


# Calendars and homes (RFC 4791 §7.10); not objects nor plain files and folders.
async def free_busy_query(ctx: Context, resource: Resource,
                          root: etree._Element) -> web.StreamResponse:
    start, end = _range(root)
    if not isinstance(resource, HomeResource):
        raise TypeError("not HomeResource: resource")
    budget, rows = budget_for(ctx), Budget(ctx.config.MaxFreeBusyRows)
    if isinstance(resource, CalendarResource):
        calendar = resource.the_calendar
        found = await ctx.store.busy_time(calendar, start, end, limit=rows.remaining)
        zone = await calendar_zone(ctx, calendar) or UTC
        indexed, objects = found.periods, [(text, zone) for text in found.to_expand]
    else:  # the home's opaque calendars (RFC 6638 §9.1), one statement for them all
        uid = resource.the_home.owner_uid
        busy = (await ctx.store.busy_time_of_homes([uid], start, end,
                                                   limit=rows.remaining))[uid]
        indexed = busy.periods
        objects = [(text, stored_timezone(zone) or UTC) for text, zone in busy.to_expand]
    spend(rows, len(indexed), "busy periods than MaxFreeBusyRows")
    batches = await off_loop(ctx, budget, functools.partial(
        expand, objects, start, end, budget))
    body = await off_loop(ctx, budget, functools.partial(
        freebusy, batches, start, end, indexed=indexed))
    return web.Response(status=200, body=body, content_type="text/calendar", charset="utf-8")


REPORTS = (
    Report(names.FREE_BUSY_QUERY, (HomeResource,), free_busy_query,
           excludes=(ObjectResource, PlainItem, ScheduleCollection)),
)
