"""The store's own time-range index: computing it and extending it.

The rows of a write are computed from its parsed object by the ``Indexer`` the
composition root handed the store (``caldavd.caldav.index.index_rows``), on the
caller's ``Offload``: its bounded executor, or inline for an object too light to be
worth the trip.  When a query reaches past an object's horizon, ``extend`` expands
it further and replaces its rows, so the next such query is exact.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from caldavd.caldav.index import Index, Indexer, InstanceRow
from caldavd.store.model import Calendar, ObjectWrite, Offload, ShortIndexed
from caldavd.store.postgres.pool import transaction
from caldavd.store.postgres.timerange import row_arrays

_CURRENT_SQL = ("SELECT etag, indexed_until FROM calendar_object WHERE id = $1 "
                "AND calendar_id = $2 FOR UPDATE")
_INSERT_SQL = (
    "INSERT INTO time_range (calendar_object_id, calendar_id, start_utc, end_utc, floating, "
    "transparent, fbtype) SELECT $1, $2, * FROM unnest($3::timestamptz[], "
    "$4::timestamptz[], $5::boolean[], $6::boolean[], $7::text[])")


class ObjectIndexing:
    """The index rows of writes, and their extension past the horizon."""

    def __init__(self, pool: asyncpg.Pool, indexer: Indexer) -> None:
        self._pool = pool
        self._indexer = indexer

    async def of(self, write: ObjectWrite, run: Offload) -> Index:
        """The rows and horizon of ``write``."""
        return await run(functools.partial(self._indexer, write.parsed,
                                           recurring=write.recurring))

    async def extend(self, calendar: Calendar, objects: Sequence[ShortIndexed],
                     end: datetime, *, limit: int, run: Offload) -> int:
        """Index ``objects`` up to ``end``, in order, while fewer than ``limit`` rows
        were computed; how many objects' rows were replaced."""
        extended = 0
        for object_id, etag, parsed in objects:
            if limit <= 0:
                break
            rows, until = await run(functools.partial(self._indexer, parsed, extend_to=end))
            extended += await self.replace(calendar, object_id, etag, rows, until)
            limit -= len(rows)
        return extended

    async def replace(self, calendar: Calendar, object_id: int, etag: str,
                      rows: Sequence[InstanceRow], indexed_until: datetime | None) -> bool:
        """Replace an object's rows; skipped (False) when it changed since ``etag`` was
        read, or when its index already reaches as far."""
        async with transaction(self._pool) as conn:
            current = await conn.fetchrow(_CURRENT_SQL, object_id, calendar.id)
            if current is None or current["etag"] != etag or not _reaches_further(
                    indexed_until, current["indexed_until"]):
                return False
            await conn.execute("DELETE FROM time_range WHERE calendar_object_id = $1", object_id)
            if rows:
                await conn.execute(_INSERT_SQL, object_id, calendar.id, *row_arrays(rows))
            await conn.execute("UPDATE calendar_object SET indexed_until = $2 WHERE id = $1",
                               object_id, indexed_until)
        return True


def _reaches_further(new: datetime | None, old: datetime | None) -> bool:
    """Whether an index that stops at ``new`` covers more than one that stops at
    ``old`` (None: complete)."""
    return old is not None and (new is None or new > old)
