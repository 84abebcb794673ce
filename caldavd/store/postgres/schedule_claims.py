"""The handles of a scheduling claim: object reads and writes in the claim's transaction.

A claim (``scheduling.PostgresSchedule.fan_out`` / ``deliver``) holds one pooled
connection in one transaction; its handle writes through the same statements as
the store (the PL/pgSQL functions of migrations 0005 and 0012, index rows from
the store's indexer), so a delivery, its inbox item, its ledger row and the
removal of its queue row commit together, or none of them does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import asyncpg

from caldavd.store.errors import NotFound, ReadOnly
from caldavd.store.model import (
    Calendar,
    CalendarObject,
    Delivery,
    NewDelivery,
    ObjectWrite,
    Offload,
    Work,
    inline,
)
from caldavd.store.postgres.indexing import ObjectIndexing
from caldavd.store.postgres.object_writes import (
    DELETE_SQL,
    PUT_SQL,
    delete_args,
    put_args,
    put_outcome,
    put_request,
    refusal,
)
from caldavd.store.postgres.rows import (
    CALENDAR_COLUMNS,
    CALENDAR_FIELDS,
    calendar_object,
    calendar_of,
)
from caldavd.store.postgres.schedule_writes import put_scheduled

_LOCK_OWNER_SQL = "SELECT id FROM calendar_home WHERE owner_uid = $1 FOR NO KEY UPDATE"
_LOCATE_UID_SQL = f"""
SELECT {CALENDAR_COLUMNS},
       o.id AS o_id, o.calendar_id AS o_calendar_id, o.name AS o_name, o.uid AS o_uid,
       o.component_type AS o_component_type, o.etag AS o_etag, o.size AS o_size,
       o.organizer AS o_organizer, o.schedule_tag AS o_schedule_tag,
       o.created AS o_created, o.modified AS o_modified, o.icalendar AS o_icalendar
FROM calendar_object o
JOIN calendar_bind b ON b.calendar_id = o.calendar_id AND b.home_id = o.home_id
JOIN calendar c ON c.id = b.calendar_id
WHERE o.home_id = $1 AND o.uid = $2 AND c.kind = 'calendar'
ORDER BY o.scheduling DESC, b.name, o.name LIMIT 1
"""
# The position of the object's first column in a _LOCATE_UID_SQL row.
_OBJECT_AT = CALENDAR_FIELDS
_OWNED_SQL = f"""
SELECT {CALENDAR_COLUMNS} FROM calendar_bind b JOIN calendar c ON c.id = b.calendar_id
JOIN calendar_home h ON h.id = b.home_id
WHERE h.owner_uid = $1 AND b.mode = 'own' AND c.kind = 'calendar'
  AND (c.supported_components IS NULL OR $2 = ANY(c.supported_components))
ORDER BY b.name = $3 DESC NULLS LAST, coalesce(c.id = h.default_calendar_id, false) DESC,
         c.created, c.id LIMIT 1
"""
_INBOX_SQL = f"""
SELECT {CALENDAR_COLUMNS} FROM calendar_bind b JOIN calendar c ON c.id = b.calendar_id
JOIN calendar_home h ON h.id = b.home_id
WHERE h.owner_uid = $1 AND b.mode = 'own' AND c.kind = 'inbox'
"""
_SEEN_SQL = "SELECT 1 FROM schedule_ledger WHERE recipient_uid = $1 AND digest = $2"
_QUEUE_SQL = """
INSERT INTO schedule_delivery (uid, recipient_uid, sender, method, message, digest)
SELECT d.uid, d.recipient_uid, d.sender, d.method, d.message, d.digest
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
     WITH ORDINALITY AS d(uid, recipient_uid, sender, method, message, digest, i)
WHERE NOT EXISTS (SELECT 1 FROM schedule_ledger l
                  WHERE l.recipient_uid = d.recipient_uid AND l.digest = d.digest)
ORDER BY d.i
"""
_LEDGER_SQL = ("INSERT INTO schedule_ledger (recipient_uid, digest) VALUES ($1, $2) "
               "ON CONFLICT DO NOTHING")


@dataclasses.dataclass
class Claimed:
    """``caldavd.store.ClaimedObjects`` on a claim's connection."""

    conn: asyncpg.Connection
    indexing: ObjectIndexing

    async def seen(self, recipient_uid: str, digest: str) -> bool:
        return bool(await self.conn.fetchval(_SEEN_SQL, recipient_uid, digest))

    async def locate_uid(self, owner_uid: str,
                         uid: str) -> tuple[Calendar, CalendarObject] | None:
        home_id = await self.conn.fetchval(_LOCK_OWNER_SQL, owner_uid)
        if home_id is None:
            return None
        row = await self.conn.fetchrow(_LOCATE_UID_SQL, home_id, uid)
        if row is None:
            return None
        return calendar_of(row), calendar_object(row, _OBJECT_AT, with_data=True)

    async def default_calendar(self, owner_uid: str, preferred: str | None = None,
                               component: str = "VEVENT") -> Calendar | None:
        row = await self.conn.fetchrow(_OWNED_SQL, owner_uid, component, preferred)
        return calendar_of(row) if row else None

    async def put(self, calendar: Calendar, write: ObjectWrite, *,
                  run: Offload = inline) -> CalendarObject:
        if calendar.mode == "read":
            raise ReadOnly(calendar.name)
        put = put_request(calendar, write, await self.indexing.of(write, run), None, False, 0)
        if write.schedule is not None:
            obj, _ = await put_scheduled(self.conn, put, write.schedule)
        else:
            obj, _ = put_outcome(put, await self.conn.fetchrow(PUT_SQL, *put_args(put)))
        return obj

    async def delete(self, calendar: Calendar, name: str) -> None:
        if calendar.mode == "read":
            raise ReadOnly(calendar.name)
        status = await self.conn.fetchval(DELETE_SQL, *delete_args(calendar, name, None))
        if status != "deleted":
            raise refusal(status, calendar, name)

    async def add_inbox(self, owner_uid: str, write: ObjectWrite, *,
                        run: Offload = inline) -> CalendarObject:
        row = await self.conn.fetchrow(_INBOX_SQL, owner_uid)
        if row is None:
            raise NotFound(f"{owner_uid}'s inbox")
        item = dataclasses.replace(write, uid=write.name, scheduling=False, schedule=None)
        # No index rows: nothing reads the inbox by time (store/postgres/inbox.py).
        put = put_request(calendar_of(row), item, ([], None), None, False, 0)
        obj, _ = put_outcome(put, await self.conn.fetchrow(PUT_SQL, *put_args(put)))
        return obj


@dataclasses.dataclass
class ClaimedWork(Claimed):
    """``caldavd.store.FanOut``."""

    work: Sequence[Work]

    async def queue(self, deliveries: Sequence[NewDelivery]) -> int:
        if not deliveries:
            return 0
        columns = ([getattr(d, name) for d in deliveries]
                   for name in ("uid", "recipient_uid", "sender", "method", "message",
                                "digest"))
        status = await self.conn.execute(_QUEUE_SQL, *columns)
        return int(status.rsplit(" ", 1)[-1])

    async def done(self) -> None:
        await self.conn.execute("DELETE FROM schedule_work WHERE id = ANY($1::bigint[])",
                                [w.id for w in self.work])


@dataclasses.dataclass
class ClaimedDelivery(Claimed):
    """``caldavd.store.Deliver``."""

    delivery: Delivery

    async def done(self) -> None:
        await self.conn.execute(_LEDGER_SQL, self.delivery.recipient_uid,
                                self.delivery.digest)
        await self.conn.execute("DELETE FROM schedule_delivery WHERE id = $1",
                                self.delivery.id)
