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
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo

import icalendar
from aiohttp import web
from lxml import etree

from caldavd.caldav import recurrence
from caldavd.caldav.budget import Budget, OverBudget
from caldavd.caldav.filter import parse_utc_datetime
from caldavd.caldav.freebusy import BusyPeriod, freebusy
from caldavd.dav import names
from caldavd.dav.errors import BadRequest, NumberOfMatchesWithinLimits
from caldavd.dav.xml import expect_root
from caldavd.http.context import Context
from caldavd.http.offload import off_loop
from caldavd.http.propvalues import from_stored
from caldavd.http.registry import Report
from caldavd.http.reports.common import budget_for, calendar_zone, check_range, stored_zone
from caldavd.http.resources import (
    CalendarResource,
    HomeResource,
    ObjectResource,
    PlainItem,
    Resource,
)
from caldavd.store import Calendar


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
    if isinstance(resource, CalendarResource):
        calendar = resource.the_calendar
        calendars = [(calendar, await calendar_zone(ctx, calendar))]
    else:
        calendars = await _opaque_calendars(ctx, resource)
    budget, rows = budget_for(ctx), Budget(ctx.config.MaxFreeBusyRows)
    batches: list[list[recurrence.Instance]] = []
    indexed: list[BusyPeriod] = []
    for calendar, zone in calendars:
        found = await ctx.store.busy_time(calendar, start, end, limit=rows.remaining)
        _spend(rows, len(found.periods), "busy periods than MaxFreeBusyRows")
        indexed += found.periods
        batches += await off_loop(ctx, budget, functools.partial(
            _instances, found.to_expand, start, end, zone or UTC, budget))
    body = await off_loop(ctx, budget, functools.partial(
        freebusy, batches, start, end, indexed=indexed))
    return web.Response(status=200, body=body, content_type="text/calendar", charset="utf-8")


def _instances(texts: Sequence[str], start: datetime, end: datetime, zone: tzinfo,
               budget: Budget) -> list[list[recurrence.Instance]]:
    """Each object's instances in the range, floating ones in ``zone`` (on the executor)."""
    result = []
    for text in texts:
        budget.check()
        cal = icalendar.Calendar.from_ical(text)
        instances = recurrence.expand(cal, start, end, floating_tz=zone,
                                      max_instances=budget.ask)
        _spend(budget, len(instances), "recurrence instances than MaxInstancesPerReport")
        result.append(instances)
    return result


def _spend(budget: Budget, count: int, what: str) -> None:
    """A truncated free-busy answer would show busy time as free: going over the budget
    refuses the request (see README, Security and limits)."""
    try:
        budget.spend(count)
    except OverBudget:
        raise NumberOfMatchesWithinLimits(
            f"more {what} in this range; ask for a shorter one", status=403) from None


async def _opaque_calendars(ctx: Context,
                            home: HomeResource) -> list[tuple[Calendar, tzinfo | None]]:
    """Calendars whose schedule-calendar-transp is not transparent (RFC 6638 §9.1), with
    the zone of their floating times (calendar-timezone, RFC 4791 §7.10)."""
    calendars = await ctx.store.calendars(home.the_home)
    props = await ctx.store.properties_for([c.id for c in calendars])
    result = []
    for calendar in calendars:
        stored = props[calendar.id].get(names.SCHEDULE_CALENDAR_TRANSP)
        if stored is None or from_stored(stored).find(names.TRANSPARENT) is None:
            result.append((calendar, stored_zone(props[calendar.id])))
    return result


REPORTS = (
    Report(names.FREE_BUSY_QUERY, (HomeResource,), free_busy_query,
           excludes=(ObjectResource, PlainItem)),
)
