"""Managed attachments (RFC 8607) in PostgreSQL: rows, links, the trash.

The files are on shared storage (``caldavd.attachments``); the rows say which
files exist.  A new attachment's file is in place before its row is written,
and a deleted row leaves its path in ``attachment_trash`` to be unlinked after
commit (migration 0009), so a committed row always has its file.

A write that changes which attachments an event carries is the event's own
write: the PUT function of migration 0005 (home lock, checks, quota, revision,
change token), with the attachment rows and links in the same transaction.
An attachment action reads the event under the home's lock (``editing``), so
actions through any number of hosts apply one after the other, none lost.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass

import asyncpg

from caldavd.store.errors import UnknownManagedId
from caldavd.store.model import (
    Attachment,
    Calendar,
    CalendarObject,
    NewAttachment,
    ObjectWrite,
    Offload,
    inline,
)
from caldavd.store.postgres.homes import lock_home
from caldavd.store.postgres.indexing import ObjectIndexing
from caldavd.store.postgres.object_writes import (
    PUT_SQL,
    PutRequest,
    put_args,
    put_outcome,
    put_request,
)
from caldavd.store.postgres.pool import connection, transaction
from caldavd.store.postgres.rows import calendar_object
from caldavd.store.postgres.schedule_writes import before_write, enqueue

_ATTACHMENT_SQL = """
SELECT a.managed_id, a.home_id, a.content_type, a.filename, a.size, a.digest, a.path,
       a.created,
       array(SELECT h.owner_uid FROM calendar_home h
             WHERE h.id = a.home_id OR h.id IN (
                 SELECT o.home_id FROM attachment_link l
                 JOIN calendar_object o ON o.id = l.calendar_object_id
                 WHERE l.attachment_id = a.id)) AS readers
FROM attachment a WHERE a.managed_id = $1
"""
_INSERT_SQL = """
INSERT INTO attachment (managed_id, home_id, content_type, filename, size, digest, path)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""
# The attachments an object may link: the home's own, and those already linked to the
# object or to the objects it was copied from.
_REFERABLE_SQL = """
SELECT a.id, a.managed_id FROM attachment a
WHERE a.managed_id = ANY($1::text[])
  AND (a.home_id = $2 OR a.id IN (SELECT l.attachment_id FROM attachment_link l
                                  WHERE l.calendar_object_id = ANY($3::bigint[])))
"""
_UNLINK_OTHERS_SQL = """
DELETE FROM attachment_link l USING attachment a
WHERE l.calendar_object_id = $1 AND a.id = l.attachment_id
  AND NOT (a.managed_id = ANY($2::text[]))
"""
_LINK_SQL = """
INSERT INTO attachment_link (attachment_id, calendar_object_id)
SELECT unnest($2::bigint[]), $1 ON CONFLICT DO NOTHING
"""
_EDITED_SQL = """
SELECT o.id, o.calendar_id, o.name, o.uid, o.component_type, o.etag, o.size, o.organizer,
       o.schedule_tag, o.created, o.modified, o.icalendar
FROM calendar_object o WHERE o.calendar_id = $1 AND o.name = $2
"""
_TAKE_TRASH_SQL = """
DELETE FROM attachment_trash WHERE path IN (
    SELECT path FROM attachment_trash ORDER BY deleted LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING path
"""


def _attachment(row: asyncpg.Record) -> Attachment:
    return Attachment(managed_id=row["managed_id"], home_id=row["home_id"],
                      content_type=row["content_type"], filename=row["filename"],
                      size=row["size"], digest=row["digest"], path=row["path"],
                      created=row["created"], reader_uids=frozenset(row["readers"]))


class PostgresAttachments:
    """``caldavd.store.AttachmentStore`` and ``AttachmentTrash``, a mixin of PostgresStore:
    needs ``self._pool``."""

    _pool: asyncpg.Pool
    _indexing: ObjectIndexing

    async def attachment(self, managed_id: str) -> Attachment | None:
        async with connection(self._pool) as conn:
            row = await conn.fetchrow(_ATTACHMENT_SQL, managed_id)
        return _attachment(row) if row else None

    async def put_linked(self, calendar: Calendar, write: ObjectWrite, *,
                         if_match: Sequence[str] | None = None, if_none_match: bool = False,
                         quota: int = 0, if_schedule_tag: str | None = None,
                         new: Sequence[NewAttachment] = (), sources: Sequence[int] = (),
                         run: Offload = inline) -> tuple[CalendarObject, bool]:
        index = await self._indexing.of(write, run)
        put = put_request(calendar, write, index, if_match, if_none_match, quota,
                          if_schedule_tag)
        async with transaction(self._pool) as conn:
            await lock_home(conn, calendar.owner_home_id)
            return await _put_linked(conn, put, new, None, sources)

    @contextlib.asynccontextmanager
    async def editing(self, calendar: Calendar, name: str) -> AsyncIterator[Editing]:
        """The object as it is under the home's lock, for a read-modify-write that no
        other host can interleave with (the lock is held until the block ends)."""
        async with transaction(self._pool) as conn:
            await lock_home(conn, calendar.owner_home_id)
            row = await conn.fetchrow(_EDITED_SQL, calendar.id, name)
            yield Editing(conn, calendar, calendar_object(row, with_data=True) if row else None,
                          self._indexing)

    async def take_trash(self, limit: int = 100) -> list[str]:
        """Claim the paths of deleted attachments (committed: the caller unlinks them)."""
        async with transaction(self._pool) as conn:
            rows = await conn.fetch(_TAKE_TRASH_SQL, limit)
        return [r["path"] for r in rows]

    async def attachment_paths(self, paths: Collection[str]) -> set[str]:
        """Which of ``paths`` belong to an attachment row."""
        async with connection(self._pool) as conn:
            rows = await conn.fetch("SELECT path FROM attachment WHERE path = ANY($1::text[])",
                                    list(paths))
        return {r["path"] for r in rows}


@dataclass
class Editing:
    """An object read under its home's lock (``current``, None if missing), and its write."""

    conn: asyncpg.Connection
    calendar: Calendar
    current: CalendarObject | None
    indexing: ObjectIndexing

    async def put(self, write: ObjectWrite, *, quota: int = 0,
                  new: Sequence[NewAttachment] = (), run: Offload = inline) -> CalendarObject:
        put = put_request(self.calendar, write, await self.indexing.of(write, run), None,
                          False, quota)
        replacing = self.current.id if self.current is not None else None
        obj, _ = await _put_linked(self.conn, put, new, replacing, ())
        return obj


async def _put_linked(conn: asyncpg.Connection, put: PutRequest, new: Sequence[NewAttachment],
                      replacing: int | None,
                      sources: Sequence[int]) -> tuple[CalendarObject, bool]:
    wanted = sorted(put.write.managed_ids)
    intent = put.write.schedule
    before = await before_write(conn, put.calendar, put.write.name) if intent else None
    for attachment in new:
        await conn.execute(_INSERT_SQL, attachment.managed_id, attachment.home_id,
                           attachment.content_type, attachment.filename,
                           attachment.size, attachment.digest, attachment.path)
    if replacing is not None:  # attachments dropped free their bytes before the check
        await conn.execute(_UNLINK_OTHERS_SQL, replacing, wanted)
    obj, created = put_outcome(put, await conn.fetchrow(PUT_SQL, *put_args(put)))
    await _link(conn, obj.id, put.calendar.owner_home_id, wanted, [obj.id, *sources])
    if intent is not None:  # its scheduling work, in the write's transaction
        await enqueue(conn, put.calendar.owner_home_id, put.write.uid, intent,
                      before["icalendar"] if before else None, put.write.icalendar)
    return obj, created


async def _link(conn: asyncpg.Connection, object_id: int, home_id: int, wanted: list[str],
                sources: list[int]) -> None:
    """Make the object's links exactly ``wanted``; UnknownManagedId for any not referable."""
    rows = await conn.fetch(_REFERABLE_SQL, wanted, home_id, sources)
    missing = sorted(set(wanted) - {r["managed_id"] for r in rows})
    if missing:
        raise UnknownManagedId(missing)
    await conn.execute(_UNLINK_OTHERS_SQL, object_id, wanted)
    await conn.execute(_LINK_SQL, object_id, [r["id"] for r in rows])
