"""Method dispatch through the registry, and the registry itself: built from what the
method, report and property modules export (``http_registry``)."""

from __future__ import annotations

from aiohttp import web

from caldavd.dav.errors import MethodNotAllowed
from caldavd.http import liveprops, proxyprops
from caldavd.http.attachments import ATTACHMENTS
from caldavd.http.attachments import serve as serve_attachment
from caldavd.http.keys import REGISTRY
from caldavd.http.methods import (
    copymove,
    delete,
    get,
    mkcalendar,
    options,
    propfind,
    proppatch,
    put,
    report,
)
from caldavd.http.registry import Registry, build_registry
from caldavd.http.reports import freebusy, multiget, principals, query, sync
from caldavd.http.target import check_content_coding


def http_registry() -> Registry:
    """Every live property, report and method this server has (a name given twice is
    refused: ``registry.DuplicateRegistration``).  Properties in this order in allprop
    and propname answers."""
    return build_registry(
        properties=(*liveprops.PROPERTIES, *proxyprops.PROPERTIES),
        reports=(*freebusy.REPORTS, *multiget.REPORTS, *principals.REPORTS, *query.REPORTS,
                 *sync.REPORTS),
        methods=(copymove.METHODS, delete.METHODS, get.METHODS, mkcalendar.METHODS,
                 options.METHODS, propfind.METHODS, proppatch.METHODS, put.METHODS,
                 report.METHODS))


async def dispatch(request: web.Request) -> web.StreamResponse:
    check_content_coding(request)
    if request.path.startswith(ATTACHMENTS):  # not DAV resources (RFC 8607)
        return await serve_attachment(request)
    registry = request.app[REGISTRY]
    handler = registry.methods.get(request.method)
    if handler is None:
        raise MethodNotAllowed(f"{request.method} is not supported",
                               headers={"Allow": registry.allow})
    return await handler(request)
