"""Delegation as clients see it: the proxy group principals' properties, the
calendar-proxy-*-for properties of a delegate, and PROPPATCH of a proxy group's
group-member-set (Apple's calendar user proxy extension, over RFC 3744 groups)."""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from caldavd.dav import names
from caldavd.dav.errors import Conflict, DAVError
from caldavd.dav.multistatus import Propstat
from caldavd.dav.requests import PropOp, parse_href
from caldavd.dav.xml import element
from caldavd.directory import Record
from caldavd.http.authority import own_authorities
from caldavd.http.context import Context, uids_acting_as
from caldavd.http.liveprops import href, hrefs
from caldavd.http.registry import LiveProperty
from caldavd.http.resources import (
    Principal,
    ProxyGroup,
    Resource,
    proxy_group_path,
    resolve,
    uid_principal_path,
)
from caldavd.http.writable import PropertyChanges, check_operations

# Most members one PROPPATCH may name (a delegation list, not a mailing list).
MAX_MEMBERS = 1000


def _group(res: Resource) -> ProxyGroup:
    if not isinstance(res, ProxyGroup):
        raise TypeError("not ProxyGroup: res")
    return res


async def proxy_displayname(ctx: Context, res: Resource) -> etree._Element | None:
    group = _group(res)
    kind = "write" if group.write else "read"
    return element(names.DISPLAYNAME, f"{group.delegator.full_name}: {kind} delegates")


async def proxy_principal_url(ctx: Context, res: Resource) -> etree._Element | None:
    group = _group(res)
    return element(names.PRINCIPAL_URL, children=[
        href(proxy_group_path(group.delegator.uid, group.write))])


async def proxy_group_member_set(ctx: Context, res: Resource) -> etree._Element | None:
    group = _group(res)
    members = await ctx.proxies.delegates(group.delegator.uid, group.write)
    return hrefs(names.GROUP_MEMBER_SET, [uid_principal_path(uid) for uid in sorted(members)])


async def proxy_group_membership(ctx: Context, res: Resource) -> etree._Element | None:
    return element(names.GROUP_MEMBERSHIP)


async def proxy_alternate_uri_set(ctx: Context, res: Resource) -> etree._Element | None:
    return element(names.ALTERNATE_URI_SET)


async def _delegators_of(ctx: Context, res: Resource, write: bool) -> list[str]:
    if not isinstance(res, Principal):
        raise TypeError("not Principal: res")
    acting_as = await uids_acting_as(ctx.directory, res.principal.uid)
    return [uid_principal_path(d) for d in sorted(await ctx.proxies.delegators(acting_as, write))]


async def proxy_write_for(ctx: Context, res: Resource) -> etree._Element | None:
    """The principals this one may act for (directly or through a group)."""
    return hrefs(names.CALENDAR_PROXY_WRITE_FOR, await _delegators_of(ctx, res, True))


async def proxy_read_for(ctx: Context, res: Resource) -> etree._Element | None:
    return hrefs(names.CALENDAR_PROXY_READ_FOR, await _delegators_of(ctx, res, False))


PROPERTIES = (
    LiveProperty(names.DISPLAYNAME, (ProxyGroup,), proxy_displayname, allprop=True),
    LiveProperty(names.PRINCIPAL_URL, (ProxyGroup,), proxy_principal_url),
    LiveProperty(names.GROUP_MEMBER_SET, (ProxyGroup,), proxy_group_member_set),
    LiveProperty(names.GROUP_MEMBERSHIP, (ProxyGroup,), proxy_group_membership),
    LiveProperty(names.ALTERNATE_URI_SET, (ProxyGroup,), proxy_alternate_uri_set),
    LiveProperty(names.CALENDAR_PROXY_WRITE_FOR, (Principal,), proxy_write_for),
    LiveProperty(names.CALENDAR_PROXY_READ_FOR, (Principal,), proxy_read_for),
)


# -- PROPPATCH of a proxy group ----------------------------------------------------------

async def patch_proxy_group(ctx: Context, group: ProxyGroup,
                            ops: Sequence[PropOp]) -> list[Propstat]:
    """group-member-set may be set or removed; nothing else is stored on a proxy group.
    All or nothing (RFC 4918 §9.2): one bad member fails the whole request."""
    members: set[str] | None = None
    changes = PropertyChanges()
    for op in ops:
        changes.names.append(op.name)
        try:
            if op.name != names.GROUP_MEMBER_SET:
                _refuse_other(ctx, op, group)
                continue
            members = set() if op.kind == "remove" else await _members(ctx, op, group)
        except DAVError as exc:
            changes.failures[op.name] = exc
    changes.names = list(dict.fromkeys(changes.names))
    if not changes.failures and members is not None:
        await ctx.proxies.set_delegates(group.delegator.uid, group.write, members)
    return changes.propstats()


def _refuse_other(ctx: Context, op: PropOp, group: ProxyGroup) -> None:
    checked = check_operations(ctx.registry, [op], group, creating=False)
    failure = checked.failures.get(op.name)
    if failure is not None:
        raise failure
    raise Conflict(f"{op.name} cannot be stored on a proxy group; only "
                   "DAV:group-member-set can be changed")


async def _members(ctx: Context, op: PropOp, group: ProxyGroup) -> set[str]:
    if op.element is None:
        raise RuntimeError("op.element is not set")
    found: set[str] = set()
    paths = [(child.text or "").strip() for child in op.element if child.tag == names.HREF]
    if len(paths) > MAX_MEMBERS:
        raise Conflict(f"at most {MAX_MEMBERS} delegates per proxy group")
    for path in paths:
        record = await _principal_at(ctx, path)
        if record is None:
            raise Conflict(f"{path} is not a principal on this server")
        if record.uid == group.delegator.uid:
            raise Conflict("a principal cannot be its own delegate")
        found.add(record.uid)
    return found


async def _principal_at(ctx: Context, href_text: str) -> Record | None:
    """The record a member href names: a principal URL, or a calendar user address."""
    if href_text.startswith(("mailto:", "urn:uuid:")):
        return await ctx.directory.record_by_address(href_text)
    try:
        path = parse_href(href_text, own_authorities(ctx.request))
    except DAVError:
        return None
    resource = await resolve(ctx, path if path.endswith("/") else path + "/")
    return resource.principal if isinstance(resource, Principal) else None
