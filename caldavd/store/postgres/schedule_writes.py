"""Writes that schedule: the object write and its ``schedule_work`` row, one transaction.

A write whose ``ObjectWrite.schedule`` (or ``schedule=`` argument) is given takes
this path instead of the batched one: in the caller's transaction it locks the
owning home (as the write functions of migration 0005 do first, so the lock
order is theirs), reads the object's data before the write, writes through the
same function as any write, and inserts the work row (migration 0016) with the
data before and after.  A refused write raises before the insert, and its
transaction rolls back: no work without its write, no write without its work.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from caldavd.store.errors import NotFound
from caldavd.store.model import Calendar, CalendarObject, ScheduleIntent
from caldavd.store.postgres.object_writes import (
    DELETE_SQL,
    MOVE_DONE,
    MOVE_SQL,
    PUT_SQL,
    PutRequest,
    delete_args,
    move_args,
    move_refusal,
    put_args,
    put_outcome,
    refusal,
)

_LOCK_HOME_SQL = "SELECT 1 FROM calendar_home WHERE id = $1 FOR NO KEY UPDATE"
_OBJECT_SQL = "SELECT uid, icalendar FROM calendar_object WHERE calendar_id = $1 AND name = $2"
ENQUEUE_SQL = """
INSERT INTO schedule_work (home_id, owner_uid, uid, role, actor_uid, schedule_reply,
                           previous, current)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
"""


async def enqueue(conn: asyncpg.Connection, home_id: int, uid: str, intent: ScheduleIntent,
                  previous: str | None, current: str | None) -> None:
    """Queue the work of one write, in the caller's transaction."""
    await conn.execute(ENQUEUE_SQL, home_id, intent.owner_uid, uid, intent.role,
                       intent.actor_uid, intent.schedule_reply, previous, current)


async def before_write(conn: asyncpg.Connection, calendar: Calendar, name: str,
                       also: int | None = None) -> asyncpg.Record | None:
    """Lock the calendar's owning home (and the home ``also``, both in id order as a
    MOVE does), then (uid, icalendar) of the object ``name`` as it is before the write
    (None: there is none)."""
    for home_id in sorted({calendar.owner_home_id, also or calendar.owner_home_id}):
        await conn.fetchval(_LOCK_HOME_SQL, home_id)
    row: asyncpg.Record | None = await conn.fetchrow(_OBJECT_SQL, calendar.id, name)
    return row


async def put_scheduled(conn: asyncpg.Connection, put: PutRequest,
                        intent: ScheduleIntent) -> tuple[CalendarObject, bool]:
    """``put`` and its work; the caller holds the transaction."""
    before = await before_write(conn, put.calendar, put.write.name)
    written = put_outcome(put, await conn.fetchrow(PUT_SQL, *put_args(put)))
    await enqueue(conn, put.calendar.owner_home_id, put.write.uid, intent,
                  before["icalendar"] if before else None, put.write.icalendar)
    return written


async def delete_scheduled(conn: asyncpg.Connection, calendar: Calendar, name: str,
                           if_match: Sequence[str] | None, intent: ScheduleIntent,
                           if_schedule_tag: str | None = None) -> None:
    """Delete ``name`` and queue its work (``current`` NULL); the caller holds the
    transaction."""
    before = await before_write(conn, calendar, name)
    status = await conn.fetchval(DELETE_SQL,
                                 *delete_args(calendar, name, if_match, if_schedule_tag))
    if status != "deleted":
        raise refusal(status, calendar, name)
    if before is None:  # cannot be: the function found it under the same lock
        raise NotFound(name)
    await enqueue(conn, calendar.owner_home_id, before["uid"], intent, before["icalendar"],
                  None)


async def move_scheduled(conn: asyncpg.Connection, source: Calendar, name: str,
                         target: Calendar, target_name: str, overwrite: bool,
                         intent: ScheduleIntent) -> asyncpg.Record:
    """Move and queue its work for the source's home: the data stays (``current`` is
    ``previous``) within the owner's home, and is gone from it (NULL) when moved into
    another home.  The caller holds the transaction; MOVE_SQL's row."""
    before = await before_write(conn, source, name, target.owner_home_id)
    row: asyncpg.Record = await conn.fetchrow(
        MOVE_SQL, *move_args(source, name, target, target_name, overwrite))
    status = row["status"]
    if status not in MOVE_DONE:
        raise move_refusal(status, row, target, name, target_name)
    if before is None:
        raise NotFound(name)
    data = before["icalendar"]
    stays = source.owner_home_id == target.owner_home_id
    await enqueue(conn, source.owner_home_id, before["uid"], intent, data,
                  data if stays else None)
    return row
