"""POST ?action=attachment-add|attachment-update|attachment-remove (RFC 8607).

The upload streams to its file first (in place before any row names it); then,
under the home's lock, the event is read, rewritten with its ATTACH property and
written as any PUT is (validation, quota, revision, change token), the
attachment row and links in the same transaction.  So concurrent actions
through any hosts apply one after the other, each to what the last one wrote.
A failed action removes its file; a crash leaves it to the cleanup pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aiohttp import web
from aiohttp.multipart import content_disposition_filename, parse_content_disposition
from icalendar import Calendar

from caldavd.attachments import ical as attach
from caldavd.attachments.errors import AttachmentTooLarge, NotInResource
from caldavd.attachments.files import StoredFile, valid_managed_id
from caldavd.caldav import ical
from caldavd.caldav.overrides import instance_override
from caldavd.dav import names
from caldavd.dav.errors import (
    MethodNotAllowed,
    NotFound,
    QuotaNotExceeded,
    ValidActionParameter,
)
from caldavd.http.acl import require
from caldavd.http.attachments import attachment_url, collect_files, files_of, media_type
from caldavd.http.context import Context
from caldavd.http.represent import write_answer
from caldavd.http.resources import ObjectResource, Resource
from caldavd.http.target import body_chunks
from caldavd.http.writes import heavy, prepare_write, runner
from caldavd.scheduling.addresses import addresses_of
from caldavd.store import CalendarObject, NewAttachment, ObjectWrite

Change = Callable[[Calendar], None]


@dataclass(frozen=True)
class Done:
    obj: CalendarObject
    status: int
    headers: dict[str, str]


async def attachment_post(ctx: Context, resource: Resource,
                          request: web.Request) -> web.StreamResponse:
    action = ACTIONS.get(request.query.get("action", ""))
    if not isinstance(resource, ObjectResource):
        if not resource.exists:
            raise NotFound(f"nothing at {resource.path}")
        raise MethodNotAllowed("attachments belong to calendar object resources")
    await require(ctx, resource, names.WRITE_CONTENT)
    if action is None:
        raise ValidActionParameter("action must be attachment-add, -update or -remove")
    done = await action(ctx, resource, request)
    return write_answer(request, resource.path, done.obj, done.status, done.headers)


async def _add(ctx: Context, resource: ObjectResource, request: web.Request) -> Done:
    rids = attach.parse_rids(request.query.get("rid"))
    limit = ctx.config.MaximumAttachmentsPerInstance
    attach.check_room(attach.select(await _parsed(ctx, resource.the_object), rids,
                                    instance_override), limit)
    stored = await _upload(ctx, resource, request)
    info, row = _described(request, resource, stored)

    def change(cal: Calendar) -> None:
        chosen = attach.select(cal, rids, instance_override)
        attach.check_room(chosen, limit)
        attach.add(chosen, info)

    obj = await _written(ctx, resource, change, [row], stored)
    return Done(obj, 201, _created(info))


async def _update(ctx: Context, resource: ObjectResource, request: web.Request) -> Done:
    managed_id = await _managed_id(ctx, request, resource.the_object)
    stored = await _upload(ctx, resource, request)
    info, row = _described(request, resource, stored)

    def change(cal: Calendar) -> None:
        attach.replace(attach.instances(cal), managed_id, info)

    obj = await _written(ctx, resource, change, [row], stored)
    await collect_files(ctx)
    return Done(obj, 204, _created(info))


async def _remove(ctx: Context, resource: ObjectResource, request: web.Request) -> Done:
    rids = attach.parse_rids(request.query.get("rid"))
    managed_id = await _managed_id(ctx, request, resource.the_object)

    def change(cal: Calendar) -> None:
        attach.replace(attach.select(cal, rids, instance_override), managed_id, None)

    obj = await _written(ctx, resource, change, [], None)
    await collect_files(ctx)
    return Done(obj, 204, {})


ACTIONS = {"attachment-add": _add, "attachment-update": _update, "attachment-remove": _remove}


async def _parsed(ctx: Context, obj: CalendarObject) -> Calendar:
    """The stored event, parsed on the executor unless it is light."""
    text = obj.icalendar or ""
    return await heavy(ctx, text.encode(), lambda: ical.parse_text(text))


async def _managed_id(ctx: Context, request: web.Request, obj: CalendarObject) -> str:
    """The managed-id parameter, which must name an attachment of the resource."""
    managed_id = request.query.get("managed-id", "")
    if not valid_managed_id(managed_id) or not attach.carries(await _parsed(ctx, obj),
                                                               managed_id):
        raise NotInResource("managed-id names no attachment of this resource")
    return managed_id


def _filename(request: web.Request) -> str:
    header = request.headers.get("Content-Disposition")
    if header is None:
        return attach.safe_filename(None)
    _, params = parse_content_disposition(header)
    return attach.safe_filename(content_disposition_filename(params, "filename"))


def _described(request: web.Request, resource: ObjectResource,
               stored: StoredFile) -> tuple[attach.AttachInfo, NewAttachment]:
    """The uploaded file's ATTACH property and its attachment row."""
    filename, content_type = _filename(request), media_type(request)
    info = attach.AttachInfo(stored.managed_id, attachment_url(request, stored.managed_id),
                             filename, stored.size, content_type)
    row = NewAttachment(stored.managed_id, resource.the_calendar.owner_home_id, content_type,
                        filename, stored.size, stored.digest, stored.path)
    return info, row


def _created(info: attach.AttachInfo) -> dict[str, str]:
    """RFC 8607: the new attachment's URL and its managed id."""
    return {"Location": info.url, "Cal-Managed-ID": info.managed_id}


async def _upload(ctx: Context, resource: ObjectResource, request: web.Request) -> StoredFile:
    """The body into a new file, within MaximumAttachmentSize and the home's quota."""
    size_limit, quota = ctx.config.MaximumAttachmentSize, ctx.config.UserQuota
    room = 0
    if quota:
        room = max(0, quota - await ctx.store.home_usage(resource.the_home))
    declared = request.content_length
    if declared is not None and size_limit and declared > size_limit:
        raise AttachmentTooLarge(size_limit)
    if declared is not None and quota and declared > room:
        raise QuotaNotExceeded(f"{declared} bytes would exceed the quota of {quota}")
    if quota and room == 0 and declared is None:  # no byte more fits: none is read
        raise QuotaNotExceeded(f"the quota of {quota} bytes is used up")
    limit = min(x for x in (size_limit, room if quota else 0, 1 << 62) if x)
    try:
        return await files_of(ctx.config).store(body_chunks(request), limit)
    except AttachmentTooLarge:
        if size_limit and limit == size_limit:
            raise
        raise QuotaNotExceeded(f"the attachment would exceed the quota of {quota}") from None


async def _written(ctx: Context, resource: ObjectResource, change: Change,
                   new: Sequence[NewAttachment], stored: StoredFile | None) -> CalendarObject:
    try:
        return await _rewrite(ctx, resource, change, new)
    except BaseException:
        if stored is not None:
            await files_of(ctx.config).remove([stored.path])
        raise


async def _rewrite(ctx: Context, resource: ObjectResource, change: Change,
                   new: Sequence[NewAttachment]) -> CalendarObject:
    """``change`` applied to the event as it is under its home's lock, and written."""
    calendar = resource.the_calendar
    owner = resource.owner  # whose addresses make it a scheduling object, as at PUT
    addresses = addresses_of(owner) if owner else ()
    async with ctx.store.editing(calendar, resource.the_object.name) as edit:
        if edit.current is None:
            raise NotFound("the resource was deleted meanwhile")
        current = edit.current

        def work() -> ObjectWrite:  # one job: parse, change and validate
            cal = ical.parse_text(current.icalendar or "")
            change(cal)
            return prepare_write(ctx.config, calendar, current.name, cal.to_ical(), addresses)

        run = runner(ctx, (current.icalendar or "").encode())
        return await edit.put(await run(work), quota=ctx.config.UserQuota, new=new, run=run)
