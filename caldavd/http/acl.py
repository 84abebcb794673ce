"""Access control, read side (RFC 3744): who may do what to a resource.

Owners have every privilege on their home and everything in it; any
authenticated principal may read principals and the top collections.  A write
delegate (calendar-proxy-write, directly or through a group) may read and write
in the delegator's home, a read delegate only read; a delegator (and an
administrator, ``AdminPrincipals``) may change the membership of its proxy
groups.  Administrators hold every privilege in every home, and read-acl
everywhere; a principal reads the ACL of its own principal and proxy groups.
Nobody else gets anything.

``access_control_list`` is what DAV:acl shows (RFC 3744 §5.5); outside homes the
privileges are computed from it, in homes from the owner and the delegations it
names, so DAV:acl and DAV:current-user-privilege-set always agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from caldavd.dav import names
from caldavd.dav.errors import NeedPrivileges
from caldavd.dav.xml import element
from caldavd.http.context import Context
from caldavd.http.resources import (
    HomeCollection,
    HomeResource,
    InboxResource,
    Missing,
    OutboxResource,
    Principal,
    PrincipalCollection,
    ProxyGroup,
    Resource,
    Root,
    principal_alternate_paths,
    principal_path,
    proxy_group_path,
)
from caldavd.scheduling import privileges as scheduling_privileges

# RFC 3744 §3.12 aggregation, as this server supports it.
# The scheduling privileges (RFC 6638 §6) are under DAV:all, and supported on the inbox
# (schedule-deliver) and the outbox (schedule-send) only.
PRIVILEGE_TREE: tuple[tuple[str, tuple[str, ...]], ...] = (
    (names.ALL, (names.READ, names.WRITE, names.READ_ACL,
                 names.READ_CURRENT_USER_PRIVILEGE_SET, names.SCHEDULE_DELIVER,
                 names.SCHEDULE_SEND)),
    (names.WRITE, (names.WRITE_PROPERTIES, names.WRITE_CONTENT, names.BIND, names.UNBIND)),
    *scheduling_privileges.TREE,
)
READ_ONLY = frozenset({names.READ, names.READ_CURRENT_USER_PRIVILEGE_SET})
WRITE_ALL = frozenset({names.WRITE, names.WRITE_PROPERTIES, names.WRITE_CONTENT, names.BIND,
                       names.UNBIND})
OWNER = READ_ONLY | WRITE_ALL | {names.ALL, names.READ_ACL}
# A write delegate reads and writes, but neither reads nor changes access control.
DELEGATE_WRITE = READ_ONLY | WRITE_ALL
NONE: frozenset[str] = frozenset()
READ_WITH_ACL = READ_ONLY | {names.READ_ACL}
MEMBERSHIP_EDITOR = READ_WITH_ACL | {names.WRITE_PROPERTIES}


@dataclass(frozen=True)
class Ace:
    """A grant of DAV:acl: ``principal`` is a principal's path, None for
    DAV:authenticated (every principal that has signed in)."""

    principal: str | None
    granted: frozenset[str]


def access_control_list(ctx: Context, resource: Resource) -> list[Ace]:
    """The grants on ``resource`` (all protected: no ACL method changes them)."""
    admin = OWNER if isinstance(resource, HomeResource) else (
        MEMBERSHIP_EDITOR if isinstance(resource, ProxyGroup) else READ_WITH_ACL)
    admins = [Ace(path, admin) for path in ctx.config.AdminPrincipals]
    if isinstance(resource, HomeResource):
        owner = resource.owner
        if owner is None:
            return admins
        aces = [Ace(principal_path(owner), OWNER | _box(resource, "owner")),
                Ace(proxy_group_path(owner.uid, True), DELEGATE_WRITE | _box(resource, "write")),
                Ace(proxy_group_path(owner.uid, False), READ_ONLY | _box(resource, "read")),
                *(Ace(a.principal, a.granted | _box(resource, "owner")) for a in admins)]
        others = _box(resource, "other")
        if others:
            aces.append(Ace(None, others))
        return [Ace(a.principal, _read_only_binding(resource, a.granted)) for a in aces]
    if isinstance(resource, Principal):
        own = [Ace(principal_path(resource.principal), READ_WITH_ACL)]
    elif isinstance(resource, ProxyGroup):
        own = [Ace(principal_path(resource.delegator), MEMBERSHIP_EDITOR)]
    elif isinstance(resource, Root | PrincipalCollection | HomeCollection):
        own = []
    else:
        return []
    return [Ace(None, READ_ONLY), *own, *admins]


async def privileges(ctx: Context, resource: Resource) -> frozenset[str]:
    if isinstance(resource, Missing):
        return await privileges(ctx, resource.parent) if resource.parent else NONE
    if isinstance(resource, HomeResource):
        return _read_only_binding(resource, await _in_home(ctx, resource))
    mine = {principal_path(ctx.principal), *principal_alternate_paths(ctx.principal)}
    return frozenset().union(*(ace.granted for ace in access_control_list(ctx, resource)
                               if ace.principal is None or ace.principal in mine))


async def _in_home(ctx: Context, resource: HomeResource) -> frozenset[str]:
    owner = resource.owner
    if owner is None:
        return NONE
    if owner.uid == ctx.principal.uid or ctx.is_admin:
        return OWNER | _box(resource, "owner")
    access = await ctx.access_to(owner.uid)
    if access == "write":
        return DELEGATE_WRITE | _box(resource, "write")
    if access == "read":
        return READ_ONLY | _box(resource, "read")
    return _box(resource, "other")


def _box(resource: Resource, standing: scheduling_privileges.Standing) -> frozenset[str]:
    """The scheduling privileges ``standing`` holds on an inbox or outbox (RFC 6638 §6)."""
    if isinstance(resource, InboxResource):
        return scheduling_privileges.granted("inbox", standing)
    if isinstance(resource, OutboxResource):
        return scheduling_privileges.granted("outbox", standing)
    return NONE


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


def aggregated(granted: frozenset[str]) -> list[str]:
    """``granted`` without what an aggregate privilege in it already contains
    (RFC 3744 §3.12), in order: DAV:all alone for an owner."""
    contained = {c for parent, children in PRIVILEGE_TREE if parent in granted
                 for c in children}
    while True:
        more = {c for parent, children in PRIVILEGE_TREE if parent in contained
                for c in children} - contained
        if not more:
            break
        contained |= more
    return sorted(granted - contained)


def supported_privilege_set(resource: Resource | None = None) -> etree._Element:
    """DAV:supported-privilege-set (RFC 3744 §5.3); schedule-deliver on an inbox and
    schedule-send on an outbox only (RFC 6638 §6.1, §6.2)."""
    left_out = {names.SCHEDULE_DELIVER, names.SCHEDULE_SEND}
    if isinstance(resource, InboxResource):
        left_out.discard(names.SCHEDULE_DELIVER)
    elif isinstance(resource, OutboxResource):
        left_out.discard(names.SCHEDULE_SEND)

    def node(name: str) -> etree._Element:
        children = [element(names.PRIVILEGE, children=[element(name)])]
        for parent, contained in PRIVILEGE_TREE:
            if parent == name:
                children.extend(node(c) for c in contained if c not in left_out)
        return element(names.SUPPORTED_PRIVILEGE, children=children)

    return element(names.SUPPORTED_PRIVILEGE_SET, children=[node(names.ALL)])
