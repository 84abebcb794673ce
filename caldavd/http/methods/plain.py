"""Plain WebDAV files and folders in a home (RFC 4918 only: no calendar semantics).

They exist so generic WebDAV clients, and the litmus conformance suite, have
somewhere to work; calendar clients never see them as calendars.
"""

from __future__ import annotations

from aiohttp import web

from caldavd.dav import names
from caldavd.dav.errors import BadGateway, Conflict, Forbidden, PreconditionFailed
from caldavd.dav.requests import parse_depth, parse_overwrite
from caldavd.http.acl import require
from caldavd.http.context import Context
from caldavd.http.resources import (
    CalendarResource,
    HomeResource,
    Missing,
    PlainItem,
    Resource,
    check_creatable,
    home_relative,
)

MAX_PLAIN_FILE = 10 * 1024 * 1024
# The type of a file PUT without a Content-Type.
UNTYPED = "application/octet-stream"


def plain_parent(resource: Resource) -> HomeResource | None:
    """The home or folder a Missing plain resource would be created in."""
    if not isinstance(resource, Missing):
        return None
    parent = resource.parent
    if isinstance(parent, PlainItem) and parent.the_item.is_collection:
        return parent
    if isinstance(parent, HomeResource) and type(parent) is HomeResource:
        return parent
    return None


def home_of(resource: HomeResource) -> HomeResource:
    """The home resource above ``resource`` (/calendars/<kind>/<key>/)."""
    return HomeResource("/".join(resource.path.split("/")[:4]) + "/",
                        record=resource.record, home=resource.home)


async def put_file(ctx: Context, resource: Resource, body: bytes, content_type: str, *,
                   freed: int = 0) -> web.StreamResponse:
    """``freed``: see ``Context.quota``."""
    if isinstance(resource, PlainItem) and resource.the_item.is_collection:
        raise Forbidden("cannot PUT onto a collection")
    if isinstance(resource, Missing) and type(resource.parent) is HomeResource:
        raise Forbidden("files go in a folder, not at the top of a calendar home")
    holder = resource if isinstance(resource, PlainItem) else plain_parent(resource)
    if holder is None:
        raise RuntimeError("holder is not set")
    await require(ctx, resource, names.WRITE_CONTENT if resource.exists else names.BIND)
    home = home_of(holder)
    item, created = await ctx.store.plain_put(home.the_home, home_relative(resource, home),
                                              body, content_type, quota=ctx.quota(freed))
    return web.Response(status=201 if created else 204, headers={"ETag": f'"{item.etag}"'})


async def make_folder(ctx: Context, resource: Resource) -> web.StreamResponse:
    check_creatable(resource)
    parent = plain_parent(resource)
    if isinstance(resource, Missing) and isinstance(resource.parent, CalendarResource):
        raise Forbidden("a calendar collection contains no collections (RFC 4791 §4.2)")
    if parent is None:
        raise Conflict("the parent collection does not exist")
    await require(ctx, resource, names.BIND)
    home = home_of(parent)
    await ctx.store.plain_mkcol(home.the_home, home_relative(resource, home))
    return web.Response(status=201)


async def copy_or_move(ctx: Context, request: web.Request, source: PlainItem,
                       dest: Resource, *, move: bool) -> web.StreamResponse:
    home = home_of(source)
    if not dest.path.startswith(home.path):
        raise BadGateway("plain resources can only be copied or moved within their home")
    parent = dest if isinstance(dest, PlainItem) else plain_parent(dest)
    if parent is None:
        raise Conflict("the destination's parent collection does not exist")
    target = home_relative(dest, home)
    origin = home_relative(source, home)
    if target == origin or target.startswith(origin + "/"):
        raise Forbidden("source and destination overlap")
    overwrite = parse_overwrite(request.headers.get("Overwrite"))
    if dest.exists and not overwrite:
        raise PreconditionFailed("the destination exists and Overwrite is F")
    depth = parse_depth(request.headers.get("Depth"), "infinity")
    if move and source.the_item.is_collection and depth != "infinity":
        raise Forbidden("MOVE of a collection must be Depth: infinity (RFC 4918 §9.9.2)")
    await require(ctx, source, names.UNBIND if move else names.READ)
    await require(ctx, dest, names.WRITE_CONTENT if dest.exists else names.BIND)
    created = await ctx.store.plain_copy(home.the_home, origin, target,
                                         recursive=depth == "infinity", overwrite=overwrite,
                                         move=move, limits=ctx.property_limits)
    return web.Response(status=201 if created else 204)
