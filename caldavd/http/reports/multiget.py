"""CALDAV:calendar-multiget (RFC 4791 §7.9): one query for all hrefs."""

from __future__ import annotations

from aiohttp import web
from lxml import etree

from caldavd.caldav.data import parse_calendar_data_request
from caldavd.dav import names
from caldavd.dav.requests import parse_calendar_multiget
from caldavd.http.context import Context
from caldavd.http.propfind import multistatus_for, multistatus_response
from caldavd.http.registry import report
from caldavd.http.reports.common import add_truncated, check_data_ranges, rendered, wants_data
from caldavd.http.resources import CalendarResource, ObjectResource, Resource


@report(names.CALENDAR_MULTIGET, (CalendarResource,))
async def calendar_multiget(ctx: Context, resource: Resource,
                            root: etree._Element) -> web.StreamResponse:
    request = parse_calendar_multiget(root)
    assert isinstance(resource, CalendarResource)
    calendar = resource
    if isinstance(resource, ObjectResource):
        calendar = CalendarResource(resource.path.rsplit("/", 1)[0] + "/", record=resource.record,
                                    home=resource.home, calendar=resource.calendar)
    wanted = {href: href[len(calendar.path):] for href in request.hrefs
              if href.startswith(calendar.path) and "/" not in href[len(calendar.path):]
              and href != calendar.path}
    objects = await ctx.store.objects(calendar.the_calendar, sorted(set(wanted.values())),
                                      with_data=wants_data(request.prop))
    data = parse_calendar_data_request(request.calendar_data)
    check_data_ranges(data)
    found, truncated = await rendered(ctx, calendar, objects, data)
    body = await multistatus_for(ctx, found, request.prop)
    if truncated:
        add_truncated(body, calendar.path)
        return multistatus_response(body)
    present = {r.path for r in found}
    for href in request.hrefs:
        if href not in present:
            body.add_status(href, 404)
    return multistatus_response(body)
