"""CALDAV:calendar-query (RFC 4791 §7.8): an indexed prefilter, then an exact recheck
of the candidates the index cannot decide.

When every asked property comes from a listing column or is calendar-data (a
client syncing a time window asks getetag and calendar-data), the answer is
written from the columns of ``Store.query_listing`` (``row_plan``): no objects,
resources or dates; otherwise objects from ``Store.query`` go through the
general property machinery.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from datetime import datetime, tzinfo

import icalendar
from aiohttp import web
from lxml import etree

from caldavd.caldav.data import DataRequest, render
from caldavd.caldav.filter import Filter, parse_filter, parse_timezone_element
from caldavd.dav import names
from caldavd.dav.errors import ValidFilter
from caldavd.dav.fragments import href_text
from caldavd.dav.multistatus import Multistatus
from caldavd.dav.requests import Propfind, prop_request
from caldavd.http.context import Context
from caldavd.http.indexing import index_rows
from caldavd.http.keys import EXPANSION_GATE
from caldavd.http.liveprops import calendar_data_text
from caldavd.http.propfind import multistatus_for, multistatus_response
from caldavd.http.propvalues import from_stored
from caldavd.http.registry import Member, live_property_of, report
from caldavd.http.reports.common import calendar_data_request, rendered
from caldavd.http.resources import CalendarResource, ObjectResource, Resource
from caldavd.store import CalendarObject, Listing, Matches

# How rows answer: per asked property its listing member, or None for calendar-data
# (the data column), and the names objects never have.
RowPlan = tuple[list[Member | None], tuple[str, ...]]


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
    data = calendar_data_request(root)
    plan = row_plan(wanted)
    if plan is not None:
        matches, kept = await matching_rows(ctx, resource, matcher, own_zone=zone is None)
        return multistatus_response(answer_rows(resource, matches, kept, data, plan))
    objects = await matching_objects(ctx, resource, matcher, own_zone=zone is None)
    found = rendered(resource, objects, data)
    return multistatus_response(await multistatus_for(ctx, found, wanted))


def _floating_zone(root: etree._Element) -> tzinfo | None:
    timezone = root.find(names.TIMEZONE)
    return parse_timezone_element(timezone) if timezone is not None else None


async def calendar_zone(ctx: Context, resource: CalendarResource) -> tzinfo | None:
    """The calendar's calendar-timezone applies to floating times (RFC 4791 §7.3)."""
    stored = (await ctx.store.properties(resource.the_calendar.id)).get(names.CALENDAR_TIMEZONE)
    return parse_timezone_element(from_stored(stored)) if stored else None


class Recheck:
    """The in-memory check of candidates the index cannot decide.  ``own_zone``:
    floating times are in the calendar's calendar-timezone, read at the first
    recheck (the index answers the rest, and a floating instance always needs one)."""

    def __init__(self, ctx: Context, resource: CalendarResource, matcher: Filter,
                 *, own_zone: bool) -> None:
        self._ctx, self._resource, self._matcher = ctx, resource, matcher
        self._end = matcher.index_query().end
        self._zone: tzinfo | None = None  # None: the filter's own (CALDAV:timezone or UTC)
        self._zone_known = not own_zone

    async def matches(self, text: str, object_id: int, etag: str,
                      indexed_until: datetime | None) -> bool:
        """Whether the object matches; its index is extended first when it stops
        before the range does, so the next such query is exact."""
        if not self._zone_known:
            self._zone, self._zone_known = await calendar_zone(self._ctx, self._resource), True
        cal = icalendar.Calendar.from_ical(text)
        found = self._matcher.match(cal, floating_tz=self._zone)
        end = self._end
        if end is not None and indexed_until is not None and indexed_until < end:
            await extend_index(self._ctx, self._resource, object_id, etag, cal, end)
        return found


async def matching_objects(ctx: Context, resource: CalendarResource, matcher: Filter, *,
                           own_zone: bool = False) -> list[CalendarObject]:
    """The objects ``matcher`` selects (see ``Recheck`` for ``own_zone``)."""
    query = matcher.index_query()
    candidates = await ctx.store.query(resource.the_calendar, query.component_type,
                                       query.start, query.end)
    recheck = Recheck(ctx, resource, matcher, own_zone=own_zone)
    result = []
    for candidate in candidates:
        obj = candidate.object
        if (query.exact and candidate.exact) or await recheck.matches(
                obj.icalendar or "", obj.id, obj.etag, candidate.indexed_until):
            result.append(obj)
    return result


async def matching_rows(ctx: Context, resource: CalendarResource, matcher: Filter, *,
                        own_zone: bool = False) -> tuple[Matches, list[int]]:
    """``matching_objects`` as the candidates' columns and the indices of the rows
    that match."""
    query = matcher.index_query()
    matches = await ctx.store.query_listing(resource.the_calendar, query.component_type,
                                            query.start, query.end)
    if query.exact and all(matches.exact):
        return matches, list(range(len(matches)))
    recheck = Recheck(ctx, resource, matcher, own_zone=own_zone)
    kept = []
    for i, text in enumerate(matches.icalendars):
        if (query.exact and matches.exact[i]) or await recheck.matches(
                text, matches.ids[i], matches.etags[i], matches.indexed_until[i]):
            kept.append(i)
    return matches, kept


async def extend_index(ctx: Context, resource: CalendarResource, object_id: int, etag: str,
                       cal: icalendar.Calendar, end: datetime) -> None:
    """Expand the object's index up to ``end`` so the next such query is exact."""
    async with ctx.request.app[EXPANSION_GATE]:
        rows, until = await asyncio.get_running_loop().run_in_executor(
            None, functools.partial(index_rows, cal, extend_to=end))
    await ctx.store.reindex(resource.the_calendar, object_id, etag, rows, until)


def row_plan(request: Propfind) -> RowPlan | None:
    """How to answer ``request`` from candidate rows alone (listing members and
    calendar-data), or None when some property needs more (a date, a dead property)."""
    if request.kind != "prop":
        return None
    columns: list[Member | None] = []
    missing: list[str] = []
    for name in request.names:
        if name == names.CALENDAR_DATA:
            columns.append(None)
            continue
        prop = live_property_of(name, ObjectResource)
        if prop is None or prop.member is None:
            return None
        if isinstance(prop.member, Member):
            columns.append(prop.member)
        else:
            missing.append(name)  # ABSENT
    return columns, tuple(missing)


def answer_rows(resource: CalendarResource, matches: Matches, kept: Sequence[int],
                data: DataRequest, plan: RowPlan) -> Multistatus:
    """A response per kept row: each asked property's fragments column by column (the
    data as the request selects it), then one string per object."""
    members, missing = plan
    listing = matches.rows(kept)
    texts = [matches.icalendars[i] for i in kept]
    if not data.is_identity:
        texts = [render(text, data) for text in texts]
    columns = [_column(listing, member, texts) for member in members]
    found: Sequence[str]
    if len(columns) == 1:
        found = columns[0]
    elif columns:
        found = ["".join(parts) for parts in zip(*columns, strict=True)]
    else:
        found = [""] * len(listing)
    body = Multistatus()
    body.add_members(href_text(resource.path), listing.names, found, missing)
    return body


def _column(listing: Listing, member: Member | None, texts: Sequence[str]) -> list[str]:
    if member is None:
        return [calendar_data_text(text) for text in texts]
    return [member.write(value) for value in listing.column(member.field)]
