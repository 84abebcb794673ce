"""The scheduling queue in PostgreSQL (migration 0016): claims, retries, numbers.

Any worker of any host claims.  A claim is one transaction on one pooled
connection: it locks the oldest due row whose key has no older row (``FOR
UPDATE SKIP LOCKED``: a row another claim holds is passed over, never waited
for), so the rows of one key, (home, UID) for work and (recipient, UID) for
deliveries, are taken one claim at a time and in order; the next row of a key
becomes claimable only when the claim before it committed (its rows gone) or
rolled back (its oldest row free again).  A fan-out claim also locks every newer
row of its key, so a burst of edits is one fan-out: the data before the first
and after the last.  A failed claim rolls back and ``postpone`` records the
attempt in a short transaction of its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta

import asyncpg

from caldavd.store.model import Delivery, QueueStats, ScheduleTable, Work
from caldavd.store.postgres.indexing import ObjectIndexing
from caldavd.store.postgres.maintenance import Result, Task
from caldavd.store.postgres.pool import connection, transaction
from caldavd.store.postgres.schedule_claims import ClaimedDelivery, ClaimedWork

_TABLES: dict[ScheduleTable, str] = {"work": "schedule_work", "delivery": "schedule_delivery"}
_KEYS: dict[ScheduleTable, tuple[str, str]] = {"work": ("home_id", "uid"),
                                               "delivery": ("recipient_uid", "uid")}


def _claim_sql(table: ScheduleTable) -> str:
    """The oldest due row of ``table`` whose key has no older row, locked (or none)."""
    name, (first, second) = _TABLES[table], _KEYS[table]
    return f"""
SELECT * FROM {name} q
WHERE q.not_before <= now()
  AND NOT EXISTS (SELECT 1 FROM {name} o
                  WHERE o.{first} = q.{first} AND o.{second} = q.{second} AND o.id < q.id)
ORDER BY q.id LIMIT 1
FOR UPDATE SKIP LOCKED
"""


_CLAIM_WORK_SQL = _claim_sql("work")
_CLAIM_DELIVERY_SQL = _claim_sql("delivery")
# Every row of the claimed key (the claimed one first): newer rows are not claimable
# while it exists, so nothing else holds them.
_COALESCE_SQL = ("SELECT * FROM schedule_work WHERE home_id = $1 AND uid = $2 AND id >= $3 "
                 "ORDER BY id FOR UPDATE")
_POSTPONE_SQL = """
UPDATE {table} SET attempts = attempts + 1,
    not_before = now() + make_interval(secs => $2), last_error = $3
WHERE id = $1
"""
_STATS_SQL = """
SELECT w.n, w.oldest, w.retrying, d.n, d.oldest, d.retrying
FROM (SELECT count(*) AS n, coalesce(extract(epoch FROM now() - min(created)), 0) AS oldest,
             count(*) FILTER (WHERE attempts > 0) AS retrying
      FROM schedule_work) AS w,
     (SELECT count(*) AS n, coalesce(extract(epoch FROM now() - min(created)), 0) AS oldest,
             count(*) FILTER (WHERE attempts > 0) AS retrying
      FROM schedule_delivery) AS d
"""


def _work(row: asyncpg.Record) -> Work:
    return Work(id=row["id"], home_id=row["home_id"], owner_uid=row["owner_uid"],
                uid=row["uid"], role=row["role"], actor_uid=row["actor_uid"],
                schedule_reply=row["schedule_reply"], previous=row["previous"],
                current=row["current"], attempts=row["attempts"], created=row["created"])


def _delivery(row: asyncpg.Record) -> Delivery:
    return Delivery(uid=row["uid"], recipient_uid=row["recipient_uid"], sender=row["sender"],
                    method=row["method"], message=row["message"], digest=row["digest"],
                    id=row["id"], attempts=row["attempts"], created=row["created"])


class PostgresSchedule:
    """``caldavd.store.ScheduleStore``, a mixin of PostgresStore: needs ``self._pool``
    and ``self._indexing``."""

    _pool: asyncpg.Pool
    _indexing: ObjectIndexing

    @contextlib.asynccontextmanager
    async def fan_out(self) -> AsyncIterator[ClaimedWork | None]:
        async with transaction(self._pool) as conn:
            first = await conn.fetchrow(_CLAIM_WORK_SQL)
            if first is None:
                yield None
                return
            rows = await conn.fetch(_COALESCE_SQL, first["home_id"], first["uid"], first["id"])
            yield ClaimedWork(conn, self._indexing, [_work(r) for r in rows])

    @contextlib.asynccontextmanager
    async def deliver(self) -> AsyncIterator[ClaimedDelivery | None]:
        async with transaction(self._pool) as conn:
            row = await conn.fetchrow(_CLAIM_DELIVERY_SQL)
            yield None if row is None else ClaimedDelivery(conn, self._indexing,
                                                           _delivery(row))

    async def postpone(self, table: ScheduleTable, row_id: int, delay: float,
                       error: str) -> None:
        async with connection(self._pool) as conn:
            await conn.execute(_POSTPONE_SQL.format(table=_TABLES[table]), row_id,
                               float(delay), error)

    async def drop(self, table: ScheduleTable, row_ids: Sequence[int]) -> int:
        async with connection(self._pool) as conn:
            status = await conn.execute(
                f"DELETE FROM {_TABLES[table]} WHERE id = ANY($1::bigint[])", list(row_ids))
        return int(status.rsplit(" ", 1)[-1])

    async def queue_stats(self) -> QueueStats:
        async with connection(self._pool) as conn:
            row = await conn.fetchrow(_STATS_SQL)
        return QueueStats(work=row[0], work_oldest=float(row[1]), work_retrying=row[2],
                          deliveries=row[3], deliveries_oldest=float(row[4]),
                          deliveries_retrying=row[5])

    async def purge_ledger(self, older_than: timedelta) -> int:
        async with connection(self._pool) as conn:
            return await purge_ledger_rows(conn, older_than)


async def purge_ledger_rows(conn: asyncpg.Connection, older_than: timedelta) -> int:
    """Forget deliveries recorded longer ago than ``older_than``; how many."""
    status = await conn.execute(
        "DELETE FROM schedule_ledger WHERE delivered < now() - $1::interval", older_than)
    return int(status.rsplit(" ", 1)[-1])


def ledger_task(every: timedelta, retention: timedelta) -> Task:
    """The upkeep task that forgets ledger rows older than ``retention``."""
    async def run(conn: asyncpg.Connection, complete: bool) -> Result:
        return {"ledger_rows": await purge_ledger_rows(conn, retention),
                "older_than_days": retention.days}

    return Task("ledger", every, run)
