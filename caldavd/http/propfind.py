"""Answering property requests for one resource or many (PROPFIND, REPORTs)."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web
from lxml import etree

from caldavd.dav.multistatus import Multistatus, Propstat, group_propstats
from caldavd.dav.requests import Propfind
from caldavd.dav.xml import element
from caldavd.http.context import Context
from caldavd.http.propvalues import from_stored
from caldavd.http.registry import PROPERTIES, live_property
from caldavd.http.resources import (
    CALENDARS,
    PRINCIPALS,
    CalendarResource,
    HomeCollection,
    HomeResource,
    ObjectResource,
    PlainItem,
    PrincipalCollection,
    Resource,
    Root,
)
from caldavd.store import CalendarObject


def needs_data(request: Propfind) -> bool:
    return any(p.needs_data for name in request.names + request.include
               for p in PROPERTIES.get(name, ()))


async def children(ctx: Context, resource: Resource, *, with_data: bool = False,
                   ) -> list[Resource]:
    """Members listed for Depth 1 (principal and home collections list none)."""
    if isinstance(resource, Root):
        return [PrincipalCollection(PRINCIPALS), HomeCollection(CALENDARS)]
    if isinstance(resource, ObjectResource):
        return []
    if isinstance(resource, CalendarResource):
        objects = await ctx.store.objects(resource.the_calendar, with_data=with_data)
        return [object_resource(resource, o) for o in objects]
    if isinstance(resource, PlainItem):
        return await _plain_members(ctx, resource, resource.the_item.path)
    if isinstance(resource, HomeResource) and resource.home is not None:
        calendars: list[Resource] = [
            CalendarResource(f"{resource.path}{c.name}/", record=resource.record,
                             home=resource.home, calendar=c)
            for c in await ctx.store.calendars(resource.home)]
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


async def propstats(ctx: Context, resource: Resource, request: Propfind,
                    dead: dict[str, str]) -> list[Propstat]:
    if request.kind == "propname":
        return [Propstat(200, tuple(element(n) for n in _available(resource, dead)))]
    wanted = request.names if request.kind == "prop" else \
        tuple(dict.fromkeys([*_allprop(resource, dead), *request.include]))
    found: list[etree._Element] = []
    missing: list[str] = []
    for name in wanted:
        value = await value_of(ctx, resource, name, dead)
        if value is None:
            missing.append(name)
        else:
            found.append(value)
    return group_propstats(found, {404: missing} if missing else None)


async def value_of(ctx: Context, resource: Resource, name: str,
                 dead: dict[str, str]) -> etree._Element | None:
    prop = live_property(name, resource)
    if prop is not None:
        value = await prop.get(ctx, resource)
        if value is not None:
            return value
    stored = dead.get(name)
    return from_stored(stored) if stored is not None else None


def _allprop(resource: Resource, dead: dict[str, str]) -> list[str]:
    live = [n for n, props in PROPERTIES.items()
            if any(p.allprop and isinstance(resource, p.applies) for p in props)]
    return live + sorted(dead)


def _available(resource: Resource, dead: dict[str, str]) -> list[str]:
    live = [n for n in PROPERTIES if live_property(n, resource) is not None]
    return list(dict.fromkeys(live + sorted(dead)))


def _needs_dead(resources: Sequence[Resource], request: Propfind) -> bool:
    """Whether any requested property could be a dead one (else skip that query)."""
    if request.kind != "prop":
        return True
    kinds = {type(r): r for r in resources}.values()
    return any(live_property(name, r) is None for name in request.names for r in kinds)


async def multistatus_for(ctx: Context, resources: Sequence[Resource],
                          request: Propfind, *, sync_token: str | None = None) -> Multistatus:
    dead = await dead_properties(ctx, resources) if _needs_dead(resources, request) else {}
    result = Multistatus(sync_token=sync_token)
    for resource in resources:
        own = dead.get(resource.resource_id, {}) if resource.resource_id is not None else {}
        result.add_propstats(resource.path, await propstats(ctx, resource, request, own))
    return result


def multistatus_response(body: Multistatus) -> web.Response:
    return web.Response(status=207, body=body.to_bytes(), content_type="application/xml",
                        charset="utf-8")
