"""PROPFIND (RFC 4918 §9.1): Depth 0 and 1; infinity is refused."""

from __future__ import annotations

from aiohttp import web

from caldavd.dav import names
from caldavd.dav.errors import PropfindFiniteDepth
from caldavd.dav.requests import parse_depth, parse_propfind
from caldavd.http.acl import require
from caldavd.http.propfind import depth1_multistatus, multistatus_for, multistatus_response
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
    if depth == "1":
        return multistatus_response(await depth1_multistatus(ctx, resource, wanted))
    return multistatus_response(await multistatus_for(ctx, [resource], wanted))
