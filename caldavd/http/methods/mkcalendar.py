"""MKCALENDAR (RFC 4791 §5.3.1) and extended MKCOL (RFC 5689) of calendars."""

from __future__ import annotations

from aiohttp import web
from lxml import etree

from caldavd.dav import names
from caldavd.dav.errors import (
    CalendarCollectionLocationOk,
    Conflict,
    ResourceMustBeNull,
    UnsupportedMediaType,
    ValidResourcetype,
)
from caldavd.dav.multistatus import propstat_body
from caldavd.dav.requests import PropOp, parse_mkcol
from caldavd.http.acl import require
from caldavd.http.context import Context
from caldavd.http.methods.plain import make_folder
from caldavd.http.resources import (
    CalendarResource,
    HomeResource,
    Missing,
    Resource,
    check_creatable,
)
from caldavd.http.target import read_body, target
from caldavd.http.writable import checked_operations
from caldavd.store import NewCalendar

# Names that would shadow something else or confuse clients.
_RESERVED = frozenset({"inbox", "outbox", "dropbox", "notification"})


def _home_target(resource: Resource) -> tuple[HomeResource, str]:
    if resource.exists:
        raise ResourceMustBeNull(f"{resource.path} already exists")
    if not isinstance(resource, Missing):
        raise TypeError("not Missing: resource")
    check_creatable(resource)
    parent = resource.parent
    if parent is None:
        raise Conflict("the parent collection does not exist")
    # Calendars are bound at the top of a home only: not in a calendar (RFC 4791 §4.2,
    # §5.3.1), nor in a plain folder (the store's model; it used to make it at the top).
    if type(parent) is not HomeResource:
        raise CalendarCollectionLocationOk("calendars can only be created in a calendar home")
    if resource.name in _RESERVED or resource.name.startswith("."):
        raise CalendarCollectionLocationOk(f"{resource.name!r} is a reserved name")
    return parent, resource.name


async def _create(ctx: Context, resource: Resource, ops: tuple[PropOp, ...],
                  response_tag: str) -> web.StreamResponse:
    home, name = _home_target(resource)
    await require(ctx, resource, names.BIND)
    changes = await checked_operations(ctx, ops, CalendarResource(resource.path),
                                       creating=True)
    if changes.failures:
        return web.Response(status=403, body=propstat_body(response_tag, changes.propstats()),
                            content_type="application/xml", charset="utf-8")
    await ctx.store.create_calendar(home.the_home, NewCalendar(
        name, changes.components, changes.set), limits=ctx.property_limits)
    return web.Response(status=201, headers={"Cache-Control": "no-cache"})


def _ops(props: tuple[etree._Element, ...]) -> tuple[PropOp, ...]:
    return tuple(PropOp("set", p.tag, p) for p in props if isinstance(p.tag, str))


async def mkcalendar(request: web.Request) -> web.StreamResponse:
    ctx, resource = await target(request)
    props = parse_mkcol(await read_body(request), names.MKCALENDAR)
    return await _create(ctx, resource, _ops(props), names.MKCALENDAR_RESPONSE)


async def mkcol(request: web.Request) -> web.StreamResponse:
    """A plain folder (RFC 4918 §9.3), or a calendar by extended MKCOL (RFC 5689 §3)."""
    ctx, resource = await target(request)
    if resource.exists:
        raise ResourceMustBeNull(f"{resource.path} already exists")
    body = await read_body(request)
    if not body.strip():
        return await make_folder(ctx, resource)
    if "xml" not in request.headers.get("Content-Type", "xml"):
        raise UnsupportedMediaType("MKCOL bodies must be XML (RFC 5689)")
    props = parse_mkcol(body, names.MKCOL)
    resourcetype = next((p for p in props if p.tag == names.RESOURCETYPE), None)
    kinds = {c.tag for c in resourcetype} if resourcetype is not None else {names.COLLECTION}
    if kinds == {names.COLLECTION}:
        return await make_folder(ctx, resource)
    if kinds != {names.COLLECTION, names.CALENDAR}:
        raise ValidResourcetype("only folders and calendar collections can be created")
    rest = tuple(p for p in props if p.tag != names.RESOURCETYPE)
    return await _create(ctx, resource, _ops(rest), names.MKCOL_RESPONSE)


METHODS = {
    "MKCALENDAR": mkcalendar,
    "MKCOL": mkcol,
}
