"""PUT of calendar object resources (RFC 4791 §5.3.2) and POST add-member (RFC 5995)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence

from aiohttp import web

from caldavd.dav import names
from caldavd.dav.errors import (
    Conflict,
    MethodNotAllowed,
    PayloadTooLarge,
    PreconditionFailed,
)
from caldavd.dav.hrefs import quote_path
from caldavd.dav.requests import parse_etag_list
from caldavd.http.acl import require
from caldavd.http.attachments import collect_files, had_attachments
from caldavd.http.context import Context
from caldavd.http.methods.attachments import attachment_post
from caldavd.http.methods.plain import MAX_PLAIN_FILE, UNTYPED, plain_parent, put_file
from caldavd.http.represent import write_answer
from caldavd.http.resources import (
    CalendarResource,
    Missing,
    ObjectResource,
    PlainItem,
    Resource,
    check_client_writable,
    check_creatable,
    object_slot,
)
from caldavd.http.scheduletag import if_schedule_tag
from caldavd.http.target import read_body, target
from caldavd.http.writes import check_size, object_write, runner
from caldavd.scheduling.addresses import addresses_of
from caldavd.store import Calendar, CalendarObject


def _calendar_of(resource: Resource) -> tuple[CalendarResource, str]:
    """The calendar a PUT lands in, and the object's name."""
    slot = object_slot(resource)
    if slot is not None:
        check_client_writable(slot[0])
        return slot
    if isinstance(resource, Missing) and resource.parent is None:
        raise Conflict("the parent collection does not exist")
    raise MethodNotAllowed("PUT is only for calendar object resources in a calendar")


def conditions(request: web.Request) -> tuple[list[str] | None, bool]:
    """(If-Match ETags without quotes or ['*'], If-None-Match: *)."""
    if_match = request.headers.get("If-Match")
    if_none = request.headers.get("If-None-Match")
    none_star = False
    if if_none is not None:
        tags = parse_etag_list(if_none)
        if tags != "*":
            raise PreconditionFailed("only If-None-Match: * is supported on PUT")
        none_star = True
    if if_match is None:
        return None, none_star
    tags = parse_etag_list(if_match)
    if tags == "*":
        return ["*"], none_star
    return [t.strip('"') for t in tags if not t.startswith("W/")], none_star


async def store_object(ctx: Context, calendar: CalendarResource, name: str, body: bytes,
                       content_type: str | None, *, if_match: list[str] | None = None,
                       if_none_match: bool = False, if_schedule_tag: str | None = None,
                       sources: Sequence[int] = (),
                       freed: int = 0) -> tuple[CalendarObject, str | None, bool]:
    """Validate and store; (object, etag, created).  The etag is None when the data stored is
    not the body octet for octet (repeated VTIMEZONEs dropped, a byte order mark):
    RFC 4791 §5.3.4 forbids an ETag in the answer then, the client must fetch it.

    Data with managed attachments (RFC 8607) links them in the same write;
    ``sources``: objects whose attachments it may name (a COPY's source); ``freed``: see
    ``Context.quota``; ``if_schedule_tag``: If-Schedule-Tag-Match's (RFC 6638 §8.3).
    A scheduling object gets a new Schedule-Tag (RFC 6638 §3.2.10).
    """
    the_calendar: Calendar = calendar.the_calendar
    owner = calendar.owner
    run = runner(ctx, body)
    write = await object_write(ctx, the_calendar, name, body, content_type, run,
                               addresses_of(owner) if owner else ())
    put = (functools.partial(ctx.store.put_linked, sources=sources) if write.managed_ids
           else ctx.store.put_object)
    obj, created = await put(the_calendar, write, if_match=if_match,
                             if_none_match=if_none_match, if_schedule_tag=if_schedule_tag,
                             quota=ctx.quota(freed), run=run)
    return obj, (obj.etag if write.icalendar.encode() == body else None), created


def etag_header(etag: str | None) -> dict[str, str]:
    return {"ETag": f'"{etag}"'} if etag is not None else {}


async def read_calendar_body(ctx: Context, request: web.Request) -> bytes:
    """The body, refused with CALDAV:max-resource-size when too large (RFC 4791 §5.3.2.1)."""
    if request.content_length is not None:
        check_size(ctx.config, request.content_length)
    try:
        return await read_body(request, ctx.config.MaxResourceSize)
    except PayloadTooLarge:
        check_size(ctx.config, ctx.config.MaxResourceSize + 1)
        raise


async def put(request: web.Request) -> web.StreamResponse:
    ctx, resource = await target(request)
    check_creatable(resource)
    if isinstance(resource, PlainItem) or plain_parent(resource) is not None:
        body = await read_body(request, MAX_PLAIN_FILE)
        return await put_file(ctx, resource, body, request.headers.get("Content-Type", UNTYPED))
    calendar, name = _calendar_of(resource)
    await require(ctx, resource, names.WRITE_CONTENT if resource.exists else names.BIND)
    body = await read_calendar_body(ctx, request)
    if_match, if_none = conditions(request)
    # If-Schedule-Tag-Match without If-Match (RFC 6638 §3.2.10): an attendee's write
    # whose ETag is stale (the organizer's PARTSTAT-only refreshes moved it) but whose
    # Schedule-Tag is current is accepted.
    obj, etag, created = await store_object(ctx, calendar, name, body,
                                            request.headers.get("Content-Type"),
                                            if_match=if_match, if_none_match=if_none,
                                            if_schedule_tag=if_schedule_tag(request))
    if had_attachments(resource):  # links the new data dropped went with the write
        await collect_files(ctx)
    return write_answer(request, resource.path, obj, 201 if created else 204, etag_header(etag))


async def post(request: web.Request) -> web.StreamResponse:
    """RFC 5995: POST to a calendar's add-member URL creates a new member; RFC 8607:
    POST ?action= to a calendar object resource manages its attachments."""
    ctx, resource = await target(request)
    if "action" in request.query or isinstance(resource, ObjectResource):
        return await attachment_post(ctx, resource, request)
    if "add-member" not in request.query or not isinstance(resource, CalendarResource):
        raise MethodNotAllowed("POST is supported on a calendar's add-member URL only")
    check_client_writable(resource)
    await require(ctx, resource, names.BIND)
    body = await read_calendar_body(ctx, request)
    name = f"{uuid.uuid4()}.ics"
    obj, etag, _ = await store_object(ctx, resource, name, body,
                                      request.headers.get("Content-Type"), if_none_match=True)
    return write_answer(request, resource.path + name, obj, 201,
                   {**etag_header(etag), "Location": quote_path(resource.path + name)})


METHODS = {
    "PUT": put,
    "POST": post,
}
