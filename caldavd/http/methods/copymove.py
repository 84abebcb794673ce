"""COPY and MOVE of calendar objects between calendars (RFC 4918 §9.8, §9.9).

Apple clients MOVE events between calendars.  Collections are not copied or
moved (403).  A COPY inside one home always collides with the source's UID
(RFC 4791 §5.3.2.1 no-uid-conflict); across homes it is a new object.
"""

from __future__ import annotations

from aiohttp import web

from caldavd.dav import names
from caldavd.dav.errors import (
    Conflict,
    Forbidden,
    NoUIDConflict,
    PreconditionFailed,
    SupportedCalendarComponent,
)
from caldavd.dav.requests import parse_destination, parse_overwrite
from caldavd.http.acl import require
from caldavd.http.context import Context
from caldavd.http.methods.put import store_object
from caldavd.http.registry import method
from caldavd.http.resources import CalendarResource, Missing, ObjectResource, Resource, resolve
from caldavd.http.target import existing
from caldavd.http.writes import limits
from caldavd.store import UIDConflict


async def _destination(ctx: Context, request: web.Request,
                       ) -> tuple[Resource, CalendarResource, str]:
    path = parse_destination(request.headers.get("Destination"), request.host)
    dest = await resolve(ctx, path)
    if isinstance(dest, ObjectResource):
        return dest, dest, dest.the_object.name
    if isinstance(dest, Missing) and isinstance(dest.parent, CalendarResource) \
            and not isinstance(dest.parent, ObjectResource):
        return dest, dest.parent, dest.name
    if isinstance(dest, Missing) and dest.parent is None:
        raise Conflict("the destination's parent collection does not exist")
    raise Forbidden("calendar objects can only be copied or moved into a calendar")


async def _source(request: web.Request) -> tuple[Context, ObjectResource]:
    ctx, resource = await existing(request)
    if not isinstance(resource, ObjectResource):
        raise Forbidden("only calendar object resources can be copied or moved")
    return ctx, resource


@method("MOVE")
async def move(request: web.Request) -> web.StreamResponse:
    ctx, source = await _source(request)
    dest, calendar, name = await _destination(ctx, request)
    if dest.path == source.path:
        raise Forbidden("source and destination are the same")
    overwrite = parse_overwrite(request.headers.get("Overwrite"))
    await require(ctx, source, names.UNBIND)
    await require(ctx, dest, names.WRITE_CONTENT if dest.exists else names.BIND)
    if dest.exists and not overwrite:
        raise PreconditionFailed("the destination exists and Overwrite is F")
    _check_component(ctx, source, calendar)
    try:
        _, created = await ctx.store.move_object(
            source.the_calendar, source.the_object.name, calendar.the_calendar, name,
            overwrite=overwrite)
    except UIDConflict as exc:
        home = calendar.path.rsplit("/", 2)[0] + "/"
        raise NoUIDConflict(f"{home}{exc.calendar_name}/{exc.object_name}") from None
    return web.Response(status=201 if created else 204)


@method("COPY")
async def copy(request: web.Request) -> web.StreamResponse:
    ctx, source = await _source(request)
    dest, calendar, name = await _destination(ctx, request)
    if dest.path == source.path:
        raise Forbidden("source and destination are the same")
    overwrite = parse_overwrite(request.headers.get("Overwrite"))
    await require(ctx, source, names.READ)
    await require(ctx, dest, names.WRITE_CONTENT if dest.exists else names.BIND)
    if dest.exists and not overwrite:
        raise PreconditionFailed("the destination exists and Overwrite is F")
    data = (source.the_object.icalendar or "").encode()
    _, created = await store_object(ctx, calendar, name, data, "text/calendar")
    return web.Response(status=201 if created else 204)


def _check_component(ctx: Context, source: ObjectResource, calendar: CalendarResource) -> None:
    """The target calendar must accept the object's component type (RFC 4791 §5.3.2.1)."""
    allowed = limits(ctx.config, calendar.the_calendar).supported_components
    component = source.the_object.component_type
    if component not in allowed:
        raise SupportedCalendarComponent(f"{component} is not accepted by the target calendar")
