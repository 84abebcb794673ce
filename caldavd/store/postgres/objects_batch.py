"""Reads of named calendar objects made in one event-loop iteration, in one statement.

A calendar-multiget reads its hrefs' objects with ``objects(calendar, names)``;
under load several multigets (and GETs' ``object``) get there in the same loop
iteration, right after their batched ``locate``.  Each statement costs the
worker a round trip (see ``batch``), so the reads of one iteration go as one:
every caller's (calendar, name) pairs are flattened into arrays, numbered by
the caller's position, and joined to calendar_object by its unique
(calendar_id, name) index; the rows come back ordered by caller, then name, and
each caller gets its own run of them, as if it had asked alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import asyncpg

from caldavd.store.model import CalendarObject
from caldavd.store.postgres.batch import Batcher
from caldavd.store.postgres.pool import read
from caldavd.store.postgres.rows import calendar_object

# After the caller's number, the columns of ``rows.calendar_object`` and the data
# (NULL unless asked for: ``$4``, per caller, indexed by ``i``).
# OFFSET 0 keeps each key a lookup in the (calendar_id, name) index whatever the
# planner guesses for the unnest.
NAMED_OBJECTS_SQL = """
SELECT k.i, o.id, o.calendar_id, o.name, o.uid, o.component_type, o.etag, o.size,
       o.organizer, o.schedule_tag, o.created, o.modified,
       CASE WHEN ($4::boolean[])[k.i] THEN o.icalendar END
FROM unnest($1::int[], $2::bigint[], $3::text[]) AS k(i, calendar_id, name)
CROSS JOIN LATERAL (
    SELECT * FROM calendar_object o
    WHERE o.calendar_id = k.calendar_id AND o.name = k.name
    OFFSET 0
) AS o
ORDER BY k.i, o.name
"""


class NamedRead(NamedTuple):
    """One caller's read: these names of one calendar, with or without the data."""

    calendar_id: int
    names: tuple[str, ...]
    with_data: bool


class NamedObjectReader:
    """``await read(key)``: the key's objects in name order, batched with others'."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._batcher: Batcher[NamedRead, list[CalendarObject]] = Batcher(self._read_many)

    async def read(self, key: NamedRead) -> list[CalendarObject]:
        if not key.names:
            return []
        return await self._batcher.load(key)

    async def _read_many(self, keys: Sequence[NamedRead]) -> list[list[CalendarObject]]:
        args = named_read_args(keys)
        rows = await read(self._pool, lambda conn: conn.fetch(NAMED_OBJECTS_SQL, *args))
        return distributed(keys, rows)


def named_read_args(keys: Sequence[NamedRead]) -> tuple[list[int], list[int], list[str],
                                                        list[bool]]:
    """NAMED_OBJECTS_SQL's parameters: one element per distinct (caller, name)."""
    callers: list[int] = []
    calendars: list[int] = []
    names: list[str] = []
    for i, key in enumerate(keys, 1):
        distinct = dict.fromkeys(key.names)
        callers.extend([i] * len(distinct))
        calendars.extend([key.calendar_id] * len(distinct))
        names.extend(distinct)
    return callers, calendars, names, [key.with_data for key in keys]


def distributed(keys: Sequence[NamedRead],
                rows: Sequence[asyncpg.Record]) -> list[list[CalendarObject]]:
    """Each caller's objects from the rows (ordered by caller, each row led by its number)."""
    results: list[list[CalendarObject]] = [[] for _ in keys]
    for row in rows:
        results[row[0] - 1].append(calendar_object(row, 1, with_data=True))
    return results
