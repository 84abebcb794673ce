"""COPY and MOVE (RFC 4918 §9.8, §9.9).

Calendar objects move and copy between calendars (Apple clients MOVE events);
a COPY inside one home always collides with the source's UID (RFC 4791
§5.3.2.1 no-uid-conflict).  Calendars themselves are not copied or moved (403).
Plain files and folders copy and move within their home (``methods.plain``).
"""

from __future__ import annotations

from aiohttp import web

from caldavd.dav import names
from caldavd.dav.errors import (
    Conflict,
    Forbidden,
    PreconditionFailed,
    SupportedCalendarComponent,
)
from caldavd.dav.requests import parse_destination, parse_overwrite
from caldavd.http.acl import require
from caldavd.http.authority import own_authorities
from caldavd.http.context import Context
from caldavd.http.methods.plain import copy_or_move
from caldavd.http.methods.put import store_object
from caldavd.http.registry import method
from caldavd.http.resources import (
    CalendarResource,
    Missing,
    ObjectResource,
    PlainItem,
    Resource,
    object_slot,
    resolve,
)
from caldavd.http.target import existing
from caldavd.http.writes import limits


def _calendar_target(dest: Resource) -> tuple[CalendarResource, str]:
    slot = object_slot(dest)
    if slot is not None:
        return slot
    if isinstance(dest, Missing) and dest.parent is None:
        raise Conflict("the destination's parent collection does not exist")
    raise Forbidden("calendar objects can only be copied or moved into a calendar")


async def _begin(request: web.Request) -> tuple[Context, Resource, Resource, bool]:
    ctx, source = await existing(request)
    dest = await resolve(ctx, parse_destination(request.headers.get("Destination"),
                                                own_authorities(request)))
    if dest.path.rstrip("/") == source.path.rstrip("/"):
        raise Forbidden("source and destination are the same")
    overwrite = parse_overwrite(request.headers.get("Overwrite"))
    if not isinstance(source, PlainItem | ObjectResource):
        raise Forbidden("only calendar objects and plain resources can be copied or moved")
    return ctx, source, dest, overwrite


async def _object_checks(ctx: Context, source: ObjectResource, dest: Resource,
                         overwrite: bool, privilege: str) -> tuple[CalendarResource, str]:
    calendar, name = _calendar_target(dest)
    await require(ctx, source, privilege)
    await require(ctx, dest, names.WRITE_CONTENT if dest.exists else names.BIND)
    if dest.exists and not overwrite:
        raise PreconditionFailed("the destination exists and Overwrite is F")
    allowed = limits(ctx.config, calendar.the_calendar).supported_components
    component = source.the_object.component_type
    if component not in allowed:
        raise SupportedCalendarComponent(f"{component} is not accepted by the target calendar")
    return calendar, name


@method("MOVE")
async def move(request: web.Request) -> web.StreamResponse:
    ctx, source, dest, overwrite = await _begin(request)
    if isinstance(source, PlainItem):
        return await copy_or_move(ctx, request, source, dest, move=True)
    assert isinstance(source, ObjectResource)
    calendar, name = await _object_checks(ctx, source, dest, overwrite, names.UNBIND)
    _, created = await ctx.store.move_object(
        source.the_calendar, source.the_object.name, calendar.the_calendar, name,
        overwrite=overwrite)
    return web.Response(status=201 if created else 204)


@method("COPY")
async def copy(request: web.Request) -> web.StreamResponse:
    ctx, source, dest, overwrite = await _begin(request)
    if isinstance(source, PlainItem):
        return await copy_or_move(ctx, request, source, dest, move=False)
    assert isinstance(source, ObjectResource)
    calendar, name = await _object_checks(ctx, source, dest, overwrite, names.READ)
    data = (source.the_object.icalendar or "").encode()
    # Attachments are shared with the copy, not copied (RFC 8607).
    _, created = await store_object(ctx, calendar, name, data, "text/calendar",
                                    sources=[source.the_object.id])
    return web.Response(status=201 if created else 204)
