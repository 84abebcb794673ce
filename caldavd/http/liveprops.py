"""Live properties, one small getter each, registered by name and resource type."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime

from lxml import etree

from caldavd.config import Config
from caldavd.dav import names
from caldavd.dav.dates import http_date, iso8601
from caldavd.dav.fragments import empty_element, escape, text_element, text_writer
from caldavd.dav.hrefs import quote_path
from caldavd.dav.xml import element
from caldavd.directory import Record
from caldavd.http import acl
from caldavd.http.context import Context
from caldavd.http.registry import ABSENT, Member, live, reports_for
from caldavd.http.resources import (
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
    home_path,
    principal_alternate_paths,
    principal_path,
    proxy_group_path,
    uid_principal_path,
)
from caldavd.http.tokens import ctag, sync_token_for_calendar, sync_token_for_home

ANY = (Resource,)
COLLECTIONS = (Root, PrincipalCollection, HomeCollection)
IN_HOME = (HomeResource,)
# RFC 4791 §5.2.6/§5.2.7: the range of dates the server accepts.
MIN_DATE_TIME = datetime(1900, 1, 1, tzinfo=UTC)
MAX_DATE_TIME = datetime(2100, 12, 31, 23, 59, 59, tzinfo=UTC)
CALENDAR_COMPONENTS = ("VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY")


def href(path: str) -> etree._Element:
    return element(names.HREF, quote_path(path))


def hrefs(tag: str, paths: list[str], addresses: tuple[str, ...] = ()) -> etree._Element:
    children = [element(names.HREF, a) for a in addresses] + [href(p) for p in paths]
    return element(tag, children=children)


def _caldav_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


# -- every resource ----------------------------------------------------------------

def _kinds(res: Resource) -> tuple[str, ...]:
    kinds: list[str] = []
    if res.is_collection:
        kinds.append(names.COLLECTION)
    if isinstance(res, Principal | ProxyGroup):
        kinds.append(names.PRINCIPAL)
    if isinstance(res, ProxyGroup):
        kinds.append(names.CALENDAR_PROXY_WRITE if res.write else names.CALENDAR_PROXY_READ)
    if isinstance(res, CalendarResource) and not isinstance(res, ObjectResource):
        kinds.append(names.CALENDAR)
    return tuple(kinds)


# The kinds follow from the class and is_collection alone: one fragment for each pair.
_RESOURCETYPES: dict[tuple[type[Resource], bool, bool], str] = {}


def _resourcetype_text(ctx: Context, res: Resource) -> str:
    key = (type(res), res.is_collection, isinstance(res, ProxyGroup) and res.write)
    text = _RESOURCETYPES.get(key)
    if text is None:
        kinds = "".join(empty_element(kind) for kind in _kinds(res))
        text = f"<D:resourcetype>{kinds}</D:resourcetype>" if kinds else "<D:resourcetype/>"
        _RESOURCETYPES[key] = text
    return text


@live(names.RESOURCETYPE, ANY, allprop=True, text=_resourcetype_text,
      member=Member("name", lambda name: "<D:resourcetype/>"))  # objects: no kind
async def resourcetype(ctx: Context, res: Resource) -> etree._Element | None:
    return element(names.RESOURCETYPE, children=[element(kind) for kind in _kinds(res)])


@live(names.CURRENT_USER_PRINCIPAL, ANY)
async def current_user_principal(ctx: Context, res: Resource) -> etree._Element | None:
    """RFC 5397 §3."""
    return element(names.CURRENT_USER_PRINCIPAL, children=[href(principal_path(ctx.principal))])


@live(names.PRINCIPAL_COLLECTION_SET, ANY)
async def principal_collection_set(ctx: Context, res: Resource) -> etree._Element | None:
    return element(names.PRINCIPAL_COLLECTION_SET, children=[href(PRINCIPALS)])


@live(names.CURRENT_USER_PRIVILEGE_SET, ANY, privilege=names.READ_CURRENT_USER_PRIVILEGE_SET)
async def current_user_privilege_set(ctx: Context, res: Resource) -> etree._Element | None:
    return acl.privilege_set_element(names.CURRENT_USER_PRIVILEGE_SET,
                                     await acl.privileges(ctx, res))


@live(names.SUPPORTED_PRIVILEGE_SET, ANY)
async def supported_privilege_set(ctx: Context, res: Resource) -> etree._Element | None:
    return acl.supported_privilege_set()


@live(names.OWNER, ANY)
async def owner(ctx: Context, res: Resource) -> etree._Element | None:
    who = res.owner
    return element(names.OWNER, children=[href(principal_path(who))] if who else [])


@live(names.ACL, ANY, privilege=names.READ_ACL)
async def acl_property(ctx: Context, res: Resource) -> etree._Element | None:
    """RFC 3744 §5.5, from ``acl.access_control_list`` (the owner holds all, its write
    delegates read and write, its read delegates read, administrators what
    ``AdminPrincipals`` gives them)."""
    return element(names.ACL, children=[_ace(a) for a in acl.access_control_list(ctx, res)])


def _ace(ace: acl.Ace) -> etree._Element:
    who = element(names.AUTHENTICATED) if ace.principal is None else href(ace.principal)
    return element(names.ACE, children=[
        element(names.PRINCIPAL, children=[who]),
        element(names.GRANT, children=[element(names.PRIVILEGE, children=[element(p)])
                                       for p in acl.aggregated(ace.granted)]),
        element(names.PROTECTED),
    ])


@live(names.SUPPORTED_REPORT_SET, ANY)
async def supported_report_set(ctx: Context, res: Resource) -> etree._Element | None:
    """RFC 3253 §3.1.5, from the report registry."""
    return element(names.SUPPORTED_REPORT_SET, children=[
        element(names.SUPPORTED_REPORT, children=[
            element(names.REPORT, children=[element(name)])]) for name in reports_for(res)])


# -- principals (RFC 3744 §4, RFC 4791 §6, RFC 6638 §2.4) ----------------------------

def _record(res: Resource) -> Record:
    assert isinstance(res, Principal)
    return res.principal


@live(names.DISPLAYNAME, (Principal,), allprop=True)
async def principal_displayname(ctx: Context, res: Resource) -> etree._Element | None:
    return element(names.DISPLAYNAME, _record(res).full_name)


@live(names.PRINCIPAL_URL, (Principal,))
async def principal_url(ctx: Context, res: Resource) -> etree._Element | None:
    return element(names.PRINCIPAL_URL, children=[href(principal_path(_record(res)))])


@live(names.ALTERNATE_URI_SET, (Principal,))
async def alternate_uri_set(ctx: Context, res: Resource) -> etree._Element | None:
    record = _record(res)
    return hrefs(names.ALTERNATE_URI_SET, principal_alternate_paths(record),
                 record.calendar_user_addresses)


@live(names.GROUP_MEMBER_SET, (Principal,))
async def group_member_set(ctx: Context, res: Resource) -> etree._Element | None:
    members = await ctx.directory.members_of(_record(res).uid)
    return hrefs(names.GROUP_MEMBER_SET, [principal_path(m) for m in members])


@live(names.GROUP_MEMBERSHIP, (Principal,))
async def group_membership(ctx: Context, res: Resource) -> etree._Element | None:
    """The groups this principal is directly a member of (RFC 3744 §4.4)."""
    uid = _record(res).uid
    parents = await ctx.directory.groups_of(uid, direct=True)
    return hrefs(names.GROUP_MEMBERSHIP,
                 [uid_principal_path(p) for p in sorted(parents)]
                 + await _proxy_memberships(ctx, uid))


async def _proxy_memberships(ctx: Context, uid: str) -> list[str]:
    """The proxy groups that name ``uid`` directly: also groups it is a member of."""
    return [proxy_group_path(delegator, write) for write in (True, False)
            for delegator in sorted(await ctx.proxies.delegators([uid], write))]


@live(names.CALENDAR_HOME_SET, (Principal,))
async def calendar_home_set(ctx: Context, res: Resource) -> etree._Element | None:
    record = _record(res)
    paths = [home_path(record)] if record.enabled_for_calendaring else []
    return hrefs(names.CALENDAR_HOME_SET, paths)


@live(names.CALENDAR_USER_ADDRESS_SET, (Principal,))
async def calendar_user_address_set(ctx: Context, res: Resource) -> etree._Element | None:
    record = _record(res)
    return hrefs(names.CALENDAR_USER_ADDRESS_SET, [principal_path(record)],
                 record.calendar_user_addresses)


@live(names.CALENDAR_USER_TYPE, (Principal,))
async def calendar_user_type(ctx: Context, res: Resource) -> etree._Element | None:
    return element(names.CALENDAR_USER_TYPE, _record(res).calendar_user_type)


@live(names.EMAIL_ADDRESS_SET, (Principal,))
async def email_address_set(ctx: Context, res: Resource) -> etree._Element | None:
    return element(names.EMAIL_ADDRESS_SET,
                   children=[element(names.HREF, e) for e in _record(res).emails])


@live(names.RECORD_TYPE, (Principal,))
async def record_type(ctx: Context, res: Resource) -> etree._Element | None:
    return element(names.RECORD_TYPE, _record(res).record_type + "s")


# -- homes and calendars ------------------------------------------------------------

def _sync_token_text(ctx: Context, res: Resource) -> str | None:
    calendar = _calendar_only(res)
    if calendar is None:
        return None
    return text_element(names.SYNC_TOKEN, sync_token_for_calendar(calendar.the_calendar))


@live(names.SYNC_TOKEN, (HomeResource,), text=_sync_token_text, member=ABSENT)
async def sync_token(ctx: Context, res: Resource) -> etree._Element | None:
    """RFC 6578 §4."""
    if isinstance(res, ObjectResource):
        return None
    if isinstance(res, CalendarResource):
        return element(names.SYNC_TOKEN, sync_token_for_calendar(res.the_calendar))
    assert isinstance(res, HomeResource)
    if res.home is None:
        return None
    return element(names.SYNC_TOKEN, sync_token_for_home(
        res.home, await ctx.store.home_revision(res.home)))


def _getctag_text(ctx: Context, res: Resource) -> str | None:
    calendar = _calendar_only(res)
    if calendar is None:
        return None
    return text_element(names.GETCTAG, ctag(calendar.the_calendar.id,
                                            calendar.the_calendar.revision))


@live(names.GETCTAG, (HomeResource,), text=_getctag_text, member=ABSENT)
async def getctag(ctx: Context, res: Resource) -> etree._Element | None:
    if isinstance(res, ObjectResource):
        return None
    if isinstance(res, CalendarResource):
        return element(names.GETCTAG, ctag(res.the_calendar.id, res.the_calendar.revision))
    assert isinstance(res, HomeResource)
    if res.home is None:
        return None
    return element(names.GETCTAG, ctag(res.home.id, await ctx.store.home_revision(res.home)))


@live(names.QUOTA_USED_BYTES, (HomeResource,))
async def quota_used(ctx: Context, res: Resource) -> etree._Element | None:
    """RFC 4331 §4: the home's usage, shown on the home and its calendars."""
    if isinstance(res, ObjectResource) or not isinstance(res, HomeResource) or not res.home:
        return None
    return element(names.QUOTA_USED_BYTES, str(await ctx.store.home_usage(res.home)))


@live(names.QUOTA_AVAILABLE_BYTES, (HomeResource,))
async def quota_available(ctx: Context, res: Resource) -> etree._Element | None:
    quota = ctx.config.UserQuota
    if quota == 0 or isinstance(res, ObjectResource) or not isinstance(res, HomeResource) \
            or not res.home:
        return None
    used = await ctx.store.home_usage(res.home)
    return element(names.QUOTA_AVAILABLE_BYTES, str(max(0, quota - used)))


def _calendar_only(res: Resource) -> CalendarResource | None:
    if isinstance(res, CalendarResource) and not isinstance(res, ObjectResource):
        return res
    return None


@live(names.SUPPORTED_CALENDAR_COMPONENT_SET, (CalendarResource,))
async def supported_components(ctx: Context, res: Resource) -> etree._Element | None:
    calendar = _calendar_only(res)
    if calendar is None:
        return None
    types = calendar.the_calendar.supported_components or CALENDAR_COMPONENTS
    return element(names.SUPPORTED_CALENDAR_COMPONENT_SET, children=[
        element(names.COMP, attrib={"name": t}) for t in sorted(types)])


@live(names.SUPPORTED_CALENDAR_DATA, (CalendarResource,))
async def supported_calendar_data(ctx: Context, res: Resource) -> etree._Element | None:
    if _calendar_only(res) is None:
        return None
    return element(names.SUPPORTED_CALENDAR_DATA, children=[element(
        names.CALENDAR_DATA, attrib={"content-type": "text/calendar", "version": "2.0"})])


@live(names.MAX_RESOURCE_SIZE, (CalendarResource,))
async def max_resource_size(ctx: Context, res: Resource) -> etree._Element | None:
    if _calendar_only(res) is None:
        return None
    return element(names.MAX_RESOURCE_SIZE, str(ctx.config.MaxResourceSize))


@live(names.MIN_DATE_TIME, (CalendarResource,))
async def min_date_time(ctx: Context, res: Resource) -> etree._Element | None:
    if _calendar_only(res) is None:
        return None
    return element(names.MIN_DATE_TIME, _caldav_time(MIN_DATE_TIME))


@live(names.MAX_DATE_TIME, (CalendarResource,))
async def max_date_time(ctx: Context, res: Resource) -> etree._Element | None:
    if _calendar_only(res) is None:
        return None
    return element(names.MAX_DATE_TIME, _caldav_time(MAX_DATE_TIME))


@live(names.MAX_INSTANCES, (CalendarResource,))
async def max_instances(ctx: Context, res: Resource) -> etree._Element | None:
    if _calendar_only(res) is None:
        return None
    return element(names.MAX_INSTANCES, str(ctx.config.MaxAllowedInstances))


@live(names.MAX_ATTENDEES_PER_INSTANCE, (CalendarResource,))
async def max_attendees(ctx: Context, res: Resource) -> etree._Element | None:
    if _calendar_only(res) is None:
        return None
    return element(names.MAX_ATTENDEES_PER_INSTANCE, str(ctx.config.MaxAttendeesPerInstance))


@live(names.ADD_MEMBER, (CalendarResource,))
async def add_member(ctx: Context, res: Resource) -> etree._Element | None:
    """RFC 5995 §3.2.1: POST here creates a member with a server-chosen name."""
    calendar = _calendar_only(res)
    if calendar is None:
        return None
    return element(names.ADD_MEMBER, children=[
        element(names.HREF, quote_path(calendar.path) + "?add-member")])


# -- managed attachments (RFC 8607), on homes and calendars ----------------------------

def _home_or_calendar(res: Resource) -> bool:
    return isinstance(res, HomeResource) and not isinstance(res, ObjectResource | PlainItem)


@live(names.MANAGED_ATTACHMENTS_SERVER_URL, (HomeResource,))
async def managed_attachments_server_url(ctx: Context, res: Resource) -> etree._Element | None:
    """An empty href: attachments are on this server, whichever host the client reached."""
    if not _home_or_calendar(res):
        return None
    return element(names.MANAGED_ATTACHMENTS_SERVER_URL, children=[element(names.HREF)])


def _attachment_limit(name: str, limit: Callable[[Config], int]) -> None:
    """A limit as a property of homes and calendars; absent when 0 (no limit)."""
    @live(name, (HomeResource,))
    async def getter(ctx: Context, res: Resource) -> etree._Element | None:
        value = limit(ctx.config)
        return element(name, str(value)) if value and _home_or_calendar(res) else None


_attachment_limit(names.MAX_ATTACHMENT_SIZE, lambda c: c.MaximumAttachmentSize)
_attachment_limit(names.MAX_ATTACHMENTS_PER_RESOURCE, lambda c: c.MaximumAttachmentsPerInstance)


# -- calendar object resources ---------------------------------------------------------

def _object(res: Resource) -> ObjectResource | None:
    return res if isinstance(res, ObjectResource) else None


def _etag_text(etag: str) -> str:
    return f'<D:getetag>"{escape(etag)}"</D:getetag>'


@live(names.GETETAG, (ObjectResource,), allprop=True, member=Member("etag", _etag_text))
async def getetag(ctx: Context, res: Resource) -> etree._Element | None:
    obj = _object(res)
    return element(names.GETETAG, f'"{obj.the_object.etag}"') if obj else None


@functools.cache
def _content_type_text(component_type: str) -> str:
    return text_element(names.GETCONTENTTYPE, content_type(component_type))


@live(names.GETCONTENTTYPE, (ObjectResource,), allprop=True,
      member=Member("component_type", _content_type_text))
async def getcontenttype(ctx: Context, res: Resource) -> etree._Element | None:
    obj = _object(res)
    if obj is None:
        return None
    return element(names.GETCONTENTTYPE, content_type(obj.the_object.component_type))


def content_type(component_type: str) -> str:
    return f"text/calendar; charset=utf-8; component={component_type.lower()}"


@live(names.GETCONTENTLENGTH, (ObjectResource,), allprop=True,
      member=Member("size", lambda size: f"<D:getcontentlength>{size:d}</D:getcontentlength>"))
async def getcontentlength(ctx: Context, res: Resource) -> etree._Element | None:
    obj = _object(res)
    return element(names.GETCONTENTLENGTH, str(obj.the_object.size)) if obj else None


def _dates(res: Resource) -> tuple[datetime, datetime] | None:
    """(created, modified) of a calendar object or calendar."""
    if isinstance(res, ObjectResource):
        return res.the_object.created, res.the_object.modified
    if isinstance(res, CalendarResource):
        return res.the_calendar.created, res.the_calendar.modified
    return None


def _modified(res: Resource) -> str | None:
    dates = _dates(res)
    return http_date(dates[1]) if dates else None


def _created(res: Resource) -> str | None:
    dates = _dates(res)
    return iso8601(dates[0]) if dates else None


def _dated(name: str, value: Callable[[Resource], str | None]) -> None:
    """Register a date property of homes and what is in them, in both forms."""

    def text(ctx: Context, res: Resource) -> str | None:
        written = value(res)
        return text_element(name, written) if written else None

    async def get(ctx: Context, res: Resource) -> etree._Element | None:
        written = value(res)
        return element(name, written) if written else None

    live(name, (HomeResource,), allprop=True, text=text)(get)


_dated(names.GETLASTMODIFIED, _modified)
_dated(names.CREATIONDATE, _created)


@live(names.GETETAG, (PlainItem,), allprop=True)
async def plain_etag(ctx: Context, res: Resource) -> etree._Element | None:
    assert isinstance(res, PlainItem)
    item = res.the_item
    return None if item.is_collection else element(names.GETETAG, f'"{item.etag}"')


@live(names.GETCONTENTTYPE, (PlainItem,), allprop=True)
async def plain_content_type(ctx: Context, res: Resource) -> etree._Element | None:
    assert isinstance(res, PlainItem)
    item = res.the_item
    return None if item.is_collection else element(
        names.GETCONTENTTYPE, item.content_type or "application/octet-stream")


@live(names.GETCONTENTLENGTH, (PlainItem,), allprop=True)
async def plain_length(ctx: Context, res: Resource) -> etree._Element | None:
    assert isinstance(res, PlainItem)
    item = res.the_item
    return None if item.is_collection else element(names.GETCONTENTLENGTH, str(item.size))


@live(names.GETLASTMODIFIED, (PlainItem,), allprop=True)
async def plain_modified(ctx: Context, res: Resource) -> etree._Element | None:
    assert isinstance(res, PlainItem)
    return element(names.GETLASTMODIFIED, http_date(res.the_item.modified))


@live(names.CREATIONDATE, (PlainItem,), allprop=True)
async def plain_created(ctx: Context, res: Resource) -> etree._Element | None:
    assert isinstance(res, PlainItem)
    return element(names.CREATIONDATE, iso8601(res.the_item.created))


# calendar-data's fragment for an object's data (calendar-query answers write it per row).
calendar_data_text = text_writer(names.CALENDAR_DATA)


def _calendar_data_text(ctx: Context, res: Resource) -> str | None:
    obj = res.object if isinstance(res, ObjectResource) else None
    if obj is None or obj.icalendar is None:
        return None
    return calendar_data_text(obj.icalendar)


@live(names.CALENDAR_DATA, (ObjectResource,), needs_data=True, text=_calendar_data_text)
async def calendar_data(ctx: Context, res: Resource) -> etree._Element | None:
    """RFC 4791 §9.6 (the whole object; REPORTs apply the request's selection)."""
    obj = _object(res)
    if obj is None or obj.the_object.icalendar is None:
        return None
    return element(names.CALENDAR_DATA, obj.the_object.icalendar)

