"""DAV:sync-collection (RFC 6578) on calendars (members) and homes (calendars)."""

from __future__ import annotations

from aiohttp import web
from lxml import etree

from caldavd.caldav.data import DataRequest, parse_calendar_data_request
from caldavd.dav import names
from caldavd.dav.errors import BadRequest, NumberOfMatchesWithinLimits
from caldavd.dav.multistatus import Multistatus
from caldavd.dav.requests import Propfind, parse_sync_collection
from caldavd.http.context import Context
from caldavd.http.propfind import (
    add_listed,
    add_responses,
    children,
    listing_plan,
    multistatus_response,
)
from caldavd.http.registry import Report
from caldavd.http.reports.common import check_data_ranges, rendered, wants_data
from caldavd.http.resources import (
    CalendarResource,
    HomeResource,
    ObjectResource,
    PlainItem,
    Resource,
)
from caldavd.http.tokens import make_token, parse_token
from caldavd.store import Change


def _truncate(changes: list[Change], limit: int | None,
              token: int) -> tuple[list[Change], int, bool]:
    """RFC 6578 §3.6: at most ``limit`` changes, the token of the last one returned."""
    if limit is None or len(changes) <= limit:
        return changes, token, False
    kept = changes[:limit]
    return kept, kept[-1].revision if kept else token, True


# Homes and calendars; not their objects nor plain files and folders (RFC 6578 §3.2).
async def sync_collection(ctx: Context, resource: Resource,
                          root: etree._Element) -> web.StreamResponse:
    request = parse_sync_collection(root)
    if request.level != "1":
        raise BadRequest("only sync-level 1 is supported")
    if not isinstance(resource, HomeResource):
        raise TypeError("not HomeResource: resource")
    if isinstance(resource, CalendarResource):
        collection_id = resource.the_calendar.id
        changes, token = await _calendar_changes(
            ctx, resource, parse_token(request.token, collection_id))
    else:
        collection_id = resource.the_home.id
        changes, token = await ctx.store.home_changes_since(
            resource.the_home, parse_token(request.token, collection_id))
    changes, token, truncated = _truncate(changes, request.limit, token)
    live = {c.name for c in changes if not c.deleted}
    body = Multistatus(sync_token=make_token(collection_id, token))
    data = parse_calendar_data_request(request.calendar_data)
    check_data_ranges(data)
    await _add_members(ctx, body, resource, live, request.prop, data)
    for change in changes:
        if change.deleted:
            body.add_status(resource.path + change.name + _slash(resource), 404)
    if truncated:
        body.add_status(resource.path, 507, NumberOfMatchesWithinLimits("truncated"))
    return multistatus_response(body)


async def _calendar_changes(ctx: Context, resource: CalendarResource,
                            revision: int) -> tuple[list[Change], int]:
    """The calendar's changes since ``revision``.

    The calendar was read by this request's URL lookup, revision and purge floor
    included: a token that is still current needs no second statement (the
    polling client's most frequent question, "anything new?").
    """
    calendar = resource.the_calendar
    if revision and revision == calendar.revision and revision > calendar.purged_revision:
        return [], revision
    return await ctx.store.changes_since(calendar, revision)


def _slash(resource: Resource) -> str:
    return "" if isinstance(resource, CalendarResource) else "/"


def _name(member: Resource) -> str:
    return member.path.rstrip("/").rsplit("/", 1)[-1]


async def _add_members(ctx: Context, body: Multistatus, resource: HomeResource,
                       live: set[str], request: Propfind, data: DataRequest) -> None:
    """The changed members that still exist; a calendar's from listing rows when they do."""
    if not live:
        return
    plan = listing_plan(ctx.registry, request) if isinstance(resource, CalendarResource) else None
    if plan is not None:
        if not isinstance(resource, CalendarResource):
            raise TypeError("not CalendarResource: resource")
        add_listed(body, resource, await ctx.store.listing(resource.the_calendar, sorted(live)),
                   plan)
        return
    members = await _members(ctx, resource, live, wants_data(request), data)
    await add_responses(ctx, body, [m for m in members if _name(m) in live], request)


async def _members(ctx: Context, resource: HomeResource, live: set[str],
                   with_data: bool, data: DataRequest) -> list[Resource]:
    if isinstance(resource, CalendarResource):
        objects = await ctx.store.objects(resource.the_calendar, sorted(live),
                                          with_data=with_data)
        found, truncated = await rendered(ctx, resource, objects, data)
        if truncated:
            raise NumberOfMatchesWithinLimits(
                "more recurrence instances than MaxInstancesPerReport", status=403)
        return list(found)
    return await children(ctx, resource)


REPORTS = (
    Report(names.SYNC_COLLECTION, (HomeResource,), sync_collection,
           excludes=(ObjectResource, PlainItem)),
)
