"""CALDAV:calendar-query (RFC 4791 §7.8): an indexed prefilter, then an exact recheck
of the candidates the index cannot decide — one path (``matching``), run once per
calendar.

When every asked property comes from a listing column or is calendar-data (a
client syncing a time window asks getetag and calendar-data), the answer is
written from the candidates' columns (``Store.query_listing``, ``row_plan``): no
objects, resources or dates, and the data only of rows whose fragment is not cached;
otherwise the candidates' objects are read and go through the general property
machinery.  Either way what is read after the prefilter is taken as it is then: an
object changed meanwhile is rechecked in its new version, one deleted is left out.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

import icalendar
from aiohttp import web
from lxml import etree

from caldavd.caldav.budget import Budget
from caldavd.caldav.data import DataRequest
from caldavd.caldav.filter import Filter, parse_filter, parse_timezone_element
from caldavd.dav import names
from caldavd.dav.errors import ValidFilter
from caldavd.dav.fragments import href_text
from caldavd.dav.multistatus import Multistatus
from caldavd.dav.requests import Propfind, parse_depth, prop_request
from caldavd.http.acl import privileges
from caldavd.http.context import Context
from caldavd.http.liveprops import calendar_data_text
from caldavd.http.offload import off_loop, offload
from caldavd.http.propfind import (
    children,
    joined,
    member_columns,
    multistatus_for,
    multistatus_response,
)
from caldavd.http.registry import Member, Registry, Report
from caldavd.http.reports.common import (
    add_truncated,
    budget_for,
    calendar_data_request,
    calendar_zone,
    check_data_ranges,
    rendered,
    rendered_texts,
)
from caldavd.http.resources import (
    CalendarResource,
    HomeResource,
    ObjectResource,
    PlainItem,
    Resource,
    ScheduleCollection,
)
from caldavd.store import CalendarObject, Matches, ShortIndexed

# How rows answer: per asked property its listing member, or None for calendar-data
# (the data column), and the names objects never have.
RowPlan = tuple[list[Member | None], tuple[str, ...]]


@dataclass(frozen=True)
class Query:
    """A parsed calendar-query: what to answer, the filter, the request's CALDAV:timezone
    and the calendar-data asked for."""

    wanted: Propfind
    matcher: Filter
    zone: tzinfo | None
    data: DataRequest


def parse_query(root: etree._Element) -> Query:
    filter_element = root.find(names.FILTER)
    if filter_element is None:
        raise ValidFilter("calendar-query needs a CALDAV:filter")
    zone = _floating_zone(root)
    matcher = parse_filter(filter_element, floating_tz=zone)
    data = calendar_data_request(root)
    check_data_ranges(data)
    return Query(prop_request(root) or Propfind("allprop"), matcher, zone, data)


async def calendar_query(ctx: Context, resource: Resource,
                         root: etree._Element) -> web.StreamResponse:
    if not isinstance(resource, HomeResource):
        raise TypeError("not HomeResource: resource")
    query = parse_query(root)
    if isinstance(resource, CalendarResource):
        body, truncated = await query_calendar(ctx, resource, query)
    else:
        body, truncated = await _query_below(ctx, resource, query)
    if truncated:
        add_truncated(body, resource.path)
    return multistatus_response(body)


async def query_calendar(ctx: Context, resource: CalendarResource,
                         query: Query) -> tuple[Multistatus, bool]:
    """The responses for the objects of one calendar that match, and whether they were
    truncated (MaxInstancesPerReport)."""
    recheck = Recheck(ctx, resource, query.matcher, query.zone)
    plan = row_plan(ctx.registry, query.wanted)
    if plan is not None:
        return await _answer_from_rows(ctx, resource, recheck, query.data, plan)
    return await _answer_from_objects(ctx, resource, recheck, query)


async def _answer_from_objects(ctx: Context, resource: CalendarResource, recheck: Recheck,
                               query: Query) -> tuple[Multistatus, bool]:
    """The answer through the general property machinery, from every candidate's object."""
    found = await matching(ctx, resource, recheck, with_data=False, fetch=_every_row)
    objects = [found.objects[found.matches.names[i]] for i in found.kept]
    chosen, truncated = await rendered(ctx, resource, objects, query.data,
                                       zone=recheck.known_zone)
    return await multistatus_for(ctx, chosen, query.wanted), truncated


async def _query_below(ctx: Context, resource: HomeResource,
                       query: Query) -> tuple[Multistatus, bool]:
    """RFC 4791 §7.8 on a collection that is no calendar: the matching objects of the
    calendars within Depth, each calendar read-checked (a delegate reads only some) and
    its floating times in its own calendar-timezone unless the request names one.
    Calendars are members of the home, so their objects lie at depth 2: Depth infinity
    reaches them, Depth 0 and 1 reach no calendar object (an empty answer). Plain
    folders hold no calendars (MKCALENDAR makes calendars at the top of a home)."""
    body = Multistatus()
    depth = parse_depth(ctx.request.headers.get("Depth"), "0")
    if isinstance(resource, PlainItem) or depth != "infinity":
        return body, False
    for calendar in await children(ctx, resource):
        if not isinstance(calendar, CalendarResource) or isinstance(
                calendar, ScheduleCollection) or names.READ not in await privileges(
                ctx, calendar):
            continue
        part, truncated = await query_calendar(ctx, calendar, query)
        body.extend(part)
        if truncated:
            return body, True
    return body, False


def _floating_zone(root: etree._Element) -> tzinfo | None:
    timezone = root.find(names.TIMEZONE)
    return parse_timezone_element(timezone) if timezone is not None else None


# What a recheck needs of a candidate: its data, id, ETag and where its index stops.
Pending = tuple[str, int, str, datetime | None]


class Recheck:
    """The in-memory check of the candidates the index cannot decide, on the executor
    (``offload``).  Floating times are in the request's CALDAV:timezone, else in the
    calendar's calendar-timezone (RFC 4791 §9.8), read when first needed."""

    def __init__(self, ctx: Context, resource: CalendarResource, matcher: Filter,
                 zone: tzinfo | None) -> None:
        self._ctx, self._resource, self.matcher = ctx, resource, matcher
        self._end = matcher.index_query().end
        self._zone = zone
        self._zone_known = zone is not None

    @property
    def known_zone(self) -> tzinfo | None:
        """The zone if the request named one or a recheck has read the calendar's."""
        return self._zone

    async def zone(self) -> tzinfo | None:
        if not self._zone_known:
            self._zone = await calendar_zone(self._ctx, self._resource.the_calendar)
            self._zone_known = True
        return self._zone

    async def kept(self, pending: Sequence[Pending]) -> list[int]:
        """The indices of the ``pending`` candidates that match; then the index of those
        that stop before the range does is extended, so the next such query is exact."""
        if not pending:
            return []
        zone = await self.zone()
        budget = budget_for(self._ctx)
        kept, short = await off_loop(self._ctx, budget,
                                     lambda: self._check(pending, zone, budget))
        await self._extend(short)
        return kept

    def _check(self, pending: Sequence[Pending], zone: tzinfo | None, budget: Budget,
               ) -> tuple[list[int], list[ShortIndexed]]:
        kept: list[int] = []
        short: list[ShortIndexed] = []
        end = self._end
        for i, (text, object_id, etag, indexed_until) in enumerate(pending):
            budget.check()
            cal = icalendar.Calendar.from_ical(text)
            if self.matcher.match(cal, floating_tz=zone):
                kept.append(i)
            if end is not None and indexed_until is not None and indexed_until < end:
                short.append((object_id, etag, cal))
        return kept, short

    async def _extend(self, short: Sequence[ShortIndexed]) -> None:
        """At most MaxInstancesPerReport new index rows per request: the rest were
        rechecked all the same, and a later query extends them."""
        if short and self._end is not None:
            await self._ctx.store.extend_index(
                self._resource.the_calendar, short, self._end,
                limit=self._ctx.config.MaxInstancesPerReport,
                run=offload(self._ctx, budget_for(self._ctx)))


# The rows of the prefilter's candidates whose object the answer reads (with its data).
Fetch = Callable[[Matches], Sequence[int]]


@dataclass(frozen=True)
class Found:
    """A calendar's candidates brought up to date (``current``), the indices of those that
    match, and the objects read for the answer by name."""

    matches: Matches
    kept: list[int]
    objects: Mapping[str, CalendarObject]


async def matching(ctx: Context, resource: CalendarResource, recheck: Recheck, *,
                   with_data: bool, fetch: Fetch) -> Found:
    """The one query path, once per calendar: the index prefilter (``Store.query_listing``;
    ``with_data``: see there, and a filter the index cannot decide rechecks every row, so
    then every row comes with its data), the objects the answer needs read (``fetch``),
    then one recheck of the rows the index cannot decide."""
    query = recheck.matcher.index_query()
    listed = await ctx.store.query_listing(resource.the_calendar, query.component_type,
                                           query.start, query.end,
                                           with_data=with_data or not query.exact)
    rows = fetch(listed)
    objects: dict[str, CalendarObject] = {}
    if rows:
        objects = {obj.name: obj for obj in await ctx.store.objects(
            resource.the_calendar, [listed.names[i] for i in rows], with_data=True)}
    matches = current(listed, rows, objects)
    unsure = [i for i in range(len(matches)) if not (query.exact and matches.exact[i])]
    kept = await recheck.kept([(matches.icalendars[i] or "", matches.ids[i], matches.etags[i],
                                matches.indexed_until[i]) for i in unsure])
    return Found(matches, _chosen(len(matches), unsure, kept), objects)


def current(listed: Matches, rows: Sequence[int],
            objects: Mapping[str, CalendarObject]) -> Matches:
    """``listed`` with its ``rows`` as ``objects`` (read after the prefilter) show them: with
    their data; one changed meanwhile as its new version, to be rechecked (the index
    decided the old one); one deleted meanwhile left out."""
    if not rows:
        return listed
    read = set(rows)
    table = []
    for i, row in enumerate(zip(listed.names, listed.etags, listed.component_types,
                                listed.sizes, listed.icalendars, listed.exact, listed.ids,
                                listed.indexed_until, strict=True)):
        obj = objects.get(row[0]) if i in read else None
        if obj is not None:
            same = obj.etag == row[1]
            row = (obj.name, obj.etag, obj.component_type, obj.size, obj.icalendar,
                   row[5] and same, obj.id, row[7] if same else None)
        elif i in read:
            continue
        table.append(row)
    return Matches(*(list(column) for column in zip(*table, strict=True))) if table \
        else Matches()


def _chosen(count: int, unsure: Sequence[int], kept: Sequence[int]) -> list[int]:
    """The candidates that match: those the index decided, and the ``kept`` of ``unsure``."""
    rechecked = set(unsure)
    return sorted({unsure[i] for i in kept} | {i for i in range(count) if i not in rechecked})


def row_plan(registry: Registry, request: Propfind) -> RowPlan | None:
    """How to answer ``request`` from candidate rows alone (listing members and
    calendar-data), or None when some property needs more (a date, a dead property)."""
    return member_columns(registry, request, data_column=True)


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


async def _answer_from_rows(ctx: Context, resource: CalendarResource, recheck: Recheck,
                            data: DataRequest, plan: RowPlan) -> tuple[Multistatus, bool]:
    """The answer from candidate rows: the whole data (identity) from ``FRAGMENTS`` where
    they hold it, so read only for the rows whose fragment is missing."""
    wants_data = None in plan[0]
    cached = wants_data and data.is_identity
    known: dict[str, str] = {}
    found = await matching(ctx, resource, recheck, with_data=wants_data and not cached,
                           fetch=functools.partial(_uncached, known) if cached else _no_row)
    matches, kept = found.matches, found.kept
    if not wants_data:
        return answer_rows(resource, matches, kept, plan, ()), False
    if not cached:
        texts, truncated = await rendered_texts(
            ctx, resource.the_calendar, [matches.icalendars[i] or "" for i in kept], data,
            zone=recheck.known_zone)
        return answer_rows(resource, matches, kept[:len(texts)], plan,
                           [calendar_data_text(text) for text in texts]), truncated
    return answer_rows(resource, matches, kept, plan, fragments(matches, kept, known)), False


def _every_row(listed: Matches) -> range:
    return range(len(listed))


def _no_row(listed: Matches) -> tuple[int, ...]:
    return ()


def _uncached(known: dict[str, str], listed: Matches) -> list[int]:
    """The rows without data whose fragment ``FRAGMENTS`` lacks; those it holds are kept in
    ``known`` (by ETag) now, so none is evicted before the answer is written."""
    rows = []
    for i, (etag, text) in enumerate(zip(listed.etags, listed.icalendars, strict=True)):
        if text is None:
            fragment = FRAGMENTS.get(etag)
            if fragment is None:
                rows.append(i)
            else:
                known[etag] = fragment
    return rows


def fragments(matches: Matches, kept: Sequence[int], known: Mapping[str, str]) -> list[str]:
    """The calendar-data fragment of each kept row: ``known`` (by ETag), from ``FRAGMENTS``,
    or made from the row's data (and kept there); a row has one of them (``_uncached``)."""
    result = []
    for i in kept:
        etag = matches.etags[i]
        text = known.get(etag) or FRAGMENTS.get(etag)
        if text is None:
            text = FRAGMENTS.add(etag, calendar_data_text(matches.icalendars[i] or ""))
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


# On collections of a home (on an object or a file: 403 supported-report, not
# valid-filter).
REPORTS = (
    Report(names.CALENDAR_QUERY, (HomeResource,), calendar_query,
           excludes=(ObjectResource, ScheduleCollection), collections_only=True),
)
