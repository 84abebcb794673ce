"""REPORT (RFC 3253 §3.6): dispatch by the body's root element to the report registry."""

from __future__ import annotations

from aiohttp import web

from caldavd.dav import names
from caldavd.dav.errors import SupportedReport
from caldavd.dav.xml import parse_xml
from caldavd.http.acl import require
from caldavd.http.registry import REPORTS, method
from caldavd.http.target import existing, read_body


@method("REPORT")
async def report(request: web.Request) -> web.StreamResponse:
    ctx, resource = await existing(request)
    root = parse_xml(await read_body(request))
    handler = REPORTS.get(root.tag)
    if handler is None or not isinstance(resource, handler.applies):
        raise SupportedReport(f"{root.tag} is not supported on {resource.path}")
    await require(ctx, resource, names.READ)
    return await handler.run(ctx, resource, root)
