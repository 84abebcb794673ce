"""DELETE of calendar objects and calendars (RFC 4918 §9.6)."""

from __future__ import annotations

from aiohttp import web

from caldavd.dav import names
from caldavd.dav.errors import Forbidden
from caldavd.http.acl import require
from caldavd.http.attachments import collect_files, had_attachments
from caldavd.http.defaultcal import check_default_kept
from caldavd.http.methods.plain import home_of
from caldavd.http.methods.put import conditions
from caldavd.http.resources import (
    CalendarResource,
    ObjectResource,
    PlainItem,
    ScheduleCollection,
    home_relative,
)
from caldavd.http.scheduletag import if_schedule_tag
from caldavd.http.target import existing


async def delete(request: web.Request) -> web.StreamResponse:
    ctx, resource = await existing(request)
    await require(ctx, resource, names.UNBIND)
    if_match, _ = conditions(request)
    if isinstance(resource, ObjectResource):
        await ctx.store.delete_object(resource.the_calendar, resource.the_object.name,
                                      if_match=if_match,
                                      if_schedule_tag=if_schedule_tag(request))
        if had_attachments(resource):  # unshared ones went with it (migration 0009)
            await collect_files(ctx)
    elif isinstance(resource, PlainItem):
        home = home_of(resource)
        await ctx.store.plain_delete(home.the_home, home_relative(resource, home))
    elif isinstance(resource, ScheduleCollection):
        raise Forbidden("a home's scheduling inbox and outbox cannot be deleted "
                        "(RFC 6638 §2.1, §2.2)")
    elif isinstance(resource, CalendarResource):
        await check_default_kept(ctx, resource.the_home, resource.the_calendar)
        await ctx.store.delete_calendar(resource.the_home, resource.the_calendar.name)
        await collect_files(ctx)
    else:
        raise Forbidden(f"{resource.path} cannot be deleted")
    return web.Response(status=204)


METHODS = {
    "DELETE": delete,
}
