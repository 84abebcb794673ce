"""The inbox's schedule-default-calendar-URL (RFC 6638 §9.2): where deliveries create
new copies.

Live: the store's ``default_calendar`` (the owner's choice while it still takes VEVENTs,
else the first calendar made that does).  PROPPATCH sets it to a calendar of the home
that takes VEVENTs (else ``valid-schedule-default-calendar-URL``), or, removed or
given without an href, back to the store's choice.  Deleting the default calendar moves
the default to the next calendar that can be one; deleting the last such calendar is
refused with ``default-calendar-needed`` (§9.2.1): the server keeps a calendar to
deliver into.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from lxml import etree

from caldavd.dav import names
from caldavd.dav.errors import DAVError, DefaultCalendarNeeded, ValidScheduleDefaultCalendarURL
from caldavd.dav.hrefs import decode_path, quote_path
from caldavd.dav.requests import PropOp
from caldavd.dav.xml import element
from caldavd.http.context import Context
from caldavd.http.registry import LiveProperty
from caldavd.http.resources import CalendarResource, InboxResource, Resource, resolve
from caldavd.http.writable import PropertyChanges
from caldavd.store import Calendar, Home

NAME = names.SCHEDULE_DEFAULT_CALENDAR_URL


def home_path_of(inbox: InboxResource) -> str:
    """The path of the home the inbox is in, as the request spelled it."""
    return inbox.path.rstrip("/").rsplit("/", 1)[0] + "/"


async def default_calendar_url(ctx: Context, res: Resource) -> etree._Element | None:
    if not isinstance(res, InboxResource):
        return None
    calendar = await ctx.store.default_calendar(res.the_home)
    hrefs = [] if calendar is None else [
        element(names.HREF, quote_path(f"{home_path_of(res)}{calendar.name}/"))]
    return element(NAME, children=hrefs)


async def chosen_default(ctx: Context, inbox: InboxResource, op: PropOp) -> Calendar | None:
    """The calendar a PROPPATCH of the property names (None: the store's choice), or
    ValidScheduleDefaultCalendarURL."""
    href = op.element.find(names.HREF) if op.element is not None else None
    if op.kind == "remove" or href is None or not (href.text or "").strip():
        return None
    try:
        target = await resolve(ctx, decode_path(urlsplit((href.text or "").strip()).path))
    except DAVError:
        target = None
    if type(target) is not CalendarResource or target.calendar is None \
            or target.the_home.id != inbox.the_home.id or not target.calendar.takes_events:
        raise ValidScheduleDefaultCalendarURL(
            "schedule-default-calendar-URL must name a calendar of this home that takes "
            "VEVENTs")
    return target.calendar


def split_ops(resource: Resource, ops: Sequence[PropOp],
              ) -> tuple[tuple[PropOp, ...], tuple[PropOp, ...]]:
    """(the operations on schedule-default-calendar-URL of an inbox, the others)."""
    if not isinstance(resource, InboxResource):
        return (), tuple(ops)
    return (tuple(op for op in ops if op.name == NAME),
            tuple(op for op in ops if op.name != NAME))


async def check_default_ops(ctx: Context, inbox: InboxResource, ops: Sequence[PropOp],
                            changes: PropertyChanges) -> Calendar | None:
    """The default the last of ``ops`` chooses; a refusal goes into ``changes``."""
    chosen = None
    for op in ops:
        if op.name not in changes.names:
            changes.names.append(op.name)
        try:
            chosen = await chosen_default(ctx, inbox, op)
        except DAVError as exc:
            changes.failures[op.name] = exc
    return chosen


async def check_default_kept(ctx: Context, home: Home, calendar: Calendar) -> None:
    """Before ``calendar`` is deleted: DefaultCalendarNeeded when it is the default and no
    other calendar of the home could be."""
    if not calendar.takes_events:
        return
    current = await ctx.store.default_calendar(home)
    if current is None or current.id != calendar.id:
        return
    if not any(c.takes_events and c.id != calendar.id for c in await ctx.store.calendars(home)):
        raise DefaultCalendarNeeded(
            f"{calendar.name} is the only calendar scheduling messages can be delivered to")


PROPERTIES = (LiveProperty(NAME, (InboxResource,), default_calendar_url),)
