"""Method dispatch through the registry, and the registry itself: built from what the
method, report and property modules export (``http_registry``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from aiohttp import web

from caldavd.dav.errors import MethodNotAllowed
from caldavd.http import defaultcal, liveprops, proxyprops
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
from caldavd.http.registry import LiveProperty, MethodHandler, Registry, Report, build_registry
from caldavd.http.reports import freebusy, multiget, principals, query, sync
from caldavd.http.target import check_content_coding


class PropertyModule(Protocol):
    @property
    def PROPERTIES(self) -> Sequence[LiveProperty]: ...


class ReportModule(Protocol):
    @property
    def REPORTS(self) -> Sequence[Report]: ...


class MethodModule(Protocol):
    @property
    def METHODS(self) -> Mapping[str, MethodHandler]: ...


# The modules the registry is built from, properties in this order in allprop and
# propname answers.
PROPERTY_MODULES: tuple[PropertyModule, ...] = (liveprops, proxyprops, defaultcal)
REPORT_MODULES: tuple[ReportModule, ...] = (freebusy, multiget, principals, query, sync)
METHOD_MODULES: tuple[MethodModule, ...] = (
    copymove, delete, get, mkcalendar, options, propfind, proppatch, put, report)


def http_registry() -> Registry:
    """Every live property, report and method this server has (a name given twice is
    refused: ``registry.DuplicateRegistration``)."""
    return build_registry(
        properties=[p for module in PROPERTY_MODULES for p in module.PROPERTIES],
        reports=[r for module in REPORT_MODULES for r in module.REPORTS],
        methods=[module.METHODS for module in METHOD_MODULES])


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
