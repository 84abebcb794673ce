"""The URL space, and turning a request path into a resource.

    /                                        root
    /.well-known/caldav                      redirects to / (RFC 6764 §5)
    /principals/                             principal collections
    /principals/{users,groups,locations,resources}/<short-name>/
    /principals/__uids__/<uid>/              a principal (its principal-URL)
    /principals/__uids__/<uid>/calendar-proxy-{read,write}/   its delegates, as a group
    /calendars/__uids__/<uid>/               calendar home (created on first access)
    /calendars/users/<short-name>/           the same home, by short name
    /calendars/__uids__/<uid>/<calendar>/    a calendar collection
    /calendars/__uids__/<uid>/inbox/         its scheduling inbox (RFC 6638 §2.2)
    /calendars/__uids__/<uid>/outbox/        its scheduling outbox (RFC 6638 §2.1)
    /calendars/__uids__/<uid>/<calendar>/<name>   a calendar object resource
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from caldavd.dav.errors import Forbidden
from caldavd.dav.hrefs import check_new_name
from caldavd.directory import Record, RecordType
from caldavd.directory import paths as _paths
from caldavd.store import Calendar, CalendarObject, Home, NewCalendar, PlainResource

if TYPE_CHECKING:
    from caldavd.http.context import Context

# The URL space of principals is the directory's (the handlers find it here too).
PRINCIPALS = _paths.PRINCIPALS
UIDS = _paths.UIDS
TYPE_SEGMENTS = _paths.TYPE_SEGMENTS
SEGMENT_OF_TYPE = _paths.SEGMENT_OF_TYPE
principal_path = _paths.principal_path
principal_alternate_paths = _paths.principal_alternate_paths
uid_principal_path = _paths.uid_principal_path
CALENDARS = "/calendars/"

# Made in every new home (Apple clients expect one component type per calendar).
DEFAULT_CALENDARS = (
    NewCalendar("calendar", frozenset({"VEVENT"})),
    NewCalendar("tasks", frozenset({"VTODO"})),
)
DEFAULT_NAMES = {"calendar": "Calendar", "tasks": "Tasks"}


def home_path(record: Record) -> str:
    return f"{CALENDARS}{UIDS}/{record.uid}/"


T = TypeVar("T")


def _resolved(value: T | None, name: str) -> T:
    """A resource's ``name``, which the kind of resource always has once resolved."""
    if value is None:
        raise RuntimeError(f"self.{name} is not set")
    return value
def inbox_path(record: Record) -> str:
    """The record's schedule-inbox-URL (RFC 6638 §2.2.1)."""
    return home_path(record) + "inbox/"


def outbox_path(record: Record) -> str:
    """The record's schedule-outbox-URL (RFC 6638 §2.1.1)."""
    return home_path(record) + "outbox/"


@dataclass
class Resource:
    """Something at a path.  ``path`` is decoded; collections end with '/'."""

    path: str
    is_collection: bool = field(default=True, init=False)

    @property
    def exists(self) -> bool:
        return True

    @property
    def resource_id(self) -> int | None:
        """The store id carrying dead properties, if any."""
        return None

    @property
    def owner(self) -> Record | None:
        return None


@dataclass
class Root(Resource):
    pass


@dataclass
class PrincipalCollection(Resource):
    """/principals/ and /principals/<type>/ (members are not listed)."""

    record_type: RecordType | None = None


@dataclass
class Principal(Resource):
    record: Record | None = None

    @property
    def principal(self) -> Record:
        return _resolved(self.record, "record")

    @property
    def owner(self) -> Record | None:
        return self.record


PROXY_GROUPS = {"calendar-proxy-read": False, "calendar-proxy-write": True}


def proxy_group_path(delegator_uid: str, write: bool) -> str:
    return f"{uid_principal_path(delegator_uid)}calendar-proxy-{'write' if write else 'read'}/"


@dataclass
class ProxyGroup(Resource):
    """The read or write delegates of ``record``, as a group principal (its members are
    ``group-member-set``, which the delegator sets with PROPPATCH)."""

    record: Record | None = None
    write: bool = False

    @property
    def delegator(self) -> Record:
        return _resolved(self.record, "record")

    @property
    def owner(self) -> Record | None:
        return self.record


@dataclass
class HomeCollection(Resource):
    """/calendars/ and /calendars/<type>/."""


@dataclass
class HomeResource(Resource):
    record: Record | None = None
    home: Home | None = None

    @property
    def owner(self) -> Record | None:
        return self.record

    @property
    def resource_id(self) -> int | None:
        return self.home.id if self.home else None

    @property
    def the_home(self) -> Home:
        return _resolved(self.home, "home")


@dataclass
class CalendarResource(HomeResource):
    calendar: Calendar | None = None

    @property
    def resource_id(self) -> int | None:
        return self.calendar.id if self.calendar else None

    @property
    def the_calendar(self) -> Calendar:
        return _resolved(self.calendar, "calendar")


@dataclass
class ScheduleCollection(CalendarResource):
    """A home's scheduling inbox or outbox (RFC 6638 §2): a collection of the home's, but
    no calendar collection (its ``calendar`` is of kind 'inbox' or 'outbox')."""


@dataclass
class InboxResource(ScheduleCollection):
    """The scheduling inbox: its members are the messages the server delivered, which
    the owner reads and deletes (RFC 6638 §2.2)."""


@dataclass
class OutboxResource(ScheduleCollection):
    """The scheduling outbox: holds nothing; POST asks it for free-busy (RFC 6638 §2.1)."""


_COLLECTION_CLASSES: dict[str, type[CalendarResource]] = {
    "calendar": CalendarResource, "inbox": InboxResource, "outbox": OutboxResource}


def collection_resource(path: str, record: Record | None, home: Home | None,
                        calendar: Calendar) -> CalendarResource:
    """The resource of a collection bound in a home, by its kind."""
    return _COLLECTION_CLASSES[calendar.kind](path, record=record, home=home,
                                              calendar=calendar)


def check_client_writable(calendar: CalendarResource) -> None:
    """A client may put calendar objects into calendars only: the inbox takes what the
    server delivers, the outbox holds nothing (Forbidden)."""
    if isinstance(calendar, InboxResource):
        raise Forbidden("only the server delivers into a scheduling inbox (RFC 6638 §2.2)")
    if isinstance(calendar, OutboxResource):
        raise Forbidden("a scheduling outbox holds no resources; POST free-busy requests "
                        "to it (RFC 6638 §2.1)")


@dataclass
class ObjectResource(CalendarResource):
    object: CalendarObject | None = None

    def __post_init__(self) -> None:
        self.is_collection = False

    @property
    def resource_id(self) -> int | None:
        return self.object.id if self.object else None

    @property
    def the_object(self) -> CalendarObject:
        return _resolved(self.object, "object")


@dataclass
class PlainItem(HomeResource):
    """A plain WebDAV file or folder kept in a home (not calendar data)."""

    item: PlainResource | None = None

    def __post_init__(self) -> None:
        self.is_collection = self.the_item.is_collection

    @property
    def the_item(self) -> PlainResource:
        return _resolved(self.item, "item")

    @property
    def resource_id(self) -> int | None:
        return self.the_item.id


@dataclass
class Missing(Resource):
    """Nothing here yet; ``parent`` is what would contain it (PUT, MKCALENDAR, MKCOL)."""

    parent: Resource | None = None
    name: str = ""

    @property
    def exists(self) -> bool:
        return False

    @property
    def owner(self) -> Record | None:
        return self.parent.owner if self.parent else None


async def _plain(ctx: Context, path: str, base: str, home: HomeResource,
                 parts: list[str]) -> Resource:
    """Plain files and folders: the item itself, or Missing under its folder."""
    item = await ctx.store.plain(home.the_home, "/".join(parts), with_content=True)
    if item is not None:
        suffix = "/" if item.is_collection else ""
        return PlainItem(base + "/".join(parts) + suffix, record=home.record, home=home.home,
                         item=item)
    parent: Resource | None = home
    if len(parts) > 1:
        folder = await ctx.store.plain(home.the_home, "/".join(parts[:-1]))
        parent = None
        if folder is not None and folder.is_collection:
            parent = PlainItem(base + "/".join(parts[:-1]) + "/", record=home.record,
                               home=home.home, item=folder)
    return Missing(path, parent=parent, name=parts[-1])


def check_creatable(resource: Resource) -> None:
    """A resource about to be made here (or renamed to here) needs a name that
    ``hrefs.check_new_name`` accepts; one that exists is not made anew."""
    if isinstance(resource, Missing):
        check_new_name(resource.name)


def object_slot(resource: Resource) -> tuple[CalendarResource, str] | None:
    """(calendar, name) when ``resource`` is or would be a calendar object resource."""
    if isinstance(resource, ObjectResource):
        return resource, resource.the_object.name
    if isinstance(resource, Missing) and isinstance(resource.parent, CalendarResource) \
            and not isinstance(resource.parent, ObjectResource):
        return resource.parent, resource.name
    return None


def home_relative(resource: Resource, home: HomeResource) -> str:
    """The path of ``resource`` inside ``home``, without slashes at either end."""
    return resource.path[len(home.path):].strip("/")


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


async def resolve(ctx: Context, path: str) -> Resource:
    """The resource at ``path``; a NotFound-raising lookup would hide Missing targets."""
    parts = _segments(path)
    if not parts:
        return Root("/")
    if parts[0] == "principals":
        return await _principal(ctx, path, parts[1:])
    if parts[0] == "calendars":
        return await _calendars(ctx, path, parts[1:])
    return Missing(path, parent=None, name=parts[-1])


async def record_at(ctx: Context, kind: str, key: str) -> Record | None:
    if kind == UIDS:
        return await ctx.directory.record_by_uid(key)
    record_type = TYPE_SEGMENTS.get(kind)
    if record_type is None:
        return None
    return await ctx.directory.record_by_short_name(record_type, key)


async def _principal(ctx: Context, path: str, parts: list[str]) -> Resource:
    if not parts:
        return PrincipalCollection(PRINCIPALS)
    if len(parts) == 1 and (parts[0] in TYPE_SEGMENTS or parts[0] == UIDS):
        return PrincipalCollection(f"{PRINCIPALS}{parts[0]}/", TYPE_SEGMENTS.get(parts[0]))
    record = await record_at(ctx, parts[0], parts[1]) if len(parts) >= 2 else None
    if record is not None and len(parts) == 3 and parts[2] in PROXY_GROUPS \
            and record.enabled_for_calendaring:
        return ProxyGroup(_collection_path(path), record=record, write=PROXY_GROUPS[parts[2]])
    if record is None or len(parts) > 2:
        return Missing(path, parent=None, name=parts[-1])
    return Principal(_collection_path(path), record=record)


def _collection_path(path: str) -> str:
    return path if path.endswith("/") else path + "/"


async def _calendars(ctx: Context, path: str, parts: list[str]) -> Resource:
    if not parts:
        return HomeCollection(CALENDARS)
    if len(parts) == 1 and (parts[0] in TYPE_SEGMENTS or parts[0] == UIDS):
        return HomeCollection(f"{CALENDARS}{parts[0]}/")
    record = await record_at(ctx, parts[0], parts[1]) if len(parts) >= 2 else None
    if record is None or not record.enabled_for_calendaring:
        return Missing(path, parent=None, name=parts[-1])
    base = f"{CALENDARS}{parts[0]}/{parts[1]}/"
    if len(parts) == 2:
        return HomeResource(base, record=record, home=await ctx.home_of(record))
    return await _in_home(ctx, path, base, record, parts[2:])


async def _in_home(ctx: Context, path: str, base: str, record: Record,
                   parts: list[str]) -> Resource:
    """One store round trip for home, calendar and object (the hot path of every GET/PUT)."""
    object_name = parts[1] if len(parts) == 2 else None
    home, calendar, obj = await ctx.store.locate(record.uid, parts[0], object_name)
    if home is None:
        home = await ctx.home_of(record)
        home, calendar, obj = await ctx.store.locate(record.uid, parts[0], object_name)
        if home is None:
            raise RuntimeError("home is not set")
    home_resource = HomeResource(base, record=record, home=home)
    if calendar is None:
        return await _plain(ctx, path, base, home_resource, parts)
    cal_path = f"{base}{parts[0]}/"
    calendar_resource = collection_resource(cal_path, record, home, calendar)
    if len(parts) == 1:
        return calendar_resource
    if len(parts) > 2:
        return Missing(path, parent=None, name=parts[-1])
    if obj is None:
        return Missing(path, parent=calendar_resource, name=parts[1])
    return ObjectResource(f"{cal_path}{parts[1]}", record=record, home=home, calendar=calendar,
                          object=obj)
