"""Live properties, one small getter each, exported by name and resource type
(``PROPERTIES``); the hot ones defined once each in ``propforms``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime

from lxml import etree

from caldavd.caldav.components import CALENDAR_COMPONENTS
from caldavd.caldav.limits import MAX_DATE_TIME, MIN_DATE_TIME
from caldavd.config import Config
from caldavd.dav import names
from caldavd.dav.dates import http_date, iso8601
from caldavd.dav.fragments import empty_element, text_writer
from caldavd.dav.hrefs import quote_path
from caldavd.dav.xml import element
from caldavd.directory import Record
from caldavd.http import acl
from caldavd.http.context import Context
from caldavd.http.propforms import Column, listed, valued
from caldavd.http.registry import ABSENT, LiveProperty, Member
from caldavd.http.resources import (
    PRINCIPALS,
    CalendarResource,
    HomeCollection,
    HomeResource,
    InboxResource,
    ObjectResource,
    OutboxResource,
    PlainItem,
    Principal,
    PrincipalCollection,
    ProxyGroup,
    Resource,
    Root,
    ScheduleCollection,
    home_path,
    inbox_path,
    outbox_path,
    principal_alternate_paths,
    principal_path,
    proxy_group_path,
    uid_principal_path,
)
from caldavd.http.scheduletag import quoted
from caldavd.http.tokens import ctag, sync_token_for_calendar, sync_token_for_home
from caldavd.scheduling.addresses import addresses_of
from caldavd.store import Home

ANY = (Resource,)
COLLECTIONS = (Root, PrincipalCollection, HomeCollection)
IN_HOME = (HomeResource,)
CALENDARS = (CalendarResource,)


def href(path: str) -> etree._Element:
    return element(names.HREF, quote_path(path))


def hrefs(tag: str, paths: list[str], addresses: tuple[str, ...] = ()) -> etree._Element:
    children = [element(names.HREF, a) for a in addresses] + [href(p) for p in paths]
    return element(tag, children=children)


def _caldav_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


# -- every resource ----------------------------------------------------------------

# The kinds follow from the class, is_collection and a proxy group's kind alone.
KindKey = tuple[type[Resource], bool, bool]


def _kind_key(res: Resource) -> KindKey:
    return type(res), res.is_collection, isinstance(res, ProxyGroup) and res.write


def _kinds(key: KindKey) -> tuple[str, ...]:
    cls, is_collection, write = key
    kinds: list[str] = []
    if is_collection:
        kinds.append(names.COLLECTION)
    if issubclass(cls, Principal | ProxyGroup):
        kinds.append(names.PRINCIPAL)
    if issubclass(cls, ProxyGroup):
        kinds.append(names.CALENDAR_PROXY_WRITE if write else names.CALENDAR_PROXY_READ)
    if issubclass(cls, InboxResource):
        kinds.append(names.SCHEDULE_INBOX)
    elif issubclass(cls, OutboxResource):
        kinds.append(names.SCHEDULE_OUTBOX)
    elif issubclass(cls, CalendarResource) and not issubclass(cls, ObjectResource):
        kinds.append(names.CALENDAR)
    return tuple(kinds)


@functools.cache
def _resourcetype_fragment(key: KindKey) -> str:
    kinds = "".join(empty_element(kind) for kind in _kinds(key))
    return f"<D:resourcetype>{kinds}</D:resourcetype>" if kinds else "<D:resourcetype/>"


def _resourcetype_text(ctx: Context, res: Resource) -> str:
    return _resourcetype_fragment(_kind_key(res))


async def resourcetype(ctx: Context, res: Resource) -> etree._Element | None:
    return element(names.RESOURCETYPE,
                   children=[element(kind) for kind in _kinds(_kind_key(res))])


_OBJECT_TYPE = _resourcetype_fragment((ObjectResource, False, False))
# Calendar objects (listing rows) are of no kind; ``Member`` needs a field, any will do.
RESOURCETYPE = LiveProperty(names.RESOURCETYPE, ANY, resourcetype, allprop=True,
                            text=_resourcetype_text, member=Member("name", lambda _: _OBJECT_TYPE))


async def current_user_principal(ctx: Context, res: Resource) -> etree._Element | None:
    """RFC 5397 §3."""
    return element(names.CURRENT_USER_PRINCIPAL, children=[href(principal_path(ctx.principal))])


async def principal_collection_set(ctx: Context, res: Resource) -> etree._Element | None:
    return element(names.PRINCIPAL_COLLECTION_SET, children=[href(PRINCIPALS)])


async def current_user_privilege_set(ctx: Context, res: Resource) -> etree._Element | None:
    return acl.privilege_set_element(names.CURRENT_USER_PRIVILEGE_SET,
                                     await acl.privileges(ctx, res))


async def supported_privilege_set(ctx: Context, res: Resource) -> etree._Element | None:
    return acl.supported_privilege_set(res)


async def owner(ctx: Context, res: Resource) -> etree._Element | None:
    who = res.owner
    return element(names.OWNER, children=[href(principal_path(who))] if who else [])


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


async def supported_report_set(ctx: Context, res: Resource) -> etree._Element | None:
    """RFC 3253 §3.1.5, from the report registry."""
    return element(names.SUPPORTED_REPORT_SET, children=[
        element(names.SUPPORTED_REPORT, children=[element(names.REPORT, children=[
            element(name)])]) for name in ctx.registry.reports_for(res)])


# -- principals (RFC 3744 §4, RFC 4791 §6, RFC 6638 §2.4) ----------------------------

def _record(res: Resource) -> Record:
    if not isinstance(res, Principal):
        raise TypeError("not Principal: res")
    return res.principal


async def principal_displayname(ctx: Context, res: Resource) -> etree._Element | None:
    return element(names.DISPLAYNAME, _record(res).full_name)


async def principal_url(ctx: Context, res: Resource) -> etree._Element | None:
    return element(names.PRINCIPAL_URL, children=[href(principal_path(_record(res)))])


async def alternate_uri_set(ctx: Context, res: Resource) -> etree._Element | None:
    record = _record(res)
    return hrefs(names.ALTERNATE_URI_SET, principal_alternate_paths(record),
                 record.calendar_user_addresses)


async def group_member_set(ctx: Context, res: Resource) -> etree._Element | None:
    members = await ctx.directory.members_of(_record(res).uid)
    return hrefs(names.GROUP_MEMBER_SET, [principal_path(m) for m in members])


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


async def calendar_home_set(ctx: Context, res: Resource) -> etree._Element | None:
    record = _record(res)
    paths = [home_path(record)] if record.enabled_for_calendaring else []
    return hrefs(names.CALENDAR_HOME_SET, paths)


async def calendar_user_address_set(ctx: Context, res: Resource) -> etree._Element | None:
    """RFC 6638 §2.4.1: every address the record is known by (``addresses_of``)."""
    return element(names.CALENDAR_USER_ADDRESS_SET, children=[
        href(a) if a.startswith("/") else element(names.HREF, a)
        for a in addresses_of(_record(res))])


async def schedule_inbox_url(ctx: Context, res: Resource) -> etree._Element | None:
    """RFC 6638 §2.2.1; only a record that has a home has an inbox."""
    record = _record(res)
    if not record.enabled_for_calendaring:
        return None
    return element(names.SCHEDULE_INBOX_URL, children=[href(inbox_path(record))])


async def schedule_outbox_url(ctx: Context, res: Resource) -> etree._Element | None:
    """RFC 6638 §2.1.1."""
    record = _record(res)
    if not record.enabled_for_calendaring:
        return None
    return element(names.SCHEDULE_OUTBOX_URL, children=[href(outbox_path(record))])


async def calendar_user_type(ctx: Context, res: Resource) -> etree._Element | None:
    return element(names.CALENDAR_USER_TYPE, _record(res).calendar_user_type)


async def email_address_set(ctx: Context, res: Resource) -> etree._Element | None:
    return element(names.EMAIL_ADDRESS_SET,
                   children=[element(names.HREF, e) for e in _record(res).emails])


async def record_type(ctx: Context, res: Resource) -> etree._Element | None:
    return element(names.RECORD_TYPE, _record(res).record_type + "s")


# -- homes and calendars ------------------------------------------------------------

def _calendar_only(res: Resource) -> CalendarResource | None:
    """A calendar collection: not an object, nor the inbox or outbox (which make no
    claims about components, sizes or dates)."""
    if isinstance(res, CalendarResource) and not isinstance(
            res, ObjectResource | ScheduleCollection):
        return res
    return None


def _collection_only(res: Resource) -> CalendarResource | None:
    """A calendar, inbox or outbox: what has its own revisions (sync token, CTag)."""
    if isinstance(res, CalendarResource) and not isinstance(res, ObjectResource):
        return res
    return None


def _home_only(res: Resource) -> Home | None:
    """The home of a home or plain file (whose tokens are the home's), not of a calendar
    or a calendar object."""
    if isinstance(res, CalendarResource) or not isinstance(res, HomeResource):
        return None
    return res.home


def _calendar_sync_token(ctx: Context, res: Resource) -> str | None:
    calendar = _collection_only(res)
    return None if calendar is None else sync_token_for_calendar(calendar.the_calendar)


async def _home_sync_token(ctx: Context, res: Resource) -> str | None:
    home = _home_only(res)
    return None if home is None else sync_token_for_home(
        home, await ctx.store.home_revision(home))


def _calendar_ctag(ctx: Context, res: Resource) -> str | None:
    calendar = _collection_only(res)
    return None if calendar is None else ctag(calendar.the_calendar.id,
                                              calendar.the_calendar.revision)


async def _home_ctag(ctx: Context, res: Resource) -> str | None:
    home = _home_only(res)
    return None if home is None else ctag(home.id, await ctx.store.home_revision(home))


# RFC 6578 §4; a home's need its revision from the store (only calendars' have a text form).
SYNC_TOKEN = valued(names.SYNC_TOKEN, IN_HOME, _calendar_sync_token, later=_home_sync_token,
                    member=ABSENT)
GETCTAG = valued(names.GETCTAG, IN_HOME, _calendar_ctag, later=_home_ctag, member=ABSENT)


async def quota_used(ctx: Context, res: Resource) -> etree._Element | None:
    """RFC 4331 §4: the home's usage, shown on the home and its calendars."""
    if isinstance(res, ObjectResource) or not isinstance(res, HomeResource) or not res.home:
        return None
    return element(names.QUOTA_USED_BYTES, str(await ctx.store.home_usage(res.home)))


async def quota_available(ctx: Context, res: Resource) -> etree._Element | None:
    quota = ctx.config.UserQuota
    if quota == 0 or isinstance(res, ObjectResource) or not isinstance(res, HomeResource) \
            or not res.home:
        return None
    used = await ctx.store.home_usage(res.home)
    return element(names.QUOTA_AVAILABLE_BYTES, str(max(0, quota - used)))


async def supported_components(ctx: Context, res: Resource) -> etree._Element | None:
    calendar = _calendar_only(res)
    if calendar is None:
        return None
    types = calendar.the_calendar.supported_components or CALENDAR_COMPONENTS
    return element(names.SUPPORTED_CALENDAR_COMPONENT_SET, children=[
        element(names.COMP, attrib={"name": t}) for t in sorted(types)])


async def supported_calendar_data(ctx: Context, res: Resource) -> etree._Element | None:
    if _calendar_only(res) is None:
        return None
    return element(names.SUPPORTED_CALENDAR_DATA, children=[element(
        names.CALENDAR_DATA, attrib={"content-type": "text/calendar", "version": "2.0"})])


async def max_resource_size(ctx: Context, res: Resource) -> etree._Element | None:
    if _calendar_only(res) is None:
        return None
    return element(names.MAX_RESOURCE_SIZE, str(ctx.config.MaxResourceSize))


async def min_date_time(ctx: Context, res: Resource) -> etree._Element | None:
    if _calendar_only(res) is None:
        return None
    return element(names.MIN_DATE_TIME, _caldav_time(MIN_DATE_TIME))


async def max_date_time(ctx: Context, res: Resource) -> etree._Element | None:
    if _calendar_only(res) is None:
        return None
    return element(names.MAX_DATE_TIME, _caldav_time(MAX_DATE_TIME))


async def max_instances(ctx: Context, res: Resource) -> etree._Element | None:
    if _calendar_only(res) is None:
        return None
    return element(names.MAX_INSTANCES, str(ctx.config.MaxAllowedInstances))


async def max_attendees(ctx: Context, res: Resource) -> etree._Element | None:
    if _calendar_only(res) is None:
        return None
    return element(names.MAX_ATTENDEES_PER_INSTANCE, str(ctx.config.MaxAttendeesPerInstance))


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


async def managed_attachments_server_url(ctx: Context, res: Resource) -> etree._Element | None:
    """An empty href: attachments are on this server, whichever host the client reached."""
    if not _home_or_calendar(res):
        return None
    return element(names.MANAGED_ATTACHMENTS_SERVER_URL, children=[element(names.HREF)])


def _attachment_limit(name: str, limit: Callable[[Config], int]) -> LiveProperty:
    """A limit as a property of homes and calendars; absent when 0 (no limit)."""
    async def getter(ctx: Context, res: Resource) -> etree._Element | None:
        value = limit(ctx.config)
        return element(name, str(value)) if value and _home_or_calendar(res) else None
    return LiveProperty(name, IN_HOME, getter)


# -- calendar object resources ---------------------------------------------------------

def content_type(component_type: str) -> str:
    return f"text/calendar; charset=utf-8; component={component_type.lower()}"


GETETAG = listed(names.GETETAG, Column("etag", before='"', after='"'), allprop=True)
GETCONTENTTYPE = listed(names.GETCONTENTTYPE, Column("component_type", convert=content_type),
                        allprop=True)
GETCONTENTLENGTH = listed(names.GETCONTENTLENGTH, Column("size", safe=True), allprop=True)


def _dates(res: Resource) -> tuple[datetime, datetime] | None:
    """(created, modified) of a calendar object or calendar."""
    if isinstance(res, ObjectResource):
        return res.the_object.created, res.the_object.modified
    if isinstance(res, CalendarResource):
        return res.the_calendar.created, res.the_calendar.modified
    return None


def _modified(ctx: Context, res: Resource) -> str | None:
    dates = _dates(res)
    return http_date(dates[1]) if dates else None


def _created(ctx: Context, res: Resource) -> str | None:
    dates = _dates(res)
    return iso8601(dates[0]) if dates else None


GETLASTMODIFIED = valued(names.GETLASTMODIFIED, IN_HOME, _modified, allprop=True)
CREATIONDATE = valued(names.CREATIONDATE, IN_HOME, _created, allprop=True)


async def plain_etag(ctx: Context, res: Resource) -> etree._Element | None:
    if not isinstance(res, PlainItem):
        raise TypeError("not PlainItem: res")
    item = res.the_item
    return None if item.is_collection else element(names.GETETAG, f'"{item.etag}"')


async def plain_content_type(ctx: Context, res: Resource) -> etree._Element | None:
    if not isinstance(res, PlainItem):
        raise TypeError("not PlainItem: res")
    item = res.the_item
    return None if item.is_collection else element(
        names.GETCONTENTTYPE, item.content_type or "application/octet-stream")


async def plain_length(ctx: Context, res: Resource) -> etree._Element | None:
    if not isinstance(res, PlainItem):
        raise TypeError("not PlainItem: res")
    item = res.the_item
    return None if item.is_collection else element(names.GETCONTENTLENGTH, str(item.size))


async def plain_modified(ctx: Context, res: Resource) -> etree._Element | None:
    if not isinstance(res, PlainItem):
        raise TypeError("not PlainItem: res")
    return element(names.GETLASTMODIFIED, http_date(res.the_item.modified))


async def plain_created(ctx: Context, res: Resource) -> etree._Element | None:
    if not isinstance(res, PlainItem):
        raise TypeError("not PlainItem: res")
    return element(names.CREATIONDATE, iso8601(res.the_item.created))


# calendar-data's fragment for an object's data (calendar-query answers write it per row).
calendar_data_text = text_writer(names.CALENDAR_DATA)


def _data(ctx: Context, res: Resource) -> str | None:
    """RFC 4791 §9.6 (the whole object; REPORTs apply the request's selection)."""
    obj = res.object if isinstance(res, ObjectResource) else None
    return None if obj is None else obj.icalendar


CALENDAR_DATA = valued(names.CALENDAR_DATA, (ObjectResource,), _data, needs_data=True)


def _schedule_tag(ctx: Context, res: Resource) -> str | None:
    """RFC 6638 §9.3: a scheduling object resource's Schedule-Tag, quoted as in the
    header (§8.2); other objects have none (404)."""
    obj = res.object if isinstance(res, ObjectResource) else None
    return None if obj is None or obj.schedule_tag is None else quoted(obj.schedule_tag)


# Not from a listing column (member None): a listing that asks for it reads the objects,
# whose tag is there, and answers 404 for those without one.  Not in allprop.
SCHEDULE_TAG = valued(names.SCHEDULE_TAG, (ObjectResource,), _schedule_tag)



# In this order in allprop and propname answers.
PROPERTIES = (
    RESOURCETYPE,
    LiveProperty(names.CURRENT_USER_PRINCIPAL, ANY, current_user_principal),
    LiveProperty(names.PRINCIPAL_COLLECTION_SET, ANY, principal_collection_set),
    LiveProperty(names.CURRENT_USER_PRIVILEGE_SET, ANY, current_user_privilege_set,
                 privilege=names.READ_CURRENT_USER_PRIVILEGE_SET),
    LiveProperty(names.SUPPORTED_PRIVILEGE_SET, ANY, supported_privilege_set),
    LiveProperty(names.OWNER, ANY, owner),
    LiveProperty(names.ACL, ANY, acl_property, privilege=names.READ_ACL),
    LiveProperty(names.SUPPORTED_REPORT_SET, ANY, supported_report_set),
    LiveProperty(names.DISPLAYNAME, (Principal,), principal_displayname, allprop=True),
    LiveProperty(names.PRINCIPAL_URL, (Principal,), principal_url),
    LiveProperty(names.ALTERNATE_URI_SET, (Principal,), alternate_uri_set),
    LiveProperty(names.GROUP_MEMBER_SET, (Principal,), group_member_set),
    LiveProperty(names.GROUP_MEMBERSHIP, (Principal,), group_membership),
    LiveProperty(names.CALENDAR_HOME_SET, (Principal,), calendar_home_set),
    LiveProperty(names.CALENDAR_USER_ADDRESS_SET, (Principal,), calendar_user_address_set),
    LiveProperty(names.CALENDAR_USER_TYPE, (Principal,), calendar_user_type),
    LiveProperty(names.SCHEDULE_INBOX_URL, (Principal,), schedule_inbox_url),
    LiveProperty(names.SCHEDULE_OUTBOX_URL, (Principal,), schedule_outbox_url),
    LiveProperty(names.EMAIL_ADDRESS_SET, (Principal,), email_address_set),
    LiveProperty(names.RECORD_TYPE, (Principal,), record_type),
    SYNC_TOKEN,
    GETCTAG,
    LiveProperty(names.QUOTA_USED_BYTES, IN_HOME, quota_used),
    LiveProperty(names.QUOTA_AVAILABLE_BYTES, IN_HOME, quota_available),
    LiveProperty(names.SUPPORTED_CALENDAR_COMPONENT_SET, CALENDARS, supported_components),
    LiveProperty(names.SUPPORTED_CALENDAR_DATA, CALENDARS, supported_calendar_data),
    LiveProperty(names.MAX_RESOURCE_SIZE, CALENDARS, max_resource_size),
    LiveProperty(names.MIN_DATE_TIME, CALENDARS, min_date_time),
    LiveProperty(names.MAX_DATE_TIME, CALENDARS, max_date_time),
    LiveProperty(names.MAX_INSTANCES, CALENDARS, max_instances),
    LiveProperty(names.MAX_ATTENDEES_PER_INSTANCE, CALENDARS, max_attendees),
    LiveProperty(names.ADD_MEMBER, CALENDARS, add_member),
    LiveProperty(names.MANAGED_ATTACHMENTS_SERVER_URL, IN_HOME, managed_attachments_server_url),
    _attachment_limit(names.MAX_ATTACHMENT_SIZE, lambda c: c.MaximumAttachmentSize),
    _attachment_limit(names.MAX_ATTACHMENTS_PER_RESOURCE,
                      lambda c: c.MaximumAttachmentsPerInstance),
    GETETAG,
    GETCONTENTTYPE,
    GETCONTENTLENGTH,
    GETLASTMODIFIED,
    CREATIONDATE,
    LiveProperty(names.GETETAG, (PlainItem,), plain_etag, allprop=True),
    LiveProperty(names.GETCONTENTTYPE, (PlainItem,), plain_content_type, allprop=True),
    LiveProperty(names.GETCONTENTLENGTH, (PlainItem,), plain_length, allprop=True),
    LiveProperty(names.GETLASTMODIFIED, (PlainItem,), plain_modified, allprop=True),
    LiveProperty(names.CREATIONDATE, (PlainItem,), plain_created, allprop=True),
    CALENDAR_DATA,
    SCHEDULE_TAG,
)
