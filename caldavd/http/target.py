"""What every method handler starts with: the context, the resource, the body."""

from __future__ import annotations

from aiohttp import web

from caldavd.dav.errors import NotFound, PayloadTooLarge
from caldavd.dav.hrefs import decode_path
from caldavd.http.context import Context, context_of
from caldavd.http.resources import Resource, resolve

# Bodies of XML requests (PROPFIND, REPORT, PROPPATCH, MKCALENDAR).
MAX_XML_BODY = 2 * 1024 * 1024


def request_path(request: web.Request) -> str:
    return decode_path(request.raw_path.split("?", 1)[0])


async def target(request: web.Request) -> tuple[Context, Resource]:
    ctx = context_of(request)
    return ctx, await resolve(ctx, request_path(request))


async def existing(request: web.Request) -> tuple[Context, Resource]:
    ctx, resource = await target(request)
    if not resource.exists:
        raise NotFound(f"nothing at {resource.path}")
    return ctx, resource


async def read_body(request: web.Request, limit: int = MAX_XML_BODY) -> bytes:
    """The body, refused with 413 beyond ``limit`` before more is read."""
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"request body over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(65536):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
