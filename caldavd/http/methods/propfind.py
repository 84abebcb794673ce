"""PROPFIND (RFC 4918 §9.1): Depth 0 and 1; infinity is refused.

Depth 1 answers inside a calendar home, to its owner, go through the response cache
(``caldavd.http.cached``): a hit skips parsing and every store read after the
one that resolved the target.
"""

from __future__ import annotations

from aiohttp import web

from caldavd.dav import names
from caldavd.dav.errors import PropfindFiniteDepth
from caldavd.dav.requests import parse_depth, parse_propfind
from caldavd.http.acl import require
from caldavd.http.cached import propfind_slot
from caldavd.http.facts import facts_of
from caldavd.http.propfind import (
    depth1_multistatus,
    multistatus_for,
    multistatus_response,
    xml_response,
)
from caldavd.http.target import existing, read_body


async def propfind(request: web.Request) -> web.StreamResponse:
    ctx, resource = await existing(request)
    depth = parse_depth(request.headers.get("Depth"), "infinity")
    if depth == "infinity":
        raise PropfindFiniteDepth("Depth: infinity is not supported; use 0 or 1")
    facts = facts_of(request)
    facts.depth = depth
    body = await read_body(request)
    slot = propfind_slot(request, ctx, resource, depth, body)
    if slot is not None:
        cached = await slot.get()
        facts.cache = "miss" if cached is None else "hit"
        if cached is not None:
            facts.kind = _kind_for_log(body)
            return xml_response(cached)
    wanted = parse_propfind(body)
    ctx.bounds.check_names(len(wanted.names) + len(wanted.include))
    facts.kind = wanted.kind
    await require(ctx, resource, names.READ)
    if depth == "1":
        response = multistatus_response(await depth1_multistatus(ctx, resource, wanted))
    else:
        response = multistatus_response(await multistatus_for(ctx, [resource], wanted))
    if slot is not None and isinstance(response.body, bytes):
        await slot.put(response.body)
    return response


def _kind_for_log(body: bytes) -> str:
    """The kind of a PROPFIND answered from the cache, for the access log, without parsing
    the body (which the cache hit exists to skip); an empty body is allprop (RFC 4918
    §9.1).  A property named like the elements could mislead it: it is only a log field."""
    if not body.strip() or b"allprop" in body:
        return "allprop"
    return "propname" if b"propname" in body else "prop"


METHODS = {
    "PROPFIND": propfind,
}
