"""Principal reports: expand-property (RFC 3253 §3.8), principal-property-search and
principal-search-property-set (RFC 3744 §9.4, §9.5)."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web
from lxml import etree

from caldavd.dav import names
from caldavd.dav.errors import DAVError
from caldavd.dav.multistatus import Multistatus, Propstat, group_propstats, propstat_element
from caldavd.dav.requests import (
    ExpandProperty,
    Propfind,
    parse_depth,
    parse_expand_property,
    parse_href,
    parse_principal_property_search,
)
from caldavd.dav.xml import element, serialize
from caldavd.directory import RecordType
from caldavd.directory.base import MatchType, SearchField
from caldavd.http.acl import privileges
from caldavd.http.authority import own_authorities
from caldavd.http.context import Context
from caldavd.http.propfind import (
    children,
    dead_properties,
    multistatus_for,
    multistatus_response,
    value_of,
)
from caldavd.http.registry import Report
from caldavd.http.resources import (
    HomeResource,
    Principal,
    PrincipalCollection,
    ProxyGroup,
    Resource,
    principal_path,
    resolve,
)

# Searchable properties and the directory field each one searches (RFC 3744 §9.5).
SEARCHABLE: dict[str, tuple[SearchField, str]] = {
    names.DISPLAYNAME: ("fullName", "Display name"),
    names.EMAIL_ADDRESS_SET: ("emailAddress", "Email addresses"),
    names.CALENDAR_USER_ADDRESS_SET: ("calendarUserAddress", "Calendar user addresses"),
    names.FIRST_NAME: ("fullName", "First name"),
    names.LAST_NAME: ("fullName", "Last name"),
}
DEFAULT_SEARCH_LIMIT = 100


# -- expand-property -------------------------------------------------------------------

# RFC 3253 §3.6: with Depth the report is "applied separately to the collection itself
# and to all members of the collection that satisfy the Depth value" (§3.8 says nothing
# else): Depth 1 answers for the resource and each member it may read, as PROPFIND
# lists them; Depth infinity, which PROPFIND does not offer either, is 400.
async def expand_property(ctx: Context, resource: Resource,
                          root: etree._Element) -> web.StreamResponse:
    wanted = parse_expand_property(root)
    targets = [resource]
    if parse_depth(ctx.request.headers.get("Depth"), "0") == "1":
        targets += [member for member in await children(ctx, resource)
                    if names.READ in await privileges(ctx, member)]
    body = Multistatus()
    for target in targets:
        body.add_propstats(target.path, await _expanded(ctx, target, wanted, 0))
    return multistatus_response(body)


async def _expanded(ctx: Context, resource: Resource, wanted: Sequence[ExpandProperty],
                    depth: int) -> list[Propstat]:
    dead = (await dead_properties(ctx, [resource])).get(resource.resource_id or -1, {})
    found: list[etree._Element] = []
    missing: list[str] = []
    for prop in wanted:
        value = await value_of(ctx, resource, prop.name, dead)
        if value is None:
            missing.append(prop.name)
            continue
        if prop.children:  # how deep they nest is bounded (MaxExpandPropertyDepth)
            value = await _expand_hrefs(ctx, value, prop.children, depth + 1)
        found.append(value)
    return group_propstats(found, {404: missing} if missing else None)


async def _expand_hrefs(ctx: Context, value: etree._Element,
                        wanted: Sequence[ExpandProperty], depth: int) -> etree._Element:
    """Each DAV:href in ``value`` becomes a DAV:response with the wanted properties."""
    result = element(value.tag)
    for href in value.iter(names.HREF):
        response = element(names.RESPONSE, children=[element(names.HREF, href.text or "")])
        target = await _readable(ctx, href.text or "")
        if target is None:
            response.append(element(names.STATUS, "HTTP/1.1 404 Not Found"))
        else:
            for propstat in await _expanded(ctx, target, wanted, depth):
                response.append(propstat_element(propstat))
        result.append(response)
    return result


async def _readable(ctx: Context, href: str) -> Resource | None:
    try:
        target = await resolve(ctx, parse_href(href, own_authorities(ctx.request)))
    except DAVError:
        return None
    if not target.exists or names.READ not in await privileges(ctx, target):
        return None
    return target


# -- principal-property-search -----------------------------------------------------------

# RFC 3744 §9.4, §9.5: both are only defined for Depth: 0; other values are 400.
async def principal_property_search(ctx: Context, resource: Resource,
                                    root: etree._Element) -> web.StreamResponse:
    search = parse_principal_property_search(root)
    terms: list[tuple[SearchField, str, MatchType]] = []
    for item in search.searches:
        for name in item.names:
            if name in SEARCHABLE:
                terms.append((SEARCHABLE[name][0], item.match, item.match_type))
    record_types = _record_types(resource, search.apply_to_principal_collection_set)
    records = await ctx.directory.search(
        terms, any_of=search.test == "anyof", record_types=record_types,
        limit=search.limit or DEFAULT_SEARCH_LIMIT) if terms else []
    found: list[Resource] = [Principal(principal_path(r), record=r) for r in records]
    wanted = Propfind("prop", search.prop) if search.prop else Propfind("allprop")
    return multistatus_response(await multistatus_for(ctx, found, wanted))


def _record_types(resource: Resource, everywhere: bool) -> list[RecordType] | None:
    if not everywhere and isinstance(resource, PrincipalCollection) and resource.record_type:
        return [resource.record_type]
    return None


async def principal_search_property_set(ctx: Context, resource: Resource,
                                        root: etree._Element) -> web.StreamResponse:
    body = element(names.PRINCIPAL_SEARCH_PROPERTY_SET, children=[
        element(names.PRINCIPAL_SEARCH_PROPERTY, children=[
            element(names.PROP, children=[element(name)]),
            element(names.DESCRIPTION, description, attrib={names.XML_LANG: "en"}),
        ]) for name, (_, description) in SEARCHABLE.items()])
    return web.Response(status=200, body=serialize(body), content_type="application/xml",
                        charset="utf-8")


REPORTS = (
    Report(names.EXPAND_PROPERTY, (Principal, ProxyGroup, PrincipalCollection, HomeResource),
           expand_property, depths=frozenset({"0", "1"})),
    Report(names.PRINCIPAL_PROPERTY_SEARCH, (PrincipalCollection, Principal),
           principal_property_search, depths=frozenset({"0"})),
    Report(names.PRINCIPAL_SEARCH_PROPERTY_SET, (PrincipalCollection,),
           principal_search_property_set, depths=frozenset({"0"})),
)
