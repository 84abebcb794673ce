"""CALDAV:calendar-query (RFC 4791 §7.8): an indexed prefilter, then an exact recheck
of the candidates the index cannot decide."""

from __future__ import annotations

import asyncio
import functools
from datetime import datetime, tzinfo

import icalendar
from aiohttp import web
from lxml import etree

from caldavd.caldav.filter import Filter, parse_filter, parse_timezone_element
from caldavd.dav import names
from caldavd.dav.errors import ValidFilter
from caldavd.dav.requests import Propfind, prop_request
from caldavd.http.context import Context
from caldavd.http.indexing import index_rows
from caldavd.http.keys import EXPANSION_GATE
from caldavd.http.propfind import multistatus_for, multistatus_response
from caldavd.http.propvalues import from_stored
from caldavd.http.registry import report
from caldavd.http.reports.common import calendar_data_request, rendered
from caldavd.http.resources import CalendarResource, ObjectResource, Resource
from caldavd.store import CalendarObject, Candidate


@report(names.CALENDAR_QUERY, (CalendarResource,))
async def calendar_query(ctx: Context, resource: Resource,
                         root: etree._Element) -> web.StreamResponse:
    assert isinstance(resource, CalendarResource)
    if isinstance(resource, ObjectResource):
        raise ValidFilter("calendar-query applies to calendar collections")
    wanted = prop_request(root) or Propfind("allprop")
    filter_element = root.find(names.FILTER)
    if filter_element is None:
        raise ValidFilter("calendar-query needs a CALDAV:filter")
    zone = _floating_zone(root)
    matcher = parse_filter(filter_element, floating_tz=zone)
    objects = await matching_objects(ctx, resource, matcher, own_zone=zone is None)
    found = rendered(resource, objects, calendar_data_request(root))
    return multistatus_response(await multistatus_for(ctx, found, wanted))


def _floating_zone(root: etree._Element) -> tzinfo | None:
    timezone = root.find(names.TIMEZONE)
    return parse_timezone_element(timezone) if timezone is not None else None


async def calendar_zone(ctx: Context, resource: CalendarResource) -> tzinfo | None:
    """The calendar's calendar-timezone applies to floating times (RFC 4791 §7.3)."""
    stored = (await ctx.store.properties(resource.the_calendar.id)).get(names.CALENDAR_TIMEZONE)
    return parse_timezone_element(from_stored(stored)) if stored else None


async def matching_objects(ctx: Context, resource: CalendarResource, matcher: Filter, *,
                           own_zone: bool = False) -> list[CalendarObject]:
    """The objects ``matcher`` selects.  ``own_zone``: floating times are in the calendar's
    calendar-timezone, read only when some candidate needs a recheck (the index answers
    the rest, and a floating instance always needs one)."""
    query = matcher.index_query()
    candidates = await ctx.store.query(resource.the_calendar, query.component_type,
                                       query.start, query.end)
    result = []
    zone: tzinfo | None = None  # None: the filter's own (the request's CALDAV:timezone or UTC)
    zone_known = not own_zone
    for candidate in candidates:
        obj = candidate.object
        if query.exact and candidate.exact:
            result.append(obj)
            continue
        if not zone_known:
            zone, zone_known = await calendar_zone(ctx, resource), True
        cal = icalendar.Calendar.from_ical(obj.icalendar or "")
        if matcher.match(cal, floating_tz=zone):
            result.append(obj)
        reach = candidate.indexed_until
        if query.end is not None and reach is not None and reach < query.end:
            await extend_index(ctx, resource, candidate, cal, query.end)
    return result


async def extend_index(ctx: Context, resource: CalendarResource, candidate: Candidate,
                       cal: icalendar.Calendar, end: datetime) -> None:
    """Expand the object's index up to ``end`` so the next such query is exact."""
    async with ctx.request.app[EXPANSION_GATE]:
        rows, until = await asyncio.get_running_loop().run_in_executor(
            None, functools.partial(index_rows, cal, extend_to=end))
    await ctx.store.reindex(resource.the_calendar, candidate.object.id, candidate.object.etag,
                            rows, until)
