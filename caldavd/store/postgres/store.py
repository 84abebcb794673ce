"""The PostgreSQL store (asyncpg).

Every write takes the owning home's row lock first (``FOR NO KEY UPDATE``):
writes to one home are serialised across hosts, so a UID check and the insert
that follows cannot race, and revisions of one home commit in the order they
were drawn from the global sequence (a sync client never skips a change).
The unique indexes on (calendar_id, uid), and (home_id, uid) of scheduling
objects, stand behind the lock (migration 0012).  Calendar object
PUT, DELETE and MOVE do all of that in one statement each, server-side
(``object_writes``, the functions of migration 0005); PUTs to one home that
arrive together share one statement and one commit (``put_batch``, 0006).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import asyncpg

from caldavd.caldav.index import Indexer
from caldavd.store.errors import (
    AlreadyExists,
    InvalidSyncToken,
    NotFound,
    ReadOnly,
)
from caldavd.store.model import (
    NO_PROPERTY_LIMITS,
    SCHEDULING_KINDS,
    BusyTime,
    Calendar,
    CalendarKind,
    CalendarObject,
    Change,
    Home,
    HomeBusyTime,
    Listing,
    Matches,
    NewCalendar,
    ObjectWrite,
    Offload,
    PropertyLimits,
    ScheduleIntent,
    ShortIndexed,
    inline,
)
from caldavd.store.postgres.attachments import PostgresAttachments
from caldavd.store.postgres.batch import Batcher
from caldavd.store.postgres.busy import homes_busy, homes_busy_sql
from caldavd.store.postgres.homes import lock_home
from caldavd.store.postgres.inbox import PostgresInbox
from caldavd.store.postgres.indexing import ObjectIndexing
from caldavd.store.postgres.object_writes import (
    DELETE_SQL,
    MOVE_DONE,
    MOVE_SQL,
    delete_args,
    move_args,
    move_refusal,
    put_request,
    refusal,
)
from caldavd.store.postgres.objects_batch import NamedObjectReader, NamedRead
from caldavd.store.postgres.plain import PostgresPlain
from caldavd.store.postgres.pool import connection, read, transaction
from caldavd.store.postgres.properties import check_quota, home_usage, write_properties
from caldavd.store.postgres.put_batch import PutBatcher
from caldavd.store.postgres.rows import CALENDAR_COLUMNS as _CALENDAR_COLUMNS
from caldavd.store.postgres.rows import calendar_object
from caldavd.store.postgres.rows import calendar_of as _calendar
from caldavd.store.postgres.schedule_writes import (
    delete_scheduled,
    move_scheduled,
    put_scheduled,
)
from caldavd.store.postgres.scheduling import PostgresSchedule
from caldavd.store.postgres.timerange import DISTANT_FUTURE, DISTANT_PAST

# Floating times are indexed as if UTC; any zone is within this of UTC.
FLOATING_SLACK = timedelta(hours=14)

_OBJECT_COLUMNS = """
    o.id, o.calendar_id, o.name, o.uid, o.component_type, o.etag, o.size, o.organizer,
    o.schedule_tag, o.created, o.modified
"""
_HOME_COLUMNS = "id, owner_uid, created, change_token"
_HOME_SQL = f"SELECT {_HOME_COLUMNS} FROM calendar_home WHERE owner_uid = $1"
_BUMP_REVISION = """
    INSERT INTO revision (collection_id, name, revision, deleted)
    VALUES ($1, $2, nextval('revision_seq'), $3)
    ON CONFLICT (collection_id, name) DO UPDATE
    SET revision = excluded.revision, deleted = excluded.deleted, modified = now()
"""


def _home(row: asyncpg.Record) -> Home:
    return Home(id=row["id"], owner_uid=row["owner_uid"], created=row["created"],
                change_token=row["change_token"])


# A listing as four arrays: one row of columns instead of a record per object
# (asyncpg decodes arrays of text into lists of str, nothing for the garbage collector
# to track).  The aggregates read the sorted subquery in its order, all of them the
# same rows in the same order.
_LISTING_SQL = """
SELECT array_agg(name), array_agg(etag), array_agg(component_type), array_agg(size)
FROM (SELECT o.name, o.etag, o.component_type, o.size FROM calendar_object o
      WHERE o.calendar_id = $1 {names} ORDER BY o.name) AS listed
"""
_LISTING_ALL_SQL = _LISTING_SQL.format(names="")
_LISTING_NAMED_SQL = _LISTING_SQL.format(names="AND o.name = ANY($2)")


def _object(row: asyncpg.Record, with_data: bool = False) -> CalendarObject:
    """Rows start with _OBJECT_COLUMNS (then icalendar when ``with_data``)."""
    return calendar_object(row, with_data=with_data)


LocateKey = tuple[str, str, str | None]
Located = tuple[Home | None, Calendar | None, CalendarObject | None]


def _located(owner_uid: str, row: asyncpg.Record | None) -> Located:
    if row is None:
        return None, None, None
    home = Home(id=row["located_home_id"], owner_uid=owner_uid, created=row["home_created"],
                change_token=row["home_change_token"])
    if row["id"] is None:
        return home, None, None
    calendar = _calendar(row)
    if row["object_id"] is None:
        return home, calendar, None
    obj = CalendarObject(
        id=row["object_id"], calendar_id=row["id"], name=row["object_name"],
        uid=row["uid"], component_type=row["component_type"], etag=row["etag"],
        size=row["size"], organizer=row["organizer"], schedule_tag=row["schedule_tag"],
        created=row["object_created"], modified=row["object_modified"],
        icalendar=row["icalendar"])
    return home, calendar, obj


class PostgresStore(PostgresPlain, PostgresAttachments, PostgresSchedule, PostgresInbox):
    """``caldavd.store.Store`` on an asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool, *, indexer: Indexer) -> None:
        """``indexer``: what the store computes its time-range index with."""
        self._pool = pool
        self._indexing = ObjectIndexing(pool, indexer)
        self._locator: Batcher[LocateKey, Located] = Batcher(self._locate_many)
        self._puts = PutBatcher(pool)
        self._named = NamedObjectReader(pool)

    # -- homes -----------------------------------------------------------------------

    async def home(self, owner_uid: str) -> Home | None:
        row = await read(self._pool, lambda conn: conn.fetchrow(
            _HOME_SQL, owner_uid))
        return _home(row) if row else None

    async def ensure_home(self, owner_uid: str,
                          defaults: Sequence[NewCalendar] = ()) -> Home:
        existing = await self.home(owner_uid)
        if existing is not None:
            return existing
        async with transaction(self._pool) as conn:
            row = await conn.fetchrow(
                "INSERT INTO calendar_home (owner_uid) VALUES ($1) "
                f"ON CONFLICT (owner_uid) DO NOTHING RETURNING {_HOME_COLUMNS}",
                owner_uid)
            if row is None:  # another request or host created it a moment ago
                row = await conn.fetchrow(
                    _HOME_SQL,
                    owner_uid)
                return _home(row)
            home = _home(row)
            for new in defaults:
                await self._insert_calendar(conn, home, new)
            for kind in SCHEDULING_KINDS:  # RFC 6638 §2.2, made with the home
                await self._insert_calendar(conn, home, NewCalendar(kind), kind=kind)
            # The calendars moved the token: hand out the home as it will commit.
            return dataclasses.replace(home, change_token=await conn.fetchval(
                "SELECT change_token FROM calendar_home WHERE id = $1", home.id))

    async def locate(self, owner_uid: str, calendar_name: str, object_name: str | None,
                     ) -> tuple[Home | None, Calendar | None, CalendarObject | None]:
        return await self._locator.load((owner_uid, calendar_name, object_name))

    async def _locate_many(self, keys: Sequence[LocateKey]) -> list[Located]:
        """One statement for the lookups of one loop iteration (see ``batch``)."""
        if len(keys) == 1:
            row = await read(self._pool, lambda conn: conn.fetchrow(_LOCATE_SQL, *keys[0]))
            return [_located(keys[0][0], row)]
        rows = await read(self._pool, lambda conn: conn.fetch(
            _LOCATE_MANY_SQL, [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys]))
        found = {row["i"]: row for row in rows}
        return [_located(key[0], found.get(i)) for i, key in enumerate(keys, 1)]

    # -- calendars --------------------------------------------------------------------

    async def calendars(self, home: Home) -> list[Calendar]:
        return await self._bound(home, "AND c.kind = 'calendar'")

    async def collections(self, home: Home) -> list[Calendar]:
        return await self._bound(home, "")

    async def _bound(self, home: Home, condition: str) -> list[Calendar]:
        async with connection(self._pool) as conn:
            rows = await conn.fetch(
                f"SELECT {_CALENDAR_COLUMNS} FROM calendar_bind b "
                f"JOIN calendar c ON c.id = b.calendar_id WHERE b.home_id = $1 {condition} "
                "ORDER BY b.name", home.id)
        return [_calendar(r) for r in rows]

    async def calendar(self, home: Home, name: str) -> Calendar | None:
        async with connection(self._pool) as conn:
            row = await conn.fetchrow(
                f"SELECT {_CALENDAR_COLUMNS} FROM calendar_bind b "
                "JOIN calendar c ON c.id = b.calendar_id WHERE b.home_id = $1 AND b.name = $2",
                home.id, name)
        return _calendar(row) if row else None

    async def create_calendar(self, home: Home, new: NewCalendar, *,
                              limits: PropertyLimits = NO_PROPERTY_LIMITS) -> Calendar:
        async with transaction(self._pool) as conn:
            await lock_home(conn, home.id)
            return await self._insert_calendar(conn, home, new, limits)

    async def _insert_calendar(self, conn: asyncpg.Connection, home: Home,
                               new: NewCalendar,
                               limits: PropertyLimits = NO_PROPERTY_LIMITS, *,
                               kind: CalendarKind = "calendar") -> Calendar:
        if await conn.fetchval(
                "SELECT 1 FROM calendar_bind WHERE home_id = $1 AND name = $2 UNION ALL "
                "SELECT 1 FROM dav_resource WHERE home_id = $1 AND path = $2",
                home.id, new.name):
            raise AlreadyExists(new.name)
        components = sorted(new.supported_components) if new.supported_components else None
        calendar_id = await conn.fetchval(
            "INSERT INTO calendar (owner_home_id, supported_components, kind) "
            "VALUES ($1, $2, $3) RETURNING id", home.id, components, kind)
        await conn.execute(
            "INSERT INTO calendar_bind (home_id, calendar_id, name, mode) "
            "VALUES ($1, $2, $3, 'own')", home.id, calendar_id, new.name)
        if new.properties:
            await write_properties(conn, home.id, calendar_id, new.properties, (), limits)
        await conn.execute(_BUMP_REVISION, calendar_id, "", False)
        await conn.execute(_BUMP_REVISION, home.id, new.name, False)
        row = await conn.fetchrow(
            f"SELECT {_CALENDAR_COLUMNS} FROM calendar_bind b "
            "JOIN calendar c ON c.id = b.calendar_id WHERE b.home_id = $1 AND b.name = $2",
            home.id, new.name)
        return _calendar(row)

    async def delete_calendar(self, home: Home, name: str) -> None:
        async with transaction(self._pool) as conn:
            await lock_home(conn, home.id)
            bind = await conn.fetchrow(
                "SELECT calendar_id, mode FROM calendar_bind WHERE home_id = $1 AND name = $2",
                home.id, name)
            if bind is None:
                raise NotFound(name)
            calendar_id = bind["calendar_id"]
            if bind["mode"] == "own":
                await conn.execute(
                    "DELETE FROM dead_property WHERE resource_id = $1 OR resource_id IN "
                    "(SELECT id FROM calendar_object WHERE calendar_id = $1)", calendar_id)
                await conn.execute("DELETE FROM revision WHERE collection_id = $1", calendar_id)
                await conn.execute("DELETE FROM calendar WHERE id = $1", calendar_id)
            else:
                await conn.execute("DELETE FROM calendar_bind WHERE home_id = $1 AND name = $2",
                                   home.id, name)
            await conn.execute(_BUMP_REVISION, home.id, name, True)

    # -- dead properties -------------------------------------------------------------

    async def properties(self, resource_id: int) -> dict[str, str]:
        async with connection(self._pool) as conn:
            rows = await conn.fetch(
                "SELECT name, value FROM dead_property WHERE resource_id = $1", resource_id)
        return {r["name"]: r["value"] for r in rows}

    async def properties_for(self, resource_ids: Sequence[int]) -> dict[int, dict[str, str]]:
        result: dict[int, dict[str, str]] = {i: {} for i in resource_ids}
        if not resource_ids:
            return result
        async with connection(self._pool) as conn:
            rows = await conn.fetch(
                "SELECT resource_id, name, value FROM dead_property "
                "WHERE resource_id = ANY($1)", list(resource_ids))
        for row in rows:
            result[row["resource_id"]][row["name"]] = row["value"]
        return result

    async def update_properties(self, home: Home, calendar: Calendar | None, resource_id: int,
                                set_: Mapping[str, str], remove: Iterable[str], *,
                                limits: PropertyLimits = NO_PROPERTY_LIMITS) -> None:
        owner = calendar.owner_home_id if calendar is not None else home.id
        async with transaction(self._pool) as conn:
            await lock_home(conn, owner)
            await write_properties(conn, owner, resource_id, set_, remove, limits)
            if calendar is not None:
                await conn.execute(_BUMP_REVISION, calendar.id, "", False)
                await conn.execute("UPDATE calendar SET modified = now() WHERE id = $1",
                                   calendar.id)

    # -- calendar objects -------------------------------------------------------------

    async def objects(self, calendar: Calendar, names: Sequence[str] | None = None, *,
                      with_data: bool = False) -> list[CalendarObject]:
        if names is not None:  # batched with the reads of this loop iteration
            return await self._named.read(NamedRead(calendar.id, tuple(names), with_data))
        data = ", o.icalendar" if with_data else ""
        async with connection(self._pool) as conn:
            rows = await conn.fetch(
                f"SELECT {_OBJECT_COLUMNS}{data} FROM calendar_object o "
                "WHERE o.calendar_id = $1 ORDER BY o.name", calendar.id)
        return [_object(r, with_data) for r in rows]

    async def listing(self, calendar: Calendar,
                      names: Sequence[str] | None = None) -> Listing:
        # Four columns and no timestamps: asyncpg decodes a timestamptz for ~0.6 µs.
        async with connection(self._pool) as conn:
            if names is None:
                row = await conn.fetchrow(_LISTING_ALL_SQL, calendar.id)
            else:
                row = await conn.fetchrow(_LISTING_NAMED_SQL, calendar.id, list(names))
        if row is None or row[0] is None:  # no object: the aggregates are NULL
            return Listing()
        return Listing(row[0], row[1], row[2], row[3])

    async def object(self, calendar: Calendar, name: str, *,
                     with_data: bool = True) -> CalendarObject | None:
        found = await self.objects(calendar, [name], with_data=with_data)
        return found[0] if found else None

    async def put_object(self, calendar: Calendar, write: ObjectWrite, *,
                         if_match: Sequence[str] | None = None,
                         if_none_match: bool = False, quota: int = 0,
                         if_schedule_tag: str | None = None,
                         run: Offload = inline) -> tuple[CalendarObject, bool]:
        if calendar.mode == "read":
            raise ReadOnly(calendar.name)
        index = await self._indexing.of(write, run)
        request = put_request(calendar, write, index, if_match, if_none_match, quota,
                              if_schedule_tag)
        if write.schedule is not None:  # alone, in a transaction with its work
            async with transaction(self._pool) as conn:
                return await put_scheduled(conn, request, write.schedule)
        return await self._puts.put(request)

    async def delete_object(self, calendar: Calendar, name: str, *,
                            if_match: Sequence[str] | None = None,
                            if_schedule_tag: str | None = None,
                            schedule: ScheduleIntent | None = None) -> None:
        if calendar.mode == "read":
            raise ReadOnly(calendar.name)
        if schedule is not None:
            async with transaction(self._pool) as conn:
                return await delete_scheduled(conn, calendar, name, if_match, schedule,
                                              if_schedule_tag)
        async with connection(self._pool) as conn:
            status = await conn.fetchval(
                DELETE_SQL, *delete_args(calendar, name, if_match, if_schedule_tag))
        if status != "deleted":
            raise refusal(status, calendar, name)

    async def move_object(self, source: Calendar, name: str, target: Calendar,
                          target_name: str, *, overwrite: bool, quota: int = 0,
                          schedule: ScheduleIntent | None = None,
                          ) -> tuple[CalendarObject, bool]:
        if "read" in (source.mode, target.mode):
            raise ReadOnly(source.name if source.mode == "read" else target.name)
        into_another = bool(quota) and source.owner_home_id != target.owner_home_id
        # One statement, unless the quota of another home is to be checked after it, or
        # its scheduling work queued with it.
        alone = not into_another and schedule is None
        async with (connection if alone else transaction)(self._pool) as conn:
            before = await home_usage(conn, target.owner_home_id) if into_another else 0
            if schedule is not None:
                row = await move_scheduled(conn, source, name, target, target_name,
                                           overwrite, schedule)
            else:
                row = await conn.fetchrow(
                    MOVE_SQL, *move_args(source, name, target, target_name, overwrite))
            status = row["status"]
            if status not in MOVE_DONE:
                raise move_refusal(status, row, target, name, target_name)
            if into_another:  # the object, and its dead properties, now count there
                await check_quota(conn, target.owner_home_id, before, quota)
        return _object(row), status == "moved"

    async def find_uid(self, home: Home, uid: str) -> tuple[str, str] | None:
        async with connection(self._pool) as conn:
            row = await conn.fetchrow(
                "SELECT b.name AS calendar_name, o.name FROM calendar_object o "
                "JOIN calendar_bind b ON b.calendar_id = o.calendar_id AND b.home_id = o.home_id "
                "WHERE o.home_id = $1 AND o.uid = $2 ORDER BY b.name, o.name LIMIT 1",
                home.id, uid)
        return (row["calendar_name"], row["name"]) if row else None

    async def busy_time(self, calendar: Calendar, start: datetime, end: datetime, *,
                        limit: int) -> BusyTime:
        async with connection(self._pool) as conn, conn.transaction(isolation="repeatable_read"):
            objects = await conn.fetch(_BUSY_OBJECTS_SQL, calendar.id, None, start, end,
                                       FLOATING_SLACK)
            decided = [row[0] for row in objects if row[1]]
            periods = await _busy_rows(conn, calendar.id, decided, start, end,
                                       limit + 1) if decided else []
        return BusyTime(periods, [row[2] for row in objects if not row[1]])

    async def busy_time_of_homes(self, owner_uids: Sequence[str], start: datetime,
                                 end: datetime, *, limit: int) -> dict[str, HomeBusyTime]:
        async with connection(self._pool) as conn, conn.transaction():  # for the cursor
            return await homes_busy(conn, _HOMES_BUSY_SQL, owner_uids, start, end,
                                    FLOATING_SLACK, limit)

    async def query_listing(self, calendar: Calendar, component_type: str | None,
                            start: datetime | None, end: datetime | None, *,
                            with_data: bool = True) -> Matches:
        async with connection(self._pool) as conn:
            if start is None and end is None:
                row = await conn.fetchrow(_TYPE_LISTING_SQL, calendar.id, component_type,
                                          with_data)
            else:
                row = await conn.fetchrow(_QUERY_LISTING_SQL, calendar.id, component_type,
                                          start or DISTANT_PAST, end or DISTANT_FUTURE,
                                          FLOATING_SLACK, with_data)
        if row is None or row[0] is None:  # no candidate: the aggregates are NULL
            return Matches()
        return Matches(*row)

    async def extend_index(self, calendar: Calendar, objects: Sequence[ShortIndexed],
                           end: datetime, *, limit: int, run: Offload = inline) -> int:
        return await self._indexing.extend(calendar, objects, end, limit=limit, run=run)

    # -- sync ---------------------------------------------------------------------------

    async def changes_since(self, calendar: Calendar,
                            revision: int) -> tuple[list[Change], int]:
        _representable(revision)
        # One statement, so one snapshot and one round trip (the no-change poll is hot).
        async with connection(self._pool) as conn:
            rows = await conn.fetch(_CHANGES_SQL, calendar.id, revision)
        floor, token = rows[0]["floor"], rows[0]["token"]
        if floor is None:
            raise NotFound(calendar.name)
        if revision and (revision <= floor or revision > token):
            raise InvalidSyncToken(str(revision))
        changes = [Change(r["name"], r["revision"], r["deleted"]) for r in rows
                   if r["name"] is not None]
        return changes, int(token)

    async def home_changes_since(self, home: Home,
                                 revision: int) -> tuple[list[Change], int]:
        """Calendars bound, unbound or changed (any revision inside them) since ``revision``."""
        _representable(revision)
        async with connection(self._pool) as conn, conn.transaction(isolation="repeatable_read"):
            floor = await conn.fetchval(
                "SELECT purged_revision FROM calendar_home WHERE id = $1", home.id)
            if floor is None:
                raise NotFound(home.owner_uid)
            # The token covers the calendars' revisions too (home_revision), so that
            # any token handed out here is accepted back.
            token = int(await conn.fetchval(_HOME_REVISION_SQL, home.id))
            binds, _ = await _changes(conn, home.id, revision, floor, token)
            rows = await conn.fetch(
                "SELECT b.name, max(r.revision) AS revision FROM calendar_bind b "
                "JOIN revision r ON r.collection_id = b.calendar_id "
                "WHERE b.home_id = $1 GROUP BY b.name HAVING max(r.revision) > $2",
                home.id, revision)
        by_name = {c.name: c for c in binds}
        for row in rows:
            known = by_name.get(row["name"])
            if known is None or known.revision < row["revision"]:
                by_name[row["name"]] = Change(row["name"], row["revision"], False)
        return sorted(by_name.values(), key=lambda c: c.revision), token

    async def home_revision(self, home: Home) -> int:
        async with connection(self._pool) as conn:
            value = await conn.fetchval(_HOME_REVISION_SQL, home.id)
        return int(value)

    async def home_usage(self, home: Home) -> int:
        async with connection(self._pool) as conn:
            value = await conn.fetchval(
                "SELECT quota_used FROM calendar_home WHERE id = $1", home.id)
        return int(value or 0)

    async def ping(self) -> None:
        async with connection(self._pool) as conn:
            await conn.fetchval("SELECT 1")


_HOME_REVISION_SQL = """
SELECT coalesce(greatest(
    (SELECT max(revision) FROM revision WHERE collection_id = $1),
    (SELECT max(r.revision) FROM calendar_bind b JOIN revision r
     ON r.collection_id = b.calendar_id WHERE b.home_id = $1)), 0)
"""

# A calendar's changes after $2 with its purge floor and current token, in one
# statement (the first row always exists; name is NULL when nothing changed).
_CHANGES_SQL = """
SELECT (SELECT purged_revision FROM calendar WHERE id = $1) AS floor,
       (SELECT coalesce(max(revision), 0) FROM revision WHERE collection_id = $1) AS token,
       r.name, r.revision, r.deleted
FROM (SELECT 1) AS one
LEFT JOIN revision r ON r.collection_id = $1 AND r.revision > $2 AND r.name <> ''
                     AND (NOT r.deleted OR $2 > 0)
ORDER BY r.revision
"""

# URL resolution in one round trip: home, the calendar bound under a name, and
# (when asked) the object under a name, each NULL when missing.
_LOCATE_SQL = f"""
SELECT h.id AS located_home_id, h.created AS home_created,
       h.change_token AS home_change_token,
       {_CALENDAR_COLUMNS},
       o.id AS object_id, o.name AS object_name, o.uid, o.component_type, o.etag, o.size,
       o.organizer, o.schedule_tag, o.created AS object_created,
       o.modified AS object_modified, o.icalendar
FROM calendar_home h
LEFT JOIN calendar_bind b ON b.home_id = h.id AND b.name = $2
LEFT JOIN calendar c ON c.id = b.calendar_id
LEFT JOIN calendar_object o ON o.calendar_id = c.id AND o.name = $3
WHERE h.owner_uid = $1
"""

# Many lookups at once: one row per key whose home exists, numbered by ``i``
# (1-based, the key's position).  OFFSET 0 keeps the lateral subquery from being
# flattened, so each key is the same index lookups as _LOCATE_SQL, whatever the
# planner guesses for the unnest.
_LOCATE_MANY_SQL = f"""
SELECT k.i, l.*
FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY
     AS k(owner_uid, calendar_name, object_name, i)
CROSS JOIN LATERAL (
    {_LOCATE_SQL.replace("$1", "k.owner_uid").replace("$2", "k.calendar_name")
                .replace("$3", "k.object_name")}
    OFFSET 0
) AS l
"""


def _long(row: str) -> str:
    """The predicate of time_range_long for the rows named ``row``."""
    return (f"CASE WHEN isfinite({row}.start_utc) AND isfinite({row}.end_utc)"
            f" THEN ({row}.end_utc - {row}.start_utc) > interval '7 days' ELSE true END")


# A time-range prefilter over time_range.  Floating rows are widened by
# FLOATING_SLACK (the caller rechecks them); ``hit`` applies the RFC 4791 §9.9
# VEVENT rule to non-floating rows, zero-length instances included.  Instances of
# at most seven days that end after the range start start at most seven days
# before it, so the first branch is a range of time_range_calendar_start bounded
# on both sides; longer instances come from the partial index time_range_long
# (migrations 0007 and 0011, whose predicate ``_long`` repeats word for word: an
# infinite bound counts as long, so no row can make the subtraction fail).
# Objects whose index stops before the range end come in without a hit (to be
# rechecked): they join the index rows before the one aggregate, so each object
# appears once.  Every branch is an index scan (calendar_object_indexed_until for
# the last); each object is then fetched by primary key (the lateral subquery,
# kept a nested loop by OFFSET 0 whatever the planner estimates for the
# aggregate), so the cost follows the answer, not the calendar's size or where
# the range lies in its history, and one generic plan fits every range (see
# ``pool.SERVER_SETTINGS``).
# ``exact``: the index alone decides (a VEVENT, no floating instance, indexed past
# the range); such an object without an exact hit is left out here, not decoded.


_QUERY_FROM = f"""
FROM (
    SELECT f.id, bool_or(f.floating) AS any_floating, bool_or(f.hit) AS exact_hit
    FROM (
        SELECT t.id, t.floating,
               NOT t.floating AND t.start_utc < $4
               AND (t.end_utc > $3 OR (t.end_utc = t.start_utc AND t.start_utc >= $3)) AS hit
        FROM (
            SELECT s.calendar_object_id AS id, s.floating, s.start_utc, s.end_utc
            FROM time_range s
            WHERE s.calendar_id = $1 AND s.start_utc < $4::timestamptz + $5::interval
              AND s.start_utc >= $3::timestamptz - $5::interval - interval '7 days'
              AND s.end_utc >= $3 - $5::interval
              AND NOT {_long("s")}
            UNION ALL
            SELECT l.calendar_object_id, l.floating, l.start_utc, l.end_utc
            FROM time_range l
            WHERE l.calendar_id = $1 AND {_long("l")}
              AND l.end_utc >= $3 - $5::interval AND l.start_utc < $4 + $5::interval
        ) AS t
        UNION ALL
        SELECT u.id, false, false FROM calendar_object u
        WHERE u.calendar_id = $1 AND u.indexed_until < $4
    ) AS f
    GROUP BY f.id
) AS h
CROSS JOIN LATERAL (SELECT * FROM calendar_object o WHERE o.id = h.id OFFSET 0) AS o
CROSS JOIN LATERAL (SELECT o.component_type = 'VEVENT' AND NOT h.any_floating
                           AND (o.indexed_until IS NULL OR o.indexed_until >= $4) AS exact) AS e
WHERE o.calendar_id = $1 AND ($2::text IS NULL OR o.component_type = $2)
  AND (h.exact_hit OR NOT e.exact)
"""
# Free-busy's candidates: the index decides an object without floating instances that
# is indexed past the range (whatever its component: the rows carry FBTYPE and
# TRANSP); the others come with their data, to be expanded.
_BUSY_OBJECTS_SQL = f"""
SELECT q.id, q.decided, CASE WHEN q.decided THEN NULL ELSE q.icalendar END
FROM (SELECT o.id, o.icalendar,
             NOT h.any_floating AND (o.indexed_until IS NULL OR o.indexed_until >= $4)
             AS decided
      {_QUERY_FROM}) AS q
"""

_HOMES_BUSY_SQL = homes_busy_sql(_QUERY_FROM)

BUSY_ROW_BATCH = 5000
Period = tuple[datetime, datetime, str]  # start, end, FBTYPE
_BUSY_ROWS_SQL = """
SELECT start_utc, end_utc, fbtype FROM time_range
WHERE calendar_id = $1 AND calendar_object_id = ANY($2::bigint[])
  AND start_utc < $4 AND end_utc > $3 AND NOT transparent AND fbtype <> 'FREE'
LIMIT $5
"""


async def _busy_rows(conn: asyncpg.Connection, calendar_id: int, decided: list[int],
                     start: datetime, end: datetime, limit: int) -> list[Period]:
    """At most ``limit`` busy rows, read through a cursor ``BUSY_ROW_BATCH`` at a time:
    decoding the 100,000 a free-busy-query may read held the loop for tens of ms at once."""
    cursor = await conn.cursor(_BUSY_ROWS_SQL, calendar_id, decided, start, end, limit)
    periods: list[Period] = []
    while True:
        batch = await cursor.fetch(BUSY_ROW_BATCH)
        periods.extend((row[0], row[1], row[2]) for row in batch)
        if len(batch) < BUSY_ROW_BATCH:
            return periods


# The same candidates as columns (see Matches): only what an answer and a recheck
# need, and no date for exact rows (asyncpg decodes a timestamptz for ~0.6 µs);
# without data ($6 false) only the rows to recheck carry theirs.
_MATCHES_COLUMNS = """
SELECT array_agg(name), array_agg(etag), array_agg(component_type), array_agg(size),
       array_agg(icalendar), array_agg(exact), array_agg(id), array_agg(reach)
"""
_QUERY_LISTING_SQL = f"""
{_MATCHES_COLUMNS}
FROM (SELECT o.name, o.etag, o.component_type, o.size,
             CASE WHEN $6 OR NOT e.exact THEN o.icalendar END AS icalendar, e.exact, o.id,
             CASE WHEN NOT e.exact THEN o.indexed_until END AS reach
      {_QUERY_FROM}
      ORDER BY o.name) AS q
"""
# Without a time range every object of the type matches, exactly.
_TYPE_LISTING_SQL = f"""
{_MATCHES_COLUMNS}
FROM (SELECT o.name, o.etag, o.component_type, o.size,
             CASE WHEN $3 THEN o.icalendar END AS icalendar, true AS exact, o.id,
             NULL::timestamptz AS reach
      FROM calendar_object o
      WHERE o.calendar_id = $1 AND ($2::text IS NULL OR o.component_type = $2)
      ORDER BY o.name) AS q
"""


# Revisions are bigint: a token naming one past it is from the future.  Checked before
# it is sent, since a parameter asyncpg cannot encode is not a domain error (and it
# left the connection inside an implicit transaction, failing the next BEGIN on it).
_MAX_REVISION = 2**63 - 1


def _representable(revision: int) -> None:
    if not 0 <= revision <= _MAX_REVISION:
        raise InvalidSyncToken(str(revision))


async def _changes(conn: asyncpg.Connection, collection_id: int, revision: int,
                   floor: int, token: int | None = None) -> tuple[list[Change], int]:
    if token is None:
        token = int(await conn.fetchval(
            "SELECT coalesce(max(revision), 0) FROM revision WHERE collection_id = $1",
            collection_id))
    if revision and (revision <= floor or revision > token):
        raise InvalidSyncToken(str(revision))
    rows = await conn.fetch(
        "SELECT name, revision, deleted FROM revision WHERE collection_id = $1 "
        "AND revision > $2 AND name <> '' AND (NOT deleted OR $2 > 0) ORDER BY revision",
        collection_id, revision)
    return [Change(r["name"], r["revision"], r["deleted"]) for r in rows], token



if TYPE_CHECKING:
    from caldavd.store import interface

    Roles = tuple[interface.HomeStore, interface.PropertyStore, interface.ObjectStore,
                  interface.QueryStore, interface.SyncStore, interface.PlainStore,
                  interface.AttachmentStore, interface.AttachmentTrash,
                  interface.ScheduleStore, interface.InboxStore, interface.HealthStore,
                  interface.Store]

    def _plays_every_role(store: PostgresStore) -> Roles:
        """Never called: mypy proves here that PostgresStore satisfies each role."""
        return store, store, store, store, store, store, store, store, store, store, store, store
