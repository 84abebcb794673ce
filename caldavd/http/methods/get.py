"""GET and HEAD of calendar object resources (RFC 9110 §9.3.1, §13 conditionals)."""

from __future__ import annotations

from aiohttp import web

from caldavd.dav import names
from caldavd.dav.dates import http_date
from caldavd.dav.errors import MethodNotAllowed
from caldavd.dav.requests import not_modified
from caldavd.http.acl import require
from caldavd.http.liveprops import content_type
from caldavd.http.methods.options import allow_header
from caldavd.http.resources import ObjectResource, PlainItem
from caldavd.http.scheduletag import schedule_tag_header
from caldavd.http.target import existing


async def get(request: web.Request) -> web.StreamResponse:
    ctx, resource = await existing(request)
    await require(ctx, resource, names.READ)
    if isinstance(resource, PlainItem) and not resource.the_item.is_collection:
        return _plain_file(request, resource)
    if not isinstance(resource, ObjectResource):
        raise MethodNotAllowed("collections have no content to GET; use PROPFIND",
                               headers={"Allow": allow_header(request)})
    obj = resource.the_object
    headers = {"ETag": f'"{obj.etag}"', "Last-Modified": http_date(obj.modified),
               "Cache-Control": "private, no-cache", **schedule_tag_header(obj)}
    if not_modified(request.headers.get("If-None-Match"), f'"{obj.etag}"'):
        return web.Response(status=304, headers=headers)
    # For HEAD aiohttp sends the headers (Content-Length included) and drops the body.
    return web.Response(status=200, body=(obj.icalendar or "").encode(), headers={
        **headers, "Content-Type": content_type(obj.component_type)})


def _plain_file(request: web.Request, resource: PlainItem) -> web.StreamResponse:
    item = resource.the_item
    headers = {"ETag": f'"{item.etag}"', "Last-Modified": http_date(item.modified)}
    if not_modified(request.headers.get("If-None-Match"), f'"{item.etag}"'):
        return web.Response(status=304, headers=headers)
    return web.Response(status=200, body=item.content or b"", headers={
        **headers, "Content-Type": item.content_type or "application/octet-stream",
        # Plain files are never rendered as pages from this origin.
        "Content-Disposition": "attachment", "X-Content-Type-Options": "nosniff"})


METHODS = {
    "GET": get,
    "HEAD": get,
}
