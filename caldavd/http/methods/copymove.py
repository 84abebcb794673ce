"""COPY and MOVE (RFC 4918 §9.8, §9.9).

Calendar objects move and copy between calendars (Apple clients MOVE events);
a copy into the same calendar collides with the source's UID (RFC 4791
§5.3.2.1 no-uid-conflict).  Calendars themselves are not copied or moved (403).
Plain files and folders copy and move within their home (``methods.plain``).
Between the two: a plain file copied or moved into a calendar is stored as a
PUT of its content would be, with every precondition of RFC 4791 §5.3.2; a
calendar object copied or moved into a plain folder becomes a plain file of
its text (same home).  The two kinds live in different tables: a MOVE writes
the destination, then deletes the source (a failure in between leaves a copy).
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
from caldavd.http.attachments import collect_files, had_attachments
from caldavd.http.authority import own_authorities
from caldavd.http.context import Context
from caldavd.http.methods.plain import UNTYPED, copy_or_move, home_of, plain_parent, put_file
from caldavd.http.methods.put import store_object
from caldavd.http.resources import (
    CalendarResource,
    Missing,
    ObjectResource,
    PlainItem,
    Resource,
    check_client_writable,
    check_creatable,
    home_relative,
    object_slot,
    resolve,
)
from caldavd.http.scheduletag import check_source_tag, schedule_tag_header
from caldavd.http.target import existing
from caldavd.http.writes import limits


def _calendar_target(dest: Resource) -> tuple[CalendarResource, str]:
    slot = object_slot(dest)
    if slot is not None:
        check_client_writable(slot[0])
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
    check_creatable(dest)
    overwrite = parse_overwrite(request.headers.get("Overwrite"))
    if not isinstance(source, PlainItem | ObjectResource):
        raise Forbidden("only calendar objects and plain resources can be copied or moved")
    check_source_tag(request, source.object if isinstance(source, ObjectResource) else None)
    if isinstance(source, ObjectResource) and source.the_calendar.kind != "calendar":
        raise Forbidden("scheduling messages in an inbox are read and deleted, not copied "
                        "or moved (RFC 6638 §2.2)")
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


async def _file_into_calendar(ctx: Context, source: PlainItem, dest: Resource,
                              overwrite: bool, *, move: bool) -> web.StreamResponse:
    """The file's content as a PUT to the destination would store it (RFC 4791 §5.3.2)."""
    item = source.the_item
    if item.is_collection:
        raise Forbidden("a calendar collection contains no collections (RFC 4791 §4.2)")
    calendar, name = _calendar_target(dest)
    await require(ctx, source, names.UNBIND if move else names.READ)
    await require(ctx, dest, names.WRITE_CONTENT if dest.exists else names.BIND)
    if dest.exists and not overwrite:
        raise PreconditionFailed("the destination exists and Overwrite is F")
    # A file PUT without a Content-Type was stored as octet-stream: judged by its content.
    media_type = None if item.content_type == UNTYPED else item.content_type
    same_home = calendar.the_calendar.owner_home_id == source.the_home.id
    stored, _, created = await store_object(ctx, calendar, name, item.content or b"",
                                            media_type,
                                            freed=item.size if move and same_home else 0)
    if move:
        home = home_of(source)
        await ctx.store.plain_delete(home.the_home, home_relative(source, home))
    return web.Response(status=201 if created else 204, headers=schedule_tag_header(stored))


async def _object_into_folder(ctx: Context, source: ObjectResource, dest: Resource,
                              overwrite: bool, *, move: bool) -> web.StreamResponse:
    """The object's text as a plain file of the destination's folder, in its home."""
    holder = dest if isinstance(dest, PlainItem) else plain_parent(dest)
    if holder is None or holder.the_home.id != source.the_home.id:
        raise Forbidden("calendar objects become plain files only within their home")
    await require(ctx, source, names.UNBIND if move else names.READ)
    if dest.exists and not overwrite:
        raise PreconditionFailed("the destination exists and Overwrite is F")
    data = (source.the_object.icalendar or "").encode()
    reply = await put_file(ctx, dest, data, "text/calendar; charset=utf-8",
                           freed=source.the_object.size if move else 0)
    if move:
        await ctx.store.delete_object(source.the_calendar, source.the_object.name)
        if had_attachments(source):
            await collect_files(ctx)
    return reply


def _into_plain(dest: Resource) -> bool:
    return isinstance(dest, PlainItem) or plain_parent(dest) is not None


async def _transfer(request: web.Request, *, move: bool) -> web.StreamResponse:
    """COPY or MOVE (RFC 4918 §9.8, §9.9) of a plain file or a calendar object, into a
    calendar or a plain folder."""
    ctx, source, dest, overwrite = await _begin(request)
    if isinstance(source, PlainItem):
        if object_slot(dest) is not None:
            return await _file_into_calendar(ctx, source, dest, overwrite, move=move)
        return await copy_or_move(ctx, request, source, dest, move=move)
    if not isinstance(source, ObjectResource):
        raise TypeError("not ObjectResource: source")
    if _into_plain(dest):
        return await _object_into_folder(ctx, source, dest, overwrite, move=move)
    calendar, name = await _object_checks(ctx, source, dest, overwrite,
                                          names.UNBIND if move else names.READ)
    if move:
        written, created = await ctx.store.move_object(
            source.the_calendar, source.the_object.name, calendar.the_calendar, name,
            overwrite=overwrite, quota=ctx.config.UserQuota)
    else:
        data = (source.the_object.icalendar or "").encode()
        # Attachments are shared with the copy, not copied (RFC 8607).
        written, _, created = await store_object(ctx, calendar, name, data, "text/calendar",
                                                 sources=[source.the_object.id])
    return web.Response(status=201 if created else 204, headers=schedule_tag_header(written))


async def move(request: web.Request) -> web.StreamResponse:
    return await _transfer(request, move=True)


async def copy(request: web.Request) -> web.StreamResponse:
    return await _transfer(request, move=False)


METHODS = {
    "MOVE": move,
    "COPY": copy,
}
