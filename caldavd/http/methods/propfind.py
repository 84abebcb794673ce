"""PROPFIND (RFC 4918 §9.1): Depth 0 and 1; infinity is refused."""

from __future__ import annotations

from aiohttp import web

from caldavd.dav import names
from caldavd.dav.errors import PropfindFiniteDepth
from caldavd.dav.requests import parse_depth, parse_propfind
from caldavd.http.acl import require
from caldavd.http.propfind import children, multistatus_for, multistatus_response, needs_data
from caldavd.http.registry import method
from caldavd.http.target import existing, read_body


@method("PROPFIND")
async def propfind(request: web.Request) -> web.StreamResponse:
    ctx, resource = await existing(request)
    depth = parse_depth(request.headers.get("Depth"), "infinity")
    if depth == "infinity":
        raise PropfindFiniteDepth("Depth: infinity is not supported; use 0 or 1")
    wanted = parse_propfind(await read_body(request))
    await require(ctx, resource, names.READ)
    resources = [resource]
    if depth == "1":
        resources += await children(ctx, resource, with_data=needs_data(wanted))
    return multistatus_response(await multistatus_for(ctx, resources, wanted))
