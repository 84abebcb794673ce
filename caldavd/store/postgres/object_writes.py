"""Calendar object PUT, DELETE and MOVE as one statement each.

The statements call the PL/pgSQL functions of migration 0005 (as replaced by
0012: one UID per calendar, per home for scheduling objects; by 0017: the
Schedule-Tag), which take the home's row lock, run every check and then write,
all in the implicit transaction of one statement.  A refusal comes back as a ``status`` (before
anything was written); this module maps it to the store's domain errors, so
nothing parses a message.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from caldavd.caldav.index import Index
from caldavd.store.errors import (
    DestinationExists,
    ETagMismatch,
    NotFound,
    QuotaExceeded,
    ReadOnly,
    ScheduleTagMismatch,
    SchedulingUIDConflict,
    StoreError,
    UIDConflict,
)
from caldavd.store.model import Calendar, CalendarObject, ObjectWrite
from caldavd.store.postgres.timerange import RowArrays, row_arrays

PUT_SQL = """
SELECT status, object_id, created, modified, holder_home, holder_calendar, holder_name, used,
       schedule_tag
FROM caldav_put_object($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
                       $16, $17, $18, $19, $20, $21, $22, $23)
"""
DELETE_SQL = "SELECT caldav_delete_object($1, $2, $3, $4, $5, $6)"
MOVE_SQL = """
SELECT id, calendar_id, name, uid, component_type, etag, size, organizer, schedule_tag,
       created, modified, status, holder_home, holder_calendar, holder_name
FROM caldav_move_object($1, $2, $3, $4, $5, $6, $7, $8, $9)
"""

PUT_DONE = frozenset({"created", "replaced"})
MOVE_DONE = frozenset({"moved", "replaced"})

# "uid-changed": the object a PUT replaces has another UID (it is the holder).
_UID_STATUSES: dict[str, type[UIDConflict]] = {
    "uid-changed": UIDConflict,
    "uid-conflict": UIDConflict,
    "scheduling-uid-conflict": SchedulingUIDConflict,
}

_CONDITION_FAILURES = {
    "exists": "the resource exists",
    "no-match": "If-Match given, but the resource does not exist",
    "etag-differs": "the resource's ETag differs",
}


def new_schedule_tag() -> str:
    """A fresh opaque Schedule-Tag (RFC 6638 §3.2.10), without quotes."""
    return uuid.uuid4().hex


def content_tag(icalendar: str) -> tuple[str, int]:
    """(strong ETag without quotes, size in bytes): the content hash (RFC 9110 §8.8.3)."""
    data = icalendar.encode()
    return hashlib.sha256(data).hexdigest()[:40], len(data)


@dataclass(frozen=True)
class PutRequest:
    """One PUT as the store received it, with its content's ETag and size."""

    calendar: Calendar
    write: ObjectWrite
    etag: str
    size: int
    if_match: Sequence[str] | None
    if_none_match: bool
    quota: int
    rows: RowArrays  # the write's index rows as the database holds them
    indexed_until: datetime | None  # None: every instance is a row
    # The tag a scheduling object gets unless it keeps its own (None for other objects),
    # and If-Schedule-Tag-Match's (None: none asked).
    schedule_tag: str | None = None
    if_schedule_tag: str | None = None


def put_request(calendar: Calendar, write: ObjectWrite, index: Index,
                if_match: Sequence[str] | None, if_none_match: bool, quota: int,
                if_schedule_tag: str | None = None) -> PutRequest:
    """``index``: the write's rows and horizon, as the store computed them."""
    etag, size = content_tag(write.icalendar)
    rows, until = index
    return PutRequest(calendar, write, etag, size, if_match, if_none_match, quota,
                      row_arrays(rows), until,
                      new_schedule_tag() if write.scheduling else None, if_schedule_tag)


def put_args(put: PutRequest) -> tuple[object, ...]:
    """PUT_SQL's parameters; the index rows go as five parallel arrays."""
    calendar, write = put.calendar, put.write
    return (calendar.owner_home_id, calendar.home_id, calendar.id, write.name,
            write.uid, write.component_type, write.icalendar, put.etag, put.size,
            write.organizer, put.schedule_tag, put.indexed_until,
            _tags(put.if_match), put.if_none_match, put.quota, *put.rows, write.scheduling,
            write.keep_schedule_tag, put.if_schedule_tag)


def move_args(source: Calendar, name: str, target: Calendar, target_name: str,
              overwrite: bool) -> tuple[object, ...]:
    """MOVE_SQL's parameters: a moved scheduling object gets a new Schedule-Tag."""
    return (source.owner_home_id, source.id, name, target.owner_home_id, target.home_id,
            target.id, target_name, overwrite, new_schedule_tag())


def delete_args(calendar: Calendar, name: str, if_match: Sequence[str] | None,
                if_schedule_tag: str | None = None) -> tuple[object, ...]:
    return (calendar.owner_home_id, calendar.home_id, calendar.id, name, _tags(if_match),
            if_schedule_tag)


def _tags(if_match: Sequence[str] | None) -> list[str] | None:
    return None if if_match is None else list(if_match)


def put_outcome(put: PutRequest, row: asyncpg.Record) -> tuple[CalendarObject, bool]:
    """(the stored object, created) for PUT_SQL's row, or the refusal raised."""
    status = row["status"]
    if status not in PUT_DONE:
        raise put_refusal(status, row, put)
    return written(put, row), status == "created"


def written(put: PutRequest, row: asyncpg.Record) -> CalendarObject:
    """The stored object: what was written, with the ids and times the database chose."""
    write = put.write
    return CalendarObject(
        id=row["object_id"], calendar_id=put.calendar.id, name=write.name, uid=write.uid,
        component_type=write.component_type, etag=put.etag, size=put.size,
        organizer=write.organizer, schedule_tag=row["schedule_tag"],
        created=row["created"], modified=row["modified"], icalendar=write.icalendar)


def refusal(status: str, calendar: Calendar, name: str) -> StoreError:
    """The domain error for a status that carries no more than its name."""
    if status in _CONDITION_FAILURES:
        return ETagMismatch(_CONDITION_FAILURES[status])
    if status == "schedule-tag-differs":
        return ScheduleTagMismatch("the resource's Schedule-Tag differs (or it has none)")
    if status == "no-home":
        return NotFound(f"home {calendar.owner_home_id}")
    if status == "unbound":
        return NotFound(calendar.name)
    if status == "missing":
        return NotFound(name)
    if status == "read-only":
        return ReadOnly(calendar.name)
    if status == "target-exists":
        return DestinationExists(name)
    return StoreError(f"unexpected write status {status!r}")


def uid_refusal(status: str, row: asyncpg.Record) -> StoreError | None:
    """UIDConflict naming the holder for a UID status, else None."""
    if status in _UID_STATUSES:
        return _UID_STATUSES[status](row["holder_home"], row["holder_calendar"],
                                     row["holder_name"])
    return None


def put_refusal(status: str, row: asyncpg.Record, put: PutRequest) -> StoreError:
    conflict = uid_refusal(status, row)
    if conflict is not None:
        return conflict
    if status == "quota":
        return QuotaExceeded(f"{row['used'] + put.size} bytes would exceed the quota of "
                             f"{put.quota}")
    return refusal(status, put.calendar, put.write.name)


def move_refusal(status: str, row: asyncpg.Record, target: Calendar,
                 name: str, target_name: str) -> StoreError:
    conflict = uid_refusal(status, row)
    if conflict is not None:
        return conflict
    if status == "missing":
        return NotFound(name)
    return refusal(status, target, target_name)
