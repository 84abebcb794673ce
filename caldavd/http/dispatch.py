"""Method dispatch through the registry (methods, reports and live properties
register themselves when their modules are imported)."""

from __future__ import annotations

from aiohttp import web

from caldavd.dav.errors import MethodNotAllowed
from caldavd.http import liveprops, methods, proxyprops, reports
from caldavd.http.attachments import ATTACHMENTS
from caldavd.http.attachments import serve as serve_attachment
from caldavd.http.registry import METHODS
from caldavd.http.target import check_content_coding

_REGISTERED = (liveprops, methods, proxyprops, reports)


async def dispatch(request: web.Request) -> web.StreamResponse:
    check_content_coding(request)
    if request.path.startswith(ATTACHMENTS):  # not DAV resources (RFC 8607)
        return await serve_attachment(request)
    handler = METHODS.get(request.method)
    if handler is None:
        raise MethodNotAllowed(f"{request.method} is not supported",
                               headers={"Allow": ", ".join(sorted(METHODS))})
    return await handler(request)
