"""What the store hands out and takes in: plain frozen values."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, TypeVar

from icalendar import Component

T = TypeVar("T")

BindMode = Literal["own", "read", "write"]
# A home's collections (migration 0015): calendars, and its scheduling inbox and outbox
# (RFC 6638 §2.2), one of each, bound as "inbox" and "outbox".
CalendarKind = Literal["calendar", "inbox", "outbox"]
SCHEDULING_KINDS: tuple[CalendarKind, ...] = ("inbox", "outbox")


@dataclass(frozen=True)
class Home:
    id: int
    owner_uid: str
    created: datetime
    # Moves with every write in the home, in the writer's transaction (migration 0008);
    # caches are valid while it stands.  Not part of the home's identity.
    change_token: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Calendar:
    """A calendar as bound in one home under ``name``."""

    id: int
    home_id: int
    owner_home_id: int
    name: str
    mode: BindMode
    supported_components: frozenset[str] | None  # None = every type
    created: datetime
    modified: datetime
    revision: int  # highest revision of the calendar (CTag and sync token derive from it)
    purged_revision: int = 0  # tombstones up to this revision are gone (older tokens invalid)
    kind: CalendarKind = "calendar"

    @property
    def takes_events(self) -> bool:
        """A calendar that may hold VEVENTs: one a scheduling delivery can land in
        (RFC 6638 §9.2, the default calendar)."""
        return self.kind == "calendar" and self.mode == "own" and (
            self.supported_components is None or "VEVENT" in self.supported_components)


@dataclass(frozen=True)
class CalendarObject:
    id: int
    calendar_id: int
    name: str
    uid: str
    component_type: str
    etag: str
    size: int
    organizer: str | None
    schedule_tag: str | None  # without quotes; None: not a scheduling object (RFC 6638)
    created: datetime
    modified: datetime
    icalendar: str | None = field(default=None, repr=False)  # None unless asked for


ListedField = Literal["name", "etag", "component_type", "size"]


@dataclass(frozen=True)
class Listing:
    """Calendar objects as a listing shows them (no dates, no data), in name order and
    column by column: a Depth 1 PROPFIND reads thousands, and a value per object would
    cost more than fetching them (and keep the garbage collector busy).  Row ``i`` is
    ``names[i]``, ``etags[i]``, ... of one object."""

    names: Sequence[str] = ()
    etags: Sequence[str] = ()
    component_types: Sequence[str] = ()
    sizes: Sequence[int] = ()

    def __len__(self) -> int:
        return len(self.names)

    def column(self, field: ListedField) -> Sequence[Any]:
        """The values of one ``CalendarObject`` field, row by row."""
        return getattr(self, _COLUMNS[field])  # type: ignore[no-any-return]

    @classmethod
    def of(cls, objects: Iterable[CalendarObject]) -> Listing:
        rows = list(objects)
        return cls([o.name for o in rows], [o.etag for o in rows],
                   [o.component_type for o in rows], [o.size for o in rows])


_COLUMNS: dict[ListedField, str] = {
    "name": "names", "etag": "etags", "component_type": "component_types", "size": "sizes"}


ScheduleRole = Literal["organizer", "attendee"]


@dataclass(frozen=True)
class ScheduleIntent:
    """What a write asks scheduling to do, queued in the write's own transaction
    (RFC 6638 §3.2): a ``schedule_work`` row with the object's data before and after."""

    role: ScheduleRole  # organizer: REQUEST/CANCEL/ADD to attendees; attendee: REPLY
    actor_uid: str  # the authenticated principal (a delegate acting for the owner)
    owner_uid: str  # the home whose object changed
    schedule_reply: bool = True  # Schedule-Reply: F -> False (RFC 6638 §8.1)


@dataclass(frozen=True)
class ObjectWrite:
    """A validated calendar object: its text and, ``parsed``, the same parsed, from which
    the store computes its time-range index (``recurring`` False: it has one instance at
    most, no RRULE, RDATE or overrides, as validation found)."""

    name: str
    uid: str
    component_type: str
    icalendar: str
    parsed: Component = field(compare=False, repr=False)  # ``icalendar`` parsed
    recurring: bool = True
    organizer: str | None = None
    # A scheduling object resource (RFC 6638 §3.1): its UID is unique in the home, not
    # only in the calendar (§3.2.4.1), and it has a Schedule-Tag (§3.2.10), which the
    # store makes: a new one for every write (what a client's PUT, COPY, MOVE or
    # attachment action stores), unless ``keep_schedule_tag``.  A non-scheduling
    # object has none.
    scheduling: bool = False
    # The object's current Schedule-Tag stays (a new one only when it has none): for a
    # server-side change that must not make the client's If-Schedule-Tag-Match fail
    # (RFC 6638 §3.2.10): a REPLY merged into the organizer's copy, a refresh that only
    # changes other attendees' PARTSTAT in an attendee's copy.
    keep_schedule_tag: bool = False
    # MANAGED-IDs of the ATTACH properties (RFC 8607): the object's links to attachments.
    managed_ids: frozenset[str] = frozenset()
    # Scheduling to queue with the write, in its transaction (None: the write schedules
    # nothing).
    schedule: ScheduleIntent | None = None


# An object whose index stops short of a query's range, as the query read it: its id,
# its ETag then and its data parsed (``QueryStore.extend_index``).
ShortIndexed = tuple[int, str, Component]


class Offload(Protocol):
    """Where the store runs CPU work a write or query gives it (expanding a recurrence
    into index rows): the caller's bounded executor, or :func:`inline`."""

    def __call__(self, work: Callable[[], T], /) -> Awaitable[T]: ...


async def inline(work: Callable[[], T]) -> T:
    """An :class:`Offload` that runs ``work`` where it is called, on the event loop."""
    return work()


@dataclass(frozen=True)
class NewAttachment:
    """A managed attachment whose file is already in place under AttachmentsRoot."""

    managed_id: str
    home_id: int
    content_type: str
    filename: str
    size: int
    digest: str
    path: str  # relative to AttachmentsRoot, made by the server from managed_id


@dataclass(frozen=True)
class Attachment(NewAttachment):
    created: datetime = field(compare=False, default=datetime.min)
    # Owners of the homes whose objects link it (and the uploader's): who may read it.
    reader_uids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class NewCalendar:
    name: str
    supported_components: frozenset[str] | None = None
    properties: dict[str, str] = field(default_factory=dict)  # Clark name -> XML text


@dataclass(frozen=True)
class PropertyLimits:
    """Bounds on a write of dead properties (0: none): how many one resource may carry and
    how many bytes (names and values), and the quota of the home they count in.  A write
    is refused only when it adds to what is over a bound, so removing always works."""

    count: int = 0
    bytes: int = 0
    quota: int = 0


NO_PROPERTY_LIMITS = PropertyLimits()


@dataclass(frozen=True)
class Change:
    name: str
    revision: int
    deleted: bool


@dataclass(frozen=True)
class BusyTime:
    """A free-busy query's candidates (``Store.busy_time``): the busy index rows (start,
    end, FBTYPE) of the objects the index decides, and the data of the others."""

    periods: Sequence[tuple[datetime, datetime, str]]
    to_expand: Sequence[str]


@dataclass(frozen=True)
class HomeBusyTime:
    """One home's part of ``QueryStore.busy_time_of_homes``: the busy index rows (start,
    end, FBTYPE) of the objects the index decides, and the data of the others, each
    with its calendar's calendar-timezone as stored (None: none), for floating times
    (RFC 4791 §7.10)."""

    periods: list[tuple[datetime, datetime, str]] = field(default_factory=list)
    to_expand: list[tuple[str, str | None]] = field(default_factory=list)


@dataclass(frozen=True)
class Matches(Listing):
    """A calendar-query prefilter's candidates (``Store.query_listing``) as a listing with
    each object's data, column by column like ``Listing``: ``exact[i]`` says the index
    alone decides row ``i``; the others carry what a recheck needs, the object's id and
    where its index stops (``indexed_until[i]``, None when complete; always None for
    exact rows, so no date is decoded for them).  ``icalendars[i]`` is None for an
    exact row fetched without data."""

    icalendars: Sequence[str | None] = ()
    exact: Sequence[bool] = ()
    ids: Sequence[int] = ()
    indexed_until: Sequence[datetime | None] = ()

    def rows(self, kept: Sequence[int]) -> Listing:
        """The listing of rows ``kept`` (indices, in order)."""
        if len(kept) == len(self):
            return self
        return Listing([self.names[i] for i in kept], [self.etags[i] for i in kept],
                       [self.component_types[i] for i in kept], [self.sizes[i] for i in kept])


@dataclass(frozen=True)
class PlainResource:
    """A plain WebDAV file or folder in a home; ``path`` relative to the home."""

    id: int
    path: str
    is_collection: bool
    content_type: str | None
    etag: str
    size: int
    created: datetime
    modified: datetime
    content: bytes | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


# -- the scheduling queue (migration 0016) ---------------------------------------------

ScheduleTable = Literal["work", "delivery"]


@dataclass(frozen=True)
class Work:
    """One row of ``schedule_work``, as claimed: a scheduling write's data before and
    after (``previous`` None: created; ``current`` None: deleted)."""

    id: int
    home_id: int
    owner_uid: str
    uid: str
    role: ScheduleRole
    actor_uid: str
    schedule_reply: bool
    previous: str | None
    current: str | None
    attempts: int
    created: datetime


@dataclass(frozen=True)
class NewDelivery:
    """A message to queue for one local recipient (``FanOut.queue``)."""

    uid: str
    recipient_uid: str  # the recipient's directory uid (its home)
    sender: str  # calendar user address of the originator
    method: str  # REQUEST | CANCEL | ADD | REPLY | REFRESH
    message: str  # the iTIP message (VCALENDAR text with METHOD)
    digest: str  # sha256 of (recipient, uid, recurrence ids, sequence, message)


@dataclass(frozen=True)
class Delivery(NewDelivery):
    """One row of ``schedule_delivery``, as claimed."""

    id: int = 0
    attempts: int = 0
    created: datetime = field(compare=False, default=datetime.min)


@dataclass(frozen=True)
class QueueStats:
    """The scheduling queue at a glance: rows waiting, and the age in seconds of the
    oldest (0.0 when none), per table; rows that failed at least once (retrying)."""

    work: int = 0
    work_oldest: float = 0.0
    work_retrying: int = 0
    deliveries: int = 0
    deliveries_oldest: float = 0.0
    deliveries_retrying: int = 0
