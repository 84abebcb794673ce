"""PUTs made in one event-loop iteration go to PostgreSQL together, one statement per home.

A PUT costs its worker a round trip (on virtual machines the cross-core
wake-up inside ``send()`` is most of it) and PostgreSQL a commit, that is a WAL
flush, made while the home's row lock is held.  Under load several PUTs reach
the store in the same loop iteration (``batch.Batcher``: nothing waits for a
batch to fill).  Those to one home are written by one ``caldav_put_objects``
statement (migration 0006), in the order they came: the lock is taken once,
each write sees the ones before it, and the batch commits once.  Writes to
different homes go as separate statements, side by side, so a batch never
holds two homes' locks.

Every write still gets its own outcome: a refusal is a status of its own row.
An error that aborts the statement (a write PostgreSQL refuses) rolls the whole
batch back, and one asyncpg cannot encode stops it before it is sent: each of
its writes is then sent again alone and gets the outcome it would have had
alone.  A lost connection is every write's error, since whether the batch
committed is unknown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TypeAlias, TypeVar

import asyncpg

from caldavd.store.errors import StoreUnavailable
from caldavd.store.model import CalendarObject
from caldavd.store.postgres.batch import Batcher
from caldavd.store.postgres.object_writes import PUT_SQL, PutRequest, put_args, put_outcome
from caldavd.store.postgres.pool import connection

PUT_MANY_SQL = """
SELECT i, status, object_id, created, modified, holder_home, holder_calendar, holder_name,
       used, schedule_tag
FROM caldav_put_objects($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
                        $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27)
ORDER BY i
"""

# A batch holds its home's lock until it commits: larger ones would make the
# PUTs of one home wait longer than they save.
MAX_PUT_BATCH = 16

T = TypeVar("T")

# PUT_SQL's row, or the exception its statement raised (for that write's caller).
Outcome: TypeAlias = asyncpg.Record | Exception


class PutBatcher:
    """``await put(request)``: the request's write, batched with its home's others."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._batcher: Batcher[PutRequest, Outcome] = Batcher(self._write, MAX_PUT_BATCH)

    async def put(self, request: PutRequest) -> tuple[CalendarObject, bool]:
        outcome = await self._batcher.load(request)
        if isinstance(outcome, Exception):
            raise outcome
        return put_outcome(request, outcome)

    async def _write(self, requests: Sequence[PutRequest]) -> list[Outcome]:
        by_home: dict[int, list[int]] = {}
        for index, request in enumerate(requests):
            by_home.setdefault(request.calendar.owner_home_id, []).append(index)
        groups = list(by_home.values())
        results = await asyncio.gather(
            *(self._write_home([requests[i] for i in group]) for group in groups))
        outcomes: dict[int, Outcome] = {}
        for group, result in zip(groups, results, strict=True):
            outcomes.update(zip(group, result, strict=True))
        return [outcomes[index] for index in range(len(requests))]

    async def _write_home(self, requests: Sequence[PutRequest]) -> list[Outcome]:
        if len(requests) > 1:
            try:
                async with connection(self._pool) as conn:
                    return list(await conn.fetch(PUT_MANY_SQL, *put_many_args(requests)))
            except StoreUnavailable as exc:
                return [exc] * len(requests)
            except asyncpg.PostgresError:  # DataError too: a parameter it cannot encode
                pass  # nothing committed: each write alone, for its own outcome
        return [await self._write_alone(request) for request in requests]

    async def _write_alone(self, request: PutRequest) -> Outcome:
        try:
            async with connection(self._pool) as conn:
                row: asyncpg.Record = await conn.fetchrow(PUT_SQL, *put_args(request))
        except Exception as exc:  # raised to this write's caller by put()
            return exc
        return row


def put_many_args(requests: Sequence[PutRequest]) -> tuple[object, ...]:
    """PUT_MANY_SQL's parameters: one array element per write, ragged parts flattened."""
    writes = [r.write for r in requests]
    tags, tags_from, tags_to = _flatten([r.if_match for r in requests])
    starts, rows_from, rows_to = _flatten([r.rows[0] for r in requests])
    rest = [[value for r in requests for value in r.rows[part]] for part in range(1, 5)]
    return (requests[0].calendar.owner_home_id,
            [r.calendar.home_id for r in requests], [r.calendar.id for r in requests],
            [w.name for w in writes], [w.uid for w in writes],
            [w.component_type for w in writes], [w.icalendar for w in writes],
            [r.etag for r in requests], [r.size for r in requests],
            [w.organizer for w in writes], [r.schedule_tag for r in requests],
            [r.indexed_until for r in requests], tags_from, tags_to, tags,
            [r.if_none_match for r in requests], [r.quota for r in requests],
            rows_from, rows_to, starts, *rest, [w.scheduling for w in writes],
            [w.keep_schedule_tag for w in writes], [r.if_schedule_tag for r in requests])


def _flatten(parts: Sequence[Sequence[T] | None]) -> tuple[list[T], list[int | None], list[int]]:
    """(every element, 1-based first index of each part, its last index); a part's first
    index is None when the part itself is None."""
    flat: list[T] = []
    starts: list[int | None] = []
    ends: list[int] = []
    for part in parts:
        starts.append(len(flat) + 1 if part is not None else None)
        flat.extend(part or ())
        ends.append(len(flat))
    return flat, starts, ends
