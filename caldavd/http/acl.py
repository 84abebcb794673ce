"""Access control, read side (RFC 3744): who may do what to a resource.

Owners have every privilege on their home and everything in it; any
authenticated principal may read principals and the top collections.  A write
delegate (calendar-proxy-write, directly or through a group) may read and write
in the delegator's home, a read delegate only read; a delegator (and an
administrator, ``AdminPrincipals``) may change the membership of its proxy
groups.  Administrators hold every privilege in every home.  Nobody else gets
anything.
"""

from __future__ import annotations

from lxml import etree

from caldavd.dav import names
from caldavd.dav.errors import NeedPrivileges
from caldavd.dav.xml import element
from caldavd.http.context import Context
from caldavd.http.resources import (
    HomeCollection,
    HomeResource,
    Missing,
    Principal,
    PrincipalCollection,
    ProxyGroup,
    Resource,
    Root,
)

# RFC 3744 §3.12 aggregation, as this server supports it.
PRIVILEGE_TREE: tuple[tuple[str, tuple[str, ...]], ...] = (
    (names.ALL, (names.READ, names.WRITE, names.READ_ACL,
                 names.READ_CURRENT_USER_PRIVILEGE_SET)),
    (names.WRITE, (names.WRITE_PROPERTIES, names.WRITE_CONTENT, names.BIND, names.UNBIND)),
)
READ_ONLY = frozenset({names.READ, names.READ_CURRENT_USER_PRIVILEGE_SET})
WRITE_ALL = frozenset({names.WRITE, names.WRITE_PROPERTIES, names.WRITE_CONTENT, names.BIND,
                       names.UNBIND})
OWNER = READ_ONLY | WRITE_ALL | {names.ALL, names.READ_ACL}
# A write delegate reads and writes, but neither reads nor changes access control.
DELEGATE_WRITE = READ_ONLY | WRITE_ALL
NONE: frozenset[str] = frozenset()
MEMBERSHIP_EDITOR = READ_ONLY | {names.WRITE_PROPERTIES}


async def privileges(ctx: Context, resource: Resource) -> frozenset[str]:
    if isinstance(resource, Missing):
        return await privileges(ctx, resource.parent) if resource.parent else NONE
    if isinstance(resource, Root | PrincipalCollection | HomeCollection | Principal):
        return READ_ONLY
    if isinstance(resource, ProxyGroup):
        editor = resource.delegator.uid == ctx.principal.uid or ctx.is_admin
        return MEMBERSHIP_EDITOR if editor else READ_ONLY
    if isinstance(resource, HomeResource):
        return _read_only_binding(resource, await _in_home(ctx, resource))
    return NONE


async def _in_home(ctx: Context, resource: HomeResource) -> frozenset[str]:
    owner = resource.owner
    if owner is None:
        return NONE
    if owner.uid == ctx.principal.uid or ctx.is_admin:
        return OWNER
    access = await ctx.access_to(owner.uid)
    if access == "write":
        return DELEGATE_WRITE
    return READ_ONLY if access == "read" else NONE


def _read_only_binding(resource: HomeResource, granted: frozenset[str]) -> frozenset[str]:
    """A calendar bound read-only into a home is read-only for everyone there."""
    calendar = getattr(resource, "calendar", None)
    if granted and calendar is not None and calendar.mode == "read":
        return READ_ONLY
    return granted


async def require(ctx: Context, resource: Resource, privilege: str) -> None:
    """NeedPrivileges (403, RFC 3744 §7.1.1) unless the principal holds ``privilege``."""
    if privilege not in await privileges(ctx, resource):
        target = resource.parent if isinstance(resource, Missing) and resource.parent \
            else resource
        raise NeedPrivileges(
            f"{privilege} is needed on {target.path}",
            children=[element(names.RESOURCE, children=[
                element(names.HREF, target.path), element(names.PRIVILEGE,
                                                          children=[element(privilege)])])])


def privilege_set_element(tag: str, granted: frozenset[str]) -> etree._Element:
    """DAV:current-user-privilege-set (RFC 3744 §5.4)."""
    return element(tag, children=[element(names.PRIVILEGE, children=[element(p)])
                                  for p in sorted(granted)])


def supported_privilege_set() -> etree._Element:
    """DAV:supported-privilege-set (RFC 3744 §5.3)."""
    def node(name: str) -> etree._Element:
        children = [element(names.PRIVILEGE, children=[element(name)])]
        for parent, contained in PRIVILEGE_TREE:
            if parent == name:
                children.extend(node(c) for c in contained)
        return element(names.SUPPORTED_PRIVILEGE, children=children)

    return element(names.SUPPORTED_PRIVILEGE_SET, children=[node(names.ALL)])
