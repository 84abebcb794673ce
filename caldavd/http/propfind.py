"""Answering property requests for one resource or many (PROPFIND, REPORTs).

A value is a text fragment wherever its live property has a text form (see
``registry.LiveProperty``) and an lxml element otherwise; ``Multistatus``
writes both.  The members of a calendar can also be answered from a listing
alone (``listing_plan``): columns of names and ETags, with neither resources
nor elements nor dates.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence

from aiohttp import web
from aiohttp.payload import AsyncIterablePayload
from lxml import etree

from caldavd.dav import names
from caldavd.dav.fragments import href_text
from caldavd.dav.multistatus import Multistatus, Value
from caldavd.dav.requests import Propfind
from caldavd.dav.xml import element
from caldavd.http.acl import privileges
from caldavd.http.context import Context
from caldavd.http.propvalues import from_stored
from caldavd.http.registry import LiveProperty, Member, Registry
from caldavd.http.resources import (
    CALENDARS,
    PRINCIPALS,
    CalendarResource,
    HomeCollection,
    HomeResource,
    ObjectResource,
    PlainItem,
    Principal,
    PrincipalCollection,
    ProxyGroup,
    Resource,
    Root,
    collection_resource,
    proxy_group_path,
)
from caldavd.http.writable import settable
from caldavd.store import CalendarObject, Listing

# (name, its live property for one resource class or None) in the order asked.
Plan = list[tuple[str, LiveProperty | None]]
# How a listing answers: a member form per property objects have, and the names they
# never have.
ListingPlan = tuple[list[Member], tuple[str, ...]]
_NO_DEAD: Mapping[str, str] = {}
DEAD_PROPERTY_SLICE = 200
# Properties rendered between two returns to the event loop: about a millisecond's work,
# so a PROPFIND of many resources naming many properties shares the worker.
RENDER_SLICE = 2000
# A multistatus over a MiB is sent in pieces of 256 KiB: joining and encoding tens of MB
# at once held the loop for tens of milliseconds (bench --fairness, huge_propfind).
STREAM_CHARS = 1 << 20
STREAM_PIECE_CHARS = 1 << 18


def needs_data(registry: Registry, request: Propfind) -> bool:
    return any(p.needs_data for name in request.names + request.include
               for p in registry.properties.get(name, ()))


async def children(ctx: Context, resource: Resource, *, with_data: bool = False,
                   ) -> list[Resource]:
    """Members listed for Depth 1 (principal and home collections list none; a principal
    lists its two proxy groups)."""
    if isinstance(resource, Root):
        return [PrincipalCollection(PRINCIPALS), HomeCollection(CALENDARS)]
    if isinstance(resource, ObjectResource):
        return []
    if isinstance(resource, Principal) and resource.principal.enabled_for_calendaring:
        return [ProxyGroup(proxy_group_path(resource.principal.uid, write), record=resource.record,
                           write=write) for write in (False, True)]
    if isinstance(resource, CalendarResource):
        objects = await ctx.store.objects(resource.the_calendar, with_data=with_data)
        return [object_resource(resource, o) for o in objects]
    if isinstance(resource, PlainItem):
        return await _plain_members(ctx, resource, resource.the_item.path)
    if isinstance(resource, HomeResource) and resource.home is not None:
        calendars: list[Resource] = [
            collection_resource(f"{resource.path}{c.name}/", resource.record, resource.home, c)
            for c in await ctx.store.collections(resource.home)]
        return calendars + await _plain_members(ctx, resource, "")
    return []


async def _plain_members(ctx: Context, parent: HomeResource, path: str) -> list[Resource]:
    if isinstance(parent, PlainItem) and not parent.the_item.is_collection:
        return []
    home_path = parent.path[:len(parent.path) - len(path) - 1] if path else parent.path
    return [PlainItem(home_path + item.path + ("/" if item.is_collection else ""),
                      record=parent.record, home=parent.home, item=item)
            for item in await ctx.store.plain_members(parent.the_home, path)]


def object_resource(calendar: CalendarResource, obj: CalendarObject) -> ObjectResource:
    return ObjectResource(f"{calendar.path}{obj.name}", record=calendar.record,
                          home=calendar.home, calendar=calendar.calendar, object=obj)


async def dead_properties(ctx: Context, resources: Sequence[Resource],
                          ) -> dict[int, dict[str, str]]:
    ids = [r.resource_id for r in resources if r.resource_id is not None]
    return await ctx.store.properties_for(ids)


async def value_of(ctx: Context, resource: Resource, name: str,
                   dead: Mapping[str, str]) -> etree._Element | None:
    """One property as an element: live, else dead, else None (the lxml path)."""
    prop = ctx.registry.live_property(name, resource)
    if prop is not None:
        if not await readable(ctx, resource, prop):
            return None
        value = await prop.get(ctx, resource)
        if value is not None:
            return value
    stored = dead.get(name)
    return from_stored(stored) if stored is not None else None


async def readable(ctx: Context, resource: Resource, prop: LiveProperty) -> bool:
    """Whether the principal holds what reading ``prop`` needs beyond DAV:read (the
    method checked that): DAV:read-acl for DAV:acl (RFC 3744 §5.5), say."""
    return prop.privilege is None or prop.privilege in await privileges(ctx, resource)


def _wanted(registry: Registry, resource: Resource, request: Propfind,
            dead: Mapping[str, str]) -> Sequence[str]:
    if request.kind == "prop":
        return request.names
    return tuple(dict.fromkeys([*_allprop(registry, resource, dead), *request.include]))


def _plan(registry: Registry, cls: type[Resource], wanted: Iterable[str]) -> Plan:
    return [(name, registry.live_property_of(name, cls)) for name in wanted]


def _allprop(registry: Registry, resource: Resource, dead: Mapping[str, str]) -> list[str]:
    live = [n for n, props in registry.properties.items()
            if any(p.allprop and isinstance(resource, p.applies) for p in props)]
    return live + sorted(dead)


def _available(registry: Registry, resource: Resource, dead: Mapping[str, str]) -> list[str]:
    live = [n for n in registry.properties if registry.live_property(n, resource) is not None]
    return list(dict.fromkeys(live + sorted(dead)))


def _needs_dead(registry: Registry, resources: Sequence[Resource], request: Propfind) -> bool:
    """Whether any requested property could be a dead one (else skip that query): only
    names clients may set can be stored (getetag on a calendar, say, cannot)."""
    if request.kind != "prop":
        return True
    kinds = {type(r): r for r in resources}.values()
    return any(settable(registry, name, r) for name in request.names for r in kinds)


async def add_responses(ctx: Context, body: Multistatus, resources: Sequence[Resource],
                        request: Propfind) -> None:
    """A response per resource with the properties ``request`` asks for: live ones as
    fragments where they have a text form, else as elements; then dead ones; then 404.

    Many resources go ``DEAD_PROPERTY_SLICE`` at a time, each slice's dead properties
    read on its own and the loop given back in between, so a home full of them (each
    resource's bounded, MaxDeadPropertyBytesPerResource) never holds the worker at once;
    within a slice the loop is given back every ``RENDER_SLICE`` properties rendered.
    """
    needs_dead = _needs_dead(ctx.registry, resources, request)
    plans: dict[type[Resource], Plan] = {}
    for start in range(0, len(resources), DEAD_PROPERTY_SLICE):
        if start:
            await asyncio.sleep(0)
        part = resources[start:start + DEAD_PROPERTY_SLICE]
        dead = await dead_properties(ctx, part) if needs_dead else {}
        await _add_slice(ctx, body, part, request, dead, plans)


async def _add_slice(ctx: Context, body: Multistatus, resources: Sequence[Resource],
                     request: Propfind, dead: Mapping[int, Mapping[str, str]],
                     plans: dict[type[Resource], Plan]) -> None:
    rendered = 0
    registry = ctx.registry
    for resource in resources:
        if rendered >= RENDER_SLICE:
            rendered = 0
            await asyncio.sleep(0)
        rid = resource.resource_id
        own = dead.get(rid, _NO_DEAD) if dead and rid is not None else _NO_DEAD
        if request.kind == "propname":
            body.add_props(resource.path,
                           [element(n) for n in _available(registry, resource, own)])
            continue
        if request.kind == "prop":
            plan = plans.get(type(resource))
            if plan is None:
                plan = plans[type(resource)] = _plan(registry, type(resource), request.names)
        else:
            plan = _plan(registry, type(resource), _wanted(registry, resource, request, own))
        # Inline, not a helper coroutine per resource: this runs for every member.
        found: list[Value] = []
        missing: list[str] = []
        forbidden: list[str] = []
        rendered += len(plan)
        for name, prop in plan:
            if prop is not None:
                if prop.privilege is not None and not await readable(ctx, resource, prop):
                    forbidden.append(name)
                    continue
                text = prop.text(ctx, resource) if prop.text is not None else None
                value = text if text is not None else await prop.get(ctx, resource)
                if value is not None:
                    found.append(value)
                    continue
            stored = own.get(name)
            if stored is None:
                missing.append(name)
            else:
                found.append(stored)  # a standalone element's XML (propvalues): a fragment
        body.add_props(resource.path, found, missing, forbidden)


async def multistatus_for(ctx: Context, resources: Sequence[Resource],
                          request: Propfind, *, sync_token: str | None = None) -> Multistatus:
    result = Multistatus(sync_token=sync_token)
    await add_responses(ctx, result, resources, request)
    return result


def member_columns(registry: Registry, request: Propfind, *, data_column: bool = False,
                   ) -> tuple[list[Member | None], tuple[str, ...]] | None:
    """Per asked property the listing column that answers it for calendar objects
    (None for calendar-data when ``data_column``), and the asked names no calendar
    object has (404); None when some property needs more (a date, a dead property)."""
    if request.kind != "prop":
        return None
    columns: list[Member | None] = []
    missing: list[str] = []
    for name in request.names:
        if data_column and name == names.CALENDAR_DATA:
            columns.append(None)
            continue
        prop = registry.live_property_of(name, ObjectResource)
        if prop is None or prop.member is None:
            return None
        if isinstance(prop.member, Member):
            columns.append(prop.member)
        else:
            missing.append(name)  # ABSENT
    return columns, tuple(missing)


def listing_plan(registry: Registry, request: Propfind) -> ListingPlan | None:
    """How to answer ``request`` for calendar objects from a listing alone, or None when
    some property needs more (a date, the data, a dead property)."""
    plan = member_columns(registry, request)
    if plan is None:
        return None
    columns, missing = plan
    return [c for c in columns if c is not None], missing


def add_listed(body: Multistatus, calendar: CalendarResource, listing: Listing,
               plan: ListingPlan) -> None:
    """A response per calendar object of ``listing`` (see ``listing_plan``), column by
    column: each property's fragments for every object, then one string per object."""
    members, missing = plan
    columns = [[m.write(value) for value in listing.column(m.field)] for m in members]
    body.add_members(href_text(calendar.path), listing.names, joined(columns, len(listing)),
                     missing)


def joined(columns: Sequence[Sequence[str]], count: int) -> Sequence[str]:
    """Per row, the fragments of every column in order (``count`` rows of ``""`` when
    there are no columns)."""
    if len(columns) == 1:
        return columns[0]
    if columns:
        return ["".join(texts) for texts in zip(*columns, strict=True)]
    return [""] * count


def lists_objects(resource: Resource) -> bool:
    """A calendar collection (whose members are calendar objects)."""
    return isinstance(resource, CalendarResource) and not isinstance(resource, ObjectResource)


async def depth1_multistatus(ctx: Context, resource: Resource,
                             request: Propfind) -> Multistatus:
    """The resource and its members; a calendar's objects from listing rows when they do."""
    plan = listing_plan(ctx.registry, request) if lists_objects(resource) else None
    if plan is None:
        members = await children(ctx, resource, with_data=needs_data(ctx.registry, request))
        return await multistatus_for(ctx, [resource, *members], request)
    if not isinstance(resource, CalendarResource):
        raise TypeError("not CalendarResource: resource")
    body = await multistatus_for(ctx, [resource], request)
    add_listed(body, resource, await ctx.store.listing(resource.the_calendar), plan)
    return body


def multistatus_response(body: Multistatus) -> web.Response:
    """The answer; one larger than ``STREAM_CHARS`` goes out in pieces (chunked), the
    loop given back between them, instead of being joined and sent at once."""
    if body.size() <= STREAM_CHARS:
        return xml_response(body.to_bytes())
    return web.Response(status=207, body=AsyncIterablePayload(_streamed(body)),
                        content_type="application/xml", charset="utf-8")


async def _streamed(body: Multistatus) -> AsyncIterator[bytes]:
    for piece in body.pieces(STREAM_PIECE_CHARS):
        yield piece
        await asyncio.sleep(0)


def xml_response(body: bytes, status: int = 207) -> web.Response:
    return web.Response(status=status, body=body, content_type="application/xml",
                        charset="utf-8")
