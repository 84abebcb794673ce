"""PROPPATCH (RFC 4918 §9.2): all operations succeed together or none is applied."""

from __future__ import annotations

from aiohttp import web

from caldavd.dav import names
from caldavd.dav.multistatus import Multistatus, Propstat
from caldavd.dav.requests import parse_proppatch
from caldavd.http.acl import require
from caldavd.http.defaultcal import check_default_ops, split_ops
from caldavd.http.errors import to_dav_error
from caldavd.http.propfind import multistatus_response
from caldavd.http.proxyprops import patch_proxy_group
from caldavd.http.resources import (
    CalendarResource,
    HomeResource,
    InboxResource,
    ObjectResource,
    ProxyGroup,
)
from caldavd.http.target import existing, read_body
from caldavd.http.writable import checked_operations
from caldavd.store import QuotaExceeded, TooManyProperties


async def proppatch(request: web.Request) -> web.StreamResponse:
    ctx, resource = await existing(request)
    await require(ctx, resource, names.WRITE_PROPERTIES)
    ops = parse_proppatch(await read_body(request))
    ctx.bounds.check_names(len({op.name for op in ops}))
    if isinstance(resource, ProxyGroup):
        return _answer(resource.path, await patch_proxy_group(ctx, resource, ops))
    default_ops, ops = split_ops(resource, ops)
    changes = await checked_operations(ctx, ops, resource, creating=False)
    chosen = await check_default_ops(ctx, resource, default_ops, changes) \
        if isinstance(resource, InboxResource) and default_ops else None
    resource_id = resource.resource_id
    if not changes.failures and isinstance(resource, HomeResource) and resource_id is not None:
        calendar = resource.calendar if isinstance(resource, CalendarResource) else None
        bumped = None if isinstance(resource, ObjectResource) else calendar
        try:
            await ctx.store.update_properties(resource.the_home, bumped, resource_id,
                                              changes.set, changes.remove,
                                              limits=ctx.property_limits)
        except (TooManyProperties, QuotaExceeded) as exc:
            # RFC 4918 §9.2.1: 507 for what found no room, 424 for the rest (§9.2: all or none).
            error = to_dav_error(exc)
            if error is None:
                raise RuntimeError("a refused property without a DAV error") from exc
            changes.refuse(changes.set, error)
    if default_ops and not changes.failures and isinstance(resource, HomeResource):
        await ctx.store.set_default_calendar(resource.the_home, chosen)
    return _answer(resource.path, changes.propstats())


def _answer(path: str, propstats: list[Propstat]) -> web.Response:
    body = Multistatus()
    body.add_propstats(path, propstats)
    return multistatus_response(body)


METHODS = {
    "PROPPATCH": proppatch,
}
