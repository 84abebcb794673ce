"""CALDAV:calendar-multiget (RFC 4791 §7.9): one query per calendar for all hrefs.

On a calendar (or an object in one) the hrefs name its objects.  On any other
collection of a home (the home itself, a folder) they may name objects at any depth
below it (§7.9: "they MAY refer to calendar object resources at any depth within the
collection"): each calendar they point into is resolved and read-checked once.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web
from lxml import etree

from caldavd.caldav.data import parse_calendar_data_request
from caldavd.dav import names
from caldavd.dav.errors import DAVError
from caldavd.dav.requests import parse_calendar_multiget
from caldavd.http.acl import privileges
from caldavd.http.authority import own_authorities
from caldavd.http.context import Context
from caldavd.http.propfind import multistatus_for, multistatus_response
from caldavd.http.registry import Report
from caldavd.http.reports.common import add_truncated, check_data_ranges, rendered, wants_data
from caldavd.http.resources import (
    CalendarResource,
    HomeResource,
    ObjectResource,
    Resource,
    resolve,
)


async def calendar_multiget(ctx: Context, resource: Resource,
                            root: etree._Element) -> web.StreamResponse:
    request = parse_calendar_multiget(root, own_authorities(ctx.request))
    data = parse_calendar_data_request(request.calendar_data)
    check_data_ranges(data)
    found: list[ObjectResource] = []
    truncated = False
    for calendar, wanted in await _calendars(ctx, resource, request.hrefs):
        objects = await ctx.store.objects(calendar.the_calendar, wanted,
                                          with_data=wants_data(request.prop))
        part, truncated = await rendered(ctx, calendar, objects, data)
        found.extend(part)
        if truncated:
            break
    body = await multistatus_for(ctx, found, request.prop)
    for sent, error in request.refused:
        body.add_refused(sent, error)
    if truncated:
        add_truncated(body, resource.path)
        return multistatus_response(body)
    present = {r.path for r in found}
    for href in request.hrefs:
        if href not in present:
            body.add_status(href, 404)
    return multistatus_response(body)


async def _calendars(ctx: Context, resource: Resource, hrefs: Sequence[str],
                     ) -> list[tuple[CalendarResource, list[str]]]:
    """Each readable calendar the hrefs point into, with the object names wanted from it."""
    if isinstance(resource, CalendarResource):
        calendar = resource
        if isinstance(resource, ObjectResource):
            calendar = CalendarResource(resource.path.rsplit("/", 1)[0] + "/",
                                        record=resource.record, home=resource.home,
                                        calendar=resource.calendar)
        return [(calendar, _names_in(calendar.path, hrefs))]
    wanted: dict[str, list[str]] = {}
    for href in hrefs:
        if href.startswith(resource.path) and not href.endswith("/"):
            parent, name = href.rsplit("/", 1)
            wanted.setdefault(parent + "/", []).append(name)
    found = []
    for path in sorted(wanted):
        target = await _readable_calendar(ctx, path)
        if target is not None:
            found.append((target, sorted(set(wanted[path]))))
    return found


def _names_in(path: str, hrefs: Sequence[str]) -> list[str]:
    return sorted({href[len(path):] for href in hrefs
                   if href.startswith(path) and href != path and "/" not in href[len(path):]})


async def _readable_calendar(ctx: Context, path: str) -> CalendarResource | None:
    try:
        target = await resolve(ctx, path)
    except DAVError:
        return None
    if not isinstance(target, CalendarResource) or isinstance(target, ObjectResource):
        return None
    if names.READ not in await privileges(ctx, target):
        return None
    return target


REPORTS = (
    Report(names.CALENDAR_MULTIGET, (HomeResource,), calendar_multiget),
)
