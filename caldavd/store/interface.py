"""The async store interface, as role protocols; ``store/postgres`` implements them all,
and the contract tests in ``tests/store`` prove any implementation.

The roles follow what callers need, not how the tables are laid out:

- ``HomeStore``: homes and the calendars bound in them, URL resolution (``locate``) and
  a home's usage: what every request resolves before it does anything else.
- ``PropertyStore``: dead properties.  Their own role because every kind of resource
  (home, calendar, object, plain file) carries them, by resource id alone.
- ``ObjectStore``: calendar objects read, written, moved and found by UID.
- ``QueryStore``: the time-range index and what is read through it (calendar-query,
  free-busy); apart from ``ObjectStore`` because it answers by time, not by name.
- ``SyncStore``: revisions and changes (RFC 6578 sync tokens, CTags).
- ``PlainStore``: plain WebDAV files and folders in a home (paths relative to it).
- ``AttachmentStore``: managed attachments (RFC 8607) as a request sees them: rows,
  and writes that link them to an object.
- ``AttachmentTrash``: the files side of attachments, for the cleanup that unlinks
  them (no request needs it).
- ``ScheduleStore``: the scheduling queue (RFC 6638 implicit scheduling): claims of
  work and deliveries, each a transaction its handle (``FanOut``, ``Deliver``) reads and
  writes objects in, retries and the queue's numbers.
- ``InboxStore``: the scheduling inbox's items as deliveries add them, and the
  default calendar deliveries create new copies in (RFC 6638 §2.2, §9.2).
- ``HealthStore``: whether the store answers at all.

``Store`` is all of them together: what the composition root builds and the HTTP
layer's app state holds.  Code that needs only one role is typed by that role.

Errors: every method may raise ``StoreUnavailable`` (its subclass ``StoreBusy`` when no
pooled connection became free in time); each method's docstring names the other
domain errors (``caldavd.store.errors``) it raises, and one that names none raises
no other.  Anything else that escapes is a bug, not part of the contract.  A write
that raises has changed nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from caldavd.store.model import (
    NO_PROPERTY_LIMITS,
    Attachment,
    BusyTime,
    Calendar,
    CalendarObject,
    Change,
    Delivery,
    Home,
    HomeBusyTime,
    Listing,
    Matches,
    NewAttachment,
    NewCalendar,
    NewDelivery,
    ObjectWrite,
    Offload,
    PlainResource,
    PropertyLimits,
    QueueStats,
    ScheduleIntent,
    ScheduleTable,
    ShortIndexed,
    Work,
    inline,
)


class HomeStore(Protocol):
    """Homes and their calendars."""

    async def home(self, owner_uid: str) -> Home | None: ...

    async def ensure_home(self, owner_uid: str,
                          defaults: Sequence[NewCalendar] = ()) -> Home:
        """The home, created with ``defaults`` on first access (atomically, once), and
        with its scheduling inbox and outbox (RFC 6638 §2.2), bound as "inbox" and
        "outbox" (collections of that kind).

        AlreadyExists only when two of ``defaults`` share a name (the caller's mistake).
        """
        ...

    async def locate(self, owner_uid: str, calendar_name: str, object_name: str | None,
                     ) -> tuple[Home | None, Calendar | None, CalendarObject | None]:
        """Home, calendar and object (with data) in one round trip, for URL resolution."""
        ...

    async def calendars(self, home: Home) -> list[Calendar]:
        """The calendars bound in the home (kind 'calendar'), by name: not its scheduling
        inbox and outbox (see ``collections``)."""
        ...

    async def collections(self, home: Home) -> list[Calendar]:
        """Everything bound in the home, by name: calendars, inbox and outbox."""
        ...

    async def calendar(self, home: Home, name: str) -> Calendar | None: ...

    async def create_calendar(self, home: Home, new: NewCalendar, *,
                              limits: PropertyLimits = NO_PROPERTY_LIMITS) -> Calendar:
        """``limits`` bound ``new.properties`` as in ``update_properties``.

        AlreadyExists when the name is taken (by a calendar or a plain resource);
        TooManyProperties or QuotaExceeded beyond ``limits``; NotFound when the home
        is gone.
        """
        ...

    async def delete_calendar(self, home: Home, name: str) -> None:
        """Delete an owned calendar with everything in it, or unbind a shared one.

        NotFound when no calendar is bound under ``name`` (or the home is gone).
        """
        ...

    async def home_usage(self, home: Home) -> int:
        """Bytes the home holds: calendar data (and attachments), dead properties and plain
        files (RFC 4331 §3)."""
        ...


class PropertyStore(Protocol):
    """Dead properties of any resource id: home, calendar, object or plain resource."""

    async def properties(self, resource_id: int) -> dict[str, str]: ...

    async def properties_for(self, resource_ids: Sequence[int]) -> dict[int, dict[str, str]]:
        """Dead properties of many resources in one query (no N+1 on Depth 1)."""
        ...

    async def update_properties(self, home: Home, calendar: Calendar | None, resource_id: int,
                                set_: Mapping[str, str], remove: Iterable[str], *,
                                limits: PropertyLimits = NO_PROPERTY_LIMITS) -> None:
        """Atomically set and remove on a resource in ``home``; a calendar's change bumps its
        revision, and any change moves the home's change token.  Their bytes count in the
        quota of the home that owns the resource.

        TooManyProperties or QuotaExceeded beyond ``limits`` (nothing changes);
        NotFound when the owning home is gone.
        """
        ...


class ObjectStore(Protocol):
    """Calendar objects by name."""

    async def objects(self, calendar: Calendar, names: Sequence[str] | None = None, *,
                      with_data: bool = False) -> list[CalendarObject]: ...

    async def listing(self, calendar: Calendar,
                      names: Sequence[str] | None = None) -> Listing:
        """``objects`` without dates or data, as columns: a fraction of the cost per object
        (a Depth 1 PROPFIND of ETags reads thousands)."""
        ...

    async def object(self, calendar: Calendar, name: str, *,
                     with_data: bool = True) -> CalendarObject | None: ...

    async def put_object(self, calendar: Calendar, write: ObjectWrite, *,
                         if_match: Sequence[str] | None = None,
                         if_none_match: bool = False, quota: int = 0,
                         if_schedule_tag: str | None = None,
                         run: Offload = inline) -> tuple[CalendarObject, bool]:
        """Create or replace; True when created.  One transaction with index and revision.

        A scheduling object (``write.scheduling``) gets a new Schedule-Tag, or keeps its
        own with ``write.keep_schedule_tag``; the object returned carries the tag stored.
        ``if_schedule_tag`` (If-Schedule-Tag-Match, RFC 6638 §8.3, without quotes): the
        object must exist with that tag, else ScheduleTagMismatch (nothing changes).

        The store computes the time-range index from ``write.parsed``; the expansion of a
        recurrence runs on ``run`` (the caller's bounded executor; by default inline).

        ``quota``: bytes the owning home may hold (0 = unlimited); QuotaExceeded beyond.
        UIDConflict when another object of the calendar has the UID or the object replaced
        has another; SchedulingUIDConflict when ``write.scheduling`` and another
        scheduling object of the owner's home has it.  ETagMismatch when ``if_match`` or
        ``if_none_match`` fails; ReadOnly when the calendar is bound read-only; NotFound
        when the calendar is no longer bound (or its home is gone).

        ``write.schedule``: its scheduling work (the object's data before and after) is
        queued in the write's transaction; a refused write queues nothing.
        """
        ...

    async def delete_object(self, calendar: Calendar, name: str, *,
                            if_match: Sequence[str] | None = None,
                            if_schedule_tag: str | None = None,
                            schedule: ScheduleIntent | None = None) -> None:
        """NotFound when there is no such object (or the calendar is no longer bound);
        ETagMismatch when ``if_match`` fails, ScheduleTagMismatch when
        ``if_schedule_tag`` does (as for ``put_object``); ReadOnly when the calendar is
        bound read-only.  ``schedule``: queued with the delete (data after: None)."""
        ...

    async def move_object(self, source: Calendar, name: str, target: Calendar,
                          target_name: str, *, overwrite: bool, quota: int = 0,
                          schedule: ScheduleIntent | None = None,
                          ) -> tuple[CalendarObject, bool]:
        """Move (and rename) an object; True when the target was created.  A scheduling
        object gets a new Schedule-Tag.

        ``schedule``: queued with the move, for the source's owning home: the data after
        is the data before when the target is in the same home, None when in another.

        ``quota``: bytes the target's owning home may hold (0 = unlimited): a move into
        another home past it is QuotaExceeded.  NotFound when the object is missing (or
        the target calendar is no longer bound, or a home is gone); DestinationExists
        when the target exists and not ``overwrite``; ReadOnly when either calendar is
        bound read-only; UIDConflict and SchedulingUIDConflict as for ``put_object`` in
        the target (the object it replaces must have the UID).
        """
        ...

    async def find_uid(self, home: Home, uid: str) -> tuple[str, str] | None:
        """(calendar name, object name) of an object with this UID in the home (the first
        by name when several calendars hold it)."""
        ...


class QueryStore(Protocol):
    """Reads by time through the time-range index, and the index's upkeep."""

    async def busy_time(self, calendar: Calendar, start: datetime, end: datetime, *,
                        limit: int) -> BusyTime:
        """What free-busy needs of [start, end): the opaque busy rows (FBTYPE not FREE)
        overlapping it of the objects whose index decides (no floating instance,
        indexed past ``end``), at most ``limit`` + 1 of them, and the data of every
        other candidate (to expand in memory)."""
        ...

    async def busy_time_of_homes(self, owner_uids: Sequence[str], start: datetime,
                                 end: datetime, *, limit: int) -> dict[str, HomeBusyTime]:
        """``busy_time`` of every calendar bound in each home of ``owner_uids`` at once
        (one statement, whatever their number): the owners' busy time for free-busy
        (RFC 6638 §5), keyed by owner uid (a uid without a home has none).

        Calendars whose schedule-calendar-transp is transparent (RFC 6638 §9.1) and the
        scheduling inbox and outbox are left out.  Besides objects with floating
        instances or an index short of ``end``, a scheduling object whose data says
        PARTSTAT=DECLINED somewhere is not decided by the index (the caller knows whose
        participation counts): it comes with its data.  At most ``limit`` + 1 busy rows
        over all the homes.
        """
        ...

    async def query_listing(self, calendar: Calendar, component_type: str | None,
                            start: datetime | None, end: datetime | None, *,
                            with_data: bool = True) -> Matches:
        """The objects that may match a time-range (RFC 4791 §9.9), as columns (names,
        ETags, component types, sizes, data, exactness, and where an inexact one's index
        stops), in name order: what a calendar-query answer needs, no dates.
        Without ``with_data`` only the candidates that are not exact carry their data
        (the others' is None: the caller has it, or does not need it)."""
        ...

    async def extend_index(self, calendar: Calendar, objects: Sequence[ShortIndexed],
                           end: datetime, *, limit: int, run: Offload = inline) -> int:
        """Prepare ``calendar``'s index for queries up to ``end``: expand each of
        ``objects`` (whose index a query found stopping short of it) that far, in order,
        while fewer than ``limit`` rows were computed (expanded on ``run``), so the next
        such query is exact; the number of objects whose index was replaced.

        An object is skipped when it changed or went since its ``etag`` was read, or
        when its index already reaches as far (its ``indexed_until`` is no earlier, or
        None).
        """
        ...


class SyncStore(Protocol):
    """Revisions and changes (RFC 6578)."""

    async def changes_since(self, calendar: Calendar,
                            revision: int) -> tuple[list[Change], int]:
        """Changes after ``revision`` and the new token.

        InvalidSyncToken if ``revision`` is too old (tombstones purged), from the
        future or no revision at all (negative); NotFound when the calendar is gone.
        """
        ...

    async def home_changes_since(self, home: Home,
                                 revision: int) -> tuple[list[Change], int]:
        """Calendars bound, unbound or changed (any revision inside them) since
        ``revision``, and the new token.

        InvalidSyncToken as for ``changes_since``; NotFound when the home is gone.
        """
        ...

    async def home_revision(self, home: Home) -> int: ...


class PlainStore(Protocol):
    """Plain WebDAV files and folders in a home (paths relative to the home)."""

    async def plain(self, home: Home, path: str, *,
                    with_content: bool = False) -> PlainResource | None: ...

    async def plain_members(self, home: Home, path: str) -> list[PlainResource]:
        """Direct members of the folder ``path`` ('' = top-level folders of the home)."""
        ...

    async def plain_put(self, home: Home, path: str, content: bytes, content_type: str, *,
                        quota: int = 0) -> tuple[PlainResource, bool]:
        """Create or replace a file; True when created.

        NotFound when the parent folder is missing (or the home is gone); AlreadyExists
        when ``path`` is a folder.  ``quota``: bytes the home may hold (0 = unlimited);
        QuotaExceeded beyond, nothing written.
        """
        ...

    async def plain_mkcol(self, home: Home, path: str) -> PlainResource:
        """AlreadyExists if taken (by a file, folder or, at the top, a calendar); NotFound
        when the parent folder is missing (or the home is gone)."""
        ...

    async def plain_delete(self, home: Home, path: str) -> None:
        """Delete a file, or a folder with everything in it.  NotFound when missing."""
        ...

    async def plain_copy(self, home: Home, source: str, target: str, *, recursive: bool,
                         overwrite: bool, move: bool,
                         limits: PropertyLimits = NO_PROPERTY_LIMITS) -> bool:
        """Copy or move (dead properties included); True when the target was created.  The
        caller has found ``source``.

        The properties a copy adds are held to ``limits`` as a write of them would be, and
        the files and properties it adds to ``limits.quota`` (TooManyProperties,
        QuotaExceeded, nothing copied).  DestinationExists when the target exists and not
        ``overwrite``; NotFound when the target's parent folder is missing (or the home
        is gone).
        """
        ...


class ObjectEdit(Protocol):
    """A calendar object read under its home's lock (``current``; None: missing)."""

    current: CalendarObject | None

    async def put(self, write: ObjectWrite, *, quota: int = 0,
                  new: Sequence[NewAttachment] = (), run: Offload = inline) -> CalendarObject:
        """Write it, with the rows ``new`` and links to ``write.managed_ids`` (``run``: as
        for ``ObjectStore.put_object``).

        UnknownManagedId, and the errors of ``ObjectStore.put_object`` but ETagMismatch.
        """
        ...


class AttachmentStore(Protocol):
    """Managed attachments (RFC 8607) as requests use them."""

    async def attachment(self, managed_id: str) -> Attachment | None: ...

    async def put_linked(self, calendar: Calendar, write: ObjectWrite, *,
                         if_match: Sequence[str] | None = None, if_none_match: bool = False,
                         quota: int = 0, if_schedule_tag: str | None = None,
                         new: Sequence[NewAttachment] = (),
                         sources: Sequence[int] = (),
                         run: Offload = inline) -> tuple[CalendarObject, bool]:
        """``put_object`` that also makes the object's attachment links ``write.managed_ids``,
        with the rows ``new`` (their files in place) in the same transaction.

        ``sources``: objects whose attachments may be linked too (a COPY).
        UnknownManagedId when a managed id is not referable, and the errors of
        ``ObjectStore.put_object``.  (An attachment action, which replaces an object it
        read under the lock, goes through ``editing``.)
        """
        ...

    def editing(self, calendar: Calendar, name: str,
                ) -> contextlib.AbstractAsyncContextManager[ObjectEdit]:
        """The object read under its home's lock, held until the block ends; its
        ``put`` writes it (with ``new`` attachment rows and its links) in that transaction.

        NotFound on entry when the calendar's owning home is gone.
        """
        ...


class AttachmentTrash(Protocol):
    """What the attachment files' cleanup asks of the store."""

    async def take_trash(self, limit: int = 100) -> list[str]:
        """Claim paths of deleted attachments, committed; the caller removes the files."""
        ...

    async def attachment_paths(self, paths: Collection[str]) -> set[str]:
        """Which of ``paths`` belong to an attachment row."""
        ...


class ClaimedObjects(Protocol):
    """Object reads and writes inside a claim (``FanOut``, ``Deliver``): on the claim's
    connection, in its transaction, through the store's own write functions (index rows
    computed as for ``put_object``), so they commit with the claim or not at all.

    Besides the errors each method names, any may raise StoreUnavailable; after an
    error other than a domain error the transaction is aborted and the block must end.
    """

    async def seen(self, recipient_uid: str, digest: str) -> bool:
        """Whether the ledger holds a delivery of ``digest`` to ``recipient_uid``."""
        ...

    async def locate_uid(self, owner_uid: str,
                         uid: str) -> tuple[Calendar, CalendarObject] | None:
        """The object with iCalendar ``uid`` in ``owner_uid``'s home (a scheduling object
        first, the inbox never), with its data, and the home's lock taken for the rest of
        the claim; None when there is none (or no such home)."""
        ...

    async def default_calendar(self, owner_uid: str, preferred: str | None = None,
                               component: str = "VEVENT") -> Calendar | None:
        """The owner's calendar named ``preferred`` when it exists, is owned and takes
        ``component``; else the oldest owned one that takes it (inbox and outbox never);
        None when there is none (or no such home)."""
        ...

    async def put(self, calendar: Calendar, write: ObjectWrite, *,
                  run: Offload = inline) -> CalendarObject:
        """Create or replace, as ``ObjectStore.put_object`` without preconditions or
        quota; ``write.schedule`` queues its work in this transaction.  The errors of
        ``put_object`` but ETagMismatch and QuotaExceeded."""
        ...

    async def delete(self, calendar: Calendar, name: str) -> None:
        """NotFound when there is no such object; ReadOnly when bound read-only."""
        ...

    async def add_inbox(self, owner_uid: str, write: ObjectWrite, *,
                        run: Offload = inline) -> CalendarObject:
        """Store an iTIP message in the owner's scheduling inbox (RFC 6638 §4) under
        ``write.name``: its stored UID is that name (several messages share an iCalendar
        UID), it is no scheduling object and queues no work.  NotFound when the home has
        no inbox; UIDConflict when the name is taken."""
        ...


class FanOut(ClaimedObjects, Protocol):
    """A claim of scheduling work: the oldest due row of one (home, UID) and every newer
    row of it (``work``, oldest first: a burst of edits, coalesced), locked until the
    block ends; it commits when the block ends without an exception."""

    work: Sequence[Work]

    async def queue(self, deliveries: Sequence[NewDelivery]) -> int:
        """Queue deliveries (in order), leaving out those the ledger already holds; how
        many were queued."""
        ...

    async def done(self) -> None:
        """Remove the claimed work rows (at commit).  Without it they stay queued."""
        ...


class Deliver(ClaimedObjects, Protocol):
    """A claim of one delivery: the oldest due row of one (recipient, UID), locked until
    the block ends; it commits when the block ends without an exception."""

    delivery: Delivery

    async def done(self) -> None:
        """Record the delivery in the ledger and remove its row (at commit)."""
        ...


class ScheduleStore(Protocol):
    """The scheduling queue (migration 0016), worked by any worker of any host.

    A claim takes the oldest row that is due (``not_before`` passed) and whose key, (home,
    UID) for work and (recipient, UID) for deliveries, has no older row: one UID is
    handled by one claim at a time, in order, and claimers skip locked rows rather than
    wait (``FOR UPDATE SKIP LOCKED``).  A claim that fails rolls back: its rows are
    claimable again, and ``postpone`` delays them.
    """

    def fan_out(self) -> contextlib.AbstractAsyncContextManager[FanOut | None]:
        """A claim of work, or None when nothing is due."""
        ...

    def deliver(self) -> contextlib.AbstractAsyncContextManager[Deliver | None]:
        """A claim of a delivery, or None when nothing is due."""
        ...

    async def postpone(self, table: ScheduleTable, row_id: int, delay: float,
                       error: str) -> None:
        """After a failed claim: one more attempt counted on the row, due again in
        ``delay`` seconds, ``error`` kept (committed at once; nothing when it is gone)."""
        ...

    async def drop(self, table: ScheduleTable, row_ids: Sequence[int]) -> int:
        """Remove rows given up on; how many there were."""
        ...

    async def queue_stats(self) -> QueueStats:
        """Rows waiting, the oldest's age and rows retrying, per table."""
        ...

    async def purge_ledger(self, older_than: timedelta) -> int:
        """Forget deliveries recorded longer ago than ``older_than``; how many."""
class InboxStore(Protocol):
    """The scheduling inbox and the default calendar (RFC 6638 §2.2, §9.2)."""

    async def add_inbox_item(self, home: Home, icalendar: str) -> CalendarObject:
        """Put a scheduling message (iCalendar text with METHOD) into the home's inbox
        under a new name, which is also the item's stored UID (several messages share
        an iCalendar UID); not a scheduling object, never refused for quota.

        NotFound when the home has no inbox (or is gone).
        """
        ...

    async def default_calendar(self, home: Home) -> Calendar | None:
        """Where a delivery creates a new copy: the calendar chosen with
        ``set_default_calendar`` while it is still an own calendar taking VEVENTs
        (``Calendar.takes_events``), else the first made that does; None if none does."""
        ...

    async def set_default_calendar(self, home: Home, calendar: Calendar | None) -> None:
        """Choose the default calendar (None: back to the store's choice).

        NotFound when ``calendar`` is not an own calendar of the home taking VEVENTs.
        """
        ...


class HealthStore(Protocol):
    async def ping(self) -> None:
        """Returns when the database answers (StoreUnavailable when it does not)."""
        ...


class Store(HomeStore, PropertyStore, ObjectStore, QueryStore, SyncStore, PlainStore,
            AttachmentStore, AttachmentTrash, ScheduleStore, InboxStore, HealthStore,
            Protocol):
    """Every role: what the composition root builds and the HTTP layer holds."""
