"""Per-request context: the app's services, the authenticated principal, and
small per-request memos so one request never looks the same thing up twice."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from caldavd.caldav.budget import Budget
from caldavd.config import Config
from caldavd.dav import names
from caldavd.dav.requests import RequestBounds
from caldavd.directory import Directory, Record
from caldavd.http.keys import CONFIG, DIRECTORY, PROXY_DB, REGISTRY, STORE, principal_of
from caldavd.http.propvalues import text_property
from caldavd.http.resources import (
    DEFAULT_CALENDARS,
    DEFAULT_NAMES,
    principal_alternate_paths,
    principal_path,
)
from caldavd.proxy import Access, ProxyDB
from caldavd.store import Home, NewCalendar, PropertyLimits, Store

if TYPE_CHECKING:  # the registry's getters take a Context
    from caldavd.http.registry import Registry


@dataclass
class Context:
    request: web.Request
    config: Config
    store: Store
    directory: Directory
    principal: Record
    proxies: ProxyDB
    registry: Registry
    _homes: dict[str, Home] = field(default_factory=dict)
    _access: dict[str, Access | None] = field(default_factory=dict)
    _as: frozenset[str] | None = None
    _budget: Budget | None = None

    async def home_of(self, record: Record) -> Home:
        """The record's home, created with the default calendars on first access.

        Created whoever asks (access is checked afterwards), so a delegate or a
        403 answer looks the same whether or not the owner ever logged in.
        """
        if record.uid not in self._homes:
            self._homes[record.uid] = await self.store.ensure_home(record.uid, _defaults())
        return self._homes[record.uid]

    async def access_to(self, delegator_uid: str) -> Access | None:
        """What ``delegator_uid`` delegated to the principal, or to a group it is in
        (read, at the database, once per request and delegator)."""
        if delegator_uid not in self._access:
            self._access[delegator_uid] = await self.proxies.access(
                delegator_uid, await self.delegate_uids())
        return self._access[delegator_uid]

    async def delegate_uids(self) -> frozenset[str]:
        """The principal and every group it is in, nested groups included."""
        if self._as is None:
            self._as = await uids_acting_as(self.directory, self.principal.uid)
        return self._as

    def instance_budget(self) -> Budget:
        """The recurrence instances this request may still expand (MaxInstancesPerReport):
        one budget for all its steps and calendars, so a query over a home of many
        calendars, or a recheck then a render, is bounded as one request."""
        if self._budget is None:
            self._budget = Budget(self.config.MaxInstancesPerReport)
        return self._budget

    @property
    def bounds(self) -> RequestBounds:
        """How much one request body may ask for (README "Security and limits")."""
        config = self.config
        return RequestBounds(config.MaxPropertiesPerRequest, config.MaxExpandPropertyElements,
                             config.MaxExpandPropertyDepth)

    @property
    def property_limits(self) -> PropertyLimits:
        """What a write of dead properties may add (README "Security and limits")."""
        config = self.config
        return PropertyLimits(config.MaxDeadPropertiesPerResource,
                              config.MaxDeadPropertyBytesPerResource, config.UserQuota)

    def quota(self, freed: int = 0) -> int:
        """``UserQuota`` for a write after which the request frees ``freed`` bytes of the
        same home (a MOVE's source, removed once its destination is written: the home ends
        within the quota); 0 = unlimited."""
        quota = self.config.UserQuota
        return quota + freed if quota else 0

    @property
    def is_admin(self) -> bool:
        """Named in AdminPrincipals by any of its principal URLs."""
        admins = self.config.AdminPrincipals
        return bool(admins) and any(
            path in admins for path in (principal_path(self.principal),
                                        *principal_alternate_paths(self.principal)))


async def uids_acting_as(directory: Directory, uid: str) -> frozenset[str]:
    """``uid`` and every group it is in, nested groups included: whom a grant to any of
    them reaches."""
    return frozenset({uid, *await directory.groups_of(uid)})


def _defaults() -> list[NewCalendar]:
    return [NewCalendar(c.name, c.supported_components,
                        {names.DISPLAYNAME: text_property(names.DISPLAYNAME,
                                                          DEFAULT_NAMES[c.name])})
            for c in DEFAULT_CALENDARS]


CONTEXT = web.RequestKey("context", Context)


def context_of(request: web.Request) -> Context:
    """The request's context; ``attach_context`` made it when the request authenticated
    (``in`` on a request that lacks the key costs a raised KeyError, ~3% of a GET)."""
    try:
        return request[CONTEXT]
    except KeyError:
        return attach_context(request, principal_of(request))


def attach_context(request: web.Request, principal: Record) -> Context:
    app = request.app
    ctx = Context(request=request, config=app[CONFIG], store=app[STORE],
                  directory=app[DIRECTORY], principal=principal, proxies=app[PROXY_DB],
                  registry=app[REGISTRY])
    request[CONTEXT] = ctx
    return ctx
