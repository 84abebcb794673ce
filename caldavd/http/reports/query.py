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
from collections import OrderedDict
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
from caldavd.http.propfind import (
    joined,
    member_columns,
    multistatus_for,
    multistatus_response,
)
from caldavd.http.propvalues import from_stored
from caldavd.http.registry import Member, report
from caldavd.http.reports.common import calendar_data_request, rendered
from caldavd.http.resources import CalendarResource, ObjectResource, Resource
from caldavd.store import CalendarObject, Matches

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
        return multistatus_response(
            await _answer_from_rows(ctx, resource, matcher, data, plan, own_zone=zone is None))
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
                        own_zone: bool = False, with_data: bool = True,
                        ) -> tuple[Matches, list[int]]:
    """``matching_objects`` as the candidates' columns and the indices of the rows
    that match (``with_data``: see ``Store.query_listing``; a filter the index cannot
    decide rechecks every row, so then every row comes with its data)."""
    query = matcher.index_query()
    matches = await ctx.store.query_listing(resource.the_calendar, query.component_type,
                                            query.start, query.end,
                                            with_data=with_data or not query.exact)
    if query.exact and all(matches.exact):
        return matches, list(range(len(matches)))
    recheck = Recheck(ctx, resource, matcher, own_zone=own_zone)
    kept = []
    for i, text in enumerate(matches.icalendars):
        if (query.exact and matches.exact[i]) or await recheck.matches(
                text or "", matches.ids[i], matches.etags[i], matches.indexed_until[i]):
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
    return member_columns(request, data_column=True)


class Fragments:
    """calendar-data fragments of whole objects by ETag, the most recently used kept.
    An ETag is the hash of the object's content (``object_writes.content_tag``), so a
    fragment never goes stale; a query repeated for the same window (clients poll
    theirs) then neither fetches nor escapes the data again."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, str] = OrderedDict()

    def get(self, etag: str) -> str | None:
        text = self._items.get(etag)
        if text is not None:
            self._items.move_to_end(etag)
        return text

    def add(self, etag: str, text: str) -> str:
        self._items[etag] = text
        if len(self._items) > self._size:
            self._items.popitem(last=False)
        return text


FRAGMENTS = Fragments(4096)  # ~1.3 kB each for the typical object


async def _answer_from_rows(ctx: Context, resource: CalendarResource, matcher: Filter,
                            data: DataRequest, plan: RowPlan, *,
                            own_zone: bool) -> Multistatus:
    """The answer from candidate rows: the whole data (identity) from ``FRAGMENTS`` where
    they hold it, so fetched only when some row's is missing (a second statement)."""
    wants_data = None in plan[0]
    cached = wants_data and data.is_identity
    matches, kept = await matching_rows(ctx, resource, matcher, own_zone=own_zone,
                                        with_data=wants_data and not cached)
    if not wants_data:
        return answer_rows(resource, matches, kept, plan, ())
    if not cached:
        texts = [render(matches.icalendars[i] or "", data) for i in kept]
        return answer_rows(resource, matches, kept, plan,
                           [calendar_data_text(text) for text in texts])
    fragments = cached_fragments(matches, kept)
    if fragments is None:
        matches, kept = await matching_rows(ctx, resource, matcher, own_zone=own_zone)
        fragments = cached_fragments(matches, kept)
        assert fragments is not None  # every row has its data
    return answer_rows(resource, matches, kept, plan, fragments)


def cached_fragments(matches: Matches, kept: Sequence[int]) -> list[str] | None:
    """The calendar-data fragment of each kept row, from ``FRAGMENTS`` or made from the
    row's data (and kept there); None when a row has neither."""
    result = []
    for i in kept:
        etag = matches.etags[i]
        text = FRAGMENTS.get(etag)
        if text is None:
            ics = matches.icalendars[i]
            if ics is None:
                return None
            text = FRAGMENTS.add(etag, calendar_data_text(ics))
        result.append(text)
    return result


def answer_rows(resource: CalendarResource, matches: Matches, kept: Sequence[int],
                plan: RowPlan, fragments: Sequence[str]) -> Multistatus:
    """A response per kept row: each asked property's fragments column by column
    (``fragments``: the kept rows' calendar-data), then one string per object."""
    members, missing = plan
    listing = matches.rows(kept)
    columns = [fragments if member is None else [member.write(value) for value in
                                                 listing.column(member.field)]
               for member in members]
    body = Multistatus()
    body.add_members(href_text(resource.path), listing.names, joined(columns, len(listing)),
                     missing)
    return body
