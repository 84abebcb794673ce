"""The attachment URL space (RFC 8607): ``/attachments/<managed-id>``.

Any host serves any attachment: the row says where the file is under the
shared AttachmentsRoot.  Whoever may read a home holding an event that carries
an attachment (its owner, a delegate, an administrator) may read the attachment;
so may the uploading home's.  Content is never rendered as a
page from this origin: ``X-Content-Type-Options: nosniff`` always, and
``Content-Disposition: attachment`` for every type but a few that browsers
show without running anything.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from aiohttp import web

from caldavd.attachments.cleanup import collect
from caldavd.attachments.files import AttachmentFiles, valid_managed_id
from caldavd.config import Config
from caldavd.dav import names
from caldavd.dav.dates import http_date
from caldavd.dav.errors import DAVError, MethodNotAllowed, NeedPrivileges, NotFound
from caldavd.dav.requests import not_modified
from caldavd.dav.xml import element
from caldavd.http.context import Context, context_of
from caldavd.http.keys import CONFIG
from caldavd.http.resources import ObjectResource, Resource
from caldavd.store import Attachment

ATTACHMENTS = "/attachments/"
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp",
                          "application/pdf", "text/plain", "audio/mpeg", "video/mp4"})
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_MANAGED = re.compile("MANAGED-ID", re.IGNORECASE)
_ALLOW = {"Allow": "GET, HEAD"}


def files_of(config: Config) -> AttachmentFiles:
    return AttachmentFiles(config.AttachmentsRoot)


def attachment_url(request: web.Request, managed_id: str) -> str:
    return f"{request.scheme}://{request.host}{ATTACHMENTS}{managed_id}"


def media_type(request: web.Request) -> str:
    """The upload's media type without parameters; octet-stream unless well formed."""
    value = request.content_type.lower()
    return value if _MEDIA_TYPE.fullmatch(value) else "application/octet-stream"


def had_attachments(resource: Resource) -> bool:
    """The object's data (as resolved) names managed attachments."""
    if not isinstance(resource, ObjectResource):
        return False
    return _MANAGED.search(resource.the_object.icalendar or "") is not None


async def collect_files(ctx: Context) -> None:
    """After a write that may have deleted attachments: unlink their files."""
    await collect(ctx.store, files_of(ctx.config))


class RangeNotSatisfiable(DAVError):
    """The Range starts past the end (RFC 9110 §15.5.17)."""

    status = 416


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single ``bytes=`` range (RFC 9110 §14.1.2); None: the whole
    content (no header, or one this server ignores, as §14.2 allows)."""
    match = _RANGE.fullmatch(header.strip()) if header else None
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":  # the final N bytes
        if int(last) == 0:
            raise RangeNotSatisfiable(headers={"Content-Range": f"bytes */{size}"})
        return max(0, size - int(last)), size - 1
    if last and int(last) < int(first):  # invalid: ignored
        return None
    if int(first) >= size:
        raise RangeNotSatisfiable(headers={"Content-Range": f"bytes */{size}"})
    return int(first), min(size - 1, int(last)) if last else size - 1


def disposition(attachment: Attachment) -> str:
    """RFC 6266 §4.3: an ASCII filename and the exact one as filename*."""
    kind = "inline" if attachment.content_type in INLINE_TYPES else "attachment"
    fallback = attachment.filename.encode("ascii", "replace").decode().replace("?", "_")
    fallback = fallback.replace("\\", "_")
    return (f'{kind}; filename="{fallback}"; '
            f"filename*=UTF-8''{quote(attachment.filename, safe='')}")


async def serve(request: web.Request) -> web.StreamResponse:
    """GET and HEAD of ``/attachments/<managed-id>``; other methods 405."""
    if request.method not in ("GET", "HEAD"):
        raise MethodNotAllowed("attachments are read-only; change them with POST to the event",
                               headers=_ALLOW)
    ctx = context_of(request)
    attachment = await _readable(ctx, request.path[len(ATTACHMENTS):])
    etag = f'"{attachment.digest[:40]}"'
    headers = {"ETag": etag, "Last-Modified": http_date(attachment.created),
               "Cache-Control": "private", "Accept-Ranges": "bytes",
               "Content-Type": attachment.content_type,
               "Content-Disposition": disposition(attachment),
               "X-Content-Type-Options": "nosniff"}
    if not_modified(request.headers.get("If-None-Match"), etag):
        return web.Response(status=304, headers=headers)
    span = None
    if request.headers.get("If-Range", etag) == etag:
        span = byte_range(request.headers.get("Range"), attachment.size)
    return await _send(request, attachment, headers, span)


async def _readable(ctx: Context, managed_id: str) -> Attachment:
    found = await ctx.store.attachment(managed_id) if valid_managed_id(managed_id) else None
    if found is None:
        raise NotFound("no such attachment")
    if not await _may_read(ctx, found):
        raise NeedPrivileges("only readers of an event that carries it may read an attachment",
                             children=[element(names.RESOURCE, children=[
                                 element(names.HREF, ATTACHMENTS + managed_id),
                                 element(names.PRIVILEGE, children=[element(names.READ)])])])
    return found


async def _may_read(ctx: Context, attachment: Attachment) -> bool:
    """The principal owns, administers or is a delegate for a home that holds it."""
    if ctx.principal.uid in attachment.reader_uids or ctx.is_admin:
        return True
    for owner in sorted(attachment.reader_uids):
        if await ctx.access_to(owner) is not None:
            return True
    return False


async def _send(request: web.Request, attachment: Attachment, headers: dict[str, str],
                span: tuple[int, int] | None) -> web.StreamResponse:
    first, last = span if span is not None else (0, attachment.size - 1)
    length = last - first + 1
    chunks = files_of(request.app[CONFIG]).read(attachment.path, first, length)
    if span is not None:
        headers["Content-Range"] = f"bytes {first}-{last}/{attachment.size}"
    response = web.StreamResponse(status=206 if span is not None else 200, headers=headers)
    response.content_length = length
    try:
        # The file opens before anything is sent (a missing one is still an error answer).
        data = await anext(aiter(chunks), b"") if length > 0 else b""
    except FileNotFoundError:
        raise NotFound("the attachment's file is missing") from None
    await response.prepare(request)
    if request.method == "HEAD":
        await chunks.aclose()
        return response
    try:
        while data:
            await response.write(data)
            data = await anext(chunks, b"")
    finally:
        await chunks.aclose()
    await response.write_eof()
    return response
