"""REPORT (RFC 3253 §3.6): dispatch by the body's root element to the report registry."""

from __future__ import annotations

from aiohttp import web
from lxml import etree

from caldavd.dav import names
from caldavd.dav.errors import BadRequest, SupportedReport
from caldavd.dav.requests import parse_depth
from caldavd.dav.xml import parse_xml
from caldavd.http.acl import require
from caldavd.http.facts import facts_of
from caldavd.http.registry import ANY_DEPTH
from caldavd.http.target import existing, read_body

_DEPTHS = {"0": "0", "1": "1", "infinity": "infinity"}


async def report(request: web.Request) -> web.StreamResponse:
    ctx, resource = await existing(request)
    root = parse_xml(await read_body(request))
    facts = facts_of(request)
    facts.kind = etree.QName(root).localname
    facts.depth = _DEPTHS.get(request.headers.get("Depth", "0").strip().lower(), "-")
    handler = ctx.registry.reports.get(root.tag)
    if handler is None or not handler.applies_to(resource):
        raise SupportedReport(f"{root.tag} is not supported on {resource.path}")
    if (handler.depths != ANY_DEPTH
            and parse_depth(request.headers.get("Depth"), "0") not in handler.depths):
        raise BadRequest(f"{root.tag} is only defined with Depth: "
                         + " or ".join(sorted(handler.depths)))
    ctx.bounds.check_report(root)
    await require(ctx, resource, names.READ)
    return await handler.run(ctx, resource, root)


METHODS = {
    "REPORT": report,
}
