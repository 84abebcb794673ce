"""A home's scheduling inbox and outbox (RFC 6638 §2.2) and its default calendar (§9.2).

The inbox and outbox are calendars of kind 'inbox' and 'outbox' (migration 0015),
made with the home.  An inbox item is a calendar object of the inbox whose stored UID
is its own name: several messages about one event share its iCalendar UID, and none of
them is a scheduling object (the UID rules of RFC 4791 §5.3.2.1 and RFC 6638 §3.2.4.1
are about calendars).  Items have no time-range rows: nothing reads the inbox by time.

The functions taking a connection run in the caller's transaction (a delivery adds the
item in the one that writes the attendee's copy); ``PostgresInbox`` runs them on the
pool.
"""

from __future__ import annotations

import uuid

import asyncpg
from icalendar import Calendar as ICalendar

from caldavd.store.errors import NotFound
from caldavd.store.model import Calendar, CalendarKind, CalendarObject, Home, ObjectWrite
from caldavd.store.postgres.homes import lock_home
from caldavd.store.postgres.object_writes import PUT_SQL, put_args, put_outcome, put_request
from caldavd.store.postgres.pool import connection, transaction
from caldavd.store.postgres.rows import CALENDAR_COLUMNS, calendar_of

_OF_KIND_SQL = f"""
SELECT {CALENDAR_COLUMNS} FROM calendar_bind b JOIN calendar c ON c.id = b.calendar_id
WHERE b.home_id = $1 AND b.mode = 'own' AND c.kind = $2
"""
_TAKES_EVENTS = ("b.mode = 'own' AND c.kind = 'calendar' AND (c.supported_components IS NULL "
                 "OR 'VEVENT' = ANY(c.supported_components))")
# The owner's choice while it still takes events, else the first made that does.
_DEFAULT_SQL = f"""
SELECT {CALENDAR_COLUMNS} FROM calendar_bind b JOIN calendar c ON c.id = b.calendar_id
WHERE b.home_id = $1 AND {_TAKES_EVENTS}
ORDER BY coalesce(c.id = (SELECT default_calendar_id FROM calendar_home WHERE id = $1),
                  false) DESC, c.created, c.id
LIMIT 1
"""
_SET_DEFAULT_SQL = f"""
UPDATE calendar_home SET default_calendar_id = $2
WHERE id = $1 AND ($2::bigint IS NULL OR EXISTS (
    SELECT 1 FROM calendar_bind b JOIN calendar c ON c.id = b.calendar_id
    WHERE b.home_id = $1 AND c.id = $2 AND {_TAKES_EVENTS}))
RETURNING id
"""
_BUMP_SQL = """
INSERT INTO revision (collection_id, name, revision, deleted)
VALUES ($1, '', nextval('revision_seq'), false)
ON CONFLICT (collection_id, name) DO UPDATE
SET revision = excluded.revision, deleted = false, modified = now()
"""


async def collection_of_kind(conn: asyncpg.Connection, home_id: int,
                             kind: CalendarKind) -> Calendar | None:
    """The home's own inbox or outbox (or, for 'calendar', one of its calendars)."""
    row = await conn.fetchrow(_OF_KIND_SQL, home_id, kind)
    return calendar_of(row) if row else None


def _component_type(parsed: ICalendar) -> str:
    for component in parsed.subcomponents:
        if component.name != "VTIMEZONE":
            return str(component.name)
    return "VEVENT"


def inbox_write(icalendar: str) -> ObjectWrite:
    """An inbox item of the message ``icalendar`` under a new name (its stored UID)."""
    parsed = ICalendar.from_ical(icalendar)
    name = f"{uuid.uuid4()}.ics"
    return ObjectWrite(name=name, uid=name, component_type=_component_type(parsed),
                       icalendar=icalendar, parsed=parsed, recurring=False, scheduling=False)


async def add_inbox_item_on(conn: asyncpg.Connection, home_id: int,
                            icalendar: str) -> CalendarObject:
    """Put the scheduling message ``icalendar`` into the home's inbox, in the caller's
    transaction (the write takes the home's lock); NotFound when the home has no inbox.
    Never refused for quota: a delivery is the organizer's act, not the owner's."""
    inbox = await collection_of_kind(conn, home_id, "inbox")
    if inbox is None:
        raise NotFound(f"inbox of home {home_id}")
    put = put_request(inbox, inbox_write(icalendar), ([], None), None, True, 0)
    obj, _ = put_outcome(put, await conn.fetchrow(PUT_SQL, *put_args(put)))
    return obj


async def default_calendar_on(conn: asyncpg.Connection, home_id: int) -> Calendar | None:
    """Where a delivery creates a new copy (RFC 6638 §9.2): the owner's
    schedule-default-calendar-URL while it still takes VEVENTs, else the home's first
    calendar that does; None when none does."""
    row = await conn.fetchrow(_DEFAULT_SQL, home_id)
    return calendar_of(row) if row else None


class PostgresInbox:
    """``caldavd.store.InboxStore``, a mixin of PostgresStore: needs ``self._pool``."""

    _pool: asyncpg.Pool

    async def add_inbox_item(self, home: Home, icalendar: str) -> CalendarObject:
        async with transaction(self._pool) as conn:
            return await add_inbox_item_on(conn, home.id, icalendar)

    async def default_calendar(self, home: Home) -> Calendar | None:
        async with connection(self._pool) as conn:
            return await default_calendar_on(conn, home.id)

    async def set_default_calendar(self, home: Home, calendar: Calendar | None) -> None:
        async with transaction(self._pool) as conn:
            await lock_home(conn, home.id)
            chosen = None if calendar is None else calendar.id
            if await conn.fetchval(_SET_DEFAULT_SQL, home.id, chosen) is None:
                raise NotFound(calendar.name if calendar else home.owner_uid)
            inbox = await collection_of_kind(conn, home.id, "inbox")
            if inbox is not None:  # the inbox's property changed: its sync token moves
                await conn.execute(_BUMP_SQL, inbox.id)
